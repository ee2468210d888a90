#include "hp_codec.h"

#include <openssl/evp.h>

#include <string.h>

#include "banned.h"

static const char hex_digits[] = "0123456789abcdef";

static const char b64_alphabet[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

void hp_sha256(const void *p, size_t n, uint8_t out[32])
{
	unsigned len = 32;
	EVP_Digest(p, n, out, &len, EVP_sha256(), NULL);
}

void hp_hex_encode(const uint8_t *p, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = hex_digits[p[i] >> 4];
		out[2 * i + 1] = hex_digits[p[i] & 0x0f];
	}
	out[2 * n] = '\0';
}

static int hex_value(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

hp_code hp_hex_decode(const char *hex, size_t len, uint8_t *out, size_t want,
		      const char *what, hp_err *e)
{
	if (len % 2 || len / 2 != want)
		return hp_fail(e, HP_E_DATA, "'%s' must be %zu hex digits, not %zu", what, want * 2, len);
	for (size_t i = 0; i < want; i++) {
		int hi = hex_value((unsigned char)hex[2 * i]);
		int lo = hex_value((unsigned char)hex[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return hp_fail(e, HP_E_DATA, "'%s' has a character that is not a hex digit at offset %zu",
				       what, 2 * i + (hi < 0 ? 0 : 1));
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return HP_OK;
}

bool hp_is_lower_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
			return false;
	}
	return true;
}

void hp_b64_encode(const uint8_t *p, size_t n, char *out)
{
	size_t o = 0, i = 0;
	for (; n - i >= 3; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
		out[o++] = b64_alphabet[v >> 18];
		out[o++] = b64_alphabet[(v >> 12) & 63];
		out[o++] = b64_alphabet[(v >> 6) & 63];
		out[o++] = b64_alphabet[v & 63];
	}
	if (n - i == 1) {
		uint32_t v = (uint32_t)p[i] << 16;
		out[o++] = b64_alphabet[v >> 18];
		out[o++] = b64_alphabet[(v >> 12) & 63];
		out[o++] = '=';
		out[o++] = '=';
	} else if (n - i == 2) {
		uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8;
		out[o++] = b64_alphabet[v >> 18];
		out[o++] = b64_alphabet[(v >> 12) & 63];
		out[o++] = b64_alphabet[(v >> 6) & 63];
		out[o++] = '=';
	}
	out[o] = '\0';
}

hp_code hp_b64_encode_buf(const uint8_t *p, size_t n, hp_buf *out, hp_err *e)
{
	if (n > (SIZE_MAX - 1) / 4 * 3 - 2)
		return hp_fail(e, HP_E_DATA, "data too large to encode as base64");
	size_t need = HP_B64_ENCODED_SIZE(n);
	hp_code rc = hp_buf_grow(out, need - 1, e);
	if (rc)
		return rc;
	hp_b64_encode(p, n, out->data + out->len);
	out->len += need - 1;
	return HP_OK;
}

static int b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

hp_code hp_b64_decode(const char *s, size_t len, uint8_t *out, size_t outcap, size_t *outlen,
		      const char *what, hp_err *e)
{
	if (len % 4)
		return hp_fail(e, HP_E_DATA, "'%s' is not base64: length %zu is not a multiple of 4",
			       what, len);
	size_t pad = 0;
	if (len && s[len - 1] == '=')
		pad = len >= 2 && s[len - 2] == '=' ? 2 : 1;
	size_t n = len / 4 * 3 - pad;
	if (n > outcap)
		return hp_fail(e, HP_E_DATA, "'%s' decodes to %zu bytes, more than the %zu expected",
			       what, n, outcap);
	size_t o = 0;
	for (size_t i = 0; i < len; i += 4) {
		bool last = i + 4 == len;
		size_t digits = last ? 4 - pad : 4;
		uint32_t v = 0;
		for (size_t k = 0; k < 4; k++) {
			unsigned char c = (unsigned char)s[i + k];
			int d = k < digits ? b64_value(c) : (c == '=' ? 0 : -1);
			if (d < 0) {
				if (c == '=')
					return hp_fail(e, HP_E_DATA, "'%s' is not base64: misplaced '=' at offset %zu",
						       what, i + k);
				return hp_fail(e, HP_E_DATA, "'%s' is not base64: bad character at offset %zu",
					       what, i + k);
			}
			v = v << 6 | (uint32_t)d;
		}
		/* Padding bits must be zero, or two encodings would decode the same. */
		if ((pad == 1 && last && (v & 0xff)) || (pad == 2 && last && (v & 0xffff)))
			return hp_fail(e, HP_E_DATA, "'%s' is not base64: non-zero padding bits", what);
		out[o++] = (uint8_t)(v >> 16);
		if (digits >= 3)
			out[o++] = (uint8_t)(v >> 8);
		if (digits == 4)
			out[o++] = (uint8_t)v;
	}
	*outlen = o;
	return HP_OK;
}
