/* hp_sha1zero: every implementation this CPU has gives SHA-1's chaining
 * values, lane for lane, for batches of every size and mixed counts
 * (zero included), checked against OpenSSL's SHA-1 of the whole message. */
#define OPENSSL_SUPPRESS_DEPRECATED  /* SHA1(): the reference */
#include <openssl/sha.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hp_sha1zero.h"
#include "tap.h"

#include "banned.h"

/* SHA-1 of prefix (a whole number of 64-byte blocks) || zeros * 64: the
 * reference, with OpenSSL's one-shot SHA1 */
static void reference(const uint8_t *prefix, size_t plen, uint64_t zero_blocks, uint8_t out[20])
{
	size_t n = plen + 64 * (size_t)zero_blocks;
	uint8_t *m = calloc(1, n ? n : 1);
	memcpy(m, prefix, plen);
	SHA1(m, n, out);
	free(m);
}

/* The SHA-1 of the same message from hp_sha1z's chaining value: the final
 * block (padding and length) as SHA-1 does it, by hand */
static void finish(const uint32_t h[5], uint64_t bytes, uint8_t out[20]);

static uint32_t rol(uint32_t x, int s)
{
	return (x << s) | (x >> (32 - s));
}

static void compress(uint32_t h[5], const uint8_t blk[64])
{
	uint32_t w[80], a = h[0], b = h[1], c = h[2], d = h[3], e = h[4];
	for (int t = 0; t < 16; t++)
		w[t] = (uint32_t)blk[4 * t] << 24 | (uint32_t)blk[4 * t + 1] << 16 | (uint32_t)blk[4 * t + 2] << 8 | blk[4 * t + 3];
	for (int t = 16; t < 80; t++)
		w[t] = rol(w[t - 3] ^ w[t - 8] ^ w[t - 14] ^ w[t - 16], 1);
	for (int t = 0; t < 80; t++) {
		uint32_t f, k;
		if (t < 20)
			f = (b & c) | (~b & d), k = 0x5a827999u;
		else if (t < 40)
			f = b ^ c ^ d, k = 0x6ed9eba1u;
		else if (t < 60)
			f = (b & c) | (b & d) | (c & d), k = 0x8f1bbcdcu;
		else
			f = b ^ c ^ d, k = 0xca62c1d6u;
		uint32_t T = rol(a, 5) + f + e + k + w[t];
		e = d, d = c, c = rol(b, 30), b = a, a = T;
	}
	h[0] += a, h[1] += b, h[2] += c, h[3] += d, h[4] += e;
}

static void finish(const uint32_t h0[5], uint64_t bytes, uint8_t out[20])
{
	uint32_t h[5];
	memcpy(h, h0, sizeof h);
	uint8_t blk[64] = { 0x80 };
	uint64_t bits = bytes * 8;
	for (int i = 0; i < 8; i++)
		blk[63 - i] = (uint8_t)(bits >> (8 * i));
	compress(h, blk);
	for (int i = 0; i < 5; i++)
		for (int j = 0; j < 4; j++)
			out[4 * i + j] = (uint8_t)(h[i] >> (24 - 8 * j));
}

int main(void)
{
	static const uint32_t iv[5] = { 0x67452301u, 0xefcdab89u, 0x98badcfeu, 0x10325476u, 0xc3d2e1f0u };
	srand(7);
	for (int impl = 1; impl <= 3; impl++) {
		const char *name = hp_sha1z_impl(impl);
		if (impl > 1 && strcmp(name, impl == 2 ? "avx2" : "avx512") != 0) {
			ok(1, "# SKIP impl %d: this CPU lacks it", impl);
			continue;
		}
		/* batches of 1 to 70 messages, each a random block of prefix then
		 * 0-40 zero blocks (0 and 1 included) */
		int bad = 0, total = 0;
		for (size_t n = 1; n <= 70; n += 3) {
			hp_sha1z *v = calloc(n, sizeof *v);
			uint8_t (*pre)[64] = calloc(n, 64);
			for (size_t i = 0; i < n; i++) {
				for (int j = 0; j < 64; j++)
					pre[i][j] = (uint8_t)rand();
				memcpy(v[i].h, iv, sizeof iv);
				compress(v[i].h, pre[i]);
				v[i].zero_blocks = i % 5 == 0 ? i % 2 : (uint64_t)(rand() % 41);
			}
			hp_sha1z_run(v, n);
			for (size_t i = 0; i < n; i++) {
				uint8_t want[20], got[20];
				reference(pre[i], 64, v[i].zero_blocks, want);
				finish(v[i].h, 64 * (1 + v[i].zero_blocks), got);
				bad += memcmp(want, got, 20) != 0;
				total++;
			}
			free(v);
			free(pre);
		}
		is_int(bad, 0, "%s: %d messages in batches of 1 to 70, each SHA-1's", name, total);
		/* a long run: one 256 KiB padded piece of a 1 KiB file */
		hp_sha1z one = { { 0 }, 4080 };
		uint8_t blk[1024];
		for (size_t j = 0; j < sizeof blk; j++)
			blk[j] = (uint8_t)(j * 7);
		memcpy(one.h, iv, sizeof iv);
		for (int b = 0; b < 16; b++)
			compress(one.h, blk + 64 * b);
		hp_sha1z_run(&one, 1);
		uint8_t *piece = calloc(1, 256 * 1024), want[20], got[20];
		memcpy(piece, blk, sizeof blk);
		SHA1(piece, 256 * 1024, want);
		finish(one.h, 256 * 1024, got);
		ok(memcmp(want, got, 20) == 0, "%s: a 1 KiB file padded to a 256 KiB piece", name);
		free(piece);
	}
	hp_sha1z_impl(0);
	return done();
}
