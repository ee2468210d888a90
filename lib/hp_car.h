/* hp_car: CARv1 (Content Addressable aRchive) writer and streaming reader.
 *
 * A CARv1 is varint(header length) + a DAG-CBOR header
 * {"roots": [CID...], "version": 1}, then sections, each
 * varint(len(CID bytes) + len(data)) + CID bytes + data.
 *
 * Writer: blocks go to a temporary file beside the destination (hp_io's
 * atomic files) that is renamed into place by hp_car_commit. The roots may
 * be given at open, or later (files are hashed bottom-up, so the root is
 * known last): see hp_car_set_roots and docs/car.md. Repeated CIDs are
 * written once (a bounded set of seen CIDs), as kubo's dag export does.
 *
 * Reader: a push parser. Feed it bytes as they arrive (a file, a pipe, an
 * HTTP response) and it calls on_header once and on_block for every block,
 * each block's bytes checked against its CID first: no block is ever handed
 * out unverified. Memory is bounded by one section (max_block + a CID).
 * Everything outside the strict form is refused with a message giving the
 * block number (from 0) and the byte offset of its section:
 * "CAR 'x.car': block 17 at offset 123456: bytes do not match CID bafy...". */
#ifndef HP_CAR_H
#define HP_CAR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "hp_buf.h"
#include "hp_err.h"
#include "hp_multiformats.h"

#define HP_CAR_MAX_BLOCK (2u << 20)      /* 2 MiB: the trustless gateway limit */
#define HP_CAR_MAX_HEADER (64u << 10)    /* header bytes (DAG-CBOR) */
#define HP_CAR_MAX_ROOTS 1024
#define HP_CAR_DEDUP_MAX (1u << 20)      /* CIDs remembered by the writer */

/* ---- the header ---- */

/* Append varint(length) + the DAG-CBOR header for roots[0..n) to out. */
hp_code hp_car_header_encode(const hp_cid *roots, size_t n, hp_buf *out, hp_err *e);

/* Parse a DAG-CBOR header (without its length varint) from p[0..n): exactly
 * a map of "roots" (an array of at most max_roots CIDs, tag 42 over a byte
 * string beginning with 0x00) and "version" (1), canonical DAG-CBOR (minimal
 * lengths, keys in order, nothing after the map). *roots is malloc'ed (NULL
 * when *nroots is 0); free() it. HP_E_DATA with a message naming the byte
 * offset within the header. */
hp_code hp_car_header_decode(const uint8_t *p, size_t n, size_t max_roots,
			     hp_cid **roots, size_t *nroots, hp_err *e);

/* ---- writer ---- */

typedef struct hp_car_writer hp_car_writer;

typedef struct hp_car_writer_opts {
	mode_t mode;              /* of a file created by path (0644) */
	unsigned atomic_flags;    /* HP_ATOMIC_NOCLOBBER */
	bool dedup;               /* write each CID once (true) */
	size_t dedup_max;         /* CIDs remembered; past it, repeats may be written again */
	bool verify;              /* hash every block against its CID before writing it (true) */
	size_t max_block;         /* refuse bigger blocks (HP_CAR_MAX_BLOCK); 0: no limit */
	bool roots_later;         /* the roots given at open only reserve room: their
				   * final values come from hp_car_set_roots */
} hp_car_writer_opts;

#define HP_CAR_WRITER_OPTS_INIT { 0644, 0, true, HP_CAR_DEDUP_MAX, true, HP_CAR_MAX_BLOCK, false }

/* Open a CAR for writing at path ("-": stdout) with roots[0..nroots)
 * (nroots >= 1). o may be NULL for the defaults. With o->roots_later, the
 * roots only reserve room for the header (NULL: nroots CIDv1 dag-pb
 * sha2-256 placeholders, 36 bytes each); the final ones come from
 * hp_car_set_roots and are patched in place at commit when the header keeps
 * its length. */
hp_code hp_car_writer_open(hp_car_writer **w, const char *path, const hp_cid *roots,
			   size_t nroots, const hp_car_writer_opts *o, hp_err *e);
/* As hp_car_writer_open, onto an open descriptor that stays the caller's
 * (never closed, never fsynced); what names it in messages. With
 * roots_later, the blocks are held in a temporary file until commit. */
hp_code hp_car_writer_open_fd(hp_car_writer **w, int fd, const char *what, const hp_cid *roots,
			      size_t nroots, const hp_car_writer_opts *o, hp_err *e);

/* Append a block. A repeated CID is skipped (with dedup). An identity CID,
 * a hash other than a 32-byte sha2-256 or a block over max_block fail with
 * HP_E_USAGE, and (with verify) bytes that do not hash to cid with
 * HP_E_INVALID: these write nothing and the writer goes on. A failed write
 * leaves the writer failed: only hp_car_abort remains. */
hp_code hp_car_put(hp_car_writer *w, const hp_cid *cid, const uint8_t *data, size_t n, hp_err *e);

/* The final roots (roots_later only), before commit; may be called again
 * (the last call wins). Any count from 1: when the header's length differs
 * from the placeholder's, commit rewrites the file (see docs/car.md). */
hp_code hp_car_set_roots(hp_car_writer *w, const hp_cid *roots, size_t nroots, hp_err *e);

typedef struct hp_car_stats {
	uint64_t blocks;      /* sections written */
	uint64_t duplicates;  /* puts skipped as repeats */
	uint64_t bytes;       /* CAR bytes so far, header included */
} hp_car_stats;

void hp_car_writer_stats(const hp_car_writer *w, hp_car_stats *s);

/* Finish: patch or write the header, flush, fsync and rename into place.
 * Frees w whatever the outcome (on failure nothing is left behind). */
hp_code hp_car_commit(hp_car_writer *w, hp_err *e);
/* Drop everything written; frees w. NULL is fine. */
void hp_car_abort(hp_car_writer *w);

/* ---- reader ---- */

typedef struct hp_car_reader hp_car_reader;

typedef struct hp_car_block {
	const hp_cid *cid;
	const uint8_t *data;  /* valid during the callback only */
	size_t len;
	uint64_t index;       /* from 0, in CAR order */
	uint64_t offset;      /* of the section (its length varint) in the CAR */
} hp_car_block;

typedef struct hp_car_reader_opts {
	const char *name;        /* for messages ("CAR 'name': ..."); may be NULL */
	size_t max_block;        /* data bytes per block; 0: HP_CAR_MAX_BLOCK */
	uint64_t max_total;      /* CAR bytes in all; 0: no limit */
	uint64_t max_blocks;     /* 0: no limit */
	size_t max_header;       /* DAG-CBOR header bytes; 0: HP_CAR_MAX_HEADER */
	size_t max_roots;        /* 0: HP_CAR_MAX_ROOTS */
	/* Called once, before any block. roots is NULL when nroots is 0. A
	 * code other than HP_OK stops the reader with that error. */
	hp_code (*on_header)(void *ctx, const hp_cid *roots, size_t nroots, hp_err *e);
	/* Called for every block, after its bytes were checked against its CID. */
	hp_code (*on_block)(void *ctx, const hp_car_block *b, hp_err *e);
	void *ctx;
} hp_car_reader_opts;

#define HP_CAR_READER_OPTS_INIT { NULL, HP_CAR_MAX_BLOCK, 0, 0, HP_CAR_MAX_HEADER, HP_CAR_MAX_ROOTS, NULL, NULL, NULL }

/* o is copied (name too); NULL means the defaults and no callbacks. */
hp_code hp_car_reader_new(hp_car_reader **r, const hp_car_reader_opts *o, hp_err *e);
/* Parse p[0..n); calls back for each complete section. After a failure the
 * reader keeps failing with the same code. */
hp_code hp_car_feed(hp_car_reader *r, const uint8_t *p, size_t n, hp_err *e);
/* The end of the input: fails if it stops inside the header or a section,
 * or before the header. */
hp_code hp_car_finish(hp_car_reader *r, hp_err *e);
/* Bytes consumed and blocks delivered so far. */
uint64_t hp_car_reader_offset(const hp_car_reader *r);
uint64_t hp_car_reader_blocks(const hp_car_reader *r);
void hp_car_reader_free(hp_car_reader *r);

/* Whole inputs through the same parser. */
hp_code hp_car_read_mem(const uint8_t *p, size_t n, const hp_car_reader_opts *o, hp_err *e);
hp_code hp_car_read_fd(int fd, const hp_car_reader_opts *o, hp_err *e);
/* path "-" is stdin; o->name defaults to path. */
hp_code hp_car_read_file(const char *path, const hp_car_reader_opts *o, hp_err *e);

/* A pull source: put up to cap bytes in buf and set *got; *got == 0 is the
 * end of the input. */
typedef hp_code (*hp_car_pull_fn)(void *ctx, uint8_t *buf, size_t cap, size_t *got, hp_err *e);
hp_code hp_car_read_pull(hp_car_pull_fn pull, void *pull_ctx, const hp_car_reader_opts *o, hp_err *e);

#endif
