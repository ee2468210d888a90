/* hp_multiformats: varints, base32, base58btc, CIDs in binary and text. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hp_multiformats.h"
#include "tap.h"

#include "banned.h"

static void test_varint(void)
{
	static const uint64_t vals[] = { 0, 1, 127, 128, 255, 300, 16383, 16384, (1ull << 35) - 1,
					 (1ull << 56), (1ull << 63) - 1 };
	for (size_t i = 0; i < sizeof vals / sizeof *vals; i++) {
		uint8_t b[HP_VARINT_MAX];
		uint64_t v = 0;
		size_t n = hp_varint_put(vals[i], b);
		is_int(n, hp_varint_len(vals[i]), "varint %llu: length %zu", (unsigned long long)vals[i], n);
		is_int(hp_varint_get(b, n, &v), n, "varint %llu reads back", (unsigned long long)vals[i]);
		ok(v == vals[i], "varint %llu: value", (unsigned long long)vals[i]);
		is_int(hp_varint_get(b, n - 1, &v), 0, "varint %llu truncated", (unsigned long long)vals[i]);
	}
	uint8_t b[HP_VARINT_MAX];
	uint64_t v;
	is_int(hp_varint_put(1ull << 63, b), 10, "2^63 needs 10 bytes");
	is_int(hp_varint_get(b, 10, &v), 0, "2^63 is too large for a multiformats varint");
	is_int(hp_varint_put(UINT64_MAX, b), 10, "2^64-1 needs 10 bytes");
	static const uint8_t overlong1[] = { 0x80, 0x00 };
	static const uint8_t overlong2[] = { 0xff, 0x80, 0x00 };
	static const uint8_t nine[] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f };
	static const uint8_t ten[] = { 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01 };
	is_int(hp_varint_get(overlong1, 2, &v), 0, "0x80 0x00 is overlong");
	is_int(hp_varint_get(overlong2, 3, &v), 0, "0xff 0x80 0x00 is overlong");
	is_int(hp_varint_get(nine, 9, &v), 9, "9 bytes is the most");
	ok(v == (1ull << 63) - 1, "9 bytes: 2^63-1");
	is_int(hp_varint_get(ten, 10, &v), 0, "10 bytes are refused");
	is_int(hp_varint_get(overlong1, 0, &v), 0, "nothing to read");
}

static void test_base32(void)
{
	static const char *const vec[][2] = {
		{ "", "" }, { "f", "my" }, { "fo", "mzxq" }, { "foo", "mzxw6" },
		{ "foob", "mzxw6yq" }, { "fooba", "mzxw6ytb" }, { "foobar", "mzxw6ytboi" },
	};
	for (size_t i = 0; i < sizeof vec / sizeof *vec; i++) {
		hp_buf b = HP_BUF_INIT;
		hp_err e = HP_ERR_INIT;
		ok(hp_base32_encode((const uint8_t *)vec[i][0], strlen(vec[i][0]), &b, &e) == HP_OK, "base32 '%s'",
		   vec[i][0]);
		is_str(b.data, vec[i][1], "base32 of '%s'", vec[i][0]);
		hp_buf_reset(&b);
		ok(hp_base32_decode(vec[i][1], strlen(vec[i][1]), &b, &e) == HP_OK, "base32 decode '%s'", vec[i][1]);
		is_mem(b.data, b.len, vec[i][0], strlen(vec[i][0]), "base32 decode '%s' back", vec[i][1]);
		hp_buf_release(&b);
	}
	static const char *const bad[] = { "MZXQ", "mzxq====", "m", "mzx", "mzxw6y", "mz", "mzxw7", "my1",
					   "mzxw6ytb0" };
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		hp_buf b = HP_BUF_INIT;
		hp_err e = HP_ERR_INIT;
		ok(hp_base32_decode(bad[i], strlen(bad[i]), &b, &e) == HP_E_DATA, "base32 refuses '%s' (%s)", bad[i],
		   e.msg);
		hp_buf_release(&b);
	}
}

static void test_base58(void)
{
	static const struct {
		const char *hex;
		const char *b58;
	} vec[] = {
		{ "", "" },
		{ "00", "1" },
		{ "0000", "11" },
		{ "000001", "112" },
		{ "61", "2g" },
		{ "626262", "a3gV" },
		{ "636363", "aPEr" },
		{ "0000287fb4cd", "11233QC4" },
		{ "68656c6c6f20776f726c64", "StV1DL6CwTryKyV" },
		{ "ffffffff", "7YXq9G" },
	};
	for (size_t i = 0; i < sizeof vec / sizeof *vec; i++) {
		uint8_t bin[64];
		size_t n = strlen(vec[i].hex) / 2;
		for (size_t k = 0; k < n; k++) {
			unsigned x;
			char two[3] = { vec[i].hex[2 * k], vec[i].hex[2 * k + 1], 0 };
			x = (unsigned)strtoul(two, NULL, 16);
			bin[k] = (uint8_t)x;
		}
		hp_buf b = HP_BUF_INIT;
		hp_err e = HP_ERR_INIT;
		ok(hp_base58btc_encode(bin, n, &b, &e) == HP_OK, "base58 of %s", vec[i].hex);
		is_str(b.data, vec[i].b58, "base58 of %s", vec[i].hex);
		hp_buf_reset(&b);
		ok(hp_base58btc_decode(vec[i].b58, strlen(vec[i].b58), &b, &e) == HP_OK, "base58 decode '%s'",
		   vec[i].b58);
		is_mem(b.data, b.len, bin, n, "base58 decode '%s' gives %s", vec[i].b58, vec[i].hex);
		hp_buf_release(&b);
	}
	/* round trips with leading zero bytes */
	srand(7);
	int good = 1;
	for (int t = 0; t < 500; t++) {
		uint8_t bin[40];
		size_t n = (size_t)(rand() % 40);
		size_t z = n ? (size_t)(rand() % (int)(n + 1)) : 0;
		for (size_t k = 0; k < n; k++)
			bin[k] = k < z ? 0 : (uint8_t)rand();
		hp_buf b = HP_BUF_INIT, d = HP_BUF_INIT;
		if (hp_base58btc_encode(bin, n, &b, NULL) || hp_base58btc_decode(b.data, b.len, &d, NULL) ||
		    d.len != n || memcmp(d.data, bin, n) != 0)
			good = 0;
		hp_buf_release(&b);
		hp_buf_release(&d);
	}
	ok(good, "base58 round trips (leading zeros kept)");
	static const char *const bad[] = { "0", "O", "I", "l", "1l", "abc+", "2g " };
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		hp_buf b = HP_BUF_INIT;
		hp_err e = HP_ERR_INIT;
		ok(hp_base58btc_decode(bad[i], strlen(bad[i]), &b, &e) == HP_E_DATA, "base58 refuses '%s'", bad[i]);
		hp_buf_release(&b);
	}
	char big[1100];
	memset(big, '2', sizeof big);
	hp_buf b = HP_BUF_INIT;
	ok(hp_base58btc_decode(big, sizeof big, &b, NULL) == HP_E_DATA, "base58 refuses 1100 characters");
	hp_buf_release(&b);
}

static void round_trip(const char *text, unsigned version, uint64_t codec)
{
	hp_cid c, d;
	hp_err e = HP_ERR_INIT;
	char out[HP_CID_MAX_TEXT];
	ok(hp_cid_parse_text(text, &c, &e) == HP_OK, "parse %s %s", text, e.msg);
	is_int(c.version, version, "%s: version", text);
	is_int(c.codec, codec, "%s: codec", text);
	is_int(c.hash, HP_MC_SHA2_256, "%s: sha2-256", text);
	hp_cid_text(&c, out);
	if (!ok(strcmp(out, text) == 0, "%s: text round trip", text))
		printf("#   got '%s'\n", out);
	uint8_t b[HP_CID_MAX_BYTES + 4];
	size_t n = hp_cid_bytes(&c, b), used = 0;
	is_int(n, version ? 36 : 34, "%s: binary length", text);
	b[n] = 0xaa;  /* a CID inside a larger buffer (a CAR section) */
	ok(hp_cid_parse_bytes(b, n + 1, &d, &used, &e) == HP_OK && used == n && hp_cid_equal(&c, &d),
	   "%s: binary round trip", text);
	if (version == 1) {
		/* the same CID in base58btc ('z') */
		hp_buf z = HP_BUF_INIT;
		hp_buf_addch(&z, 'z', NULL);
		hp_base58btc_encode(b, n, &z, NULL);
		ok(hp_cid_parse_text(z.data, &d, &e) == HP_OK && hp_cid_equal(&c, &d), "%s as %s", text, z.data);
		hp_buf_release(&z);
	}
}

static void test_cid(void)
{
	round_trip("QmUNLLsPACCz1vLxQVkXqqLX5R1X345qqfHbsf67hvA3Nn", 0, HP_MC_DAG_PB);
	round_trip("Qmf412jQZiuVUtdgnB36FXFX7xg5V6KEbSJ4dpQuhkLyfD", 0, HP_MC_DAG_PB);
	round_trip("bafybeiczsscdsbs7ffqz55asqdf3smv6klcw3gofszvwlyarci47bgf354", 1, HP_MC_DAG_PB);
	round_trip("bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku", 1, HP_MC_RAW);
	round_trip("bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e", 1, HP_MC_RAW);

	static const char *const bad[] = {
		"",
		"Qm",
		"QmUNLLsPACCz1vLxQVkXqqLX5R1X345qqfHbsf67hvA3N",     /* 45 characters */
		"QmUNLLsPACCz1vLxQVkXqqLX5R1X345qqfHbsf67hvA3Nn1",   /* 47 */
		"QmUNLLsPACCz1vLxQVkXqqLX5R1X345qqfHbsf67hvA3N0",    /* not base58 */
		"BAFYBEICZSSCDSBS7FFQZ55ASQDF3SMV6KLCW3GOFSZVWLYARCI47BGF354",
		"bafybeiczsscdsbs7ffqz55asqdf3smv6klcw3gofszvwlyarci47bgf35",   /* truncated */
		"bafybeiczsscdsbs7ffqz55asqdf3smv6klcw3gofszvwlyarci47bgf354a", /* trailing */
		"bafybeiczsscdsbs7ffqz55asqdf3smv6klcw3gofszvwlyarci47bgf354=",
		"bciqbed3k6ya5i3qqwljochwxdrk5exzqilbckapedujenz5b5hj5r3a",    /* v0 bytes in base32 */
		"mAXASIA",                                                    /* base64: not supported */
		"b",
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		hp_cid c;
		hp_err e = HP_ERR_INIT;
		ok(hp_cid_parse_text(bad[i], &c, &e) == HP_E_DATA && strstr(e.msg, "invalid CID"),
		   "refused: '%s' (%s)", bad[i], e.msg);
	}

	/* binary forms that must fail */
	static const struct {
		const char *what;
		uint8_t b[8];
		size_t n;
	} badb[] = {
		{ "empty", { 0 }, 0 },
		{ "version 2", { 0x02, 0x70, 0x12, 0x20 }, 4 },
		{ "version 0 in v1 form", { 0x00, 0x70, 0x12, 0x20 }, 4 },
		{ "sha2-256 of 31 bytes", { 0x01, 0x70, 0x12, 0x1f }, 4 },
		{ "overlong codec", { 0x01, 0xf0, 0x00, 0x12, 0x20 }, 5 },
		{ "truncated v0", { 0x12, 0x20, 0x00 }, 3 },
		{ "digest over 64 bytes", { 0x01, 0x55, 0x13, 0x41 }, 4 },
	};
	for (size_t i = 0; i < sizeof badb / sizeof *badb; i++) {
		hp_cid c;
		size_t used;
		hp_err e = HP_ERR_INIT;
		ok(hp_cid_parse_bytes(badb[i].b, badb[i].n, &c, &used, &e) == HP_E_DATA, "binary CID refused: %s (%s)",
		   badb[i].what, e.msg);
	}

	/* identity CIDs and matching */
	hp_cid c;
	hp_err e = HP_ERR_INIT;
	ok(hp_cid_parse_text("bafkqaaa", &c, &e) == HP_OK && c.hash == HP_MC_IDENTITY && c.digest_len == 0,
	   "bafkqaaa: the empty identity CID");
	ok(hp_cid_matches(&c, (const uint8_t *)"", 0), "bafkqaaa matches no bytes");
	ok(!hp_cid_matches(&c, (const uint8_t *)"x", 1), "bafkqaaa does not match 'x'");
	hp_cid_parse_text("bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku", &c, &e);
	ok(hp_cid_matches(&c, (const uint8_t *)"", 0), "the empty raw block matches");
	ok(!hp_cid_matches(&c, (const uint8_t *)"x", 1), "and 'x' does not");
	hp_cid_parse_text("bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e", &c, &e);
	ok(hp_cid_matches(&c, (const uint8_t *)"hello world", 11), "'hello world' raw block");

	/* hp_cid_sha256 and equality */
	uint8_t dg[32] = { 1, 2, 3 };
	hp_cid a, b;
	hp_cid_sha256(&a, 0, HP_MC_RAW, dg);
	ok(a.version == 0 && a.codec == HP_MC_DAG_PB, "v0 is always dag-pb");
	hp_cid_sha256(&b, 1, HP_MC_DAG_PB, dg);
	ok(!hp_cid_equal(&a, &b), "v0 and v1 of one digest differ");
	b.version = 0;
	ok(hp_cid_equal(&a, &b), "equal once the versions agree");
}

int main(void)
{
	test_varint();
	test_base32();
	test_base58();
	test_cid();
	return done();
}
