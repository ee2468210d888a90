/* hp_car: CARv1 header bytes worked out by hand, writer/reader round trips
 * (streamed in pieces of every size), the placeholder-root patch, every
 * truncation and byte flip of a small CAR, limits, refusals, and the
 * vectors recorded from kubo (tests/vectors/car).
 *
 * Environment, for tests/cli/22-car.bats:
 *   HP_CAR_DIR=DIR        also verify every DIR/NAME.car (DIR/NAME.root: the
 *                         expected root; DIR/NAME.blocks: the block count)
 *                         and write it again as DIR/NAME.ours.car with our
 *                         writer (roots given at commit)
 *   HP_CAR_WRITE_DIR=DIR  write DIR/raw.car (random raw blocks, the first
 *                         is the root), DIR/raw.root and DIR/blocks/CID */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/sha.h>

#include "hp_car.h"
#include "hp_io.h"
#include "hp_multiformats.h"
#include "tap.h"

#include "banned.h"

/* ---- helpers ---- */

static uint64_t rng_state = 0x9e3779b97f4a7c15u;

static uint64_t rnd(void)
{
	/* xorshift64*: reproducible test data */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1du;
}

static void fill(uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)rnd();
}

static void cid_of(hp_cid *c, unsigned version, uint64_t codec, const uint8_t *data, size_t n)
{
	uint8_t d[32];
	SHA256(data, n, d);
	hp_cid_sha256(c, version, codec, d);
}

static char tmpdir[] = "/tmp/hp-test-car-XXXXXX";

static char *tmp_path(const char *name)
{
	static char path[8][512];
	static int k;
	char *p = path[k++ % 8];
	snprintf(p, sizeof path[0], "%s/%s", tmpdir, name);
	return p;
}

static int slurp(const char *path, hp_buf *out)
{
	hp_err e = HP_ERR_INIT;
	hp_buf_reset(out);
	return hp_read_file(path, (size_t)1 << 30, out, &e) == HP_OK ? 0 : -1;
}

/* Files in tmpdir whose name contains s (to see that no temporary is left). */
static int count_files_with(const char *s)
{
	DIR *d = opendir(tmpdir);
	int n = 0;
	struct dirent *de;
	while (d && (de = readdir(d)))
		if (strstr(de->d_name, s))
			n++;
	if (d)
		closedir(d);
	return n;
}

/* A block as the reader handed it out. */
typedef struct got_block {
	hp_cid cid;
	uint8_t *data;
	size_t len;
	uint64_t offset;
} got_block;

typedef struct collect {
	hp_cid roots[8];
	size_t nroots;
	int headers;
	got_block *b;
	size_t n, cap;
	int unverified;    /* blocks whose bytes did not match their CID */
	int bad_index;     /* index out of sequence */
	size_t stop_at;    /* fail at this block (SIZE_MAX: never) */
} collect;

static void collect_init(collect *c)
{
	memset(c, 0, sizeof *c);
	c->stop_at = SIZE_MAX;
}

static void collect_free(collect *c)
{
	for (size_t i = 0; i < c->n; i++)
		free(c->b[i].data);
	free(c->b);
	collect_init(c);
}

static hp_code on_header(void *ctx, const hp_cid *roots, size_t nroots, hp_err *e)
{
	(void)e;
	collect *c = ctx;
	c->headers++;
	c->nroots = nroots;
	for (size_t i = 0; i < nroots && i < 8; i++)
		c->roots[i] = roots[i];
	return HP_OK;
}

static hp_code on_block(void *ctx, const hp_car_block *b, hp_err *e)
{
	collect *c = ctx;
	if (c->n == c->stop_at)
		return hp_fail(e, HP_E_IO, "stop at block %zu", c->n);
	if (!hp_cid_matches(b->cid, b->data, b->len))
		c->unverified++;
	if (b->index != c->n)
		c->bad_index++;
	if (c->n == c->cap) {
		c->cap = c->cap ? 2 * c->cap : 16;
		got_block *nb = realloc(c->b, c->cap * sizeof *nb);
		if (!nb)
			abort();
		c->b = nb;
	}
	got_block *g = &c->b[c->n++];
	g->cid = *b->cid;
	g->len = b->len;
	g->offset = b->offset;
	g->data = malloc(b->len ? b->len : 1);
	if (!g->data)
		abort();
	if (b->len)
		memcpy(g->data, b->data, b->len);
	return HP_OK;
}

static hp_car_reader_opts ropts(collect *c)
{
	hp_car_reader_opts o = HP_CAR_READER_OPTS_INIT;
	o.on_header = on_header;
	o.on_block = on_block;
	o.ctx = c;
	return o;
}

/* Read p[0..n) fed in pieces: step 0 = all at once, else pieces of step bytes,
 * or random sizes up to -step when step < 0. */
static hp_code read_pieces(const uint8_t *p, size_t n, long step, const hp_car_reader_opts *o, hp_err *e)
{
	hp_car_reader *r;
	hp_code rc = hp_car_reader_new(&r, o, e);
	if (rc)
		return rc;
	size_t i = 0;
	while (!rc && i < n) {
		size_t k = n - i;
		if (step > 0 && (size_t)step < k)
			k = (size_t)step;
		else if (step < 0) {
			size_t m = 1 + (size_t)(rnd() % (uint64_t)(-step));
			if (m < k)
				k = m;
		}
		rc = hp_car_feed(r, p + i, k, e);
		i += k;
	}
	if (!rc)
		rc = hp_car_finish(r, e);
	hp_car_reader_free(r);
	return rc;
}

/* ---- the header, by hand ---- */

static const uint8_t hello_digest[32] = {
	0xb9, 0x4d, 0x27, 0xb9, 0x93, 0x4d, 0x3e, 0x08, 0xa5, 0x2e, 0x52, 0xd7, 0xda, 0x7d, 0xab, 0xfa,
	0xc4, 0x84, 0xef, 0xe3, 0x7a, 0x53, 0x80, 0xee, 0x90, 0x88, 0xf7, 0xac, 0xe2, 0xef, 0xcd, 0xe9,
};

#define HELLO_DIGEST \
	0xb9, 0x4d, 0x27, 0xb9, 0x93, 0x4d, 0x3e, 0x08, 0xa5, 0x2e, 0x52, 0xd7, 0xda, 0x7d, 0xab, 0xfa, \
	0xc4, 0x84, 0xef, 0xe3, 0x7a, 0x53, 0x80, 0xee, 0x90, 0x88, 0xf7, 0xac, 0xe2, 0xef, 0xcd, 0xe9

#define HELLO_DIGEST_31 \
	0xb9, 0x4d, 0x27, 0xb9, 0x93, 0x4d, 0x3e, 0x08, 0xa5, 0x2e, 0x52, 0xd7, 0xda, 0x7d, 0xab, 0xfa, \
	0xc4, 0x84, 0xef, 0xe3, 0x7a, 0x53, 0x80, 0xee, 0x90, 0x88, 0xf7, 0xac, 0xe2, 0xef, 0xcd

/* varint 58, map(2), "roots", array(1), tag 42, bytes(37), 0x00 + CIDv1 raw
 * sha2-256 of "hello world", "version", 1 */
static const uint8_t hello_header_v1[] = {
	0x3a, 0xa2, 0x65, 'r', 'o', 'o', 't', 's', 0x81, 0xd8, 0x2a, 0x58, 0x25,
	0x00, 0x01, 0x55, 0x12, 0x20, HELLO_DIGEST,
	0x67, 'v', 'e', 'r', 's', 'i', 'o', 'n', 0x01,
};

/* The same with the CIDv0 of that digest: varint 56, bytes(35), 0x00 + multihash */
static const uint8_t hello_header_v0[] = {
	0x38, 0xa2, 0x65, 'r', 'o', 'o', 't', 's', 0x81, 0xd8, 0x2a, 0x58, 0x23,
	0x00, 0x12, 0x20, HELLO_DIGEST,
	0x67, 'v', 'e', 'r', 's', 'i', 'o', 'n', 0x01,
};

/* hello_header_v1, then one section: varint(36 + 11), the CID, "hello world" */
static const uint8_t hello_car[] = {
	0x3a, 0xa2, 0x65, 'r', 'o', 'o', 't', 's', 0x81, 0xd8, 0x2a, 0x58, 0x25,
	0x00, 0x01, 0x55, 0x12, 0x20, HELLO_DIGEST,
	0x67, 'v', 'e', 'r', 's', 'i', 'o', 'n', 0x01,
	0x2f, 0x01, 0x55, 0x12, 0x20, HELLO_DIGEST,
	'h', 'e', 'l', 'l', 'o', ' ', 'w', 'o', 'r', 'l', 'd',
};

static void test_header_bytes(void)
{
	hp_err e = HP_ERR_INIT;
	hp_cid v1, v0, parsed;
	hp_cid_sha256(&v1, 1, HP_MC_RAW, hello_digest);
	hp_cid_sha256(&v0, 0, HP_MC_DAG_PB, hello_digest);
	is_int(hp_cid_parse_text("bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e", &parsed, &e), HP_OK,
	       "the CID of 'hello world' parses");
	ok(hp_cid_equal(&parsed, &v1), "and is the CIDv1 raw of its sha2-256");

	hp_buf b = HP_BUF_INIT;
	is_int(hp_car_header_encode(&v1, 1, &b, &e), HP_OK, "encode a v1 root header");
	is_mem(b.data, b.len, hello_header_v1, sizeof hello_header_v1, "v1 root header byte for byte (59 bytes)");
	hp_buf_reset(&b);
	is_int(hp_car_header_encode(&v0, 1, &b, &e), HP_OK, "encode a v0 root header");
	is_mem(b.data, b.len, hello_header_v0, sizeof hello_header_v0, "v0 root header byte for byte (57 bytes)");

	hp_cid *roots = NULL;
	size_t n = 0;
	is_int(hp_car_header_decode(hello_header_v1 + 1, sizeof hello_header_v1 - 1, 8, &roots, &n, &e), HP_OK,
	       "decode the v1 header");
	ok(n == 1 && roots && hp_cid_equal(&roots[0], &v1), "one root, the v1 CID");
	free(roots);
	is_int(hp_car_header_decode(hello_header_v0 + 1, sizeof hello_header_v0 - 1, 8, &roots, &n, &e), HP_OK,
	       "decode the v0 header");
	ok(n == 1 && roots && hp_cid_equal(&roots[0], &v0), "one root, the v0 CID");
	free(roots);

	/* three roots: array(3) = 0x83 */
	hp_cid three[3] = { v1, v0, v1 };
	three[2].codec = HP_MC_DAG_CBOR;
	hp_buf_reset(&b);
	is_int(hp_car_header_encode(three, 3, &b, &e), HP_OK, "encode three roots");
	/* 138 header bytes: a 2-byte length varint */
	ok(b.len == 140 && (uint8_t)b.data[0] == 0x8a && (uint8_t)b.data[1] == 0x01, "header of 138 bytes");
	is_int((uint8_t)b.data[9], 0x83, "array of 3");
	is_int(hp_car_header_decode((const uint8_t *)b.data + 2, b.len - 2, 8, &roots, &n, &e), HP_OK, "decode three roots");
	ok(n == 3 && hp_cid_equal(&roots[0], &three[0]) && hp_cid_equal(&roots[1], &three[1]) &&
	   hp_cid_equal(&roots[2], &three[2]), "the three roots in order");
	free(roots);
	is_int(hp_car_header_decode((const uint8_t *)b.data + 2, b.len - 2, 2, &roots, &n, &e), HP_E_DATA,
	       "more roots than the limit refused");
	is_str(e.msg, "header has 3 roots, more than the limit of 2", "roots limit message");

	/* 30 roots: array(30) = 0x98 0x1e */
	hp_cid many[30];
	for (int i = 0; i < 30; i++)
		many[i] = v1;
	hp_buf_reset(&b);
	is_int(hp_car_header_encode(many, 30, &b, &e), HP_OK, "encode 30 roots");
	/* 1 + 6 + 2 + 30 * 41 + 8 + 1 = 1248 bytes: varint e0 09 */
	ok(b.len == 1250 && (uint8_t)b.data[0] == 0xe0 && (uint8_t)b.data[1] == 0x09 && (uint8_t)b.data[2] == 0xa2 &&
	   (uint8_t)b.data[9] == 0x98 && (uint8_t)b.data[10] == 30,
	   "a 2-byte header length; array(30) takes a 1-byte argument");
	is_int(hp_car_header_decode((const uint8_t *)b.data + 2, b.len - 2, 64, &roots, &n, &e), HP_OK, "decode 30 roots");
	is_int(n, 30, "30 roots back");
	free(roots);
	hp_buf_release(&b);
}

/* A hand-made header: p[0..n) without its varint. Decoding must fail with
 * HP_E_DATA and a message containing want. */
static void header_refused(const uint8_t *p, size_t n, const char *want, const char *why)
{
	hp_err e = HP_ERR_INIT;
	hp_cid *roots = (hp_cid *)1;
	size_t nroots = 99;
	hp_code rc = hp_car_header_decode(p, n, 8, &roots, &nroots, &e);
	if (!ok(rc == HP_E_DATA && strstr(e.msg, want) && roots == NULL && nroots == 0, "header refused: %s", why))
		printf("#   rc %d, message '%s', want '%s'\n", rc, e.msg, want);
	/* the same through the reader, with its length varint */
	uint8_t car[256];
	car[0] = (uint8_t)n;
	memcpy(car + 1, p, n);
	collect c;
	collect_init(&c);
	hp_car_reader_opts o = ropts(&c);
	o.name = "h.car";
	rc = hp_car_read_mem(car, n + 1, &o, &e);
	if (!ok(rc == HP_E_DATA && c.headers == 0 && strncmp(e.msg, "CAR 'h.car': ", 13) == 0 && strstr(e.msg, want),
		"reader refuses it too: %s", why))
		printf("#   rc %d, message '%s'\n", rc, e.msg);
	collect_free(&c);
}

#define REFUSED(want, why, ...) do { \
	static const uint8_t h_[] = { __VA_ARGS__ }; \
	header_refused(h_, sizeof h_, want, why); \
} while (0)

#define ROOTS 0x65, 'r', 'o', 'o', 't', 's'
#define VERSION 0x67, 'v', 'e', 'r', 's', 'i', 'o', 'n'
#define CID_V1 0xd8, 0x2a, 0x58, 0x25, 0x00, 0x01, 0x55, 0x12, 0x20, HELLO_DIGEST

static void test_header_refusals(void)
{
	REFUSED("is not a map", "an array", 0x82, 0x01, 0x02);
	REFUSED("indefinite length", "an indefinite-length map", 0xbf, ROOTS, 0x81, CID_V1, VERSION, 0x01, 0xff);
	REFUSED("out of canonical order", "version before roots", 0xa2, VERSION, 0x01, ROOTS, 0x81, CID_V1);
	REFUSED("repeated", "roots twice", 0xa3, ROOTS, 0x81, CID_V1, ROOTS, 0x81, CID_V1, VERSION, 0x01);
	REFUSED("unexpected key 'extra'", "an extra key", 0xa3, 0x65, 'e', 'x', 't', 'r', 'a', 0x01, ROOTS, 0x81, CID_V1, VERSION, 0x01);
	REFUSED("unexpected key 'Roots'", "a key in the wrong case", 0xa2, 0x65, 'R', 'o', 'o', 't', 's', 0x81, CID_V1, VERSION, 0x01);
	REFUSED("not a text string", "a byte-string key", 0xa2, 0x45, 'r', 'o', 'o', 't', 's', 0x81, CID_V1, VERSION, 0x01);
	REFUSED("shortest form", "version 1 in two bytes", 0xa2, ROOTS, 0x81, CID_V1, VERSION, 0x18, 0x01);
	REFUSED("shortest form", "a key length in two bytes", 0xa2, 0x78, 0x05, 'r', 'o', 'o', 't', 's', 0x81, CID_V1, VERSION, 0x01);
	REFUSED("shortest form", "a CID length in three bytes", 0xa2, ROOTS, 0x81, 0xd8, 0x2a, 0x59, 0x00, 0x25, 0x00, 0x01, 0x55, 0x12, 0x20, HELLO_DIGEST, VERSION, 0x01);
	REFUSED("CARv2 is not supported", "the CARv2 pragma", 0xa1, VERSION, 0x02);
	REFUSED("version 0 is not supported", "version 0", 0xa2, ROOTS, 0x81, CID_V1, VERSION, 0x00);
	REFUSED("version 1000 is not supported", "version 1000", 0xa2, ROOTS, 0x81, CID_V1, VERSION, 0x19, 0x03, 0xe8);
	REFUSED("negative integer", "version -2", 0xa2, ROOTS, 0x81, CID_V1, VERSION, 0x21);
	REFUSED("float or simple value", "version true", 0xa2, ROOTS, 0x81, CID_V1, VERSION, 0xf5);
	REFUSED("float or simple value", "version 1.0", 0xa2, ROOTS, 0x81, CID_V1, VERSION, 0xf9, 0x3c, 0x00);
	REFUSED("not an unsigned integer", "version \"1\"", 0xa2, ROOTS, 0x81, CID_V1, VERSION, 0x61, '1');
	REFUSED("has no version", "no version", 0xa1, ROOTS, 0x81, CID_V1);
	REFUSED("has no roots", "no roots", 0xa1, VERSION, 0x01);
	REFUSED("are not an array", "roots a CID, not a list", 0xa2, ROOTS, CID_V1, VERSION, 0x01);
	REFUSED("is not a CID (tag 42)", "tag 41", 0xa2, ROOTS, 0x81, 0xd8, 0x29, 0x58, 0x25, 0x00, 0x01, 0x55, 0x12, 0x20, HELLO_DIGEST, VERSION, 0x01);
	REFUSED("is not a CID (tag 42)", "an untagged byte string", 0xa2, ROOTS, 0x81, 0x58, 0x25, 0x00, 0x01, 0x55, 0x12, 0x20, HELLO_DIGEST, VERSION, 0x01);
	REFUSED("not a byte string", "tag 42 over a text string", 0xa2, ROOTS, 0x81, 0xd8, 0x2a, 0x62, 0x00, 0x01, VERSION, 0x01);
	REFUSED("lacks the 0x00 prefix", "no multibase prefix", 0xa2, ROOTS, 0x81, 0xd8, 0x2a, 0x58, 0x24, 0x01, 0x55, 0x12, 0x20, HELLO_DIGEST, VERSION, 0x01);
	REFUSED("lacks the 0x00 prefix", "an empty CID", 0xa2, ROOTS, 0x81, 0xd8, 0x2a, 0x40, VERSION, 0x01);
	REFUSED("after its CID", "a byte after the CID", 0xa2, ROOTS, 0x81, 0xd8, 0x2a, 0x58, 0x26, 0x00, 0x01, 0x55, 0x12, 0x20, HELLO_DIGEST, 0x00, VERSION, 0x01);
	REFUSED("header root 0", "a CID cut short", 0xa2, ROOTS, 0x81, 0xd8, 0x2a, 0x58, 0x24, 0x00, 0x01, 0x55, 0x12, 0x20, HELLO_DIGEST_31, VERSION, 0x01);
	REFUSED("after its map", "a byte after the map", 0xa2, ROOTS, 0x81, CID_V1, VERSION, 0x01, 0x00);
	REFUSED("truncated", "cut inside the map", 0xa2, ROOTS, 0x81, CID_V1);
	REFUSED("truncated", "a string longer than the header", 0xa2, 0x65, 'r', 'o');
	REFUSED("more than the limit of", "a huge array", 0xa2, ROOTS, 0x9b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff);
	REFUSED("8 roots cannot fit in 0 bytes", "8 roots promised, none there", 0xa2, ROOTS, 0x88);
	REFUSED("reserved", "additional info 28", 0xbc);
	REFUSED("not UTF-8", "a key that is not UTF-8", 0xa2, 0x62, 0xff, 0xfe, 0x01, ROOTS, 0x81, CID_V1, VERSION, 0x01);

	/* accepted: no roots (the spec leaves it open; gateways ignore roots) */
	static const uint8_t empty_roots[] = { 0xa2, ROOTS, 0x80, VERSION, 0x01 };
	hp_err e = HP_ERR_INIT;
	hp_cid *roots = (hp_cid *)1;
	size_t n = 9;
	is_int(hp_car_header_decode(empty_roots, sizeof empty_roots, 8, &roots, &n, &e), HP_OK, "an empty roots array is read");
	ok(roots == NULL && n == 0, "as no roots");
}

/* ---- writer + reader ---- */

/* Write blocks[0..n) (cids, data, lens) to path with roots; returns rc. */
static hp_code write_car(const char *path, const hp_cid *roots, size_t nroots, const hp_car_writer_opts *o,
			 const hp_cid *cids, uint8_t *const *data, const size_t *lens, size_t n, hp_err *e)
{
	hp_car_writer *w;
	hp_code rc = hp_car_writer_open(&w, path, roots, nroots, o, e);
	if (rc)
		return rc;
	for (size_t i = 0; i < n; i++)
		if ((rc = hp_car_put(w, &cids[i], data[i], lens[i], e))) {
			hp_car_abort(w);
			return rc;
		}
	return hp_car_commit(w, e);
}

static void test_known_car(void)
{
	hp_err e = HP_ERR_INIT;
	hp_cid cid;
	hp_cid_sha256(&cid, 1, HP_MC_RAW, hello_digest);
	const char *path = tmp_path("hello.car");
	hp_car_writer *w;
	is_int(hp_car_writer_open(&w, path, &cid, 1, NULL, &e), HP_OK, "open a CAR");
	is_int(hp_car_put(w, &cid, (const uint8_t *)"hello world", 11, &e), HP_OK, "put 'hello world'");
	is_int(hp_car_put(w, &cid, (const uint8_t *)"hello world", 11, &e), HP_OK, "put it again");
	hp_car_stats st;
	hp_car_writer_stats(w, &st);
	ok(st.blocks == 1 && st.duplicates == 1 && st.bytes == sizeof hello_car, "one block, one duplicate skipped, 107 bytes");
	struct stat sb;
	ok(stat(path, &sb) != 0 && errno == ENOENT, "nothing at the destination before commit");
	is_int(hp_car_commit(w, &e), HP_OK, "commit");
	hp_buf got = HP_BUF_INIT;
	ok(slurp(path, &got) == 0, "read it back");
	is_mem(got.data, got.len, hello_car, sizeof hello_car, "the CAR byte for byte");
	is_int(count_files_with(".tmp-"), 0, "no temporary file left");
	hp_buf_release(&got);

	collect c;
	collect_init(&c);
	hp_car_reader_opts o = ropts(&c);
	for (long step = 0; step <= 3; step++) {
		collect_free(&c);
		is_int(read_pieces(hello_car, sizeof hello_car, step, &o, &e), HP_OK, "read the known CAR in pieces of %ld", step);
		ok(c.headers == 1 && c.nroots == 1 && hp_cid_equal(&c.roots[0], &cid), "its root");
		ok(c.n == 1 && c.b[0].len == 11 && memcmp(c.b[0].data, "hello world", 11) == 0 &&
		   hp_cid_equal(&c.b[0].cid, &cid) && c.b[0].offset == 59, "its block, at offset 59");
	}
	is_int(hp_car_read_file(path, &o, &e), HP_OK, "read the file");
	collect_free(&c);
}

typedef struct blockset {
	size_t n;
	hp_cid *cids;
	uint8_t **data;
	size_t *lens;
} blockset;

static void blockset_make(blockset *s, size_t n, size_t max_len)
{
	s->n = n;
	s->cids = calloc(n, sizeof *s->cids);
	s->data = calloc(n, sizeof *s->data);
	s->lens = calloc(n, sizeof *s->lens);
	if (!s->cids || !s->data || !s->lens)
		abort();
	static const struct { unsigned v; uint64_t codec; } kinds[] = {
		{ 0, HP_MC_DAG_PB }, { 1, HP_MC_RAW }, { 1, HP_MC_DAG_PB }, { 1, HP_MC_DAG_CBOR },
	};
	for (size_t i = 0; i < n; i++) {
		size_t len;
		switch (i % 5) {
		case 0: len = rnd() % 4; break;
		case 1: len = rnd() % 200; break;
		case 2: len = 100 + rnd() % 20000; break;
		default: len = rnd() % (max_len + 1); break;
		}
		s->lens[i] = len;
		s->data[i] = malloc(len ? len : 1);
		if (!s->data[i])
			abort();
		fill(s->data[i], len);
		if (len)
			s->data[i][0] = (uint8_t)i;  /* distinct blocks (only 0-byte ones repeat) */
		cid_of(&s->cids[i], kinds[i % 4].v, kinds[i % 4].codec, s->data[i], len);
	}
}

static void blockset_free(blockset *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->data[i]);
	free(s->cids);
	free(s->data);
	free(s->lens);
}

static void test_round_trip(void)
{
	hp_err e = HP_ERR_INIT;
	blockset s;
	blockset_make(&s, 200, 60000);
	/* the puts: every block, and every seventh one again a little later */
	size_t nputs = 0, *order = malloc(2 * s.n * sizeof *order);
	if (!order)
		abort();
	for (size_t i = 0; i < s.n; i++) {
		order[nputs++] = i;
		if (i % 7 == 6)
			order[nputs++] = i - 3;
	}
	const char *path = tmp_path("rt.car");
	hp_car_writer *w;
	is_int(hp_car_writer_open(&w, path, &s.cids[0], 1, NULL, &e), HP_OK, "open");
	hp_code rc = HP_OK;
	for (size_t k = 0; k < nputs && !rc; k++)
		rc = hp_car_put(w, &s.cids[order[k]], s.data[order[k]], s.lens[order[k]], &e);
	is_int(rc, HP_OK, "%zu puts", nputs);
	hp_car_stats st;
	hp_car_writer_stats(w, &st);
	/* blocks 0, 5, 10, ... of 0..3 bytes with the same CID kind (i % 20 == 0
	 * or 5 etc.) may coincide: count the CIDs that are really distinct */
	size_t distinct = 0;
	for (size_t i = 0; i < s.n; i++) {
		bool seen = false;
		for (size_t j = 0; j < i && !seen; j++)
			seen = hp_cid_equal(&s.cids[i], &s.cids[j]);
		distinct += !seen;
	}
	is_int(st.blocks, distinct, "each distinct CID written once");
	is_int(st.blocks + st.duplicates, nputs, "the rest counted as duplicates");
	is_int(hp_car_commit(w, &e), HP_OK, "commit");
	hp_buf car = HP_BUF_INIT;
	ok(slurp(path, &car) == 0 && car.len == st.bytes, "the file has the bytes the stats said");

	collect c;
	collect_init(&c);
	hp_car_reader_opts o = ropts(&c);
	static const long steps[] = { 0, 1000003, 65536, 7, -5000, -100000 };
	for (size_t t = 0; t < sizeof steps / sizeof steps[0]; t++) {
		collect_free(&c);
		rc = read_pieces((const uint8_t *)car.data, car.len, steps[t], &o, &e);
		is_int(rc, HP_OK, "read back, pieces %ld", steps[t]);
		if (rc)
			printf("#   %s\n", e.msg);
		bool same = c.n == distinct && c.unverified == 0 && c.bad_index == 0 && c.nroots == 1 &&
			    hp_cid_equal(&c.roots[0], &s.cids[0]);
		/* first-seen order of the puts */
		size_t k = 0;
		for (size_t i = 0; same && i < nputs; i++) {
			size_t b = order[i];
			bool before = false;
			for (size_t j = 0; j < i && !before; j++)
				before = hp_cid_equal(&s.cids[order[j]], &s.cids[b]);
			if (before)
				continue;
			same = k < c.n && hp_cid_equal(&c.b[k].cid, &s.cids[b]) && c.b[k].len == s.lens[b] &&
			       memcmp(c.b[k].data, s.data[b], s.lens[b]) == 0;
			k++;
		}
		ok(same, "every block back, in first-seen order, verified");
	}
	/* byte by byte, the first 40 blocks' worth */
	collect_free(&c);
	size_t cut = 0;
	hp_car_reader *r;
	hp_car_reader_new(&r, &o, &e);
	rc = HP_OK;
	while (!rc && hp_car_reader_blocks(r) < 40 && cut < car.len)
		rc = hp_car_feed(r, (const uint8_t *)car.data + cut++, 1, &e);
	ok(rc == HP_OK && c.n == 40 && c.unverified == 0 && hp_car_reader_offset(r) == cut,
	   "one byte at a time: 40 blocks after %zu bytes", cut);
	hp_car_reader_free(r);
	collect_free(&c);

	/* without dedup every put is written */
	hp_car_writer_opts wo = HP_CAR_WRITER_OPTS_INIT;
	wo.dedup = false;
	is_int(hp_car_writer_open(&w, path, &s.cids[0], 1, &wo, &e), HP_OK, "open without dedup");
	for (size_t k = 0; k < nputs && !rc; k++)
		rc = hp_car_put(w, &s.cids[order[k]], s.data[order[k]], s.lens[order[k]], &e);
	hp_car_writer_stats(w, &st);
	ok(rc == HP_OK && st.blocks == nputs && st.duplicates == 0, "all %zu puts written", nputs);
	is_int(hp_car_commit(w, &e), HP_OK, "commit");
	is_int(hp_car_read_file(path, &o, &e), HP_OK, "a CAR with repeated blocks is read");
	ok(c.n == nputs && c.unverified == 0, "with every repeat");
	collect_free(&c);

	/* a small dedup memory: past it, repeats are written again, nothing lost */
	wo.dedup = true;
	wo.dedup_max = 10;
	is_int(hp_car_writer_open(&w, path, &s.cids[0], 1, &wo, &e), HP_OK, "open with room for 10 CIDs");
	for (size_t k = 0; k < nputs && !rc; k++)
		rc = hp_car_put(w, &s.cids[order[k]], s.data[order[k]], s.lens[order[k]], &e);
	hp_car_writer_stats(w, &st);
	ok(rc == HP_OK && st.blocks + st.duplicates == nputs && st.blocks > distinct, "repeats past the memory written: %" PRIu64, st.blocks);
	is_int(hp_car_commit(w, &e), HP_OK, "commit");
	is_int(hp_car_read_file(path, &o, &e), HP_OK, "and read");
	collect_free(&c);

	hp_buf_release(&car);
	free(order);
	blockset_free(&s);
}

/* The roots given at commit: patched in place, rewritten when their length
 * changes, held aside for a descriptor. Each result must equal the CAR
 * written with the roots known from the start. */
static void test_roots_later(void)
{
	hp_err e = HP_ERR_INIT;
	blockset s;
	blockset_make(&s, 40, 100000);
	hp_cid root_v1 = s.cids[1], root_v0 = s.cids[0];
	hp_cid two[2] = { s.cids[1], s.cids[2] };
	struct {
		const char *name;
		const hp_cid *placeholders;
		size_t nph;
		const hp_cid *final;
		size_t nfinal;
	} cases[] = {
		{ "v1 root in place of the default placeholder", NULL, 1, &root_v1, 1 },
		{ "v0 root (2 bytes shorter): rewritten", NULL, 1, &root_v0, 1 },
		{ "v0 root in place of a v0 placeholder", &root_v0, 1, &root_v0, 1 },
		{ "two roots for one placeholder: rewritten", NULL, 1, two, 2 },
		{ "one root for two placeholders: rewritten", two, 2, &root_v1, 1 },
	};
	hp_buf want = HP_BUF_INIT, got = HP_BUF_INIT;
	for (size_t t = 0; t < sizeof cases / sizeof cases[0]; t++) {
		const char *ref = tmp_path("ref.car"), *path = tmp_path("later.car");
		write_car(ref, cases[t].final, cases[t].nfinal, NULL, s.cids, s.data, s.lens, s.n, &e);
		slurp(ref, &want);

		hp_car_writer_opts o = HP_CAR_WRITER_OPTS_INIT;
		o.roots_later = true;
		hp_car_writer *w;
		hp_code rc = hp_car_writer_open(&w, path, cases[t].placeholders, cases[t].nph, &o, &e);
		for (size_t i = 0; !rc && i < s.n; i++)
			rc = hp_car_put(w, &s.cids[i], s.data[i], s.lens[i], &e);
		if (!rc)
			rc = hp_car_set_roots(w, &s.cids[5], 1, &e);  /* replaced by the next call */
		if (!rc)
			rc = hp_car_set_roots(w, cases[t].final, cases[t].nfinal, &e);
		hp_car_stats st = { 0, 0, 0 };
		if (!rc)
			hp_car_writer_stats(w, &st);
		if (!rc)
			rc = hp_car_commit(w, &e);
		else
			hp_car_abort(w);
		is_int(rc, HP_OK, "%s", cases[t].name);
		slurp(path, &got);
		is_mem(got.data, got.len, want.data, want.len, "%s: the same bytes as with the roots at open", cases[t].name);
		is_int(st.bytes, want.len, "%s: stats count the final header", cases[t].name);
		is_int(count_files_with(".tmp-"), 0, "%s: no temporary file left", cases[t].name);

		/* onto a descriptor: the sections wait in a spill file */
		const char *fdpath = tmp_path("fd.car");
		int fd = open(fdpath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		rc = hp_car_writer_open_fd(&w, fd, "fd.car", cases[t].placeholders, cases[t].nph, &o, &e);
		for (size_t i = 0; !rc && i < s.n; i++)
			rc = hp_car_put(w, &s.cids[i], s.data[i], s.lens[i], &e);
		if (!rc)
			rc = hp_car_set_roots(w, cases[t].final, cases[t].nfinal, &e);
		if (!rc)
			rc = hp_car_commit(w, &e);
		else
			hp_car_abort(w);
		close(fd);
		is_int(rc, HP_OK, "%s, onto a descriptor", cases[t].name);
		slurp(fdpath, &got);
		is_mem(got.data, got.len, want.data, want.len, "%s, onto a descriptor: the same bytes", cases[t].name);
	}

	/* the roots known at open, onto a descriptor */
	const char *fdpath = tmp_path("fd2.car");
	int fd = open(fdpath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	hp_car_writer *w;
	hp_code rc = hp_car_writer_open_fd(&w, fd, "fd2.car", &root_v1, 1, NULL, &e);
	for (size_t i = 0; !rc && i < s.n; i++)
		rc = hp_car_put(w, &s.cids[i], s.data[i], s.lens[i], &e);
	write_car(tmp_path("ref.car"), &root_v1, 1, NULL, s.cids, s.data, s.lens, s.n, &e);
	slurp(tmp_path("ref.car"), &want);
	is_int(hp_car_commit(w, &e), HP_OK, "roots at open, onto a descriptor");
	close(fd);
	slurp(fdpath, &got);
	is_mem(got.data, got.len, want.data, want.len, "the same bytes as through a path");

	/* misuse */
	hp_car_writer_opts o = HP_CAR_WRITER_OPTS_INIT;
	o.roots_later = true;
	const char *never = tmp_path("never.car");
	is_int(hp_car_writer_open(&w, never, NULL, 1, &o, &e), HP_OK, "open with the roots later");
	hp_car_put(w, &s.cids[0], s.data[0], s.lens[0], &e);
	is_int(hp_car_commit(w, &e), HP_E_USAGE, "commit without the roots refused");
	char want_msg[600];
	snprintf(want_msg, sizeof want_msg, "CAR '%s': the roots were never set", never);
	is_str(e.msg, want_msg, "it says the roots were never set");
	struct stat sb;
	ok(stat(never, &sb) != 0, "and creates nothing");
	is_int(count_files_with(".tmp-"), 0, "no temporary file left");

	is_int(hp_car_writer_open(&w, never, &root_v1, 1, NULL, &e), HP_OK, "open with the roots");
	is_int(hp_car_set_roots(w, &root_v0, 1, &e), HP_E_USAGE, "set_roots without roots_later refused");
	hp_car_put(w, &s.cids[0], s.data[0], s.lens[0], &e);
	hp_car_abort(w);
	ok(stat(never, &sb) != 0 && count_files_with(".tmp-") == 0, "abort leaves nothing");
	hp_car_abort(NULL);

	is_int(hp_car_writer_open(&w, never, &root_v1, 0, NULL, &e), HP_E_USAGE, "no roots refused");
	is_int(hp_car_writer_open(&w, never, NULL, 1, NULL, &e), HP_E_USAGE, "NULL roots without roots_later refused");
	hp_car_writer_opts nc = HP_CAR_WRITER_OPTS_INIT;
	nc.atomic_flags = HP_ATOMIC_NOCLOBBER;
	is_int(hp_car_writer_open(&w, fdpath, &root_v1, 1, &nc, &e), HP_E_CANTCREAT, "no-clobber refuses an existing file");
	is_int(hp_car_writer_open(&w, "/nonexistent-dir/x.car", &root_v1, 1, NULL, &e), HP_E_CANTCREAT,
	       "a missing directory is reported");
	hp_buf_release(&want);
	hp_buf_release(&got);
	blockset_free(&s);
}

static void add_section(hp_buf *b, const uint8_t *cid, size_t cl, const void *data, size_t n)
{
	uint8_t v[HP_VARINT_MAX];
	size_t vn = hp_varint_put(cl + n, v);
	hp_buf_add(b, v, vn, NULL);
	hp_buf_add(b, cid, cl, NULL);
	hp_buf_add(b, data, n, NULL);
}

static void test_writer_refusals(void)
{
	hp_err e = HP_ERR_INIT;
	hp_cid root, id, sha512, short_digest, cid;
	hp_cid_sha256(&root, 1, HP_MC_RAW, hello_digest);
	id = root;
	id.hash = HP_MC_IDENTITY;
	id.digest_len = 5;
	memcpy(id.digest, "hello", 5);
	sha512 = root;
	sha512.hash = 0x13;
	sha512.digest_len = 64;
	short_digest = root;
	short_digest.digest_len = 16;
	const char *path = tmp_path("refuse.car");
	hp_car_writer *w;
	is_int(hp_car_writer_open(&w, path, &root, 1, NULL, &e), HP_OK, "open");
	is_int(hp_car_put(w, &id, (const uint8_t *)"hello", 5, &e), HP_E_USAGE, "an identity CID is not written as a block");
	ok(strstr(e.msg, "identity CID") != NULL, "message: %s", e.msg);
	is_int(hp_car_put(w, &sha512, (const uint8_t *)"x", 1, &e), HP_E_USAGE, "sha2-512 refused");
	is_int(hp_car_put(w, &short_digest, (const uint8_t *)"x", 1, &e), HP_E_USAGE, "a truncated sha2-256 refused");
	is_int(hp_car_put(w, &root, (const uint8_t *)"hello World", 11, &e), HP_E_INVALID, "bytes that do not match refused");
	char text[HP_CID_MAX_TEXT], want[700];
	hp_cid_text(&root, text);
	snprintf(want, sizeof want, "CAR '%s': block bytes do not match CID %s", path, text);
	is_str(e.msg, want, "mismatch message");
	size_t big = HP_CAR_MAX_BLOCK + 1;
	uint8_t *data = calloc(big, 1);
	if (!data)
		abort();
	cid_of(&cid, 1, HP_MC_RAW, data, big);
	is_int(hp_car_put(w, &cid, data, big, &e), HP_E_USAGE, "a block over 2 MiB refused");
	cid_of(&cid, 1, HP_MC_RAW, data, big - 1);
	is_int(hp_car_put(w, &cid, data, big - 1, &e), HP_OK, "a block of exactly 2 MiB written");
	is_int(hp_car_put(w, &root, (const uint8_t *)"hello world", 11, &e), HP_OK, "the writer goes on after refusals");
	hp_car_stats st;
	hp_car_writer_stats(w, &st);
	is_int(st.blocks, 2, "two blocks written");
	is_int(hp_car_commit(w, &e), HP_OK, "commit");
	collect c;
	collect_init(&c);
	hp_car_reader_opts o = ropts(&c);
	is_int(hp_car_read_file(path, &o, &e), HP_OK, "read back");
	ok(c.n == 2 && c.b[0].len == big - 1 && c.unverified == 0, "a 2 MiB block passes the reader");
	collect_free(&c);

	/* without the limit and the check, the reader is what refuses */
	hp_car_writer_opts wo = HP_CAR_WRITER_OPTS_INIT;
	wo.max_block = 0;
	wo.verify = false;
	cid_of(&cid, 1, HP_MC_RAW, data, big);
	is_int(hp_car_writer_open(&w, path, &root, 1, &wo, &e), HP_OK, "open without limit or check");
	is_int(hp_car_put(w, &root, (const uint8_t *)"hello world", 11, &e), HP_OK, "put a good block");
	is_int(hp_car_put(w, &cid, data, big, &e), HP_OK, "put 2 MiB + 1");
	is_int(hp_car_commit(w, &e), HP_OK, "commit");
	is_int(hp_car_read_file(path, &o, &e), HP_E_DATA, "the reader refuses 2 MiB + 1");
	snprintf(want, sizeof want, "CAR '%s': block 1 at offset 107: 2097153 bytes, over the limit of 2097152", path);
	is_str(e.msg, want, "with the block and its offset");
	ok(c.n == 1, "the block before it was handed out");
	collect_free(&c);
	o.max_block = 3u << 20;
	is_int(hp_car_read_file(path, &o, &e), HP_OK, "a reader with a 3 MiB limit takes it");
	collect_free(&c);
	o.max_block = HP_CAR_MAX_BLOCK;

	is_int(hp_car_writer_open(&w, path, &root, 1, &wo, &e), HP_OK, "open without the check");
	is_int(hp_car_put(w, &root, (const uint8_t *)"hello World", 11, &e), HP_OK, "put bytes that do not match");
	is_int(hp_car_commit(w, &e), HP_OK, "commit");
	is_int(hp_car_read_file(path, &o, &e), HP_E_INVALID, "the reader refuses the mismatch");
	snprintf(want, sizeof want, "CAR '%s': block 0 at offset 59: bytes do not match CID %s", path, text);
	is_str(e.msg, want, "message with block number, offset and CID");
	is_int(c.n, 0, "no block handed out");
	collect_free(&c);
	free(data);
}

/* A small CAR: hello_car plus blocks of 0, 5, 300 and 1000 bytes (the last
 * with a 2-byte length varint). ends[] gets the end of header and sections. */
static size_t small_car(hp_buf *car, size_t ends[6])
{
	hp_buf_reset(car);
	hp_buf_add(car, hello_car, sizeof hello_car, NULL);
	ends[0] = sizeof hello_header_v1;
	ends[1] = sizeof hello_car;
	static const size_t sizes[] = { 0, 5, 300, 1000 };
	for (size_t i = 0; i < 4; i++) {
		uint8_t d[1000];
		fill(d, sizes[i]);
		hp_cid c;
		cid_of(&c, i % 2, i % 2 ? HP_MC_RAW : HP_MC_DAG_PB, d, sizes[i]);
		uint8_t cb[HP_CID_MAX_BYTES];
		size_t cl = hp_cid_bytes(&c, cb);
		add_section(car, cb, cl, d, sizes[i]);
		ends[2 + i] = car->len;
	}
	return 6;
}

static void test_truncation(void)
{
	hp_err e = HP_ERR_INIT;
	hp_buf car = HP_BUF_INIT;
	size_t ends[6];
	small_car(&car, ends);
	collect c;
	collect_init(&c);
	hp_car_reader_opts o = ropts(&c);
	int bad = 0, checked = 0;
	for (size_t len = 0; len <= car.len; len++) {
		size_t complete = 0;  /* sections (header included) wholly inside the prefix */
		bool boundary = false;
		for (size_t k = 0; k < 6; k++) {
			if (ends[k] <= len)
				complete++;
			if (ends[k] == len)
				boundary = true;
		}
		size_t want_blocks = complete ? complete - 1 : 0;
		for (long step = 0; step <= 1; step++) {
			collect_free(&c);
			hp_code rc = read_pieces((const uint8_t *)car.data, len, step, &o, &e);
			bool good = boundary ? rc == HP_OK : rc == HP_E_DATA &&
				    (strstr(e.msg, "truncated") || strstr(e.msg, "empty input"));
			good = good && c.n == want_blocks && c.unverified == 0 && c.bad_index == 0;
			checked++;
			if (!good) {
				bad++;
				printf("#   prefix %zu, pieces %ld: rc %d, %zu blocks (want %zu): %s\n", len, step, rc, c.n,
				       want_blocks, e.msg);
			}
		}
	}
	ok(!bad, "every prefix (%d reads) fails cleanly unless it ends at a section, never a block more", checked);
	is_int(read_pieces((const uint8_t *)car.data, ends[1] + 20, 0, &o, &e), HP_E_DATA, "cut inside block 1");
	is_str(e.msg, "CAR: block 1 at offset 107: truncated after 19 of 34 bytes", "message for a section cut short");
	is_int(read_pieces((const uint8_t *)car.data, ends[4] + 1, 0, &o, &e), HP_E_DATA, "cut inside a length varint");
	char want[200];
	snprintf(want, sizeof want, "CAR: block 4 at offset %zu: truncated in its length", ends[4]);
	is_str(e.msg, want, "message for a length cut short");
	is_int(read_pieces((const uint8_t *)car.data, 30, 0, &o, &e), HP_E_DATA, "cut inside the header");
	is_str(e.msg, "CAR: truncated in the header (30 bytes)", "message for a header cut short");
	is_int(read_pieces((const uint8_t *)car.data, 0, 0, &o, &e), HP_E_DATA, "no bytes");
	is_str(e.msg, "CAR: empty input", "message for nothing");
	collect_free(&c);
	hp_buf_release(&car);
}

static void test_flips(void)
{
	hp_err e = HP_ERR_INIT;
	hp_buf car = HP_BUF_INIT, bent = HP_BUF_INIT;
	size_t ends[6];
	small_car(&car, ends);
	collect c;
	collect_init(&c);
	hp_car_reader_opts o = ropts(&c);
	/* where each block's data lies, from a clean read */
	size_t dstart[5], dend[5];
	hp_car_read_mem((const uint8_t *)car.data, car.len, &o, &e);
	for (size_t k = 0; k < 5; k++) {
		dend[k] = ends[k + 1];
		dstart[k] = dend[k] - c.b[k].len;
	}
	int unverified = 0, data_passed = 0, accepted = 0, reads = 0;
	for (size_t i = 0; i < car.len; i++) {
		static const uint8_t masks[] = { 0x01, 0x80, 0xff };
		for (size_t m = 0; m < sizeof masks; m++) {
			hp_buf_reset(&bent);
			hp_buf_add(&bent, car.data, car.len, NULL);
			bent.data[i] ^= (char)masks[m];
			collect_free(&c);
			hp_code rc = hp_car_read_mem((const uint8_t *)bent.data, bent.len, &o, &e);
			reads++;
			unverified += c.unverified;
			accepted += rc == HP_OK;
			for (size_t k = 0; k < 5; k++)
				if (i >= dstart[k] && i < dend[k] && (rc != HP_E_INVALID || c.n != k)) {
					data_passed++;
					printf("#   flip 0x%02x at %zu (data of block %zu): rc %d, %zu blocks: %s\n",
					       masks[m], i, k, rc, c.n, e.msg);
				}
		}
	}
	is_int(unverified, 0, "no flipped byte ever gets an unverified block out (%d reads)", reads);
	is_int(data_passed, 0, "a flip in any block's data is refused as a mismatch at that block");
	ok(accepted < reads / 10, "flips accepted only where they make another valid CAR (%d)", accepted);
	collect_free(&c);
	hp_buf_release(&car);
	hp_buf_release(&bent);
}

static void test_corrupt_block(void)
{
	hp_err e = HP_ERR_INIT;
	blockset s;
	blockset_make(&s, 20, 5000);
	const char *path = tmp_path("corrupt.car");
	write_car(path, &s.cids[0], 1, NULL, s.cids, s.data, s.lens, s.n, &e);
	hp_buf car = HP_BUF_INIT;
	slurp(path, &car);
	collect c;
	collect_init(&c);
	hp_car_reader_opts o = ropts(&c);
	o.name = "corrupt.car";
	hp_car_read_mem((const uint8_t *)car.data, car.len, &o, &e);
	size_t nb = c.n;
	uint64_t *offs = malloc(nb * sizeof *offs);
	size_t *lens = malloc(nb * sizeof *lens);
	for (size_t k = 0; k < nb; k++) {
		offs[k] = c.b[k].offset;
		lens[k] = c.b[k].len;
	}
	int bad = 0, tried = 0;
	for (size_t k = 0; k < nb; k++) {
		if (!lens[k])
			continue;
		/* the last byte of the block's data */
		size_t at = (k + 1 < nb ? offs[k + 1] : car.len) - 1;
		car.data[at] ^= 0x20;
		collect_free(&c);
		hp_code rc = hp_car_read_mem((const uint8_t *)car.data, car.len, &o, &e);
		char text[HP_CID_MAX_TEXT], want[600];
		hp_cid_text(&s.cids[k], text);
		snprintf(want, sizeof want, "CAR 'corrupt.car': block %zu at offset %" PRIu64 ": bytes do not match CID %s",
			 k, offs[k], text);
		tried++;
		if (rc != HP_E_INVALID || strcmp(e.msg, want) != 0 || c.n != k || c.unverified) {
			bad++;
			printf("#   block %zu: rc %d, %zu blocks, '%s'\n#   want '%s'\n", k, rc, c.n, e.msg, want);
		}
		car.data[at] ^= 0x20;
	}
	ok(tried > 10 && !bad, "one changed byte in any of %d blocks: refused, naming the block, its offset and CID", tried);
	free(offs);
	free(lens);
	collect_free(&c);
	hp_buf_release(&car);
	blockset_free(&s);
}

static void test_limits(void)
{
	hp_err e = HP_ERR_INIT;
	hp_buf car = HP_BUF_INIT;
	size_t ends[6];
	small_car(&car, ends);
	collect c;
	collect_init(&c);
	hp_car_reader_opts o = ropts(&c);
	char want[300];

	o.max_total = car.len;
	is_int(hp_car_read_mem((const uint8_t *)car.data, car.len, &o, &e), HP_OK, "a total limit of exactly the CAR's size");
	collect_free(&c);
	o.max_total = car.len - 1;
	is_int(read_pieces((const uint8_t *)car.data, car.len, 1, &o, &e), HP_E_DATA, "one byte less");
	snprintf(want, sizeof want, "CAR: section at offset %zu would end past the limit of %zu bytes", ends[4], car.len - 1);
	is_str(e.msg, want, "refused at the length of the last section, before its bytes");
	is_int(c.n, 4, "the blocks before it were handed out");
	collect_free(&c);
	o.max_total = car.len;
	hp_car_reader *r;
	hp_car_reader_new(&r, &o, &e);
	hp_car_feed(r, (const uint8_t *)car.data, car.len - 3, &e);
	uint8_t more[8] = { 0 };
	memcpy(more, car.data + car.len - 3, 3);
	is_int(hp_car_feed(r, more, sizeof more, &e), HP_E_DATA, "bytes past the total limit refused");
	snprintf(want, sizeof want, "CAR: more than the limit of %zu bytes", car.len);
	is_str(e.msg, want, "message");
	ok(c.n == 5 && c.unverified == 0, "the CAR within the limit was read");
	is_int(hp_car_finish(r, &e), HP_E_DATA, "finish repeats the failure");
	is_str(e.msg, want, "with the same message");
	hp_car_reader_free(r);
	collect_free(&c);
	o.max_total = 40;
	is_int(hp_car_read_mem((const uint8_t *)car.data, car.len, &o, &e), HP_E_DATA, "a limit inside the header");
	is_str(e.msg, "CAR: header at offset 0 would end past the limit of 40 bytes", "message");
	o.max_total = 0;

	o.max_blocks = 3;
	is_int(hp_car_read_mem((const uint8_t *)car.data, car.len, &o, &e), HP_E_DATA, "more blocks than the limit");
	snprintf(want, sizeof want, "CAR: block 3 at offset %zu: more than the limit of 3 blocks", ends[3]);
	is_str(e.msg, want, "message");
	is_int(c.n, 3, "three blocks handed out");
	collect_free(&c);
	o.max_blocks = 5;
	is_int(hp_car_read_mem((const uint8_t *)car.data, car.len, &o, &e), HP_OK, "exactly the block limit");
	collect_free(&c);
	o.max_blocks = 0;

	o.max_header = 57;
	is_int(hp_car_read_mem((const uint8_t *)car.data, car.len, &o, &e), HP_E_DATA, "a header over its limit");
	is_str(e.msg, "CAR: the header of 58 bytes is over the limit of 57", "message");
	o.max_header = HP_CAR_MAX_HEADER;

	/* a section that claims 100 MB: refused at its length, nothing buffered */
	hp_buf big = HP_BUF_INIT;
	hp_buf_add(&big, hello_header_v1, sizeof hello_header_v1, NULL);
	uint8_t v[HP_VARINT_MAX];
	size_t vn = hp_varint_put(100000000, v);
	hp_buf_add(&big, v, vn, NULL);
	hp_car_reader_new(&r, &o, &e);
	is_int(hp_car_feed(r, (const uint8_t *)big.data, big.len, &e), HP_E_DATA, "a 100 MB section refused by feed");
	is_str(e.msg, "CAR: block 0 at offset 59: a section of 100000000 bytes, over the block limit of 2097152", "message");
	hp_car_reader_free(r);
	hp_buf_release(&big);
	collect_free(&c);
	hp_buf_release(&car);
}

/* hello_car followed by tail[0..n): refused with a message containing want. */
static void trailing(const uint8_t *tail, size_t n, hp_code code, const char *want, const char *why)
{
	hp_err e = HP_ERR_INIT;
	hp_buf car = HP_BUF_INIT;
	hp_buf_add(&car, hello_car, sizeof hello_car, NULL);
	hp_buf_add(&car, tail, n, NULL);
	collect c;
	collect_init(&c);
	hp_car_reader_opts o = ropts(&c);
	for (long step = 0; step <= 1; step++) {
		collect_free(&c);
		hp_code rc = read_pieces((const uint8_t *)car.data, car.len, step, &o, &e);
		if (!ok(rc == code && strstr(e.msg, want) && c.n == 1 && c.unverified == 0, "%s (pieces %ld)", why, step))
			printf("#   rc %d, %zu blocks, '%s', want '%s'\n", rc, c.n, e.msg, want);
	}
	collect_free(&c);
	hp_buf_release(&car);
}

static void test_garbage(void)
{
	static const uint8_t zero[] = { 0x00 };
	trailing(zero, 1, HP_E_DATA, "block 1 at offset 107: a section of length 0", "a zero byte after the last block");
	static const uint8_t cont[] = { 0x80 };
	trailing(cont, 1, HP_E_DATA, "block 1 at offset 107: truncated in its length", "a lone continuation byte");
	static const uint8_t ff[] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	trailing(ff, sizeof ff, HP_E_DATA, "section at offset 107: the length is not a valid varint", "a varint of 0xff bytes");
	static const uint8_t overlong[] = { 0x85, 0x00, 1, 2, 3, 4, 5 };
	trailing(overlong, sizeof overlong, HP_E_DATA, "not a valid varint", "a length in a non-minimal varint");
	static const uint8_t junk[] = { 0x05, 0x07, 0x07, 0x07, 0x07, 0x07 };
	trailing(junk, sizeof junk, HP_E_DATA, "block 1 at offset 107: ", "five bytes that are no CID");
	static const uint8_t text[] = "\nthis is not a CAR section\n";
	trailing(text, sizeof text - 1, HP_E_DATA, "block 1 at offset 107", "text after the last block");

	uint8_t s[200];
	hp_buf b = HP_BUF_INIT;
	/* identity CID as a block: 01 55 00 05 "hello" + data "hello" */
	static const uint8_t idcid[] = { 0x01, 0x55, 0x00, 0x05, 'h', 'e', 'l', 'l', 'o' };
	add_section(&b, idcid, sizeof idcid, "hello", 5);
	trailing((const uint8_t *)b.data, b.len, HP_E_DATA, "block 1 at offset 107: identity CID ", "an identity CID as a block");
	hp_buf_reset(&b);
	/* sha2-512: 01 55 13 40 + 64 bytes */
	s[0] = 0x01;
	s[1] = 0x55;
	s[2] = 0x13;
	s[3] = 0x40;
	memset(s + 4, 0xab, 64);
	add_section(&b, s, 68, "x", 1);
	trailing((const uint8_t *)b.data, b.len, HP_E_DATA, "unsupported hash function 0x13", "a sha2-512 block");
	hp_buf_reset(&b);
	/* sha2-256 cut to 16 bytes: 01 55 12 10 + 16 */
	s[2] = 0x12;
	s[3] = 0x10;
	add_section(&b, s, 20, "x", 1);
	trailing((const uint8_t *)b.data, b.len, HP_E_DATA, "block 1 at offset 107: malformed CID", "a truncated sha2-256 digest");
	hp_buf_reset(&b);
	/* a CID that is longer than its section */
	s[3] = 0x20;
	add_section(&b, s, 30, NULL, 0);
	trailing((const uint8_t *)b.data, b.len, HP_E_DATA, "block 1 at offset 107: ", "a section shorter than its CID");
	hp_buf_reset(&b);
	/* a second header */
	trailing(hello_header_v1, sizeof hello_header_v1, HP_E_DATA, "block 1 at offset 107: ", "a second header");
	/* a whole second CAR */
	trailing(hello_car, sizeof hello_car, HP_E_DATA, "block 1 at offset 107: ", "two CARs one after the other");
	hp_buf_release(&b);
}

static hp_code refuse_header(void *ctx, const hp_cid *roots, size_t nroots, hp_err *e)
{
	(void)ctx;
	(void)roots;
	return hp_fail(e, HP_E_INVALID, "want another root than these %zu", nroots);
}

static void test_callbacks(void)
{
	hp_err e = HP_ERR_INIT;
	hp_buf car = HP_BUF_INIT;
	size_t ends[6];
	small_car(&car, ends);
	collect c;
	collect_init(&c);
	c.stop_at = 2;
	hp_car_reader_opts o = ropts(&c);
	hp_car_reader *r;
	hp_car_reader_new(&r, &o, &e);
	is_int(hp_car_feed(r, (const uint8_t *)car.data, car.len, &e), HP_E_IO, "a callback's error stops the reader");
	is_str(e.msg, "stop at block 2", "with its message");
	is_int(c.n, 2, "no block after it");
	is_int(hp_car_feed(r, (const uint8_t *)car.data, 1, &e), HP_E_IO, "and every later call fails the same way");
	is_str(e.msg, "stop at block 2", "same message");
	is_int(hp_car_feed(r, (const uint8_t *)car.data, 1, NULL), HP_E_IO, "also without an error buffer");
	is_int(hp_car_finish(r, &e), HP_E_IO, "finish too");
	hp_car_reader_free(r);
	collect_free(&c);

	o.on_header = refuse_header;
	is_int(hp_car_read_mem((const uint8_t *)car.data, car.len, &o, &e), HP_E_INVALID, "on_header can refuse the roots");
	is_str(e.msg, "want another root than these 1", "with its message");
	is_int(c.n, 0, "before any block");
	collect_free(&c);

	hp_car_reader_opts zero;
	memset(&zero, 0, sizeof zero);
	zero.on_block = on_block;
	zero.ctx = &c;
	is_int(hp_car_read_mem((const uint8_t *)car.data, car.len, &zero, &e), HP_OK,
	       "zeroed options mean the default limits, not limits of 0");
	is_int(c.n, 5, "five blocks");
	collect_free(&c);

	hp_car_reader_new(&r, NULL, &e);
	is_int(hp_car_feed(r, (const uint8_t *)car.data, car.len, &e), HP_OK, "no callbacks at all");
	is_int(hp_car_reader_blocks(r), 5, "five blocks counted");
	is_int(hp_car_finish(r, &e), HP_OK, "finish");
	is_int(hp_car_finish(r, &e), HP_OK, "finish twice");
	is_int(hp_car_feed(r, (const uint8_t *)car.data, 1, &e), HP_E_USAGE, "bytes after finish refused");
	hp_car_reader_free(r);
	hp_car_reader_free(NULL);
	hp_buf_release(&car);
}

typedef struct mem_src {
	const uint8_t *p;
	size_t n, off;
	int calls;
} mem_src;

static hp_code pull_mem(void *ctx, uint8_t *buf, size_t cap, size_t *got, hp_err *e)
{
	(void)e;
	mem_src *s = ctx;
	size_t k = 1 + (size_t)(rnd() % 300);
	if (k > cap)
		k = cap;
	if (k > s->n - s->off)
		k = s->n - s->off;
	memcpy(buf, s->p + s->off, k);
	s->off += k;
	s->calls++;
	*got = k;
	return HP_OK;
}

static hp_code pull_fail(void *ctx, uint8_t *buf, size_t cap, size_t *got, hp_err *e)
{
	(void)ctx;
	(void)buf;
	(void)cap;
	(void)got;
	return hp_fail(e, HP_E_TEMPFAIL, "timed out");
}

static void test_sources(void)
{
	hp_err e = HP_ERR_INIT;
	hp_buf car = HP_BUF_INIT;
	size_t ends[6];
	small_car(&car, ends);
	collect c;
	collect_init(&c);
	hp_car_reader_opts o = ropts(&c);
	mem_src s = { (const uint8_t *)car.data, car.len, 0, 0 };
	is_int(hp_car_read_pull(pull_mem, &s, &o, &e), HP_OK, "a pull source in small pieces");
	ok(c.n == 5 && c.unverified == 0 && s.calls > 5, "all blocks, %d pulls", s.calls);
	collect_free(&c);
	is_int(hp_car_read_pull(pull_fail, NULL, &o, &e), HP_E_TEMPFAIL, "a pull source's error comes through");

	is_int(hp_car_read_file(tmp_path("missing.car"), &o, &e), HP_E_NOINPUT, "a missing file");
	is_int(hp_car_read_file(tmpdir, &o, &e), HP_E_NOINPUT, "a directory");
	int fds[2];
	if (pipe(fds) == 0) {
		/* small enough for the pipe's buffer */
		hp_write_all(fds[1], car.data, car.len, "pipe", &e);
		close(fds[1]);
		o.name = "pipe";
		is_int(hp_car_read_fd(fds[0], &o, &e), HP_OK, "read from a pipe");
		ok(c.n == 5, "five blocks");
		close(fds[0]);
	}
	collect_free(&c);
	hp_buf_release(&car);
}

/* ---- recorded CARs ---- */

static bool read_text(const char *path, char *out, size_t outsz)
{
	hp_buf b = HP_BUF_INIT;
	hp_err e = HP_ERR_INIT;
	bool good = hp_read_file(path, 4096, &b, &e) == HP_OK;
	while (good && b.len && (b.data[b.len - 1] == '\n' || b.data[b.len - 1] == ' '))
		b.data[--b.len] = '\0';
	if (good)
		snprintf(out, outsz, "%s", b.data);
	hp_buf_release(&b);
	return good;
}

/* Verify dir/name (NAME.car), check NAME.root and NAME.blocks when present,
 * and write its blocks again with our writer to out: byte-identical to the
 * input when identical is set (roots given at open), or with the roots given
 * at commit otherwise. */
static void check_car_file(const char *dir, const char *name, const char *out, bool identical)
{
	hp_err e = HP_ERR_INIT;
	char path[1024], side[1024], text[HP_CID_MAX_TEXT + 16];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	size_t stem = strlen(path) - 4;
	collect c;
	collect_init(&c);
	hp_car_reader_opts o = ropts(&c);
	hp_code rc = hp_car_read_file(path, &o, &e);
	if (!ok(rc == HP_OK && c.unverified == 0 && c.headers == 1, "%s: every block verified", name))
		printf("#   %s\n", e.msg);
	snprintf(side, sizeof side, "%.*s.root", (int)stem, path);
	if (read_text(side, text, sizeof text)) {
		hp_cid want;
		char got[HP_CID_MAX_TEXT] = "";
		if (c.nroots)
			hp_cid_text(&c.roots[0], got);
		if (!ok(hp_cid_parse_text(text, &want, &e) == HP_OK && c.nroots == 1 && hp_cid_equal(&c.roots[0], &want),
			"%s: the root is %s", name, text))
			printf("#   got %s\n", got);
	}
	snprintf(side, sizeof side, "%.*s.blocks", (int)stem, path);
	if (read_text(side, text, sizeof text))
		is_int(c.n, strtoull(text, NULL, 10), "%s: %s blocks", name, text);
	if (rc || !c.nroots) {
		collect_free(&c);
		return;
	}
	hp_car_writer_opts wo = HP_CAR_WRITER_OPTS_INIT;
	wo.roots_later = !identical;
	hp_car_writer *w;
	rc = hp_car_writer_open(&w, out, identical ? c.roots : NULL, c.nroots, &wo, &e);
	for (size_t i = 0; !rc && i < c.n; i++)
		rc = hp_car_put(w, &c.b[i].cid, c.b[i].data, c.b[i].len, &e);
	if (!rc && !identical)
		rc = hp_car_set_roots(w, c.roots, c.nroots, &e);
	if (!rc)
		rc = hp_car_commit(w, &e);
	else
		hp_car_abort(w);
	if (!ok(rc == HP_OK, "%s: written again by our writer", name))
		printf("#   %s\n", e.msg);
	hp_buf a = HP_BUF_INIT, b = HP_BUF_INIT;
	slurp(path, &a);
	slurp(out, &b);
	is_mem(b.data, b.len, a.data, a.len, "%s: our writer gives the same bytes", name);
	hp_buf_release(&a);
	hp_buf_release(&b);
	collect_free(&c);
}

static int ends_with_car(const struct dirent *d)
{
	size_t n = strlen(d->d_name);
	return n > 4 && strcmp(d->d_name + n - 4, ".car") == 0 && !strstr(d->d_name, ".ours.car");
}

static int check_car_dir(const char *dir, bool in_place_copy)
{
	struct dirent **list;
	int n = scandir(dir, &list, ends_with_car, alphasort);
	if (n < 0)
		return -1;
	for (int i = 0; i < n; i++) {
		char out[1024];
		if (in_place_copy)
			snprintf(out, sizeof out, "%s/%.*s.ours.car", dir, (int)strlen(list[i]->d_name) - 4, list[i]->d_name);
		else
			snprintf(out, sizeof out, "%s/copy.car", tmpdir);
		check_car_file(dir, list[i]->d_name, out, !in_place_copy);
		free(list[i]);
	}
	free(list);
	return n;
}

static void test_vectors(void)
{
	const char *root = getenv("HP_ROOT");
	char dir[1024];
	snprintf(dir, sizeof dir, "%s/tests/vectors/car", root && *root ? root : ".");
	int n = check_car_dir(dir, false);
	ok(n > 0, "recorded CARs in %s: %d", dir, n);
	/* kubo's export of 'hello world' (raw leaf) is the CAR worked out by hand */
	char path[1100];
	snprintf(path, sizeof path, "%s/hello-raw.car", dir);
	hp_buf b = HP_BUF_INIT;
	ok(slurp(path, &b) == 0, "read %s", path);
	is_mem(b.data, b.len, hello_car, sizeof hello_car, "kubo's hello-raw.car is the hand-built CAR byte for byte");
	hp_buf_release(&b);
}

/* HP_CAR_WRITE_DIR: raw blocks for `ipfs dag import`. */
static void write_for_kubo(const char *dir)
{
	hp_err e = HP_ERR_INIT;
	char path[1024];
	snprintf(path, sizeof path, "%s/blocks", dir);
	mkdir(path, 0755);
	enum { N = 40 };
	hp_cid cids[N];
	uint8_t *data[N];
	size_t lens[N];
	for (size_t i = 0; i < N; i++) {
		lens[i] = i == 1 ? 0 : i == 2 ? (1u << 20) : (size_t)(rnd() % 300000);
		data[i] = malloc(lens[i] + 1);
		if (!data[i])
			abort();
		fill(data[i], lens[i]);
		cid_of(&cids[i], 1, HP_MC_RAW, data[i], lens[i]);
		char text[HP_CID_MAX_TEXT];
		hp_cid_text(&cids[i], text);
		snprintf(path, sizeof path, "%s/blocks/%s", dir, text);
		hp_write_file_atomic(path, data[i], lens[i], 0644, 0, &e);
	}
	/* roots given at commit, in place of the placeholder */
	hp_car_writer_opts o = HP_CAR_WRITER_OPTS_INIT;
	o.roots_later = true;
	hp_car_writer *w;
	snprintf(path, sizeof path, "%s/raw.car", dir);
	hp_code rc = hp_car_writer_open(&w, path, NULL, 1, &o, &e);
	for (size_t i = 0; !rc && i < N; i++)
		rc = hp_car_put(w, &cids[i], data[i], lens[i], &e);
	if (!rc)
		rc = hp_car_set_roots(w, &cids[0], 1, &e);
	if (!rc)
		rc = hp_car_commit(w, &e);
	else
		hp_car_abort(w);
	ok(rc == HP_OK, "wrote %s", path);
	char text[HP_CID_MAX_TEXT + 1];
	hp_cid_text(&cids[0], text);
	size_t tl = strlen(text);
	text[tl++] = '\n';
	snprintf(path, sizeof path, "%s/raw.root", dir);
	hp_write_file_atomic(path, text, tl, 0644, 0, &e);
	for (size_t i = 0; i < N; i++)
		free(data[i]);
}

static void cleanup(void)
{
	DIR *d = opendir(tmpdir);
	struct dirent *de;
	while (d && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		unlinkat(dirfd(d), de->d_name, 0);
	}
	if (d)
		closedir(d);
	rmdir(tmpdir);
}

int main(void)
{
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	const char *only = getenv("HP_CAR_DIR"), *wdir = getenv("HP_CAR_WRITE_DIR");
	if (only && *only) {
		int n = check_car_dir(only, true);
		ok(n > 0, "CARs in %s: %d", only, n);
	}
	if (wdir && *wdir)
		write_for_kubo(wdir);
	if (!(only && *only) && !(wdir && *wdir)) {
		test_header_bytes();
		test_header_refusals();
		test_known_car();
		test_round_trip();
		test_roots_later();
		test_writer_refusals();
		test_truncation();
		test_flips();
		test_corrupt_block();
		test_limits();
		test_garbage();
		test_callbacks();
		test_sources();
		test_vectors();
	}
	cleanup();
	return done();
}
