/* hp_sha1zero: SHA-1 over runs of zero bytes, many messages at once.
 *
 * A hybrid torrent pads every file to a piece boundary (BEP 47), so each
 * small file's last v1 piece is SHA-1(its bytes || zeros up to the piece
 * length): with 256 KiB pieces and files of a few KiB, nearly every
 * compression of the run is of an all-zero block. Such a block has an
 * all-zero message schedule, and the states of different files are
 * independent, so 16 (AVX-512) or 8 (AVX2) of them go through the
 * compression function side by side, without the schedule. The result is
 * SHA-1's, bit for bit; without AVX2 each block goes through OpenSSL's
 * SHA-1 compression (SHA-NI where there is one). */
#ifndef HP_SHA1ZERO_H
#define HP_SHA1ZERO_H
#include <stddef.h>
#include <stdint.h>

/* One message in progress: its SHA-1 chaining value after a whole number of
 * 64-byte blocks, and how many all-zero blocks follow. */
typedef struct hp_sha1z {
	uint32_t h[5];
	uint64_t zero_blocks;
} hp_sha1z;

/* Apply each message's zero_blocks compressions of an all-zero block to its
 * h (zero_blocks is left as it is). */
void hp_sha1z_run(hp_sha1z *v, size_t n);

/* The implementation hp_sha1z_run uses here: "avx512", "avx2" or "openssl";
 * force (tests, benchmarks): 0 = the best this CPU has, 1 = openssl,
 * 2 = avx2, 3 = avx512 (never one the CPU lacks). */
const char *hp_sha1z_impl(int force);
#endif
