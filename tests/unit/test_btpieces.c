/* hp_btpieces: v1 pieces and v2 merkle trees from the digest pipeline's sinks
 * equal a straightforward reference computed with OpenSSL over whole buffers
 * (the concatenated stream for v1, with zero padding for hybrid layouts; the
 * BEP 52 trees built level by level for v2), for edge sizes around 16 KiB
 * blocks and pieces, many small files across piece boundaries, any split of
 * the bytes into blocks, 1 to 3 threads; and the path orders. */
#include <ftw.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hp_btpieces.h"
#include "hp_digest.h"
#include "hp_walk.h"
#include "tap.h"

#include "banned.h"

static char root[256];
static uint32_t rng = 2024;

static uint32_t rnd(void)
{
	rng = rng * 1103515245u + 12345u;
	return rng >> 8;
}

/* ---- the reference ---- */

static void sha256(const void *p, size_t n, uint8_t out[32])
{
	EVP_Digest(p, n, out, NULL, EVP_sha256(), NULL);
}

static void pair(const uint8_t *l, const uint8_t *r, uint8_t out[32])
{
	uint8_t b[64];
	memcpy(b, l, 32);
	memcpy(b + 32, r, 32);
	sha256(b, 64, out);
}

/* Root over n hashes (n a power of two), level by level. */
static void tree_root(const uint8_t *h, size_t n, uint8_t out[32])
{
	uint8_t *cur = malloc(32 * n);
	memcpy(cur, h, 32 * n);
	while (n > 1) {
		for (size_t i = 0; i < n / 2; i++)
			pair(cur + 64 * i, cur + 64 * i + 32, cur + 32 * i);
		n /= 2;
	}
	memcpy(out, cur, 32);
	free(cur);
}

static size_t pow2_at_least(size_t n)
{
	size_t p = 1;
	while (p < n)
		p *= 2;
	return p;
}

typedef struct ref_file {
	uint8_t root[32];
	size_t npieces;
	uint8_t *pieces;
} ref_file;

/* BEP 52 for one file, the way the BEP's reference creator does it. */
static void ref_v2(const uint8_t *d, size_t size, size_t P, ref_file *out)
{
	memset(out, 0, sizeof *out);
	if (!size)
		return;
	size_t nleaves = (size + HP_BT_BLOCK - 1) / HP_BT_BLOCK;
	size_t L = P / HP_BT_BLOCK;
	size_t padded = size < P ? pow2_at_least(nleaves) : (nleaves + L - 1) / L * L;
	uint8_t *leaves = calloc(padded, 32);
	for (size_t i = 0; i < nleaves; i++) {
		size_t len = size - i * HP_BT_BLOCK < HP_BT_BLOCK ? size - i * HP_BT_BLOCK : HP_BT_BLOCK;
		sha256(d + i * HP_BT_BLOCK, len, leaves + 32 * i);
	}
	if (size < P) {
		out->npieces = 1;
		out->pieces = malloc(32);
		tree_root(leaves, padded, out->pieces);
		memcpy(out->root, out->pieces, 32);
	} else {
		out->npieces = padded / L;
		size_t np2 = pow2_at_least(out->npieces);
		out->pieces = malloc(32 * np2);
		for (size_t i = 0; i < out->npieces; i++)
			tree_root(leaves + 32 * L * i, L, out->pieces + 32 * i);
		/* pad the piece layer with the roots of all-zero pieces */
		uint8_t *z = calloc(L, 32), zr[32];
		tree_root(z, L, zr);
		free(z);
		for (size_t i = out->npieces; i < np2; i++)
			memcpy(out->pieces + 32 * i, zr, 32);
		tree_root(out->pieces, np2, out->root);
	}
	free(leaves);
}

/* v1: SHA-1 of each piece of the concatenation; with pad, zeros after every
 * non-empty file up to a piece boundary (the last file included). */
static uint8_t *ref_v1(uint8_t *const *data, const size_t *sizes, size_t n, size_t P, bool pad, size_t *npieces)
{
	size_t total = 0;
	for (size_t i = 0; i < n; i++)
		total += sizes[i] + (pad ? P : 0);
	uint8_t *cat = calloc(total ? total : 1, 1);
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		memcpy(cat + o, data[i], sizes[i]);
		o += sizes[i];
		if (pad && o % P)
			o += P - o % P;
	}
	*npieces = (o + P - 1) / P;
	uint8_t *out = malloc(20 * (*npieces ? *npieces : 1));
	for (size_t i = 0; i < *npieces; i++) {
		size_t len = o - i * P < P ? o - i * P : P;
		EVP_Digest(cat + i * P, len, out + 20 * i, NULL, EVP_sha1(), NULL);
	}
	free(cat);
	return out;
}

/* ---- driving the sink by hand, with any split ---- */

typedef struct set {
	size_t n;
	size_t *sizes;
	uint8_t **data;
} set;

static set make_set(const size_t *sizes, size_t n)
{
	set s = { n, malloc(n * sizeof(size_t)), malloc(n * sizeof(uint8_t *)) };
	for (size_t i = 0; i < n; i++) {
		s.sizes[i] = sizes[i];
		s.data[i] = malloc(sizes[i] ? sizes[i] : 1);
		for (size_t k = 0; k < sizes[i]; k++)
			s.data[i][k] = (uint8_t)rnd();
	}
	return s;
}

static void free_set(set *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->data[i]);
	free(s->data);
	free(s->sizes);
}

/* split: 0 = one block, 1 = one byte at a time, 2 = random 1..40000 */
static hp_code run_by_hand(hp_btpieces *bp, const set *s, int split)
{
	hp_digest_sink k = hp_btpieces_sink(bp);
	uint64_t off = 0;
	for (size_t i = 0; i < s->n; i++) {
		hp_digest_file f = { i, i, "f", 1, s->sizes[i], off, false, NULL };
		hp_digest_result r;
		memset(&r, 0, sizeof r);
		void *st = NULL;
		hp_err e = HP_ERR_INIT;
		hp_code rc = k.begin(k.ctx, &f, &st, &e);
		size_t at = 0;
		while (!rc && at < s->sizes[i]) {
			size_t left = s->sizes[i] - at;
			size_t n = split == 0 ? left : split == 1 ? 1 : 1 + rnd() % 40000;
			if (n > left)
				n = left;
			rc = k.update(k.ctx, st, s->data[i] + at, n, at, &e);
			at += n;
		}
		if (!rc)
			rc = k.end(k.ctx, st, s->sizes[i], &e);
		r.size = s->sizes[i];
		r.err = e;
		k.done(k.ctx, st, &f, &r);
		off += s->sizes[i];
	}
	hp_err e = HP_ERR_INIT;
	return hp_btpieces_finish(bp, &e);
}

static bool check(hp_btpieces *bp, const set *s, size_t P, bool v1, bool v2, bool pad, const char *label)
{
	bool good = true;
	if (v1) {
		size_t n;
		uint8_t *want = ref_v1(s->data, s->sizes, s->n, P, pad, &n);
		if (hp_btpieces_v1_count(bp) != n || (n && memcmp(hp_btpieces_v1(bp), want, 20 * n))) {
			printf("# %s: v1 pieces differ (%zu, want %zu)\n", label, hp_btpieces_v1_count(bp), n);
			good = false;
		}
		free(want);
	}
	if (hp_btpieces_nfiles(bp) != s->n) {
		printf("# %s: %zu files, want %zu\n", label, hp_btpieces_nfiles(bp), s->n);
		return false;
	}
	for (size_t i = 0; v2 && i < s->n; i++) {
		ref_file rf;
		ref_v2(s->data[i], s->sizes[i], P, &rf);
		const hp_btpieces_file *f = hp_btpieces_file_at(bp, i);
		if (f->size != s->sizes[i] || f->has_root != (s->sizes[i] > 0) || f->npieces != rf.npieces ||
		    (rf.npieces && (memcmp(f->root, rf.root, 32) || memcmp(f->pieces, rf.pieces, 32 * rf.npieces)))) {
			printf("# %s: file %zu (%zu bytes): v2 differs\n", label, i, s->sizes[i]);
			good = false;
		}
		free(rf.pieces);
	}
	return good;
}

/* v1 pieces hashed by lanes sinks, each run separately, then joined: the
 * same pieces as one sink's */
static void by_lanes(const set *s, size_t P, unsigned lanes, bool pad, int split, const char *label)
{
	hp_btpieces *bp[3] = { NULL };
	hp_err e = HP_ERR_INIT;
	hp_code rc = HP_OK;
	for (unsigned j = 0; !rc && j < lanes; j++) {
		hp_btpieces_opts o = { P, true, false, pad, lanes, j };
		if (!(rc = hp_btpieces_new(&o, &bp[j], &e)))
			rc = run_by_hand(bp[j], s, split);
	}
	if (!rc)
		rc = hp_btpieces_join_lanes(bp[0], bp + 1, lanes - 1, &e);
	ok(rc == HP_OK && check(bp[0], s, P, true, false, pad, label), "%s, %u lanes: %s", label, lanes, e.msg);
	for (unsigned j = 0; j < lanes; j++)
		hp_btpieces_free(bp[j]);
}

static void by_hand(const size_t *sizes, size_t n, size_t P, const char *what)
{
	set s = make_set(sizes, n);
	static const struct { bool v1, v2, pad; const char *name; } modes[] = {
		{ true, false, false, "v1" },
		{ false, true, false, "v2" },
		{ true, true, true, "hybrid" },
		{ true, true, false, "hybrid, no pad" },
	};
	for (size_t m = 0; m < sizeof modes / sizeof *modes; m++) {
		for (int split = 0; split < 3; split++) {
			if (split == 1 && P > 32768)
				continue;  /* byte by byte only on small cases */
			hp_btpieces_opts o = { P, modes[m].v1, modes[m].v2, modes[m].pad, 0, 0 };
			hp_btpieces *bp;
			hp_err e = HP_ERR_INIT;
			if (!ok(hp_btpieces_new(&o, &bp, &e) == HP_OK, "new: %s", e.msg))
				continue;
			char label[200];
			snprintf(label, sizeof label, "%s, P=%zu, %s, split %d", what, P, modes[m].name, split);
			hp_code rc = run_by_hand(bp, &s, split);
			ok(rc == HP_OK && check(bp, &s, P, modes[m].v1, modes[m].v2, modes[m].pad, label), "%s", label);
			hp_btpieces_free(bp);
			if (modes[m].v1 && !modes[m].v2)
				for (unsigned lanes = 2; lanes <= 3; lanes++)
					by_lanes(&s, P, lanes, modes[m].pad, split, label);
		}
	}
	free_set(&s);
}

static void test_edge_sizes(void)
{
	/* each file alone, then all together (pieces spanning files) */
	const size_t P = 32768;
	static const size_t sizes[] = { 0, 1, 16383, 16384, 16385, 32767, 32768, 32769, 49152, 65536 + 5, 3 * 32768 + 16384 };
	size_t n = sizeof sizes / sizeof *sizes;
	for (size_t i = 0; i < n; i++) {
		char what[64];
		snprintf(what, sizeof what, "one file of %zu", sizes[i]);
		by_hand(&sizes[i], 1, P, what);
	}
	by_hand(sizes, n, P, "edge sizes together");
	by_hand(sizes, n, HP_BT_BLOCK, "edge sizes together");
	static const size_t big[] = { 5 * 262144 + 1, 262143, 262144, 262145, 0, 100 };
	by_hand(big, sizeof big / sizeof *big, 262144, "around 256 KiB pieces");
	/* a file of 9 pieces: the piece layer pads to 16 with zero pieces */
	static const size_t nine[] = { 9 * 16384 - 100 };
	by_hand(nine, 1, 16384, "9 pieces");
}

static void test_many_small(void)
{
	size_t sizes[300];
	for (size_t i = 0; i < 300; i++)
		sizes[i] = i % 17 == 0 ? 0 : rnd() % 5000;
	by_hand(sizes, 300, 16384, "300 small files");
	for (size_t i = 0; i < 60; i++)
		sizes[i] = rnd() % 70000;
	by_hand(sizes, 60, 65536, "60 files up to 70000");
}

/* ---- through the real pipeline: files, threads, block sizes ---- */

static void write_file(const char *rel, const uint8_t *p, size_t n)
{
	char path[512];
	snprintf(path, sizeof path, "%s/%s", root, rel);
	FILE *f = fopen(path, "wb");
	if (!f || (n && fwrite(p, 1, n, f) != n) || fclose(f)) {
		perror(path);
		exit(2);
	}
}

static void test_pipeline(void)
{
	size_t sizes[40];
	for (size_t i = 0; i < 40; i++)
		sizes[i] = i % 9 == 0 ? 0 : i % 7 == 0 ? 16384 * (i % 5) + 1 : rnd() % 60000;
	set s = make_set(sizes, 40);
	char path[512];
	snprintf(path, sizeof path, "%s/p", root);
	mkdir(path, 0755);
	for (size_t i = 0; i < s.n; i++) {
		char rel[64];
		snprintf(rel, sizeof rel, "p/%03zu", i);
		write_file(rel, s.data[i], s.sizes[i]);
	}
	hp_walk_list l;
	hp_walk_opts wo = { root, 0, NULL, NULL };
	hp_err e = HP_ERR_INIT;
	if (hp_walk_init(&l, &wo, &e) || hp_walk_add(&l, "p", &e)) {
		printf("# walk: %s\n", e.msg);
		exit(2);
	}
	static const struct { bool v1, v2, pad; const char *name; } modes[] = {
		{ true, false, false, "v1" },
		{ false, true, false, "v2" },
		{ true, true, true, "hybrid" },
	};
	for (size_t m = 0; m < 3; m++) {
		for (unsigned jobs = 1; jobs <= 3; jobs++) {
			for (size_t bs = 1000; bs <= 200000; bs = bs * 7 + 1) {
				hp_btpieces_opts o = { 32768, modes[m].v1, modes[m].v2, modes[m].pad, 0, 0 };
				hp_btpieces *bp;
				if (hp_btpieces_new(&o, &bp, &e))
					continue;
				hp_digest_sink sink = hp_btpieces_sink(bp);
				hp_digest_opts d = { 0 };
				d.jobs = jobs;
				d.block_size = bs;
				d.sinks = &sink;
				d.nsinks = 1;
				d.window = jobs == 3 ? 2 : hp_btpieces_window(bp);
				hp_code rc = hp_digest_list(&l, &d, NULL, NULL, &e);
				if (!rc)
					rc = hp_btpieces_finish(bp, &e);
				char label[160];
				snprintf(label, sizeof label, "pipeline: %s, jobs %u, block %zu", modes[m].name, jobs, bs);
				ok(rc == HP_OK && check(bp, &s, 32768, o.v1, o.v2, o.pad, label), "%s", label);
				hp_btpieces_free(bp);
			}
		}
	}
	hp_walk_free(&l);
	free_set(&s);
}

static void test_failures(void)
{
	hp_btpieces *bp;
	hp_err e = HP_ERR_INIT;
	hp_btpieces_opts bad = { 3 * 16384, true, true, false, 0, 0 };
	is_int(hp_btpieces_new(&bad, &bp, &e), HP_E_USAGE, "a piece length that is not a power of two");
	hp_btpieces_opts small = { 8192, true, false, false, 0, 0 };
	is_int(hp_btpieces_new(&small, &bp, &e), HP_E_USAGE, "8 KiB pieces");
	hp_btpieces_opts none = { 16384, false, false, false, 0, 0 };
	is_int(hp_btpieces_new(&none, &bp, &e), HP_E_USAGE, "neither v1 nor v2");
	hp_btpieces_opts lanes_v2 = { 32768, true, true, false, 2, 0 }, lane_out = { 32768, true, false, false, 2, 2 };
	is_int(hp_btpieces_new(&lanes_v2, &bp, &e), HP_E_USAGE, "lanes with v2");
	is_int(hp_btpieces_new(&lane_out, &bp, &e), HP_E_USAGE, "lane 2 of 2");

	/* a file after a stream of unknown size cannot place its v1 pieces */
	hp_btpieces_opts o = { 16384, true, false, false, 0, 0 };
	ok(hp_btpieces_new(&o, &bp, &e) == HP_OK, "new");
	hp_digest_sink k = hp_btpieces_sink(bp);
	hp_digest_file f = { 0, 0, "x", 1, 10, HP_DIGEST_UNKNOWN, false, NULL };
	void *st = NULL;
	is_int(k.begin(k.ctx, &f, &st, &e), HP_E_USAGE, "unknown stream offset refused");
	hp_digest_result r;
	memset(&r, 0, sizeof r);
	r.err = e;
	k.done(k.ctx, st, &f, &r);
	hp_err_clear(&e);
	is_int(hp_btpieces_finish(bp, &e), HP_E_USAGE, "the failure comes back from finish");
	hp_btpieces_free(bp);

	/* a file that failed to read fails the run with its error */
	ok(hp_btpieces_new(&o, &bp, &e) == HP_OK, "new");
	k = hp_btpieces_sink(bp);
	hp_digest_file g = { 0, 0, "gone", 4, 10, 0, false, NULL };
	memset(&r, 0, sizeof r);
	hp_fail(&r.err, HP_E_NOINPUT, "cannot open 'gone'");
	k.done(k.ctx, NULL, &g, &r);
	hp_err_clear(&e);
	is_int(hp_btpieces_finish(bp, &e), HP_E_NOINPUT, "a file's read error");
	is_str(e.msg, "cannot open 'gone'", "with its message");
	hp_btpieces_free(bp);
}

static void test_misc(void)
{
	is_int(hp_bt_auto_piece_length(1), 16384, "auto: tiny");
	is_int(hp_bt_auto_piece_length(2684355), 16384, "auto: 2.68 MB");
	is_int(hp_bt_auto_piece_length(2684356), 32768, "auto: just above");
	is_int(hp_bt_auto_piece_length(21000000), 65536, "auto: 21 MB (observed 64 KiB)");
	is_int(hp_bt_auto_piece_length(256u << 20), 262144, "auto: 256 MiB (observed 256 KiB)");
	is_int(hp_bt_auto_piece_length(UINT64_MAX), 16384u << 10, "auto: huge");

	uint8_t z[32], want[32], zero[64];
	memset(zero, 0, sizeof zero);
	hp_bt_zero_root(0, z);
	ok(memcmp(z, zero, 32) == 0, "zero root of one leaf is 32 zero bytes");
	sha256(zero, 64, want);
	hp_bt_zero_root(1, z);
	ok(memcmp(z, want, 32) == 0, "zero root of two leaves");

#define V1(a, b) hp_bt_cmp_v1(a, strlen(a), b, strlen(b))
#define V2(a, b) hp_bt_cmp_v2(a, strlen(a), b, strlen(b))
	ok(V1("a-", "a/b") < 0, "v1: 'a-' < 'a/b' (whole path)");
	ok(V2("a/b", "a-") < 0, "v2: 'a/b' < 'a-' (by component)");
	ok(V2("a/b", "a.b") < 0 && V1("a.b", "a/b") < 0, "'.' before '/' only in v1");
	ok(V2("a", "a/b") < 0 && V2("a/b", "a") > 0, "v2: a prefix first");
	ok(V2("x/y/z", "x/y/z") == 0 && V1("x", "x") == 0, "equal");
	ok(V2("A", "a") < 0 && V2("\xc3\xa9", "z") > 0, "bytewise, not by locale");
	ok(V2("ab/c", "a/c") > 0, "v2: 'ab' > 'a'");

	hp_walk_list l = HP_WALK_LIST_INIT;
	static const char *const names[] = { "a-", "a/b", "a.b", "A", "a/c/d", "a0", "_" };
	hp_walk_entry v[7];
	memset(v, 0, sizeof v);
	for (size_t i = 0; i < 7; i++) {
		v[i].path = (char *)names[i];
		v[i].path_len = strlen(names[i]);
	}
	l.v = v;
	l.n = 7;
	hp_bt_sort_v2(&l);
	char got[100] = "";
	for (size_t i = 0; i < 7; i++)
		snprintf(got + strlen(got), sizeof got - strlen(got), "%s ", l.v[i].path);
	is_str(got, "A _ a/b a/c/d a- a.b a0 ", "v2 order (libtorrent's canonical order)");
	hp_bt_sort_v1(&l);
	got[0] = '\0';
	for (size_t i = 0; i < 7; i++)
		snprintf(got + strlen(got), sizeof got - strlen(got), "%s ", l.v[i].path);
	is_str(got, "A _ a- a.b a/b a/c/d a0 ", "v1 order (mktorrent's)");
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
	snprintf(root, sizeof root, "%s/hp-btpieces-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(root)) {
		perror("mkdtemp");
		return 2;
	}
	test_misc();
	test_failures();
	test_edge_sizes();
	test_many_small();
	test_pipeline();
	nftw(root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	return done();
}
