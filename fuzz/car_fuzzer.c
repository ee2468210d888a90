/* Fuzz the CARv1 reader and its DAG-CBOR header decoder.
 *
 * - every block handed out hashes to its CID and respects the block limit;
 * - the outcome (code, message, blocks) is the same whether the input comes
 *   in one piece or in pieces of any sizes: the push parser has no
 *   boundary-dependent state;
 * - a CAR that is read in full is canonical: the header encoded again from
 *   its roots, and each section again from its CID and bytes, give back the
 *   input byte for byte;
 * - the input as a bare header decodes only if it re-encodes to itself;
 * - tighter limits (block, total, count) only ever turn success into a
 *   refusal, never into a crash or into more blocks. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hp_car.h"
#include "hp_multiformats.h"

#include "banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct run {
	size_t max_block;
	uint64_t blocks;
	uint64_t sum;      /* a digest of the (index, offset, length) sequence */
	hp_buf again;      /* the CAR encoded again from what the reader handed out */
} run;

static hp_code on_header(void *ctx, const hp_cid *roots, size_t nroots, hp_err *e)
{
	run *r = ctx;
	if (nroots && !roots)
		abort();
	if (nroots == 0)
		return hp_car_header_encode(NULL, 0, &r->again, e);
	return hp_car_header_encode(roots, nroots, &r->again, e);
}

static hp_code on_block(void *ctx, const hp_car_block *b, hp_err *e)
{
	run *r = ctx;
	if (!hp_cid_matches(b->cid, b->data, b->len))
		abort();  /* an unverified block got out */
	if (b->len > r->max_block || b->index != r->blocks)
		abort();
	if (b->cid->hash != HP_MC_SHA2_256)
		abort();
	r->blocks++;
	r->sum = r->sum * 1000003u ^ (b->index * 31u + b->offset * 7u + b->len);
	uint8_t cid[HP_CID_MAX_BYTES], v[HP_VARINT_MAX];
	size_t cl = hp_cid_bytes(b->cid, cid);
	size_t vn = hp_varint_put(cl + b->len, v);
	hp_code rc = hp_buf_add(&r->again, v, vn, e);
	if (!rc)
		rc = hp_buf_add(&r->again, cid, cl, e);
	if (!rc)
		rc = hp_buf_add(&r->again, b->data, b->len, e);
	return rc;
}

/* Read data[0..size), split into pieces whose sizes come from seed. */
static hp_code read_split(const uint8_t *data, size_t size, unsigned seed, hp_car_reader_opts *o, run *r, hp_err *e)
{
	r->blocks = 0;
	r->sum = 0;
	hp_buf_reset(&r->again);
	r->max_block = o->max_block;
	o->ctx = r;
	hp_car_reader *rd;
	hp_code rc = hp_car_reader_new(&rd, o, e);
	if (rc)
		return rc;
	size_t i = 0;
	uint32_t x = seed * 2654435761u + 1;
	while (!rc && i < size) {
		size_t k = size - i;
		if (seed) {
			x ^= x << 13;
			x ^= x >> 17;
			x ^= x << 5;
			size_t m = 1 + x % (seed % 3 == 0 ? 3 : seed % 3 == 1 ? 64 : 4096);
			if (m < k)
				k = m;
		}
		rc = hp_car_feed(rd, data + i, k, e);
		i += k;
	}
	if (!rc)
		rc = hp_car_finish(rd, e);
	if (hp_car_reader_blocks(rd) != r->blocks)
		abort();
	hp_car_reader_free(rd);
	return rc;
}

static void check_bare_header(const uint8_t *data, size_t size)
{
	hp_cid *roots = NULL;
	size_t n = 0;
	hp_err e = HP_ERR_INIT;
	hp_code rc = hp_car_header_decode(data, size, 16, &roots, &n, &e);
	if (rc != HP_OK) {
		if (rc != HP_E_DATA && rc != HP_E_NOMEM)
			abort();
		if (roots || n)
			abort();
		return;
	}
	if (n > 16 || (n && !roots))
		abort();
	hp_buf b = HP_BUF_INIT;
	if (hp_car_header_encode(roots, n, &b, &e) == HP_OK) {
		uint8_t v[HP_VARINT_MAX];
		size_t vn = hp_varint_put(size, v);
		if (b.len != vn + size || memcmp(b.data, v, vn) != 0 || memcmp(b.data + vn, data, size) != 0)
			abort();  /* a header we accept is canonical */
	}
	hp_buf_release(&b);
	free(roots);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check_bare_header(data, size);

	hp_car_reader_opts o = HP_CAR_READER_OPTS_INIT;
	o.name = "fuzz";
	o.on_header = on_header;
	o.on_block = on_block;
	run a = { 0, 0, 0, HP_BUF_INIT }, b = { 0, 0, 0, HP_BUF_INIT };
	hp_err ea = HP_ERR_INIT, eb = HP_ERR_INIT;
	hp_code rca = read_split(data, size, 0, &o, &a, &ea);
	if (rca == HP_OK && (a.again.len != size || memcmp(a.again.data, data, size) != 0))
		abort();  /* a CAR we accept is canonical */
	if (rca != HP_OK && strncmp(ea.msg, "CAR 'fuzz': ", 12) != 0)
		abort();  /* every refusal names the CAR */

	for (unsigned seed = 1; seed <= 3; seed++) {
		hp_code rcb = read_split(data, size, seed + (size & 0xff) * 3, &o, &b, &eb);
		if (rcb != rca || b.blocks != a.blocks || b.sum != a.sum || strcmp(ea.msg, eb.msg) != 0)
			abort();  /* the pieces changed the outcome */
	}

	/* tighter limits: never more blocks, never a crash */
	o.max_block = 64;
	o.max_total = size / 2 + 1;
	o.max_blocks = 3;
	o.max_header = 80;
	o.max_roots = 2;
	hp_code rcb = read_split(data, size, 7, &o, &b, &eb);
	if (b.blocks > a.blocks || b.blocks > 3 || (rcb == HP_OK && rca != HP_OK))
		abort();

	hp_buf_release(&a.again);
	hp_buf_release(&b.again);
	return 0;
}
