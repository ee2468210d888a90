/* hp_codec: text encodings of bytes — hex (lower-case) and base64 (RFC 4648,
 * standard alphabet, padded). Decoders are strict: they refuse wrong lengths,
 * stray characters, non-canonical padding bits and whitespace. */
#ifndef HP_CODEC_H
#define HP_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hp_buf.h"
#include "hp_err.h"

/* out must hold 2*n+1 bytes; it is NUL-terminated. */
void hp_hex_encode(const uint8_t *p, size_t n, char *out);
/* The SHA-256 of p[0..n), one shot (OpenSSL's EVP: SHA-NI where the CPU has it). */
void hp_sha256(const void *p, size_t n, uint8_t out[32]);
/* Decode exactly want bytes from hex (upper or lower case) of length 2*want;
 * "what" names the field in the message. */
hp_code hp_hex_decode(const char *hex, size_t len, uint8_t *out, size_t want,
		      const char *what, hp_err *e);
/* Is s exactly n lower-case hex digits? */
bool hp_is_lower_hex(const char *s, size_t n);

/* Bytes needed for the base64 of n bytes, terminator included. */
#define HP_B64_ENCODED_SIZE(n) ((((n) + 2) / 3) * 4 + 1)
void hp_b64_encode(const uint8_t *p, size_t n, char *out);
hp_code hp_b64_encode_buf(const uint8_t *p, size_t n, hp_buf *out, hp_err *e);
/* Decode into out (capacity outcap); *outlen gets the length. */
hp_code hp_b64_decode(const char *s, size_t len, uint8_t *out, size_t outcap, size_t *outlen,
		      const char *what, hp_err *e);

#endif
