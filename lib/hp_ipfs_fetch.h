/* hp_ipfs_fetch: the IPFS source of hp_fetch (see docs/fetch.md).
 *
 * Two kinds of endpoint:
 *   gateway  a trustless gateway: GET /ipfs/{cid}?format=car&dag-scope=all
 *            (&car-version=1&car-order=dfs&car-dups=y, and the same in an
 *            Accept header), or, when it does not serve CARs, block by block
 *            with GET /ipfs/{cid}?format=raw;
 *   kubo     kubo's RPC: POST /api/v0/dag/export?arg={cid}.
 * The first request of a fresh fetch asks for the package root
 * (distribution.ipfs_cid) and walks it all; when some files are already in
 * place, each missing file is asked for by its own CID (files[].cid, covered
 * by the signature like the root).
 *
 * Every block is checked against its CID as it streams in (hp_car's
 * reader; hp_cid_matches for raw blocks) and then handed to the walk, which
 * follows the DAG from where it started: folder entries are matched against
 * the manifest's paths (an entry the manifest does not list is never
 * written), each file's blocks give its bytes in order into an hp_fetch
 * writer, every node's sizes must add up to what its parent (for a file's
 * root: the manifest) says. Blocks that come before they are needed, and
 * blocks already used that may be needed again, are kept in a bounded store
 * (memory, then a spill file in .hp-partial); a large leaf already written
 * is kept only as a reference to the bytes written and rebuilt (and checked
 * against its CID again) when it is needed again. */
#ifndef HP_IPFS_FETCH_H
#define HP_IPFS_FETCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hp_err.h"
#include "hp_fetch.h"
#include "hp_multiformats.h"

typedef enum hp_ipfs_kind {
	HP_IPFS_GATEWAY = 0,
	HP_IPFS_KUBO,
} hp_ipfs_kind;

typedef struct hp_ipfs_opts {
	long timeout_ms;     /* the longest wait on a silent source: connecting, the answer,
			      * a silence or less than HP_HTTP_MIN_RATE bytes a second
			      * over it within the answer; 0: 30 s */
	size_t memory;       /* bytes of blocks kept in memory per request before spilling; 0: 64 MiB */
	bool raw_blocks;     /* gateway: fetch block by block (?format=raw), never a CAR */
	int jobs;            /* per-file requests at a time; <= 1: one */
	uint32_t min_rate;   /* bytes per second a transfer must average over each
			      * timeout_ms span; 0: HP_HTTP_MIN_RATE */
	long deadline_ms;    /* all of this source's requests over this long after it
			      * starts, then the next source is tried; 0: no limit */
} hp_ipfs_opts;

/* Add an IPFS source for url (http(s)://host:port[/path], or a multiaddr;
 * a gateway URL may end in /ipfs). o may be NULL. HP_E_USAGE for a bad URL. */
hp_code hp_ipfs_source_add(hp_fetch *f, hp_ipfs_kind kind, const char *url, const hp_ipfs_opts *o, hp_err *e);

/* ---- the walk, on its own (the source drives it; tests and the fuzzer too) ---- */

typedef struct hp_ipfs_walk hp_ipfs_walk;

typedef struct hp_ipfs_walk_stats {
	uint64_t blocks;      /* handed to the walk */
	uint64_t used;        /* used by the walk (a block used twice counts twice) */
	uint64_t duplicates;  /* received again while still stored: dropped */
	uint64_t ignored;     /* never needed: not reachable from where the walk started, or
			       * belonging to files not wanted */
	uint64_t unlisted;    /* folder entries the manifest does not list: not written */
	uint64_t spilled;     /* bytes that went to the spill file */
	uint64_t rebuilt;     /* blocks rebuilt from bytes already written */
} hp_ipfs_walk_stats;

/* file for a walk of the root's folders only: it writes no file and makes
 * the empty folders of the package. */
#define HP_IPFS_WALK_DIRS (SIZE_MAX - 1)

/* Walk the package from its root folder (file == SIZE_MAX), or file
 * number file from its own CID. Only files wanted now are written. memory:
 * as hp_ipfs_opts (0: 64 MiB). */
hp_code hp_ipfs_walk_new(hp_fetch *f, const hp_cid *start, size_t file, size_t memory, hp_ipfs_walk **w,
			 hp_err *e);
/* A block, already checked against cid by the caller. HP_OK unless the walk
 * cannot go on at all (a local error, a limit): a file whose blocks are
 * wrong fails on its own (hp_fetch_note_failure) and the walk goes on. */
hp_code hp_ipfs_walk_block(hp_ipfs_walk *w, const hp_cid *cid, const uint8_t *p, size_t n, hp_err *e);
/* Has every wanted file in the walk's reach been dealt with? */
bool hp_ipfs_walk_done(const hp_ipfs_walk *w);
/* The block the walk needs next (false when done); *optional: a folder
 * entry the manifest does not list, which may be skipped. */
bool hp_ipfs_walk_need(hp_ipfs_walk *w, hp_cid *cid, bool *optional);
/* The block needed next cannot be had (why: "block ... missing from the
 * response" is said when NULL): fail what needs it, go on. */
hp_code hp_ipfs_walk_missing(hp_ipfs_walk *w, const char *why, hp_err *e);
/* The blocks stopped coming: use what is stored, fail what is missing,
 * report files the DAG does not have. HP_OK when every wanted file in
 * reach was delivered; else HP_E_INVALID with the first failure. */
hp_code hp_ipfs_walk_finish(hp_ipfs_walk *w, hp_err *e);
/* The transfer broke (a bad block, the network): every wanted file not yet
 * delivered fails with why. */
void hp_ipfs_walk_abort(hp_ipfs_walk *w, const hp_err *why);
/* The error that stopped the walk for good (a local one, a limit), copied
 * to e when e is not NULL; HP_OK when there is none. */
hp_code hp_ipfs_walk_error(const hp_ipfs_walk *w, hp_err *e);
void hp_ipfs_walk_get_stats(const hp_ipfs_walk *w, hp_ipfs_walk_stats *s);
/* Aborts a file still being written. NULL is fine. */
void hp_ipfs_walk_free(hp_ipfs_walk *w);

/* Most bytes and blocks a response for the given files may hold (the
 * manifest's sizes plus the DAG's overhead for the profile; see
 * docs/fetch.md). file == SIZE_MAX: the whole package. */
void hp_ipfs_bounds(const hp_fetch *f, size_t file, uint64_t *max_bytes, uint64_t *max_blocks);

#endif
