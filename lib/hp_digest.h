/* hp_digest: the one-pass digest pipeline.
 *
 * Every file of a walk list is read once, in large blocks, and each block is
 * fed to every selected hash (OpenSSL EVP: SHA-256 with SHA-NI, SHA-1,
 * SHA-512) and to every registered sink (the plug-in point for UnixFS leaves,
 * BitTorrent v1 pieces and v2 merkle leaves). Files are read by worker
 * threads; results come back to the caller on the caller's thread, in list
 * order, through one callback. Memory is bounded by the number of workers
 * (one read buffer each) and a fixed window of results waiting to be
 * delivered, never by the number or size of the files.
 *
 * A file that cannot be read, or that changes size or modification time
 * while it is read, gets a per-file error in its result (r->err) and the run
 * carries on; see docs/digest.md. */
#ifndef HP_DIGEST_H
#define HP_DIGEST_H

#include <stdbool.h>
#include <stddef.h>
#include <pthread.h>
#include <stdint.h>

#include "hp_err.h"
#include "hp_walk.h"

/* Algorithms, as bits of a set. Their order here is the order of the
 * members of a record. */
typedef enum hp_digest_algo_id {
	HP_DIGEST_ID_SHA256 = 0,
	HP_DIGEST_ID_SHA1,
	HP_DIGEST_ID_SHA512,
	HP_DIGEST_NALGOS
} hp_digest_algo_id;

enum {
	HP_DIGEST_SHA256 = 1u << HP_DIGEST_ID_SHA256,
	HP_DIGEST_SHA1 = 1u << HP_DIGEST_ID_SHA1,
	HP_DIGEST_SHA512 = 1u << HP_DIGEST_ID_SHA512,
	HP_DIGEST_ALL = (1u << HP_DIGEST_NALGOS) - 1,
};

#define HP_DIGEST_MAX_SIZE 64               /* bytes of the longest digest (SHA-512) */
#define HP_DIGEST_BLOCK_DEFAULT (1u << 20)  /* read size: 1 MiB */
#define HP_DIGEST_UNKNOWN UINT64_MAX        /* a size or offset not known in advance */

/* "sha256", "sha1", "sha512" for an id; NULL past the end. */
const char *hp_digest_algo_name(hp_digest_algo_id id);
/* Digest length in bytes (32, 20, 64). */
size_t hp_digest_algo_size(hp_digest_algo_id id);

/* Parse a comma-separated list ("sha256,sha1") into a set. Names are
 * case-sensitive; repeats are allowed. An empty list or an unknown name
 * fails with HP_E_USAGE and a message that names it. */
hp_code hp_digest_parse_algos(const char *list, unsigned *algos, hp_err *e);

typedef struct hp_digest_result {
	uint64_t size;     /* bytes read */
	unsigned algos;    /* the algorithms computed: md[id] is valid for each bit set */
	uint8_t md[HP_DIGEST_NALGOS][HP_DIGEST_MAX_SIZE];
	hp_err err;        /* err.code != HP_OK: the file failed, its digests are not valid */
} hp_digest_result;

/* Lower-case hex of one digest; out needs 2 * HP_DIGEST_MAX_SIZE + 1 bytes. */
void hp_digest_hex(const hp_digest_result *r, hp_digest_algo_id id, char *out);

/* ---- sinks: more consumers of the same single read ----
 *
 * What a sink is told about the file being read. */
typedef struct hp_digest_file {
	size_t index;            /* the entry's index in the walk list */
	size_t seq;              /* its position among the files of the run (0, 1, 2, ...) */
	const char *path;        /* reported path (bytes, NUL-terminated) */
	size_t path_len;
	uint64_t expect_size;    /* size when listed; HP_DIGEST_UNKNOWN for stdin and FIFOs */
	/* Offset of the file's first byte in the concatenation, in list order, of
	 * every file of the run (what BitTorrent v1 pieces are cut from);
	 * HP_DIGEST_UNKNOWN once a stream of unknown size came before. A file
	 * whose size differs from expect_size fails, so the offsets of the files
	 * after it stay right. */
	uint64_t stream_offset;
	/* The run computes the file's SHA-256 (opts.algos has it): sha256 then
	 * points to it when the sinks' end is called (NULL before). A sink that
	 * would hash the whole file once more (a BitTorrent v2 leaf or a raw
	 * UnixFS leaf of a small file) keeps f from begin and takes it. */
	bool sha256_at_end;
	const uint8_t *sha256;
} hp_digest_file;

/* A sink. begin/update/end run on worker threads, several files at once
 * (ctx must only be read there, or be locked by the sink); done runs on the
 * caller's thread, once per file of the run, strictly in list order, so it
 * may change ctx freely: that is where per-file parts are joined up (a v1
 * piece spanning files, a directory's CID, a record field).
 *
 * A big file may be spread (opts.spread): its reader's helper threads run
 * the hashes and sinks side by side, and then one file's updates to a sink
 * may run on different threads, one at a time and in order (each
 * happens-before the next through a mutex); begin and end still run on the
 * thread that reads the file. Per-file state needs nothing more; a sink
 * must not keep thread-local state between its calls for one file.
 *
 *   begin   once per file, after it is opened and before any byte. *state
 *           is the sink's per-file state (may stay NULL).
 *   update  the file's bytes in order, in blocks of any size >= 1; offset is
 *           that of p[0] within the file. Block boundaries are arbitrary:
 *           a sink must give the same answer for any split.
 *   end     after the last byte, only when the whole file was read; size is
 *           the file's length.
 *   done    always, for every file of the run, in list order, with the
 *           file's result (r->err says whether it failed, and a sink may
 *           also set r->err itself through end's error). state is NULL
 *           when begin was not called. done must free state.
 *
 * A sink's begin/update/end returning an error fails that file (the error
 * goes into its result) and stops reading it. Any of the functions but done
 * may be NULL. */
typedef struct hp_digest_sink {
	const char *name;
	void *ctx;
	hp_code (*begin)(void *ctx, const hp_digest_file *f, void **state, hp_err *e);
	hp_code (*update)(void *ctx, void *state, const uint8_t *p, size_t n, uint64_t offset, hp_err *e);
	hp_code (*end)(void *ctx, void *state, uint64_t size, hp_err *e);
	void (*done)(void *ctx, void *state, const hp_digest_file *f, const hp_digest_result *r);
} hp_digest_sink;

#define HP_DIGEST_MAX_SINKS 8

/* Per-file sink states recycled between the workers that make them (begin)
 * and the caller's thread that is done with them (done), so that no block
 * is freed on a thread other than the one whose malloc arena it came from:
 * with 100,000 small files, free() of the workers' blocks on the caller's
 * thread waited on their arena locks for most of its time. Thread-safe. */
typedef struct hp_digest_states {
	pthread_mutex_t mu;
	void **v;
	size_t n, cap, size;
} hp_digest_states;

void hp_digest_states_init(hp_digest_states *p, size_t size);
void *hp_digest_states_get(hp_digest_states *p);   /* size zeroed bytes; NULL: no memory */
void hp_digest_states_put(hp_digest_states *p, void *s);
void hp_digest_states_destroy(hp_digest_states *p);

/* Called on the caller's thread with the bytes read so far and the total of
 * the listed file sizes (which grows while a walk is still listing), at most
 * every progress_ms milliseconds, and once at the end. */
typedef void hp_digest_progress_fn(void *ud, uint64_t done, uint64_t total);

/* Called for each file of the run (entries of type FILE, STDIN, STREAM; not
 * directories) in list order on the caller's thread. Return non-zero to stop
 * the run early (hp_digest_list then returns HP_OK after draining). */
typedef int hp_digest_result_fn(void *ud, const hp_walk_entry *en, size_t index, const hp_digest_result *r);

typedef struct hp_digest_opts {
	unsigned algos;              /* HP_DIGEST_* set; may be 0 when sinks do all the work */
	unsigned jobs;               /* reading threads (started as files appear, never more
	                              * than files); 0 = online CPUs; 1 = all on the caller's thread */
	size_t block_size;           /* bytes per read; 0 = HP_DIGEST_BLOCK_DEFAULT */
	const hp_digest_sink *sinks; /* nsinks of them, at most HP_DIGEST_MAX_SINKS */
	size_t nsinks;
	size_t window;               /* most files read ahead of the one being delivered;
	                              * 0 = max(256, 16 * jobs). Sinks that keep bytes per
	                              * file until done (v1 pieces) may want it small. */
	hp_digest_progress_fn *progress;  /* may be NULL */
	unsigned progress_ms;        /* 0 = 200 */
	void *ud;                    /* passed to progress */
	int spread;                  /* one file over several threads, when fewer files are
	                              * read than there are jobs: 0 = files of 4 blocks and
	                              * more (and streams); > 0 = every file, even without a
	                              * spare job (tests); < 0 = never */
} hp_digest_opts;

/* Read every file of a complete list l once and deliver the results in
 * list order to cb. Per-file failures are in each result; the return value
 * is for the run itself (bad options, no memory). */
hp_code hp_digest_list(const hp_walk_list *l, const hp_digest_opts *o, hp_digest_result_fn *cb, void *cb_ud,
		       hp_err *e);

/* The same, with reading overlapping the walk:
 *
 *     hp_digest_begin(&run, &l, &o, cb, ud, &e);
 *     for each argument: hp_walk_add(&l, arg, &e);   (files are read as they are listed)
 *     hp_digest_end(run, &e);                        (waits for the rest; frees the run)
 *
 * Files already in l are part of the run too. Between the two calls the
 * list may only be changed by hp_walk_add; o (and its sinks) must live until
 * hp_digest_end. cb and the sinks' done run on the caller's thread, in list
 * order: some from inside hp_walk_add, as results become ready, the rest in
 * hp_digest_end. hp_digest_end must be called even after an error. */
typedef struct hp_digest_run hp_digest_run;
hp_code hp_digest_begin(hp_digest_run **run, hp_walk_list *l, const hp_digest_opts *o, hp_digest_result_fn *cb,
			void *cb_ud, hp_err *e);
hp_code hp_digest_end(hp_digest_run *run, hp_err *e);

/* One descriptor, read to its end on the caller's thread, with the same
 * sinks (their done included, with index and stream_offset 0). what names
 * it in messages. The return value is r->err.code. */
hp_code hp_digest_fd(int fd, const char *what, const hp_digest_opts *o, hp_digest_result *r);

/* Bytes in memory (e.g. the SHA-256 of canonical JSON). */
hp_code hp_digest_mem(const void *p, size_t n, unsigned algos, hp_digest_result *r);

/* The number of online CPUs (at least 1). */
unsigned hp_digest_cpus(void);

#endif
