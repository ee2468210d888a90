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
 * With more than one job, worker threads take the files in list order from
 * an atomic counter and leave each result in slots[i % window]; the
 * caller's thread hands the slots to the sinks and the callback in order. A
 * worker may start file i only once file i - window has been delivered,
 * which bounds memory to the window however many files there are. The
 * caller sleeps only when the next result is not ready yet, and is woken
 * when BATCH results are ready in order, when workers wait for room, or
 * after WAKE_MS at the latest: with small files, a wake-up per file would
 * cost more than the hashing. */

#define BATCH 16
#define WAKE_MS 2

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
} hasher;

typedef struct run run;

typedef struct worker {
	run *r;
	hasher h;
	pthread_t tid;
	bool started;
} worker;

typedef struct item {
	size_t index;     /* into l->v */
	uint64_t offset;  /* stream offset */
} item;

struct run {
	const hp_walk_list *l;
	const hp_digest_opts *o;
	unsigned algos;
	EVP_MD *md[HP_DIGEST_NALGOS];
	size_t bs;
	item *items;         /* the files of the run, in list order */
	size_t nfiles;
	uint64_t total;
	slot *slots;         /* file i uses slots[i % window] */
	size_t window;
	bool threaded;

	pthread_mutex_t mu;
	pthread_cond_t cv_work;     /* workers wait here for room in the window */
	pthread_cond_t cv_ready;    /* the caller waits here for results */
	atomic_size_t next;         /* the next file to take */
	atomic_size_t delivered;    /* files handed out so far */
	atomic_bool stop;
	atomic_uint idle;           /* workers waiting for room */
	atomic_bool waiting;        /* the caller waits for results */

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
	hp_quote(s->file.path, s->file.path_len, qb, sizeof qb);

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
		hp_fail(e, HP_E_IO, "'%s' changed while being read: %llu bytes instead of %llu", qb,
			(unsigned long long)st0->st_size, (unsigned long long)expect);
		return;
	}
	uint64_t off = 0;
	bool inline_progress = !r->threaded && o->progress;
	/* Always to the end, even with the size known: a pseudo-file (/proc,
	 * /sys) that lists a wrong size must fail, not hash as empty. */
	for (;;) {
		ssize_t n = read(fd, h->buf, r->bs);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			hp_fail_errno(e, HP_E_IO, errno, "cannot read '%s'", qb);
			return;
		}
		if (n == 0)
			break;
		size_t un = (size_t)n;
		if (expect != HP_DIGEST_UNKNOWN && off + un > expect) {
			hp_fail(e, HP_E_IO, "'%s' changed while being read: it grew past %llu bytes", qb,
				(unsigned long long)expect);
			return;
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
				return;
		}
		off += un;
		res->size = off;
		atomic_fetch_add_explicit(&r->bytes_done, un, memory_order_relaxed);
		if (inline_progress)
			progress(r, false);
	}
	if (expect != HP_DIGEST_UNKNOWN && off != expect) {
		hp_fail(e, HP_E_IO, "'%s' changed while being read: %llu bytes instead of %llu", qb,
			(unsigned long long)off, (unsigned long long)expect);
		return;
	}
	if (st0 && S_ISREG(st0->st_mode)) {
		struct stat st1;
		if (fstat(fd, &st1) < 0) {
			hp_fail_errno(e, HP_E_IO, errno, "cannot stat '%s'", qb);
			return;
		}
		if (st1.st_size != st0->st_size || !same_time(&st1.st_mtim, &st0->st_mtim)) {
			hp_fail(e, HP_E_IO, "'%s' changed while being read", qb);
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
	for (size_t k = 0; k < o->nsinks; k++) {
		const hp_digest_sink *sk = &o->sinks[k];
		if (sk->end && sk->end(sk->ctx, s->state[k], off, e))
			return;
	}
}

static void slot_reset(run *r, slot *s)
{
	memset(&s->res, 0, sizeof s->res);
	s->res.algos = r->algos;
	memset(s->state, 0, sizeof s->state);
	memset(s->begun, 0, sizeof s->begun);
}

/* What a sink is told about file i. */
static void slot_setup(run *r, slot *s, size_t i)
{
	const hp_walk_entry *en = &r->l->v[r->items[i].index];
	slot_reset(r, s);
	s->file.index = r->items[i].index;
	s->file.seq = i;
	s->file.path = en->path;
	s->file.path_len = en->path_len;
	s->file.expect_size = en->type == HP_WALK_FILE ? en->size : HP_DIGEST_UNKNOWN;
	s->file.stream_offset = r->items[i].offset;
}

static void process(run *r, hasher *h, slot *s)
{
	const hp_walk_entry *en = &r->l->v[s->file.index];
	int fd;
	struct stat st;
	if (hp_walk_open(r->l, en, &fd, &st, &s->res.err))
		return;
	digest_fd(r, h, s, fd, en->type == HP_WALK_STDIN ? NULL : &st);
	if (en->type != HP_WALK_STDIN)
		close(fd);
}

/* Hand a finished slot to the sinks and, if call_cb, to the callback. */
static int deliver(run *r, slot *s, hp_digest_result_fn *cb, void *cb_ud, bool call_cb)
{
	for (size_t k = 0; k < r->o->nsinks; k++) {
		const hp_digest_sink *sk = &r->o->sinks[k];
		if (sk->done)
			sk->done(sk->ctx, s->begun[k] ? s->state[k] : NULL, &s->file, &s->res);
		s->state[k] = NULL;
	}
	if (!call_cb || !cb)
		return 0;
	return cb(cb_ud, &r->l->v[s->file.index], s->file.index, &s->res);
}

/* Is it worth waking the caller? Only when the next result in order is
 * ready and so is the BATCH-th (or workers wait for room). */
static bool worth_waking(run *r)
{
	size_t d = atomic_load(&r->delivered);
	if (d >= r->nfiles || !atomic_load(&r->slots[d % r->window].ready))
		return false;
	if (atomic_load(&r->idle))
		return true;
	size_t last = d + BATCH - 1;
	if (last >= r->nfiles)
		last = r->nfiles - 1;
	if (last >= d + r->window)
		last = d + r->window - 1;
	return atomic_load(&r->slots[last % r->window].ready);
}

static void *worker_main(void *arg)
{
	worker *w = arg;
	run *r = w->r;
	while (!atomic_load(&r->stop)) {
		size_t i = atomic_fetch_add(&r->next, 1);
		if (i >= r->nfiles)
			break;
		if (i >= atomic_load(&r->delivered) + r->window) {
			pthread_mutex_lock(&r->mu);
			atomic_fetch_add(&r->idle, 1);
			while (!atomic_load(&r->stop) && i >= atomic_load(&r->delivered) + r->window)
				pthread_cond_wait(&r->cv_work, &r->mu);
			atomic_fetch_sub(&r->idle, 1);
			pthread_mutex_unlock(&r->mu);
			/* stopping: a file that is now inside the window is still
			 * read, so that the files whose sinks get done are the
			 * ones before d + window with no gap */
			if (i >= atomic_load(&r->delivered) + r->window)
				break;
		}
		slot *s = &r->slots[i % r->window];
		slot_setup(r, s, i);
		process(r, &w->h, s);
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

/* The caller's side of a threaded run: hand out the results in order.
 * Returns the first file not handed to the callback (nfiles unless the
 * callback asked to stop). */
static size_t collect(run *r, hp_digest_result_fn *cb, void *cb_ud)
{
	size_t d = 0;
	while (d < r->nfiles) {
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
		int stop = deliver(r, s, cb, cb_ud, true);
		atomic_store(&s->ready, false);
		atomic_store(&r->delivered, ++d);
		if (stop) {
			atomic_store(&r->stop, true);
			pthread_mutex_lock(&r->mu);
			pthread_cond_broadcast(&r->cv_work);
			pthread_mutex_unlock(&r->mu);
			return d;
		}
		if (atomic_load(&r->idle)) {
			pthread_mutex_lock(&r->mu);
			pthread_cond_broadcast(&r->cv_work);
			pthread_mutex_unlock(&r->mu);
		}
		progress(r, false);
	}
	return d;
}

static hp_code run_init(run *r, const hp_digest_opts *o, hp_err *e)
{
	memset(r, 0, sizeof *r);
	r->o = o;
	r->algos = o->algos & HP_DIGEST_ALL;
	atomic_init(&r->next, 0);
	atomic_init(&r->delivered, 0);
	atomic_init(&r->stop, false);
	atomic_init(&r->idle, 0);
	atomic_init(&r->waiting, false);
	atomic_init(&r->bytes_done, 0);
	if (o->algos & ~(unsigned)HP_DIGEST_ALL)
		return hp_fail(e, HP_E_USAGE, "unknown algorithm bits 0x%x", o->algos & ~(unsigned)HP_DIGEST_ALL);
	if (o->nsinks > HP_DIGEST_MAX_SINKS)
		return hp_fail(e, HP_E_USAGE, "too many digest sinks (%zu, at most %d)", o->nsinks,
			       HP_DIGEST_MAX_SINKS);
	if (o->nsinks && !o->sinks)
		return hp_fail(e, HP_E_USAGE, "digest sinks missing");
	r->bs = o->block_size ? o->block_size : HP_DIGEST_BLOCK_DEFAULT;
	if (r->bs > ((size_t)1 << 30))
		return hp_fail(e, HP_E_USAGE, "block size %zu is too large", r->bs);
	r->progress_ms = o->progress_ms ? o->progress_ms : 200;
	clock_gettime(CLOCK_MONOTONIC, &r->last_progress);
	return fetch_mds(r, e);
}

static void run_free(run *r)
{
	free(r->items);
	free(r->slots);
	free_mds(r);
}

/* All on the caller's thread, one file after the other. */
static hp_code run_inline(run *r, hp_digest_result_fn *cb, void *cb_ud, hp_err *e)
{
	hasher h;
	hp_code rc = hasher_init(&h, r, e);
	slot *s = rc ? NULL : calloc(1, sizeof *s);
	if (!rc && !s)
		rc = hp_fail_nomem(e);
	for (size_t i = 0; !rc && i < r->nfiles; i++) {
		slot_setup(r, s, i);
		process(r, &h, s);
		if (deliver(r, s, cb, cb_ud, true))
			break;
		progress(r, false);
	}
	if (!rc)
		progress(r, true);
	hasher_free(&h);
	free(s);
	return rc;
}

static hp_code run_threads(run *r, unsigned jobs, hp_digest_result_fn *cb, void *cb_ud, hp_err *e)
{
	hp_code rc = HP_OK;
	r->window = r->o->window ? r->o->window : 16 * (size_t)jobs < 64 ? 64 : 16 * (size_t)jobs;
	if (r->window > r->nfiles)
		r->window = r->nfiles;
	r->slots = calloc(r->window, sizeof *r->slots);
	worker *w = calloc(jobs, sizeof *w);
	if (!r->slots || !w) {
		free(w);
		return hp_fail_nomem(e);
	}
	for (size_t i = 0; i < r->window; i++)
		atomic_init(&r->slots[i].ready, false);
	for (unsigned j = 0; j < jobs && !rc; j++) {
		w[j].r = r;
		rc = hasher_init(&w[j].h, r, e);
	}
	if (rc)
		goto out;

	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_mutex_init(&r->mu, NULL);
	pthread_cond_init(&r->cv_work, NULL);
	pthread_cond_init(&r->cv_ready, &ca);
	pthread_condattr_destroy(&ca);

	unsigned started = 0;
	for (unsigned j = 0; j < jobs; j++) {
		int err = pthread_create(&w[j].tid, NULL, worker_main, &w[j]);
		if (err) {
			if (!started)
				rc = hp_fail_errno(e, HP_E_INTERNAL, err, "cannot start a thread");
			break;
		}
		w[j].started = true;
		started++;
	}
	size_t d = started ? collect(r, cb, cb_ud) : r->nfiles;
	for (unsigned j = 0; j < jobs; j++)
		if (w[j].started)
			pthread_join(w[j].tid, NULL);
	/* Stopped early: the files already read still go to the sinks. Those
	 * are the ones taken below d + window; a worker that took a file past
	 * that was waiting for room, and gave up. */
	size_t end = atomic_load(&r->next);
	if (end > r->nfiles)
		end = r->nfiles;
	if (end > d + r->window)
		end = d + r->window;
	for (; started && d < end; d++) {
		slot *s = &r->slots[d % r->window];
		if (atomic_load(&s->ready) && s->file.seq == d)
			deliver(r, s, cb, cb_ud, false);
	}
	if (started)
		progress(r, true);
	pthread_cond_destroy(&r->cv_ready);
	pthread_cond_destroy(&r->cv_work);
	pthread_mutex_destroy(&r->mu);
out:
	for (unsigned j = 0; j < jobs; j++)
		hasher_free(&w[j].h);
	free(w);
	return rc;
}

hp_code hp_digest_list(const hp_walk_list *l, const hp_digest_opts *o, hp_digest_result_fn *cb, void *cb_ud,
		       hp_err *e)
{
	run r;
	hp_code rc = run_init(&r, o, e);
	if (rc) {
		run_free(&r);
		return rc;
	}
	r.l = l;
	r.total = l->total_size;
	if (l->nfiles && !(r.items = malloc(l->nfiles * sizeof *r.items))) {
		run_free(&r);
		return hp_fail_nomem(e);
	}
	uint64_t off = 0;
	for (size_t i = 0; i < l->n && r.nfiles < l->nfiles; i++) {
		const hp_walk_entry *en = &l->v[i];
		if (en->type == HP_WALK_DIR)
			continue;
		r.items[r.nfiles++] = (item){ i, off };
		if (off != HP_DIGEST_UNKNOWN)
			off = en->type == HP_WALK_FILE ? off + en->size : HP_DIGEST_UNKNOWN;
	}

	unsigned jobs = o->jobs ? o->jobs : hp_digest_cpus();
	if (jobs > r.nfiles)
		jobs = (unsigned)r.nfiles;
	r.threaded = jobs > 1;
	rc = r.threaded ? run_threads(&r, jobs, cb, cb_ud, e) : run_inline(&r, cb, cb_ud, e);
	run_free(&r);
	return rc;
}

hp_code hp_digest_fd(int fd, const char *what, const hp_digest_opts *o, hp_digest_result *out)
{
	run r;
	hasher h;
	slot *s = calloc(1, sizeof *s);
	memset(out, 0, sizeof *out);
	if (!s)
		return hp_fail_nomem(&out->err);
	hp_code rc = run_init(&r, o, &out->err);
	if (rc == HP_OK)
		rc = hasher_init(&h, &r, &out->err);
	else
		memset(&h, 0, sizeof h);
	if (rc) {
		hasher_free(&h);
		free_mds(&r);
		free(s);
		return rc;
	}
	/* a regular file read from its start is checked for changes; anything
	 * else (a pipe, a file part-read already) is read as a stream */
	struct stat st;
	bool regular = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && lseek(fd, 0, SEEK_CUR) == 0;
	slot_reset(&r, s);
	s->file.path = what;
	s->file.path_len = strlen(what);
	s->file.expect_size = regular ? (uint64_t)st.st_size : HP_DIGEST_UNKNOWN;
	s->file.stream_offset = 0;
	digest_fd(&r, &h, s, fd, regular ? &st : NULL);
	for (size_t k = 0; k < o->nsinks; k++) {
		const hp_digest_sink *sk = &o->sinks[k];
		if (sk->done)
			sk->done(sk->ctx, s->begun[k] ? s->state[k] : NULL, &s->file, &s->res);
	}
	*out = s->res;
	hasher_free(&h);
	free_mds(&r);
	free(s);
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
