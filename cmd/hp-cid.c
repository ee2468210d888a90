/* hp-cid: the IPFS CIDs of files and directories, byte-identical to kubo's
 * `ipfs add -r --only-hash`, one JSON record per file and directory, each
 * file read once (its SHA-256 too, on request); optionally every block in a
 * CARv1. See docs/hp-cid.1 and docs/unixfs.md. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "hp_buf.h"
#include "hp_digest.h"
#include "hp_io.h"
#include "hp_json.h"
#include "hp_unixfs.h"
#include "hp_walk.h"

#if defined(__has_include)
#if __has_include("hp_car.h")
#include "hp_car.h"
#define HAVE_CAR 1
#endif
#endif
#ifndef HAVE_CAR
#define HAVE_CAR 0
#endif

#include "../lib/banned.h"

enum { OPT_CAR = CLI_OPT_FIRST_FREE_, OPT_SHA256 };

static const cli_option cid_options[] = {
	{ 'p', 'p', NULL, "PROFILE", NULL, "profile" },
	{ 'p', 0, "profile", "PROFILE", "unixfs-v1-2025 (the default: CIDv1, 1 MiB\n"
	  "chunks, raw leaves), unixfs-v0-2015 (kubo's\n"
	  "default: CIDv0, 256 KiB chunks), or kubo-cid-v1\n"
	  "(kubo's --cid-version=1: CIDv1, 256 KiB chunks)", NULL },
	{ OPT_CAR, 0, "car", "FILE", "also write every block to FILE, a CARv1 whose\n"
	  "roots are the PATHs' CIDs ('-': standard output,\nthen no records)", NULL },
	{ 'C', 'C', "directory", "DIR", "resolve PATHs relative to DIR", NULL },
	{ 'j', 'j', "jobs", "N", "read N files at a time (default: the number of\nCPUs; 1 with --car)", NULL },
	{ OPT_SHA256, 0, "sha256", NULL, "add each file's SHA-256 (\"sha256\"), from the\nsame read", NULL },
	{ 0, 0, NULL, NULL, NULL, NULL },
};

static const cli_command cid_cmd = {
	"Usage: hp-cid [OPTION]... PATH...\n"
	"Print the IPFS (UnixFS) CIDs of files and directories as JSON Lines, the CIDs\n"
	"kubo's 'ipfs add -r --hidden --only-hash' computes with the same import profile:\n"
	"  {\"path\": ..., \"type\": \"file\", \"cid\": ..., \"size\": N, \"dag_size\": N}\n"
	"size is the content's bytes (a directory: its files' bytes in all); dag_size\n"
	"is the DAG's cumulative size, ipfs add's \"Size\". Files come first, in the\n"
	"bytewise order of their paths; then each directory after what it holds, the\n"
	"directory named as PATH last. '-' reads standard input.\n",
	cid_options,
	"Exit status: 0 if every CID was computed, 64 on a usage error, 65 if two\n"
	"names collide, 66 if an input was missing or unreadable, 73 if the CAR cannot\n"
	"be created, 74 on a read or write error or a file changing while read.\n",
};

typedef struct config {
	const char *profile_name;  /* -p, as given */
	const hp_unixfs_profile *profile;
	const char *car;
	const char *dir;
	unsigned jobs;
	bool sha256;
	char **paths;
	int npaths;
} config;

static int status;  /* exit code of the first failure */


static void fail_with(int code)
{
	if (!status)
		status = code;
}

/* ---- progress on stderr ---- */

/* ---- records on stdout, written in batches (cli_records) ---- */

static cli_records rec;
static bool rec_quiet;  /* --car -: the CAR is stdout */

/* One record. sha is NULL for directories and without --sha256. */
static void record(const char *path, size_t n, bool dir, const hp_unixfs_node *node, const char *sha)
{
	if (rec_quiet || rec.failed)
		return;
	char cid[HP_CID_MAX_TEXT];
	hp_cid_text(&node->cid, cid);
	hp_buf *b = &rec.buf;
	if (hp_buf_adds(b, "{\"path\":", NULL) || hp_json_add_path(b, path, n) ||
	    hp_buf_addf(b, NULL, ",\"type\":\"%s\",\"cid\":\"%s\",\"size\":%llu,\"dag_size\":%llu",
			dir ? "directory" : "file", cid, (unsigned long long)node->size,
			(unsigned long long)node->dag_size) ||
	    (sha && hp_buf_addf(b, NULL, ",\"sha256\":\"%s\"", sha)) || hp_buf_add(b, "}\n", 2, NULL)) {
		fail_with(cli_error(EXIT_SOFTWARE, "out of memory"));
		rec.failed = true;
		return;
	}
	int code = cli_records_done(&rec);
	if (code)
		fail_with(code);
}

/* ---- per argument ---- */

typedef struct argstate {
	hp_unixfs_tree *tree;  /* NULL unless the argument is a directory */
	const char *root;      /* the directory's reported path */
	size_t root_len;
	size_t prefix;         /* bytes before a path relative to the directory */
	bool failed;
	bool done;
	hp_unixfs_node node;   /* the argument's root */
	bool have_node;
} argstate;

typedef struct run {
	config *c;
	hp_walk_list *l;
	argstate *args;
	uint32_t nargs;
	uint32_t next_done;    /* arguments before it are finished */
	hp_unixfs_sink *sink;
	hp_buf path;           /* scratch: a directory's reported path */
#if HAVE_CAR
	hp_car_writer *car;
#endif
} run;

static uint32_t walking_arg;  /* the argument hp_walk_add is working on */
static bool *walk_failed;    /* per argument: something below it could not be listed */
static run *the_run;

static void on_walk(void *ud, hp_walk_event ev, const hp_err *e)
{
	(void)ud;
	if (ev == HP_WALK_ERROR) {
		/* its directories would miss entries: no CID for them */
		fail_with(cli_fail(e));
		if (walk_failed)
			walk_failed[walking_arg] = true;
		return;
	}
	/* kubo would keep a symbolic link as a UnixFS symlink node: the
	 * directory's CID then differs from kubo's */
	cli_warn("%s", e->msg);
}

static hp_code dir_record(void *ud, const char *rel, size_t n, const hp_unixfs_node *node, hp_err *e)
{
	argstate *a = ud;
	hp_buf *p = &the_run->path;
	hp_buf_reset(p);
	if (n == 0) {
		if (hp_buf_add(p, a->root, a->root_len, e))
			return e->code;
		a->node = *node;
		a->have_node = true;
	} else {
		if (a->prefix && (hp_buf_add(p, a->root, a->root_len, e) || hp_buf_addch(p, '/', e)))
			return e->code;
		if (hp_buf_add(p, rel, n, e))
			return e->code;
	}
	record(p->data, p->len, true, node, NULL);
	return HP_OK;
}

#if HAVE_CAR
static hp_code car_block(void *ud, const hp_cid *cid, const uint8_t *data, size_t n, hp_err *e)
{
	run *r = ud;
	return hp_car_put(r->car, cid, data, n, e);
}
#endif

static hp_unixfs_block_fn *block_fn(const run *r)
{
#if HAVE_CAR
	if (r->car)
		return car_block;
#endif
	(void)r;
	return NULL;
}

/* Build and print the directories of argument k. */
static void finish_arg(run *r, uint32_t k)
{
	argstate *a = &r->args[k];
	if (a->done)
		return;
	a->done = true;
	if (!a->tree || a->failed)
		return;
	hp_err e = HP_ERR_INIT;
	if (hp_unixfs_tree_build(a->tree, block_fn(r), r, dir_record, a, NULL, &e)) {
		fail_with(cli_fail(&e));
		a->failed = true;
	}
	hp_unixfs_tree_free(a->tree);
	a->tree = NULL;
}

static int on_result(void *ud, const hp_walk_entry *en, size_t index, const hp_digest_result *r)
{
	run *rn = ud;
	(void)index;
	while (rn->next_done < en->arg)
		finish_arg(rn, rn->next_done++);
	argstate *a = &rn->args[en->arg];
	hp_unixfs_node node;
	if (r->err.code) {
		cli_progress_clear();
		fail_with(cli_fail(&r->err));
		a->failed = true;
		return 0;
	}
	if (!hp_unixfs_sink_result(rn->sink, &node)) {
		fail_with(cli_error(EXIT_SOFTWARE, "no CID for '%s'", en->path));
		a->failed = true;
		return 0;
	}
	char hex[2 * HP_DIGEST_MAX_SIZE + 1];
	if (rn->c->sha256)
		hp_digest_hex(r, HP_DIGEST_ID_SHA256, hex);
	record(en->path, en->path_len, false, &node, rn->c->sha256 ? hex : NULL);
	if (a->tree && !a->failed) {
		hp_err e = HP_ERR_INIT;
		if (hp_unixfs_tree_add_file(a->tree, en->path + a->prefix, en->path_len - a->prefix, &node, &e)) {
			fail_with(cli_fail(&e));
			a->failed = true;
		}
	} else if (!a->tree) {
		a->node = node;
		a->have_node = true;
	}
	return rec.failed;
}

/* Trees for the directory arguments, with every directory (the empty ones
 * too) in them. */
static hp_code setup_args(run *r, hp_err *e)
{
	const hp_walk_list *l = r->l;
	r->nargs = l->nargs;
	r->args = calloc(r->nargs ? r->nargs : 1, sizeof *r->args);
	if (!r->args)
		return hp_fail_nomem(e);
	for (size_t i = 0; i < l->n; i++) {
		const hp_walk_entry *en = &l->v[i];
		argstate *a = &r->args[en->arg];
		if (en->type != HP_WALK_DIR)
			continue;
		hp_code rc;
		if (en->depth == 0) {
			if ((rc = hp_unixfs_tree_new(r->c->profile, &a->tree, e)))
				return rc;
			a->root = en->path;
			a->root_len = en->path_len;
			a->prefix = strcmp(en->path, ".") == 0 ? 0 : en->path_len + 1;
			continue;
		}
		if (!a->tree || en->path_len <= a->prefix)
			return hp_fail(e, HP_E_INTERNAL, "directory '%s' listed before its argument", en->path);
		if ((rc = hp_unixfs_tree_add_dir(a->tree, en->path + a->prefix, en->path_len - a->prefix, e)))
			return rc;
	}
	return HP_OK;
}

static int on_option(void *ud, int id, const char *v)
{
	config *c = ud;
	int n, rc;
	switch (id) {
	case 'p':
		c->profile_name = v;
		break;
	case OPT_CAR:
		c->car = v;
		break;
	case 'C':
		c->dir = v;
		break;
	case 'j':
		if ((rc = cli_parse_jobs(v, &n)))
			return rc;
		c->jobs = (unsigned)n;
		break;
	case OPT_SHA256:
		c->sha256 = true;
		break;
	}
	return 0;
}

static int parse_args(int argc, char **argv, config *c)
{
	int first, rc = cli_parse(&cid_cmd, argc, argv, on_option, c, &first);
	if (rc)
		return rc;
	if (!(c->profile = hp_unixfs_profile_find(c->profile_name)))
		return cli_usage("unknown profile '%s' (unixfs-v1-2025, unixfs-v0-2015 or kubo-cid-v1)",
				 c->profile_name);
	if (c->car && !HAVE_CAR)
		return cli_usage("--car is not available yet in this build (no CAR writer)");
	if (c->car && !*c->car)
		return cli_usage("--car needs a file name");
	if (c->car)
		c->jobs = 1;  /* blocks in one deterministic order (docs/unixfs.md) */
	c->paths = argv + first;
	c->npaths = argc - first;
	if (c->npaths == 0)
		return cli_usage("no input files (use '-' for standard input)");
	int dashes = 0;
	for (int i = 0; i < c->npaths; i++)
		dashes += strcmp(c->paths[i], "-") == 0;
	if (dashes > 1)
		return cli_usage("standard input ('-') given more than once");
	if (dashes && c->car && strcmp(c->car, "-") == 0)
		return cli_usage("standard input cannot be read while the CAR goes to standard output");
	return 0;
}

#if HAVE_CAR
static hp_code car_open(run *r, hp_err *e)
{
	/* placeholders of the roots' shape: their final values come at the end */
	size_t n = r->nargs ? r->nargs : 1;
	hp_cid *roots = calloc(n, sizeof *roots);
	if (!roots)
		return hp_fail_nomem(e);
	static const uint8_t zero[32];
	for (size_t i = 0; i < n; i++)
		hp_cid_sha256(&roots[i], r->c->profile->cid_version, HP_MC_DAG_PB, zero);
	hp_car_writer_opts o = HP_CAR_WRITER_OPTS_INIT;
	o.roots_later = true;
	o.verify = false;  /* we made the blocks from the bytes just hashed */
	hp_code rc = hp_car_writer_open(&r->car, r->c->car, roots, n, &o, e);
	free(roots);
	return rc;
}

static hp_code car_close(run *r, hp_err *e)
{
	hp_cid *roots = calloc(r->nargs ? r->nargs : 1, sizeof *roots);
	if (!roots)
		return hp_fail_nomem(e);
	for (uint32_t i = 0; i < r->nargs; i++)
		roots[i] = r->args[i].node.cid;
	hp_code rc = hp_car_set_roots(r->car, roots, r->nargs, e);
	free(roots);
	if (rc) {
		hp_car_abort(r->car);
		r->car = NULL;
		return rc;
	}
	rc = hp_car_commit(r->car, e);
	r->car = NULL;
	return rc;
}
#endif

/* List every argument's files and directories (walk_failed: per argument,
 * whether something below it could not be listed). */
static void list_args(hp_walk_list *l, const config *c)
{
	hp_err e = HP_ERR_INIT;
	for (int i = 0; i < c->npaths; i++) {
		walking_arg = l->nargs;
		if (hp_walk_add(l, c->paths[i], &e) == HP_OK)
			continue;
		fail_with(cli_fail(&e));
		if (e.code == HP_E_NOMEM)
			break;
		hp_err_clear(&e);
	}
}

#if HAVE_CAR
/* Give the CAR its roots and rename it into place, only when every
 * argument has its CID; otherwise remove it. */
static void car_finish(run *r)
{
	hp_err e = HP_ERR_INIT;
	bool all = !status;
	for (uint32_t k = 0; all && k < r->nargs; k++)
		all = r->args[k].have_node && !r->args[k].failed;
	if (all && car_close(r, &e))
		fail_with(cli_fail(&e));
	if (r->car)
		hp_car_abort(r->car);
	r->car = NULL;
}
#endif

/* Read every file once, print the records, build the directories (and the
 * CAR). */
static void cid_all(run *r)
{
	const config *c = r->c;
	hp_err e = HP_ERR_INIT;
	hp_unixfs_sink_opts so = HP_UNIXFS_SINK_OPTS_INIT;
	hp_code src = HP_OK;
#if HAVE_CAR
	if (c->car) {
		rec_quiet = strcmp(c->car, "-") == 0;
		src = car_open(r, &e);
		so.blocks = car_block;
		so.ud = r;
	}
#endif
	if (!src)
		src = hp_unixfs_sink_new(c->profile, &so, &r->sink, &e);
	if (src) {
		fail_with(cli_fail(&e));
	} else {
		hp_digest_opts o = { 0 };
		o.algos = c->sha256 ? HP_DIGEST_SHA256 : 0;
		o.jobs = c->jobs;
		o.sinks = hp_unixfs_sink_digest(r->sink);
		o.nsinks = 1;
		if (cli.progress) {
			o.progress = cli_progress;
			o.progress_ms = cli_progress_ms();
		}
		if (hp_digest_list(r->l, &o, on_result, r, &e))
			fail_with(cli_fail(&e));
		cli_progress_clear();
		for (; r->next_done < r->nargs; r->next_done++)
			finish_arg(r, r->next_done);
	}
#if HAVE_CAR
	if (r->car)
		car_finish(r);
#endif
	hp_unixfs_sink_free(r->sink);
	r->sink = NULL;
}

int main(int argc, char **argv)
{
	config c = { .profile_name = HP_UNIXFS_PROFILE_DEFAULT };
	cli_init("hp-cid");
	cli_records_init(&rec);
	int rc = parse_args(argc, argv, &c);
	if (rc)
		return cli_finish(rc < 0 ? 0 : rc);

	hp_err e = HP_ERR_INIT;
	hp_walk_list l;
	run r;
	memset(&r, 0, sizeof r);
	r.c = &c;
	r.l = &l;
	hp_buf_init(&r.path, SIZE_MAX);
	hp_walk_opts wo = { c.dir, HP_WALK_ALLOW_STDIN | HP_WALK_DIRS, on_walk, NULL };
	if (hp_walk_init(&l, &wo, &e))
		return cli_finish(cli_fail(&e));
	walk_failed = calloc((size_t)c.npaths, sizeof *walk_failed);
	if (!walk_failed)
		return cli_finish(cli_error(EXIT_SOFTWARE, "out of memory"));
	list_args(&l, &c);
	if (setup_args(&r, &e)) {
		fail_with(cli_fail(&e));
	} else {
		for (uint32_t k = 0; k < r.nargs; k++)
			r.args[k].failed = walk_failed[k];
		the_run = &r;
		cid_all(&r);
	}
	int code = cli_records_flush(&rec);
	if (code)
		fail_with(code);
	cli_records_free(&rec);
	for (uint32_t k = 0; r.args && k < r.nargs; k++)
		hp_unixfs_tree_free(r.args[k].tree);
	free(r.args);
	free(walk_failed);
	hp_buf_release(&r.path);
	hp_walk_free(&l);
	return cli_finish(status);
}
