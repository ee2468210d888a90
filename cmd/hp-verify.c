/* hp-verify: is this manifest signed by a trusted key, current, not a
 * rollback, and does the content match it byte for byte? */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "hp_verify.h"
#include "../lib/banned.h"

static const cli_command command = {
	"Usage: hp-verify [OPTIONS] MANIFEST\n"
	"\n"
	"Check, in this order: the manifest's size and form, its Ed25519 signature\n"
	"against the trusted keys, its expiry, that it is not older than a version\n"
	"already seen (with --state), and then, with --content, every file: missing,\n"
	"extra, size and SHA-256 mismatches. Prints one JSON report on stdout; each\n"
	"failed check is in its \"problems\" as {\"where\", \"message\"}, and one line on\n"
	"stderr.\n",
	cli_verify_options,
	"Exit status: 0 valid; 1 invalid (bad or untrusted signature, expired,\n"
	"rollback, content mismatch); 64 usage; 65 malformed manifest or key file;\n"
	"66 missing manifest or content folder; 73 cannot write the state file;\n"
	"74 I/O error; 77 permission denied.\n",
};

/* Returns 0 with *manifest set, -1 when done (help, version), or an exit code. */
static int parse_args(int argc, char **argv, cli_verify_cfg *c, const char **manifest)
{
	int first, rc = cli_parse(&command, argc, argv, cli_verify_option, c, &first);
	if (rc)
		return rc;
	if (argc - first != 1)
		return cli_usage(first >= argc ? "a MANIFEST is needed" : "only one MANIFEST at a time");
	const char *env_keys = getenv("HP_TRUSTED_KEYS");
	if (!c->keys.n && env_keys && *env_keys)
		cli_strlist_add(&c->keys, env_keys);
	c->o.trusted_key_files = c->keys.v;
	c->o.n_trusted_key_files = c->keys.n;
	*manifest = argv[first];
	return 0;
}

int main(int argc, char **argv)
{
	cli_init("hp-verify");
	cli_verify_cfg c;
	cli_verify_cfg_init(&c);
	const char *manifest = NULL;
	int rc = parse_args(argc, argv, &c, &manifest);
	if (rc) {
		cli_strlist_free(&c.keys);
		return cli_finish(rc < 0 ? 0 : rc);
	}
	hp_err e = HP_ERR_INIT;
	json_t *report = NULL;
	hp_code hc = hp_verify_manifest(manifest, &c.o, &report, &e);
	cli_strlist_free(&c.keys);
	return cli_finish(cli_verify_report(report, hc, &e, c.pretty));
}
