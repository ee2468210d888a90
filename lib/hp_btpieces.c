#include "hp_btpieces.h"

#define OPENSSL_SUPPRESS_DEPRECATED  /* SHA_CTX: a padded piece's chaining value (see pad_tail) */
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "hp_codec.h"
#include "hp_digest.h"
#include "hp_sha1zero.h"
#include "hp_thread.h"
#include "banned.h"

#define MAX_LEVELS 64

/* A merkle tree being built left to right: a stack of complete subtrees,
 * their levels strictly decreasing from the bottom (like a binary counter). */
typedef struct merkle {
	unsigned n;
	uint8_t lvl[MAX_LEVELS];
	uint8_t h[MAX_LEVELS][32];
} merkle;

struct hp_btpieces {
	hp_btpieces_opts o;
	unsigned piece_log2;    /* log2(piece_length / 16 KiB): the level of a piece's root */
	EVP_MD *md1, *md256;
	EVP_MD_CTX *t1, *t256;  /* initialised templates, only ever copied from (any thread) */
	uint8_t zero[MAX_LEVELS][32];

	/* v1 pieces, joined in done() */
	uint8_t *v1;
	size_t v1n, v1cap;
	uint8_t *v1_lane;       /* lanes > 1, lane 0: the lane of each piece (0: hashed here) */
	size_t v1_lane_cap;
	bool joined;            /* hp_btpieces_join_lanes done */
	EVP_MD_CTX *carry;      /* without pad: the piece the previous file left open */
	uint64_t carry_fill;

	hp_btpieces_file *files;
	size_t nfiles, fcap;

	/* pad: the last piece of each file, its zeros still to hash (in finish) */
	struct pending *pend;
	size_t npend, pendcap;

	hp_err err;             /* the first failure */
	bool finished;
	hp_digest_states states; /* the per-file fstate blocks */
};

/* A padded piece waiting for its zeros: its place in v1 and its SHA-1 so far. */
typedef struct pending {
	size_t at;
	hp_sha1z z;
} pending;

/* Per file, on a worker. */
typedef struct fstate {
	uint64_t seen;          /* bytes given to update */
	/* v1 */
	uint64_t head_len;      /* bytes finishing a piece begun in an earlier file (no pad) */
	uint8_t *head;
	EVP_MD_CTX *p1;         /* the piece being hashed */
	uint64_t p1_fill;
	uint64_t q;             /* the number of that piece in the file, from the first boundary */
	uint64_t nwhole;        /* lanes: the pieces wholly in this file (UINT64_MAX: unknown) */
	bool skip;              /* lanes: this piece is another lane's */
	uint8_t *full;          /* whole pieces of this file, 20 bytes each */
	uint8_t *full_lane;     /* lanes, lane 0: the lane of each (0: hashed here) */
	size_t nfull, fullcap, flcap;
	/* pad: the pieces are hashed with SHA_CTX, whose chaining value can be
	 * read, so that the zeros of the last one are hashed apart (pad_tail) */
	SHA_CTX l1;
	bool has_tail;          /* tail: the last piece, all but its zero blocks */
	hp_sha1z tail;
	/* v2 */
	const hp_digest_file *df;
	bool v2_quick;          /* one block, whose hash is the file's SHA-256 (df->sha256 at end) */
	EVP_MD_CTX *leaf;       /* the 16 KiB block being hashed */
	uint32_t leaf_fill;
	EVP_MD_CTX *node;       /* scratch for inner nodes */
	merkle acc;             /* the piece being built */
	uint64_t leaves_in_piece;
	uint64_t leaves;        /* in the file */
	uint8_t *pieces;
	size_t npieces, pcap;
	uint8_t root[32];
	bool has_root;
} fstate;

static const uint8_t zeros[HP_BT_BLOCK];

/* ---- small helpers ---- */

static bool is_pow2(uint64_t v)
{
	return v && !(v & (v - 1));
}

static unsigned log2_floor(uint64_t v)
{
	unsigned k = 0;
	while (v >>= 1)
		k++;
	return k;
}

static unsigned log2_ceil(uint64_t v)
{
	return v <= 1 ? 0 : log2_floor(v - 1) + 1;
}

static hp_code grow(void *pp, size_t *cap, size_t need, size_t elem, hp_err *e)
{
	void **p = pp;
	if (need <= *cap)
		return HP_OK;
	size_t c = *cap ? *cap : 16;
	while (c < need)
		c *= 2;
	void *q = realloc(*p, c * elem);
	if (!q)
		return hp_fail_nomem(e);
	*p = q;
	*cap = c;
	return HP_OK;
}

static hp_code ossl_fail(hp_err *e, const char *what)
{
	return hp_fail(e, HP_E_INTERNAL, "OpenSSL: %s failed", what);
}

static hp_code ctx_from(EVP_MD_CTX **c, const EVP_MD_CTX *tmpl, hp_err *e)
{
	if (!*c && !(*c = EVP_MD_CTX_new()))
		return hp_fail_nomem(e);
	if (!EVP_MD_CTX_copy_ex(*c, tmpl))
		return ossl_fail(e, "EVP_MD_CTX_copy_ex");
	return HP_OK;
}

static hp_code node_hash(EVP_MD_CTX *c, const EVP_MD_CTX *tmpl, const uint8_t l[32], const uint8_t r[32],
			 uint8_t out[32], hp_err *e)
{
	if (!EVP_MD_CTX_copy_ex(c, tmpl) || !EVP_DigestUpdate(c, l, 32) || !EVP_DigestUpdate(c, r, 32) ||
	    !EVP_DigestFinal_ex(c, out, NULL))
		return ossl_fail(e, "SHA-256");
	return HP_OK;
}

static hp_code acc_push(const hp_btpieces *bp, EVP_MD_CTX *c, merkle *m, const uint8_t h[32], unsigned lvl,
			hp_err *e)
{
	uint8_t cur[32];
	memcpy(cur, h, 32);
	while (m->n && m->lvl[m->n - 1] == lvl) {
		hp_code rc = node_hash(c, bp->t256, m->h[m->n - 1], cur, cur, e);
		if (rc)
			return rc;
		m->n--;
		lvl++;
	}
	if (m->n >= MAX_LEVELS || lvl >= MAX_LEVELS)
		return hp_fail(e, HP_E_INTERNAL, "merkle tree too deep");
	memcpy(m->h[m->n], cur, 32);
	m->lvl[m->n] = (uint8_t)lvl;
	m->n++;
	return HP_OK;
}

/* Pad the tree with zero subtrees until it is one subtree at level target. */
static hp_code acc_close(const hp_btpieces *bp, EVP_MD_CTX *c, merkle *m, unsigned target, uint8_t out[32],
			 hp_err *e)
{
	if (m->n == 0 || m->lvl[0] > target)
		return hp_fail(e, HP_E_INTERNAL, "merkle tree closed at the wrong level");
	while (!(m->n == 1 && m->lvl[0] == target)) {
		unsigned l = m->lvl[m->n - 1];
		hp_code rc = acc_push(bp, c, m, bp->zero[l], l, e);
		if (rc)
			return rc;
	}
	memcpy(out, m->h[0], 32);
	m->n = 0;
	return HP_OK;
}

void hp_bt_zero_root(unsigned k, uint8_t out[32])
{
	memset(out, 0, 32);
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	for (unsigned i = 0; c && i < k; i++) {
		EVP_DigestInit_ex(c, EVP_sha256(), NULL);
		EVP_DigestUpdate(c, out, 32);
		EVP_DigestUpdate(c, out, 32);
		EVP_DigestFinal_ex(c, out, NULL);
	}
	EVP_MD_CTX_free(c);
}

hp_code hp_bt_layer_root(const uint8_t *layer, size_t n, unsigned piece_log2, uint8_t out[32], hp_err *e)
{
	if (n == 1) {
		memcpy(out, layer, 32);
		return HP_OK;
	}
	size_t width = 1;
	while (width < n)
		width <<= 1;
	uint8_t *row = malloc(width * 32);
	if (!row)
		return hp_fail_nomem(e);
	memcpy(row, layer, n * 32);
	uint8_t pad[32];
	hp_bt_zero_root(piece_log2, pad);
	for (size_t i = n; i < width; i++)
		memcpy(row + 32 * i, pad, 32);
	for (; width > 1; width /= 2)
		for (size_t i = 0; i < width / 2; i++)
			hp_sha256(row + 64 * i, 64, row + 32 * i);
	memcpy(out, row, 32);
	free(row);
	return HP_OK;
}

/* ---- setup ---- */

hp_code hp_btpieces_new(const hp_btpieces_opts *o, hp_btpieces **out, hp_err *e)
{
	*out = NULL;
	if (!o->v1 && !o->v2)
		return hp_fail(e, HP_E_USAGE, "piece hashes: neither v1 nor v2 asked for");
	if (o->lanes > 1 && (!o->v1 || o->v2 || o->lane >= o->lanes || o->lanes > 255))
		return hp_fail(e, HP_E_USAGE, "piece hashes: lanes are for v1 alone, 2 to 255 of them");
	if (!is_pow2(o->piece_length) || o->piece_length < HP_BT_MIN_PIECE || o->piece_length > HP_BT_MAX_PIECE)
		return hp_fail(e, HP_E_USAGE, "piece length %llu is not a power of two from 16 KiB to 128 MiB",
			       (unsigned long long)o->piece_length);
	hp_btpieces *bp = calloc(1, sizeof *bp);
	if (!bp)
		return hp_fail_nomem(e);
	bp->o = *o;
	bp->piece_log2 = log2_floor(o->piece_length / HP_BT_BLOCK);
	hp_digest_states_init(&bp->states, sizeof(fstate));
	hp_code rc = HP_OK;
	if (!(bp->md1 = EVP_MD_fetch(NULL, "SHA1", NULL)) || !(bp->md256 = EVP_MD_fetch(NULL, "SHA256", NULL)) ||
	    !(bp->t1 = EVP_MD_CTX_new()) || !(bp->t256 = EVP_MD_CTX_new()) || !(bp->carry = EVP_MD_CTX_new()) ||
	    !EVP_DigestInit_ex(bp->t1, bp->md1, NULL) || !EVP_DigestInit_ex(bp->t256, bp->md256, NULL) ||
	    !EVP_MD_CTX_copy_ex(bp->carry, bp->t1))
		rc = ossl_fail(e, "setting up SHA-1 and SHA-256");
	EVP_MD_CTX *c = rc ? NULL : EVP_MD_CTX_new();
	if (!rc && !c)
		rc = hp_fail_nomem(e);
	for (unsigned k = 1; !rc && k < MAX_LEVELS; k++)
		rc = node_hash(c, bp->t256, bp->zero[k - 1], bp->zero[k - 1], bp->zero[k], e);
	EVP_MD_CTX_free(c);
	if (rc) {
		hp_btpieces_free(bp);
		return rc;
	}
	*out = bp;
	return HP_OK;
}

void hp_btpieces_free(hp_btpieces *bp)
{
	if (!bp)
		return;
	for (size_t i = 0; i < bp->nfiles; i++)
		if (bp->files[i].pieces != bp->files[i].root)
			free(bp->files[i].pieces);
	free(bp->files);
	free(bp->pend);
	free(bp->v1);
	free(bp->v1_lane);
	EVP_MD_CTX_free(bp->carry);
	EVP_MD_CTX_free(bp->t1);
	EVP_MD_CTX_free(bp->t256);
	EVP_MD_free(bp->md1);
	EVP_MD_free(bp->md256);
	hp_digest_states_destroy(&bp->states);
	free(bp);
}

size_t hp_btpieces_window(const hp_btpieces *bp)
{
	if (!bp->o.v1 || bp->o.pad)
		return 0;
	uint64_t w = (256u << 20) / bp->o.piece_length;
	return w < 2 ? 2 : w > 64 ? 64 : (size_t)w;
}

/* ---- the sink, on workers ---- */

static void fstate_free(hp_btpieces *bp, fstate *s)
{
	if (!s)
		return;
	free(s->head);
	free(s->full);
	free(s->full_lane);
	free(s->pieces);
	EVP_MD_CTX_free(s->p1);
	EVP_MD_CTX_free(s->leaf);
	EVP_MD_CTX_free(s->node);
	hp_digest_states_put(&bp->states, s);
}

static unsigned lanes_of(const hp_btpieces *bp)
{
	return bp->o.lanes > 1 ? bp->o.lanes : 1;
}

/* The lane that hashes piece s->q of its file: whole pieces go round the
 * lanes, any other (the last, short or padded) is lane 0's. */
static unsigned lane_of_piece(const hp_btpieces *bp, const fstate *s)
{
	if (s->nwhole == UINT64_MAX || s->q >= s->nwhole)
		return 0;
	return (unsigned)(s->q % lanes_of(bp));
}

static bool mine(const hp_btpieces *bp, const fstate *s)
{
	return lane_of_piece(bp, s) == bp->o.lane;
}

static hp_code bp_begin(void *ctx, const hp_digest_file *f, void **state, hp_err *e)
{
	hp_btpieces *bp = ctx;
	fstate *s = hp_digest_states_get(&bp->states);
	if (!s)
		return hp_fail_nomem(e);
	*state = s;
	hp_code rc = HP_OK;
	if (bp->o.v1) {
		if (!bp->o.pad) {
			uint64_t P = bp->o.piece_length;
			if (f->stream_offset == HP_DIGEST_UNKNOWN)
				return hp_fail(e, HP_E_USAGE, "'%s': v1 pieces need the sizes of the files before it",
					       f->path);
			uint64_t gap = (P - f->stream_offset % P) % P;
			if (gap && f->expect_size == HP_DIGEST_UNKNOWN)
				return hp_fail(e, HP_E_USAGE, "'%s': v1 pieces need the size of this file", f->path);
			s->head_len = gap < f->expect_size ? gap : f->expect_size;
			if (s->head_len && bp->o.lane == 0 && !(s->head = malloc((size_t)s->head_len)))
				return hp_fail_nomem(e);
		}
		s->nwhole = f->expect_size == HP_DIGEST_UNKNOWN ? UINT64_MAX
							       : (f->expect_size - s->head_len) / bp->o.piece_length;
		s->skip = lanes_of(bp) > 1 && !mine(bp, s);
		if (bp->o.pad)
			SHA1_Init(&s->l1);
		else
			rc = ctx_from(&s->p1, bp->t1, e);
	}
	s->df = f;
	s->v2_quick = bp->o.v2 && f->sha256_at_end && f->expect_size != HP_DIGEST_UNKNOWN &&
		      f->expect_size <= HP_BT_BLOCK;
	if (!rc && bp->o.v2 && !s->v2_quick) {
		rc = ctx_from(&s->leaf, bp->t256, e);
		if (!rc && !(s->node = EVP_MD_CTX_new()))
			rc = hp_fail_nomem(e);
	}
	return rc;
}

static hp_code v1_piece_done(const hp_btpieces *bp, fstate *s, hp_err *e)
{
	unsigned lane = lane_of_piece(bp, s);
	bool keep = bp->o.lane == 0 || lane == bp->o.lane;  /* lane 0 keeps a hole for the others' */
	if (keep) {
		hp_code rc = grow(&s->full, &s->fullcap, s->nfull + 1, 20, e);
		if (!rc && lanes_of(bp) > 1 && bp->o.lane == 0)
			rc = grow(&s->full_lane, &s->flcap, s->nfull + 1, 1, e);
		if (rc)
			return rc;
		if (s->skip)
			memset(s->full + 20 * s->nfull, 0, 20);
		else if (bp->o.pad)
			SHA1_Final(s->full + 20 * s->nfull, &s->l1);
		else if (!EVP_DigestFinal_ex(s->p1, s->full + 20 * s->nfull, NULL))
			return ossl_fail(e, "SHA-1");
		if (s->full_lane)
			s->full_lane[s->nfull] = (uint8_t)lane;
		s->nfull++;
	}
	s->p1_fill = 0;
	s->q++;
	bool was_skip = s->skip;
	s->skip = lanes_of(bp) > 1 && !mine(bp, s);
	if (bp->o.pad) {
		SHA1_Init(&s->l1);
		return HP_OK;
	}
	return was_skip ? HP_OK : ctx_from(&s->p1, bp->t1, e);
}

static hp_code v1_update(const hp_btpieces *bp, fstate *s, const uint8_t *p, size_t n, uint64_t off, hp_err *e)
{
	uint64_t P = bp->o.piece_length;
	while (n) {
		if (off < s->head_len) {
			size_t k = s->head_len - off < n ? (size_t)(s->head_len - off) : n;
			if (s->head)
				memcpy(s->head + off, p, k);
			p += k, n -= k, off += k;
			continue;
		}
		size_t k = P - s->p1_fill < n ? (size_t)(P - s->p1_fill) : n;
		if (bp->o.pad)
			SHA1_Update(&s->l1, p, k);
		else if (!s->skip && !EVP_DigestUpdate(s->p1, p, k))
			return ossl_fail(e, "SHA-1");
		s->p1_fill += k;
		p += k, n -= k, off += k;
		if (s->p1_fill == P) {
			hp_code rc = v1_piece_done(bp, s, e);
			if (rc)
				return rc;
		}
	}
	return HP_OK;
}

static hp_code v2_piece_done(const hp_btpieces *bp, fstate *s, unsigned target, hp_err *e)
{
	hp_code rc = grow(&s->pieces, &s->pcap, s->npieces + 1, 32, e);
	if (!rc)
		rc = acc_close(bp, s->node, &s->acc, target, s->pieces + 32 * s->npieces, e);
	if (rc)
		return rc;
	s->npieces++;
	s->leaves_in_piece = 0;
	return HP_OK;
}

static hp_code v2_leaf_done(const hp_btpieces *bp, fstate *s, hp_err *e)
{
	uint8_t h[32];
	if (!EVP_DigestFinal_ex(s->leaf, h, NULL))
		return ossl_fail(e, "SHA-256");
	s->leaf_fill = 0;
	s->leaves++;
	s->leaves_in_piece++;
	hp_code rc = acc_push(bp, s->node, &s->acc, h, 0, e);
	if (!rc)
		rc = ctx_from(&s->leaf, bp->t256, e);
	if (!rc && s->leaves_in_piece == (uint64_t)1 << bp->piece_log2)
		rc = v2_piece_done(bp, s, bp->piece_log2, e);
	return rc;
}

static hp_code v2_update(const hp_btpieces *bp, fstate *s, const uint8_t *p, size_t n, hp_err *e)
{
	while (n) {
		size_t k = HP_BT_BLOCK - s->leaf_fill < n ? HP_BT_BLOCK - s->leaf_fill : n;
		if (!EVP_DigestUpdate(s->leaf, p, k))
			return ossl_fail(e, "SHA-256");
		s->leaf_fill += (uint32_t)k;
		p += k, n -= k;
		if (s->leaf_fill == HP_BT_BLOCK) {
			hp_code rc = v2_leaf_done(bp, s, e);
			if (rc)
				return rc;
		}
	}
	return HP_OK;
}

static hp_code bp_update(void *ctx, void *state, const uint8_t *p, size_t n, uint64_t offset, hp_err *e)
{
	const hp_btpieces *bp = ctx;
	fstate *s = state;
	/* slices, so that the second hash reads the bytes while they are in cache */
	while (n) {
		size_t k = n < 65536 ? n : 65536;
		hp_code rc = HP_OK;
		if (bp->o.v1)
			rc = v1_update(bp, s, p, k, offset, e);
		if (!rc && bp->o.v2 && !s->v2_quick)
			rc = v2_update(bp, s, p, k, e);
		if (rc)
			return rc;
		p += k, n -= k, offset += k;
		s->seen += k;
	}
	return HP_OK;
}

static hp_code bp_end(void *ctx, void *state, uint64_t size, hp_err *e)
{
	const hp_btpieces *bp = ctx;
	fstate *s = state;
	uint64_t P = bp->o.piece_length;
	hp_code rc = HP_OK;
	if (size != s->seen)
		return hp_fail(e, HP_E_INTERNAL, "piece hashes: %llu bytes seen of %llu",
			       (unsigned long long)s->seen, (unsigned long long)size);
	if (bp->o.v1 && bp->o.pad && s->p1_fill) {
		/* the pad file's zeros finish the last piece: up to a 64-byte
		 * block here, the whole blocks of zeros later, many pieces at
		 * once (hp_btpieces_finish) */
		size_t k = (size_t)((64 - s->p1_fill % 64) % 64);
		SHA1_Update(&s->l1, zeros, k);
		s->p1_fill += k;
		s->tail.h[0] = s->l1.h0, s->tail.h[1] = s->l1.h1, s->tail.h[2] = s->l1.h2;
		s->tail.h[3] = s->l1.h3, s->tail.h[4] = s->l1.h4;
		s->tail.zero_blocks = (P - s->p1_fill) / 64;
		s->has_tail = true;
		s->p1_fill = 0;
	}
	if (!rc && bp->o.v2 && size && s->v2_quick) {
		/* one block: the block's hash is the piece layer and the root */
		if (!s->df->sha256 || size > HP_BT_BLOCK)
			return hp_fail(e, HP_E_INTERNAL, "a one-block file without its SHA-256");
		memcpy(s->root, s->df->sha256, 32);
		s->npieces = 1;
		s->has_root = true;
	} else if (!rc && bp->o.v2 && size) {
		if (s->leaf_fill)
			rc = v2_leaf_done(bp, s, e);  /* a short last block is hashed as it is */
		if (!rc && s->leaves_in_piece) {
			/* a file smaller than a piece pads its blocks to a power of
			 * two, a larger one pads its last piece to a whole piece */
			unsigned target = size < P ? log2_ceil(s->leaves) : bp->piece_log2;
			rc = v2_piece_done(bp, s, target, e);
		}
		if (!rc) {
			merkle *m = &s->acc;
			m->n = 0;
			for (size_t i = 0; !rc && i < s->npieces; i++)
				rc = acc_push(bp, s->node, m, s->pieces + 32 * i, bp->piece_log2, e);
			if (!rc)
				rc = acc_close(bp, s->node, m, bp->piece_log2 + log2_ceil(s->npieces), s->root, e);
			s->has_root = !rc;
		}
	}
	return rc;
}

/* ---- the sink, on the caller's thread, in order ---- */

/* Append n pieces (and, for lane 0 of several, their lanes: NULL = 0). */
static hp_code add_v1(hp_btpieces *bp, const uint8_t *md, const uint8_t *lanes, size_t n, hp_err *e)
{
	if (!n)
		return HP_OK;  /* a lane with no piece in this file */
	hp_code rc = grow(&bp->v1, &bp->v1cap, bp->v1n + n, 20, e);
	if (!rc && lanes_of(bp) > 1 && bp->o.lane == 0) {
		if (!(rc = grow(&bp->v1_lane, &bp->v1_lane_cap, bp->v1n + n, 1, e))) {
			if (lanes)
				memcpy(bp->v1_lane + bp->v1n, lanes, n);
			else
				memset(bp->v1_lane + bp->v1n, 0, n);
		}
	}
	if (rc)
		return rc;
	memcpy(bp->v1 + 20 * bp->v1n, md, 20 * n);
	bp->v1n += n;
	return HP_OK;
}

static hp_code push_v1(hp_btpieces *bp, const uint8_t md[20], hp_err *e)
{
	return add_v1(bp, md, NULL, 1, e);
}

static hp_code join_v1(hp_btpieces *bp, fstate *s, hp_err *e)
{
	uint64_t P = bp->o.piece_length;
	hp_code rc = HP_OK;
	if (s->head_len) {
		if (!EVP_DigestUpdate(bp->carry, s->head, (size_t)s->head_len))
			return ossl_fail(e, "SHA-1");
		bp->carry_fill += s->head_len;
		if (bp->carry_fill == P) {
			uint8_t md[20];
			if (!EVP_DigestFinal_ex(bp->carry, md, NULL))
				return ossl_fail(e, "SHA-1");
			bp->carry_fill = 0;
			if ((rc = push_v1(bp, md, e)) || (rc = ctx_from(&bp->carry, bp->t1, e)))
				return rc;
		}
	}
	if (s->nfull) {
		if (bp->carry_fill)
			return hp_fail(e, HP_E_INTERNAL, "v1 pieces: a whole piece while one is open");
		if ((rc = add_v1(bp, s->full, s->full_lane, s->nfull, e)))
			return rc;
	}
	if (s->has_tail) {
		/* its place now, its hash in hp_btpieces_finish */
		static const uint8_t later[20];
		if ((rc = grow(&bp->pend, &bp->pendcap, bp->npend + 1, sizeof *bp->pend, e)) ||
		    (rc = push_v1(bp, later, e)))
			return rc;
		bp->pend[bp->npend++] = (pending){ bp->v1n - 1, s->tail };
	}
	if (s->p1_fill) {
		if (bp->carry_fill)
			return hp_fail(e, HP_E_INTERNAL, "v1 pieces: a piece begun while one is open");
		EVP_MD_CTX *t = bp->carry;
		bp->carry = s->p1;
		s->p1 = t;
		bp->carry_fill = s->p1_fill;
	}
	return HP_OK;
}

static void bp_done(void *ctx, void *state, const hp_digest_file *f, const hp_digest_result *r)
{
	hp_btpieces *bp = ctx;
	fstate *s = state;
	hp_err *e = &bp->err;
	if (bp->err.code) {
		fstate_free(bp, s);
		return;
	}
	if (r->err.code) {
		bp->err = r->err;
	} else if (!s) {
		hp_fail(e, HP_E_INTERNAL, "'%s': piece hashes missing", f->path);
	} else if (f->seq != bp->nfiles) {
		hp_fail(e, HP_E_INTERNAL, "'%s': piece hashes out of order", f->path);
	} else if (!grow(&bp->files, &bp->fcap, bp->nfiles + 1, sizeof *bp->files, e) &&
		   (!bp->o.v1 || (bp->o.lane ? !add_v1(bp, s->full, NULL, s->nfull, e) : !join_v1(bp, s, e)))) {
		hp_btpieces_file *out = &bp->files[bp->nfiles++];
		memset(out, 0, sizeof *out);
		out->size = r->size;
		if (bp->o.v2) {
			out->has_root = s->has_root;
			memcpy(out->root, s->root, 32);
			out->npieces = s->npieces;
			/* one piece: its hash is the root (hp_btpieces_finish points
			 * pieces there); more: kept to the end of the run, no spare room */
			if (s->npieces > 1) {
				out->pieces = s->pieces;
				if (s->npieces < s->pcap) {
					uint8_t *q = realloc(s->pieces, 32 * s->npieces);
					if (q)
						out->pieces = q;
				}
				s->pieces = NULL;
			}
		}
	}
	fstate_free(bp, s);
}

hp_digest_sink hp_btpieces_sink(hp_btpieces *bp)
{
	hp_digest_sink s = { "btpieces", bp, bp_begin, bp_update, bp_end, bp_done };
	return s;
}

/* The zeros of the padded pieces, on every CPU: each thread takes the next
 * slice of the list. */
typedef struct tail_run {
	hp_btpieces *bp;
	size_t next;
	pthread_mutex_t mu;
} tail_run;

#define TAIL_SLICE 256  /* pieces a thread takes at a time (a multiple of 16 lanes) */

static void *tail_worker(void *arg)
{
	tail_run *t = arg;
	hp_btpieces *bp = t->bp;
	hp_sha1z z[TAIL_SLICE];
	for (;;) {
		pthread_mutex_lock(&t->mu);
		size_t i = t->next;
		t->next += TAIL_SLICE;
		pthread_mutex_unlock(&t->mu);
		if (i >= bp->npend)
			return NULL;
		size_t n = bp->npend - i < TAIL_SLICE ? bp->npend - i : TAIL_SLICE;
		for (size_t j = 0; j < n; j++)
			z[j] = bp->pend[i + j].z;
		hp_sha1z_run(z, n);
		for (size_t j = 0; j < n; j++) {
			/* the message is exactly one piece: SHA-1's final block
			 * holds only the padding and its length in bits */
			SHA_CTX c;
			memset(&c, 0, sizeof c);
			c.h0 = z[j].h[0], c.h1 = z[j].h[1], c.h2 = z[j].h[2], c.h3 = z[j].h[3], c.h4 = z[j].h[4];
			uint64_t bits = bp->o.piece_length * 8;
			c.Nl = (SHA_LONG)bits;
			c.Nh = (SHA_LONG)(bits >> 32);
			SHA1_Final(bp->v1 + 20 * bp->pend[i + j].at, &c);
		}
	}
}

static void pad_tails(hp_btpieces *bp)
{
	if (!bp->npend)
		return;
	tail_run t = { bp, 0, PTHREAD_MUTEX_INITIALIZER };
	size_t threads = hp_digest_cpus();
	size_t slices = (bp->npend + TAIL_SLICE - 1) / TAIL_SLICE;
	hp_run_threads(threads < slices ? threads : slices, tail_worker, &t);
	pthread_mutex_destroy(&t.mu);
	bp->npend = 0;
}

hp_code hp_btpieces_finish(hp_btpieces *bp, hp_err *e)
{
	if (bp->err.code) {
		if (e)
			*e = bp->err;
		return bp->err.code;
	}
	for (size_t i = 0; i < bp->nfiles; i++)
		if (bp->files[i].npieces == 1 && !bp->files[i].pieces)
			bp->files[i].pieces = bp->files[i].root;
	pad_tails(bp);
	if (!bp->finished && bp->o.v1 && bp->carry_fill) {
		uint8_t md[20];
		if (!EVP_DigestFinal_ex(bp->carry, md, NULL))
			return ossl_fail(e, "SHA-1");
		bp->carry_fill = 0;
		hp_code rc = push_v1(bp, md, e);
		if (rc)
			return rc;
	}
	bp->finished = true;
	return HP_OK;
}

hp_code hp_btpieces_join_lanes(hp_btpieces *bp, hp_btpieces *const *others, size_t n, hp_err *e)
{
	if (!bp->finished || bp->o.lane != 0 || n + 1 != lanes_of(bp) || bp->joined)
		return hp_fail(e, HP_E_INTERNAL, "v1 lanes: %zu others for %u lanes", n, lanes_of(bp));
	size_t at[256] = { 0 };
	for (size_t i = 0; n && i < bp->v1n; i++) {
		unsigned l = bp->v1_lane[i];
		if (!l)
			continue;
		const hp_btpieces *o = others[l - 1];
		if (!o->finished || o->o.lane != l || at[l] >= o->v1n)
			return hp_fail(e, HP_E_INTERNAL, "v1 lanes: lane %u is short of pieces", l);
		memcpy(bp->v1 + 20 * i, o->v1 + 20 * at[l]++, 20);
	}
	for (size_t l = 1; l <= n; l++)
		if (at[l] != others[l - 1]->v1n)
			return hp_fail(e, HP_E_INTERNAL, "v1 lanes: lane %zu has %zu pieces, %zu used", l,
				       others[l - 1]->v1n, at[l]);
	bp->joined = true;
	return HP_OK;
}

size_t hp_btpieces_v1_count(const hp_btpieces *bp)
{
	return bp->v1n;
}

const uint8_t *hp_btpieces_v1(const hp_btpieces *bp)
{
	return bp->v1;
}

size_t hp_btpieces_nfiles(const hp_btpieces *bp)
{
	return bp->nfiles;
}

const hp_btpieces_file *hp_btpieces_file_at(const hp_btpieces *bp, size_t seq)
{
	return seq < bp->nfiles ? &bp->files[seq] : NULL;
}

/* ---- piece length and order ---- */

uint64_t hp_bt_auto_piece_length(uint64_t total)
{
	/* libtorrent's size_table (src/create_torrent.cpp): the content size up
	 * to which each piece length is chosen */
	static const uint64_t table[] = {
		2684355ull, 10737418ull, 42949673ull, 171798692ull, 687194767ull,
		2748779069ull, 10995116278ull, 43980465111ull, 175921860444ull, 703687441777ull,
	};
	unsigned i = 0;
	while (i < sizeof table / sizeof *table && table[i] < total)
		i++;
	return (uint64_t)HP_BT_BLOCK << i;
}

uint64_t hp_bt_padded_piece_length(const hp_walk_list *l)
{
	uint64_t total = 0, nonempty = 0;
	for (size_t i = 0; i < l->n; i++)
		if (l->v[i].type == HP_WALK_FILE) {
			total += l->v[i].size;
			nonempty += l->v[i].size > 0;
		}
	uint64_t top = hp_bt_auto_piece_length(total);
	uint64_t budget = (total + top - 1) / top + nonempty;
	for (uint64_t P = HP_BT_BLOCK; P < top; P <<= 1) {
		uint64_t pieces = 0;
		for (size_t i = 0; i < l->n && pieces <= budget; i++)
			if (l->v[i].type == HP_WALK_FILE)
				pieces += (l->v[i].size + P - 1) / P;
		if (pieces <= budget)
			return P;
	}
	return top;
}

int hp_bt_cmp_v1(const char *a, size_t an, const char *b, size_t bn)
{
	int c = memcmp(a, b, an < bn ? an : bn);
	if (c)
		return c;
	return an < bn ? -1 : an > bn;
}

int hp_bt_cmp_v2(const char *a, size_t an, const char *b, size_t bn)
{
	size_t i = 0, j = 0;
	for (;;) {
		if (i >= an || j >= bn)
			return (i < an) - (j < bn);  /* the one out of components first */
		const char *sa = memchr(a + i, '/', an - i);
		const char *sb = memchr(b + j, '/', bn - j);
		size_t la = sa ? (size_t)(sa - (a + i)) : an - i;
		size_t lb = sb ? (size_t)(sb - (b + j)) : bn - j;
		int c = hp_bt_cmp_v1(a + i, la, b + j, lb);
		if (c)
			return c;
		i += la + 1;
		j += lb + 1;
	}
}

static int by_v1(const void *x, const void *y)
{
	const hp_walk_entry *a = x, *b = y;
	return hp_bt_cmp_v1(a->path, a->path_len, b->path, b->path_len);
}

static int by_v2(const void *x, const void *y)
{
	const hp_walk_entry *a = x, *b = y;
	return hp_bt_cmp_v2(a->path, a->path_len, b->path, b->path_len);
}

void hp_bt_sort_v1(hp_walk_list *l)
{
	if (l->n > 1)
		qsort(l->v, l->n, sizeof *l->v, by_v1);
}

void hp_bt_sort_v2(hp_walk_list *l)
{
	if (l->n > 1)
		qsort(l->v, l->n, sizeof *l->v, by_v2);
}
