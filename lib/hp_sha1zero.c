#include "hp_sha1zero.h"

#define OPENSSL_SUPPRESS_DEPRECATED  /* SHA1_Transform: one compression, SHA-NI inside */
#include <openssl/sha.h>
#include <string.h>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define HAVE_X86 1
#endif

#include "banned.h"

#define LANES512 32  /* lanes of one AVX-512 batch: two groups of 16 */

#define K0 0x5a827999u
#define K1 0x6ed9eba1u
#define K2 0x8f1bbcdcu
#define K3 0xca62c1d6u

static void run_openssl(hp_sha1z *v, size_t n)
{
	static const uint8_t zero[64];
	for (size_t i = 0; i < n; i++) {
		SHA_CTX c;
		memset(&c, 0, sizeof c);
		c.h0 = v[i].h[0], c.h1 = v[i].h[1], c.h2 = v[i].h[2], c.h3 = v[i].h[3], c.h4 = v[i].h[4];
		for (uint64_t k = 0; k < v[i].zero_blocks; k++)
			SHA1_Transform(&c, zero);
		v[i].h[0] = c.h0, v[i].h[1] = c.h1, v[i].h[2] = c.h2, v[i].h[3] = c.h3, v[i].h[4] = c.h4;
	}
}

#ifdef HAVE_X86
/* A round without W: T = rotl5(a) + f(b,c,d) + e + K; e = d; d = c;
 * c = rotl30(b); b = a; a = T. The names rotate instead of the values. */

#define R512(a, b, c, d, e, imm, k)                                                                  \
	do {                                                                                         \
		e = _mm512_add_epi32(_mm512_add_epi32(e, k), _mm512_rol_epi32(a, 5));                 \
		e = _mm512_add_epi32(e, _mm512_ternarylogic_epi32(b, c, d, imm));                     \
		b = _mm512_rol_epi32(b, 30);                                                           \
	} while (0)

/* 20 rounds with one f, on two groups of 16 at once (the rounds of one group
 * are a chain of dependent steps; two chains keep the vector units busy):
 * 4 turns of the 5 names. */
#define R512x20(imm, k)                                                                              \
	for (int r_ = 0; r_ < 4; r_++) {                                                             \
		R512(a, b, c, d, e, imm, k);                                                         \
		R512(A, B, C, D, E, imm, k);                                                         \
		R512(e, a, b, c, d, imm, k);                                                         \
		R512(E, A, B, C, D, imm, k);                                                         \
		R512(d, e, a, b, c, imm, k);                                                         \
		R512(D, E, A, B, C, imm, k);                                                         \
		R512(c, d, e, a, b, imm, k);                                                         \
		R512(C, D, E, A, B, imm, k);                                                         \
		R512(b, c, d, e, a, imm, k);                                                         \
		R512(B, C, D, E, A, imm, k);                                                         \
	}

__attribute__((target("avx512f"))) static void batch_avx512(hp_sha1z *v, size_t n)
{
	uint32_t in[5][LANES512] = { { 0 } }, out[5][LANES512] = { { 0 } }, want32[LANES512] = { 0 };
	uint64_t most = 0;
	for (size_t i = 0; i < n; i++) {
		for (int j = 0; j < 5; j++)
			in[j][i] = v[i].h[j];
		want32[i] = (uint32_t)v[i].zero_blocks;  /* below 2^32: see hp_sha1z_run */
		if (v[i].zero_blocks > most)
			most = v[i].zero_blocks;
	}
	__m512i h[5], o[5], H[5], O[5];
	for (int j = 0; j < 5; j++) {
		o[j] = h[j] = _mm512_loadu_si512(in[j]);
		O[j] = H[j] = _mm512_loadu_si512(in[j] + 16);
	}
	const __m512i k0 = _mm512_set1_epi32((int)K0), k1 = _mm512_set1_epi32((int)K1);
	const __m512i k2 = _mm512_set1_epi32((int)K2), k3 = _mm512_set1_epi32((int)K3);
	const __m512i want = _mm512_loadu_si512(want32), WANT = _mm512_loadu_si512(want32 + 16);
	__m512i cnt = _mm512_setzero_si512(), one = _mm512_set1_epi32(1);
	for (uint64_t blk = 0; blk < most; blk++) {
		__m512i a = h[0], b = h[1], c = h[2], d = h[3], e = h[4];
		__m512i A = H[0], B = H[1], C = H[2], D = H[3], E = H[4];
		R512x20(0xca, k0);  /* Ch(b,c,d) = b ? c : d */
		R512x20(0x96, k1);  /* b ^ c ^ d */
		R512x20(0xe8, k2);  /* Maj(b,c,d) */
		R512x20(0x96, k3);
		h[0] = _mm512_add_epi32(h[0], a), H[0] = _mm512_add_epi32(H[0], A);
		h[1] = _mm512_add_epi32(h[1], b), H[1] = _mm512_add_epi32(H[1], B);
		h[2] = _mm512_add_epi32(h[2], c), H[2] = _mm512_add_epi32(H[2], C);
		h[3] = _mm512_add_epi32(h[3], d), H[3] = _mm512_add_epi32(H[3], D);
		h[4] = _mm512_add_epi32(h[4], e), H[4] = _mm512_add_epi32(H[4], E);
		cnt = _mm512_add_epi32(cnt, one);
		__mmask16 now = _mm512_cmpeq_epi32_mask(cnt, want), NOW = _mm512_cmpeq_epi32_mask(cnt, WANT);
		for (int j = 0; j < 5; j++) {
			o[j] = _mm512_mask_mov_epi32(o[j], now, h[j]);
			O[j] = _mm512_mask_mov_epi32(O[j], NOW, H[j]);
		}
	}
	for (int j = 0; j < 5; j++) {
		_mm512_storeu_si512(out[j], o[j]);
		_mm512_storeu_si512(out[j] + 16, O[j]);
	}
	for (size_t i = 0; i < n; i++)
		for (int j = 0; j < 5; j++)
			v[i].h[j] = out[j][i];
}

#define ROL256(x, s) _mm256_or_si256(_mm256_slli_epi32(x, s), _mm256_srli_epi32(x, 32 - (s)))
#define R256(a, b, c, d, e, F, k)                                                                    \
	do {                                                                                         \
		e = _mm256_add_epi32(_mm256_add_epi32(e, k), ROL256(a, 5));                           \
		e = _mm256_add_epi32(e, F(b, c, d));                                                  \
		b = ROL256(b, 30);                                                                     \
	} while (0)
#define F_CH(b, c, d) _mm256_xor_si256(d, _mm256_and_si256(b, _mm256_xor_si256(c, d)))
#define F_PAR(b, c, d) _mm256_xor_si256(_mm256_xor_si256(b, c), d)
#define F_MAJ(b, c, d) _mm256_or_si256(_mm256_and_si256(b, c), _mm256_and_si256(d, _mm256_or_si256(b, c)))
#define R256x20(F, k)                                                                                \
	for (int r_ = 0; r_ < 4; r_++) {                                                             \
		R256(a, b, c, d, e, F, k);                                                           \
		R256(e, a, b, c, d, F, k);                                                           \
		R256(d, e, a, b, c, F, k);                                                           \
		R256(c, d, e, a, b, F, k);                                                           \
		R256(b, c, d, e, a, F, k);                                                           \
	}

__attribute__((target("avx2"))) static void batch_avx2(hp_sha1z *v, size_t n)
{
	uint32_t in[5][8] = { { 0 } }, out[5][8] = { { 0 } }, want32[8] = { 0 };
	uint64_t most = 0;
	for (size_t i = 0; i < n; i++) {
		for (int j = 0; j < 5; j++)
			in[j][i] = v[i].h[j];
		want32[i] = (uint32_t)v[i].zero_blocks;
		if (v[i].zero_blocks > most)
			most = v[i].zero_blocks;
	}
	__m256i h[5], o[5];
	for (int j = 0; j < 5; j++)
		o[j] = h[j] = _mm256_loadu_si256((const __m256i *)in[j]);
	const __m256i k0 = _mm256_set1_epi32((int)K0), k1 = _mm256_set1_epi32((int)K1);
	const __m256i k2 = _mm256_set1_epi32((int)K2), k3 = _mm256_set1_epi32((int)K3);
	const __m256i want = _mm256_loadu_si256((const __m256i *)want32);
	__m256i cnt = _mm256_setzero_si256(), one = _mm256_set1_epi32(1);
	for (uint64_t blk = 0; blk < most; blk++) {
		__m256i a = h[0], b = h[1], c = h[2], d = h[3], e = h[4];
		R256x20(F_CH, k0);
		R256x20(F_PAR, k1);
		R256x20(F_MAJ, k2);
		R256x20(F_PAR, k3);
		h[0] = _mm256_add_epi32(h[0], a);
		h[1] = _mm256_add_epi32(h[1], b);
		h[2] = _mm256_add_epi32(h[2], c);
		h[3] = _mm256_add_epi32(h[3], d);
		h[4] = _mm256_add_epi32(h[4], e);
		cnt = _mm256_add_epi32(cnt, one);
		__m256i now = _mm256_cmpeq_epi32(cnt, want);
		for (int j = 0; j < 5; j++)
			o[j] = _mm256_blendv_epi8(o[j], h[j], now);
	}
	for (int j = 0; j < 5; j++)
		_mm256_storeu_si256((__m256i *)out[j], o[j]);
	for (size_t i = 0; i < n; i++)
		for (int j = 0; j < 5; j++)
			v[i].h[j] = out[j][i];
}
#endif

static int best(void)
{
#ifdef HAVE_X86
	__builtin_cpu_init();
	if (__builtin_cpu_supports("avx512f"))
		return 3;
	if (__builtin_cpu_supports("avx2"))
		return 2;
#endif
	return 1;
}

static int chosen;  /* 0: not yet */

const char *hp_sha1z_impl(int force)
{
	int b = best();
	chosen = force > 0 && force <= b ? force : b;
	return chosen == 3 ? "avx512" : chosen == 2 ? "avx2" : "openssl";
}

void hp_sha1z_run(hp_sha1z *v, size_t n)
{
	int impl = chosen ? chosen : best();
	size_t lanes = impl == 3 ? LANES512 : impl == 2 ? 8 : 0;
	if (!lanes) {
		run_openssl(v, n);
		return;
	}
	/* a batch's lanes run as long as its longest: batches of messages with
	 * zero-block counts that are not all alike still waste little (a
	 * padded piece's count is the piece's blocks minus the file's tail),
	 * and the counts are below 2^32 (at most 128 MiB / 64 per piece) */
	for (size_t i = 0; i < n; i += lanes) {
		size_t k = n - i < lanes ? n - i : lanes;
#ifdef HAVE_X86
		if (impl == 3)
			batch_avx512(v + i, k);
		else
			batch_avx2(v + i, k);
#endif
	}
}
