#include "hp_digest.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "hp_io.h"

#include "banned.h"

static const struct algo {
	const char *name;  /* ours, as in records and --algo */
	const char *ossl;  /* OpenSSL's */
	size_t size;
} algo_tab[HP_DIGEST_NALGOS] = {
	[HP_DIGEST_ID_SHA256] = { "sha256", "SHA2-256", 32 },
	[HP_DIGEST_ID_SHA1] = { "sha1", "SHA1", 20 },
	[HP_DIGEST_ID_SHA512] = { "sha512", "SHA2-512", 64 },
};

/* With several hashes, each is fed this much at a time so that the block is
 * still in the cache when the next hash reads it. */
#define FEED_CHUNK (64u * 1024)

const char *hp_digest_algo_name(hp_digest_algo_id id)
{
	return (unsigned)id < HP_DIGEST_NALGOS ? algo_tab[id].name : NULL;
}

size_t hp_digest_algo_size(hp_digest_algo_id id)
{
	return (unsigned)id < HP_DIGEST_NALGOS ? algo_tab[id].size : 0;
}

hp_code hp_digest_parse_algos(const char *list, unsigned *algos, hp_err *e)
{
	unsigned set = 0;
	const char *p = list;
	for (;;) {
		const char *comma = strchr(p, ',');
		size_t n = comma ? (size_t)(comma - p) : strlen(p);
		unsigned id;
		for (id = 0; id < HP_DIGEST_NALGOS; id++)
			if (strlen(algo_tab[id].name) == n && memcmp(algo_tab[id].name, p, n) == 0)
				break;
		if (id == HP_DIGEST_NALGOS) {
			char qb[128];
			hp_quote(p, n, qb, sizeof qb);
			if (n == 0)
				return hp_fail(e, HP_E_USAGE, "empty algorithm name in '%s' (known: sha256, sha1, sha512)",
					       list);
			return hp_fail(e, HP_E_USAGE, "unknown algorithm '%s' (known: sha256, sha1, sha512)", qb);
		}
		set |= 1u << id;
		if (!comma)
			break;
		p = comma + 1;
	}
	*algos = set;
	return HP_OK;
}

void hp_digest_hex(const hp_digest_result *r, hp_digest_algo_id id, char *out)
{
	static const char hex[] = "0123456789abcdef";
	size_t n = hp_digest_algo_size(id);
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = hex[r->md[id][i] >> 4];
		out[2 * i + 1] = hex[r->md[id][i] & 15];
	}
	out[2 * n] = '\0';
}

unsigned hp_digest_cpus(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n < 1 ? 1 : n > 1024 ? 1024 : (unsigned)n;
}

/* ---- the run ----
 *
 * hp_digest_begin starts a run on a walk list; every file entry already in
 * the list, and every one hp_walk_add appends afterwards (through l->added),
 * is published to the run as an item. With more than one job, worker threads
 * (started as files appear, never more than files) take the items in list
 * order from an atomic counter and leave each result in slots[i % window].
 * The caller's thread hands the slots to the sinks and the callback in
 * order: while the walk goes on (from inside hp_walk_add, without waiting),
 * and in hp_digest_end until the last file. So reading overlaps the walk.
 *
 * A worker may start item i only once it is published and item i - window
 * has been delivered, which bounds memory to the window however many files
 * there are. In hp_digest_end the caller sleeps only when the next result is
 * not ready yet, and is woken when BATCH results are ready in order, when a
 * worker is about to wait for room, or after WAKE_MS at the latest: with
 * small files, a wake-up per file would cost more than the hashing. With one
 * job everything runs on the caller's thread in hp_digest_end. */

#define BATCH 64
#define WAKE_MS 2
#define POLL_EVERY 32       /* items published between two deliveries during the walk */
#define WAKE_EVERY 8        /* items published between two wake-ups of idle workers */
#define CHUNK_BITS 12       /* items are stored in chunks that never move */
#define CHUNK_ITEMS (1u << CHUNK_BITS)
#define MAX_CHUNKS (1u << 18)  /* a billion files */
#define SPREAD_RING 8       /* at most this many buffers of a spread file in flight, */
#define SPREAD_BYTES (8u << 20)  /* and about this many bytes (at least 2 buffers) */
#define SPREAD_MIN_BLOCKS 4 /* auto: a file is spread from this many blocks up */

typedef struct slot {
	hp_digest_result res;
	hp_digest_file file;
	void *state[HP_DIGEST_MAX_SINKS];
	bool begun[HP_DIGEST_MAX_SINKS];
	atomic_bool ready;
} slot;

/* Each file's contexts are copies of freshly initialised templates:
 * EVP_DigestInit_ex asks for an ENGINE under OpenSSL's global engine lock on
 * every call, which serialises the threads when files are small;
 * EVP_MD_CTX_copy_ex takes no lock. */
typedef struct hasher {
	EVP_MD_CTX *tmpl[HP_DIGEST_NALGOS];
	EVP_MD_CTX *ctx[HP_DIGEST_NALGOS];
	uint8_t *buf;
	uint8_t *ring[SPREAD_RING];  /* a spread file's buffers, made on first use */
} hasher;

typedef struct hp_digest_run run;

typedef struct worker {
	run *r;
	hasher h;
	pthread_t tid;
	bool started;
} worker;

/* What a worker needs of an entry, copied when it is published: the list's
 * array may move while the walk appends to it. */
typedef struct item {
	size_t index;          /* into l->v */
	uint64_t offset;       /* stream offset */
	uint64_t size;         /* expected size, HP_DIGEST_UNKNOWN for streams */
	const char *path;
	size_t path_len;
	const char *open_path;
	hp_walk_type type;
	bool nofollow;
} item;

struct hp_digest_run {
	hp_walk_list *l;
	const hp_digest_opts *o;
	hp_digest_result_fn *cb;
	void *cb_ud;
	unsigned algos;
	EVP_MD *md[HP_DIGEST_NALGOS];
	size_t bs;
	hp_err err;               /* a failure of the run itself (out of memory) */

	item **chunks;            /* item i is chunks[i >> CHUNK_BITS][i & (CHUNK_ITEMS - 1)] */
	size_t nitems;            /* published so far (the caller's copy) */
	uint64_t next_offset;
	uint64_t total;           /* sum of the published sizes */

	slot *slots;              /* item i uses slots[i % window] */
	size_t window;
	unsigned jobs;
	worker *w;
	unsigned started;
	bool on_caller;           /* files are being read on the caller's thread */

	pthread_mutex_t mu;
	pthread_cond_t cv_work;   /* workers wait here for items and for room */
	pthread_cond_t cv_ready;  /* the caller waits here for results */
	atomic_size_t published;
	atomic_bool complete;     /* no more items will come */
	atomic_size_t next;       /* the next item to take */
	atomic_size_t delivered;  /* items handed out so far */
	atomic_bool stop;
	atomic_uint idle;         /* workers waiting */
	atomic_uint extra;        /* helper threads of spread files */
	atomic_uint nstarted;     /* started, for the workers to read */
	atomic_bool waiting;      /* the caller waits for results */

	atomic_uint_fast64_t bytes_done;
	struct timespec last_progress;
	unsigned progress_ms;
};

static hp_code fetch_mds(run *r, hp_err *e)
{
	for (unsigned id = 0; id < HP_DIGEST_NALGOS; id++) {
		if (!(r->algos & (1u << id)))
			continue;
		r->md[id] = EVP_MD_fetch(NULL, algo_tab[id].ossl, NULL);
		if (!r->md[id])
			return hp_fail(e, HP_E_INTERNAL, "OpenSSL provides no %s", algo_tab[id].ossl);
	}
	return HP_OK;
}

static void free_mds(run *r)
{
	for (unsigned id = 0; id < HP_DIGEST_NALGOS; id++) {
		EVP_MD_free(r->md[id]);
		r->md[id] = NULL;
	}
}

static hp_code hasher_init(hasher *h, const run *r, hp_err *e)
{
	memset(h, 0, sizeof *h);
	for (unsigned id = 0; id < HP_DIGEST_NALGOS; id++) {
		if (!(r->algos & (1u << id)))
			continue;
		if (!(h->ctx[id] = EVP_MD_CTX_new()) || !(h->tmpl[id] = EVP_MD_CTX_new()))
			return hp_fail_nomem(e);
		if (!EVP_DigestInit_ex(h->tmpl[id], r->md[id], NULL))
			return hp_fail(e, HP_E_INTERNAL, "cannot start %s", algo_tab[id].name);
	}
	h->buf = aligned_alloc(4096, (r->bs + 4095) & ~(size_t)4095);
	if (!h->buf)
		return hp_fail_nomem(e);
	return HP_OK;
}

static void hasher_free(hasher *h)
{
	for (unsigned id = 0; id < HP_DIGEST_NALGOS; id++) {
		EVP_MD_CTX_free(h->ctx[id]);
		EVP_MD_CTX_free(h->tmpl[id]);
	}
	free(h->buf);
	for (unsigned i = 0; i < SPREAD_RING; i++)
		free(h->ring[i]);
	memset(h, 0, sizeof *h);
}

static long ms_since(const struct timespec *t)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - t->tv_sec) * 1000 + (now.tv_nsec - t->tv_nsec) / 1000000;
}

/* On the caller's thread only. */
static void progress(run *r, bool force)
{
	if (!r->o->progress)
		return;
	if (!force && ms_since(&r->last_progress) < (long)r->progress_ms)
		return;
	clock_gettime(CLOCK_MONOTONIC, &r->last_progress);
	r->o->progress(r->o->ud, atomic_load_explicit(&r->bytes_done, memory_order_relaxed), r->total);
}

static bool same_time(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec == b->tv_sec && a->tv_nsec == b->tv_nsec;
}

/* The path of the file in a slot, quoted for a message. */
static const char *quoted(const slot *s, char *buf, size_t bufsz)
{
	hp_quote(s->file.path, s->file.path_len, buf, bufsz);
	return buf;
}

/* ---- one file's consumers spread over threads ----
 *
 * When fewer files are being read than there are jobs (one big file, say),
 * the worker reading a file that is large enough takes helper threads for
 * it: the worker reads the file into a ring of buffers (8 MiB, 2 to 8
 * blocks), and every thread of the file (the worker too, between reads) runs
 * the consumers over them: each built-in hash and each sink is a consumer,
 * that takes the buffers strictly in order and runs on one thread at a time,
 * whichever is free (a thread keeps to the consumer it ran last while it
 * can). So the cost is balanced without knowing it (SHA-1 against SHA-256
 * against a CID), and a buffer is read again only when every consumer is
 * done with it.
 *
 * A sink's begin, the consumers' updates and its end keep their order: begin
 * and end run on the worker, before the helpers start and after they have
 * finished; an update runs under the consumer's claim, taken and given back
 * under the file's mutex, so one update happens before the next whatever
 * thread runs it. The answer is the serial one, errors included: a sink that
 * fails at buffer b (or a read that fails at b) stops the reading, the other
 * consumers still run up to b, and the failure that the serial order meets
 * first wins (the lowest buffer, then the first sink). */

typedef struct consumer {
	int algo;           /* a built-in hash, or -1 */
	size_t sink;        /* the sink, when algo < 0 */
	size_t next;        /* the next buffer it takes */
	bool claimed;       /* a thread runs it */
	bool failed;
	hp_err err;
} consumer;

typedef struct spread {
	run *r;
	hasher *h;
	slot *s;
	int fd;
	uint64_t expect;
	bool stop_at_size;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	size_t len[SPREAD_RING];
	uint64_t boff[SPREAD_RING];  /* file offset of each buffer */
	unsigned refs[SPREAD_RING];  /* consumers still to take each buffer */
	size_t nread;                /* buffers read so far */
	uint64_t off;                /* bytes read so far */
	bool eof;                    /* no more buffers */
	size_t fail_buf;             /* the first failure: buffer, then consumer */
	size_t fail_k;
	uint64_t fail_off;
	hp_err fail_err;
	size_t nring;                /* buffers in the ring */
	size_t ncons;
	consumer c[HP_DIGEST_NALGOS + HP_DIGEST_MAX_SINKS];
} spread;

#define NO_FAIL SIZE_MAX

/* Under sp->mu: does failure (b, k) come before the one recorded? The
 * read of buffer b is k = 0, the consumers k >= 1 in their order. */
static void spread_fail(spread *sp, size_t b, size_t k, uint64_t off, const hp_err *e)
{
	if (sp->fail_buf != NO_FAIL && (b > sp->fail_buf || (b == sp->fail_buf && k >= sp->fail_k)))
		return;
	sp->fail_buf = b;
	sp->fail_k = k;
	sp->fail_off = off;
	sp->fail_err = *e;
}

/* Under sp->mu: has consumer c nothing more to do? */
static bool cons_finished(const spread *sp, const consumer *c)
{
	if (c->failed)
		return true;
	if (sp->fail_buf != NO_FAIL && c->next > sp->fail_buf)
		return true;
	return sp->eof && c->next >= sp->nread;
}

static bool cons_runnable(const spread *sp, const consumer *c)
{
	return !c->claimed && !cons_finished(sp, c) && c->next < sp->nread;
}

/* Under sp->mu: a consumer to run, last first; NULL if none. */
static consumer *cons_pick(spread *sp, consumer *last)
{
	if (last && cons_runnable(sp, last))
		return last;
	for (size_t k = 0; k < sp->ncons; k++)
		if (cons_runnable(sp, &sp->c[k]))
			return &sp->c[k];
	return NULL;
}

static bool all_finished(const spread *sp)
{
	if (!sp->eof && sp->fail_buf == NO_FAIL)
		return false;
	for (size_t k = 0; k < sp->ncons; k++)
		if (sp->c[k].claimed || !cons_finished(sp, &sp->c[k]))
			return false;
	return true;
}

/* Run c over its next buffer; called with sp->mu held, returns with it. */
static void cons_run(spread *sp, consumer *c)
{
	size_t b = c->next;
	size_t i = b % sp->nring;
	const uint8_t *p = sp->h->ring[i];
	size_t n = sp->len[i];
	uint64_t off = sp->boff[i];
	c->claimed = true;
	pthread_mutex_unlock(&sp->mu);
	hp_code rc = HP_OK;
	if (c->algo >= 0) {
		EVP_DigestUpdate(sp->h->ctx[c->algo], p, n);
	} else {
		const hp_digest_sink *sk = &sp->r->o->sinks[c->sink];
		rc = sk->update(sk->ctx, sp->s->state[c->sink], p, n, off, &c->err);
	}
	pthread_mutex_lock(&sp->mu);
	c->claimed = false;
	if (rc) {
		c->failed = true;
		spread_fail(sp, b, 1 + (size_t)(c - sp->c), off, &c->err);
	} else {
		c->next = b + 1;
		sp->refs[i]--;
	}
	/* the reader may have room, another thread may take c, or stop */
	pthread_cond_broadcast(&sp->cv);
}

/* Read the next buffer; called with sp->mu held, returns with it. */
static void spread_read(spread *sp)
{
	size_t b = sp->nread;
	size_t i = b % sp->nring;
	uint64_t off = sp->off;
	run *r = sp->r;
	pthread_mutex_unlock(&sp->mu);
	hp_err e = HP_ERR_INIT;
	char qb[256];
	ssize_t n;
	do
		n = read(sp->fd, sp->h->ring[i], r->bs);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		int err = errno;
		hp_fail_errno(&e, HP_E_IO, err, "cannot read '%s'", quoted(sp->s, qb, sizeof qb));
	} else if (n > 0 && sp->expect != HP_DIGEST_UNKNOWN && off + (uint64_t)n > sp->expect) {
		hp_fail(&e, HP_E_IO, "'%s' changed while being read: it grew past %llu bytes", quoted(sp->s, qb, sizeof qb),
			(unsigned long long)sp->expect);
	}
	pthread_mutex_lock(&sp->mu);
	if (e.code) {
		spread_fail(sp, b, 0, off, &e);
		sp->eof = true;
	} else if (n == 0) {
		sp->eof = true;
	} else {
		sp->len[i] = (size_t)n;
		sp->boff[i] = off;
		sp->refs[i] = (unsigned)sp->ncons;
		sp->nread = b + 1;
		sp->off = off + (uint64_t)n;
		atomic_fetch_add_explicit(&r->bytes_done, (uint64_t)n, memory_order_relaxed);
		if (sp->stop_at_size && sp->off == sp->expect)
			sp->eof = true;
	}
	pthread_cond_broadcast(&sp->cv);
}

/* The loop of every thread of a spread file; the worker (reader) also reads. */
static void spread_loop(spread *sp, bool reader)
{
	consumer *last = NULL;
	pthread_mutex_lock(&sp->mu);
	for (;;) {
		if (reader && !sp->eof && sp->fail_buf == NO_FAIL && sp->refs[sp->nread % sp->nring] == 0) {
			spread_read(sp);
			continue;
		}
		consumer *c = cons_pick(sp, last);
		if (c) {
			cons_run(sp, c);
			last = c;
			continue;
		}
		if (all_finished(sp))
			break;
		pthread_cond_wait(&sp->cv, &sp->mu);
	}
	pthread_mutex_unlock(&sp->mu);
}

static void *spread_main(void *arg)
{
	spread_loop(arg, false);
	return NULL;
}

/* How many helper threads to take for the file in s (0: read it serially).
 * Counted in r->extra; the caller gives them back. */
static unsigned spread_helpers(run *r, const slot *s, size_t ncons)
{
	int mode = r->o->spread;
	if (mode < 0 || r->on_caller || r->jobs <= 1 || ncons == 0)
		return 0;
	if (mode == 0 && s->file.expect_size != HP_DIGEST_UNKNOWN &&
	    s->file.expect_size < (uint64_t)SPREAD_MIN_BLOCKS * r->bs)
		return 0;
	for (;;) {
		unsigned extra = atomic_load(&r->extra);
		/* workers not waiting for an item are reading one (no counter of
		 * busy workers: two atomics per small file would cost) */
		unsigned idle = atomic_load(&r->idle);
		unsigned started = atomic_load(&r->nstarted);
		unsigned used = (started > idle ? started - idle : 1) + extra;
		unsigned want = used < r->jobs ? r->jobs - used : 0;
		if (want > ncons)
			want = (unsigned)ncons;
		if (mode > 0 && want == 0)
			want = 1;  /* always (tests): one helper at least */
		if (want == 0)
			return 0;
		if (atomic_compare_exchange_weak(&r->extra, &extra, extra + want))
			return want;
	}
}

/* Read fd with the consumers spread over nhelp more threads; *offp gets the
 * bytes read. Errors go into the result as the serial loop's would. */
static void spread_fd(run *r, hasher *h, slot *s, int fd, bool stop_at_size, unsigned nhelp, uint64_t *offp)
{
	spread *sp = calloc(1, sizeof *sp);
	bool ok = sp != NULL;
	size_t nring = SPREAD_BYTES / r->bs;
	nring = nring < 2 ? 2 : nring > SPREAD_RING ? SPREAD_RING : nring;
	for (size_t i = 0; ok && i < nring; i++)
		if (!h->ring[i] && !(h->ring[i] = aligned_alloc(4096, (r->bs + 4095) & ~(size_t)4095)))
			ok = false;
	if (!ok) {
		free(sp);
		hp_fail_nomem(&s->res.err);
		return;
	}
	sp->r = r;
	sp->h = h;
	sp->s = s;
	sp->fd = fd;
	sp->expect = s->file.expect_size;
	sp->stop_at_size = stop_at_size;
	sp->fail_buf = NO_FAIL;
	sp->nring = nring;
	for (unsigned id = 0; id < HP_DIGEST_NALGOS; id++)
		if (h->ctx[id])
			sp->c[sp->ncons++] = (consumer){ .algo = (int)id };
	for (size_t k = 0; k < r->o->nsinks; k++)
		if (r->o->sinks[k].update)
			sp->c[sp->ncons++] = (consumer){ .algo = -1, .sink = k };
	pthread_mutex_init(&sp->mu, NULL);
	pthread_cond_init(&sp->cv, NULL);
	pthread_t tid[HP_DIGEST_NALGOS + HP_DIGEST_MAX_SINKS];
	unsigned started = 0;
	for (; started < nhelp; started++)
		if (pthread_create(&tid[started], NULL, spread_main, sp))
			break;  /* fewer threads: the same answer */
	spread_loop(sp, true);
	for (unsigned j = 0; j < started; j++)
		pthread_join(tid[j], NULL);
	if (sp->fail_buf != NO_FAIL) {
		s->res.err = sp->fail_err;
		s->res.size = sp->fail_off;
	} else {
		s->res.size = sp->off;
	}
	*offp = sp->off;
	pthread_cond_destroy(&sp->cv);
	pthread_mutex_destroy(&sp->mu);
	free(sp);
}

/* Read fd on this thread alone, feeding every hash and sink in turn. */
static void serial_read(run *r, hasher *h, slot *s, int fd, bool stop_at_size, uint64_t *offp)
{
	hp_digest_result *res = &s->res;
	hp_err *e = &res->err;
	const hp_digest_opts *o = r->o;
	uint64_t expect = s->file.expect_size;
	char qb[256];
	uint64_t off = 0;
	bool inline_progress = r->on_caller && o->progress;
	for (;;) {
		ssize_t n = read(fd, h->buf, r->bs);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			int err = errno;
			hp_fail_errno(e, HP_E_IO, err, "cannot read '%s'", quoted(s, qb, sizeof qb));
			goto out;
		}
		if (n == 0)
			break;
		size_t un = (size_t)n;
		if (expect != HP_DIGEST_UNKNOWN && off + un > expect) {
			hp_fail(e, HP_E_IO, "'%s' changed while being read: it grew past %llu bytes", quoted(s, qb, sizeof qb),
				(unsigned long long)expect);
			goto out;
		}
		if (r->algos & (r->algos - 1)) {
			for (size_t c = 0; c < un; c += FEED_CHUNK) {
				size_t cn = un - c < FEED_CHUNK ? un - c : FEED_CHUNK;
				for (unsigned id = 0; id < HP_DIGEST_NALGOS; id++)
					if (h->ctx[id])
						EVP_DigestUpdate(h->ctx[id], h->buf + c, cn);
			}
		} else {
			for (unsigned id = 0; id < HP_DIGEST_NALGOS; id++)
				if (h->ctx[id])
					EVP_DigestUpdate(h->ctx[id], h->buf, un);
		}
		for (size_t k = 0; k < o->nsinks; k++) {
			const hp_digest_sink *sk = &o->sinks[k];
			if (sk->update && sk->update(sk->ctx, s->state[k], h->buf, un, off, e))
				goto out;
		}
		off += un;
		res->size = off;
		atomic_fetch_add_explicit(&r->bytes_done, un, memory_order_relaxed);
		if (inline_progress)
			progress(r, false);
		if (stop_at_size && off == expect)
			break;
	}
out:
	*offp = off;
}

/* Read fd to its end, feeding every hash and sink of the run. st0 is the
 * status at open for a regular file (NULL for a stream); the file must keep
 * expect bytes (HP_DIGEST_UNKNOWN: any) and its st0 size and mtime. */
static void digest_fd(run *r, hasher *h, slot *s, int fd, const struct stat *st0)
{
	hp_digest_result *res = &s->res;
	hp_err *e = &res->err;
	const hp_digest_opts *o = r->o;
	uint64_t expect = s->file.expect_size;
	char qb[256];

	for (unsigned id = 0; id < HP_DIGEST_NALGOS; id++) {
		if (h->ctx[id] && !EVP_MD_CTX_copy_ex(h->ctx[id], h->tmpl[id])) {
			hp_fail(e, HP_E_INTERNAL, "cannot start %s", algo_tab[id].name);
			return;
		}
	}
	for (size_t k = 0; k < o->nsinks; k++) {
		const hp_digest_sink *sk = &o->sinks[k];
		if (!sk->begin)
			continue;
		s->state[k] = NULL;
		if (sk->begin(sk->ctx, &s->file, &s->state[k], e)) {
			s->state[k] = NULL;
			return;
		}
		s->begun[k] = true;
	}
	for (size_t k = 0; k < o->nsinks; k++)
		if (!o->sinks[k].begin)
			s->begun[k] = true;
	if (st0 && S_ISREG(st0->st_mode) && (uint64_t)st0->st_size > r->bs)
		posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);

	if (st0 && S_ISREG(st0->st_mode) && expect != HP_DIGEST_UNKNOWN && (uint64_t)st0->st_size != expect) {
		hp_fail(e, HP_E_IO, "'%s' changed while being read: %llu bytes instead of %llu", quoted(s, qb, sizeof qb),
			(unsigned long long)st0->st_size, (unsigned long long)expect);
		return;
	}
	uint64_t off = 0;
	/* To the end, or to the listed size of a regular file: whether it grew
	 * then is the fstat below's to see (one read call less per small
	 * file). A file listed as empty is still read to its end: a pseudo-file
	 * (/proc, /sys) that lists a wrong size must fail, not hash as empty. */
	bool stop_at_size = st0 && S_ISREG(st0->st_mode) && expect != HP_DIGEST_UNKNOWN && expect > 0;
	size_t ncons = 0;
	for (unsigned id = 0; id < HP_DIGEST_NALGOS; id++)
		ncons += h->ctx[id] != NULL;
	for (size_t k = 0; k < o->nsinks; k++)
		ncons += o->sinks[k].update != NULL;
	unsigned nhelp = spread_helpers(r, s, ncons);
	if (nhelp) {
		spread_fd(r, h, s, fd, stop_at_size, nhelp, &off);
		atomic_fetch_sub(&r->extra, nhelp);
		if (e->code)
			return;
	} else {
		serial_read(r, h, s, fd, stop_at_size, &off);
		if (e->code)
			return;
	}
	if (expect != HP_DIGEST_UNKNOWN && off != expect) {
		hp_fail(e, HP_E_IO, "'%s' changed while being read: %llu bytes instead of %llu", quoted(s, qb, sizeof qb),
			(unsigned long long)off, (unsigned long long)expect);
		return;
	}
	if (st0 && S_ISREG(st0->st_mode)) {
		struct stat st1;
		if (fstat(fd, &st1) < 0) {
			int err = errno;
			hp_fail_errno(e, HP_E_IO, err, "cannot stat '%s'", quoted(s, qb, sizeof qb));
			return;
		}
		if (st1.st_size != st0->st_size || !same_time(&st1.st_mtim, &st0->st_mtim)) {
			hp_fail(e, HP_E_IO, "'%s' changed while being read", quoted(s, qb, sizeof qb));
			return;
		}
	}
	for (unsigned id = 0; id < HP_DIGEST_NALGOS; id++) {
		unsigned len;
		if (h->ctx[id] && !EVP_DigestFinal_ex(h->ctx[id], res->md[id], &len)) {
			hp_fail(e, HP_E_INTERNAL, "cannot finish %s", algo_tab[id].name);
			return;
		}
	}
	if (s->file.sha256_at_end)
		s->file.sha256 = res->md[HP_DIGEST_ID_SHA256];
	for (size_t k = 0; k < o->nsinks; k++) {
		const hp_digest_sink *sk = &o->sinks[k];
		if (sk->end && sk->end(sk->ctx, s->state[k], off, e))
			return;
	}
}

/* Only what is read later is reset: a slot crosses from a worker's cache
 * to the caller's for every file, and the whole of it is ~1 KiB. */
static void slot_reset(run *r, slot *s)
{
	s->res.size = 0;
	s->res.algos = r->algos;
	s->res.err.code = HP_OK;
	s->res.err.msg[0] = '\0';
	for (size_t k = 0; k < r->o->nsinks; k++) {
		s->state[k] = NULL;
		s->begun[k] = false;
	}
}

static item *item_at(const run *r, size_t i)
{
	return &r->chunks[i >> CHUNK_BITS][i & (CHUNK_ITEMS - 1)];
}

/* What a sink is told about item i. */
static void slot_setup(run *r, slot *s, size_t i)
{
	const item *it = item_at(r, i);
	slot_reset(r, s);
	s->file.index = it->index;
	s->file.seq = i;
	s->file.path = it->path;
	s->file.path_len = it->path_len;
	s->file.expect_size = it->size;
	s->file.stream_offset = it->offset;
	s->file.sha256_at_end = (r->algos & HP_DIGEST_SHA256) != 0;
	s->file.sha256 = NULL;
}

static void process(run *r, hasher *h, slot *s, size_t i)
{
	const item *it = item_at(r, i);
	hp_walk_entry en = { 0 };
	en.path = (char *)it->path;
	en.path_len = it->path_len;
	en.open_path = (char *)it->open_path;
	en.type = it->type;
	en.nofollow = it->nofollow;
	int fd;
	struct stat st;
	if (hp_walk_open(r->l, &en, &fd, &st, &s->res.err))
		return;
	digest_fd(r, h, s, fd, it->type == HP_WALK_STDIN ? NULL : &st);
	if (it->type != HP_WALK_STDIN)
		close(fd);
}

/* Hand a finished slot to the sinks and, if call_cb, to the callback. */
static int deliver(run *r, slot *s, bool call_cb)
{
	for (size_t k = 0; k < r->o->nsinks; k++) {
		const hp_digest_sink *sk = &r->o->sinks[k];
		if (sk->done)
			sk->done(sk->ctx, s->begun[k] ? s->state[k] : NULL, &s->file, &s->res);
		s->state[k] = NULL;
	}
	if (!call_cb || !r->cb)
		return 0;
	return r->cb(r->cb_ud, &r->l->v[s->file.index], s->file.index, &s->res);
}

static void wake_workers(run *r)
{
	if (atomic_load(&r->idle)) {
		pthread_mutex_lock(&r->mu);
		pthread_cond_broadcast(&r->cv_work);
		pthread_mutex_unlock(&r->mu);
	}
}

static void stop_run(run *r)
{
	atomic_store(&r->stop, true);
	pthread_mutex_lock(&r->mu);
	pthread_cond_broadcast(&r->cv_work);
	pthread_mutex_unlock(&r->mu);
}

/* Deliver the results that are ready, in order, without waiting (caller's
 * thread, workers running). */
static void deliver_ready(run *r)
{
	size_t d = atomic_load(&r->delivered);
	while (!atomic_load(&r->stop) && d < r->nitems) {
		slot *s = &r->slots[d % r->window];
		if (!atomic_load(&s->ready))
			break;
		int stop = deliver(r, s, true);
		atomic_store(&s->ready, false);
		atomic_store(&r->delivered, ++d);
		if (stop) {
			stop_run(r);
			break;
		}
	}
	/* once for the whole batch: a wake-up per result would hand the CPU
	 * to a worker that reads one file and waits again */
	wake_workers(r);
	progress(r, false);
}

/* Is it worth waking the caller? Only when the next result in order is
 * ready and so is the BATCH-th (or workers are waiting). */
static bool worth_waking(run *r)
{
	size_t n = atomic_load(&r->published);
	size_t d = atomic_load(&r->delivered);
	if (d >= n || !atomic_load(&r->slots[d % r->window].ready))
		return false;
	if (atomic_load(&r->idle))
		return true;
	size_t last = d + BATCH - 1;
	if (last >= n)
		last = n - 1;
	if (last >= d + r->window)
		last = d + r->window - 1;
	return atomic_load(&r->slots[last % r->window].ready);
}

/* Wait until item i may be read; false when there is no such item or the
 * run stops. */
static bool wait_for_item(run *r, size_t i)
{
	for (;;) {
		if (atomic_load(&r->stop))
			return false;
		bool complete = atomic_load(&r->complete);  /* before published: then it is final */
		size_t n = atomic_load(&r->published);
		if (i < n && i < atomic_load(&r->delivered) + r->window)
			return true;
		if (i >= n && complete)
			return false;
		pthread_mutex_lock(&r->mu);
		atomic_fetch_add(&r->idle, 1);
		/* the caller may be waiting for a batch that will not come
		 * while we wait: it must deliver now */
		if (atomic_load(&r->waiting))
			pthread_cond_signal(&r->cv_ready);
		complete = atomic_load(&r->complete);
		n = atomic_load(&r->published);
		if (!atomic_load(&r->stop) && !(i >= n && complete) &&
		    !(i < n && i < atomic_load(&r->delivered) + r->window))
			pthread_cond_wait(&r->cv_work, &r->mu);
		atomic_fetch_sub(&r->idle, 1);
		pthread_mutex_unlock(&r->mu);
	}
}

static void *worker_main(void *arg)
{
	worker *w = arg;
	run *r = w->r;
	for (;;) {
		size_t i = atomic_fetch_add(&r->next, 1);
		/* Stopping: an item that is inside the window is still read, so
		 * that the items whose sinks get done have no gap. */
		if (!wait_for_item(r, i))
			break;
		slot *s = &r->slots[i % r->window];
		slot_setup(r, s, i);
		process(r, &w->h, s, i);
		atomic_store(&s->ready, true);
		if (atomic_load(&r->waiting) && worth_waking(r)) {
			pthread_mutex_lock(&r->mu);
			pthread_cond_signal(&r->cv_ready);
			pthread_mutex_unlock(&r->mu);
		}
	}
	return NULL;
}

static void deadline_in(struct timespec *t, unsigned ms)
{
	clock_gettime(CLOCK_MONOTONIC, t);
	t->tv_sec += ms / 1000;
	t->tv_nsec += (long)(ms % 1000) * 1000000;
	if (t->tv_nsec >= 1000000000) {
		t->tv_sec++;
		t->tv_nsec -= 1000000000;
	}
}

/* Start one more worker; false when it cannot be. */
static bool start_worker(run *r)
{
	worker *w = &r->w[r->started];
	w->r = r;
	hp_err e = HP_ERR_INIT;
	if (hasher_init(&w->h, r, &e)) {
		hasher_free(&w->h);
		return false;
	}
	if (pthread_create(&w->tid, NULL, worker_main, w)) {
		hasher_free(&w->h);
		return false;
	}
	w->started = true;
	r->started++;
	atomic_store(&r->nstarted, r->started);
	return true;
}

/* Make entry index of the list an item of the run (caller's thread). */
static void publish(run *r, size_t index)
{
	const hp_walk_entry *en = &r->l->v[index];
	if (en->type == HP_WALK_DIR || r->err.code)
		return;
	size_t i = r->nitems;
	size_t c = i >> CHUNK_BITS;
	if (c >= MAX_CHUNKS) {
		hp_fail(&r->err, HP_E_NOMEM, "more than %llu files", (unsigned long long)MAX_CHUNKS * CHUNK_ITEMS);
		return;
	}
	if (!r->chunks[c] && !(r->chunks[c] = malloc(CHUNK_ITEMS * sizeof(item)))) {
		hp_fail_nomem(&r->err);
		return;
	}
	item *it = item_at(r, i);
	it->index = index;
	it->offset = r->next_offset;
	it->size = en->type == HP_WALK_FILE ? en->size : HP_DIGEST_UNKNOWN;
	it->path = en->path;
	it->path_len = en->path_len;
	it->open_path = en->open_path;
	it->type = en->type;
	it->nofollow = en->nofollow;
	if (r->next_offset != HP_DIGEST_UNKNOWN)
		r->next_offset = it->size == HP_DIGEST_UNKNOWN ? HP_DIGEST_UNKNOWN : r->next_offset + it->size;
	if (it->size != HP_DIGEST_UNKNOWN)
		r->total += it->size;
	r->nitems = i + 1;
	atomic_store(&r->published, r->nitems);
	if (r->jobs <= 1)
		return;
	if (r->started < r->jobs && r->started < r->nitems && !start_worker(r) && r->started == 0)
		r->jobs = 1;  /* no thread at all: everything on the caller's thread */
	/* workers that wait for items are woken for a few at a time, and the
	 * results so far handed out, every POLL_EVERY items */
	if (r->started && r->nitems % POLL_EVERY == 0)
		deliver_ready(r);
	else if (r->nitems % WAKE_EVERY == 0)
		wake_workers(r);
}

static void on_added(void *ud, size_t index)
{
	publish(ud, index);
}

/* hp_digest_end with workers: hand out every remaining result in order. */
static void collect(run *r)
{
	size_t d = atomic_load(&r->delivered);
	while (d < r->nitems && !atomic_load(&r->stop)) {
		slot *s = &r->slots[d % r->window];
		if (!atomic_load(&s->ready)) {
			pthread_mutex_lock(&r->mu);
			atomic_store(&r->waiting, true);
			if (!atomic_load(&s->ready)) {
				struct timespec t;
				deadline_in(&t, WAKE_MS);
				pthread_cond_timedwait(&r->cv_ready, &r->mu, &t);
			}
			atomic_store(&r->waiting, false);
			pthread_mutex_unlock(&r->mu);
			progress(r, false);
			continue;
		}
		deliver_ready(r);
		d = atomic_load(&r->delivered);
	}
}

/* hp_digest_end without workers: every item on the caller's thread. */
static void run_on_caller(run *r)
{
	hasher h;
	slot *s = NULL;
	if (hasher_init(&h, r, &r->err) || !(s = calloc(1, sizeof *s))) {
		if (!r->err.code)
			hp_fail_nomem(&r->err);
		hasher_free(&h);
		return;
	}
	r->on_caller = true;
	for (size_t i = atomic_load(&r->delivered); i < r->nitems; i++) {
		slot_setup(r, s, i);
		process(r, &h, s, i);
		if (deliver(r, s, true))
			break;
		progress(r, false);
	}
	hasher_free(&h);
	free(s);
}

static void run_free(run *r)
{
	if (r->chunks)
		for (size_t c = 0; c < MAX_CHUNKS && r->chunks[c]; c++)
			free(r->chunks[c]);
	free(r->chunks);
	free(r->slots);
	free(r->w);
	free_mds(r);
	free(r);
}

static hp_code check_opts(const hp_digest_opts *o, hp_err *e)
{
	if (o->algos & ~(unsigned)HP_DIGEST_ALL)
		return hp_fail(e, HP_E_USAGE, "unknown algorithm bits 0x%x", o->algos & ~(unsigned)HP_DIGEST_ALL);
	if (o->nsinks > HP_DIGEST_MAX_SINKS)
		return hp_fail(e, HP_E_USAGE, "too many digest sinks (%zu, at most %d)", o->nsinks,
			       HP_DIGEST_MAX_SINKS);
	if (o->nsinks && !o->sinks)
		return hp_fail(e, HP_E_USAGE, "digest sinks missing");
	if (o->block_size > ((size_t)1 << 30))
		return hp_fail(e, HP_E_USAGE, "block size %zu is too large", o->block_size);
	return HP_OK;
}

static run *run_new(const hp_digest_opts *o, hp_err *e)
{
	if (check_opts(o, e))
		return NULL;
	run *r = calloc(1, sizeof *r);
	if (!r) {
		hp_fail_nomem(e);
		return NULL;
	}
	r->o = o;
	r->algos = o->algos;
	r->bs = o->block_size ? o->block_size : HP_DIGEST_BLOCK_DEFAULT;
	r->progress_ms = o->progress_ms ? o->progress_ms : 200;
	clock_gettime(CLOCK_MONOTONIC, &r->last_progress);
	atomic_init(&r->published, 0);
	atomic_init(&r->complete, false);
	atomic_init(&r->next, 0);
	atomic_init(&r->delivered, 0);
	atomic_init(&r->stop, false);
	atomic_init(&r->idle, 0);
	atomic_init(&r->extra, 0);
	atomic_init(&r->nstarted, 0);
	atomic_init(&r->waiting, false);
	atomic_init(&r->bytes_done, 0);
	if (fetch_mds(r, e)) {
		free_mds(r);
		free(r);
		return NULL;
	}
	return r;
}

hp_code hp_digest_begin(hp_digest_run **out, hp_walk_list *l, const hp_digest_opts *o, hp_digest_result_fn *cb,
			void *cb_ud, hp_err *e)
{
	*out = NULL;
	run *r = run_new(o, e);
	if (!r)
		return e ? e->code : HP_E_USAGE;
	r->l = l;
	r->cb = cb;
	r->cb_ud = cb_ud;
	r->jobs = o->jobs ? o->jobs : hp_digest_cpus();
	r->chunks = calloc(MAX_CHUNKS, sizeof *r->chunks);
	if (!r->chunks) {
		run_free(r);
		return hp_fail_nomem(e);
	}
	if (r->jobs > 1) {
		r->window = o->window ? o->window : 16 * (size_t)r->jobs < 256 ? 256 : 16 * (size_t)r->jobs;
		r->slots = calloc(r->window, sizeof *r->slots);
		r->w = calloc(r->jobs, sizeof *r->w);
		if (!r->slots || !r->w) {
			run_free(r);
			return hp_fail_nomem(e);
		}
		for (size_t i = 0; i < r->window; i++)
			atomic_init(&r->slots[i].ready, false);
		pthread_condattr_t ca;
		pthread_condattr_init(&ca);
		pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
		pthread_mutex_init(&r->mu, NULL);
		pthread_cond_init(&r->cv_work, NULL);
		pthread_cond_init(&r->cv_ready, &ca);
		pthread_condattr_destroy(&ca);
	}
	for (size_t i = 0; i < l->n; i++)
		publish(r, i);
	l->added = on_added;
	l->added_ud = r;
	*out = r;
	return HP_OK;
}

hp_code hp_digest_end(hp_digest_run *r, hp_err *e)
{
	if (!r)
		return HP_OK;
	r->l->added = NULL;
	r->l->added_ud = NULL;
	bool threads = r->w != NULL;
	if (threads) {
		atomic_store(&r->complete, true);
		pthread_mutex_lock(&r->mu);
		pthread_cond_broadcast(&r->cv_work);
		pthread_mutex_unlock(&r->mu);
	}
	if (r->started) {
		collect(r);
		for (unsigned j = 0; j < r->started; j++)
			pthread_join(r->w[j].tid, NULL);
		/* Stopped early: the files already read still go to the sinks.
		 * Those are the ones taken below delivered + window; a worker that
		 * took one past that was waiting for room, and gave up. */
		size_t d = atomic_load(&r->delivered);
		size_t end = atomic_load(&r->next);
		if (end > r->nitems)
			end = r->nitems;
		if (end > d + r->window)
			end = d + r->window;
		for (; d < end; d++) {
			slot *s = &r->slots[d % r->window];
			if (atomic_load(&s->ready) && s->file.seq == d)
				deliver(r, s, false);
		}
		for (unsigned j = 0; j < r->started; j++)
			hasher_free(&r->w[j].h);
	} else if (!atomic_load(&r->stop) && !r->err.code) {
		run_on_caller(r);
	}
	progress(r, true);
	if (threads) {
		pthread_cond_destroy(&r->cv_ready);
		pthread_cond_destroy(&r->cv_work);
		pthread_mutex_destroy(&r->mu);
	}
	hp_code rc = r->err.code;
	if (rc && e)
		*e = r->err;
	run_free(r);
	return rc;
}

hp_code hp_digest_list(const hp_walk_list *l, const hp_digest_opts *o, hp_digest_result_fn *cb, void *cb_ud,
		       hp_err *e)
{
	hp_digest_run *r;
	/* the list is complete: the run only reads it (no hook is left behind) */
	hp_code rc = hp_digest_begin(&r, (hp_walk_list *)l, o, cb, cb_ud, e);
	if (rc)
		return rc;
	return hp_digest_end(r, e);
}

hp_code hp_digest_fd(int fd, const char *what, const hp_digest_opts *o, hp_digest_result *out)
{
	memset(out, 0, sizeof *out);
	run *r = run_new(o, &out->err);
	if (!r)
		return out->err.code;
	hasher h;
	slot *s = NULL;
	if (hasher_init(&h, r, &out->err) || !(s = calloc(1, sizeof *s))) {
		if (!out->err.code)
			hp_fail_nomem(&out->err);
		hasher_free(&h);
		run_free(r);
		return out->err.code;
	}
	r->on_caller = true;
	/* a regular file read from its start is checked for changes; anything
	 * else (a pipe, a file part-read already) is read as a stream */
	struct stat st;
	bool regular = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && lseek(fd, 0, SEEK_CUR) == 0;
	slot_reset(r, s);
	s->file.path = what;
	s->file.path_len = strlen(what);
	s->file.expect_size = regular ? (uint64_t)st.st_size : HP_DIGEST_UNKNOWN;
	s->file.stream_offset = 0;
	digest_fd(r, &h, s, fd, regular ? &st : NULL);
	for (size_t k = 0; k < o->nsinks; k++) {
		const hp_digest_sink *sk = &o->sinks[k];
		if (sk->done)
			sk->done(sk->ctx, s->begun[k] ? s->state[k] : NULL, &s->file, &s->res);
	}
	*out = s->res;
	hasher_free(&h);
	free(s);
	run_free(r);
	return out->err.code;
}

hp_code hp_digest_mem(const void *p, size_t n, unsigned algos, hp_digest_result *r)
{
	memset(r, 0, sizeof *r);
	if (algos & ~(unsigned)HP_DIGEST_ALL)
		return hp_fail(&r->err, HP_E_USAGE, "unknown algorithm bits 0x%x", algos & ~(unsigned)HP_DIGEST_ALL);
	r->algos = algos;
	r->size = n;
	for (unsigned id = 0; id < HP_DIGEST_NALGOS; id++) {
		if (!(algos & (1u << id)))
			continue;
		EVP_MD *md = EVP_MD_fetch(NULL, algo_tab[id].ossl, NULL);
		unsigned len;
		int ok = md && EVP_Digest(p, n, r->md[id], &len, md, NULL);
		EVP_MD_free(md);
		if (!ok)
			return hp_fail(&r->err, HP_E_INTERNAL, "cannot compute %s", algo_tab[id].name);
	}
	return HP_OK;
}

/* ---- recycled sink states ---- */

#define STATES_KEPT 4096  /* more than any window holds at once */

void hp_digest_states_init(hp_digest_states *p, size_t size)
{
	pthread_mutex_init(&p->mu, NULL);
	p->v = NULL;
	p->n = p->cap = 0;
	p->size = size;
}

void *hp_digest_states_get(hp_digest_states *p)
{
	void *s = NULL;
	pthread_mutex_lock(&p->mu);
	if (p->n)
		s = p->v[--p->n];
	pthread_mutex_unlock(&p->mu);
	if (s)
		memset(s, 0, p->size);
	else
		s = calloc(1, p->size);
	return s;
}

void hp_digest_states_put(hp_digest_states *p, void *s)
{
	if (!s)
		return;
	pthread_mutex_lock(&p->mu);
	if (p->n == p->cap && p->cap < STATES_KEPT) {
		size_t cap = p->cap ? 2 * p->cap : 64;
		void **v = realloc(p->v, cap * sizeof *v);
		if (v) {
			p->v = v;
			p->cap = cap;
		}
	}
	if (p->n < p->cap) {
		p->v[p->n++] = s;
		s = NULL;
	}
	pthread_mutex_unlock(&p->mu);
	free(s);
}

void hp_digest_states_destroy(hp_digest_states *p)
{
	for (size_t i = 0; i < p->n; i++)
		free(p->v[i]);
	free(p->v);
	p->v = NULL;
	p->n = p->cap = 0;
	pthread_mutex_destroy(&p->mu);
}
