/* hp-sign: Ed25519 keys, minisign-compatible file signatures, signed manifests.
 *
 * Options are parsed into a config first, checked against the subcommand,
 * then acted on. Passphrases never come from an argument value (they would
 * show in ps): --passphrase-file, HP_PASSPHRASE, or the terminal. */
#include <errno.h>
#include <fcntl.h>
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

/* ---- the subcommands and their options ---------------------------------- */

#define PASSPHRASE_HELP \
	"Passphrase: --passphrase-file, else the HP_PASSPHRASE environment variable,\n" \
	"else (for an encrypted key) a prompt when standard input is a terminal.\n"

static const char exit_status_help[] =
	"Exit status: 0 success, 64 usage error, 65 malformed key or input, 66 input\n"
	"missing, 73 cannot create output, 74 I/O error, 77 a private key readable\n"
	"by others.\n";

/* The subcommands, as bits: which ones an option belongs to. */
enum { KEYGEN = 1 << 0, PUBKEY = 1 << 1, FILE_SIG = 1 << 2, MANIFEST = 1 << 3 };

enum {
	OPT_NAME = CLI_OPT_FIRST_FREE_,
	OPT_OUTPUT_DIR,
	OPT_OUTPUT,
	OPT_FORCE,
	OPT_JSON,
	OPT_MINISIGN,
	OPT_PEM,
	OPT_BASE64,
	OPT_SIG_FILE,
	OPT_COMMENT,
	OPT_SIGNED_AT,
	OPT_PASSFILE,
	OPT_ASK,
};

/* Every option of hp-sign and the subcommands it belongs to. A subcommand's
 * table holds its own, then the others hidden, so that using one of them
 * says "does not apply" rather than "unknown option". */
static const struct sign_option {
	unsigned cmds;
	cli_option o;
} sign_options[] = {
	{ KEYGEN, { OPT_NAME, 'n', "name", "NAME", "the key files' base name (no '/')", NULL } },
	{ KEYGEN,
	  { OPT_OUTPUT_DIR, 'O', "output-dir", "DIR", "the folder (default '.'; made 0700 with its parents)", NULL } },
	{ KEYGEN, { OPT_OUTPUT_DIR, 'o', "output", "DIR", NULL, "output-dir" } },
	{ KEYGEN, { OPT_FORCE, 0, "force", NULL, "replace existing key files", NULL } },
	{ PUBKEY, { OPT_OUTPUT, 'o', "output", "FILE", "write the key to FILE (atomically), not stdout", NULL } },
	{ PUBKEY, { OPT_JSON, 0, "json", NULL, "print {\"key_id\", \"public_key\"} (the default)", NULL } },
	{ PUBKEY, { OPT_MINISIGN, 0, "minisign", NULL, "print a minisign public key file", NULL } },
	{ PUBKEY, { OPT_PEM, 0, "pem", NULL, "print the SPKI PEM", NULL } },
	{ PUBKEY, { OPT_BASE64, 0, "base64", NULL, "print the base64 of the 32 raw bytes", NULL } },
	{ FILE_SIG,
	  { OPT_SIG_FILE, 'x', "sig-file", "FILE", "the signature's path (one FILE only; default\nFILE.minisig)", NULL } },
	{ FILE_SIG,
	  { OPT_COMMENT, 0, "trusted-comment", "TEXT", "the signed comment (default:\ntimestamp:<now>\\tfile:<name>\\thashed)",
	    NULL } },
	{ FILE_SIG, { OPT_COMMENT, 't', NULL, "TEXT", NULL, "trusted-comment" } },
	{ MANIFEST,
	  { OPT_OUTPUT, 'o', "output", "FILE", "write the signed manifest to FILE (atomically),\nnot stdout", NULL } },
	{ MANIFEST, { OPT_SIGNED_AT, 0, "signed-at", "TIME", "the signing time, RFC 3339 UTC (default: now)", NULL } },
	{ KEYGEN | PUBKEY | FILE_SIG | MANIFEST,
	  { OPT_PASSFILE, 0, "passphrase-file", "FILE", "the passphrase: the first line of FILE ('-': stdin)", NULL } },
	{ KEYGEN, { OPT_ASK, 0, "ask-passphrase", NULL, "ask for a passphrase on the terminal (twice)", NULL } },
};

#define N_SIGN_OPTIONS (sizeof sign_options / sizeof *sign_options)

enum fmt { FMT_JSON, FMT_MINISIGN, FMT_PEM, FMT_BASE64 };

typedef struct config {
	unsigned seen;      /* id_bit of each option given */
	const char *name;
	const char *dir;
	const char *out;
	bool force;
	enum fmt fmt;
	unsigned fmts;      /* bit fmt of each format asked for */
	const char *sigfile;
	const char *comment;
	const char *signed_at;
	const char *passfile;
	bool ask;
	char **args;
	int nargs;
} config;

static int cmd_keygen(const config *c);
static int cmd_pubkey(const config *c);
static int cmd_file(const config *c);
static int cmd_manifest(const config *c);

static const struct subcommand {
	const char *name;
	unsigned bit;
	int min_args, max_args;
	const char *args_help;
	int (*run)(const config *c);
	const char *usage;
} subcommands[] = {
	{ "keygen", KEYGEN, 0, 0, "", cmd_keygen,
	  "Usage: hp-sign keygen -n NAME [-O DIR] [--force] [OPTIONS]\n"
	  "\n"
	  "Write DIR/NAME.pem (PKCS#8 private key, mode 0600) and DIR/NAME.pub (SPKI\n"
	  "public key); print {\"private_key_file\", \"public_key_file\", \"key_id\",\n"
	  "\"public_key_b64\", \"encrypted\"} (and, this release, \"private_key\",\n"
	  "\"public_key\": the paths). DIR (default '.') and missing parents are created\n"
	  "with mode 0700. The key is encrypted (scrypt, AES-256-CBC) when a passphrase\n"
	  "is given: --passphrase-file, $HP_PASSPHRASE or --ask-passphrase.\n" },
	{ "pubkey", PUBKEY, 1, 1, "KEY", cmd_pubkey,
	  "Usage: hp-sign pubkey KEY [--json | --minisign | --pem | --base64] [-o OUT]\n"
	  "\n"
	  "Print the public key of KEY (a private or public key file): by default JSON\n"
	  "{\"key_id\", \"public_key\"}; or a minisign public key file, PEM, or the base64\n"
	  "of the 32 raw bytes.\n"
	  "\n" PASSPHRASE_HELP },
	{ "file", FILE_SIG, 2, -1, "KEY FILE...", cmd_file,
	  "Usage: hp-sign file KEY FILE... [-x SIGFILE] [--trusted-comment TEXT]\n"
	  "\n"
	  "Write FILE.minisig, a detached signature that `minisign -V` checks\n"
	  "(prehashed with BLAKE2b-512); one JSON line per FILE on stdout.\n"
	  "\n" PASSPHRASE_HELP },
	{ "manifest", MANIFEST, 2, 2, "KEY MANIFEST", cmd_manifest,
	  "Usage: hp-sign manifest KEY MANIFEST [-o OUT] [--signed-at TIME]\n"
	  "\n"
	  "Sign a manifest (the signature is over its RFC 8785 canonical form) and\n"
	  "write it to OUT or stdout.\n"
	  "\n" PASSPHRASE_HELP },
};

#define N_SUBCOMMANDS (sizeof subcommands / sizeof *subcommands)

/* What `hp-sign --help` shows: the subcommands, and the common options. */
static const cli_command top_cmd = {
	"Usage: hp-sign keygen -n NAME [-O DIR] [--force] [OPTIONS]\n"
	"       hp-sign pubkey KEY [--json | --minisign | --pem | --base64] [-o OUT]\n"
	"       hp-sign file KEY FILE... [-x SIGFILE] [--trusted-comment TEXT]\n"
	"       hp-sign manifest KEY MANIFEST [-o OUT] [--signed-at TIME]\n"
	"Ed25519 keys and signatures.\n"
	"\n"
	"keygen    write DIR/NAME.pem (PKCS#8 private key, mode 0600) and DIR/NAME.pub\n"
	"          (SPKI public key); print their paths and the key id as JSON.\n"
	"pubkey    print the public key of KEY (a private or public key file): by\n"
	"          default JSON {\"key_id\", \"public_key\"}; or a minisign public key\n"
	"          file, PEM, or the base64 of the 32 raw bytes.\n"
	"file      write FILE.minisig, a detached signature that `minisign -V` checks\n"
	"          (prehashed with BLAKE2b-512); one JSON line per FILE on stdout.\n"
	"manifest  sign a manifest (signature over its RFC 8785 canonical form) and\n"
	"          write it to OUT or stdout.\n"
	"\n"
	"'hp-sign SUBCOMMAND --help' shows a subcommand's options.\n"
	"\n" PASSPHRASE_HELP
	"keygen encrypts the key (scrypt, AES-256-CBC) when a passphrase is given.\n",
	NULL,
	exit_status_help,
};

static bool same_name(const cli_option *a, const cli_option *b)
{
	return (a->short_name && a->short_name == b->short_name) ||
	       (a->long_name && b->long_name && strcmp(a->long_name, b->long_name) == 0);
}

/* The option table of a subcommand: its own options, then every other one
 * hidden (no help, not an old spelling) unless its name is taken. */
static const cli_option *options_of(unsigned cmd)
{
	static cli_option table[N_SIGN_OPTIONS + 1];
	size_t n = 0;
	for (size_t i = 0; i < N_SIGN_OPTIONS; i++)
		if (sign_options[i].cmds & cmd)
			table[n++] = sign_options[i].o;
	for (size_t i = 0; i < N_SIGN_OPTIONS; i++) {
		if (sign_options[i].cmds & cmd)
			continue;
		bool taken = false;
		for (size_t k = 0; k < n && !taken; k++)
			taken = same_name(&table[k], &sign_options[i].o);
		if (taken)
			continue;
		table[n] = sign_options[i].o;
		table[n].help = NULL;
		table[n++].deprecated_for = NULL;
	}
	table[n] = (cli_option){ 0, 0, NULL, NULL, NULL, NULL };
	return table;
}

/* The current long spelling of an option ("--output-dir"). */
static const char *long_name_of(int id)
{
	for (size_t i = 0; i < N_SIGN_OPTIONS; i++)
		if (sign_options[i].o.id == id && sign_options[i].o.long_name && !sign_options[i].o.deprecated_for)
			return sign_options[i].o.long_name;
	return "?";
}

static unsigned id_bit(int id)
{
	return 1u << (id - OPT_NAME);
}

static int on_option(void *ud, int id, const char *v)
{
	config *c = ud;
	c->seen |= id_bit(id);
	switch (id) {
	case OPT_NAME: c->name = v; break;
	case OPT_OUTPUT_DIR: c->dir = v; break;
	case OPT_OUTPUT: c->out = v; break;
	case OPT_FORCE: c->force = true; break;
	case OPT_JSON: c->fmt = FMT_JSON; break;
	case OPT_MINISIGN: c->fmt = FMT_MINISIGN; break;
	case OPT_PEM: c->fmt = FMT_PEM; break;
	case OPT_BASE64: c->fmt = FMT_BASE64; break;
	case OPT_SIG_FILE: c->sigfile = v; break;
	case OPT_COMMENT: c->comment = v; break;
	case OPT_SIGNED_AT: c->signed_at = v; break;
	case OPT_PASSFILE: c->passfile = v; break;
	case OPT_ASK: c->ask = true; break;
	}
	if (id >= OPT_JSON && id <= OPT_BASE64)
		c->fmts |= 1u << c->fmt;
	return 0;
}

/* What the options and operands of a subcommand must agree on. */
static int check_config(const struct subcommand *s, const config *c)
{
	unsigned allowed = 0;
	for (size_t i = 0; i < N_SIGN_OPTIONS; i++)
		if (sign_options[i].cmds & s->bit)
			allowed |= id_bit(sign_options[i].o.id);
	unsigned bad = c->seen & ~allowed;
	for (int b = 0; bad; b++, bad >>= 1)
		if (bad & 1)
			return cli_usage("option --%s does not apply to '%s'", long_name_of(OPT_NAME + b), s->name);
	if (c->fmts & (c->fmts - 1))
		return cli_usage("choose one of --json, --minisign, --pem and --base64");
	if (c->nargs < s->min_args || (s->max_args >= 0 && c->nargs > s->max_args)) {
		if (s->max_args == 0)
			return cli_usage("'%s' takes no arguments", s->name);
		return cli_usage("'%s' needs %s", s->name, s->args_help);
	}
	if (c->passfile && c->ask)
		return cli_usage("--passphrase-file and --ask-passphrase exclude each other");
	return 0;
}

static int no_option(void *ud, int id, const char *v)
{
	(void)ud, (void)id, (void)v;
	return 0;
}

/* Before the subcommand come only common options (`hp-sign --help` shows
 * the overview). Returns 0 with *sub the subcommand, -1 when done (help,
 * version), or an exit code. */
static int parse_subcommand_name(int argc, char **argv, int *at, const struct subcommand **sub)
{
	int k = 1;
	while (k < argc && argv[k][0] == '-' && argv[k][1])
		k++;
	int rc = cli_parse(&top_cmd, k, argv, no_option, NULL, NULL);
	if (rc)
		return rc;
	if (k >= argc)
		return cli_usage("a subcommand is needed: keygen, pubkey, file or manifest");
	for (size_t i = 0; i < N_SUBCOMMANDS; i++)
		if (strcmp(subcommands[i].name, argv[k]) == 0) {
			*at = k;
			*sub = &subcommands[i];
			return 0;
		}
	return cli_usage("unknown subcommand '%s' (keygen, pubkey, file or manifest)", argv[k]);
}

/* Returns 0 to go on, -1 when done (help, version), or an exit code. */
static int parse_args(int argc, char **argv, config *c, const struct subcommand **sub)
{
	int at, first;
	int rc = parse_subcommand_name(argc, argv, &at, sub);
	if (rc)
		return rc;
	cli_command cmd = { (*sub)->usage, options_of((*sub)->bit), exit_status_help };
	/* the subcommand's own argv: its name in place of the program's */
	argv[at] = argv[0];
	if ((rc = cli_parse(&cmd, argc - at, argv + at, on_option, c, &first)))
		return rc;
	c->args = argv + at + first;
	c->nargs = argc - at - first;
	return check_config(*sub, c);
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
	hp_buf in, out = HP_BUF_INIT;
	hp_mlite lite;
	char *text = NULL;
	hp_code rc = hp_manifest_load_any(c->args[1], HP_MANIFEST_UNSIGNED_OK, &in, &lite, &m, &e);
	if (!rc)
		rc = load_key(c, c->args[0], &k, &e);
	if (!rc && lite.head) {
		/* a large manifest: no jansson tree of its files */
		rc = hp_manifest_sign_canonical(lite.head, k, c->signed_at, lite.canonical.data,
						lite.canonical.len, &e);
		hp_buf_release(&lite.canonical);
		if (!rc && !(rc = hp_mlite_dump(&lite, lite.head, &out, &e)))
			rc = hp_buf_addch(&out, '\n', &e);
	} else if (!rc) {
		rc = hp_manifest_sign(m, k, c->signed_at, &e);
		if (!rc && !(text = json_dumps(m, JSON_INDENT(2))))
			rc = hp_fail_nomem(&e);
		if (!rc && !(rc = hp_buf_add(&out, text, strlen(text), &e)))
			rc = hp_buf_addch(&out, '\n', &e);
	}
	if (!rc)
		rc = emit(c->out, out.data, out.len, &e);
	hp_buf_release(&out);
	free(text);
	hp_mlite_free(&lite);
	hp_buf_release(&in);
	hp_key_free(k);
	json_decref(m);
	if (rc == HP_E_USAGE)
		return cli_usage("%s", e.msg);
	return rc ? cli_fail(&e) : 0;
}

/* ---- keygen ------------------------------------------------------------- */

static int cmd_keygen(const config *c)
{
	if (!c->name)
		return cli_usage("keygen needs -n NAME");
	return cli_keygen(c->dir ? c->dir : ".", c->name, c->force, c->passfile, c->ask);
}

int main(int argc, char **argv)
{
	config c = { 0 };
	const struct subcommand *sub = NULL;
	cli_init("hp-sign");
	int rc = parse_args(argc, argv, &c, &sub);
	if (rc)
		return cli_finish(rc < 0 ? 0 : rc);
	hp_err e = HP_ERR_INIT;
	if (hp_sign_init(&e))
		return cli_finish(cli_fail(&e));
	return cli_finish(sub->run(&c));
}
