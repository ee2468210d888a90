/* hp-manifest: create, validate, canonicalise and show manifests. */
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

/* The exit codes, at the end of every command's --help. */
#define EXIT_STATUS \
	"Exit status: 0 ok, 64 usage, 65 malformed manifest or input, 66 missing\n" \
	"input, 73 cannot create output, 74 I/O error, 77 permission denied.\n"

/* `hp-manifest --help`: the commands; each one's options are in its own. */
static const cli_option no_options[] = {
	{ 0, 0, NULL, NULL, NULL, NULL },
};

static const cli_command manifest_cmd = {
	"Usage: hp-manifest create --name NAME --version VERSION [OPTIONS] (PATH... | -)\n"
	"       hp-manifest validate [--schema-only] [--require-signature] [--json] MANIFEST...\n"
	"       hp-manifest canonical MANIFEST\n"
	"       hp-manifest show [--json] MANIFEST\n"
	"\n"
	"Create, check and print hybrid-p2p manifests (schema version 1.0).\n"
	"\n"
	"Commands:\n"
	"  create     build an unsigned manifest from files and directories, or from\n"
	"             hp-hash records on standard input\n"
	"  validate   check schema and semantics\n"
	"  canonical  print the exact bytes that are signed\n"
	"  show       print a summary\n"
	"\n"
	"'hp-manifest COMMAND --help' shows a command's options. Every command takes\n"
	"these:\n",
	no_options,
	EXIT_STATUS,
};

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
	OPT_TORRENT_OUT,
	OPT_NO_TORRENT,
	OPT_CAR,
	OPT_SCHEMA_ONLY,
	OPT_REQUIRE_SIG,
	OPT_JSON,
};

/* ---- create ------------------------------------------------------------ */

static const cli_option create_options[] = {
	{ OPT_NAME, 0, "name", "NAME", "package name (letters, digits, '.', '_', '-')", NULL },
	{ OPT_VERSION_VALUE, 0, "version", "VERSION", "package version, e.g. 1.2.0", NULL },
	{ OPT_DESCRIPTION, 0, "description", "TEXT", "free text", NULL },
	{ OPT_UPLOADER, 0, "uploader-id", "ID", "who publishes it (provenance.uploader_id)", NULL },
	{ OPT_TIMESTAMP, 0, "timestamp", "TIME",
	  "provenance time (RFC 3339 UTC; default now, or\n"
	  "$SOURCE_DATE_EPOCH when set)",
	  NULL },
	{ OPT_EXPIRES, 0, "expires", "TIME", "clients refuse the manifest after TIME", NULL },
	{ OPT_GIT_COMMIT, 0, "git-commit", "SHA", "provenance from git: the commit", NULL },
	{ OPT_GIT_REF, 0, "git-ref", "REF", "provenance from git: the ref", NULL },
	{ OPT_GATEWAY, 0, "ipfs-gateway", "URL",
	  "distribution.ipfs_gateway; with CIDs, also the\n"
	  "web seed URL/ipfs/<wrapper>/ (the wrapper\n"
	  "directory holds the package under the torrent's\n"
	  "name)",
	  NULL },
	{ OPT_WEB_SEED, 0, "web-seed", "URL", "a BEP 19 web seed of the torrent (repeatable)", NULL },
	{ OPT_PINNING_NODE, 0, "pinning-node", "NODE", "distribution.pinning_nodes (repeatable)", NULL },
	{ 't', 't', "tracker", "URL[,URL]",
	  "a tracker tier for the torrent's magnet and\n"
	  ".torrent (repeatable; the URLs of one option\n"
	  "share a tier)",
	  NULL },
	{ OPT_TORRENT_OUT, 0, "torrent-out", "FILE", "also write the canonical .torrent (atomically)", NULL },
	{ OPT_NO_TORRENT, 0, "no-torrent", NULL,
	  "no torrent_infohash, torrent_infohash_v2,\n"
	  "torrent_magnet",
	  NULL },
	{ OPT_CAR, 0, "car", "FILE",
	  "also write a CARv1 of the package (every block;\n"
	  "roots: the package root, then the wrapper with\n"
	  "--ipfs-gateway); reads one file at a time",
	  NULL },
	{ 'C', 'C', "directory", "DIR", "resolve PATHs relative to DIR", NULL },
	{ OPT_NO_MIME, 0, "no-mime", NULL, "do not detect MIME types", NULL },
	{ OPT_PROFILE, 0, "profile", "PROFILE",
	  "UnixFS import profile for the IPFS CIDs:\n"
	  "unixfs-v1-2025 (default), unixfs-v0-2015 (kubo's\n"
	  "default) or kubo-cid-v1",
	  NULL },
	{ OPT_NO_CID, 0, "no-cid", NULL, "do not compute IPFS CIDs", NULL },
	{ 'j', 'j', "jobs", "N", "hash with N threads (0, the default: one per CPU)", NULL },
	{ 'o', 'o', "output", "FILE", "write the manifest to FILE (atomically) instead\nof stdout", NULL },
	{ 0, 0, NULL, NULL, NULL, NULL },
};

static const cli_command create_cmd = {
	"Usage: hp-manifest create --name NAME --version VERSION [OPTIONS] (PATH... | -)\n"
	"\n"
	"Build an unsigned manifest (schema version 1.0) from files and directories\n"
	"(their contents, with paths relative to each directory; a file by its name),\n"
	"or from hp-hash records (JSON Lines) on standard input when PATH is '-'.\n"
	"The torrent fields of distribution (torrent_infohash, torrent_infohash_v2,\n"
	"torrent_magnet) come from the same read: the canonical hybrid torrent of the\n"
	"files (docs/torrent-manifest.md), unless --no-torrent or every file is empty.\n"
	"(--version here is the package's; 'hp-manifest --version' is the tool's.)\n",
	create_options,
	EXIT_STATUS,
};

/* The manifest's text (pkg.text, else pkg.manifest dumped) and a newline. */
static hp_code write_output(const char *out, hp_package *pkg, hp_err *e)
{
	hp_buf b = HP_BUF_INIT;
	hp_code rc = HP_OK;
	if (pkg->manifest) {
		char *text = json_dumps(pkg->manifest, JSON_INDENT(2));
		rc = text ? hp_buf_adds(&b, text, e) : hp_fail_nomem(e);
		free(text);
	} else {
		b = pkg->text;
		pkg->text = (hp_buf)HP_BUF_INIT;
	}
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
	cli_strlist text;  /* the copies the URLs point into */
} trackers;

/* "--tracker a,b": one tier. The URLs point into a copy of arg. */
static int add_tier(trackers *t, const char *arg)
{
	char *copy = strdup(arg);
	if (!copy)
		return cli_error(EXIT_SOFTWARE, "out of memory");
	cli_strlist_add(&t->text, copy);
	unsigned tier = t->tiers++;
	for (char *p = copy;;) {
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

typedef struct create_cfg {
	hp_manifest_meta meta;
	cli_strlist seeds, nodes;
	trackers tr;
	const char *out, *dir, *profile, *torrent_out, *car;
	bool torrent, mime;
	int jobs;
	const char *const *paths;  /* the operands */
	size_t npaths;
	bool records;              /* '-': hp-hash records on stdin */
	char epoch_ts[32];         /* the timestamp from $SOURCE_DATE_EPOCH */
} create_cfg;

static void create_cfg_free(create_cfg *c)
{
	free(c->seeds.v);
	free(c->nodes.v);
	free(c->tr.v);
	for (size_t i = 0; i < c->tr.text.n; i++)
		free((char *)c->tr.text.v[i]);
	free(c->tr.text.v);
}

static int create_option(void *ud, int id, const char *v)
{
	create_cfg *c = ud;
	hp_manifest_meta *m = &c->meta;
	switch (id) {
	case OPT_NAME: m->name = v; break;
	case OPT_VERSION_VALUE: m->version = v; break;
	case OPT_DESCRIPTION: m->description = v; break;
	case OPT_UPLOADER: m->uploader_id = v; break;
	case OPT_TIMESTAMP: m->timestamp = v; break;
	case OPT_EXPIRES: m->expires = v; break;
	case OPT_GIT_COMMIT: m->git_commit = v; break;
	case OPT_GIT_REF: m->git_ref = v; break;
	case OPT_GATEWAY: m->ipfs_gateway = v; break;
	case OPT_WEB_SEED: cli_strlist_add(&c->seeds, v); break;
	case OPT_PINNING_NODE: cli_strlist_add(&c->nodes, v); break;
	case OPT_NO_MIME: c->mime = false; break;
	case OPT_PROFILE: c->profile = v; break;
	case OPT_NO_CID: c->profile = NULL; break;
	case 't': return add_tier(&c->tr, v);
	case OPT_TORRENT_OUT: c->torrent_out = v; break;
	case OPT_NO_TORRENT: c->torrent = false; break;
	case OPT_CAR: c->car = v; break;
	case 'C': c->dir = v; break;
	case 'j': return cli_parse_jobs(v, &c->jobs) ? EXIT_USAGE : 0;
	case 'o': c->out = v; break;
	}
	return 0;
}

/* --timestamp and --expires are RFC 3339; without --timestamp,
 * $SOURCE_DATE_EPOCH gives it. */
static int check_times(create_cfg *c)
{
	hp_manifest_meta *m = &c->meta;
	for (const char **t = (const char *[]){ m->timestamp, m->expires }, **e2 = t + 2; t < e2; t++)
		if (*t && !hp_time_parse(*t, NULL))
			return cli_usage("'%s' is not an RFC 3339 UTC time such as 2026-01-31T12:00:00Z", *t);
	const char *sde = getenv("SOURCE_DATE_EPOCH");
	if (!m->timestamp && sde && *sde) {
		char *end;
		long long t = strtoll(sde, &end, 10);
		if (*end || t < 0 || t > 253402300799LL)  /* up to 9999-12-31T23:59:59Z */
			return cli_usage("SOURCE_DATE_EPOCH '%s' is not a number of seconds", sde);
		hp_time_format((time_t)t, c->epoch_ts);
		m->timestamp = c->epoch_ts;
	}
	return 0;
}

/* The outputs the operands allow (--torrent-out and --car need files), each
 * under a name of its own, and the URLs. */
static int check_outputs(const create_cfg *c)
{
	const char *out = c->out, *car = c->car, *torrent_out = c->torrent_out;
	if (torrent_out && (!c->torrent || c->records))
		return cli_usage("--torrent-out needs the files (not '-') and no --no-torrent");
	if (car && (!c->profile || c->records))
		return cli_usage("--car needs the files (not '-') and CIDs (no --no-cid)");
	if (car && (!*car || strcmp(car, "-") == 0 || (out && strcmp(car, out) == 0)))
		return cli_usage("--car needs a file name of its own");
	if (torrent_out && (!*torrent_out || (out && strcmp(torrent_out, out) == 0) || (car && strcmp(torrent_out, car) == 0)))
		return cli_usage("--torrent-out needs a file name of its own");
	for (size_t i = 0; i < c->seeds.n; i++)
		if (!hp_torrent_web_seed_url_ok(c->seeds.v[i]))
			return cli_usage("'%s' is not a web seed URL (http:// or https://)", c->seeds.v[i]);
	if (c->meta.ipfs_gateway && !hp_torrent_web_seed_url_ok(c->meta.ipfs_gateway))
		return cli_usage("'%s' is not a gateway URL (http:// or https://)", c->meta.ipfs_gateway);
	return 0;
}

/* 0, -1 when --help has been answered, or an exit code. */
static int parse_create(int argc, char **argv, create_cfg *c)
{
	c->profile = HP_UNIXFS_PROFILE_DEFAULT;
	c->torrent = true;
	c->mime = true;
	int first, rc = cli_parse(&create_cmd, argc, argv, create_option, c, &first);
	if (rc)
		return rc;
	if (!c->meta.name)
		return cli_usage("create needs --name");
	if (!c->meta.version)
		return cli_usage("create needs --version");
	if (first >= argc)
		return cli_usage("create needs PATHs, or '-' to read hp-hash records");
	if ((rc = check_times(c)))
		return rc;
	c->meta.web_seeds = c->seeds.v;
	c->meta.n_web_seeds = c->seeds.n;
	c->meta.pinning_nodes = c->nodes.v;
	c->meta.n_pinning_nodes = c->nodes.n;
	c->paths = (const char *const *)argv + first;
	c->npaths = (size_t)(argc - first);
	c->records = strcmp(argv[first], "-") == 0;
	if (c->records && c->npaths > 1)
		return cli_usage("'-' (records on stdin) cannot be mixed with PATHs");
	return check_outputs(c);
}

/* The manifest from hp-hash records on stdin, or from the files (with the
 * CAR and .torrent asked for). */
static hp_code build_package(const create_cfg *c, hp_package *pkg, hp_err *e)
{
	hp_code rc;
	if (c->records) {
		hp_buf in = HP_BUF_INIT;
		if (!(rc = hp_read_file("-", HP_JSON_MAX_INPUT, &in, e)))
			rc = hp_package_from_records(&c->meta, in.data, in.len, "<stdin>", &pkg->manifest, e);
		hp_buf_release(&in);
		return rc;
	}
	hp_package_opts po = { 0 };
	po.meta = c->meta;
	po.paths = c->paths;
	po.npaths = c->npaths;
	po.dir = c->dir;
	po.mime = c->mime;
	po.profile = c->profile;
	po.jobs = (unsigned)c->jobs;
	po.torrent = c->torrent;
	po.trackers = c->tr.v;
	po.ntrackers = c->tr.n;
	po.car_path = c->car;
	po.torrent_path = c->torrent_out;
	po.on_event = on_package_event;
	po.progress_ms = cli.progress ? cli_progress_ms() : 0;
	rc = hp_package_create(&po, pkg, e);
	cli_progress_clear();
	return rc;
}

static int cmd_create(int argc, char **argv)
{
	create_cfg c;
	memset(&c, 0, sizeof c);
	int rc = parse_create(argc, argv, &c);
	if (!rc) {
		hp_err e = HP_ERR_INIT;
		hp_package pkg = HP_PACKAGE_INIT;
		hp_code hc = build_package(&c, &pkg, &e);
		if (!hc)
			hc = write_output(c.out, &pkg, &e);
		hp_package_release(&pkg);
		rc = hc ? cli_fail(&e) : 0;
	}
	create_cfg_free(&c);
	return rc < 0 ? 0 : rc;
}

/* ---- validate ------------------------------------------------------------ */

static const cli_option validate_options[] = {
	{ OPT_SCHEMA_ONLY, 0, "schema-only", NULL,
	  "check only what schemas/manifest.schema.json\n"
	  "checks",
	  NULL },
	{ OPT_REQUIRE_SIG, 0, "require-signature", NULL, "an unsigned manifest is malformed", NULL },
	{ OPT_JSON, 0, "json", NULL, "print one JSON report per manifest on stdout", NULL },
	{ 0, 0, NULL, NULL, NULL, NULL },
};

static const cli_command validate_cmd = {
	"Usage: hp-manifest validate [--schema-only] [--require-signature] [--json] MANIFEST...\n"
	"\n"
	"Check each MANIFEST's schema and semantics: quiet on success, one line per\n"
	"problem on stderr, exit 65 if any manifest is malformed.\n",
	validate_options,
	EXIT_STATUS,
};

typedef struct validate_cfg {
	unsigned flags;
	bool as_json;
} validate_cfg;

static int validate_option(void *ud, int id, const char *v)
{
	validate_cfg *c = ud;
	(void)v;
	switch (id) {
	case OPT_SCHEMA_ONLY: c->flags |= HP_MANIFEST_SCHEMA_ONLY; break;
	case OPT_REQUIRE_SIG: c->flags &= ~(unsigned)HP_MANIFEST_UNSIGNED_OK; break;
	case OPT_JSON: c->as_json = true; break;
	}
	return 0;
}

static int cmd_validate(int argc, char **argv)
{
	validate_cfg c = { HP_MANIFEST_UNSIGNED_OK, false };
	int first, parsed = cli_parse(&validate_cmd, argc, argv, validate_option, &c, &first);
	if (parsed)
		return parsed < 0 ? 0 : parsed;
	if (first >= argc)
		return cli_usage("validate needs at least one MANIFEST");
	int worst = 0;
	for (int i = first; i < argc; i++) {
		const char *path = argv[i];
		const char *shown = strcmp(path, "-") == 0 ? "<stdin>" : path;
		hp_err e = HP_ERR_INIT;
		json_t *m = NULL, *problems = json_array();
		hp_buf text;
		hp_mlite lite;
		hp_buf_init(&text, SIZE_MAX);
		hp_code rc = hp_read_file(path, HP_MANIFEST_MAX_BYTES, &text, &e);
		/* a manifest in the plain form is checked without a jansson tree of its files */
		bool lite_ok = !rc && hp_mlite_parse(text.data, text.len, c.flags, &lite);
		if (lite_ok)
			hp_mlite_free(&lite);
		else if (!rc)
			rc = hp_json_parse(text.data, text.len, shown, &m, &e);
		hp_buf_release(&text);
		if (rc) {
			json_array_append_new(problems, json_pack("{s:s, s:s}", "where", "", "message", e.msg));
			cli_error(cli_exit_code(rc), "%s", e.msg);
		} else if (!lite_ok && (rc = hp_manifest_validate(m, c.flags, problems, &e))) {
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
		if (c.as_json) {
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

/* --json is refused by name: getopt_long would take it for --json-errors,
 * of which it is a prefix. */
static const cli_option canonical_options[] = {
	{ OPT_JSON, 0, "json", NULL, NULL, NULL },
	{ 0, 0, NULL, NULL, NULL, NULL },
};

static const cli_command canonical_cmd = {
	"Usage: hp-manifest canonical MANIFEST\n"
	"\n"
	"Print the exact bytes that are signed (RFC 8785 JSON of the manifest without\n"
	"its signature), with no trailing newline.\n",
	canonical_options,
	EXIT_STATUS,
};

static const cli_option show_options[] = {
	{ OPT_JSON, 0, "json", NULL, "print the summary as one JSON object", NULL },
	{ 0, 0, NULL, NULL, NULL, NULL },
};

static const cli_command show_cmd = {
	"Usage: hp-manifest show [--json] MANIFEST\n"
	"\n"
	"Print a summary of MANIFEST (text, or JSON with --json).\n",
	show_options,
	EXIT_STATUS,
};

/* show's --json; canonical (ud NULL) has none */
static int json_option(void *ud, int id, const char *v)
{
	(void)v;
	if (id == OPT_JSON && !ud)
		return cli_usage("unknown option '--json'");
	if (id == OPT_JSON)
		*(bool *)ud = true;
	return 0;
}

/* The one MANIFEST of canonical and show: 0, -1 when --help or --version
 * has been answered, or an exit code. */
static int one_manifest_args(const cli_command *cmd, int argc, char **argv, bool *as_json, const char **path)
{
	int first, rc = cli_parse(cmd, argc, argv, json_option, as_json, &first);
	if (rc)
		return rc;
	if (argc - first != 1)
		return cli_usage("exactly one MANIFEST is needed");
	*path = argv[first];
	return 0;
}

static int cmd_canonical(int argc, char **argv)
{
	const char *path;
	int rc = one_manifest_args(&canonical_cmd, argc, argv, NULL, &path);
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
	int rc = one_manifest_args(&show_cmd, argc, argv, &as_json, &path);
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
	if (argc < 2)
		return cli_usage("a subcommand is needed: create, validate, canonical or show");
	const char *sub = argv[1];
	if (strcmp(sub, "-h") == 0 || strcmp(sub, "--help") == 0 || strcmp(sub, "help") == 0) {
		cli_help(&manifest_cmd, stdout);
		return cli_finish(0);
	}
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
