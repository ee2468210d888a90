#include "hp_unixfs.h"

#include <openssl/evp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hp_dagpb.h"
#include "hp_io.h"

#include "banned.h"

/* ---- profiles ---- */

static const hp_unixfs_profile profiles[] = {
	{ "unixfs-v0-2015", 0, false, 262144, 174, 262144, 256, HP_UNIXFS_EST_LINKS },
	{ "unixfs-v1-2025", 1, true, 1048576, 1024, 262144, 256, HP_UNIXFS_EST_BLOCK },
	{ "kubo-cid-v1", 1, true, 262144, 174, 262144, 256, HP_UNIXFS_EST_LINKS },
};

const hp_unixfs_profile *hp_unixfs_profile_find(const char *name)
{
	for (size_t i = 0; i < sizeof profiles / sizeof *profiles; i++)
		if (name && strcmp(profiles[i].name, name) == 0)
			return &profiles[i];
	return NULL;
}

const hp_unixfs_profile *hp_unixfs_profile_at(size_t i)
{
	return i < sizeof profiles / sizeof *profiles ? &profiles[i] : NULL;
}

/* ---- SHA-256 ----
 *
 * Every hash starts as a copy of one initialised context: EVP_DigestInit_ex
 * looks for an ENGINE under a global lock in OpenSSL 3.0 (docs/digest.md),
 * EVP_MD_CTX_copy_ex only reads the template. */

static EVP_MD_CTX *sha_tmpl;
static pthread_once_t sha_once = PTHREAD_ONCE_INIT;

static void sha_init(void)
{
	EVP_MD *md = EVP_MD_fetch(NULL, "SHA2-256", NULL);
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	if (md && c && EVP_DigestInit_ex(c, md, NULL))
		sha_tmpl = c;
	else
		EVP_MD_CTX_free(c);
	EVP_MD_free(md);  /* the context keeps its own reference */
}

static bool sha256(EVP_MD_CTX *ctx, const void *p, size_t n, uint8_t md[32])
{
	unsigned len = 0;
	pthread_once(&sha_once, sha_init);
	return sha_tmpl && EVP_MD_CTX_copy_ex(ctx, sha_tmpl) && EVP_DigestUpdate(ctx, p, n) &&
	       EVP_DigestFinal_ex(ctx, md, &len) && len == 32;
}

static hp_code sha_fail(hp_err *e)
{
	return hp_fail(e, HP_E_INTERNAL, "OpenSSL cannot compute SHA-256");
}

/* ---- the balanced file DAG ----
 *
 * Chunks of chunk_size bytes become leaves; links to them gather at level
 * 0. A level that holds max_links links and gets one more is first turned
 * into a file node whose link goes one level up (the same rule there). At
 * the end every level below the top is closed the same way; the top level
 * is the root, unless the file was one chunk (the leaf is the root). This
 * is boxo's balanced layout: every node but the last at each level is
 * full and all leaves are at the same depth. */

#define HEADROOM 16           /* before a chunk: room for the dag-pb leaf's prefix */
#define TAILROOM 16           /* after it: the leaf's filesize field */
#define QMAX 4                /* chunks of one file in flight on helpers */
#define ASYNC_MIN (64u << 10) /* smaller chunks are hashed on the reading thread */
#define MAX_LEVELS 16
#define MAX_FREE_BUFS 32
#define LCID_MAX 36           /* CID bytes of a sha2-256 CIDv1 */

typedef struct lref {
	uint8_t cid[LCID_MAX];
	uint8_t cid_len;
	uint64_t tsize;  /* cumulative size of the child */
	uint64_t fsize;  /* file bytes beneath it */
} lref;

typedef struct job {
	uint8_t *mem;          /* HEADROOM + chunk + TAILROOM */
	size_t len;            /* chunk bytes at mem + HEADROOM */
	size_t off;            /* the block is mem[off .. off + block_len) */
	size_t block_len;
	lref link;
	bool ok;
	atomic_bool done;
	struct job *next;      /* in the helpers' queue */
} job;

/* Chunk buffers and helper threads, shared by the files of a sink. */
typedef struct pool {
	const hp_unixfs_profile *p;
	size_t bufsize;
	pthread_mutex_t mu;
	pthread_cond_t cv_work;  /* helpers wait for jobs */
	pthread_cond_t cv_done;  /* files wait for their jobs */
	job *qhead, *qtail;
	bool stop;
	unsigned nthreads;
	pthread_t *tids;
	uint8_t **freev;
	size_t nfree;
} pool;

struct hp_unixfs_file {
	int kind;                /* FILE_FULL (a sink's state may also be a quick_leaf) */
	const hp_unixfs_profile *p;
	hp_unixfs_block_fn *blocks;
	void *ud;
	pool *pool;
	bool own_pool;
	EVP_MD_CTX *ctx;
	job ring[QMAX];          /* chunks in order: ring[rhead], ... */
	size_t rhead, rcount;
	uint8_t *cur;            /* the chunk being filled */
	size_t fill;
	lref *lv[MAX_LEVELS];
	size_t cnt[MAX_LEVELS];
	size_t top;
	uint64_t nchunks, bytes;
	hp_code failed;
	hp_err err;
	bool finished;
	hp_unixfs_node node;
	hp_buf scratch;
};

static size_t put_varint(uint8_t *o, uint64_t v)
{
	return hp_varint_put(v, o);
}

/* The CID bytes of a block with digest md: dag-pb in the profile's
 * version, raw always v1. */
static uint8_t cid_bytes_of(const hp_unixfs_profile *p, bool raw, const uint8_t md[32], uint8_t out[LCID_MAX])
{
	uint8_t n = 0;
	if (raw || p->cid_version == 1) {
		out[n++] = 0x01;
		out[n++] = raw ? HP_MC_RAW : HP_MC_DAG_PB;
	}
	out[n++] = HP_MC_SHA2_256;
	out[n++] = 32;
	memcpy(out + n, md, 32);
	return (uint8_t)(n + 32);
}

static void lref_cid(const lref *l, hp_cid *c)
{
	size_t used;
	hp_cid_parse_bytes(l->cid, l->cid_len, c, &used, NULL);
}

/* Make the leaf of job j in place (helpers and the reading thread). */
static bool leaf_make(const hp_unixfs_profile *p, EVP_MD_CTX *ctx, job *j)
{
	uint8_t *d = j->mem + HEADROOM;
	size_t n = j->len;
	uint8_t md[32];
	if (p->raw_leaves) {
		j->off = HEADROOM;
		j->block_len = n;
	} else {
		/* PBNode{Data: Data{Type=File, Data=chunk, filesize=n}}:
		 * 0a L 08 02 [12 n chunk] 18 n, no Data field when empty */
		size_t vn = hp_varint_len(n);
		size_t inner = 2 + (n ? 1 + vn + n : 0) + 1 + vn;
		uint8_t pre[HEADROOM];
		size_t k = 0;
		pre[k++] = 0x0a;
		k += put_varint(pre + k, inner);
		pre[k++] = 0x08;
		pre[k++] = 0x02;
		if (n) {
			pre[k++] = 0x12;
			k += put_varint(pre + k, n);
		}
		memcpy(d - k, pre, k);
		uint8_t *t = d + n;
		*t++ = 0x18;
		put_varint(t, n);
		j->off = HEADROOM - k;
		j->block_len = k + n + 1 + vn;
	}
	j->ok = sha256(ctx, j->mem + j->off, j->block_len, md);
	j->link.cid_len = cid_bytes_of(p, p->raw_leaves, md, j->link.cid);
	j->link.tsize = j->block_len;
	j->link.fsize = n;
	return j->ok;
}

/* ---- the pool ---- */

static void *helper_main(void *arg)
{
	pool *pl = arg;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	pthread_mutex_lock(&pl->mu);
	for (;;) {
		while (!pl->stop && !pl->qhead)
			pthread_cond_wait(&pl->cv_work, &pl->mu);
		if (!pl->qhead)
			break;
		job *j = pl->qhead;
		pl->qhead = j->next;
		if (!pl->qhead)
			pl->qtail = NULL;
		pthread_mutex_unlock(&pl->mu);
		if (ctx)
			leaf_make(pl->p, ctx, j);
		else
			j->ok = false;
		pthread_mutex_lock(&pl->mu);
		atomic_store(&j->done, true);
		pthread_cond_broadcast(&pl->cv_done);
	}
	pthread_mutex_unlock(&pl->mu);
	EVP_MD_CTX_free(ctx);
	return NULL;
}

static void pool_free(pool *pl)
{
	if (!pl)
		return;
	pthread_mutex_lock(&pl->mu);
	pl->stop = true;
	pthread_cond_broadcast(&pl->cv_work);
	pthread_mutex_unlock(&pl->mu);
	for (unsigned i = 0; i < pl->nthreads; i++)
		pthread_join(pl->tids[i], NULL);
	for (size_t i = 0; i < pl->nfree; i++)
		free(pl->freev[i]);
	free(pl->freev);
	free(pl->tids);
	pthread_cond_destroy(&pl->cv_work);
	pthread_cond_destroy(&pl->cv_done);
	pthread_mutex_destroy(&pl->mu);
	free(pl);
}

static hp_code pool_new(const hp_unixfs_profile *p, unsigned nthreads, pool **out, hp_err *e)
{
	pool *pl = calloc(1, sizeof *pl);
	if (!pl)
		return hp_fail_nomem(e);
	pl->p = p;
	pl->bufsize = HEADROOM + (size_t)p->chunk_size + TAILROOM;
	pthread_mutex_init(&pl->mu, NULL);
	pthread_cond_init(&pl->cv_work, NULL);
	pthread_cond_init(&pl->cv_done, NULL);
	pl->freev = calloc(MAX_FREE_BUFS, sizeof *pl->freev);
	pl->tids = nthreads ? calloc(nthreads, sizeof *pl->tids) : NULL;
	if (!pl->freev || (nthreads && !pl->tids)) {
		pool_free(pl);
		return hp_fail_nomem(e);
	}
	for (unsigned i = 0; i < nthreads; i++) {
		int err = pthread_create(&pl->tids[i], NULL, helper_main, pl);
		if (err)
			break;  /* fewer helpers; none is fine too */
		pl->nthreads++;
	}
	*out = pl;
	return HP_OK;
}

static uint8_t *pool_get(pool *pl)
{
	uint8_t *b = NULL;
	pthread_mutex_lock(&pl->mu);
	if (pl->nfree)
		b = pl->freev[--pl->nfree];
	pthread_mutex_unlock(&pl->mu);
	return b ? b : malloc(pl->bufsize);
}

static void pool_put(pool *pl, uint8_t *b)
{
	if (!b)
		return;
	pthread_mutex_lock(&pl->mu);
	if (pl->nfree < MAX_FREE_BUFS) {
		pl->freev[pl->nfree++] = b;
		b = NULL;
	}
	pthread_mutex_unlock(&pl->mu);
	free(b);
}

static void pool_submit(pool *pl, job *j)
{
	pthread_mutex_lock(&pl->mu);
	j->next = NULL;
	if (pl->qtail)
		pl->qtail->next = j;
	else
		pl->qhead = j;
	pl->qtail = j;
	pthread_cond_signal(&pl->cv_work);
	pthread_mutex_unlock(&pl->mu);
}

static void pool_wait(pool *pl, job *j)
{
	if (atomic_load(&j->done))
		return;
	pthread_mutex_lock(&pl->mu);
	while (!atomic_load(&j->done))
		pthread_cond_wait(&pl->cv_done, &pl->mu);
	pthread_mutex_unlock(&pl->mu);
}

/* ---- building ---- */

static hp_code file_fail(hp_unixfs_file *f, hp_code rc, const hp_err *sub)
{
	if (!f->failed) {
		f->failed = rc;
		if (sub && sub->code)
			f->err = *sub;
		else
			hp_fail(&f->err, rc, "%s", hp_strerror(rc));
	}
	return f->failed;
}

static hp_code emit(hp_unixfs_file *f, const uint8_t *cidb, size_t cidlen, const uint8_t *data, size_t n)
{
	if (!f->blocks)
		return HP_OK;
	hp_cid c;
	size_t used;
	hp_err sub = HP_ERR_INIT;
	hp_cid_parse_bytes(cidb, cidlen, &c, &used, NULL);
	hp_code rc = f->blocks(f->ud, &c, data, n, &sub);
	if (rc)
		return file_fail(f, rc, &sub);
	return HP_OK;
}

static hp_code push(hp_unixfs_file *f, size_t h, const lref *l);

/* Turn level h into a file node whose link goes to level h + 1. */
static hp_code make_parent(hp_unixfs_file *f, size_t h, lref *out)
{
	const lref *v = f->lv[h];
	size_t n = f->cnt[h];
	uint64_t fsize = 0, tsum = 0;
	size_t datalen = 2 + 0, linkbytes = 0;
	for (size_t i = 0; i < n; i++) {
		fsize += v[i].fsize;
		tsum += v[i].tsize;
		datalen += 1 + hp_varint_len(v[i].fsize);
		size_t body = 2 + v[i].cid_len + 2 + 1 + hp_varint_len(v[i].tsize);
		linkbytes += 1 + hp_varint_len(body) + body;
	}
	datalen += 1 + hp_varint_len(fsize);
	size_t total = linkbytes + 1 + hp_varint_len(datalen) + datalen;
	hp_buf *b = &f->scratch;
	hp_buf_reset(b);
	hp_err sub = HP_ERR_INIT;
	if (hp_buf_grow(b, total, &sub))
		return file_fail(f, sub.code, &sub);
	uint8_t *o = (uint8_t *)b->data;
	for (size_t i = 0; i < n; i++) {
		size_t body = 2 + v[i].cid_len + 2 + 1 + hp_varint_len(v[i].tsize);
		*o++ = 0x12;
		o += put_varint(o, body);
		*o++ = 0x0a;
		*o++ = v[i].cid_len;
		memcpy(o, v[i].cid, v[i].cid_len);
		o += v[i].cid_len;
		*o++ = 0x12;  /* Name, always written, empty */
		*o++ = 0x00;
		*o++ = 0x18;
		o += put_varint(o, v[i].tsize);
	}
	*o++ = 0x0a;
	o += put_varint(o, datalen);
	*o++ = 0x08;
	*o++ = 0x02;
	*o++ = 0x18;
	o += put_varint(o, fsize);
	for (size_t i = 0; i < n; i++) {
		*o++ = 0x20;
		o += put_varint(o, v[i].fsize);
	}
	if ((size_t)(o - (uint8_t *)b->data) != total)
		return file_fail(f, hp_fail(&sub, HP_E_INTERNAL, "file node: %zu bytes instead of %zu",
					     (size_t)(o - (uint8_t *)b->data), total), &sub);
	uint8_t md[32];
	if (!sha256(f->ctx, b->data, total, md))
		return file_fail(f, sha_fail(&sub), &sub);
	out->cid_len = cid_bytes_of(f->p, false, md, out->cid);
	out->tsize = total + tsum;
	out->fsize = fsize;
	return emit(f, out->cid, out->cid_len, (const uint8_t *)b->data, total);
}

static hp_code flush_level(hp_unixfs_file *f, size_t h)
{
	lref parent;
	hp_code rc = make_parent(f, h, &parent);
	if (rc)
		return rc;
	f->cnt[h] = 0;
	return push(f, h + 1, &parent);
}

static hp_code push(hp_unixfs_file *f, size_t h, const lref *l)
{
	hp_err sub = HP_ERR_INIT;
	if (h >= MAX_LEVELS)
		return file_fail(f, hp_fail(&sub, HP_E_DATA, "file too large for %d levels", MAX_LEVELS), &sub);
	if (!f->lv[h] && !(f->lv[h] = malloc(f->p->max_links * sizeof *f->lv[h])))
		return file_fail(f, hp_fail_nomem(&sub), &sub);
	if (f->cnt[h] == f->p->max_links) {
		hp_code rc = flush_level(f, h);
		if (rc)
			return rc;
	}
	f->lv[h][f->cnt[h]++] = *l;
	if (h > f->top)
		f->top = h;
	return HP_OK;
}

/* Hand the finished leaves at the head of the ring to the tree, in order;
 * wait for the head when wait is set. */
static hp_code collect(hp_unixfs_file *f, bool wait_all, bool wait_one)
{
	while (f->rcount) {
		job *j = &f->ring[f->rhead];
		if (!atomic_load(&j->done)) {
			if (!wait_all && !wait_one)
				break;
			pool_wait(f->pool, j);
		}
		wait_one = false;
		hp_code rc = f->failed;
		hp_err sub = HP_ERR_INIT;
		if (!rc && !j->ok)
			rc = file_fail(f, sha_fail(&sub), &sub);
		if (!rc)
			rc = emit(f, j->link.cid, j->link.cid_len, j->mem + j->off, j->block_len);
		if (!rc)
			rc = push(f, 0, &j->link);
		pool_put(f->pool, j->mem);
		j->mem = NULL;
		f->rhead = (f->rhead + 1) % QMAX;
		f->rcount--;
		if (rc && !wait_all)
			return rc;
	}
	return f->failed;
}

/* The chunk in f->cur (f->fill bytes) is complete. */
static hp_code submit_chunk(hp_unixfs_file *f)
{
	hp_code rc;
	if (f->rcount == QMAX && (rc = collect(f, false, true)))
		return rc;
	job *j = &f->ring[(f->rhead + f->rcount) % QMAX];
	j->mem = f->cur;
	j->len = f->fill;
	j->ok = false;
	atomic_store(&j->done, false);
	f->rcount++;
	f->cur = NULL;
	f->fill = 0;
	f->nchunks++;
	if (f->pool->nthreads && j->len >= ASYNC_MIN) {
		pool_submit(f->pool, j);
	} else {
		leaf_make(f->p, f->ctx, j);
		atomic_store(&j->done, true);
	}
	return collect(f, false, false);
}

static hp_code file_new(const hp_unixfs_profile *p, hp_unixfs_block_fn *blocks, void *ud, pool *shared,
			hp_unixfs_file **out, hp_err *e)
{
	hp_unixfs_file *f = calloc(1, sizeof *f);
	if (!f)
		return hp_fail_nomem(e);
	f->p = p;
	f->blocks = blocks;
	f->ud = ud;
	hp_buf_init(&f->scratch, SIZE_MAX);
	for (size_t i = 0; i < QMAX; i++)
		atomic_init(&f->ring[i].done, true);
	hp_code rc = HP_OK;
	if (shared) {
		f->pool = shared;
	} else {
		rc = pool_new(p, 0, &f->pool, e);
		f->own_pool = true;
	}
	if (!rc && !(f->ctx = EVP_MD_CTX_new()))
		rc = hp_fail_nomem(e);
	if (rc) {
		hp_unixfs_file_free(f);
		return rc;
	}
	*out = f;
	return HP_OK;
}

hp_code hp_unixfs_file_new(const hp_unixfs_profile *p, hp_unixfs_block_fn *blocks, void *ud,
			   hp_unixfs_file **f, hp_err *e)
{
	if (!p)
		return hp_fail(e, HP_E_USAGE, "no UnixFS profile");
	return file_new(p, blocks, ud, NULL, f, e);
}

hp_code hp_unixfs_file_update(hp_unixfs_file *f, const void *data, size_t n, hp_err *e)
{
	const uint8_t *p = data;
	if (f->failed || f->finished) {
		if (!f->failed)
			file_fail(f, HP_E_USAGE, NULL);
		if (e)
			*e = f->err;
		return f->failed;
	}
	while (n) {
		if (!f->cur) {
			if (!(f->cur = pool_get(f->pool))) {
				hp_err sub = HP_ERR_INIT;
				file_fail(f, hp_fail_nomem(&sub), &sub);
				break;
			}
			f->fill = 0;
		}
		size_t take = f->p->chunk_size - f->fill;
		if (take > n)
			take = n;
		memcpy(f->cur + HEADROOM + f->fill, p, take);
		f->fill += take;
		f->bytes += take;
		p += take;
		n -= take;
		if (f->fill == f->p->chunk_size && submit_chunk(f))
			break;
	}
	if (f->failed && e)
		*e = f->err;
	return f->failed;
}

hp_code hp_unixfs_file_finish(hp_unixfs_file *f, hp_unixfs_node *out, hp_err *e)
{
	hp_code rc = f->failed;
	if (!rc && f->finished)
		rc = file_fail(f, HP_E_USAGE, NULL);
	/* the last, short chunk; an empty file is one empty chunk */
	if (!rc && (f->fill || f->nchunks == 0)) {
		if (!f->cur && !(f->cur = pool_get(f->pool))) {
			hp_err sub = HP_ERR_INIT;
			rc = file_fail(f, hp_fail_nomem(&sub), &sub);
		}
		if (!rc)
			rc = submit_chunk(f);
	}
	hp_code crc = collect(f, true, false);
	if (!rc)
		rc = crc;
	for (size_t h = 0; !rc && h < f->top; h++)
		if (f->cnt[h])
			rc = flush_level(f, h);
	if (!rc) {
		lref root;
		if (f->top == 0 && f->cnt[0] == 1)
			root = f->lv[0][0];
		else
			rc = make_parent(f, f->top, &root);
		if (!rc) {
			lref_cid(&root, &f->node.cid);
			f->node.dag_size = root.tsize;
			f->node.size = f->bytes;
			f->finished = true;
		}
	}
	/* keep only the result */
	pool_put(f->pool, f->cur);
	f->cur = NULL;
	for (size_t h = 0; h < MAX_LEVELS; h++) {
		free(f->lv[h]);
		f->lv[h] = NULL;
	}
	hp_buf_release(&f->scratch);
	if (rc) {
		if (e)
			*e = f->err;
		return rc;
	}
	*out = f->node;
	return HP_OK;
}

void hp_unixfs_file_free(hp_unixfs_file *f)
{
	if (!f)
		return;
	/* helpers may still be writing into the ring */
	for (size_t k = 0; k < f->rcount; k++) {
		job *j = &f->ring[(f->rhead + k) % QMAX];
		pool_wait(f->pool, j);
		pool_put(f->pool, j->mem);
	}
	if (f->pool)
		pool_put(f->pool, f->cur);
	for (size_t h = 0; h < MAX_LEVELS; h++)
		free(f->lv[h]);
	hp_buf_release(&f->scratch);
	EVP_MD_CTX_free(f->ctx);
	if (f->own_pool)
		pool_free(f->pool);
	free(f);
}

hp_code hp_unixfs_file_mem(const hp_unixfs_profile *p, const void *data, size_t n,
			   hp_unixfs_block_fn *blocks, void *ud, hp_unixfs_node *out, hp_err *e)
{
	hp_unixfs_file *f;
	hp_code rc = hp_unixfs_file_new(p, blocks, ud, &f, e);
	if (rc)
		return rc;
	rc = hp_unixfs_file_update(f, data, n, e);
	if (!rc)
		rc = hp_unixfs_file_finish(f, out, e);
	hp_unixfs_file_free(f);
	return rc;
}

/* ---- the sink ---- */

struct hp_unixfs_sink {
	const hp_unixfs_profile *p;
	hp_unixfs_sink_opts o;
	pool *pool;
	hp_digest_sink sink;
	bool last_ok;
	hp_unixfs_node last;
	hp_digest_states quick;   /* quick_leaf blocks */
};

/* A file of one raw leaf whose SHA-256 the pipeline computes anyway: its
 * CID is made from that digest, without a copy of its bytes or a second
 * hash (100,000 small files: about a third of the CPU time of hp-cid). */
enum { FILE_FULL, FILE_QUICK };

typedef struct quick_leaf {
	int kind;                   /* FILE_QUICK */
	const hp_digest_file *df;
	bool finished;
	hp_unixfs_node node;
} quick_leaf;

static bool quick_ok(const hp_unixfs_sink *s, const hp_digest_file *df)
{
	return s->p->raw_leaves && !s->o.blocks && df->sha256_at_end && df->expect_size != HP_DIGEST_UNKNOWN &&
	       df->expect_size <= s->p->chunk_size;
}

static hp_code sink_begin(void *ctx, const hp_digest_file *df, void **state, hp_err *e)
{
	hp_unixfs_sink *s = ctx;
	if (quick_ok(s, df)) {
		quick_leaf *q = hp_digest_states_get(&s->quick);
		if (!q)
			return hp_fail_nomem(e);
		q->kind = FILE_QUICK;
		q->df = df;
		*state = q;
		return HP_OK;
	}
	hp_unixfs_file *f;
	hp_code rc = file_new(s->p, s->o.blocks, s->o.ud, s->pool, &f, e);
	if (!rc)
		*state = f;
	return rc;
}

static hp_code sink_update(void *ctx, void *state, const uint8_t *p, size_t n, uint64_t offset, hp_err *e)
{
	(void)ctx;
	(void)offset;
	if (*(const int *)state == FILE_QUICK)
		return HP_OK;
	return hp_unixfs_file_update(state, p, n, e);
}

static hp_code sink_end(void *ctx, void *state, uint64_t size, hp_err *e)
{
	hp_unixfs_sink *s = ctx;
	if (*(const int *)state == FILE_QUICK) {
		quick_leaf *q = state;
		if (!q->df->sha256 || size > s->p->chunk_size)
			return hp_fail(e, HP_E_INTERNAL, "a one-leaf file without its SHA-256");
		uint8_t cb[LCID_MAX];
		size_t used, n = cid_bytes_of(s->p, true, q->df->sha256, cb);
		if (hp_cid_parse_bytes(cb, n, &q->node.cid, &used, e))
			return e->code;
		q->node.size = q->node.dag_size = size;
		q->finished = true;
		return HP_OK;
	}
	hp_unixfs_node node;
	return hp_unixfs_file_finish(state, &node, e);
}

static void sink_done(void *ctx, void *state, const hp_digest_file *df, const hp_digest_result *r)
{
	hp_unixfs_sink *s = ctx;
	(void)df;
	if (state && *(const int *)state == FILE_QUICK) {
		quick_leaf *q = state;
		s->last_ok = q->finished && !r->err.code;
		s->last = q->node;
		hp_digest_states_put(&s->quick, q);
	} else {
		hp_unixfs_file *f = state;
		s->last_ok = f && f->finished && !r->err.code;
		if (s->last_ok)
			s->last = f->node;
		hp_unixfs_file_free(f);
	}
	if (!s->last_ok)
		memset(&s->last, 0, sizeof s->last);
}

hp_code hp_unixfs_sink_new(const hp_unixfs_profile *p, const hp_unixfs_sink_opts *o, hp_unixfs_sink **out,
			   hp_err *e)
{
	if (!p)
		return hp_fail(e, HP_E_USAGE, "no UnixFS profile");
	hp_unixfs_sink *s = calloc(1, sizeof *s);
	if (!s)
		return hp_fail_nomem(e);
	hp_unixfs_sink_opts def = HP_UNIXFS_SINK_OPTS_INIT;
	s->p = p;
	s->o = o ? *o : def;
	unsigned helpers = 0;
	if (s->o.helpers > 0) {
		helpers = s->o.helpers > 64 ? 64 : (unsigned)s->o.helpers;
	} else if (s->o.helpers == 0) {
		unsigned cpus = hp_digest_cpus();
		helpers = cpus;
		if (helpers > 8)
			helpers = 8;
	}
	hp_code rc = pool_new(p, helpers, &s->pool, e);
	if (rc) {
		free(s);
		return rc;
	}
	s->sink = (hp_digest_sink){ "unixfs", s, sink_begin, sink_update, sink_end, sink_done };
	hp_digest_states_init(&s->quick, sizeof(quick_leaf));
	*out = s;
	return HP_OK;
}

const hp_digest_sink *hp_unixfs_sink_digest(hp_unixfs_sink *s)
{
	return &s->sink;
}

bool hp_unixfs_sink_result(const hp_unixfs_sink *s, hp_unixfs_node *out)
{
	if (s->last_ok)
		*out = s->last;
	return s->last_ok;
}

void hp_unixfs_sink_free(hp_unixfs_sink *s)
{
	if (!s)
		return;
	pool_free(s->pool);
	hp_digest_states_destroy(&s->quick);
	free(s);
}

/* ---- the UnixFS Data message ---- */

static size_t field_varint_len(uint64_t v)
{
	return 1 + hp_varint_len(v);
}

hp_code hp_unixfs_data_encode(const hp_unixfs_data *d, hp_buf *out, hp_err *e)
{
	size_t mt = 0;
	if (d->has_mtime)
		mt = field_varint_len((uint64_t)d->mtime_seconds) + (d->has_mtime_nanos ? 5 : 0);
	size_t len = field_varint_len((uint64_t)d->type);
	if (d->has_data)
		len += hp_pb_bytes_field_len(d->data_len);
	if (d->has_filesize)
		len += field_varint_len(d->filesize);
	for (size_t i = 0; i < d->nblocksizes; i++)
		len += field_varint_len(d->blocksizes[i]);
	if (d->has_hash_type)
		len += field_varint_len(d->hash_type);
	if (d->has_fanout)
		len += field_varint_len(d->fanout);
	if (d->has_mode)
		len += field_varint_len(d->mode);
	if (d->has_mtime)
		len += hp_pb_bytes_field_len(mt);
	hp_code rc = hp_buf_grow(out, len, e);
	if (rc)
		return rc;
	uint8_t *o = (uint8_t *)out->data + out->len, *start = o;
	*o++ = 0x08;
	o += put_varint(o, (uint64_t)d->type);
	if (d->has_data) {
		*o++ = 0x12;
		o += put_varint(o, d->data_len);
		if (d->data_len)
			memcpy(o, d->data, d->data_len);
		o += d->data_len;
	}
	if (d->has_filesize) {
		*o++ = 0x18;
		o += put_varint(o, d->filesize);
	}
	for (size_t i = 0; i < d->nblocksizes; i++) {
		*o++ = 0x20;
		o += put_varint(o, d->blocksizes[i]);
	}
	if (d->has_hash_type) {
		*o++ = 0x28;
		o += put_varint(o, d->hash_type);
	}
	if (d->has_fanout) {
		*o++ = 0x30;
		o += put_varint(o, d->fanout);
	}
	if (d->has_mode) {
		*o++ = 0x38;
		o += put_varint(o, d->mode);
	}
	if (d->has_mtime) {
		*o++ = 0x42;
		o += put_varint(o, mt);
		*o++ = 0x08;
		o += put_varint(o, (uint64_t)d->mtime_seconds);
		if (d->has_mtime_nanos) {
			*o++ = 0x15;
			for (int i = 0; i < 4; i++)
				*o++ = (uint8_t)(d->mtime_nanos >> (8 * i));
		}
	}
	if ((size_t)(o - start) != len)
		return hp_fail(e, HP_E_INTERNAL, "UnixFS Data: %zu bytes instead of %zu", (size_t)(o - start), len);
	out->len += len;
	out->data[out->len] = '\0';
	return HP_OK;
}

typedef struct urd {
	const uint8_t *base, *p, *end;
	hp_err *e;
} urd;

static hp_code ubad(urd *r, const uint8_t *at, const char *what)
{
	return hp_fail(r->e, HP_E_DATA, "UnixFS Data: %s at offset %zu", what, (size_t)(at - r->base));
}

static hp_code uvarint(urd *r, uint64_t *v, const char *what)
{
	size_t k = hp_pb_varint_get(r->p, (size_t)(r->end - r->p), v);
	if (!k)
		return ubad(r, r->p, what);
	r->p += k;
	return HP_OK;
}

static hp_code ubytes(urd *r, const uint8_t **p, size_t *n, const char *what)
{
	uint64_t len;
	const uint8_t *at = r->p;
	hp_code rc = uvarint(r, &len, what);
	if (rc)
		return rc;
	if (len > (uint64_t)(r->end - r->p))
		return ubad(r, at, what);
	*p = r->p;
	*n = (size_t)len;
	r->p += len;
	return HP_OK;
}

static hp_code add_blocksize(hp_unixfs_data *d, size_t *cap, uint64_t v, hp_err *e)
{
	if (d->nblocksizes == *cap) {
		size_t ncap = *cap ? *cap * 2 : 16;
		uint64_t *nv = realloc((void *)d->blocksizes, ncap * sizeof *nv);
		if (!nv)
			return hp_fail_nomem(e);
		d->blocksizes = nv;
		*cap = ncap;
	}
	((uint64_t *)d->blocksizes)[d->nblocksizes++] = v;
	return HP_OK;
}

static hp_code decode_mtime(urd *outer, const uint8_t *p, size_t n, hp_unixfs_data *d)
{
	urd r = { outer->base, p, p + n, outer->e };
	bool secs = false;
	hp_code rc;
	while (r.p < r.end) {
		const uint8_t *at = r.p;
		uint64_t key, v;
		if ((rc = uvarint(&r, &key, "bad mtime field key")))
			return rc;
		if (key == 0x08) {
			if (secs)
				return ubad(&r, at, "repeated mtime seconds");
			if ((rc = uvarint(&r, &v, "bad mtime seconds")))
				return rc;
			d->mtime_seconds = (int64_t)v;
			secs = true;
		} else if (key == 0x15) {
			if (d->has_mtime_nanos)
				return ubad(&r, at, "repeated mtime nanos");
			if (r.end - r.p < 4)
				return ubad(&r, at, "truncated mtime nanos");
			uint32_t x = (uint32_t)r.p[0] | (uint32_t)r.p[1] << 8 | (uint32_t)r.p[2] << 16 |
				     (uint32_t)r.p[3] << 24;
			r.p += 4;
			if (x == 0 || x >= 1000000000u)
				return ubad(&r, at, "mtime nanos out of range");
			d->mtime_nanos = x;
			d->has_mtime_nanos = true;
		} else {
			return ubad(&r, at, "unknown mtime field");
		}
	}
	if (!secs)
		return ubad(&r, p, "mtime without seconds");
	d->has_mtime = true;
	return HP_OK;
}

hp_code hp_unixfs_data_decode(const uint8_t *p, size_t n, hp_unixfs_data *d, hp_err *e)
{
	memset(d, 0, sizeof *d);
	urd r = { p, p, p + n, e };
	bool have_type = false;
	unsigned seen = 0;  /* bit per field number */
	size_t bcap = 0;
	hp_code rc = HP_OK;
	while (!rc && r.p < r.end) {
		const uint8_t *at = r.p;
		uint64_t key, v;
		if ((rc = uvarint(&r, &key, "bad field key")))
			break;
		uint64_t field = key >> 3, wt = key & 7;
		if (field < 1 || field > 8) {
			rc = ubad(&r, at, "unknown field");
			break;
		}
		if (field != 4 && (seen & (1u << field))) {
			rc = ubad(&r, at, "repeated field");
			break;
		}
		seen |= 1u << field;
		bool want_bytes = field == 2 || field == 8 || (field == 4 && wt == 2);
		if ((want_bytes && wt != 2) || (!want_bytes && wt != 0)) {
			rc = ubad(&r, at, "wrong wire type");
			break;
		}
		if (field == 2) {
			rc = ubytes(&r, &d->data, &d->data_len, "bad Data length");
			d->has_data = true;
			continue;
		}
		if (field == 8) {
			const uint8_t *mp;
			size_t mn;
			if (!(rc = ubytes(&r, &mp, &mn, "bad mtime length")))
				rc = decode_mtime(&r, mp, mn, d);
			continue;
		}
		if (field == 4 && wt == 2) {
			const uint8_t *bp;
			size_t bn;
			if ((rc = ubytes(&r, &bp, &bn, "bad packed blocksizes")))
				break;
			urd pr = { r.base, bp, bp + bn, e };
			while (!rc && pr.p < pr.end)
				if (!(rc = uvarint(&pr, &v, "bad packed blocksize")))
					rc = add_blocksize(d, &bcap, v, e);
			continue;
		}
		if ((rc = uvarint(&r, &v, "bad varint")))
			break;
		switch (field) {
		case 1:
			if (v > HP_UNIXFS_HAMT_SHARD)
				rc = ubad(&r, at, "unknown Type");
			d->type = (hp_unixfs_type)v;
			have_type = true;
			break;
		case 3:
			d->filesize = v;
			d->has_filesize = true;
			break;
		case 4:
			rc = add_blocksize(d, &bcap, v, e);
			break;
		case 5:
			d->hash_type = v;
			d->has_hash_type = true;
			break;
		case 6:
			d->fanout = v;
			d->has_fanout = true;
			break;
		default: /* 7 */
			if (v > UINT32_MAX)
				rc = ubad(&r, at, "mode out of range");
			d->mode = (uint32_t)v;
			d->has_mode = true;
			break;
		}
	}
	if (!rc && !have_type)
		rc = ubad(&r, p, "no Type");
	if (rc)
		hp_unixfs_data_free(d);
	return rc;
}

void hp_unixfs_data_free(hp_unixfs_data *d)
{
	free((void *)d->blocksizes);
	d->blocksizes = NULL;
	d->nblocksizes = 0;
}

/* ---- MurmurHash3 x64_128, first half ---- */

static uint64_t rotl64(uint64_t x, int r)
{
	return (x << r) | (x >> (64 - r));
}

static uint64_t fmix64(uint64_t k)
{
	k ^= k >> 33;
	k *= 0xff51afd7ed558ccdULL;
	k ^= k >> 33;
	k *= 0xc4ceb9fe1a85ec53ULL;
	k ^= k >> 33;
	return k;
}

static uint64_t le64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

uint64_t hp_murmur3_x64_64(const void *data, size_t len)
{
	const uint8_t *p = data;
	const uint64_t c1 = 0x87c37b91114253d5ULL, c2 = 0x4cf5ad432745937fULL;
	uint64_t h1 = 0, h2 = 0;
	size_t nblocks = len / 16;
	for (size_t i = 0; i < nblocks; i++) {
		uint64_t k1 = le64(p + 16 * i), k2 = le64(p + 16 * i + 8);
		k1 *= c1;
		k1 = rotl64(k1, 31);
		k1 *= c2;
		h1 ^= k1;
		h1 = rotl64(h1, 27);
		h1 += h2;
		h1 = h1 * 5 + 0x52dce729;
		k2 *= c2;
		k2 = rotl64(k2, 33);
		k2 *= c1;
		h2 ^= k2;
		h2 = rotl64(h2, 31);
		h2 += h1;
		h2 = h2 * 5 + 0x38495ab5;
	}
	const uint8_t *tail = p + 16 * nblocks;
	size_t rem = len & 15;
	uint64_t k1 = 0, k2 = 0;
	for (size_t i = rem; i > 8; i--)
		k2 ^= (uint64_t)tail[i - 1] << (8 * (i - 9));
	if (rem > 8) {
		k2 *= c2;
		k2 = rotl64(k2, 33);
		k2 *= c1;
		h2 ^= k2;
	}
	for (size_t i = rem < 8 ? rem : 8; i > 0; i--)
		k1 ^= (uint64_t)tail[i - 1] << (8 * (i - 1));
	if (rem > 0) {
		k1 *= c1;
		k1 = rotl64(k1, 31);
		k1 *= c2;
		h1 ^= k1;
	}
	h1 ^= (uint64_t)len;
	h2 ^= (uint64_t)len;
	h1 += h2;
	h2 += h1;
	h1 = fmix64(h1);
	h2 = fmix64(h2);
	h1 += h2;
	return h1;
}

/* ---- directories ---- */

#define TCID_MAX 64
#define NO_DIR SIZE_MAX

typedef struct tchild {
	char *name;
	size_t name_len;
	size_t dir;            /* index of a directory, NO_DIR for a file */
	uint64_t dag_size;
	uint64_t size;
	uint8_t cid[TCID_MAX];
	uint8_t cid_len;
} tchild;

typedef struct tdir {
	char *path;
	size_t path_len;
	tchild *v;
	size_t n, cap;
	size_t next;           /* building: the next child to look at */
	bool sorted, built;
	hp_unixfs_node node;
} tdir;

struct hp_unixfs_tree {
	const hp_unixfs_profile *p;
	tdir *dirs;
	size_t ndirs, cap;
	size_t *ht;            /* open addressing: dir index + 1, 0 = empty */
	size_t htcap;
	bool built;
	EVP_MD_CTX *ctx;
	hp_unixfs_block_fn *blocks;
	void *bud;
};

static uint64_t path_hash(const char *p, size_t n)
{
	uint64_t h = 1469598103934665603ULL;
	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)p[i];
		h *= 1099511628211ULL;
	}
	return h;
}

static size_t ht_find(const hp_unixfs_tree *t, const char *p, size_t n)
{
	size_t mask = t->htcap - 1;
	for (size_t i = (size_t)path_hash(p, n) & mask;; i = (i + 1) & mask) {
		size_t v = t->ht[i];
		if (!v)
			return NO_DIR;
		const tdir *d = &t->dirs[v - 1];
		if (d->path_len == n && memcmp(d->path, p, n) == 0)
			return v - 1;
	}
}

static void ht_insert(hp_unixfs_tree *t, size_t idx)
{
	size_t mask = t->htcap - 1;
	const tdir *d = &t->dirs[idx];
	size_t i = (size_t)path_hash(d->path, d->path_len) & mask;
	while (t->ht[i])
		i = (i + 1) & mask;
	t->ht[i] = idx + 1;
}

static hp_code ht_grow(hp_unixfs_tree *t, hp_err *e)
{
	if ((t->ndirs + 1) * 2 <= t->htcap)
		return HP_OK;
	size_t ncap = t->htcap ? t->htcap * 2 : 64;
	size_t *nh = calloc(ncap, sizeof *nh);
	if (!nh)
		return hp_fail_nomem(e);
	free(t->ht);
	t->ht = nh;
	t->htcap = ncap;
	for (size_t i = 0; i < t->ndirs; i++)
		ht_insert(t, i);
	return HP_OK;
}

static hp_code add_child(tdir *d, const tchild *c, hp_err *e)
{
	if (d->n == d->cap) {
		size_t ncap = d->cap ? d->cap * 2 : 8;
		tchild *v = realloc(d->v, ncap * sizeof *v);
		if (!v)
			return hp_fail_nomem(e);
		d->v = v;
		d->cap = ncap;
	}
	d->v[d->n++] = *c;
	return HP_OK;
}

static hp_code bad_path(const char *p, size_t n, const char *why, hp_err *e)
{
	char qb[256];
	hp_quote(p, n, qb, sizeof qb);
	return hp_fail(e, HP_E_DATA, "cannot put '%s' in a UnixFS directory: %s", qb, why);
}

static hp_code check_path(const char *p, size_t n, bool root_ok, hp_err *e)
{
	if (n == 0)
		return root_ok ? HP_OK : bad_path(p, n, "empty path", e);
	if (memchr(p, '\0', n))
		return bad_path(p, n, "NUL in the path", e);
	size_t s = 0;
	for (size_t i = 0; i <= n; i++) {
		if (i < n && p[i] != '/')
			continue;
		size_t len = i - s;
		if (len == 0)
			return bad_path(p, n, "empty path component", e);
		if ((len == 1 && p[s] == '.') || (len == 2 && p[s] == '.' && p[s + 1] == '.'))
			return bad_path(p, n, "'.' or '..' component", e);
		s = i + 1;
	}
	return HP_OK;
}

/* The directory at p[0..n) (checked), created with its parents if needed. */
static hp_code ensure_dir(hp_unixfs_tree *t, const char *p, size_t n, size_t *out, hp_err *e)
{
	size_t idx = ht_find(t, p, n);
	if (idx != NO_DIR) {
		*out = idx;
		return HP_OK;
	}
	/* n > 0 here: the root always exists */
	size_t slash = n;
	while (slash > 0 && p[slash - 1] != '/')
		slash--;
	size_t parent;
	hp_code rc = ensure_dir(t, p, slash ? slash - 1 : 0, &parent, e);
	if (rc)
		return rc;
	if ((rc = ht_grow(t, e)))
		return rc;
	if (t->ndirs == t->cap) {
		size_t ncap = t->cap * 2;
		tdir *v = realloc(t->dirs, ncap * sizeof *v);
		if (!v)
			return hp_fail_nomem(e);
		t->dirs = v;
		t->cap = ncap;
	}
	tdir *d = &t->dirs[t->ndirs];
	memset(d, 0, sizeof *d);
	if (!(d->path = malloc(n + 1)))
		return hp_fail_nomem(e);
	memcpy(d->path, p, n);
	d->path[n] = '\0';
	d->path_len = n;
	tchild c = { 0 };
	c.name_len = n - slash;
	c.dir = t->ndirs;
	if (!(c.name = malloc(c.name_len + 1))) {
		free(d->path);
		return hp_fail_nomem(e);
	}
	memcpy(c.name, p + slash, c.name_len);
	c.name[c.name_len] = '\0';
	if ((rc = add_child(&t->dirs[parent], &c, e))) {
		free(c.name);
		free(d->path);
		return rc;
	}
	t->ndirs++;
	ht_insert(t, t->ndirs - 1);
	*out = t->ndirs - 1;
	return HP_OK;
}

hp_code hp_unixfs_tree_new(const hp_unixfs_profile *p, hp_unixfs_tree **out, hp_err *e)
{
	if (!p)
		return hp_fail(e, HP_E_USAGE, "no UnixFS profile");
	if (p->hamt_fanout != 256)
		return hp_fail(e, HP_E_USAGE, "HAMT fanout %u is not supported (256)", p->hamt_fanout);
	hp_unixfs_tree *t = calloc(1, sizeof *t);
	if (!t)
		return hp_fail_nomem(e);
	t->p = p;
	t->cap = 16;
	t->dirs = calloc(t->cap, sizeof *t->dirs);
	if (t->dirs)
		t->ndirs = 1;  /* the root, path "" */
	t->ctx = EVP_MD_CTX_new();
	if (!t->dirs || !t->ctx || !(t->dirs[0].path = calloc(1, 1)) || ht_grow(t, e)) {
		hp_unixfs_tree_free(t);
		return hp_fail_nomem(e);
	}
	ht_insert(t, 0);
	*out = t;
	return HP_OK;
}

hp_code hp_unixfs_tree_add_dir(hp_unixfs_tree *t, const char *path, size_t n, hp_err *e)
{
	if (t->built)
		return hp_fail(e, HP_E_USAGE, "the UnixFS tree is already built");
	size_t idx;
	hp_code rc = check_path(path, n, true, e);
	return rc ? rc : ensure_dir(t, path, n, &idx, e);
}

hp_code hp_unixfs_tree_add_file(hp_unixfs_tree *t, const char *path, size_t n, const hp_unixfs_node *node,
				hp_err *e)
{
	if (t->built)
		return hp_fail(e, HP_E_USAGE, "the UnixFS tree is already built");
	hp_code rc = check_path(path, n, false, e);
	if (rc)
		return rc;
	tchild c = { 0 };
	uint8_t cb[HP_CID_MAX_BYTES];
	size_t cl = hp_cid_bytes(&node->cid, cb);
	if (cl > TCID_MAX)
		return bad_path(path, n, "CID too long", e);
	memcpy(c.cid, cb, cl);
	c.cid_len = (uint8_t)cl;
	c.dag_size = node->dag_size;
	c.size = node->size;
	c.dir = NO_DIR;
	size_t slash = n;
	while (slash > 0 && path[slash - 1] != '/')
		slash--;
	size_t parent;
	if ((rc = ensure_dir(t, path, slash ? slash - 1 : 0, &parent, e)))
		return rc;
	c.name_len = n - slash;
	if (!(c.name = malloc(c.name_len + 1)))
		return hp_fail_nomem(e);
	memcpy(c.name, path + slash, c.name_len);
	c.name[c.name_len] = '\0';
	if ((rc = add_child(&t->dirs[parent], &c, e)))
		free(c.name);
	return rc;
}

static int cmp_child(const void *a, const void *b)
{
	const tchild *x = a, *y = b;
	size_t n = x->name_len < y->name_len ? x->name_len : y->name_len;
	int c = memcmp(x->name, y->name, n);
	if (c)
		return c;
	return x->name_len < y->name_len ? -1 : x->name_len > y->name_len;
}

/* Hash the encoded node in b, hand it out, fill out. */
static hp_code finish_node(hp_unixfs_tree *t, const hp_buf *b, uint64_t tsum, hp_unixfs_node *out, hp_err *e)
{
	uint8_t md[32];
	if (!sha256(t->ctx, b->data, b->len, md))
		return sha_fail(e);
	hp_cid_sha256(&out->cid, t->p->cid_version, HP_MC_DAG_PB, md);
	out->dag_size = b->len + tsum;
	if (t->blocks)
		return t->blocks(t->bud, &out->cid, (const uint8_t *)b->data, b->len, e);
	return HP_OK;
}

static void child_link(const tchild *c, hp_pblink *l)
{
	memset(l, 0, sizeof *l);
	l->hash = c->cid;
	l->hash_len = c->cid_len;
	l->name = c->name;
	l->name_len = c->name_len;
	l->has_name = true;
	l->tsize = c->dag_size;
	l->has_tsize = true;
}

static hp_code build_basic(hp_unixfs_tree *t, tdir *d, hp_pblink *links, hp_err *e)
{
	static const uint8_t dir_data[] = { 0x08, 0x01 };
	uint64_t tsum = 0;
	for (size_t i = 0; i < d->n; i++) {
		child_link(&d->v[i], &links[i]);
		tsum += d->v[i].dag_size;
	}
	hp_pbnode node = { links, d->n, dir_data, sizeof dir_data, true };
	hp_buf b = HP_BUF_INIT;
	hp_code rc = hp_dagpb_encode(&node, &b, e);
	if (!rc)
		rc = finish_node(t, &b, tsum, &d->node, e);
	hp_buf_release(&b);
	return rc;
}

typedef struct hent {
	uint8_t h[8];  /* murmur3, big-endian */
	const tchild *c;
} hent;

static int cmp_hent(const void *a, const void *b)
{
	const hent *x = a, *y = b;
	return memcmp(x->h, y->h, 8);
}

/* The HAMT shard for v[0..n) (sorted by hash) at the given level. */
static hp_code build_shard(hp_unixfs_tree *t, const tdir *d, const hent *v, size_t n, unsigned level,
			   hp_unixfs_node *out, hp_err *e)
{
	typedef struct shard_mem {
		hp_pblink links[256];
		hp_unixfs_node subs[256];
		uint8_t subcid[256][HP_CID_MAX_BYTES];
	} shard_mem;
	uint8_t bits[32] = { 0 };
	size_t nl = 0, namebytes = 0;
	uint64_t tsum = 0;
	for (size_t i = 0; i < n; i++)
		namebytes += 2 + v[i].c->name_len;
	char *names = malloc(namebytes ? namebytes : 1);
	shard_mem *m = malloc(sizeof *m);
	if (!names || !m) {
		free(names);
		free(m);
		return hp_fail_nomem(e);
	}
	hp_pblink *links = m->links;
	hp_unixfs_node *subs = m->subs;
	char *np = names;
	hp_code rc = HP_OK;
	for (size_t i = 0; i < n && !rc;) {
		unsigned bucket = v[i].h[level];
		size_t j = i + 1;
		while (j < n && v[j].h[level] == bucket)
			j++;
		bits[31 - bucket / 8] |= (uint8_t)(1u << (bucket % 8));
		static const char hexd[] = "0123456789ABCDEF";
		np[0] = hexd[bucket >> 4];
		np[1] = hexd[bucket & 15];
		hp_pblink *l = &links[nl];
		memset(l, 0, sizeof *l);
		l->name = np;
		l->has_name = true;
		l->has_tsize = true;
		if (j - i == 1) {
			const tchild *c = v[i].c;
			memcpy(np + 2, c->name, c->name_len);
			l->name_len = 2 + c->name_len;
			l->hash = c->cid;
			l->hash_len = c->cid_len;
			l->tsize = c->dag_size;
		} else if (level + 1 >= 8) {
			char qb[256];
			hp_quote(d->path, d->path_len, qb, sizeof qb);
			rc = hp_fail(e, HP_E_DATA, "directory '%s': names whose 64-bit HAMT hashes are equal", qb);
			break;
		} else {
			hp_unixfs_node *sub = &subs[nl];
			if ((rc = build_shard(t, d, v + i, j - i, level + 1, sub, e)))
				break;
			l->name_len = 2;
			l->tsize = sub->dag_size;
		}
		np += l->name_len;
		tsum += l->tsize;
		nl++;
		i = j;
	}
	/* CID bytes of the sub-shards (after the recursion, which reuses nothing) */
	for (size_t k = 0; !rc && k < nl; k++) {
		if (!links[k].hash) {
			links[k].hash_len = hp_cid_bytes(&subs[k].cid, m->subcid[k]);
			links[k].hash = m->subcid[k];
		}
	}
	if (!rc) {
		size_t skip = 0;
		while (skip < 32 && bits[skip] == 0)
			skip++;
		hp_buf data = HP_BUF_INIT, b = HP_BUF_INIT;
		hp_unixfs_data ud = { 0 };
		ud.type = HP_UNIXFS_HAMT_SHARD;
		ud.data = bits + skip;
		ud.data_len = 32 - skip;
		ud.has_data = true;
		ud.hash_type = HP_MC_MURMUR3_X64_64;
		ud.has_hash_type = true;
		ud.fanout = 256;
		ud.has_fanout = true;
		rc = hp_unixfs_data_encode(&ud, &data, e);
		if (!rc) {
			hp_pbnode node = { links, nl, (const uint8_t *)data.data, data.len, true };
			rc = hp_dagpb_encode(&node, &b, e);
		}
		if (!rc)
			rc = finish_node(t, &b, tsum, out, e);
		hp_buf_release(&data);
		hp_buf_release(&b);
	}
	free(names);
	free(m);
	return rc;
}

static hp_code build_hamt(hp_unixfs_tree *t, tdir *d, hp_err *e)
{
	hent *v = malloc(d->n * sizeof *v);
	if (!v)
		return hp_fail_nomem(e);
	for (size_t i = 0; i < d->n; i++) {
		uint64_t h = hp_murmur3_x64_64(d->v[i].name, d->v[i].name_len);
		for (int k = 0; k < 8; k++)
			v[i].h[k] = (uint8_t)(h >> (56 - 8 * k));
		v[i].c = &d->v[i];
	}
	qsort(v, d->n, sizeof *v, cmp_hent);
	hp_code rc = build_shard(t, d, v, d->n, 0, &d->node, e);
	free(v);
	return rc;
}

/* Build directory d, whose child directories are built. */
static hp_code build_dir(hp_unixfs_tree *t, tdir *d, hp_err *e)
{
	uint64_t est = t->p->estimation == HP_UNIXFS_EST_BLOCK ? 4 : 0, size = 0;
	for (size_t i = 0; i < d->n; i++) {
		tchild *c = &d->v[i];
		if (c->dir != NO_DIR) {
			const hp_unixfs_node *sub = &t->dirs[c->dir].node;
			uint8_t cb[HP_CID_MAX_BYTES];
			size_t cl = hp_cid_bytes(&sub->cid, cb);
			memcpy(c->cid, cb, cl);  /* our own sha2-256 CID: 36 bytes at most */
			c->cid_len = (uint8_t)cl;
			c->dag_size = sub->dag_size;
			c->size = sub->size;
		}
		size += c->size;
		if (t->p->estimation == HP_UNIXFS_EST_BLOCK) {
			hp_pblink l;
			child_link(c, &l);
			est += hp_dagpb_link_len(&l);
		} else {
			est += c->name_len + c->cid_len;
		}
	}
	hp_code rc;
	if (est > t->p->hamt_threshold) {
		rc = build_hamt(t, d, e);
	} else {
		hp_pblink *links = malloc((d->n ? d->n : 1) * sizeof *links);
		if (!links)
			return hp_fail_nomem(e);
		rc = build_basic(t, d, links, e);
		free(links);
	}
	d->node.size = size;
	return rc;
}

hp_code hp_unixfs_tree_build(hp_unixfs_tree *t, hp_unixfs_block_fn *blocks, void *bud, hp_unixfs_dir_fn *dirs,
			     void *dud, hp_unixfs_node *root, hp_err *e)
{
	if (t->built)
		return hp_fail(e, HP_E_USAGE, "the UnixFS tree is already built");
	t->built = true;
	t->blocks = blocks;
	t->bud = bud;
	size_t *stack = malloc(t->ndirs * sizeof *stack);
	if (!stack)
		return hp_fail_nomem(e);
	size_t sp = 0;
	hp_code rc = HP_OK;
	stack[sp++] = 0;
	while (!rc && sp) {
		tdir *d = &t->dirs[stack[sp - 1]];
		if (!d->sorted) {
			if (d->n > 1)
				qsort(d->v, d->n, sizeof *d->v, cmp_child);
			for (size_t i = 1; i < d->n && !rc; i++) {
				if (cmp_child(&d->v[i - 1], &d->v[i]) == 0) {
					char qb[256], qn[256];
					hp_quote(d->path, d->path_len, qb, sizeof qb);
					hp_quote(d->v[i].name, d->v[i].name_len, qn, sizeof qn);
					rc = hp_fail(e, HP_E_DATA, "directory '%s' has two entries named '%s'", qb, qn);
				}
			}
			d->sorted = true;
			d->next = 0;
			continue;
		}
		while (d->next < d->n && d->v[d->next].dir == NO_DIR)
			d->next++;
		if (d->next < d->n) {
			stack[sp++] = d->v[d->next++].dir;
			continue;
		}
		if ((rc = build_dir(t, d, e)))
			break;
		d->built = true;
		if (dirs)
			rc = dirs(dud, d->path, d->path_len, &d->node, e);
		sp--;
	}
	free(stack);
	if (!rc && root)
		*root = t->dirs[0].node;
	return rc;
}

void hp_unixfs_tree_free(hp_unixfs_tree *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->ndirs; i++) {
		tdir *d = &t->dirs[i];
		for (size_t k = 0; k < d->n; k++)
			free(d->v[k].name);
		free(d->v);
		free(d->path);
	}
	free(t->dirs);
	free(t->ht);
	EVP_MD_CTX_free(t->ctx);
	free(t);
}

/* ---- the one-entry wrapper directory ---- */

hp_code hp_unixfs_wrap(const hp_unixfs_profile *p, const char *name, size_t n, const hp_unixfs_node *child,
		       hp_unixfs_block_fn *blocks, void *ud, hp_unixfs_node *out, hp_err *e)
{
	if (n == 0 || memchr(name, '/', n))
		return hp_fail(e, HP_E_DATA, "'%.*s' is not one name (empty, or with a '/')", (int)(n > 200 ? 200 : n),
			       name);
	hp_unixfs_tree *t;
	hp_code rc = hp_unixfs_tree_new(p, &t, e);
	if (rc)
		return rc;
	if (!(rc = hp_unixfs_tree_add_file(t, name, n, child, e)))
		rc = hp_unixfs_tree_build(t, blocks, ud, NULL, NULL, out, e);
	hp_unixfs_tree_free(t);
	return rc;
}
