/* hp-mktorrent: make a v1, v2 or hybrid .torrent from a file or a directory,
 * hashing every file once through the digest pipeline; or show one. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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

enum {
	OPT_V1 = CLI_OPT_FIRST_FREE_, OPT_V2, OPT_HYBRID, OPT_COMMENT, OPT_CREATOR, OPT_DATE, OPT_NO_DATE, OPT_MAGNET,
	OPT_IPFS_GATEWAY, OPT_IPFS_CID, OPT_SHOW, OPT_PROFILE, OPT_FROM_MANIFEST, OPT_CONTENT, OPT_SHORT_C,
};

static const cli_option mkt_options[] = {
	{ OPT_HYBRID, 0, "hybrid", NULL, "v1 and v2 in one torrent (the default; BEP 47 pad\nfiles)", NULL },
	{ OPT_V1, 0, "v1", NULL, "v1 only (BEP 3): for clients without v2\n(Transmission 3, aria2)", NULL },
	{ OPT_V2, 0, "v2", NULL, "v2 only (BEP 52)", NULL },
	{ 'l', 'l', "piece-size", "N|auto", "piece length: a power of two from 16K to 128M\n"
	  "(bytes, or with a K or M suffix); auto (the\ndefault) picks what libtorrent picks for the\ntotal size; a hybrid of many small files gets\nsmaller pieces (docs/torrent-manifest.md)", NULL },
	{ 't', 't', "tracker", "URL[,URL]...", "announce URLs: one tier per option, the URLs of\n"
	  "one option share a tier (repeat for backup tiers)", NULL },
	{ 'w', 'w', "web-seed", "URL", "a BEP 19 web seed (repeat); clients append the\n"
	  "torrent's name (and the file's path) to a URL\nthat ends in '/'", NULL },
	{ 'p', 0, "private", NULL, "set the private flag (no DHT, PEX or LSD)", NULL },
	{ 'p', 'p', NULL, NULL, NULL, "private" },
	{ OPT_COMMENT, 0, "comment", "TEXT", "a comment", NULL },
	{ OPT_CREATOR, 0, "creator", "TEXT", "the 'created by' field (none by default)", NULL },
	{ OPT_DATE, 0, "date", "SECONDS", "the creation date (default: $SOURCE_DATE_EPOCH,\nelse now)", NULL },
	{ OPT_NO_DATE, 0, "no-date", NULL, "no creation date (reproducible output)", NULL },
	{ 'n', 'n', "name", "NAME", "the torrent's name (default: PATH's base name)", NULL },
	{ 'o', 'o', "output", "FILE", "where to write it (default: NAME.torrent); '-'\n"
	  "writes the torrent to standard output and prints\nno record", NULL },
	{ OPT_MAGNET, 0, "magnet", NULL, "print the magnet link instead of the JSON record", NULL },
	{ 'x', 0, "attributes", NULL, "record executable files (attr \"x\"; changes the\ninfohash)", NULL },
	{ 'x', 'x', NULL, NULL, NULL, "attributes" },
	{ 'C', 'C', "directory", "DIR", "resolve PATH relative to DIR", NULL },
	{ 'j', 'j', "jobs", "N", "read N files at a time (default: the number of\nCPUs)", NULL },
	{ 'L', 'L', "follow", NULL, "follow symbolic links inside directories", NULL },
	{ OPT_IPFS_GATEWAY, 0, "ipfs-gateway", "URL", "add the web seed URL/ipfs/<wrapper>/, where\n"
	  "<wrapper> is the UnixFS directory holding the\ncontent under NAME (its CID is computed in the\nsame read)",
	  NULL },
	{ OPT_IPFS_CID, 0, "ipfs-cid", "CID", "the IPFS CID the content must have (the file, or\n"
	  "the directory of the files): exit 1 if it differs", NULL },
	{ OPT_PROFILE, 0, "profile", "PROFILE", "UnixFS import profile for those CIDs:\n"
	  "unixfs-v1-2025 (the default; with\n--from-manifest, the manifest's ipfs_import),\n"
	  "unixfs-v0-2015 or kubo-cid-v1", NULL },
	{ OPT_FROM_MANIFEST, 0, "from-manifest", "MANIFEST", "make the manifest's canonical torrent: hybrid,\n"
	  "automatic piece size, no date; its web_seeds\nfirst; without -t, the trackers of its\n"
	  "torrent_magnet. --v1, --v2, -l, --private and\n--attributes give another infohash (\"canonical\":\nfalse); -t, -w, "
	  "--comment, --creator, --date do not", NULL },
	/* -c was the comment (as in mktorrent) and is --content now. This
	 * hidden entry comes first, so that cli_parse hands -c over as
	 * OPT_SHORT_C and --content as OPT_CONTENT: resolve_short_c decides
	 * what a -c means this release. */
	{ OPT_SHORT_C, 'c', NULL, "DIR", NULL, NULL },
	{ OPT_CONTENT, 'c', "content", "DIR", "with --from-manifest: the folder holding the\n"
	  "manifest's files (default: the current directory;\n-C is the same)", NULL },
	{ OPT_SHOW, 0, "show", "TORRENT", "read a .torrent ('-' for standard input) and\nprint its record", NULL },
	{ 0, 0, NULL, NULL, NULL, NULL },
};

static const cli_command mkt_cmd = {
	"Usage: hp-mktorrent [OPTION]... PATH\n"
	"       hp-mktorrent [OPTION]... --from-manifest MANIFEST [--content DIR]\n"
	"       hp-mktorrent --show TORRENT\n"
	"Make a BitTorrent metainfo file (.torrent) for a file or a directory and print\n"
	"a JSON record: {\"torrent\", \"name\", \"flavour\", \"infohash_v1\", \"infohash_v2\",\n"
	"\"magnet\", \"piece_length\", \"pieces\", \"files\", \"size\", ...}. Files go in bytewise\n"
	"order of their paths and each is read once. With --from-manifest, make the\n"
	"manifest's canonical torrent (docs/torrent-manifest.md) from its files under\n"
	"--content DIR, checking each file's size and SHA-256 in the same read. With\n"
	"--show, read a .torrent and print the same record with its file list.\n",
	mkt_options,
	"Exit status: 0 on success, 1 if the content differs from --ipfs-cid or from\n"
	"the manifest, 64 on a usage error, 65 for malformed input (a name\n"
	"that cannot go in a torrent, a bad .torrent with --show), 66 if an input is\n"
	"missing or unreadable, 73 if the output cannot be created, 74 on an I/O error.\n",
};

typedef struct strs {
	const char **v;
	size_t n, cap;
} strs;

typedef struct config {
	hp_torrent_flavour flavour;
	bool flavour_given;     /* --v1, --v2 or --hybrid */
	int flavours;           /* how many of them */
	uint64_t piece_length;  /* 0: auto */
	hp_torrent_tracker *trackers;
	size_t ntrackers, trackers_cap;
	unsigned tiers;
	strs seeds;
	bool is_private;
	const char *comment;
	strs short_c;           /* every -c, in order: resolve_short_c */
	bool comment_is_c;      /* the last comment given was a -c */
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

/* -C DIR and --content DIR name the same folder. */
static int set_content(config *c, const char *dir)
{
	if (c->dir && strcmp(c->dir, dir) != 0)
		return cli_usage("--content and -C name two folders");
	c->dir = dir;
	return 0;
}

static int on_option(void *ud, int id, const char *v)
{
	config *c = ud;
	int rc, j;
	switch (id) {
	case OPT_V1:
	case OPT_V2:
	case OPT_HYBRID:
		c->flavour = id == OPT_V1 ? HP_TORRENT_V1 : id == OPT_V2 ? HP_TORRENT_V2 : HP_TORRENT_HYBRID;
		c->flavours++;
		c->flavour_given = true;
		break;
	case 'l':
		if (parse_piece_size(v, &c->piece_length))
			return cli_usage("invalid --piece-size '%s' (a power of two from 16K to 128M, or auto)", v);
		break;
	case 't':
		/* add_tier splits the value in place: it is argv's own string */
		return add_tier(c, (char *)v);
	case 'w':
		if (!hp_torrent_web_seed_url_ok(v))
			return cli_usage("'%s' is not a web seed URL (http:// or https://)", v);
		if (push_str(&c->seeds, v))
			return cli_error(EXIT_SOFTWARE, "out of memory");
		break;
	case 'p': c->is_private = true; break;
	case OPT_COMMENT:
		c->comment = v;
		c->comment_is_c = false;
		break;
	case OPT_SHORT_C:
		if (push_str(&c->short_c, v))
			return cli_error(EXIT_SOFTWARE, "out of memory");
		c->comment_is_c = true;
		break;
	case OPT_CREATOR: c->creator = v; break;
	case OPT_DATE:
		if ((rc = parse_date(v, "--date", &c->date)))
			return rc;
		c->date_set = true;
		break;
	case OPT_NO_DATE:
		c->date = 0;
		c->date_set = true;
		break;
	case 'n': c->name = v; break;
	case 'o': c->output = v; break;
	case OPT_MAGNET: c->magnet = true; break;
	case 'x': c->attributes = true; break;
	case 'C':
	case OPT_CONTENT:
		return set_content(c, v);
	case 'j':
		if ((rc = cli_parse_jobs(v, &j)))
			return rc;
		c->jobs = (unsigned)j;
		break;
	case 'L': c->follow = true; break;
	case OPT_IPFS_GATEWAY: c->ipfs_gateway = v; break;
	case OPT_IPFS_CID: c->ipfs_cid = v; break;
	case OPT_SHOW: c->show = v; break;
	case OPT_PROFILE:
		if (!hp_unixfs_profile_find(v))
			return cli_usage("unknown --profile '%s' (unixfs-v1-2025, unixfs-v0-2015 or kubo-cid-v1)", v);
		c->profile = v;
		break;
	case OPT_FROM_MANIFEST: c->manifest = v; break;
	}
	return 0;
}

/* -c is --content (docs/cli-conventions.md). It was the comment, as in
 * mktorrent: for this release a -c without --from-manifest (where a content
 * folder is only -C again) is still the comment, with the deprecation
 * warning; with --from-manifest it is the folder, and a -c that names no
 * folder is refused rather than read as one. */
static int resolve_short_c(config *c)
{
	int rc;
	for (size_t i = 0; i < c->short_c.n; i++) {
		const char *v = c->short_c.v[i];
		struct stat st;
		if (!c->manifest) {
			cli_warn("'-c' is deprecated: use '--comment' (the old spelling goes in a later release)");
			if (c->comment_is_c)
				c->comment = v;
		} else if (stat(v, &st) != 0 || !S_ISDIR(st.st_mode)) {
			return cli_usage("-c is --content: '%s' is not a folder (a comment is --comment)", v);
		} else if ((rc = set_content(c, v))) {
			return rc;
		}
	}
	return 0;
}

/* What the operands must be for --show, --from-manifest, or a PATH. */
static int check_mode(config *c, int argc, char **argv, int first)
{
	if (c->show) {
		if (first < argc)
			return cli_usage("--show takes no PATH");
		return 0;
	}
	if (c->manifest) {
		if (first < argc)
			return cli_usage("--from-manifest takes no PATH (the files are the manifest's, under --content)");
		if (c->name)
			return cli_usage("--from-manifest names the torrent after the manifest: no --name");
		if (c->follow)
			return cli_usage("--from-manifest opens the manifest's paths: no --follow");
		return 0;
	}
	if (first >= argc)
		return cli_usage("no PATH to make a torrent of");
	if (argc - first > 1)
		return cli_usage("one PATH only (a file or a directory)");
	c->path = argv[first];
	if (strcmp(c->path, "-") == 0)
		return cli_usage("standard input cannot be made into a torrent (it needs files)");
	return 0;
}

/* The values checked together, once every option is known. */
static int check_values(config *c)
{
	int rc;
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

static int parse_args(int argc, char **argv, config *c)
{
	int first, rc;
	c->flavour = HP_TORRENT_HYBRID;
	if ((rc = cli_parse(&mkt_cmd, argc, argv, on_option, c, &first)))
		return rc;
	if ((rc = resolve_short_c(c)))
		return rc;
	if (c->flavours > 1)
		return cli_usage("--v1, --v2 and --hybrid exclude each other");
	if ((rc = check_mode(c, argc, argv, first)))
		return rc;
	if (c->show)
		return 0;
	return check_values(c);
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
	free(c.short_c.v);
	return cli_finish(rc);
}
