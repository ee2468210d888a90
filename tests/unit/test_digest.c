/* hp_digest: known answers, one read feeding every hash equals one-shot
 * hashing across block boundaries, threads give what one thread gives, the
 * sink interface (offsets, order, a BitTorrent-v1-style piece hasher whose
 * pieces span files), per-file errors, stopping early. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hp_digest.h"
#include "hp_walk.h"
#include "tap.h"

#include "banned.h"

static char root[256];

/* ---- fixtures ---- */

static uint32_t rng = 12345;

static uint8_t rnd8(void)
{
	rng = rng * 1103515245u + 12345u;
	return (uint8_t)(rng >> 16);
}

typedef struct fixture {
	char name[64];
	uint8_t *data;
	size_t len;
} fixture;

static void write_bytes(const char *rel, const uint8_t *p, size_t n)
{
	char path[512];
	snprintf(path, sizeof path, "%s/%s", root, rel);
	FILE *f = fopen(path, "wb");
	if (!f || (n && fwrite(p, 1, n, f) != n) || fclose(f)) {
		perror(path);
		exit(2);
	}
}

/* Files named dir/NNNN with the given sizes and random contents. */
static fixture *make_files(const char *dir, const size_t *sizes, size_t n)
{
	char path[512];
	snprintf(path, sizeof path, "%s/%s", root, dir);
	if (mkdir(path, 0755) < 0) {
		perror(path);
		exit(2);
	}
	fixture *fx = calloc(n, sizeof *fx);
	for (size_t i = 0; i < n; i++) {
		snprintf(fx[i].name, sizeof fx[i].name, "%s/%04zu", dir, i);
		fx[i].len = sizes[i];
		fx[i].data = malloc(sizes[i] ? sizes[i] : 1);
		for (size_t k = 0; k < sizes[i]; k++)
			fx[i].data[k] = rnd8();
		write_bytes(fx[i].name, fx[i].data, sizes[i]);
	}
	return fx;
}

static void free_files(fixture *fx, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(fx[i].data);
	free(fx);
}

static void walk_dir(hp_walk_list *l, const char *dir)
{
	hp_err e = HP_ERR_INIT;
	hp_walk_opts o = { root, 0, NULL, NULL };
	if (hp_walk_init(l, &o, &e) || hp_walk_add(l, dir, &e)) {
		fprintf(stderr, "walk %s: %s\n", dir, e.msg);
		exit(2);
	}
}

/* ---- collecting results ---- */

typedef struct results {
	hp_digest_result *r;
	size_t n, cap;
	size_t *index;
	bool in_order;
	size_t stop_after;  /* 0: never */
} results;

static int collect(void *ud, const hp_walk_entry *en, size_t index, const hp_digest_result *r)
{
	(void)en;
	results *x = ud;
	if (x->n == x->cap) {
		x->cap = x->cap ? 2 * x->cap : 16;
		x->r = realloc(x->r, x->cap * sizeof *x->r);
		x->index = realloc(x->index, x->cap * sizeof *x->index);
	}
	if (x->n && index <= x->index[x->n - 1])
		x->in_order = false;
	x->index[x->n] = index;
	x->r[x->n++] = *r;
	if (x->stop_after)
		usleep(2000); /* let the workers run ahead and wait for room */
	return x->stop_after && x->n >= x->stop_after;
}

static void results_free(results *x)
{
	free(x->r);
	free(x->index);
	memset(x, 0, sizeof *x);
}

/* Every result equals one-shot hashing of the fixture's bytes. */
static bool matches(const results *x, const fixture *fx, size_t n, unsigned algos)
{
	if (x->n != n)
		return false;
	for (size_t i = 0; i < n; i++) {
		hp_digest_result m;
		hp_digest_mem(fx[i].data, fx[i].len, algos, &m);
		if (x->r[i].err.code || x->r[i].size != fx[i].len || x->r[i].algos != algos) {
			printf("# %s: size %llu err '%s'\n", fx[i].name, (unsigned long long)x->r[i].size,
			       x->r[i].err.msg);
			return false;
		}
		for (unsigned id = 0; id < HP_DIGEST_NALGOS; id++)
			if ((algos & (1u << id)) && memcmp(m.md[id], x->r[i].md[id], hp_digest_algo_size(id))) {
				printf("# %s: %s differs\n", fx[i].name, hp_digest_algo_name(id));
				return false;
			}
	}
	return true;
}

/* ---- a sink that records what it is given ---- */

typedef struct rec_ctx {
	atomic_int begins, ends;
	int dones, dones_null;
	size_t next_seq;
	uint64_t next_stream;
	bool order_ok, offsets_ok, bytes_ok, stream_ok;
} rec_ctx;

typedef struct rec_state {
	uint8_t *bytes;
	size_t len, cap;
	uint64_t stream_offset;
	bool offsets_ok;
	bool ended;
} rec_state;

static hp_code rec_begin(void *ctx, const hp_digest_file *f, void **state, hp_err *e)
{
	rec_ctx *c = ctx;
	rec_state *s = calloc(1, sizeof *s);
	if (!s)
		return hp_fail_nomem(e);
	s->offsets_ok = true;
	s->stream_offset = f->stream_offset;
	atomic_fetch_add(&c->begins, 1);
	*state = s;
	return HP_OK;
}

static hp_code rec_update(void *ctx, void *state, const uint8_t *p, size_t n, uint64_t offset, hp_err *e)
{
	(void)ctx;
	rec_state *s = state;
	if (offset != s->len || n == 0)
		s->offsets_ok = false;
	if (s->len + n > s->cap) {
		s->cap = (s->len + n) * 2;
		uint8_t *b = realloc(s->bytes, s->cap);
		if (!b)
			return hp_fail_nomem(e);
		s->bytes = b;
	}
	memcpy(s->bytes + s->len, p, n);
	s->len += n;
	return HP_OK;
}

static hp_code rec_end(void *ctx, void *state, uint64_t size, hp_err *e)
{
	(void)e;
	rec_ctx *c = ctx;
	rec_state *s = state;
	if (size != s->len)
		s->offsets_ok = false;
	s->ended = true;
	atomic_fetch_add(&c->ends, 1);
	return HP_OK;
}

static void rec_done(void *ctx, void *state, const hp_digest_file *f, const hp_digest_result *r)
{
	rec_ctx *c = ctx;
	rec_state *s = state;
	c->dones++;
	if (f->seq != c->next_seq++)
		c->order_ok = false;
	if (f->stream_offset != c->next_stream)
		c->stream_ok = false;
	if (c->next_stream != HP_DIGEST_UNKNOWN)
		c->next_stream = f->expect_size == HP_DIGEST_UNKNOWN ? HP_DIGEST_UNKNOWN : c->next_stream + f->expect_size;
	if (!s) {
		c->dones_null++;
		return;
	}
	if (!s->offsets_ok || s->stream_offset != f->stream_offset)
		c->offsets_ok = false;
	if (r->err.code == HP_OK) {
		hp_digest_result m;
		hp_digest_mem(s->bytes, s->len, HP_DIGEST_SHA256, &m);
		if (!s->ended || s->len != r->size || memcmp(m.md[0], r->md[0], 32))
			c->bytes_ok = false;
	}
	free(s->bytes);
	free(s);
}

static rec_ctx rec_new(void)
{
	rec_ctx c;
	memset(&c, 0, sizeof c);
	atomic_init(&c.begins, 0);
	atomic_init(&c.ends, 0);
	c.order_ok = c.offsets_ok = c.bytes_ok = c.stream_ok = true;
	return c;
}

/* ---- a BitTorrent-v1-style piece hasher: SHA-1 of fixed-size pieces of
 * the concatenation of all files, pieces spanning files, computed while the
 * files are read in parallel (the design in docs/digest.md): each file
 * hashes the whole pieces inside it on its worker, keeps the bytes before its
 * first piece boundary (head, < P bytes) and the running hash of the piece
 * it ends in (tail); done, in list order, joins head and tail up. ---- */

typedef struct v1_ctx {
	uint64_t P;
	EVP_MD_CTX *carry;
	uint64_t carry_fill;
	uint8_t (*pieces)[20];
	size_t npieces, cap;
	bool failed;
} v1_ctx;

typedef struct v1_state {
	uint64_t head_len;   /* bytes that finish a piece begun in an earlier file */
	uint8_t *head;
	EVP_MD_CTX *cur;     /* the piece being hashed */
	uint64_t cur_fill;
	uint8_t (*full)[20]; /* whole pieces inside this file */
	size_t nfull, cap;
} v1_state;

static void v1_push(uint8_t (**v)[20], size_t *n, size_t *cap, const uint8_t md[20])
{
	if (*n == *cap) {
		*cap = *cap ? *cap * 2 : 8;
		*v = realloc(*v, *cap * 20);
	}
	memcpy((*v)[(*n)++], md, 20);
}

static hp_code v1_begin(void *ctx, const hp_digest_file *f, void **state, hp_err *e)
{
	v1_ctx *c = ctx;
	if (f->stream_offset == HP_DIGEST_UNKNOWN || f->expect_size == HP_DIGEST_UNKNOWN)
		return hp_fail(e, HP_E_USAGE, "v1 pieces need known sizes");
	v1_state *s = calloc(1, sizeof *s);
	uint64_t gap = (c->P - f->stream_offset % c->P) % c->P;
	s->head_len = gap < f->expect_size ? gap : f->expect_size;
	s->head = malloc(s->head_len ? s->head_len : 1);
	s->cur = EVP_MD_CTX_new();
	EVP_DigestInit_ex(s->cur, EVP_sha1(), NULL);
	*state = s;
	return HP_OK;
}

static hp_code v1_update(void *ctx, void *state, const uint8_t *p, size_t n, uint64_t off, hp_err *e)
{
	(void)e;
	v1_ctx *c = ctx;
	v1_state *s = state;
	while (n) {
		if (off < s->head_len) {
			size_t k = s->head_len - off < n ? (size_t)(s->head_len - off) : n;
			memcpy(s->head + off, p, k);
			p += k, n -= k, off += k;
			continue;
		}
		size_t k = c->P - s->cur_fill < n ? (size_t)(c->P - s->cur_fill) : n;
		EVP_DigestUpdate(s->cur, p, k);
		s->cur_fill += k;
		p += k, n -= k, off += k;
		if (s->cur_fill == c->P) {
			uint8_t md[20];
			EVP_DigestFinal_ex(s->cur, md, NULL);
			v1_push(&s->full, &s->nfull, &s->cap, md);
			EVP_DigestInit_ex(s->cur, EVP_sha1(), NULL);
			s->cur_fill = 0;
		}
	}
	return HP_OK;
}

static void v1_done(void *ctx, void *state, const hp_digest_file *f, const hp_digest_result *r)
{
	(void)f;
	v1_ctx *c = ctx;
	v1_state *s = state;
	if (!s || r->err.code) {
		c->failed = true;
	} else {
		if (s->head_len) {
			EVP_DigestUpdate(c->carry, s->head, s->head_len);
			c->carry_fill += s->head_len;
			if (c->carry_fill == c->P) {
				uint8_t md[20];
				EVP_DigestFinal_ex(c->carry, md, NULL);
				v1_push(&c->pieces, &c->npieces, &c->cap, md);
				EVP_DigestInit_ex(c->carry, EVP_sha1(), NULL);
				c->carry_fill = 0;
			}
		}
		for (size_t i = 0; i < s->nfull; i++)
			v1_push(&c->pieces, &c->npieces, &c->cap, s->full[i]);
		if (s->cur_fill) {
			if (c->carry_fill)
				c->failed = true; /* cannot happen: the tail starts on a boundary */
			EVP_MD_CTX *t = c->carry;
			c->carry = s->cur;
			s->cur = t;
			c->carry_fill = s->cur_fill;
		}
	}
	if (s) {
		EVP_MD_CTX_free(s->cur);
		free(s->head);
		free(s->full);
		free(s);
	}
}

static void v1_finish(v1_ctx *c)
{
	if (c->carry_fill) {
		uint8_t md[20];
		EVP_DigestFinal_ex(c->carry, md, NULL);
		v1_push(&c->pieces, &c->npieces, &c->cap, md);
		c->carry_fill = 0;
	}
}

/* ---- tests ---- */

static void test_known_answers(void)
{
	hp_digest_result r;
	char hex[2 * HP_DIGEST_MAX_SIZE + 1];
	ok(hp_digest_mem("abc", 3, HP_DIGEST_ALL, &r) == HP_OK, "digest 'abc'");
	hp_digest_hex(&r, HP_DIGEST_ID_SHA256, hex);
	is_str(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", "sha256('abc')");
	hp_digest_hex(&r, HP_DIGEST_ID_SHA1, hex);
	is_str(hex, "a9993e364706816aba3e25717850c26c9cd0d89d", "sha1('abc')");
	hp_digest_hex(&r, HP_DIGEST_ID_SHA512, hex);
	is_str(hex,
	       "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
	       "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f",
	       "sha512('abc')");
	hp_digest_mem("", 0, HP_DIGEST_SHA256, &r);
	hp_digest_hex(&r, HP_DIGEST_ID_SHA256, hex);
	is_str(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", "sha256('')");
	ok(hp_digest_mem("", 0, 1u << 7, &r) == HP_E_USAGE, "unknown bits refused");
}

static void test_parse(void)
{
	unsigned a = 0;
	hp_err e = HP_ERR_INIT;
	ok(hp_digest_parse_algos("sha256", &a, &e) == HP_OK && a == HP_DIGEST_SHA256, "sha256");
	ok(hp_digest_parse_algos("sha256,sha1", &a, &e) == HP_OK && a == (HP_DIGEST_SHA256 | HP_DIGEST_SHA1),
	   "sha256,sha1");
	ok(hp_digest_parse_algos("sha512,sha1,sha256,sha1", &a, &e) == HP_OK && a == HP_DIGEST_ALL, "all, repeated");
	ok(hp_digest_parse_algos("md5", &a, &e) == HP_E_USAGE && strstr(e.msg, "'md5'"), "md5 named: %s", e.msg);
	ok(hp_digest_parse_algos("sha256,blake3", &a, &e) == HP_E_USAGE && strstr(e.msg, "'blake3'"),
	   "second name checked: %s", e.msg);
	ok(hp_digest_parse_algos("", &a, &e) == HP_E_USAGE, "empty list");
	ok(hp_digest_parse_algos("sha256,", &a, &e) == HP_E_USAGE, "trailing comma");
	ok(hp_digest_parse_algos("SHA256", &a, &e) == HP_E_USAGE, "case-sensitive");
	is_str(hp_digest_algo_name(HP_DIGEST_ID_SHA1), "sha1", "name");
	is_int(hp_digest_algo_size(HP_DIGEST_ID_SHA512), 64, "size");
	ok(hp_digest_algo_name(HP_DIGEST_NALGOS) == NULL, "no name past the end");
}

static void test_block_boundaries(void)
{
	static const size_t sizes[] = { 0, 1, 4095, 4096, 4097, 3 * 4096 + 7, 100000, 8192 };
	size_t n = sizeof sizes / sizeof *sizes;
	fixture *fx = make_files("bb", sizes, n);
	hp_walk_list l;
	walk_dir(&l, "bb");
	hp_err e = HP_ERR_INIT;
	for (unsigned jobs = 1; jobs <= 3; jobs += 2) {
		for (unsigned algos = 1; algos <= HP_DIGEST_ALL; algos++) {
			results x = { .in_order = true };
			hp_digest_opts o = { .algos = algos, .jobs = jobs, .block_size = 4096 };
			ok(hp_digest_list(&l, &o, collect, &x, &e) == HP_OK, "run jobs=%u algos=%u", jobs, algos);
			ok(matches(&x, fx, n, algos) && x.in_order, "4 KiB blocks, jobs=%u, algos=%u: one-shot digests",
			   jobs, algos);
			results_free(&x);
		}
	}
	/* odd block sizes */
	for (size_t bs = 1; bs <= 4099; bs += 1366) {
		results x = { .in_order = true };
		hp_digest_opts o = { .algos = HP_DIGEST_ALL, .jobs = 2, .block_size = bs };
		hp_digest_list(&l, &o, collect, &x, &e);
		ok(matches(&x, fx, n, HP_DIGEST_ALL), "block size %zu", bs);
		results_free(&x);
	}
	hp_walk_free(&l);
	free_files(fx, n);

	/* the default 1 MiB block: exactly one block, one byte more, a few MB */
	static const size_t big[] = { 1u << 20, (1u << 20) + 1, (1u << 20) - 1, 3 * (1u << 20) + 12345 };
	fx = make_files("big", big, 4);
	walk_dir(&l, "big");
	results x = { .in_order = true };
	hp_digest_opts o = { .algos = HP_DIGEST_SHA256 | HP_DIGEST_SHA1, .jobs = 2 };
	ok(hp_digest_list(&l, &o, collect, &x, &e) == HP_OK, "run");
	ok(matches(&x, fx, 4, HP_DIGEST_SHA256 | HP_DIGEST_SHA1), "1 MiB, 1 MiB +- 1, 3 MiB+: one-shot digests");
	results_free(&x);
	hp_walk_free(&l);
	free_files(fx, 4);
}

static void progress_cb(void *ud, uint64_t done_, uint64_t total)
{
	uint64_t *last = ud;
	last[0] = done_;
	last[1] = total;
	last[2]++;
}

static void test_many_files_and_sinks(void)
{
	enum { N = 300 };
	size_t sizes[N];
	for (size_t i = 0; i < N; i++)
		sizes[i] = (i * 7919u) % 5000;
	fixture *fx = make_files("many", sizes, N);
	hp_walk_list l;
	walk_dir(&l, "many");
	hp_err e = HP_ERR_INIT;

	results one = { .in_order = true };
	hp_digest_opts o1 = { .algos = HP_DIGEST_SHA256, .jobs = 1 };
	ok(hp_digest_list(&l, &o1, collect, &one, &e) == HP_OK, "300 files, one job");
	ok(matches(&one, fx, N, HP_DIGEST_SHA256), "one job: right digests");

	for (unsigned jobs = 2; jobs <= 8; jobs *= 2) {
		rec_ctx rc = rec_new();
		hp_digest_sink sink = { "rec", &rc, rec_begin, rec_update, rec_end, rec_done };
		uint64_t prog[3] = { 0, 0, 0 };
		results x = { .in_order = true };
		hp_digest_opts o = { .algos = HP_DIGEST_SHA256, .jobs = jobs, .block_size = 1000,
				     .sinks = &sink, .nsinks = 1, .progress = progress_cb, .ud = prog };
		ok(hp_digest_list(&l, &o, collect, &x, &e) == HP_OK, "300 files, %u jobs", jobs);
		ok(x.in_order && x.n == N, "%u jobs: every result, in list order", jobs);
		bool same = x.n == one.n;
		for (size_t i = 0; same && i < x.n; i++)
			same = memcmp(x.r[i].md[0], one.r[i].md[0], 32) == 0 && x.r[i].size == one.r[i].size;
		ok(same, "%u jobs: identical to one job", jobs);
		is_int(atomic_load(&rc.begins), N, "sink begin per file");
		is_int(atomic_load(&rc.ends), N, "sink end per file");
		is_int(rc.dones, N, "sink done per file");
		ok(rc.order_ok, "sink done in list order");
		ok(rc.offsets_ok, "update offsets contiguous, from 0, sizes right");
		ok(rc.bytes_ok, "the sink saw exactly the file's bytes");
		ok(rc.stream_ok, "stream offsets are the running sum of sizes");
		ok(prog[2] >= 1 && prog[0] == prog[1] && prog[1] == l.total_size, "progress ends at the total");
		results_free(&x);
	}
	results_free(&one);
	hp_walk_free(&l);
	free_files(fx, N);
}

static void test_v1_pieces(void)
{
	static const size_t sizes[] = { 0, 1, 999, 1000, 1001, 2500, 7, 0, 3000, 13, 4242, 1 };
	size_t n = sizeof sizes / sizeof *sizes;
	fixture *fx = make_files("v1", sizes, n);
	hp_walk_list l;
	walk_dir(&l, "v1");
	hp_err e = HP_ERR_INIT;

	/* expected: SHA-1 of each P-byte piece of the concatenation */
	const uint64_t P = 1000;
	size_t total = 0;
	for (size_t i = 0; i < n; i++)
		total += sizes[i];
	uint8_t *cat = malloc(total);
	size_t o_ = 0;
	for (size_t i = 0; i < n; i++) {
		memcpy(cat + o_, fx[i].data, sizes[i]);
		o_ += sizes[i];
	}
	size_t want_n = (total + P - 1) / P;
	uint8_t(*want)[20] = calloc(want_n, 20);
	for (size_t i = 0; i < want_n; i++) {
		size_t len = total - i * P < P ? total - i * P : P;
		EVP_Digest(cat + i * P, len, want[i], NULL, EVP_sha1(), NULL);
	}

	for (unsigned jobs = 1; jobs <= 3; jobs++) {
		for (size_t bs = 333; bs <= 4096; bs = bs * 3 + 1) {
			v1_ctx c = { .P = P };
			c.carry = EVP_MD_CTX_new();
			EVP_DigestInit_ex(c.carry, EVP_sha1(), NULL);
			hp_digest_sink sink = { "v1", &c, v1_begin, v1_update, NULL, v1_done };
			hp_digest_opts o = { .algos = 0, .jobs = jobs, .block_size = bs, .sinks = &sink, .nsinks = 1,
					     .window = jobs == 3 ? 2 : 0 };
			ok(hp_digest_list(&l, &o, NULL, NULL, &e) == HP_OK, "v1 run, jobs=%u, block %zu", jobs, bs);
			v1_finish(&c);
			ok(!c.failed && c.npieces == want_n && memcmp(c.pieces, want, want_n * 20) == 0,
			   "v1 pieces spanning files equal pieces of the concatenation (jobs=%u, block %zu)", jobs, bs);
			EVP_MD_CTX_free(c.carry);
			free(c.pieces);
		}
	}
	free(want);
	free(cat);
	hp_walk_free(&l);
	free_files(fx, n);
}

static void test_errors(void)
{
	static const size_t sizes[] = { 10, 20, 30, 40, 5000 };
	fixture *fx = make_files("err", sizes, 5);
	hp_walk_list l;
	walk_dir(&l, "err");
	hp_err e = HP_ERR_INIT;
	char p[512];
	snprintf(p, sizeof p, "%s/err/0001", root);
	unlink(p);
	snprintf(p, sizeof p, "%s/err/0003", root);
	FILE *f = fopen(p, "ab");
	fputs("more", f);
	fclose(f);
	for (unsigned jobs = 1; jobs <= 2; jobs++) {
		rec_ctx rc = rec_new();
		hp_digest_sink sink = { "rec", &rc, rec_begin, rec_update, rec_end, rec_done };
		results x = { .in_order = true };
		hp_digest_opts o = { .algos = HP_DIGEST_SHA256, .jobs = jobs, .sinks = &sink, .nsinks = 1 };
		ok(hp_digest_list(&l, &o, collect, &x, &e) == HP_OK, "run with bad files, jobs=%u", jobs);
		is_int(x.n, 5, "a result for every file");
		ok(x.r[0].err.code == HP_OK && x.r[2].err.code == HP_OK && x.r[4].err.code == HP_OK, "good files fine");
		ok(x.r[1].err.code == HP_E_NOINPUT && strstr(x.r[1].err.msg, "err/0001"), "vanished file: %s",
		   x.r[1].err.msg);
		ok(x.r[3].err.code == HP_E_IO && strstr(x.r[3].err.msg, "changed"), "grown file: %s", x.r[3].err.msg);
		is_int(rc.dones, 5, "sink done for every file");
		is_int(rc.dones_null, 1, "state NULL where begin was not called");
		ok(rc.bytes_ok, "sink bytes right");
		results_free(&x);
	}
	hp_walk_free(&l);
	free_files(fx, 5);
}

static void test_stop(void)
{
	enum { N = 200 };
	size_t sizes[N];
	for (size_t i = 0; i < N; i++)
		sizes[i] = i * 13;
	fixture *fx = make_files("stop", sizes, N);
	hp_walk_list l;
	walk_dir(&l, "stop");
	hp_err e = HP_ERR_INIT;
	for (unsigned jobs = 1; jobs <= 4; jobs += 3) {
		rec_ctx rc = rec_new();
		hp_digest_sink sink = { "rec", &rc, rec_begin, rec_update, rec_end, rec_done };
		results x = { .in_order = true, .stop_after = 5 };
		hp_digest_opts o = { .algos = HP_DIGEST_SHA256, .jobs = jobs, .sinks = &sink, .nsinks = 1,
				     .window = 16 };
		ok(hp_digest_list(&l, &o, collect, &x, &e) == HP_OK, "stopped run, jobs=%u", jobs);
		is_int(x.n, 5, "the callback is not called after it asks to stop");
		ok(rc.dones == atomic_load(&rc.begins) && rc.dones >= 5 && rc.dones <= 5 + 16,
		   "every begun sink state is done, nothing read past the window (%d)", rc.dones);
		ok(rc.order_ok, "in order");
		results_free(&x);
	}
	hp_walk_free(&l);
	free_files(fx, N);
}

static void test_fd(void)
{
	int pfd[2];
	if (pipe(pfd) < 0)
		exit(2);
	if (write(pfd[1], "abc", 3) != 3)
		exit(2);
	close(pfd[1]);
	hp_digest_result r;
	hp_digest_opts o = { .algos = HP_DIGEST_SHA1 };
	ok(hp_digest_fd(pfd[0], "<pipe>", &o, &r) == HP_OK && r.size == 3, "a pipe");
	char hex[129];
	hp_digest_hex(&r, HP_DIGEST_ID_SHA1, hex);
	is_str(hex, "a9993e364706816aba3e25717850c26c9cd0d89d", "sha1 of a pipe");
	close(pfd[0]);

	uint8_t data[3000];
	for (size_t i = 0; i < sizeof data; i++)
		data[i] = rnd8();
	write_bytes("fd.bin", data, sizeof data);
	char p[512];
	snprintf(p, sizeof p, "%s/fd.bin", root);
	int fd = open(p, O_RDONLY);
	rec_ctx rc = rec_new();
	hp_digest_sink sink = { "rec", &rc, rec_begin, rec_update, rec_end, rec_done };
	hp_digest_opts o2 = { .algos = HP_DIGEST_SHA256, .block_size = 1024, .sinks = &sink, .nsinks = 1 };
	ok(hp_digest_fd(fd, "fd.bin", &o2, &r) == HP_OK && r.size == sizeof data, "a file descriptor");
	hp_digest_result m;
	hp_digest_mem(data, sizeof data, HP_DIGEST_SHA256, &m);
	ok(memcmp(m.md[0], r.md[0], 32) == 0, "same as one-shot");
	ok(rc.dones == 1 && rc.bytes_ok && rc.offsets_ok, "sinks run for one descriptor too");
	close(fd);
	fd = open(p, O_RDONLY);
	if (lseek(fd, 1000, SEEK_SET) != 1000)
		exit(2);
	ok(hp_digest_fd(fd, "fd.bin", &o2, &r) == HP_OK && r.size == 2000, "from the current position");
	hp_digest_mem(data + 1000, 2000, HP_DIGEST_SHA256, &m);
	ok(memcmp(m.md[0], r.md[0], 32) == 0, "digest of the rest");
	close(fd);
	ok(hp_digest_fd(-1, "bad", &o2, &r) == HP_E_IO && strstr(r.err.msg, "'bad'"), "bad descriptor: %s",
	   r.err.msg);
}

/* hp_digest_begin / hp_walk_add / hp_digest_end: reading while listing
 * gives what listing then reading gives. */
static void test_streaming(void)
{
	enum { N = 700 };
	size_t sizes[N];
	for (size_t i = 0; i < N; i++)
		sizes[i] = (i * 104729u) % 9000;
	fixture *fx = make_files("s1", sizes, N);
	fixture *fy = make_files("s2", sizes, 40);
	hp_err e = HP_ERR_INIT;

	hp_walk_list ref;
	hp_walk_opts wo = { root, 0, NULL, NULL };
	hp_walk_init(&ref, &wo, &e);
	hp_walk_add(&ref, "s1", &e);
	hp_walk_add(&ref, "s2", &e);
	results want = { .in_order = true };
	hp_digest_opts o1 = { .algos = HP_DIGEST_SHA256 | HP_DIGEST_SHA1, .jobs = 1 };
	ok(hp_digest_list(&ref, &o1, collect, &want, &e) == HP_OK && want.n == N + 40, "reference run");
	hp_walk_free(&ref);

	for (unsigned jobs = 1; jobs <= 4; jobs++) {
		hp_walk_list l;
		hp_walk_init(&l, &wo, &e);
		rec_ctx rc = rec_new();
		hp_digest_sink sink = { "rec", &rc, rec_begin, rec_update, rec_end, rec_done };
		uint64_t prog[3] = { 0, 0, 0 };
		results x = { .in_order = true };
		hp_digest_opts o = { .algos = HP_DIGEST_SHA256 | HP_DIGEST_SHA1, .jobs = jobs, .sinks = &sink,
				     .nsinks = 1, .progress = progress_cb, .ud = prog, .window = jobs == 4 ? 8 : 0 };
		hp_digest_run *run;
		ok(hp_digest_begin(&run, &l, &o, collect, &x, &e) == HP_OK, "begin, jobs=%u", jobs);
		ok(hp_walk_add(&l, "s1", &e) == HP_OK, "walk while reading");
		size_t during = x.n;
		ok(hp_walk_add(&l, "nope", &e) == HP_E_NOINPUT, "a bad argument in between");
		ok(hp_walk_add(&l, "s2", &e) == HP_OK, "walk more");
		ok(hp_digest_end(run, &e) == HP_OK, "end");
		ok(!l.added, "the hook is removed");
		bool same = x.n == want.n && x.in_order;
		for (size_t i = 0; same && i < x.n; i++)
			same = x.index[i] == want.index[i] && x.r[i].size == want.r[i].size &&
			       memcmp(x.r[i].md, want.r[i].md, sizeof x.r[i].md) == 0;
		ok(same, "jobs=%u: same results, same order as listing then reading (%zu during the walk)", jobs,
		   during);
		ok(rc.dones == (int)want.n && rc.order_ok && rc.stream_ok && rc.bytes_ok, "sinks fine");
		ok(prog[1] == l.total_size && prog[0] == prog[1], "progress total is the listed total");
		results_free(&x);
		hp_walk_free(&l);
	}
	results_free(&want);

	/* an empty run, and a run of one file */
	hp_walk_list l;
	hp_walk_init(&l, &wo, &e);
	results x = { .in_order = true };
	hp_digest_opts o = { .algos = HP_DIGEST_SHA256, .jobs = 4 };
	hp_digest_run *run;
	ok(hp_digest_begin(&run, &l, &o, collect, &x, &e) == HP_OK && hp_digest_end(run, &e) == HP_OK && x.n == 0,
	   "no files");
	ok(hp_digest_begin(&run, &l, &o, collect, &x, &e) == HP_OK, "begin");
	hp_walk_add(&l, "s2/0003", &e);
	ok(hp_digest_end(run, &e) == HP_OK && x.n == 1 && x.r[0].size == sizes[3], "one file");
	results_free(&x);
	hp_walk_free(&l);
	free_files(fx, N);
	free_files(fy, 40);
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(p);
}

int main(void)
{
	const char *tmp = getenv("TMPDIR");
	snprintf(root, sizeof root, "%s/hp-digest-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(root)) {
		perror("mkdtemp");
		return 2;
	}
	test_known_answers();
	test_parse();
	test_block_boundaries();
	test_many_files_and_sinks();
	test_v1_pieces();
	test_errors();
	test_stop();
	test_streaming();
	test_fd();
	ok(hp_digest_cpus() >= 1, "cpus");
	nftw(root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	return done();
}
