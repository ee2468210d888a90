/* hp-sign: Ed25519 keys, minisign-compatible file signatures, signed manifests.
 *
 * Options are parsed into a config first, checked against the subcommand,
 * then acted on. Passphrases never come from an argument value (they would
 * show in ps): --passphrase-file, HP_PASSPHRASE, or the terminal. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "cli.h"
#include "hp_codec.h"
#include "hp_io.h"
#include "hp_json.h"
#include "hp_manifest.h"
#include "hp_sign.h"

#include "../lib/banned.h"

static const char usage_text[] =
	"Usage: hp-sign keygen -n NAME [-o DIR] [--force]\n"
	"       hp-sign pubkey KEY [--json | --minisign | --pem | --base64] [-o OUT]\n"
	"       hp-sign file KEY FILE... [-x SIGFILE] [-t TEXT]\n"
	"       hp-sign manifest KEY MANIFEST [-o OUT] [--signed-at TIME]\n"
	"Ed25519 keys and signatures.\n"
	"\n"
	"keygen    write DIR/NAME.pem (PKCS#8 private key, mode 0600) and DIR/NAME.pub\n"
	"          (SPKI public key); print {\"private_key\", \"public_key\", \"key_id\",\n"
	"          \"public_key_b64\", \"encrypted\"}. DIR (default '.') and missing\n"
	"          parents are created with mode 0700.\n"
	"pubkey    print the public key of KEY (a private or public key file): by\n"
	"          default JSON {\"key_id\", \"public_key\"}; or a minisign public key\n"
	"          file, PEM, or the base64 of the 32 raw bytes.\n"
	"file      write FILE.minisig, a detached signature that `minisign -V` checks\n"
	"          (prehashed with BLAKE2b-512); one JSON line per FILE on stdout.\n"
	"manifest  sign a manifest (signature over its RFC 8785 canonical form) and\n"
	"          write it to OUT or stdout.\n"
	"\n"
	"  -n, --name NAME        keygen: base name of the key files\n"
	"  -o, --output PATH      keygen: directory; pubkey, manifest: output file\n"
	"      --force            keygen: replace existing key files\n"
	"      --json, --minisign, --pem, --base64   pubkey: output format\n"
	"  -x, --sig-file FILE    file: signature path (one FILE only; default FILE.minisig)\n"
	"  -t, --trusted-comment TEXT  file: the signed comment (default:\n"
	"                         timestamp:<now>\\tfile:<name>\\thashed)\n"
	"      --signed-at TIME   manifest: RFC 3339 UTC time (default: now)\n"
	"      --passphrase-file F  read the passphrase from the first line of F\n"
	"                         ('-' = stdin)\n"
	"      --ask-passphrase   keygen: ask for a passphrase on the terminal\n"
	CLI_COMMON_HELP
	"\n"
	"Passphrase: --passphrase-file, else the HP_PASSPHRASE environment variable,\n"
	"else (for an encrypted key) a prompt when standard input is a terminal.\n"
	"keygen encrypts the key (scrypt, AES-256-CBC) when a passphrase is given.\n"
	"\n"
	"Exit status: 0 success, 64 usage error, 65 malformed key or input, 66 input\n"
	"missing, 73 cannot create output, 74 I/O error, 77 a private key readable\n"
	"by others.\n";

enum fmt { FMT_JSON, FMT_MINISIGN, FMT_PEM, FMT_BASE64 };

/* Bits of the options seen, to check them against the subcommand. */
enum {
	O_NAME = 1 << 0,
	O_OUT = 1 << 1,
	O_FORCE = 1 << 2,
	O_FMT = 1 << 3,
	O_SIGFILE = 1 << 4,
	O_COMMENT = 1 << 5,
	O_SIGNED_AT = 1 << 6,
	O_PASSFILE = 1 << 7,
	O_ASK = 1 << 8,
};

typedef struct config {
	const char *cmd;
	unsigned seen;
	const char *name;
	const char *out;
	bool force;
	enum fmt fmt;
	const char *sigfile;
	const char *comment;
	const char *signed_at;
	const char *passfile;
	bool ask;
	char **args;
	int nargs;
} config;

static const struct {
	const char *name;
	unsigned allowed;
	int min_args, max_args;
	const char *args_help;
} commands[] = {
	{ "keygen", O_NAME | O_OUT | O_FORCE | O_PASSFILE | O_ASK, 0, 0, "" },
	{ "pubkey", O_OUT | O_FMT | O_PASSFILE, 1, 1, "KEY" },
	{ "file", O_SIGFILE | O_COMMENT | O_PASSFILE, 2, -1, "KEY FILE..." },
	{ "manifest", O_OUT | O_SIGNED_AT | O_PASSFILE, 2, 2, "KEY MANIFEST" },
};

static const char *const option_names[] = {
	"--name", "--output", "--force", "--json/--minisign/--pem/--base64", "--sig-file",
	"--trusted-comment", "--signed-at", "--passphrase-file", "--ask-passphrase",
};

/* Returns 0 to go on, -1 when done (help, version), or an exit code. */
static int parse_args(int argc, char **argv, config *c)
{
	enum {
		OPT_FORCE = CLI_OPT_FIRST_FREE_,
		OPT_JSON,
		OPT_MINISIGN,
		OPT_PEM,
		OPT_BASE64,
		OPT_SIGNED_AT,
		OPT_PASSFILE,
		OPT_ASK,
	};
	static const struct option longopts[] = {
		{ "name", required_argument, NULL, 'n' },
		{ "output", required_argument, NULL, 'o' },
		{ "force", no_argument, NULL, OPT_FORCE },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "minisign", no_argument, NULL, OPT_MINISIGN },
		{ "pem", no_argument, NULL, OPT_PEM },
		{ "base64", no_argument, NULL, OPT_BASE64 },
		{ "sig-file", required_argument, NULL, 'x' },
		{ "trusted-comment", required_argument, NULL, 't' },
		{ "signed-at", required_argument, NULL, OPT_SIGNED_AT },
		{ "passphrase-file", required_argument, NULL, OPT_PASSFILE },
		{ "ask-passphrase", no_argument, NULL, OPT_ASK },
		CLI_COMMON_LONGOPTS,
		{ NULL, 0, NULL, 0 },
	};
	int opt;
	opterr = 0;
	unsigned fmts = 0;
	while ((opt = getopt_long(argc, argv, ":n:o:x:t:h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'n':
			c->name = optarg;
			c->seen |= O_NAME;
			break;
		case 'o':
			c->out = optarg;
			c->seen |= O_OUT;
			break;
		case OPT_FORCE:
			c->force = true;
			c->seen |= O_FORCE;
			break;
		case OPT_JSON:
		case OPT_MINISIGN:
		case OPT_PEM:
		case OPT_BASE64:
			c->fmt = opt == OPT_JSON ? FMT_JSON : opt == OPT_MINISIGN ? FMT_MINISIGN
				 : opt == OPT_PEM ? FMT_PEM : FMT_BASE64;
			fmts |= 1u << c->fmt;
			c->seen |= O_FMT;
			break;
		case 'x':
			c->sigfile = optarg;
			c->seen |= O_SIGFILE;
			break;
		case 't':
			c->comment = optarg;
			c->seen |= O_COMMENT;
			break;
		case OPT_SIGNED_AT:
			c->signed_at = optarg;
			c->seen |= O_SIGNED_AT;
			break;
		case OPT_PASSFILE:
			c->passfile = optarg;
			c->seen |= O_PASSFILE;
			break;
		case OPT_ASK:
			c->ask = true;
			c->seen |= O_ASK;
			break;
		case 'h':
			fputs(usage_text, stdout);
			return -1;
		case CLI_OPT_VERSION:
			cli_version();
			return -1;
		case ':':
			return cli_usage("option '%s' needs a value", argv[optind - 1]);
		case '?':
			if (optopt)
				return cli_usage("unknown option '-%c'", optopt);
			return cli_usage("unknown option '%s'", argv[optind - 1]);
		default:
			if (!cli_common_option(opt))
				return cli_usage("unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind >= argc)
		return cli_usage("a subcommand is needed: keygen, pubkey, file or manifest");
	c->cmd = argv[optind];
	c->args = argv + optind + 1;
	c->nargs = argc - optind - 1;
	size_t i;
	for (i = 0; i < sizeof commands / sizeof *commands; i++)
		if (strcmp(commands[i].name, c->cmd) == 0)
			break;
	if (i == sizeof commands / sizeof *commands)
		return cli_usage("unknown subcommand '%s' (keygen, pubkey, file or manifest)", c->cmd);
	unsigned bad = c->seen & ~commands[i].allowed;
	for (unsigned b = 0; bad; b++, bad >>= 1)
		if (bad & 1)
			return cli_usage("option %s does not apply to '%s'", option_names[b], c->cmd);
	if (fmts & (fmts - 1))
		return cli_usage("choose one of --json, --minisign, --pem and --base64");
	if (c->nargs < commands[i].min_args ||
	    (commands[i].max_args >= 0 && c->nargs > commands[i].max_args)) {
		if (commands[i].max_args == 0)
			return cli_usage("'%s' takes no arguments", c->cmd);
		return cli_usage("'%s' needs %s", c->cmd, commands[i].args_help);
	}
	if (c->passfile && c->ask)
		return cli_usage("--passphrase-file and --ask-passphrase exclude each other");
	return 0;
}

/* ---- output helpers ----------------------------------------------------- */

static int status;

static void fail_with(int code)
{
	if (!status)
		status = code;
}

static json_t *path_json(const char *p)
{
	return hp_json_path_value(p, strlen(p));
}

/* Write to path atomically, or to stdout when path is NULL or "-". */
static hp_code emit(const char *path, const char *data, size_t len, hp_err *e)
{
	if (!path || strcmp(path, "-") == 0) {
		int err = cli_write_stdout(data, len);
		if (err)
			return hp_fail_errno(e, HP_E_IO, err, "cannot write to standard output");
		return HP_OK;
	}
	struct stat st;
	if (stat(path, &st) == 0 && !S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode)) {
		/* a device or a pipe (/dev/stdout, /dev/null): write into it, never
		 * rename a file over it */
		int fd = open(path, O_WRONLY | O_CLOEXEC | O_NOCTTY);
		if (fd < 0)
			return hp_fail_errno(e, HP_E_CANTCREAT, errno, "cannot open '%s'", path);
		hp_code rc = hp_write_all(fd, data, len, path, e);
		if (close(fd) < 0 && !rc)
			rc = hp_fail_errno(e, HP_E_IO, errno, "cannot write '%s'", path);
		return rc;
	}
	return hp_write_file_atomic(path, data, len, 0644, 0, e);
}

static hp_code load_key(const config *c, const char *path, hp_key **k, hp_err *e)
{
	return hp_key_load_cb(path, cli_key_passphrase, (void *)(uintptr_t)c->passfile, k, e);
}

/* ---- pubkey ------------------------------------------------------------- */

static int cmd_pubkey(const config *c)
{
	hp_err e = HP_ERR_INIT;
	uint8_t pk[32];
	char id[17], pk64[HP_B64_ENCODED_SIZE(32)];
	hp_buf out = HP_BUF_INIT;
	hp_code rc = hp_key_load_public(c->args[0], cli_key_passphrase, (void *)(uintptr_t)c->passfile, pk, &e);
	if (rc)
		return cli_fail(&e);
	hp_key_id(pk, id);
	hp_b64_encode(pk, 32, pk64);
	switch (c->fmt) {
	case FMT_JSON: {
		json_t *j = json_pack("{s:s, s:s}", "key_id", id, "public_key", pk64);
		rc = j ? hp_json_dump_line(j, &out, &e) : hp_fail_nomem(&e);
		json_decref(j);
		break;
	}
	case FMT_MINISIGN:
		rc = hp_minisign_pubkey(pk, &out, &e);
		break;
	case FMT_PEM:
		rc = hp_pubkey_to_pem(pk, &out, &e);
		break;
	case FMT_BASE64:
		rc = hp_buf_addf(&out, &e, "%s\n", pk64);
		break;
	}
	if (!rc)
		rc = emit(c->out, out.data, out.len, &e);
	hp_buf_release(&out);
	return rc ? cli_fail(&e) : 0;
}

/* ---- file --------------------------------------------------------------- */

static hp_code sign_one(const config *c, const hp_key *k, const char *id, const char *path,
			hp_err *e)
{
	char *sigpath = NULL;
	if (!c->sigfile && asprintf(&sigpath, "%s.minisig", path) < 0)
		sigpath = NULL;
	const char *dst = c->sigfile ? c->sigfile : sigpath;
	hp_buf tc = HP_BUF_INIT, sig = HP_BUF_INIT;
	hp_code rc = HP_OK;
	json_t *j = NULL;
	if (!c->sigfile && !sigpath)
		return hp_fail_nomem(e);
	if (c->comment)
		rc = hp_buf_adds(&tc, c->comment, e);
	else
		rc = hp_minisign_default_comment(path, (long long)time(NULL), &tc, e);
	if (!rc)
		rc = hp_minisign_sign_file(k, path, tc.data, &sig, e);
	if (!rc)
		rc = emit(dst, sig.data, sig.len, e);
	if (!rc) {
		j = json_object();
		if (!j || json_object_set_new(j, "path", path_json(path)) ||
		    json_object_set_new(j, "signature", path_json(dst)) ||
		    json_object_set_new(j, "key_id", json_string(id)) ||
		    json_object_set_new(j, "trusted_comment", json_string(tc.data)))
			rc = hp_fail_nomem(e);
		else
			cli_print_json(j);
	}
	json_decref(j);
	hp_buf_release(&tc);
	hp_buf_release(&sig);
	free(sigpath);
	return rc;
}

static int cmd_file(const config *c)
{
	hp_err e = HP_ERR_INIT;
	int nfiles = c->nargs - 1;
	char **files = c->args + 1;
	if (c->sigfile && nfiles != 1)
		return cli_usage("-x SIGFILE needs exactly one FILE");
	if (c->comment && !hp_minisign_comment_ok(c->comment))
		return cli_usage("the trusted comment must be one line of printable UTF-8 "
				 "(tabs allowed), shorter than %d bytes", HP_MINISIGN_COMMENT_MAX);
	for (int i = 0; i < nfiles; i++)
		if (strcmp(files[i], "-") == 0 && !c->sigfile)
			return cli_usage("signing standard input needs -x SIGFILE");
	if (c->sigfile && strcmp(c->sigfile, "-") == 0)
		return cli_usage("-x needs a file name, not '-'");
	hp_key *k = NULL;
	if (load_key(c, c->args[0], &k, &e))
		return cli_fail(&e);
	uint8_t pk[32];
	char id[17];
	hp_key_public(k, pk);
	hp_key_id(pk, id);
	for (int i = 0; i < nfiles; i++) {
		if (sign_one(c, k, id, files[i], &e) == HP_OK)
			continue;
		fail_with(cli_fail(&e));
		hp_err_clear(&e);
	}
	hp_key_free(k);
	return status;
}

/* ---- manifest ----------------------------------------------------------- */

static int cmd_manifest(const config *c)
{
	hp_err e = HP_ERR_INIT;
	json_t *m = NULL;
	hp_key *k = NULL;
	char *text = NULL;
	hp_code rc = hp_manifest_load(c->args[1], HP_MANIFEST_UNSIGNED_OK, &m, &e);
	if (!rc)
		rc = load_key(c, c->args[0], &k, &e);
	if (!rc)
		rc = hp_manifest_sign(m, k, c->signed_at, &e);
	if (!rc) {
		text = json_dumps(m, JSON_INDENT(2));
		if (!text)
			rc = hp_fail_nomem(&e);
	}
	if (!rc) {
		size_t n = strlen(text);
		hp_buf b = HP_BUF_INIT;
		if (!(rc = hp_buf_add(&b, text, n, &e)) && !(rc = hp_buf_addch(&b, '\n', &e)))
			rc = emit(c->out, b.data, b.len, &e);
		hp_buf_release(&b);
	}
	free(text);
	hp_key_free(k);
	json_decref(m);
	if (rc == HP_E_USAGE)
		return cli_usage("%s", e.msg);
	return rc ? cli_fail(&e) : 0;
}

int main(int argc, char **argv)
{
	config c = { 0 };
	cli_init("hp-sign");
	int rc = parse_args(argc, argv, &c);
	if (rc)
		return cli_finish(rc < 0 ? 0 : rc);
	hp_err e = HP_ERR_INIT;
	if (hp_sign_init(&e))
		return cli_finish(cli_fail(&e));
	if (strcmp(c.cmd, "keygen") == 0)
		rc = c.name ? cli_keygen(c.out ? c.out : ".", c.name, c.force, c.passfile, c.ask)
			    : cli_usage("keygen needs -n NAME");
	else if (strcmp(c.cmd, "pubkey") == 0)
		rc = cmd_pubkey(&c);
	else if (strcmp(c.cmd, "file") == 0)
		rc = cmd_file(&c);
	else
		rc = cmd_manifest(&c);
	return cli_finish(rc);
}
