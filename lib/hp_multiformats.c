#include "hp_multiformats.h"

#include "hp_codec.h"

#include <string.h>

#include "hp_io.h"

#include "banned.h"

/* ---- unsigned varints ---- */

size_t hp_varint_len(uint64_t v)
{
	size_t n = 1;
	while (v >= 0x80) {
		v >>= 7;
		n++;
	}
	return n;
}

size_t hp_varint_put(uint64_t v, uint8_t *out)
{
	size_t n = 0;
	while (v >= 0x80) {
		out[n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	out[n++] = (uint8_t)v;
	return n;
}

/* Multiformats varints: at most 9 bytes (63 bits), minimally encoded. */
size_t hp_varint_get(const uint8_t *p, size_t n, uint64_t *v)
{
	uint64_t x = 0;
	for (size_t i = 0; i < n && i < 9; i++) {
		x |= (uint64_t)(p[i] & 0x7f) << (7 * i);
		if (!(p[i] & 0x80)) {
			if (i > 0 && p[i] == 0)
				return 0;  /* overlong: a trailing zero group */
			*v = x;
			return i + 1;
		}
	}
	return 0;  /* truncated, or longer than 9 bytes */
}

/* ---- bases ---- */

static const char b32_alphabet[] = "abcdefghijklmnopqrstuvwxyz234567";
static const char b58_alphabet[] = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

/* Most bytes base58btc encodes or decodes: the conversion is quadratic,
 * and nothing we name is longer than a CID. */
#define B58_MAX 1024

/* out must hold (n * 8 + 4) / 5 + 1 bytes; returns the length written. */
static size_t b32_encode_raw(const uint8_t *p, size_t n, char *out)
{
	size_t o = 0;
	uint32_t acc = 0;
	unsigned bits = 0;
	for (size_t i = 0; i < n; i++) {
		acc = (acc << 8) | p[i];
		bits += 8;
		while (bits >= 5) {
			out[o++] = b32_alphabet[(acc >> (bits - 5)) & 31];
			bits -= 5;
		}
		acc &= (1u << bits) - 1;
	}
	if (bits)
		out[o++] = b32_alphabet[(acc << (5 - bits)) & 31];
	out[o] = '\0';
	return o;
}

hp_code hp_base32_encode(const uint8_t *p, size_t n, hp_buf *out, hp_err *e)
{
	if (n > (SIZE_MAX - 16) / 8)
		return hp_fail(e, HP_E_USAGE, "base32: input too large");
	size_t need = (n * 8 + 4) / 5;
	hp_code rc = hp_buf_grow(out, need, e);
	if (rc)
		return rc;
	out->len += b32_encode_raw(p, n, out->data + out->len);
	return HP_OK;
}

static int b32_value(unsigned char c)
{
	if (c >= 'a' && c <= 'z')
		return c - 'a';
	if (c >= '2' && c <= '7')
		return c - '2' + 26;
	return -1;
}

hp_code hp_base32_decode(const char *s, size_t len, hp_buf *out, hp_err *e)
{
	/* 8 characters carry 5 bytes; a final group of 1, 3 or 6 characters
	 * cannot come from whole bytes */
	size_t r = len % 8;
	if (r == 1 || r == 3 || r == 6)
		return hp_fail(e, HP_E_DATA, "base32: %zu characters cannot encode whole bytes", len);
	hp_code rc = hp_buf_grow(out, len / 8 * 5 + 5, e);
	if (rc)
		return rc;
	uint8_t *o = (uint8_t *)out->data + out->len;
	size_t k = 0;
	uint32_t acc = 0;
	unsigned bits = 0;
	for (size_t i = 0; i < len; i++) {
		int v = b32_value((unsigned char)s[i]);
		if (v < 0) {
			out->data[out->len] = '\0';
			if (s[i] == '=')
				return hp_fail(e, HP_E_DATA, "base32: padding ('=') at offset %zu", i);
			return hp_fail(e, HP_E_DATA, "base32: invalid character at offset %zu", i);
		}
		acc = (acc << 5) | (uint32_t)v;
		bits += 5;
		if (bits >= 8) {
			o[k++] = (uint8_t)(acc >> (bits - 8));
			bits -= 8;
		}
		acc &= (1u << bits) - 1;
	}
	if (acc != 0) {
		out->data[out->len] = '\0';
		return hp_fail(e, HP_E_DATA, "base32: non-zero bits after the last byte");
	}
	out->len += k;
	out->data[out->len] = '\0';
	return HP_OK;
}

/* base58btc of p[0..n) into out (room for n * 138 / 100 + 2 bytes); returns
 * the length written. n <= B58_MAX. */
static size_t b58_encode_raw(const uint8_t *p, size_t n, char *out)
{
	size_t zeros = 0;
	while (zeros < n && p[zeros] == 0)
		zeros++;
	/* log(256) / log(58) < 1.38 */
	size_t size = (n - zeros) * 138 / 100 + 1;
	uint8_t digits[B58_MAX * 138 / 100 + 1];
	memset(digits, 0, size);
	size_t used = 0;  /* significant digits, from the end of the array */
	for (size_t i = zeros; i < n; i++) {
		unsigned carry = p[i];
		size_t j = 0;
		for (size_t k = size; k-- > 0 && (carry || j < used); j++) {
			carry += 256u * digits[k];
			digits[k] = (uint8_t)(carry % 58);
			carry /= 58;
		}
		used = j;
	}
	size_t start = size - used;
	size_t o = 0;
	for (size_t i = 0; i < zeros; i++)
		out[o++] = '1';
	for (size_t i = start; i < size; i++)
		out[o++] = b58_alphabet[digits[i]];
	out[o] = '\0';
	return o;
}

hp_code hp_base58btc_encode(const uint8_t *p, size_t n, hp_buf *out, hp_err *e)
{
	if (n > B58_MAX)
		return hp_fail(e, HP_E_USAGE, "base58btc: input of %zu bytes is over the limit of %d", n, B58_MAX);
	hp_code rc = hp_buf_grow(out, n * 138 / 100 + 2, e);
	if (rc)
		return rc;
	out->len += b58_encode_raw(p, n, out->data + out->len);
	return HP_OK;
}

static int b58_value(unsigned char c)
{
	const char *q = c ? strchr(b58_alphabet, c) : NULL;
	return q ? (int)(q - b58_alphabet) : -1;
}

hp_code hp_base58btc_decode(const char *s, size_t len, hp_buf *out, hp_err *e)
{
	if (len > B58_MAX)
		return hp_fail(e, HP_E_DATA, "base58btc: %zu characters is over the limit of %d", len, B58_MAX);
	size_t ones = 0;
	while (ones < len && s[ones] == '1')
		ones++;
	/* log(58) / log(256) < 0.733 */
	size_t size = (len - ones) * 733 / 1000 + 1;
	uint8_t bytes[B58_MAX * 733 / 1000 + 1];
	memset(bytes, 0, size);
	size_t used = 0;
	for (size_t i = ones; i < len; i++) {
		int v = b58_value((unsigned char)s[i]);
		if (v < 0)
			return hp_fail(e, HP_E_DATA, "base58btc: invalid character at offset %zu", i);
		unsigned carry = (unsigned)v;
		size_t j = 0;
		for (size_t k = size; k-- > 0 && (carry || j < used); j++) {
			carry += 58u * bytes[k];
			bytes[k] = (uint8_t)(carry & 0xff);
			carry >>= 8;
		}
		used = j;
	}
	hp_code rc = hp_buf_grow(out, ones + used, e);
	if (rc)
		return rc;
	memset(out->data + out->len, 0, ones);
	memcpy(out->data + out->len + ones, bytes + size - used, used);
	out->len += ones + used;
	out->data[out->len] = '\0';
	return HP_OK;
}

/* ---- CIDs ---- */

void hp_cid_sha256(hp_cid *c, unsigned version, uint64_t codec, const uint8_t digest[32])
{
	memset(c, 0, sizeof *c);
	c->version = version ? 1 : 0;
	c->codec = version ? codec : HP_MC_DAG_PB;
	c->hash = HP_MC_SHA2_256;
	c->digest_len = 32;
	memcpy(c->digest, digest, 32);
}

size_t hp_cid_bytes(const hp_cid *c, uint8_t out[HP_CID_MAX_BYTES])
{
	size_t n = 0;
	if (c->version == 1) {
		out[n++] = 0x01;
		n += hp_varint_put(c->codec, out + n);
	}
	n += hp_varint_put(c->hash, out + n);
	n += hp_varint_put(c->digest_len, out + n);
	memcpy(out + n, c->digest, c->digest_len);
	return n + c->digest_len;
}

/* The multihash at p[0..n): code, length, digest. */
static hp_code parse_multihash(const uint8_t *p, size_t n, hp_cid *c, size_t *used, hp_err *e)
{
	uint64_t code, len;
	size_t a = hp_varint_get(p, n, &code);
	if (!a)
		return hp_fail(e, HP_E_DATA, "malformed CID: bad multihash code varint");
	size_t b = hp_varint_get(p + a, n - a, &len);
	if (!b)
		return hp_fail(e, HP_E_DATA, "malformed CID: bad multihash length varint");
	if (len > sizeof c->digest)
		return hp_fail(e, HP_E_DATA, "malformed CID: a digest of %llu bytes (at most %zu)",
			       (unsigned long long)len, sizeof c->digest);
	if (code == HP_MC_SHA2_256 && len != 32)
		return hp_fail(e, HP_E_DATA, "malformed CID: a sha2-256 digest of %llu bytes", (unsigned long long)len);
	if (n - a - b < len)
		return hp_fail(e, HP_E_DATA, "malformed CID: truncated digest");
	c->hash = code;
	c->digest_len = (uint8_t)len;
	memcpy(c->digest, p + a + b, (size_t)len);
	*used = a + b + (size_t)len;
	return HP_OK;
}

hp_code hp_cid_parse_bytes(const uint8_t *p, size_t n, hp_cid *c, size_t *used, hp_err *e)
{
	hp_cid x;
	memset(&x, 0, sizeof x);
	size_t mh;
	hp_code rc;
	if (n >= 2 && p[0] == HP_MC_SHA2_256 && p[1] == 32) {
		/* CIDv0: a bare sha2-256 multihash */
		if (n < 34)
			return hp_fail(e, HP_E_DATA, "malformed CID: truncated digest");
		x.version = 0;
		x.codec = HP_MC_DAG_PB;
		if ((rc = parse_multihash(p, n, &x, &mh, e)))
			return rc;
		*c = x;
		*used = mh;
		return HP_OK;
	}
	uint64_t version, codec;
	size_t a = hp_varint_get(p, n, &version);
	if (!a)
		return hp_fail(e, HP_E_DATA, "malformed CID: bad version varint");
	if (version != 1)
		return hp_fail(e, HP_E_DATA, "malformed CID: version %llu", (unsigned long long)version);
	size_t b = hp_varint_get(p + a, n - a, &codec);
	if (!b)
		return hp_fail(e, HP_E_DATA, "malformed CID: bad codec varint");
	x.version = 1;
	x.codec = codec;
	if ((rc = parse_multihash(p + a + b, n - a - b, &x, &mh, e)))
		return rc;
	*c = x;
	*used = a + b + mh;
	return HP_OK;
}

void hp_cid_text(const hp_cid *c, char out[HP_CID_MAX_TEXT])
{
	uint8_t b[HP_CID_MAX_BYTES];
	size_t n = hp_cid_bytes(c, b);
	if (c->version == 0) {
		b58_encode_raw(b, n, out);
	} else {
		out[0] = 'b';
		b32_encode_raw(b, n, out + 1);
	}
}

hp_code hp_cid_parse_text(const char *s, hp_cid *c, hp_err *e)
{
	char qb[96];
	size_t len = strlen(s);
	hp_buf raw;
	hp_code rc;
	size_t used = 0;
	hp_quote(s, len, qb, sizeof qb);
	hp_buf_init(&raw, HP_CID_MAX_BYTES);
	if (len == 46 && s[0] == 'Q' && s[1] == 'm') {
		rc = hp_base58btc_decode(s, len, &raw, e);
		if (!rc && (raw.len != 34 || (uint8_t)raw.data[0] != HP_MC_SHA2_256 || (uint8_t)raw.data[1] != 32))
			rc = hp_fail(e, HP_E_DATA, "not a CIDv0");
	} else if (len > 1 && (s[0] == 'b' || s[0] == 'z')) {
		rc = s[0] == 'b' ? hp_base32_decode(s + 1, len - 1, &raw, e)
				 : hp_base58btc_decode(s + 1, len - 1, &raw, e);
		if (!rc && raw.len >= 1 && (uint8_t)raw.data[0] != 1)
			rc = hp_fail(e, HP_E_DATA, "not a CIDv1");
	} else {
		rc = hp_fail(e, HP_E_DATA, "not a CIDv0 (Qm...) or a CIDv1 in base32 (b...) or base58btc (z...)");
	}
	if (!rc)
		rc = hp_cid_parse_bytes((const uint8_t *)raw.data, raw.len, c, &used, e);
	if (!rc && used != raw.len)
		rc = hp_fail(e, HP_E_DATA, "%zu bytes after the CID", raw.len - used);
	hp_buf_release(&raw);
	if (rc)
		hp_err_prefix(e, "invalid CID '%s'", qb);
	return rc;
}

bool hp_cid_equal(const hp_cid *a, const hp_cid *b)
{
	return a->version == b->version && a->codec == b->codec && a->hash == b->hash &&
	       a->digest_len == b->digest_len && memcmp(a->digest, b->digest, a->digest_len) == 0;
}

bool hp_cid_matches(const hp_cid *c, const uint8_t *data, size_t n)
{
	if (c->hash == HP_MC_IDENTITY)
		return n == c->digest_len && (n == 0 || memcmp(c->digest, data, n) == 0);
	if (c->hash != HP_MC_SHA2_256 || c->digest_len != 32)
		return false;
	uint8_t md[32];
	hp_sha256(data, n, md);
	return memcmp(md, c->digest, 32) == 0;
}
