/* hp-manifest: create, validate, canonicalise and show manifests. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "hp_buf.h"
#include "hp_io.h"
#include "hp_json.h"
#include "hp_manifest.h"
#include "hp_torrent.h"
#include "hp_package.h"
#include "hp_unixfs.h"
#include "hp_time.h"
#include "../lib/banned.h"

static const char usage_text[] =
	"Usage: hp-manifest create --name NAME --version VERSION [OPTIONS] (PATH... | -)\n"
	"       hp-manifest validate [--schema-only] [--require-signature] [--json] MANIFEST...\n"
	"       hp-manifest canonical MANIFEST\n"
	"       hp-manifest show [--json] MANIFEST\n"
	"\n"
	"Create, check and print hybrid-p2p manifests (schema version 1.0).\n"
	"\n"
	"create: build an unsigned manifest from files and directories (their\n"
	"  contents, with paths relative to each directory; a file by its name), or\n"
	"  from hp-hash records (JSON Lines) on standard input when PATH is '-'.\n"
	"  --name NAME            package name (letters, digits, '.', '_', '-')\n"
	"  --version VERSION      package version, e.g. 1.2.0\n"
	"  --description TEXT     free text\n"
	"  --uploader-id ID       who publishes it (provenance.uploader_id)\n"
	"  --timestamp TIME       provenance time (RFC 3339 UTC; default now, or\n"
	"                         $SOURCE_DATE_EPOCH when set)\n"
	"  --expires TIME         clients refuse the manifest after TIME\n"
	"  --git-commit SHA, --git-ref REF   provenance from git\n"
	"  --ipfs-gateway URL     distribution.ipfs_gateway; with CIDs, also the web seed\n"
	"                         URL/ipfs/<wrapper>/ (the wrapper directory holds the\n"
	"                         package under the torrent's name)\n"
	"  --web-seed URL         a BEP 19 web seed of the torrent (repeatable)\n"
	"  --pinning-node NODE    distribution.pinning_nodes (repeatable)\n"
	"  --tracker URL[,URL]    a tracker tier for the torrent's magnet and .torrent\n"
	"                         (repeatable; the URLs of one option share a tier)\n"
	"  --torrent-out FILE     also write the canonical .torrent (atomically)\n"
	"  --no-torrent           no torrent_infohash, torrent_infohash_v2, torrent_magnet\n"
	"  --car FILE             also write a CARv1 of the package (every block; roots:\n"
	"                         the package root, then the wrapper with --ipfs-gateway);\n"
	"                         reads one file at a time\n"
	"  -C, --directory DIR    resolve PATHs relative to DIR\n"
	"  --no-mime              do not detect MIME types\n"
	"  --profile PROFILE      UnixFS import profile for the IPFS CIDs:\n"
	"                         unixfs-v1-2025 (default), unixfs-v0-2015 (kubo's\n"
	"                         default) or kubo-cid-v1\n"
	"  --no-cid               do not compute IPFS CIDs\n"
	"  The torrent fields of distribution (torrent_infohash, torrent_infohash_v2,\n"
	"  torrent_magnet) come from the same read: the canonical hybrid torrent of the\n"
	"  files (docs/torrent-manifest.md), unless --no-torrent or every file is empty.\n"
	"  -j, --jobs N           hash with N threads (0, the default: one per CPU)\n"
	"  -o, --output FILE      write the manifest to FILE (atomically) instead of stdout\n"
	"\n"
	"validate: check schema and semantics; quiet on success, one line per\n"
	"  problem on stderr, exit 65 if any manifest is malformed.\n"
	"  --schema-only          check only what schemas/manifest.schema.json checks\n"
	"  --require-signature    an unsigned manifest is malformed\n"
	"  --json                 print one JSON report per manifest on stdout\n"
	"\n"
	"canonical: print the exact bytes that are signed (RFC 8785 JSON of the\n"
	"  manifest without its signature), with no trailing newline.\n"
	"\n"
	"show: print a summary (text, or JSON with --json).\n"
	"\n"
	"Common options:\n" CLI_COMMON_HELP
	"\n"
	"Exit status: 0 ok, 64 usage, 65 malformed manifest or input, 66 missing\n"
	"input, 73 cannot create output, 74 I/O error, 77 permission denied.\n";

static int help(void)
{
	fputs(usage_text, stdout);
	return 0;
}

/* ---- create ------------------------------------------------------------ */

enum {
	OPT_NAME = CLI_OPT_FIRST_FREE_,
	OPT_VERSION_VALUE,
	OPT_DESCRIPTION,
	OPT_UPLOADER,
	OPT_TIMESTAMP,
	OPT_EXPIRES,
	OPT_GIT_COMMIT,
	OPT_GIT_REF,
	OPT_GATEWAY,
	OPT_WEB_SEED,
	OPT_PINNING_NODE,
	OPT_NO_MIME,
	OPT_PROFILE,
	OPT_NO_CID,
	OPT_TRACKER,
	OPT_TORRENT_OUT,
	OPT_NO_TORRENT,
	OPT_CAR,
	OPT_SCHEMA_ONLY,
	OPT_REQUIRE_SIG,
	OPT_JSON,
};

typedef struct strlist {
	const char **v;
	size_t n;
} strlist;

static void strlist_add(strlist *l, const char *s)
{
	const char **v = realloc(l->v, (l->n + 1) * sizeof *v);
	if (!v) {
		cli_error(EXIT_SOFTWARE, "out of memory");
		exit(EXIT_SOFTWARE);
	}
	v[l->n++] = s;
	l->v = v;
}

static hp_code write_output(const char *out, const json_t *m, hp_err *e)
{
	char *text = json_dumps(m, JSON_INDENT(2));
	if (!text)
		return hp_fail_nomem(e);
	hp_buf b = HP_BUF_INIT;
	hp_code rc = hp_buf_adds(&b, text, e);
	free(text);
	if (!rc)
		rc = hp_buf_addch(&b, '\n', e);
	if (!rc) {
		if (!out || strcmp(out, "-") == 0) {
			int err = cli_write_stdout(b.data, b.len);
			if (err)
				rc = hp_fail_errno(e, HP_E_IO, err, "cannot write to standard output");
		} else
			rc = hp_write_file_atomic(out, b.data, b.len, 0644, 0, e);
	}
	hp_buf_release(&b);
	return rc;
}

static void on_package_event(void *ud, const hp_package_event *ev)
{
	(void)ud;
	if (ev->kind == HP_PACKAGE_EV_PROGRESS) {
		cli_progress(NULL, ev->done, ev->total);
	} else {
		cli_progress_clear();
		cli_warn("%s", ev->warning->msg);
	}
}

typedef struct trackers {
	hp_torrent_tracker *v;
	size_t n;
	unsigned tiers;
} trackers;

/* "--tracker a,b": one tier. Splits arg in place. */
static int add_tier(trackers *t, char *arg)
{
	unsigned tier = t->tiers++;
	for (char *p = arg;;) {
		char *comma = strchr(p, ',');
		if (comma)
			*comma = '\0';
		if (!*p)
			return cli_usage("empty tracker URL in '--tracker'");
		if (!hp_torrent_tracker_url_ok(p))
			return cli_usage("'%s' is not a tracker URL (http://, https:// or udp://)", p);
		hp_torrent_tracker *v = realloc(t->v, (t->n + 1) * sizeof *v);
		if (!v)
			return cli_error(EXIT_SOFTWARE, "out of memory");
		t->v = v;
		t->v[t->n].url = p;
		t->v[t->n].tier = tier;
		t->n++;
		if (!comma)
			break;
		p = comma + 1;
	}
	return 0;
}

static int cmd_create(int argc, char **argv)
{
	/* the common options, except that --version here is the package's */
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "quiet", no_argument, NULL, CLI_OPT_QUIET },
		{ "json-errors", no_argument, NULL, CLI_OPT_JSON_ERRORS },
		{ "progress", no_argument, NULL, CLI_OPT_PROGRESS },
		{ "no-progress", no_argument, NULL, CLI_OPT_NO_PROGRESS },
		{ "name", required_argument, NULL, OPT_NAME },
		{ "version", required_argument, NULL, OPT_VERSION_VALUE },
		{ "description", required_argument, NULL, OPT_DESCRIPTION },
		{ "uploader-id", required_argument, NULL, OPT_UPLOADER },
		{ "timestamp", required_argument, NULL, OPT_TIMESTAMP },
		{ "expires", required_argument, NULL, OPT_EXPIRES },
		{ "git-commit", required_argument, NULL, OPT_GIT_COMMIT },
		{ "git-ref", required_argument, NULL, OPT_GIT_REF },
		{ "ipfs-gateway", required_argument, NULL, OPT_GATEWAY },
		{ "web-seed", required_argument, NULL, OPT_WEB_SEED },
		{ "pinning-node", required_argument, NULL, OPT_PINNING_NODE },
		{ "no-mime", no_argument, NULL, OPT_NO_MIME },
		{ "profile", required_argument, NULL, OPT_PROFILE },
		{ "no-cid", no_argument, NULL, OPT_NO_CID },
		{ "tracker", required_argument, NULL, OPT_TRACKER },
		{ "torrent-out", required_argument, NULL, OPT_TORRENT_OUT },
		{ "no-torrent", no_argument, NULL, OPT_NO_TORRENT },
		{ "car", required_argument, NULL, OPT_CAR },
		{ "jobs", required_argument, NULL, 'j' },
		{ "directory", required_argument, NULL, 'C' },
		{ "output", required_argument, NULL, 'o' },
		{ NULL, 0, NULL, 0 },
	};
	hp_manifest_meta meta = { 0 };
	static strlist seeds, nodes;  /* static: no leak reports on the early returns */
	static trackers tr;
	const char *out = NULL, *dir = NULL, *profile = HP_UNIXFS_PROFILE_DEFAULT;
	const char *torrent_out = NULL, *car = NULL;
	bool torrent = true;
	bool mime = true;
	int jobs = 0;
	int c;
	while ((c = getopt_long(argc, argv, ":hC:j:o:", opts, NULL)) != -1) {
		switch (c) {
		case 'h': return help();
		case OPT_NAME: meta.name = optarg; break;
		case OPT_VERSION_VALUE: meta.version = optarg; break;
		case OPT_DESCRIPTION: meta.description = optarg; break;
		case OPT_UPLOADER: meta.uploader_id = optarg; break;
		case OPT_TIMESTAMP: meta.timestamp = optarg; break;
		case OPT_EXPIRES: meta.expires = optarg; break;
		case OPT_GIT_COMMIT: meta.git_commit = optarg; break;
		case OPT_GIT_REF: meta.git_ref = optarg; break;
		case OPT_GATEWAY: meta.ipfs_gateway = optarg; break;
		case OPT_WEB_SEED: strlist_add(&seeds, optarg); break;
		case OPT_PINNING_NODE: strlist_add(&nodes, optarg); break;
		case OPT_NO_MIME: mime = false; break;
		case OPT_PROFILE: profile = optarg; break;
		case OPT_NO_CID: profile = NULL; break;
		case OPT_TRACKER:
			if ((c = add_tier(&tr, optarg)))
				return c;
			break;
		case OPT_TORRENT_OUT: torrent_out = optarg; break;
		case OPT_NO_TORRENT: torrent = false; break;
		case OPT_CAR: car = optarg; break;
		case 'C': dir = optarg; break;
		case 'j':
			if (cli_parse_jobs(optarg, &jobs))
				return EXIT_USAGE;
			break;
		case 'o': out = optarg; break;
		default:
			if (!cli_common_option(c))
				return cli_option_error(c, argv);
		}
	}
	if (!meta.name)
		return cli_usage("create needs --name");
	if (!meta.version)
		return cli_usage("create needs --version");
	if (optind >= argc)
		return cli_usage("create needs PATHs, or '-' to read hp-hash records");
	for (const char **t = (const char *[]){ meta.timestamp, meta.expires }, **e2 = t + 2; t < e2; t++)
		if (*t && !hp_time_parse(*t, NULL))
			return cli_usage("'%s' is not an RFC 3339 UTC time such as 2026-01-31T12:00:00Z", *t);
	char epoch_ts[32];
	const char *sde = getenv("SOURCE_DATE_EPOCH");
	if (!meta.timestamp && sde && *sde) {
		char *end;
		long long t = strtoll(sde, &end, 10);
		if (*end || t < 0 || t > 253402300799LL)  /* up to 9999-12-31T23:59:59Z */
			return cli_usage("SOURCE_DATE_EPOCH '%s' is not a number of seconds", sde);
		hp_time_format((time_t)t, epoch_ts);
		meta.timestamp = epoch_ts;
	}
	meta.web_seeds = seeds.v;
	meta.n_web_seeds = seeds.n;
	meta.pinning_nodes = nodes.v;
	meta.n_pinning_nodes = nodes.n;

	bool records = strcmp(argv[optind], "-") == 0;
	if (records && argc - optind > 1)
		return cli_usage("'-' (records on stdin) cannot be mixed with PATHs");
	if (torrent_out && (!torrent || records))
		return cli_usage("--torrent-out needs the files (not '-') and no --no-torrent");
	if (car && (!profile || records))
		return cli_usage("--car needs the files (not '-') and CIDs (no --no-cid)");
	if (car && (!*car || strcmp(car, "-") == 0 || (out && strcmp(car, out) == 0)))
		return cli_usage("--car needs a file name of its own");
	if (torrent_out && (!*torrent_out || (out && strcmp(torrent_out, out) == 0) || (car && strcmp(torrent_out, car) == 0)))
		return cli_usage("--torrent-out needs a file name of its own");
	for (size_t i = 0; i < seeds.n; i++)
		if (!hp_torrent_web_seed_url_ok(seeds.v[i]))
			return cli_usage("'%s' is not a web seed URL (http:// or https://)", seeds.v[i]);
	if (meta.ipfs_gateway && !hp_torrent_web_seed_url_ok(meta.ipfs_gateway))
		return cli_usage("'%s' is not a gateway URL (http:// or https://)", meta.ipfs_gateway);
	hp_err e = HP_ERR_INIT;
	hp_code rc;
	hp_package pkg = HP_PACKAGE_INIT;
	if (records) {
		hp_buf in = HP_BUF_INIT;
		if (!(rc = hp_read_file("-", HP_JSON_MAX_INPUT, &in, &e)))
			rc = hp_package_from_records(&meta, in.data, in.len, "<stdin>", &pkg.manifest, &e);
		hp_buf_release(&in);
	} else {
		hp_package_opts po = { 0 };
		po.meta = meta;
		po.paths = (const char *const *)argv + optind;
		po.npaths = (size_t)(argc - optind);
		po.dir = dir;
		po.mime = mime;
		po.profile = profile;
		po.jobs = (unsigned)jobs;
		po.torrent = torrent;
		po.trackers = tr.v;
		po.ntrackers = tr.n;
		po.car_path = car;
		po.torrent_path = torrent_out;
		po.on_event = on_package_event;
		po.progress_ms = cli.progress ? cli_progress_ms() : 0;
		rc = hp_package_create(&po, &pkg, &e);
		cli_progress_clear();
	}
	if (!rc)
		rc = write_output(out, pkg.manifest, &e);
	hp_package_release(&pkg);
	free(seeds.v);
	free(nodes.v);
	free(tr.v);
	return rc ? cli_fail(&e) : 0;
}

/* ---- validate ------------------------------------------------------------ */

static int cmd_validate(int argc, char **argv)
{
	static const struct option opts[] = {
		CLI_COMMON_LONGOPTS,
		{ "schema-only", no_argument, NULL, OPT_SCHEMA_ONLY },
		{ "require-signature", no_argument, NULL, OPT_REQUIRE_SIG },
		{ "json", no_argument, NULL, OPT_JSON },
		{ NULL, 0, NULL, 0 },
	};
	unsigned flags = HP_MANIFEST_UNSIGNED_OK;
	bool as_json = false;
	int c;
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (c) {
		case 'h': return help();
		case CLI_OPT_VERSION: return cli_version();
		case OPT_SCHEMA_ONLY: flags |= HP_MANIFEST_SCHEMA_ONLY; break;
		case OPT_REQUIRE_SIG: flags &= ~(unsigned)HP_MANIFEST_UNSIGNED_OK; break;
		case OPT_JSON: as_json = true; break;
		default:
			if (!cli_common_option(c))
				return cli_option_error(c, argv);
		}
	}
	if (optind >= argc)
		return cli_usage("validate needs at least one MANIFEST");
	int worst = 0;
	for (int i = optind; i < argc; i++) {
		const char *path = argv[i];
		const char *shown = strcmp(path, "-") == 0 ? "<stdin>" : path;
		hp_err e = HP_ERR_INIT;
		json_t *m = NULL, *problems = json_array();
		hp_code rc = hp_json_load_file(path, HP_MANIFEST_MAX_BYTES, &m, &e);
		if (rc) {
			json_array_append_new(problems, json_pack("{s:s, s:s}", "where", "", "message", e.msg));
			cli_error(cli_exit_code(rc), "%s", e.msg);
		} else if ((rc = hp_manifest_validate(m, flags, problems, &e))) {
			size_t k;
			json_t *p;
			json_array_foreach(problems, k, p) {
				const char *where = json_string_value(json_object_get(p, "where"));
				cli_error(EXIT_DATAERR, "%s: %s%s%s", shown, where, *where ? ": " : "",
					  json_string_value(json_object_get(p, "message")));
			}
		}
		int code = cli_exit_code(rc);
		if (code > worst)
			worst = code;
		if (as_json) {
			json_t *r = json_pack("{s:s, s:b, s:O}", "manifest", shown, "valid", rc == HP_OK,
					      "problems", problems);
			cli_print_json(r);
			json_decref(r);
		}
		json_decref(problems);
		json_decref(m);
	}
	return worst;
}

/* ---- canonical, show ------------------------------------------------------ */

static int one_manifest_args(int argc, char **argv, bool *as_json, const char **path)
{
	static const struct option opts[] = {
		CLI_COMMON_LONGOPTS,
		{ "json", no_argument, NULL, OPT_JSON },
		{ NULL, 0, NULL, 0 },
	};
	int c;
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (c) {
		case 'h': return help() - 1;
		case CLI_OPT_VERSION: return cli_version() - 1;
		case OPT_JSON:
			if (!as_json)
				return cli_usage("unknown option '--json'");
			*as_json = true;
			break;
		default:
			if (!cli_common_option(c))
				return cli_option_error(c, argv);
		}
	}
	if (argc - optind != 1)
		return cli_usage("exactly one MANIFEST is needed");
	*path = argv[optind];
	return 0;
}

static int cmd_canonical(int argc, char **argv)
{
	const char *path;
	int rc = one_manifest_args(argc, argv, NULL, &path);
	if (rc)
		return rc < 0 ? 0 : rc;
	hp_err e = HP_ERR_INIT;
	json_t *m;
	if (hp_manifest_load(path, HP_MANIFEST_UNSIGNED_OK, &m, &e))
		return cli_fail(&e);
	hp_buf b = HP_BUF_INIT;
	if (hp_manifest_canonical(m, &b, &e)) {
		json_decref(m);
		return cli_fail(&e);
	}
	int err = cli_write_stdout(b.data, b.len);
	hp_buf_release(&b);
	if (err) {
		json_decref(m);
		return cli_error(EXIT_IOERR, "cannot write to standard output: %s", strerror(err));
	}
	json_decref(m);
	return 0;
}

static int cmd_show(int argc, char **argv)
{
	const char *path;
	bool as_json = false;
	int rc = one_manifest_args(argc, argv, &as_json, &path);
	if (rc)
		return rc < 0 ? 0 : rc;
	hp_err e = HP_ERR_INIT;
	json_t *m;
	if (hp_manifest_load(path, HP_MANIFEST_UNSIGNED_OK, &m, &e))
		return cli_fail(&e);
	json_t *files = json_object_get(m, "files");
	json_t *sig = json_object_get(m, "signature");
	json_t *dist = json_object_get(m, "distribution");
	unsigned long long total = (unsigned long long)json_integer_value(json_object_get(m, "total_size"));
	if (as_json) {
		json_t *s = json_pack("{s:O, s:O, s:O, s:I, s:I, s:o, s:o}", "name", json_object_get(m, "name"),
				      "version", json_object_get(m, "version"), "content_id",
				      json_object_get(m, "content_id"), "files", (json_int_t)json_array_size(files),
				      "total_size", (json_int_t)total, "key_id",
				      sig ? json_incref(json_object_get(sig, "key_id")) : json_null(),
				      "distribution", dist ? json_incref(dist) : json_object());
		cli_print_json(s);
		json_decref(s);
	} else {
		char hs[32];
		cli_human_size(total, hs, sizeof hs);
		printf("%s %s\n", json_string_value(json_object_get(m, "name")),
		       json_string_value(json_object_get(m, "version")));
		const json_t *dj = json_object_get(m, "description");
		if (json_string_length(dj)) {
			/* the schema allows any character here: escape the control
			 * characters so that none reaches the terminal */
			size_t n = json_string_length(dj), sz = 4 * n + 8;
			char *q = malloc(sz);
			if (q) {
				hp_quote(json_string_value(dj), n, q, sz);
				printf("  %s\n", q);
				free(q);
			}
		}
		printf("content_id  %s\n", json_string_value(json_object_get(m, "content_id")));
		printf("files       %zu, %s (%llu bytes)\n", json_array_size(files), hs, total);
		if (sig)
			printf("signed      by key %s (not verified here: use hp-verify)\n",
			       json_string_value(json_object_get(sig, "key_id")));
		else
			printf("signed      no\n");
		const char *exp = json_string_value(json_object_get(m, "expires"));
		if (exp)
			printf("expires     %s\n", exp);
		const char *key;
		json_t *val;
		json_object_foreach(dist, key, val) {
			if (json_is_string(val))
				printf("%-11s %s\n", key, json_string_value(val));
			else if (json_is_array(val)) {
				size_t i;
				json_t *item;
				json_array_foreach(val, i, item) printf("%-11s %s\n", i ? "" : key, json_string_value(item));
			}
		}
		size_t i;
		json_t *f;
		json_array_foreach(files, i, f) {
			const char *mt = json_string_value(json_object_get(f, "mime_type"));
			printf("  %12lld  %.16s  %s%s%s\n", (long long)json_integer_value(json_object_get(f, "size")),
			       json_string_value(json_object_get(f, "sha256")),
			       json_string_value(json_object_get(f, "path")), mt ? "  " : "", mt ? mt : "");
		}
	}
	json_decref(m);
	return 0;
}

int main(int argc, char **argv)
{
	cli_init("hp-manifest");
	opterr = 0;
	if (argc < 2)
		return cli_usage("a subcommand is needed: create, validate, canonical or show");
	const char *sub = argv[1];
	if (strcmp(sub, "-h") == 0 || strcmp(sub, "--help") == 0 || strcmp(sub, "help") == 0)
		return cli_finish(help());
	if (strcmp(sub, "--version") == 0)
		return cli_finish(cli_version());
	int rc;
	argv[1] = argv[0];
	if (strcmp(sub, "create") == 0)
		rc = cmd_create(argc - 1, argv + 1);
	else if (strcmp(sub, "validate") == 0)
		rc = cmd_validate(argc - 1, argv + 1);
	else if (strcmp(sub, "canonical") == 0)
		rc = cmd_canonical(argc - 1, argv + 1);
	else if (strcmp(sub, "show") == 0)
		rc = cmd_show(argc - 1, argv + 1);
	else
		rc = cli_usage("unknown subcommand '%s'", sub);
	return cli_finish(rc);
}
