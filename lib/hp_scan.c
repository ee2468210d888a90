#include "hp_scan.h"

#include <magic.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hp_digest.h"
#include "hp_io.h"
#include "hp_json.h"
#include "hp_mime.h"
#include "hp_thread.h"
#include "hp_multiformats.h"
#include "hp_unixfs.h"
#include "banned.h"

/* libmagic looks at the start of a file; this much is enough for its tests. */
#define HEAD_BYTES (64u * 1024)
#define MIME_MAX 128
#define MAX_MAGIC 64   /* libmagic handles kept for the workers */

/* MIME types (docs/manifest.md, "mime_type"): the compiled-in extension
 * table (hp_mime) first; libmagic only for a name the table does not know,
 * on the worker that read the file (each call takes a handle of its own from
 * a pool: a magic_t is not for two threads at once). */
typedef struct magic_pool {
	pthread_mutex_t mu;
	magic_t free[MAX_MAGIC];
	size_t nfree;
	bool failed;           /* a handle could not be made: no more tries */
	char why[160];
} magic_pool;

typedef struct head {
	size_t n, cap;
	char mime[MIME_MAX];   /* libmagic's answer, "" for none */
	uint8_t b[];
} head;

typedef struct scan_run {
	hp_unixfs_sink *unixfs;    /* NULL without CIDs */
	hp_unixfs_tree *tree;
	hp_unixfs_node last;       /* the node of the last file (a single-file torrent's) */
	magic_pool *magic;         /* NULL without MIME types */
	hp_scan_files *files;
	hp_err *e;
	hp_code rc;
	char mime[MIME_MAX];       /* MIME type of the file just done */
	bool have_mime;
} scan_run;

static magic_t magic_take(magic_pool *mp, hp_err *e)
{
	magic_t m = NULL;
	pthread_mutex_lock(&mp->mu);
	if (mp->nfree)
		m = mp->free[--mp->nfree];
	bool failed = mp->failed;
	pthread_mutex_unlock(&mp->mu);
	if (m || failed)
		return m;
	m = magic_open(MAGIC_MIME_TYPE | MAGIC_ERROR);
	if (m && magic_load(m, NULL) == 0)
		return m;
	pthread_mutex_lock(&mp->mu);
	if (!mp->failed) {
		mp->failed = true;
		snprintf(mp->why, sizeof mp->why, "%s", m ? magic_error(m) : "out of memory");
	}
	pthread_mutex_unlock(&mp->mu);
	if (m)
		magic_close(m);
	hp_fail(e, HP_E_UNAVAILABLE, "cannot load libmagic's database: %s", mp->why);
	return NULL;
}

static void magic_give(magic_pool *mp, magic_t m)
{
	pthread_mutex_lock(&mp->mu);
	if (mp->nfree < MAX_MAGIC) {
		mp->free[mp->nfree++] = m;
		m = NULL;
	}
	pthread_mutex_unlock(&mp->mu);
	if (m)
		magic_close(m);
}

static void magic_pool_free(magic_pool *mp)
{
	if (!mp)
		return;
	for (size_t i = 0; i < mp->nfree; i++)
		magic_close(mp->free[i]);
	pthread_mutex_destroy(&mp->mu);
	free(mp);
}

/* An empty pool: the database is loaded when a name the table does not know
 * first needs it (most packages need no libmagic at all). */
static hp_code magic_pool_new(magic_pool **out, hp_err *e)
{
	magic_pool *mp = calloc(1, sizeof *mp);
	if (!mp)
		return hp_fail_nomem(e);
	pthread_mutex_init(&mp->mu, NULL);
	*out = mp;
	return HP_OK;
}

static hp_code head_begin(void *ctx, const hp_digest_file *f, void **state, hp_err *e)
{
	(void)ctx;
	if (hp_mime_by_name(f->path, f->path_len))
		return HP_OK;  /* the table knows it: nothing to keep */
	size_t cap = f->expect_size < HEAD_BYTES ? (size_t)f->expect_size : HEAD_BYTES;
	head *h = malloc(sizeof *h + cap);
	if (!h)
		return hp_fail_nomem(e);
	h->n = 0;
	h->cap = cap;
	h->mime[0] = '\0';
	*state = h;
	return HP_OK;
}

static hp_code head_update(void *ctx, void *state, const uint8_t *p, size_t n, uint64_t offset, hp_err *e)
{
	(void)ctx;
	(void)e;
	head *h = state;
	if (h && offset < h->cap) {
		size_t take = h->cap - (size_t)offset < n ? h->cap - (size_t)offset : n;
		memcpy(h->b + offset, p, take);
		if (offset + take > h->n)
			h->n = (size_t)offset + take;
	}
	return HP_OK;
}

/* On the worker: libmagic on the head of a file the table does not know. */
static hp_code head_end(void *ctx, void *state, uint64_t size, hp_err *e)
{
	scan_run *s = ctx;
	head *h = state;
	(void)size;
	if (!h)
		return HP_OK;
	magic_t m = magic_take(s->magic, e);
	if (!m)
		return e->code;
	const char *t = magic_buffer(m, h->b, h->n);
	if (t && strlen(t) < sizeof h->mime) {
		size_t i = 0;
		/* keep "type/subtype", drop any "; charset=..." */
		while (t[i] && t[i] != ';' && t[i] != ' ')
			i++;
		memcpy(h->mime, t, i);
		h->mime[i] = '\0';
	}
	magic_give(s->magic, m);
	return HP_OK;
}

/* On the caller's thread, in list order: just before the result callback. */
static void head_done(void *ctx, void *state, const hp_digest_file *f, const hp_digest_result *r)
{
	scan_run *s = ctx;
	head *h = state;
	s->have_mime = false;
	if (!r->err.code) {
		const char *t = h ? h->mime : hp_mime_by_name(f->path, f->path_len);
		size_t n = t ? strlen(t) : 0;
		if (n && n < sizeof s->mime) {
			memcpy(s->mime, t, n + 1);
			s->have_mime = true;
		}
	}
	free(h);
}

static int on_result(void *ud, const hp_walk_entry *en, size_t index, const hp_digest_result *r)
{
	scan_run *s = ud;
	(void)index;
	if (r->err.code) {
		if (!s->rc) {
			*s->e = r->err;
			s->rc = r->err.code;
		}
		return 1;
	}
	hp_scan_files *fs = s->files;
	hp_buf *pool = &fs->pool;
	hp_code rc = HP_OK;
	if (fs->n == fs->cap) {
		size_t cap = fs->cap ? 2 * fs->cap : 1024;
		hp_scan_file *v = realloc(fs->v, cap * sizeof *v);
		if (!v) {
			s->rc = hp_fail_nomem(s->e);
			return 1;
		}
		fs->v = v;
		fs->cap = cap;
	}
	hp_scan_file *f = &fs->v[fs->n];
	memset(f, 0, sizeof *f);
	f->size = r->size;
	memcpy(f->sha256, r->md[HP_DIGEST_ID_SHA256], 32);
	if (!pool->len)
		rc = hp_buf_addch(pool, '\0', s->e);
	f->path = pool->len;
	f->path_len = en->path_len;
	if (!rc && !(rc = hp_buf_add(pool, en->path, en->path_len, s->e)))
		rc = hp_buf_addch(pool, '\0', s->e);
	hp_unixfs_node node;
	if (!rc && s->unixfs && hp_unixfs_sink_result(s->unixfs, &node)) {
		char cid[HP_CID_MAX_TEXT];
		hp_cid_text(&node.cid, cid);
		f->cid = pool->len;
		if (!(rc = hp_buf_add(pool, cid, strlen(cid) + 1, s->e))) {
			s->last = node;
			rc = hp_unixfs_tree_add_file(s->tree, en->path, en->path_len, &node, s->e);
		}
	}
	if (!rc && s->have_mime) {
		f->mime = pool->len;
		rc = hp_buf_add(pool, s->mime, strlen(s->mime) + 1, s->e);
	}
	if (rc) {
		s->rc = rc;
		return 1;
	}
	fs->n++;
	return 0;
}

void hp_scan_files_release(hp_scan_files *f)
{
	free(f->v);
	hp_buf_release(&f->pool);
	*f = (hp_scan_files)HP_SCAN_FILES_INIT;
}

static hp_code torrent_finish(const hp_scan_opts *o, const hp_walk_list *l, hp_mkt_pieces *pieces,
			      const hp_unixfs_profile *profile, const hp_unixfs_node *root, const hp_unixfs_node *last,
			      hp_err *e)
{
	hp_mkt_result *r = o->torrent;
	const hp_walk_entry *first = NULL;
	for (size_t i = 0; i < l->n && !first; i++)
		if (l->v[i].type != HP_WALK_DIR)
			first = &l->v[i];
	const char *path0 = first->path, *name;
	bool single = hp_mkt_layout(o->name, &path0, l->nfiles, &name);
	const char *gateway = o->torrent_opts ? o->torrent_opts->ipfs_gateway : NULL;
	r->content_cid[0] = r->wrapper_cid[0] = '\0';
	free(r->ipfs_web_seed);
	r->ipfs_web_seed = NULL;
	if (profile) {
		/* the content the web seed serves: the file, or the package root
		 * (every file at its manifest path, empty directories too) */
		const hp_unixfs_node *content = single ? last : root;
		hp_unixfs_node wrapper;
		/* its block goes to the CAR only when it is used */
		hp_code rc = hp_unixfs_wrap(profile, name, strlen(name), content, gateway ? o->blocks : NULL,
					    o->blocks_ud, &wrapper, e);
		if (rc)
			return rc;
		hp_cid_text(&content->cid, r->content_cid);
		r->content_dag_size = content->dag_size;
		hp_cid_text(&wrapper.cid, r->wrapper_cid);
		if (gateway && !(r->ipfs_web_seed = hp_mkt_ipfs_web_seed(gateway, r->wrapper_cid)))
			return hp_fail_nomem(e);
	}
	r->canonical = true;
	return hp_mkt_pieces_finish(pieces, l, name, single, r->ipfs_web_seed, r, e);
}

/* After the read: the directory tree and the torrent (job 0), and the
 * caller's on_files (job 1), on two threads when there are two. */
typedef struct finish_jobs {
	atomic_uint next;
	const hp_scan_opts *o;
	hp_scan_files *files;
	scan_run *s;
	const hp_walk_list *l;
	hp_mkt_pieces *pieces;
	const hp_unixfs_profile *profile;
	hp_unixfs_node *root;
	char *root_cid;
	hp_code rc[2];
	hp_err err[2];
} finish_jobs;

static void *finish_main(void *arg)
{
	finish_jobs *fj = arg;
	for (;;) {
		unsigned k = atomic_fetch_add(&fj->next, 1);
		if (k == 0) {
			hp_code rc = HP_OK;
			hp_err *e = &fj->err[0];
			if (fj->s->tree) {
				rc = hp_unixfs_tree_build(fj->s->tree, fj->o->blocks, fj->o->blocks_ud, NULL, NULL, fj->root, e);
				if (!rc && fj->root_cid)
					hp_cid_text(&fj->root->cid, fj->root_cid);
				/* done with: its memory back while the torrent is made */
				hp_unixfs_tree_free(fj->s->tree);
				fj->s->tree = NULL;
			}
			if (!rc && fj->pieces)
				rc = torrent_finish(fj->o, fj->l, fj->pieces, fj->profile, fj->root, &fj->s->last, e);
			fj->rc[0] = rc;
		} else if (k == 1 && fj->o->on_files) {
			fj->rc[1] = fj->o->on_files(fj->o->on_files_ud, fj->files, &fj->err[1]);
		} else {
			return NULL;
		}
	}
}

hp_code hp_scan_paths(const char *const *paths, size_t n, const hp_scan_opts *o, hp_scan_files *files,
		      char *root_cid, hp_err *e)
{
	const hp_unixfs_profile *profile = NULL;
	if (o->profile && !(profile = hp_unixfs_profile_find(o->profile)))
		return hp_fail(e, HP_E_USAGE, "unknown UnixFS profile '%s' (unixfs-v0-2015, unixfs-v1-2025 or kubo-cid-v1)",
			       o->profile);
	hp_walk_opts wo = { o->dir, HP_WALK_RELATIVE | (profile ? HP_WALK_DIRS : 0u), o->report, o->ud };
	hp_walk_list l = HP_WALK_LIST_INIT;
	scan_run s = { NULL, NULL, { { 0 }, 0, 0 }, NULL, files, e, HP_OK, { 0 }, false };
	hp_mkt_pieces *pieces = NULL;
	hp_unixfs_node root = { { 0 }, 0, 0 };
	hp_code rc = hp_walk_init(&l, &wo, e);
	for (size_t i = 0; !rc && i < n; i++)
		rc = hp_walk_add(&l, paths[i], e);
	hp_unixfs_sink_opts uo = HP_UNIXFS_SINK_OPTS_INIT;
	uo.blocks = o->blocks;
	uo.ud = o->blocks_ud;
	if (!rc && profile && !(rc = hp_unixfs_sink_new(profile, &uo, &s.unixfs, e)))
		rc = hp_unixfs_tree_new(profile, &s.tree, e);
	for (size_t i = 0; !rc && i < l.n; i++) {
		const hp_walk_entry *en = &l.v[i];
		if (en->type == HP_WALK_DIR) {
			/* the arguments themselves have the empty path: the package root */
			if (en->path_len)
				rc = hp_unixfs_tree_add_dir(s.tree, en->path, en->path_len, e);
			continue;
		}
		if ((rc = hp_relpath_check(en->path, en->path_len, e)))
			hp_err_prefix(e, "cannot list this file in a manifest");
	}
	if (!rc && o->mime)
		rc = magic_pool_new(&s.magic, e);
	bool sized = true;  /* a torrent needs files of known size: no streams */
	for (size_t i = 0; i < l.n; i++)
		if (l.v[i].type == HP_WALK_STDIN || l.v[i].type == HP_WALK_STREAM)
			sized = false;
	if (!rc && o->torrent && sized && l.total_size > 0) {
		/* the torrent's order (v2's for a hybrid): the results, the tree and
		 * the manifest do not depend on the order of the list */
		hp_mkt_sort(HP_TORRENT_HYBRID, &l);
		hp_mkt_opts mo = { 0 };
		if (o->torrent_opts)
			mo = *o->torrent_opts;
		mo.flavour = HP_TORRENT_HYBRID;
		mo.piece_length = 0;
		mo.is_private = mo.attributes = false;
		mo.creation_date = 0;
		rc = hp_mkt_pieces_new(&mo, &l, &pieces, e);
	}
	if (!rc) {
		hp_digest_sink sinks[2 + HP_MKT_MAX_SINKS];
		size_t nsinks = 0;
		if (o->mime)
			sinks[nsinks++] = (hp_digest_sink){ "mime", &s, head_begin, head_update, head_end, head_done };
		if (s.unixfs)
			sinks[nsinks++] = *hp_unixfs_sink_digest(s.unixfs);
		if (pieces)
			nsinks += hp_mkt_pieces_sinks(pieces, sinks + nsinks);
		hp_digest_opts d = { 0 };
		d.algos = HP_DIGEST_SHA256;
		d.jobs = o->jobs;
		d.sinks = nsinks ? sinks : NULL;
		d.nsinks = nsinks;
		d.progress = o->progress;
		d.progress_ms = o->progress_ms;
		d.ud = o->ud;
		if (pieces)
			d.window = hp_mkt_pieces_window(pieces);
		rc = hp_digest_list(&l, &d, on_result, &s, e);
		if (!rc)
			rc = s.rc;
	}
	if (!rc) {
		/* the caller's use of the files beside the tree and the torrent */
		finish_jobs fj = { 0, o, files, &s, &l, pieces, profile, &root, root_cid, { HP_OK, HP_OK },
				   { HP_ERR_INIT, HP_ERR_INIT } };
		hp_run_threads(o->on_files ? 2 : 1, finish_main, &fj);
		for (int k = 0; k < 2 && !rc; k++)
			if ((rc = fj.rc[k]))
				*e = fj.err[k];
	}
	hp_mkt_pieces_free(pieces);
	magic_pool_free(s.magic);
	hp_unixfs_tree_free(s.tree);
	hp_unixfs_sink_free(s.unixfs);
	hp_walk_free(&l);
	return rc;
}
