/* hp_unixfs: UnixFS DAGs (files and directories) byte-identical to kubo's
 * `ipfs add`, computed from the single read of hp_digest. See docs/unixfs.md.
 *
 *   profile   the import parameters (CID version, chunk size, links per
 *             node, raw leaves, HAMT size estimation) of the three profiles
 *             kubo can be configured to: unixfs-v0-2015 (kubo's default),
 *             unixfs-v1-2025 (IPIP-499's recommendation), kubo-cid-v1
 *             (kubo's plain --cid-version=1).
 *   file      one file's balanced DAG, built incrementally from its bytes in
 *             blocks of any size: memory is O(depth x width) links plus one
 *             chunk, never the file.
 *   sink      the file builder as an hp_digest sink, so the CID comes from
 *             the same read as the SHA-256; leaves may be hashed on helper
 *             threads while the reading thread does the SHA-256.
 *   tree      directories, after the files: links sorted bytewise by name,
 *             empty directories, HAMT sharding past 256 KiB with the
 *             profile's size estimation.
 *   data      the UnixFS Data protobuf (encode and strict decode).
 *
 * Every block made (leaves, file nodes, directories, HAMT shards) can be
 * handed to a block callback, e.g. a CAR writer. */
#ifndef HP_UNIXFS_H
#define HP_UNIXFS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hp_buf.h"
#include "hp_digest.h"
#include "hp_err.h"
#include "hp_multiformats.h"

/* ---- profiles ---- */

typedef enum hp_unixfs_estimation {
	HP_UNIXFS_EST_LINKS = 0,  /* sum of len(name) + len(CID bytes) ("links", kubo's default) */
	HP_UNIXFS_EST_BLOCK,      /* the basic directory's serialized block size ("block") */
} hp_unixfs_estimation;

typedef struct hp_unixfs_profile {
	const char *name;
	unsigned cid_version;     /* 0 or 1 (dag-pb nodes; raw leaves are always v1) */
	bool raw_leaves;
	uint32_t chunk_size;      /* fixed-size chunker ("size-N") */
	uint32_t max_links;       /* links per file node */
	uint32_t hamt_threshold;  /* shard a directory whose estimate is strictly greater */
	uint32_t hamt_fanout;     /* 256 */
	hp_unixfs_estimation estimation;
} hp_unixfs_profile;

#define HP_UNIXFS_PROFILE_DEFAULT "unixfs-v1-2025"

/* The profile called name, or NULL. */
const hp_unixfs_profile *hp_unixfs_profile_find(const char *name);
/* The i-th profile (0, 1, 2), NULL past the end. */
const hp_unixfs_profile *hp_unixfs_profile_at(size_t i);

/* What a file or directory comes to. */
typedef struct hp_unixfs_node {
	hp_cid cid;
	uint64_t dag_size;  /* cumulative size of the DAG: kubo's "Size", a link's Tsize */
	uint64_t size;      /* content bytes: a file's length, the sum for a directory */
} hp_unixfs_node;

/* Called with every block made, children before parents. A code other
 * than HP_OK fails the file (or the tree). */
typedef hp_code hp_unixfs_block_fn(void *ud, const hp_cid *cid, const uint8_t *data, size_t n, hp_err *e);

/* ---- one file ---- */

typedef struct hp_unixfs_file hp_unixfs_file;

/* Start a file. blocks may be NULL. */
hp_code hp_unixfs_file_new(const hp_unixfs_profile *p, hp_unixfs_block_fn *blocks, void *ud,
			   hp_unixfs_file **f, hp_err *e);
/* The file's bytes, in order, in pieces of any size. */
hp_code hp_unixfs_file_update(hp_unixfs_file *f, const void *p, size_t n, hp_err *e);
/* The last byte was given: build the rest of the DAG. */
hp_code hp_unixfs_file_finish(hp_unixfs_file *f, hp_unixfs_node *out, hp_err *e);
void hp_unixfs_file_free(hp_unixfs_file *f);

/* The whole file in memory (tests, small inputs). */
hp_code hp_unixfs_file_mem(const hp_unixfs_profile *p, const void *data, size_t n,
			   hp_unixfs_block_fn *blocks, void *ud, hp_unixfs_node *out, hp_err *e);

/* ---- the digest sink ---- */

typedef struct hp_unixfs_sink hp_unixfs_sink;

typedef struct hp_unixfs_sink_opts {
	/* Every block, on the thread reading the file: with several hp_digest
	 * jobs, from several threads at once, blocks of different files
	 * interleaved. For a deterministic order (a CAR), read with jobs = 1:
	 * the blocks then come file by file in list order, each file's in the
	 * same order every time (helper threads do not change it). */
	hp_unixfs_block_fn *blocks;
	void *ud;
	/* Helper threads that hash leaves while the reading thread does the
	 * rest: 0 = one fewer than the online CPUs (none on one CPU), capped
	 * at 8; -1 = none. */
	int helpers;
} hp_unixfs_sink_opts;

#define HP_UNIXFS_SINK_OPTS_INIT { NULL, NULL, 0 }

/* o may be NULL (no block callback, automatic helpers). */
hp_code hp_unixfs_sink_new(const hp_unixfs_profile *p, const hp_unixfs_sink_opts *o, hp_unixfs_sink **s,
			   hp_err *e);
/* The hp_digest_sink to put in hp_digest_opts.sinks; valid as long as s. */
const hp_digest_sink *hp_unixfs_sink_digest(hp_unixfs_sink *s);
/* In hp_digest's result callback: the node of the file being delivered
 * (the sink's done runs just before the callback). false when the file
 * failed (r->err says why) or was not read by this sink. */
bool hp_unixfs_sink_result(const hp_unixfs_sink *s, hp_unixfs_node *out);
/* Stops the helper threads. */
void hp_unixfs_sink_free(hp_unixfs_sink *s);

/* ---- directories ---- */

typedef struct hp_unixfs_tree hp_unixfs_tree;

hp_code hp_unixfs_tree_new(const hp_unixfs_profile *p, hp_unixfs_tree **t, hp_err *e);
/* A file at path (relative to the tree's root, '/'-separated, no empty, "."
 * or ".." component; names are bytes). Its parent directories are created
 * as needed. */
hp_code hp_unixfs_tree_add_file(hp_unixfs_tree *t, const char *path, size_t n, const hp_unixfs_node *node,
				hp_err *e);
/* A directory at path ("" is the root), e.g. an empty one; adding one
 * twice is harmless. */
hp_code hp_unixfs_tree_add_dir(hp_unixfs_tree *t, const char *path, size_t n, hp_err *e);

/* Called for each directory once it is built: children before their
 * parent, siblings in name order, the root (path "", n 0) last. */
typedef hp_code hp_unixfs_dir_fn(void *ud, const char *path, size_t n, const hp_unixfs_node *node, hp_err *e);

/* Build every directory. blocks and dirs may be NULL; root gets the root
 * directory's node. A name used twice in one directory (a file and a
 * directory, or the same file twice) is HP_E_DATA naming it. The tree can
 * be built once. */
hp_code hp_unixfs_tree_build(hp_unixfs_tree *t, hp_unixfs_block_fn *blocks, void *bud, hp_unixfs_dir_fn *dirs,
			     void *dud, hp_unixfs_node *root, hp_err *e);
void hp_unixfs_tree_free(hp_unixfs_tree *t);

/* The directory whose one entry, name (one path segment, bytes), links to
 * child (its CID, Tsize child->dag_size), made under profile p exactly as
 * kubo makes it (`ipfs files mkdir` + `ipfs files cp`, or `ipfs add -w`
 * around the child): the "wrapper" that lets <wrapper>/name/... resolve on
 * a gateway (a torrent's IPFS web seed, docs/torrent-manifest.md). blocks
 * (may be NULL) gets its one block. HP_E_DATA for a bad name. */
hp_code hp_unixfs_wrap(const hp_unixfs_profile *p, const char *name, size_t n, const hp_unixfs_node *child,
		       hp_unixfs_block_fn *blocks, void *ud, hp_unixfs_node *out, hp_err *e);

/* ---- the UnixFS Data message ----
 *
 *   Type 1 (enum), Data 2 (bytes), filesize 3, blocksizes 4 (repeated,
 *   unpacked), hashType 5, fanout 6, mode 7 (uint32), mtime 8 (message:
 *   int64 seconds 1, fixed32 nanos 2). */

typedef enum hp_unixfs_type {
	HP_UNIXFS_RAW = 0,
	HP_UNIXFS_DIRECTORY = 1,
	HP_UNIXFS_FILE = 2,
	HP_UNIXFS_METADATA = 3,
	HP_UNIXFS_SYMLINK = 4,
	HP_UNIXFS_HAMT_SHARD = 5,
} hp_unixfs_type;

typedef struct hp_unixfs_data {
	hp_unixfs_type type;
	const uint8_t *data;        /* when has_data */
	size_t data_len;
	uint64_t filesize;          /* when has_filesize */
	const uint64_t *blocksizes; /* decoding: malloc'ed */
	size_t nblocksizes;
	uint64_t hash_type;         /* when has_hash_type */
	uint64_t fanout;            /* when has_fanout */
	uint32_t mode;              /* when has_mode */
	int64_t mtime_seconds;      /* when has_mtime */
	uint32_t mtime_nanos;       /* when has_mtime_nanos */
	bool has_data, has_filesize, has_hash_type, has_fanout, has_mode, has_mtime, has_mtime_nanos;
} hp_unixfs_data;

/* Append the encoded message (fields in field-number order, as Go writes
 * them) to out. */
hp_code hp_unixfs_data_encode(const hp_unixfs_data *d, hp_buf *out, hp_err *e);
/* Decode p[0..n) (Type required; known fields with their wire types, each
 * at most once except blocksizes, which may also come packed; minimal
 * varints; nanos below 10^9). Pointers point into p; free with
 * hp_unixfs_data_free. HP_E_DATA with the offset otherwise. */
hp_code hp_unixfs_data_decode(const uint8_t *p, size_t n, hp_unixfs_data *d, hp_err *e);
void hp_unixfs_data_free(hp_unixfs_data *d);

/* ---- the HAMT's hash ---- */

/* The first 64-bit half of MurmurHash3 x64_128 (seed 0) of p[0..n), as
 * UnixFS HAMTs use it (its 8 bytes big-endian give the buckets). */
uint64_t hp_murmur3_x64_64(const void *p, size_t n);

#endif
