/* hp_fetch_source: the source's side of hp_fetch (docs/fetch.md §3): the
 * hp_fetch_source_ops contract, the writers that put a file's bytes in place
 * only once they verify, and what a source asks of the fetch. Callers of
 * hp_fetch need only hp_fetch.h. Every function here is thread-safe;
 * different files may be written from different threads at once. */
#ifndef HP_FETCH_SOURCE_H
#define HP_FETCH_SOURCE_H

#include <openssl/types.h>

#include "hp_fetch.h"

/* ---- sources ---- */

struct hp_fetch_source_ops {
	const char *kind;  /* "gateway", "kubo", "bittorrent"... */
	/* Deliver as many of the wanted files (hp_fetch_wanted) as it can,
	 * through hp_fetch_out_*. Returns HP_OK when it delivered all it was
	 * asked for; otherwise the error that stopped it (files it did not
	 * deliver go to the next source). A local error from a writer
	 * (HP_E_IO, HP_E_NOMEM, HP_E_INTERNAL; HP_E_CANTCREAT from
	 * hp_fetch_out_open) must be returned as is: it ends the whole fetch.
	 * HP_E_CANTCREAT from a commit (the file cannot be put in place: a
	 * link or a folder in the way) fails that file only, for good; the
	 * source goes on with the others. A source reports content that failed
	 * verification as HP_E_INVALID, a source that is down or lacks the
	 * content as HP_E_UNAVAILABLE, a timeout as HP_E_TEMPFAIL. */
	hp_code (*run)(void *self, hp_fetch *f, hp_err *e);
	/* Members to add to the source's entry of the summary (requests, bytes
	 * received...); may be NULL. */
	void (*stats)(void *self, json_t *out);
	void (*free)(void *self);
};

/* Append a source; f takes self over (ops->free at hp_fetch_free). name
 * (copied) names it in records and messages: "gateway http://127.0.0.1:8080". */
hp_code hp_fetch_add_source(hp_fetch *f, const hp_fetch_source_ops *ops, void *self, const char *name,
			    hp_err *e);

/* Has the caller asked to stop (hp_fetch_opts.stop)? */
bool hp_fetch_stopping(const hp_fetch *f);
/* A running source says it honours a stop from now on: its run returns
 * soon after hp_fetch_stopping() turns true, with what it needs to resume
 * saved (HP_E_TEMPFAIL "interrupted"). Emits HP_FETCH_EV_INTERRUPTIBLE;
 * hp_fetch_run sets it back to false when the source returns. */
void hp_fetch_set_interruptible(hp_fetch *f, bool on);

/* For a source whose engine keeps verified bytes out of the writers (a
 * BitTorrent session): bytes of the wanted files it holds verified, its
 * rate (bytes/s) and connections. The bytes count in progress events until
 * the source reports again or returns; an event is emitted. */
void hp_fetch_source_progress(hp_fetch *f, uint64_t bytes, uint64_t rate, int peers);

/* ---- writing a file (for sources) ---- */

typedef struct hp_fetch_out hp_fetch_out;

/* Start file i: a new, empty partial file. HP_E_USAGE when the file is not
 * wanted (in place, or another writer has it). */
hp_code hp_fetch_out_open(hp_fetch *f, size_t i, hp_fetch_out **w, hp_err *e);
/* The next bytes of the file, in order; hashed as they are written. Past the
 * manifest's size: HP_E_INVALID ("'a/b' is longer than the manifest's 10
 * bytes"), nothing more is written. */
hp_code hp_fetch_out_write(hp_fetch_out *w, const void *p, size_t n, hp_err *e);
/* Bytes at any offset (pieces in any order): within the manifest's size
 * (HP_E_INVALID otherwise). Once used, the SHA-256 is computed at commit by
 * reading the partial file back. */
hp_code hp_fetch_out_pwrite(hp_fetch_out *w, uint64_t off, const void *p, size_t n, hp_err *e);
/* Read back bytes already written (off + n <= bytes written so far, for
 * sequential writers): a source rebuilding a block it saw before. */
hp_code hp_fetch_out_pread(hp_fetch_out *w, uint64_t off, void *p, size_t n, hp_err *e);
/* Bytes written in order so far. */
uint64_t hp_fetch_out_written(const hp_fetch_out *w);
size_t hp_fetch_out_index(const hp_fetch_out *w);
/* Check size and SHA-256 against the manifest; on a match fsync, create the
 * parent folders (following no link) and rename into place, report the file
 * fetched. A mismatch is HP_E_INVALID and the partial file is removed; a
 * file that cannot be put in place (HP_E_CANTCREAT, HP_E_IO) fails for good
 * (no other source is asked for it). Frees w whatever the outcome. */
hp_code hp_fetch_out_commit(hp_fetch_out *w, hp_err *e);
/* Drop the partial file; why (may be NULL) is remembered as the file's
 * failure unless a later source delivers it. Frees w. NULL is fine. */
void hp_fetch_out_abort(hp_fetch_out *w, const hp_err *why);

/* Remember why a source could not deliver file i (no writer was opened). */
void hp_fetch_note_failure(hp_fetch *f, size_t i, const hp_err *why);

/* Read bytes of file i at its final path (it is present or fetched), for a
 * source rebuilding a block from a file already in place. */
hp_code hp_fetch_read_final(hp_fetch *f, size_t i, uint64_t off, void *p, size_t n, hp_err *e);

/* For engines that write a file themselves: the partial file's path for
 * file i (relative to hp_fetch_partial_dirfd; out needs 80 bytes). The
 * engine writes it, then hp_fetch_adopt checks size and SHA-256 and renames
 * it into place (or removes it: HP_E_INVALID). */
void hp_fetch_partial_name(const hp_fetch *f, size_t i, char out[80]);

/* Remove name beneath the partial folder and everything in it, following
 * no link: a source's scratch files. (hp_fetch_free removes everything in
 * the partial folder once every file is in place.) */
void hp_fetch_remove_partial(hp_fetch *f, const char *name);
hp_code hp_fetch_adopt(hp_fetch *f, size_t i, hp_err *e);

/* Feed bytes [off, off + n) of fd to ctx (an initialised SHA-256 context),
 * reading through buf (bufsz bytes). HP_E_INVALID when the file ends first
 * (what names it), HP_E_IO on a read error. */
hp_code hp_fetch_sha256_range(EVP_MD_CTX *ctx, int fd, uint64_t off, uint64_t n, uint8_t *buf, size_t bufsz,
			      const char *what, hp_err *e);

/* hp_fetch_adopt for n files at once, with one durability step for all
 * instead of two fsyncs per file: every partial file idx[k] is checked
 * (size, then SHA-256, on opts.jobs threads; sha256, when not NULL, holds
 * for each file NULL or the SHA-256 the source took of the partial file's
 * bytes once they were final, and that file is not read again), then the output file system
 * is synced once (syncfs; where that fails, a fsync of each file), then the
 * files are renamed into place, then each distinct folder they went to is
 * synced once. No file reaches its final path before its bytes are on disk
 * and verified; a file that does not match is removed and never renamed.
 * rcs[k] (rcs may be NULL) gets what hp_fetch_adopt would have returned for
 * idx[k], and failures are remembered and reported as it does. The bytes of
 * the files claimed leave the source's held count (hp_fetch_source_progress).
 * Returns HP_OK, or the first local error among the files (HP_E_IO,
 * HP_E_NOMEM, HP_E_INTERNAL: e gets it), or HP_E_NOMEM for the batch. */
hp_code hp_fetch_adopt_batch(hp_fetch *f, const size_t *idx, const uint8_t *const *sha256, size_t n, hp_code *rcs,
			     hp_err *e);

#endif
