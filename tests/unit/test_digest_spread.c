/* hp_digest: one file's consumers spread over threads (opts.spread) give
 * exactly what the serial read gives: the built-in digests, the real sinks
 * (UnixFS CIDs, BitTorrent v1 pieces and v2 roots, hybrid and split in two
 * sinks), on files of awkward sizes (empty, one byte, one block, one block
 * and a byte, more blocks than the ring holds); and a sink that fails in the
 * middle of a file fails it with the error the serial order meets first. */
#include <ftw.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hp_btpieces.h"
#include "hp_digest.h"
#include "hp_unixfs.h"
#include "hp_walk.h"
#include "tap.h"

#include "banned.h"

static char root[256];
static uint32_t rng = 4242;

static uint8_t rnd8(void)
{
	rng = rng * 1103515245u + 12345u;
	return (uint8_t)(rng >> 16);
}

static void make_files(const char *dir, const size_t *sizes, size_t n)
{
	char path[512];
	snprintf(path, sizeof path, "%s/%s", root, dir);
	if (mkdir(path, 0755) < 0) {
		perror(path);
		exit(2);
	}
	for (size_t i = 0; i < n; i++) {
		snprintf(path, sizeof path, "%s/%s/%04zu", root, dir, i);
		FILE *f = fopen(path, "wb");
		for (size_t k = 0; f && k < sizes[i]; k++)
			fputc(rnd8(), f);
		if (!f || fclose(f)) {
			perror(path);
			exit(2);
		}
	}
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

/* ---- one run with every kind of consumer ---- */

typedef struct outcome {
	size_t n;
	hp_digest_result r[32];
	bool have_cid[32];
	hp_unixfs_node cid[32];
	hp_code hyb_rc, v1_rc, v2_rc;
	size_t v1n, v1n_split;
	uint8_t *v1, *v1_split;        /* hybrid's v1 pieces; those of the v1-only sink */
	uint8_t roots[32][32], roots_split[32][32];
	bool has_root[32], has_root_split[32];
} outcome;

typedef struct cb_ud {
	outcome *out;
	hp_unixfs_sink *us;
} cb_ud;

static int on_result(void *ud, const hp_walk_entry *en, size_t index, const hp_digest_result *r)
{
	(void)en;
	(void)index;
	cb_ud *c = ud;
	outcome *o = c->out;
	if (o->n < 32) {
		o->r[o->n] = *r;
		o->have_cid[o->n] = hp_unixfs_sink_result(c->us, &o->cid[o->n]);
		o->n++;
	}
	return 0;
}

static void take_bt(hp_btpieces *bp, hp_code *rc, size_t *v1n, uint8_t **v1, uint8_t roots[][32], bool *has_root,
		    bool v1_wanted, bool v2_wanted)
{
	hp_err e = HP_ERR_INIT;
	*rc = hp_btpieces_finish(bp, &e);
	if (*rc)
		return;
	if (v1_wanted) {
		*v1n = hp_btpieces_v1_count(bp);
		*v1 = malloc(20 * *v1n + 1);
		memcpy(*v1, hp_btpieces_v1(bp), 20 * *v1n);
	}
	if (v2_wanted)
		for (size_t i = 0; i < hp_btpieces_nfiles(bp) && i < 32; i++) {
			const hp_btpieces_file *f = hp_btpieces_file_at(bp, i);
			has_root[i] = f->has_root;
			memcpy(roots[i], f->root, 32);
		}
}

/* Every built-in hash, a UnixFS sink, a hybrid BitTorrent sink, and the same
 * torrent as two sinks (v1 with pads, v2): each may land on its own thread. */
static void run_all(const hp_walk_list *l, unsigned jobs, int spread, size_t bs, const hp_digest_sink *extra,
		    outcome *out)
{
	memset(out, 0, sizeof *out);
	hp_err e = HP_ERR_INIT;
	hp_unixfs_sink *us = NULL;
	hp_unixfs_sink_opts uo = HP_UNIXFS_SINK_OPTS_INIT;
	hp_btpieces *hyb = NULL, *v1 = NULL, *v2 = NULL;
	bool pad = l->nfiles > 1;
	hp_btpieces_opts ho = { HP_BT_BLOCK, true, true, pad, 0, 0 }, o1 = { HP_BT_BLOCK, true, false, pad, 0, 0 },
			 o2 = { HP_BT_BLOCK, false, true, false, 0, 0 };
	if (hp_unixfs_sink_new(hp_unixfs_profile_find("unixfs-v0-2015"), &uo, &us, &e) ||
	    hp_btpieces_new(&ho, &hyb, &e) || hp_btpieces_new(&o1, &v1, &e) || hp_btpieces_new(&o2, &v2, &e)) {
		fprintf(stderr, "sinks: %s\n", e.msg);
		exit(2);
	}
	hp_digest_sink sinks[6];
	size_t ns = 0;
	if (extra)
		sinks[ns++] = extra[0];
	sinks[ns++] = *hp_unixfs_sink_digest(us);
	sinks[ns++] = hp_btpieces_sink(hyb);
	sinks[ns++] = hp_btpieces_sink(v1);
	sinks[ns++] = hp_btpieces_sink(v2);
	if (extra)
		sinks[ns++] = extra[1];
	hp_digest_opts o = { .algos = HP_DIGEST_ALL, .jobs = jobs, .block_size = bs, .sinks = sinks,
			     .nsinks = ns, .spread = spread };
	cb_ud c = { out, us };
	if (hp_digest_list(l, &o, on_result, &c, &e)) {
		fprintf(stderr, "run: %s\n", e.msg);
		exit(2);
	}
	take_bt(hyb, &out->hyb_rc, &out->v1n, &out->v1, out->roots, out->has_root, true, true);
	take_bt(v1, &out->v1_rc, &out->v1n_split, &out->v1_split, NULL, NULL, true, false);
	take_bt(v2, &out->v2_rc, NULL, NULL, out->roots_split, out->has_root_split, false, true);
	hp_btpieces_free(hyb);
	hp_btpieces_free(v1);
	hp_btpieces_free(v2);
	hp_unixfs_sink_free(us);
}

static void outcome_free(outcome *o)
{
	free(o->v1);
	free(o->v1_split);
}

static bool same_outcome(const outcome *a, const outcome *b, const char *what)
{
	if (a->n != b->n) {
		printf("# %s: %zu results against %zu\n", what, a->n, b->n);
		return false;
	}
	for (size_t i = 0; i < a->n; i++) {
		const hp_digest_result *x = &a->r[i], *y = &b->r[i];
		if (x->size != y->size || x->err.code != y->err.code || strcmp(x->err.msg, y->err.msg) ||
		    (!x->err.code && memcmp(x->md, y->md, sizeof x->md))) {
			printf("# %s: file %zu: size %llu/%llu, err '%s'/'%s'\n", what, i, (unsigned long long)x->size,
			       (unsigned long long)y->size, x->err.msg, y->err.msg);
			return false;
		}
		if (a->have_cid[i] != b->have_cid[i] ||
		    (a->have_cid[i] && (!hp_cid_equal(&a->cid[i].cid, &b->cid[i].cid) ||
					a->cid[i].dag_size != b->cid[i].dag_size))) {
			printf("# %s: file %zu: CIDs differ\n", what, i);
			return false;
		}
	}
	if (a->hyb_rc != b->hyb_rc || a->v1_rc != b->v1_rc || a->v2_rc != b->v2_rc) {
		printf("# %s: torrent codes differ\n", what);
		return false;
	}
	if (!a->hyb_rc && (a->v1n != b->v1n || memcmp(a->v1, b->v1, 20 * a->v1n) ||
			   memcmp(a->roots, b->roots, sizeof a->roots) ||
			   memcmp(a->has_root, b->has_root, sizeof a->has_root))) {
		printf("# %s: torrent pieces differ\n", what);
		return false;
	}
	return true;
}

/* The two sinks (v1 with pads, v2) make the hybrid's pieces: how hp_mkt
 * could spread a hybrid torrent over two threads. */
static bool split_matches_hybrid(const outcome *a)
{
	return !a->hyb_rc && !a->v1_rc && !a->v2_rc && a->v1n == a->v1n_split &&
	       memcmp(a->v1, a->v1_split, 20 * a->v1n) == 0 && memcmp(a->roots, a->roots_split, sizeof a->roots) == 0 &&
	       memcmp(a->has_root, a->has_root_split, sizeof a->has_root) == 0;
}

static void test_sizes(void)
{
	enum { BS = 16384 };
	/* empty, one byte, a block, a block and a byte, one short of 2
	 * blocks, 4 blocks (auto spreads from there), more than the ring, odd */
	static const size_t sizes[] = { 0, 1, BS, BS + 1, 2 * BS - 1, 4 * BS, 21 * BS + 5, 300001 };
	size_t n = sizeof sizes / sizeof *sizes;
	make_files("sz", sizes, n);
	/* each file alone (one file in flight: the case spreading is for), then all */
	for (size_t i = 0; i <= n; i++) {
		char dir[64];
		hp_walk_list l;
		if (i < n) {
			snprintf(dir, sizeof dir, "sz/%04zu", i);
			walk_dir(&l, dir);
		} else {
			walk_dir(&l, "sz");
		}
		const char *what = i < n ? dir : "all sizes";
		if (l.total_size == 0) {
			hp_walk_free(&l);
			continue;  /* a torrent needs a byte: the empty file is in "all" */
		}
		outcome serial, sp;
		run_all(&l, 2, -1, BS, NULL, &serial);
		ok(serial.n == l.nfiles && !serial.hyb_rc, "%s: serial run (%zu files)", what, serial.n);
		ok(split_matches_hybrid(&serial), "%s: v1 and v2 sinks apart give the hybrid's pieces", what);
		for (unsigned jobs = 2; jobs <= 5; jobs += 3) {
			run_all(&l, jobs, 1, BS, NULL, &sp);
			ok(same_outcome(&serial, &sp, what), "%s: spread over %u jobs = serial", what, jobs);
			ok(split_matches_hybrid(&sp), "%s: spread, split sinks = hybrid", what);
			outcome_free(&sp);
		}
		run_all(&l, 2, 0, BS, NULL, &sp);
		ok(same_outcome(&serial, &sp, what), "%s: auto = serial", what);
		outcome_free(&sp);
		/* odd block sizes: buffers that cut leaves and pieces anywhere */
		run_all(&l, 2, 1, 7001, NULL, &sp);
		ok(same_outcome(&serial, &sp, what), "%s: spread, 7001-byte blocks = serial", what);
		outcome_free(&sp);
		outcome_free(&serial);
		hp_walk_free(&l);
	}
}

/* ---- sinks that fail ---- */

typedef struct fail_ctx {
	uint64_t at;         /* fail the update that reaches this offset */
	size_t seq;          /* of this file */
	const char *name;
} fail_ctx;

static hp_code fail_begin(void *ctx, const hp_digest_file *f, void **state, hp_err *e)
{
	(void)ctx;
	(void)e;
	size_t *seq = malloc(sizeof *seq);
	*seq = f->seq;
	*state = seq;
	return HP_OK;
}

static hp_code fail_update(void *ctx, void *state, const uint8_t *p, size_t n, uint64_t off, hp_err *e)
{
	const fail_ctx *c = ctx;
	(void)p;
	if (*(size_t *)state == c->seq && off + n > c->at)
		return hp_fail(e, HP_E_IO, "%s fails at %llu", c->name, (unsigned long long)off);
	return HP_OK;
}

static void fail_done(void *ctx, void *state, const hp_digest_file *f, const hp_digest_result *r)
{
	(void)ctx;
	(void)f;
	(void)r;
	free(state);
}

static void test_failing_sinks(void)
{
	enum { BS = 4096 };
	static const size_t sizes[] = { 3 * BS, 40 * BS + 17, 5 * BS };
	make_files("fl", sizes, 3);
	hp_walk_list l;
	walk_dir(&l, "fl");
	static const struct {
		uint64_t a, b;  /* where the first and the last sink fail in file 1 */
		const char *why;
	} cases[] = {
		{ 20 * BS, UINT64_MAX, "one sink fails mid-file" },
		{ 0, UINT64_MAX, "fails in the first block" },
		{ 40 * BS + 16, UINT64_MAX, "fails in the last block" },
		{ 30 * BS, 10 * BS, "the later sink fails at an earlier block: it wins" },
		{ 10 * BS + 1, 10 * BS + 2, "both fail in one block: the first sink wins" },
		{ UINT64_MAX, 39 * BS, "only the last sink fails" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		fail_ctx ca = { cases[i].a, 1, "first" }, cb = { cases[i].b, 1, "last" };
		hp_digest_sink extra[2] = { { "fail-a", &ca, fail_begin, fail_update, NULL, fail_done },
					    { "fail-b", &cb, fail_begin, fail_update, NULL, fail_done } };
		outcome serial, sp;
		run_all(&l, 2, -1, BS, extra, &serial);
		ok(serial.n == 3 && serial.r[1].err.code == HP_E_IO && !serial.r[0].err.code && !serial.r[2].err.code,
		   "%s: serial: file 1 fails (%s)", cases[i].why, serial.r[1].err.msg);
		for (unsigned jobs = 2; jobs <= 4; jobs += 2) {
			for (int rep = 0; rep < 3; rep++) {
				run_all(&l, jobs, 1, BS, extra, &sp);
				ok(same_outcome(&serial, &sp, cases[i].why), "%s: spread over %u jobs, round %d: same error, size",
				   cases[i].why, jobs, rep);
				outcome_free(&sp);
			}
		}
		outcome_free(&serial);
	}
	hp_walk_free(&l);
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
	snprintf(root, sizeof root, "%s/hp-digest-spread-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(root)) {
		perror("mkdtemp");
		return 2;
	}
	test_sizes();
	test_failing_sinks();
	nftw(root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	return done();
}
