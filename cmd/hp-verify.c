/* hp-verify: is this manifest signed by a trusted key, current, not a
 * rollback, and does the content match it byte for byte? */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "hp_time.h"
#include "hp_verify.h"
#include "../lib/banned.h"

enum {
	OPT_ALLOW_UNTRUSTED = CLI_OPT_FIRST_FREE_,
	OPT_ALLOW_UNSIGNED,
	OPT_STATE,
	OPT_NO_EXTRA,
	OPT_NOW,
	OPT_PRETTY,
};

static const cli_option options[] = {
	{ 'c', 'c', "content", "DIR", "check the files under DIR against the manifest", NULL },
	{ 'k', 'k', "trusted-keys", "FILE", "public keys to trust (PEM, minisign or base64,\n"
	  "one or more per file; repeatable; default\n$HP_TRUSTED_KEYS when set)", NULL },
	{ OPT_ALLOW_UNTRUSTED, 0, "allow-untrusted", NULL, "accept a valid signature by a key not trusted", NULL },
	{ OPT_ALLOW_UNSIGNED, 0, "allow-unsigned", NULL, "accept a manifest without a signature", NULL },
	{ OPT_STATE, 0, "state", "FILE", "refuse rollbacks against FILE and record this\n"
	  "version in it when everything checks out", NULL },
	{ OPT_NO_EXTRA, 0, "no-extra", NULL, "do not report files under DIR that the manifest\ndoes not list", NULL },
	{ OPT_NOW, 0, "now", "TIME", "judge expiry at TIME (RFC 3339 UTC) instead of\nnow", NULL },
	{ 'j', 'j', "jobs", "N", "hash with N threads (0, the default: one per CPU)", NULL },
	{ OPT_PRETTY, 0, "pretty", NULL, "indent the report", NULL },
	{ 0, 0, NULL, NULL, NULL, NULL },
};

static const cli_command command = {
	"Usage: hp-verify [OPTIONS] MANIFEST\n"
	"\n"
	"Check, in this order: the manifest's size and form, its Ed25519 signature\n"
	"against the trusted keys, its expiry, that it is not older than a version\n"
	"already seen (with --state), and then, with --content, every file: missing,\n"
	"extra, size and SHA-256 mismatches. Prints one JSON report on stdout; each\n"
	"failed check is in its \"problems\" as {\"where\", \"message\"}, and one line on\n"
	"stderr.\n",
	options,
	"Exit status: 0 valid; 1 invalid (bad or untrusted signature, expired,\n"
	"rollback, content mismatch); 64 usage; 65 malformed manifest or key file;\n"
	"66 missing manifest or content folder; 73 cannot write the state file;\n"
	"74 I/O error; 77 permission denied.\n",
};

typedef struct config {
	hp_verify_opts o;
	const char **keys;  /* --trusted-keys, in order */
	size_t nkeys;
	bool pretty;
} config;

static int on_option(void *ud, int id, const char *v)
{
	config *c = ud;
	switch (id) {
	case 'c': c->o.content_dir = v; break;
	case 'k': c->keys[c->nkeys++] = v; break;
	case OPT_ALLOW_UNTRUSTED: c->o.allow_untrusted = true; break;
	case OPT_ALLOW_UNSIGNED: c->o.allow_unsigned = true; break;
	case OPT_STATE: c->o.state_path = v; break;
	case OPT_NO_EXTRA: c->o.extra = false; break;
	case OPT_NOW:
		if (!hp_time_parse(v, &c->o.now))
			return cli_usage("'%s' is not an RFC 3339 UTC time such as 2026-01-31T12:00:00Z", v);
		break;
	case 'j': return cli_parse_jobs(v, &c->o.jobs);
	case OPT_PRETTY: c->pretty = true; break;
	}
	return 0;
}

/* Returns 0 with *manifest set, -1 when done (help, version), or an exit code. */
static int parse_args(int argc, char **argv, config *c, const char **manifest)
{
	int first, rc = cli_parse(&command, argc, argv, on_option, c, &first);
	if (rc)
		return rc;
	if (argc - first != 1)
		return cli_usage(first >= argc ? "a MANIFEST is needed" : "only one MANIFEST at a time");
	const char *env_keys = getenv("HP_TRUSTED_KEYS");
	if (!c->nkeys && env_keys && *env_keys)
		c->keys[c->nkeys++] = env_keys;
	c->o.trusted_key_files = c->keys;
	c->o.n_trusted_key_files = c->nkeys;
	*manifest = argv[first];
	return 0;
}

int main(int argc, char **argv)
{
	cli_init("hp-verify");
	config c = { 0 };
	c.o.extra = true;
	c.o.now = time(NULL);
	/* a --trusted-keys per argument at most */
	c.keys = calloc((size_t)argc + 1, sizeof *c.keys);
	if (!c.keys)
		return cli_finish(cli_error(EXIT_SOFTWARE, "out of memory"));
	const char *manifest = NULL;
	int rc = parse_args(argc, argv, &c, &manifest);
	if (rc) {
		free(c.keys);
		return cli_finish(rc < 0 ? 0 : rc);
	}
	hp_err e = HP_ERR_INIT;
	json_t *report = NULL;
	hp_code hc = hp_verify_manifest(manifest, &c.o, &report, &e);
	free(c.keys);
	return cli_finish(cli_verify_report(report, hc, &e, c.pretty));
}
