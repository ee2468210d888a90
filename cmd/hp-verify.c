/* hp-verify: is this manifest signed by a trusted key, current, not a
 * rollback, and does the content match it byte for byte? */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "hp_time.h"
#include "hp_verify.h"
#include "../lib/banned.h"

static const char usage_text[] =
	"Usage: hp-verify [OPTIONS] MANIFEST\n"
	"\n"
	"Check, in this order: the manifest's size and form, its Ed25519 signature\n"
	"against the trusted keys, its expiry, that it is not older than a version\n"
	"already seen (with --state), and then, with --content, every file: missing,\n"
	"extra, size and SHA-256 mismatches. Prints one JSON report on stdout.\n"
	"\n"
	"  -c, --content DIR        check the files under DIR against the manifest\n"
	"  -k, --trusted-keys FILE  public keys to trust (PEM, minisign or base64, one\n"
	"                           or more per file; repeatable; default\n"
	"                           $HP_TRUSTED_KEYS when set)\n"
	"      --allow-untrusted    accept a valid signature by a key not trusted\n"
	"      --allow-unsigned     accept a manifest without a signature\n"
	"      --state FILE         refuse rollbacks against FILE and record this\n"
	"                           version in it when everything checks out\n"
	"      --no-extra           do not report files under DIR that the manifest\n"
	"                           does not list\n"
	"      --now TIME           judge expiry at TIME (RFC 3339 UTC) instead of now\n"
	"  -j, --jobs N             hash with N threads (0, the default: one per CPU)\n"
	"      --pretty             indent the report\n"
	"\n"
	"Common options:\n" CLI_COMMON_HELP
	"\n"
	"Exit status: 0 valid; 1 invalid (bad or untrusted signature, expired,\n"
	"rollback, content mismatch); 64 usage; 65 malformed manifest or key file;\n"
	"66 missing manifest or content folder; 73 cannot write the state file;\n"
	"74 I/O error; 77 permission denied.\n";

enum {
	OPT_ALLOW_UNTRUSTED = CLI_OPT_FIRST_FREE_,
	OPT_ALLOW_UNSIGNED,
	OPT_STATE,
	OPT_NO_EXTRA,
	OPT_NOW,
	OPT_PRETTY,
};

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		CLI_COMMON_LONGOPTS,
		{ "content", required_argument, NULL, 'c' },
		{ "trusted-keys", required_argument, NULL, 'k' },
		{ "allow-untrusted", no_argument, NULL, OPT_ALLOW_UNTRUSTED },
		{ "allow-unsigned", no_argument, NULL, OPT_ALLOW_UNSIGNED },
		{ "state", required_argument, NULL, OPT_STATE },
		{ "no-extra", no_argument, NULL, OPT_NO_EXTRA },
		{ "now", required_argument, NULL, OPT_NOW },
		{ "jobs", required_argument, NULL, 'j' },
		{ "pretty", no_argument, NULL, OPT_PRETTY },
		{ NULL, 0, NULL, 0 },
	};
	cli_init("hp-verify");
	opterr = 0;
	hp_verify_opts o = { 0 };
	const char **keyfiles = calloc((size_t)argc + 1, sizeof *keyfiles);
	size_t nkeys = 0;
	bool pretty = false;
	int c;
	o.extra = true;
	o.now = time(NULL);
	while ((c = getopt_long(argc, argv, ":hc:k:j:", opts, NULL)) != -1) {
		switch (c) {
		case 'h':
			fputs(usage_text, stdout);
			free(keyfiles);
			return cli_finish(0);
		case CLI_OPT_VERSION:
			free(keyfiles);
			return cli_finish(cli_version());
		case 'c': o.content_dir = optarg; break;
		case 'k': keyfiles[nkeys++] = optarg; break;
		case OPT_ALLOW_UNTRUSTED: o.allow_untrusted = true; break;
		case OPT_ALLOW_UNSIGNED: o.allow_unsigned = true; break;
		case OPT_STATE: o.state_path = optarg; break;
		case OPT_NO_EXTRA: o.extra = false; break;
		case OPT_NOW:
			if (!hp_time_parse(optarg, &o.now)) {
				free(keyfiles);
				return cli_usage("'%s' is not an RFC 3339 UTC time such as 2026-01-31T12:00:00Z", optarg);
			}
			break;
		case 'j':
			if (cli_parse_jobs(optarg, &o.jobs)) {
				free(keyfiles);
				return EXIT_USAGE;
			}
			break;
		case OPT_PRETTY: pretty = true; break;
		default:
			if (!cli_common_option(c)) {
				free(keyfiles);
				return cli_option_error(c, argv);
			}
		}
	}
	if (argc - optind != 1) {
		free(keyfiles);
		return cli_usage(optind >= argc ? "a MANIFEST is needed" : "only one MANIFEST at a time");
	}
	const char *env_keys = getenv("HP_TRUSTED_KEYS");
	if (!nkeys && env_keys && *env_keys)
		keyfiles[nkeys++] = env_keys;
	o.trusted_key_files = keyfiles;
	o.n_trusted_key_files = nkeys;

	hp_err e = HP_ERR_INIT;
	json_t *report = NULL;
	hp_code rc = hp_verify_manifest(argv[optind], &o, &report, &e);
	free(keyfiles);
	return cli_finish(cli_verify_report(report, rc, &e, pretty));
}
