/* hp-mktorrent: make a v1, v2 or hybrid .torrent from a file or a directory,
 * hashing every file once through the digest pipeline; or show one. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "hp_btpieces.h"
#include "hp_buf.h"
#include "hp_digest.h"
#include "hp_io.h"
#include "hp_json.h"
#include "hp_manifest.h"
#include "hp_mkt.h"
#include "hp_torrent.h"
#include "hp_unixfs.h"
#include "hp_walk.h"

#include "../lib/banned.h"

static const char usage_text[] =
	"Usage: hp-mktorrent [OPTION]... PATH\n"
	"       hp-mktorrent [OPTION]... --from-manifest MANIFEST [--content DIR]\n"
	"       hp-mktorrent --show TORRENT\n"
	"Make a BitTorrent metainfo file (.torrent) for a file or a directory and print\n"
	"a JSON record: {\"torrent\", \"name\", \"flavour\", \"infohash_v1\", \"infohash_v2\",\n"
	"\"magnet\", \"piece_length\", \"pieces\", \"files\", \"size\", ...}. Files go in bytewise\n"
	"order of their paths and each is read once. With --from-manifest, make the\n"
	"manifest's canonical torrent (docs/torrent-manifest.md) from its files under\n"
	"--content DIR, checking each file's size and SHA-256 in the same read. With\n"
	"--show, read a .torrent and print the same record with its file list.\n"
	"\n"
	"      --hybrid       v1 and v2 in one torrent (the default; BEP 47 pad files)\n"
	"      --v1           v1 only (BEP 3): for clients without v2 (Transmission 3, aria2)\n"
	"      --v2           v2 only (BEP 52)\n"
	"  -l, --piece-size N|auto  piece length: a power of two from 16K to 128M\n"
	"                     (bytes, or with a K or M suffix); auto (the default) picks\n"
	"                     what libtorrent picks for the total size\n"
	"  -t, --tracker URL[,URL]...  announce URLs: one tier per option, the URLs of one\n"
	"                     option share a tier (repeat for backup tiers)\n"
	"  -w, --web-seed URL  a BEP 19 web seed (repeat); clients append the torrent's\n"
	"                     name (and the file's path) to a URL that ends in '/'\n"
	"  -p, --private      set the private flag (no DHT, PEX or LSD)\n"
	"  -c, --comment TEXT  a comment\n"
	"      --creator TEXT  the 'created by' field (none by default)\n"
	"      --date SECONDS  the creation date (default: $SOURCE_DATE_EPOCH, else now)\n"
	"      --no-date      no creation date (reproducible output)\n"
	"  -n, --name NAME    the torrent's name (default: PATH's base name)\n"
	"  -o, --output FILE  where to write it (default: NAME.torrent); '-' writes the\n"
	"                     torrent to standard output and prints no record\n"
	"      --magnet       print the magnet link instead of the JSON record\n"
	"  -x, --attributes   record executable files (attr \"x\"; changes the infohash)\n"
	"  -C, --directory DIR  resolve PATH relative to DIR\n"
	"  -j, --jobs N       read N files at a time (default: the number of CPUs)\n"
	"  -L, --follow       follow symbolic links inside directories\n"
	"      --ipfs-gateway URL  add the web seed URL/ipfs/<wrapper>/, where <wrapper>\n"
	"                     is the UnixFS directory holding the content under NAME\n"
	"                     (its CID is computed in the same read)\n"
	"      --ipfs-cid CID  the IPFS CID the content must have (the file, or the\n"
	"                     directory of the files): exit 1 if it differs\n"
	"      --profile PROFILE  UnixFS import profile for those CIDs: unixfs-v1-2025\n"
	"                     (the default; with --from-manifest, the manifest's\n"
	"                     ipfs_import), unixfs-v0-2015 or kubo-cid-v1\n"
	"      --from-manifest MANIFEST  make the manifest's canonical torrent: hybrid,\n"
	"                     automatic piece size, no date; its web_seeds first; without\n"
	"                     -t, the trackers of its torrent_magnet. --v1,\n"
	"                     --v2, -l, -p and -x give another infohash (\"canonical\":\n"
	"                     false); -t, -w, -c, --creator, --date do not\n"
	"      --content DIR  with --from-manifest: the folder holding the manifest's\n"
	"                     files (default: the current directory; -C is the same)\n"
	"      --show TORRENT  read a .torrent ('-' for standard input) and print its record\n"
	CLI_COMMON_HELP
	"\n"
	"Exit status: 0 on success, 1 if the content differs from --ipfs-cid or from\n"
	"the manifest, 64 on a usage error, 65 for malformed input (a name\n"
	"that cannot go in a torrent, a bad .torrent with --show), 66 if an input is\n"
	"missing or unreadable, 73 if the output cannot be created, 74 on an I/O error.\n";

typedef struct strs {
	const char **v;
	size_t n, cap;
} strs;

typedef struct config {
	hp_torrent_flavour flavour;
	bool flavour_given;     /* --v1, --v2 or --hybrid */
	uint64_t piece_length;  /* 0: auto */
	hp_torrent_tracker *trackers;
	size_t ntrackers, trackers_cap;
	unsigned tiers;
	strs seeds;
	bool is_private;
	const char *comment;
	const char *creator;
	bool date_set;      /* --date or --no-date */
	int64_t date;
	const char *name;
	const char *output;
	bool magnet;
	bool attributes;
	const char *dir;
	unsigned jobs;
	bool follow;
	const char *ipfs_gateway;
	const char *ipfs_cid;
	const char *profile;
	const char *manifest;
	const char *show;
	const char *path;
} config;

static int push_str(strs *s, const char *v)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 8;
		const char **p = realloc(s->v, cap * sizeof *p);
		if (!p)
			return -1;
		s->v = p;
		s->cap = cap;
	}
	s->v[s->n++] = v;
	return 0;
}

/* "-t a,b": one tier of trackers. Splits arg in place. */
static int add_tier(config *c, char *arg)
{
	unsigned tier = c->tiers++;
	for (char *p = arg;;) {
		char *comma = strchr(p, ',');
		if (comma)
			*comma = '\0';
		if (!*p)
			return cli_usage("empty tracker URL in '-t'");
		if (!hp_torrent_tracker_url_ok(p))
			return cli_usage("'%s' is not a tracker URL (http://, https:// or udp://)", p);
		if (c->ntrackers == c->trackers_cap) {
			size_t cap = c->trackers_cap ? 2 * c->trackers_cap : 8;
			hp_torrent_tracker *t = realloc(c->trackers, cap * sizeof *t);
			if (!t)
				return cli_error(EXIT_SOFTWARE, "out of memory");
			c->trackers = t;
			c->trackers_cap = cap;
		}
		c->trackers[c->ntrackers].url = p;
		c->trackers[c->ntrackers].tier = tier;
		c->ntrackers++;
		if (!comma)
			break;
		p = comma + 1;
	}
	return 0;
}

static int parse_piece_size(const char *s, uint64_t *out)
{
	if (strcmp(s, "auto") == 0) {
		*out = 0;
		return 0;
	}
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (end == s || errno || s[0] == '-')
		return -1;
	if (*end == 'K' || *end == 'k') {
		v <<= 10;
		end++;
	} else if (*end == 'M' || *end == 'm') {
		v <<= 20;
		end++;
	}
	if (*end || v < HP_BT_MIN_PIECE || v > HP_BT_MAX_PIECE || (v & (v - 1)))
		return -1;
	*out = v;
	return 0;
}

static int parse_date(const char *s, const char *what, int64_t *out)
{
	char *end;
	errno = 0;
	long long t = strtoll(s, &end, 10);
	if (!*s || *end || errno || t < 0 || t > 253402300799LL)  /* up to year 9999 */
		return cli_usage("%s '%s' is not a number of seconds since 1970", what, s);
	*out = t;
	return 0;
}

static int parse_args(int argc, char **argv, config *c)
{
	enum {
		OPT_V1 = CLI_OPT_FIRST_FREE_, OPT_V2, OPT_HYBRID, OPT_CREATOR, OPT_DATE, OPT_NO_DATE, OPT_MAGNET,
		OPT_IPFS_GATEWAY, OPT_IPFS_CID, OPT_SHOW, OPT_PROFILE, OPT_FROM_MANIFEST, OPT_CONTENT,
	};
	static const struct option longopts[] = {
		{ "v1", no_argument, NULL, OPT_V1 },
		{ "v2", no_argument, NULL, OPT_V2 },
		{ "hybrid", no_argument, NULL, OPT_HYBRID },
		{ "piece-size", required_argument, NULL, 'l' },
		{ "tracker", required_argument, NULL, 't' },
		{ "web-seed", required_argument, NULL, 'w' },
		{ "private", no_argument, NULL, 'p' },
		{ "comment", required_argument, NULL, 'c' },
		{ "creator", required_argument, NULL, OPT_CREATOR },
		{ "date", required_argument, NULL, OPT_DATE },
		{ "no-date", no_argument, NULL, OPT_NO_DATE },
		{ "name", required_argument, NULL, 'n' },
		{ "output", required_argument, NULL, 'o' },
		{ "magnet", no_argument, NULL, OPT_MAGNET },
		{ "attributes", no_argument, NULL, 'x' },
		{ "directory", required_argument, NULL, 'C' },
		{ "jobs", required_argument, NULL, 'j' },
		{ "follow", no_argument, NULL, 'L' },
		{ "ipfs-gateway", required_argument, NULL, OPT_IPFS_GATEWAY },
		{ "ipfs-cid", required_argument, NULL, OPT_IPFS_CID },
		{ "show", required_argument, NULL, OPT_SHOW },
		{ "profile", required_argument, NULL, OPT_PROFILE },
		{ "from-manifest", required_argument, NULL, OPT_FROM_MANIFEST },
		{ "content", required_argument, NULL, OPT_CONTENT },
		CLI_COMMON_LONGOPTS,
		{ NULL, 0, NULL, 0 },
	};
	int flavours = 0, opt, rc;
	c->flavour = HP_TORRENT_HYBRID;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":l:t:w:pc:n:o:xC:j:Lh", longopts, NULL)) != -1) {
		switch (opt) {
		case OPT_V1:
		case OPT_V2:
		case OPT_HYBRID:
			c->flavour = opt == OPT_V1 ? HP_TORRENT_V1 : opt == OPT_V2 ? HP_TORRENT_V2 : HP_TORRENT_HYBRID;
			flavours++;
			c->flavour_given = true;
			break;
		case 'l':
			if (parse_piece_size(optarg, &c->piece_length))
				return cli_usage("invalid --piece-size '%s' (a power of two from 16K to 128M, or auto)",
						 optarg);
			break;
		case 't':
			if ((rc = add_tier(c, optarg)))
				return rc;
			break;
		case 'w':
			if (!hp_torrent_web_seed_url_ok(optarg))
				return cli_usage("'%s' is not a web seed URL (http:// or https://)", optarg);
			if (push_str(&c->seeds, optarg))
				return cli_error(EXIT_SOFTWARE, "out of memory");
			break;
		case 'p':
			c->is_private = true;
			break;
		case 'c':
			c->comment = optarg;
			break;
		case OPT_CREATOR:
			c->creator = optarg;
			break;
		case OPT_DATE:
			if ((rc = parse_date(optarg, "--date", &c->date)))
				return rc;
			c->date_set = true;
			break;
		case OPT_NO_DATE:
			c->date = 0;
			c->date_set = true;
			break;
		case 'n':
			c->name = optarg;
			break;
		case 'o':
			c->output = optarg;
			break;
		case OPT_MAGNET:
			c->magnet = true;
			break;
		case 'x':
			c->attributes = true;
			break;
		case 'C':
			if (c->dir && strcmp(c->dir, optarg) != 0)
				return cli_usage("--content and -C name two folders");
			c->dir = optarg;
			break;
		case 'j': {
			int j;
			if ((rc = cli_parse_jobs(optarg, &j)))
				return rc;
			c->jobs = (unsigned)j;
			break;
		}
		case 'L':
			c->follow = true;
			break;
		case OPT_IPFS_GATEWAY:
			c->ipfs_gateway = optarg;
			break;
		case OPT_IPFS_CID:
			c->ipfs_cid = optarg;
			break;
		case OPT_SHOW:
			c->show = optarg;
			break;
		case OPT_PROFILE:
			if (!hp_unixfs_profile_find(optarg))
				return cli_usage("unknown --profile '%s' (unixfs-v1-2025, unixfs-v0-2015 or kubo-cid-v1)",
						 optarg);
			c->profile = optarg;
			break;
		case OPT_FROM_MANIFEST:
			c->manifest = optarg;
			break;
		case OPT_CONTENT:
			if (c->dir && strcmp(c->dir, optarg) != 0)
				return cli_usage("--content and -C name two folders");
			c->dir = optarg;
			break;
		case 'h':
			fputs(usage_text, stdout);
			return -1;
		case CLI_OPT_VERSION:
			cli_version();
			return -1;
		case ':':
		case '?':
			return cli_option_error(opt, argv);
		default:
			if (!cli_common_option(opt))
				return cli_option_error('?', argv);
		}
	}
	if (flavours > 1)
		return cli_usage("--v1, --v2 and --hybrid exclude each other");
	if (c->show) {
		if (optind < argc)
			return cli_usage("--show takes no PATH");
		return 0;
	}
	if (c->manifest) {
		if (optind < argc)
			return cli_usage("--from-manifest takes no PATH (the files are the manifest's, under --content)");
		if (c->name)
			return cli_usage("--from-manifest names the torrent after the manifest: no --name");
		if (c->follow)
			return cli_usage("--from-manifest opens the manifest's paths: no --follow");
	} else {
		if (optind >= argc)
			return cli_usage("no PATH to make a torrent of");
		if (argc - optind > 1)
			return cli_usage("one PATH only (a file or a directory)");
		c->path = argv[optind];
		if (strcmp(c->path, "-") == 0)
			return cli_usage("standard input cannot be made into a torrent (it needs files)");
	}
	if (c->ipfs_cid) {
		hp_cid cid;
		hp_err e = HP_ERR_INIT;
		if (hp_cid_parse_text(c->ipfs_cid, &cid, &e))
			return cli_usage("--ipfs-cid: %s", e.msg);
	}
	if (c->ipfs_gateway && !hp_torrent_web_seed_url_ok(c->ipfs_gateway))
		return cli_usage("'%s' is not a gateway URL (http:// or https://)", c->ipfs_gateway);
	if (c->output && strcmp(c->output, "-") == 0 && c->magnet)
		return cli_usage("--magnet prints on standard output: use -o FILE with it");
	if (!c->date_set && c->manifest) {
		c->date = 0;  /* the canonical torrent has none */
	} else if (!c->date_set) {
		const char *sde = getenv("SOURCE_DATE_EPOCH");
		if (sde && *sde) {
			if ((rc = parse_date(sde, "SOURCE_DATE_EPOCH", &c->date)))
				return rc;
		} else {
			c->date = (int64_t)time(NULL);
		}
	}
	return 0;
}

/* ---- the JSON record ---- */

static json_t *str_or_null(const char *s)
{
	return s && *s ? json_string(s) : json_null();
}

static json_t *record(const hp_torrent_info *ti, const char *torrent, bool file_list)
{
	json_t *j = json_object();
	json_t *trackers = json_array(), *tier = NULL, *seeds = json_array();
	if (!j || !trackers || !seeds)
		goto fail;
	json_object_set_new(j, "torrent", torrent ? hp_json_path_value(torrent, strlen(torrent)) : json_null());
	json_object_set_new(j, "name", json_string(ti->name));
	json_object_set_new(j, "flavour", json_string(hp_torrent_flavour_name(ti->flavour)));
	json_object_set_new(j, "infohash_v1", str_or_null(ti->infohash_v1_hex));
	json_object_set_new(j, "infohash_v2", str_or_null(ti->infohash_v2_hex));
	json_object_set_new(j, "magnet", json_string(ti->magnet));
	json_object_set_new(j, "piece_length", json_integer((json_int_t)ti->piece_length));
	json_object_set_new(j, "pieces", json_integer((json_int_t)ti->num_pieces));
	json_object_set_new(j, "files", json_integer((json_int_t)ti->nfiles));
	json_object_set_new(j, "size", json_integer((json_int_t)ti->total_size));
	/* trackers as tiers: [["a","b"],["c"]] */
	for (size_t i = 0; i < ti->ntrackers; i++) {
		if (!tier || ti->trackers[i].tier != ti->trackers[i - 1].tier) {
			tier = json_array();
			json_array_append_new(trackers, tier);
		}
		json_array_append_new(tier, json_string(ti->trackers[i].url));
	}
	json_object_set_new(j, "trackers", trackers);
	trackers = NULL;
	for (size_t i = 0; i < ti->nweb_seeds; i++)
		json_array_append_new(seeds, json_string(ti->web_seeds[i]));
	json_object_set_new(j, "web_seeds", seeds);
	seeds = NULL;
	json_object_set_new(j, "private", json_boolean(ti->is_private));
	json_object_set_new(j, "comment", ti->comment ? json_string(ti->comment) : json_null());
	json_object_set_new(j, "creator", ti->creator ? json_string(ti->creator) : json_null());
	json_object_set_new(j, "creation_date", ti->creation_date ? json_integer(ti->creation_date) : json_null());
	if (file_list) {
		json_t *list = json_array();
		for (size_t i = 0; list && i < ti->nfiles; i++) {
			json_t *f = json_object();
			json_object_set_new(f, "path", hp_json_path_value(ti->files[i].path, strlen(ti->files[i].path)));
			json_object_set_new(f, "size", json_integer((json_int_t)ti->files[i].size));
			if (ti->files[i].executable)
				json_object_set_new(f, "executable", json_true());
			if (ti->files[i].saved_as)
				json_object_set_new(f, "saved_as", hp_json_path_value(ti->files[i].saved_as,
										      strlen(ti->files[i].saved_as)));
			json_array_append_new(list, f);
		}
		json_object_set_new(j, "file_list", list);
	}
	return j;
fail:
	json_decref(j);
	json_decref(trackers);
	json_decref(seeds);
	return NULL;
}

static int print_record(const hp_torrent_info *ti, const char *torrent, bool file_list)
{
	json_t *j = record(ti, torrent, file_list);
	if (!j)
		return cli_error(EXIT_SOFTWARE, "out of memory");
	cli_print_json(j);
	json_decref(j);
	return 0;
}

static int show(const config *c)
{
	hp_err e = HP_ERR_INIT;
	hp_torrent_info *ti;
	if (hp_torrent_read(c->show, &ti, &e))
		return cli_fail(&e);
	int rc = c->magnet ? (cli_printf("%s\n", ti->magnet), 0) : print_record(ti, c->show, true);
	hp_torrent_info_free(ti);
	return rc;
}

/* ---- making one ---- */

static int walk_status;

static void on_walk(void *ud, hp_walk_event ev, const hp_err *e)
{
	(void)ud;
	if (ev == HP_WALK_ERROR) {
		if (!walk_status)
			walk_status = cli_fail(e);
		return;
	}
	cli_warn("%s", e->msg);
}

/* The torrent's default name: PATH's base name, resolved when PATH is ".",
 * ".." or ends in one of them. */
static int default_name(const config *c, char **out)
{
	size_t n = strlen(c->path);
	while (n > 1 && c->path[n - 1] == '/')
		n--;
	const char *b = c->path + n;
	while (b > c->path && b[-1] != '/')
		b--;
	size_t bl = (size_t)(c->path + n - b);
	if (bl && !(bl == 1 && b[0] == '.') && !(bl == 2 && b[0] == '.' && b[1] == '.') && !(bl == 1 && b[0] == '/')) {
		*out = strndup(b, bl);
		return *out ? 0 : cli_error(EXIT_SOFTWARE, "out of memory");
	}
	hp_buf full = HP_BUF_INIT;
	if (c->dir && c->path[0] != '/' && hp_buf_addf(&full, NULL, "%s/", c->dir))
		return cli_error(EXIT_SOFTWARE, "out of memory");
	hp_buf_adds(&full, c->path, NULL);
	char *real = realpath(full.data, NULL);
	hp_buf_release(&full);
	const char *base = real ? strrchr(real, '/') : NULL;
	if (!base || !base[1]) {
		free(real);
		return cli_usage("cannot name a torrent after '%s': give --name", c->path);
	}
	*out = strdup(base + 1);
	free(real);
	return *out ? 0 : cli_error(EXIT_SOFTWARE, "out of memory");
}

/* Write the torrent and print the record (or the magnet). */
static int emit(const config *c, const hp_mkt_result *r)
{
	hp_err e = HP_ERR_INIT;
	const hp_torrent_info *ti = r->info;
	char *out_path = NULL;
	const char *dst = c->output;
	int rc = 0;
	if (!dst) {
		hp_buf p = HP_BUF_INIT;
		if (hp_buf_addf(&p, NULL, "%s.torrent", ti->name))
			return cli_error(EXIT_SOFTWARE, "out of memory");
		dst = out_path = hp_buf_detach(&p, NULL);
	}
	if (hp_write_file_atomic(dst, r->torrent.data, r->torrent.len, 0644, 0, &e)) {
		free(out_path);
		return cli_fail(&e);
	}
	for (size_t i = 0; i < ti->nfiles; i++)
		if (ti->files[i].saved_as)
			cli_warn("'%s' differs from another path only in case: libtorrent clients save it as '%s'",
				 ti->files[i].path, ti->files[i].saved_as);
	if (strcmp(dst, "-") == 0) {
		free(out_path);
		return 0;
	}
	if (c->magnet) {
		cli_printf("%s\n", ti->magnet);
	} else {
		json_t *j = record(ti, dst, false);
		if (!j) {
			free(out_path);
			return cli_error(EXIT_SOFTWARE, "out of memory");
		}
		if (c->manifest)
			json_object_set_new(j, "canonical", json_boolean(r->canonical));
		if (r->content_cid[0]) {
			json_object_set_new(j, "ipfs_cid", json_string(r->content_cid));
			json_object_set_new(j, "ipfs_dag_size", json_integer((json_int_t)r->content_dag_size));
			json_object_set_new(j, "ipfs_wrapper_cid", json_string(r->wrapper_cid));
			json_object_set_new(j, "ipfs_web_seed", str_or_null(r->ipfs_web_seed));
		}
		cli_print_json(j);
		json_decref(j);
	}
	free(out_path);
	return rc;
}

static void fill_opts(const config *c, hp_mkt_opts *o)
{
	memset(o, 0, sizeof *o);
	o->flavour = c->flavour_given ? c->flavour : 0;
	o->piece_length = c->piece_length;
	o->is_private = c->is_private;
	o->attributes = c->attributes;
	o->trackers = c->trackers;
	o->ntrackers = c->ntrackers;
	o->web_seeds = c->seeds.v;
	o->nweb_seeds = c->seeds.n;
	o->comment = c->comment;
	o->creator = c->creator;
	o->creation_date = c->date;
	o->ipfs_profile = c->profile;
	o->ipfs_cid = c->ipfs_cid;
	o->ipfs_gateway = c->ipfs_gateway;
	o->jobs = c->jobs;
	if (cli.progress) {
		o->progress = cli_progress;
		o->progress_ms = cli_progress_ms();
	}
}

static int from_manifest(const config *c)
{
	hp_err e = HP_ERR_INIT;
	json_t *m;
	if (hp_manifest_load(c->manifest, HP_MANIFEST_UNSIGNED_OK, &m, &e))
		return cli_fail(&e);
	hp_mkt_opts o;
	fill_opts(c, &o);
	hp_mkt_result r = HP_MKT_RESULT_INIT;
	hp_code hc = hp_mkt_from_manifest(m, c->dir, &o, &r, &e);
	cli_progress_clear();
	int rc = hc ? cli_fail(&e) : emit(c, &r);
	hp_mkt_result_free(&r);
	json_decref(m);
	return rc;
}

static int make(config *c)
{
	hp_err e = HP_ERR_INIT;
	int rc = 0;
	char *name = NULL;
	hp_walk_list l = HP_WALK_LIST_INIT;
	hp_mkt_result r = HP_MKT_RESULT_INIT;

	if (c->name) {
		if (!(name = strdup(c->name)))
			return cli_error(EXIT_SOFTWARE, "out of memory");
	} else if ((rc = default_name(c, &name))) {
		return rc;
	}
	hp_walk_opts wo = { c->dir, HP_WALK_RELATIVE | (c->follow ? HP_WALK_FOLLOW : 0), on_walk, NULL };
	if (hp_walk_init(&l, &wo, &e) || hp_walk_add(&l, c->path, &e)) {
		rc = cli_fail(&e);
		goto out;
	}
	if (walk_status) {
		rc = walk_status;
		goto out;
	}
	if (l.n == 0) {
		rc = cli_error(EXIT_DATAERR, "'%s' holds no files", c->path);
		goto out;
	}
	bool single = l.n == 1 && l.v[0].depth == 0;
	for (size_t i = 0; i < l.n; i++) {
		if (l.v[i].type != HP_WALK_FILE) {
			rc = cli_usage("'%s' is not a regular file: a torrent needs files of known size", l.v[i].path);
			goto out;
		}
		if (!single && hp_relpath_check(l.v[i].path, l.v[i].path_len, &e)) {
			hp_err_prefix(&e, "cannot put this file in a torrent");
			rc = cli_fail(&e);
			goto out;
		}
	}
	if (l.total_size == 0) {
		rc = cli_error(EXIT_DATAERR, "nothing to share: every file under '%s' is empty", c->path);
		goto out;
	}
	hp_mkt_opts o;
	fill_opts(c, &o);
	if ((c->ipfs_gateway || c->ipfs_cid) && !o.ipfs_profile)
		o.ipfs_profile = HP_UNIXFS_PROFILE_DEFAULT;
	hp_code hc = hp_mkt_build(&l, name, single, &o, &r, &e);
	cli_progress_clear();
	rc = hc ? cli_fail(&e) : emit(c, &r);
out:
	hp_mkt_result_free(&r);
	hp_walk_free(&l);
	free(name);
	return rc;
}

int main(int argc, char **argv)
{
	config c;
	memset(&c, 0, sizeof c);
	cli_init("hp-mktorrent");
	int rc = parse_args(argc, argv, &c);
	if (rc == 0)
		rc = c.show ? show(&c) : c.manifest ? from_manifest(&c) : make(&c);
	else if (rc < 0)
		rc = 0;
	free(c.trackers);
	free(c.seeds.v);
	return cli_finish(rc);
}
