/* hp_multiformats: the self-describing formats IPFS names things with —
 * unsigned varints, multihashes, CIDs (v0 and v1) and their text forms
 * (base58btc for v0, multibase 'b' + lower-case base32 without padding for
 * v1). Pure functions; decoders are strict and bounded. */
#ifndef HP_MULTIFORMATS_H
#define HP_MULTIFORMATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hp_buf.h"
#include "hp_err.h"

/* ---- unsigned varint (LEB128, as multiformats restricts it: at most 9
 * bytes, minimal encoding) ---- */
#define HP_VARINT_MAX 10
/* Encode v into out (HP_VARINT_MAX bytes); returns the length. */
size_t hp_varint_put(uint64_t v, uint8_t *out);
/* Decode from p[0..n); returns the bytes used, 0 when truncated, overlong
 * or too large. */
size_t hp_varint_get(const uint8_t *p, size_t n, uint64_t *v);
/* Bytes hp_varint_put writes for v (1 to 10). */
size_t hp_varint_len(uint64_t v);

/* ---- codes ---- */
enum {
	HP_MC_IDENTITY = 0x00,
	HP_MC_SHA2_256 = 0x12,
	HP_MC_MURMUR3_X64_64 = 0x22,  /* the UnixFS HAMT's hash */
	HP_MC_RAW = 0x55,
	HP_MC_DAG_PB = 0x70,
	HP_MC_DAG_CBOR = 0x71,
};

/* ---- CIDs ---- */
#define HP_CID_MAX_BYTES 128   /* binary form */
#define HP_CID_MAX_TEXT 256    /* text form, with the terminator */

typedef struct hp_cid {
	uint8_t version;          /* 0 or 1 */
	uint64_t codec;           /* HP_MC_DAG_PB for v0 */
	uint64_t hash;            /* multihash code */
	uint8_t digest_len;
	uint8_t digest[64];
} hp_cid;

/* A CID of a block: v0 (dag-pb, sha2-256) or v1 with the given codec. */
void hp_cid_sha256(hp_cid *c, unsigned version, uint64_t codec, const uint8_t digest[32]);

/* Binary form (v0: the multihash; v1: 0x01 codec multihash); returns the length. */
size_t hp_cid_bytes(const hp_cid *c, uint8_t out[HP_CID_MAX_BYTES]);
/* Parse the binary form from p[0..n); *used gets its length (a CID inside a
 * larger buffer, as in a CAR section). HP_E_DATA when malformed. */
hp_code hp_cid_parse_bytes(const uint8_t *p, size_t n, hp_cid *c, size_t *used, hp_err *e);

/* Text form: base58btc for v0, base32 ('b' prefix) for v1. */
void hp_cid_text(const hp_cid *c, char out[HP_CID_MAX_TEXT]);
/* Parse a text CID: "Qm..." (v0) or multibase 'b' base32 v1 (and 'z'
 * base58btc v1). HP_E_DATA naming the text when malformed. */
hp_code hp_cid_parse_text(const char *s, hp_cid *c, hp_err *e);

bool hp_cid_equal(const hp_cid *a, const hp_cid *b);

/* Does data hash to c (sha2-256 or identity)? */
bool hp_cid_matches(const hp_cid *c, const uint8_t *data, size_t n);

/* ---- bases ----
 * Encoders append to out. Decoders append the bytes to out and refuse
 * anything but the canonical text: base32 must be lower case, without
 * padding, with zero bits after the last byte; base58btc keeps leading zero
 * bytes as leading '1's. base58btc (quadratic) takes at most 1024 bytes or
 * characters. */
/* Lower-case RFC 4648 base32 without padding. */
hp_code hp_base32_encode(const uint8_t *p, size_t n, hp_buf *out, hp_err *e);
hp_code hp_base32_decode(const char *s, size_t len, hp_buf *out, hp_err *e);
hp_code hp_base58btc_encode(const uint8_t *p, size_t n, hp_buf *out, hp_err *e);
hp_code hp_base58btc_decode(const char *s, size_t len, hp_buf *out, hp_err *e);

#endif
