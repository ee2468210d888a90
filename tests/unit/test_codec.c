/* hp_codec: hex and strict base64 (RFC 4648 test vectors, refusals). */
#include <stdint.h>
#include <string.h>

#include "hp_codec.h"
#include "tap.h"

#include "banned.h"

static void test_hex(void)
{
	const uint8_t bytes[] = { 0x00, 0x01, 0x7f, 0x80, 0xab, 0xff };
	char hex[2 * sizeof bytes + 1];
	hp_hex_encode(bytes, sizeof bytes, hex);
	is_str(hex, "00017f80abff", "hex encode is lower case");
	hp_hex_encode(bytes, 0, hex);
	is_str(hex, "", "hex encode of nothing is empty");

	uint8_t out[6];
	hp_err e = HP_ERR_INIT;
	is_int(hp_hex_decode("00017f80abff", 12, out, 6, "x", &e), HP_OK, "hex decode");
	is_mem(out, 6, bytes, 6, "hex decode gives the bytes back");
	is_int(hp_hex_decode("00017F80ABFF", 12, out, 6, "x", &e), HP_OK, "hex decode takes upper case");
	is_mem(out, 6, bytes, 6, "upper-case hex decodes the same");
	is_int(hp_hex_decode("00017f80abf", 11, out, 6, "sha", &e), HP_E_DATA, "odd length refused");
	is_str(e.msg, "'sha' must be 12 hex digits, not 11", "length message");
	is_int(hp_hex_decode("00017f80abff00", 14, out, 6, "sha", &e), HP_E_DATA, "too long refused");
	is_int(hp_hex_decode("00017f80abfg", 12, out, 6, "sha", &e), HP_E_DATA, "non-hex refused");
	is_str(e.msg, "'sha' has a character that is not a hex digit at offset 11", "bad digit message");
	is_int(hp_hex_decode("0x017f80abff", 12, out, 6, "sha", &e), HP_E_DATA, "0x prefix refused");
	is_int(hp_hex_decode(" 0017f80abff", 12, out, 6, "sha", &e), HP_E_DATA, "whitespace refused");
	is_int(hp_hex_decode("", 0, out, 0, "empty", &e), HP_OK, "empty hex for zero bytes");

	ok(hp_is_lower_hex("0123456789abcdef", 16), "lower hex recognised");
	ok(!hp_is_lower_hex("0123456789ABCDEF", 16), "upper hex is not lower hex");
	ok(!hp_is_lower_hex("12g4", 4), "non-hex is not lower hex");
	ok(hp_is_lower_hex("", 0), "empty is lower hex");
}

/* RFC 4648 section 10. */
static const struct {
	const char *plain, *b64;
} rfc4648[] = {
	{ "", "" },
	{ "f", "Zg==" },
	{ "fo", "Zm8=" },
	{ "foo", "Zm9v" },
	{ "foob", "Zm9vYg==" },
	{ "fooba", "Zm9vYmE=" },
	{ "foobar", "Zm9vYmFy" },
};

static void test_b64_vectors(void)
{
	for (size_t i = 0; i < sizeof rfc4648 / sizeof rfc4648[0]; i++) {
		const char *p = rfc4648[i].plain, *b = rfc4648[i].b64;
		char enc[HP_B64_ENCODED_SIZE(6)];
		hp_b64_encode((const uint8_t *)p, strlen(p), enc);
		is_str(enc, b, "base64 of '%s'", p);
		uint8_t dec[8];
		size_t n = 99;
		hp_err e = HP_ERR_INIT;
		is_int(hp_b64_decode(b, strlen(b), dec, sizeof dec, &n, "v", &e), HP_OK,
		       "decode '%s'", b);
		is_mem(dec, n, p, strlen(p), "decode '%s' gives '%s'", b, p);
	}
	is_int(HP_B64_ENCODED_SIZE(0), 1, "encoded size of 0 bytes");
	is_int(HP_B64_ENCODED_SIZE(1), 5, "encoded size of 1 byte");
	is_int(HP_B64_ENCODED_SIZE(3), 5, "encoded size of 3 bytes");
	is_int(HP_B64_ENCODED_SIZE(32), 45, "encoded size of 32 bytes");
}

static void test_b64_refusals(void)
{
	static const struct {
		const char *in, *why, *msg;
	} bad[] = {
		{ "Zg=", "length not a multiple of 4", "'k' is not base64: length 3 is not a multiple of 4" },
		{ "Zg", "missing padding", NULL },
		{ "Zm9vY", "length 5", NULL },
		{ "Zh==", "non-zero padding bits (1 byte)", "'k' is not base64: non-zero padding bits" },
		{ "Zm9=", "non-zero padding bits (2 bytes)", "'k' is not base64: non-zero padding bits" },
		{ "Zm9v\n", "trailing newline", NULL },
		{ "Zm9v    ", "trailing spaces", "'k' is not base64: bad character at offset 4" },
		{ "Zm 9v===", "inner space", NULL },
		{ " Zm9", "leading space", "'k' is not base64: bad character at offset 0" },
		{ "Zm9-", "URL-safe alphabet '-'", NULL },
		{ "Zm9_", "URL-safe alphabet '_'", NULL },
		{ "====", "only padding", "'k' is not base64: misplaced '=' at offset 0" },
		{ "Z===", "three pads", "'k' is not base64: misplaced '=' at offset 1" },
		{ "Zm=v", "padding in the middle of a quantum", NULL },
		{ "Zg==Zm9v", "padding before the end", "'k' is not base64: misplaced '=' at offset 2" },
		{ "Zm9v\0Zm9", "NUL byte", NULL },
		{ "Zm9v\xc3\xa9Zm", "non-ASCII", NULL },
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		uint8_t out[16];
		size_t n;
		hp_err e = HP_ERR_INIT;
		size_t len = strlen(bad[i].in);
		if (strcmp(bad[i].why, "NUL byte") == 0)
			len = 8;
		is_int(hp_b64_decode(bad[i].in, len, out, sizeof out, &n, "k", &e), HP_E_DATA,
		       "refused: %s", bad[i].why);
		if (bad[i].msg)
			is_str(e.msg, bad[i].msg, "message for %s", bad[i].why);
	}

	uint8_t small[2];
	size_t n;
	hp_err e = HP_ERR_INIT;
	is_int(hp_b64_decode("Zm9v", 4, small, sizeof small, &n, "sig", &e), HP_E_DATA,
	       "more bytes than the output holds refused");
	is_str(e.msg, "'sig' decodes to 3 bytes, more than the 2 expected", "capacity message");
	is_int(hp_b64_decode("Zm8=", 4, small, sizeof small, &n, "sig", &e), HP_OK,
	       "exactly the capacity is fine");
	is_int(n, 2, "two bytes");
}

static void test_b64_roundtrip(void)
{
	uint8_t all[256];
	for (int i = 0; i < 256; i++)
		all[i] = (uint8_t)i;
	int failures = 0;
	for (size_t len = 0; len <= sizeof all; len++) {
		char enc[HP_B64_ENCODED_SIZE(256)];
		hp_b64_encode(all + (256 - len), len, enc);
		if (strlen(enc) != HP_B64_ENCODED_SIZE(len) - 1)
			failures++;
		uint8_t dec[256];
		size_t n;
		if (hp_b64_decode(enc, strlen(enc), dec, sizeof dec, &n, "r", NULL) != HP_OK ||
		    n != len || memcmp(dec, all + (256 - len), len) != 0)
			failures++;
	}
	is_int(failures, 0, "every length 0..256 round-trips through base64");

	hp_buf b = HP_BUF_INIT;
	hp_err e = HP_ERR_INIT;
	hp_buf_adds(&b, "x=", &e);
	is_int(hp_b64_encode_buf((const uint8_t *)"foob", 4, &b, &e), HP_OK, "encode into a buffer");
	is_str(b.data, "x=Zm9vYg==", "hp_b64_encode_buf appends");
	is_int(b.len, 10, "buffer length");
	hp_buf_release(&b);

	hp_buf capped;
	hp_buf_init(&capped, 4);
	is_int(hp_b64_encode_buf((const uint8_t *)"foob", 4, &capped, &e), HP_E_DATA,
	       "a capped buffer refuses a longer encoding");
	hp_buf_release(&capped);
}

int main(void)
{
	test_hex();
	test_b64_vectors();
	test_b64_refusals();
	test_b64_roundtrip();
	return done();
}
