/* hp_btpieces: BitTorrent piece hashes as sinks of the one-pass digest
 * pipeline (hp_digest), so that making a torrent reads every file once, in
 * the same pass that computes SHA-256 and CIDs.
 *
 *   v1  SHA-1 of each piece of the concatenation of the files in run
 *       order. Pieces span files; each worker hashes the whole pieces inside
 *       its file and keeps the bytes before its first piece boundary, which
 *       done() (in list order) joins to the piece the previous file left open
 *       (docs/digest.md). With pad (BEP 47, hybrid torrents with more than
 *       one file, laid out as libtorrent 2.0.8 does) every non-empty file
 *       starts on a piece boundary and is followed by zeros up to the next
 *       one, the last file included: the pieces are then per file.
 *   v2  BEP 52, per file: SHA-256 of each 16 KiB block, the merkle root of
 *       each piece's blocks (the "piece layer"; a file smaller than a piece
 *       pads its blocks to the next power of two, a larger one pads its last
 *       piece to a whole piece, with zero hashes), and the file's "pieces
 *       root" over the piece layer padded with the hashes of all-zero pieces.
 *
 * Order matters for v1 only, and it is the order of the walk list: sort it
 * first (hp_bt_sort_v1 for v1-only torrents, as mktorrent orders files;
 * hp_bt_sort_v2 for v2 and hybrid torrents, as libtorrent orders them). */
#ifndef HP_BTPIECES_H
#define HP_BTPIECES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hp_digest.h"
#include "hp_err.h"
#include "hp_walk.h"

#ifdef __cplusplus
extern "C" {
#endif

#define HP_BT_BLOCK 16384u                        /* v2 leaf size */
#define HP_BT_MIN_PIECE HP_BT_BLOCK
#define HP_BT_MAX_PIECE (128u * 1024 * 1024)      /* libtorrent 2.0.11 refuses more */

typedef struct hp_btpieces_opts {
	uint64_t piece_length;  /* a power of two, HP_BT_MIN_PIECE to HP_BT_MAX_PIECE */
	bool v1;                /* SHA-1 pieces */
	bool v2;                /* per-file merkle trees */
	bool pad;               /* BEP 47 padding after every non-empty file (v1 only matters) */
	/* v1 lanes: SHA-1 is one piece after another, so one sink hashes one
	 * piece at a time. With lanes > 1 (v1 only), lanes sinks share the
	 * work, each on its own thread when the pipeline spreads a file: lane
	 * j hashes the whole pieces of each file whose number in the file
	 * (counted from its first piece boundary) is j modulo lanes; lane 0
	 * also hashes the pieces that are not whole in one file, and keeps
	 * holes for the others' pieces, filled by hp_btpieces_join_lanes.
	 * 0 or 1: one sink does all. */
	unsigned lanes;
	unsigned lane;          /* 0 to lanes - 1 */
} hp_btpieces_opts;

/* What is known about one file after the run, in run order. */
typedef struct hp_btpieces_file {
	uint64_t size;
	bool has_root;          /* v2 and size > 0 */
	uint8_t root[32];       /* v2 "pieces root" */
	size_t npieces;         /* v2: ceil(size / piece_length) */
	uint8_t *pieces;        /* v2: npieces hashes of 32 bytes (the piece layer) */
} hp_btpieces_file;

typedef struct hp_btpieces hp_btpieces;

/* HP_E_USAGE for a piece length that is not a power of two in range, or
 * neither v1 nor v2. */
hp_code hp_btpieces_new(const hp_btpieces_opts *o, hp_btpieces **out, hp_err *e);
void hp_btpieces_free(hp_btpieces *bp);

/* The sink to pass to hp_digest_list (bp must outlive the run). */
hp_digest_sink hp_btpieces_sink(hp_btpieces *bp);

/* A window for hp_digest_opts that bounds the bytes v1 pieces hold while
 * files wait to be delivered (about 256 MiB at most); 0 (the pipeline's
 * default) when nothing is held. */
size_t hp_btpieces_window(const hp_btpieces *bp);

/* After the run: finish the last v1 piece. Fails with the first file's error
 * if a file failed (HP_E_NOINPUT, HP_E_IO...), or with HP_E_USAGE for a
 * stream of unknown size where v1 pieces need offsets. */
hp_code hp_btpieces_finish(hp_btpieces *bp, hp_err *e);

/* After hp_btpieces_finish of every lane: fill lane 0's holes (bp, lane
 * 0) with the pieces of the others (others[k] is lane k + 1; n = lanes - 1).
 * HP_E_INTERNAL when their counts do not add up. */
hp_code hp_btpieces_join_lanes(hp_btpieces *bp, hp_btpieces *const *others, size_t n, hp_err *e);

/* Results, valid after hp_btpieces_finish (and hp_btpieces_join_lanes). */
size_t hp_btpieces_v1_count(const hp_btpieces *bp);
const uint8_t *hp_btpieces_v1(const hp_btpieces *bp);  /* 20 bytes per piece */
size_t hp_btpieces_nfiles(const hp_btpieces *bp);
const hp_btpieces_file *hp_btpieces_file_at(const hp_btpieces *bp, size_t seq);

/* libtorrent 2.0.8's automatic piece length for content of total bytes (16 KiB
 * up to 2.68 MB, doubling up to 8 MiB), so that defaults agree with it. */
uint64_t hp_bt_auto_piece_length(uint64_t total);

/* The piece length of a torrent whose files each start on a piece boundary
 * (a hybrid of more than one file: BEP 47 pad files): the smallest power of
 * two from 16 KiB up to hp_bt_auto_piece_length(total) for which the pieces
 * of the files (each file its own) are no more than the automatic length's
 * pieces of the total plus one per non-empty file. The automatic length
 * always qualifies, so the piece count is bounded as libtorrent bounds it,
 * and small files are not padded to large pieces: 100,000 files of 1-4 KiB
 * get 16 KiB pieces instead of 256 KiB, 1.4 GB of zeros to hash (by every
 * v1 client that checks the pieces, too) instead of 25 GB, for the same
 * number of pieces. One large file, or a few, keep the automatic length. */
uint64_t hp_bt_padded_piece_length(const hp_walk_list *l);

/* Orders of relative paths ('/'-separated bytes, as hp_walk reports them).
 *   v1: bytewise over the whole path (strcmp), mktorrent's order: "a-" < "a/b"
 *   v2: component by component, libtorrent's canonical order and the order
 *       of the BEP 52 file tree: "a/b" < "a-" (the directory "a" first)
 * Each returns <0, 0 or >0. */
int hp_bt_cmp_v1(const char *a, size_t an, const char *b, size_t bn);
int hp_bt_cmp_v2(const char *a, size_t an, const char *b, size_t bn);
/* Sort the entries of a walk list (with their own paths) in place. */
void hp_bt_sort_v1(hp_walk_list *l);
void hp_bt_sort_v2(hp_walk_list *l);

/* The SHA-256 merkle helpers, for tests and the torrent reader:
 * hp_bt_zero_root(k) is the root of 2^k zero leaves (32 zero bytes at k=0). */
void hp_bt_zero_root(unsigned k, uint8_t out[32]);
/* The "pieces root" of a v2 file from its piece layer (n >= 1 hashes): the
 * merkle root of the layer padded to a power of two with the root of an
 * all-zero piece (2^piece_log2 leaves). */
hp_code hp_bt_layer_root(const uint8_t *layer, size_t n, unsigned piece_log2, uint8_t out[32], hp_err *e);

#ifdef __cplusplus
}
#endif

#endif
