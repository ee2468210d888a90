/* hp_fetch: the verified, resumable, multi-source fetch of a manifest's
 * files into a folder (see docs/fetch.md).
 *
 *   1. The manifest is verified first, exactly as hp-verify does (form,
 *      signature against the trusted keys, expiry, rollback): nothing is
 *      requested from anywhere before that.
 *   2. Files already in place are checked (size first, the SHA-256 only when
 *      the size is right) and skipped.
 *   3. Sources are tried in the order they were added; each is handed the
 *      files still missing and delivers bytes through the writer below.
 *      Files one source could not deliver are handed to the next.
 *   4. A writer puts a file's bytes in DIR/.hp-partial/<name>.part, never at
 *      the final path, refuses a byte past the manifest's size, and renames
 *      the file into place only when its size and SHA-256 match.
 *
 * This header is the callers' (tools, hp_plan); a source's side of the
 * contract (hp_fetch_source_ops, the writers) is hp_fetch_source.h.
 *
 * Sources are pluggable (hp_fetch_source_ops): the IPFS source
 * (hp_ipfs_fetch) streams a CAR and writes each file in order; a BitTorrent
 * source may write pieces at any offset (hp_fetch_out_pwrite) or let its
 * engine write the partial file itself (hp_fetch_partial_path +
 * hp_fetch_adopt, or hp_fetch_adopt_batch for many files). Every hp_fetch_*
 * function a source calls is thread-safe; different files may be written from different threads at once. */
#ifndef HP_FETCH_H
#define HP_FETCH_H

#include <jansson.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "hp_err.h"

/* The folder beside the files where partial files live. A manifest that
 * lists a path starting with it is refused. */
#define HP_FETCH_PARTIAL_DIR ".hp-partial"

typedef enum hp_fetch_status {
	HP_FETCH_MISSING = 0,  /* not in place yet */
	HP_FETCH_PRESENT,      /* was already in place with the right size and SHA-256 */
	HP_FETCH_FETCHED,      /* fetched, verified and renamed into place by this run */
	HP_FETCH_FAILED,       /* no source could deliver it */
} hp_fetch_status;

/* One file of the manifest, as sources see it (read-only). */
typedef struct hp_fetch_file {
	const char *path;        /* the manifest's path (checked: relative, clean, UTF-8) */
	size_t path_len;
	uint64_t size;
	uint8_t sha256[32];
	const json_t *entry;     /* the manifest's files[] entry (cid, mime_type...) */
} hp_fetch_file;

typedef struct hp_fetch hp_fetch;

/* ---- events: what the tool reports ---- */

typedef enum hp_fetch_event_kind {
	HP_FETCH_EV_FILE,      /* a file's final state: present, fetched, or failed */
	HP_FETCH_EV_PROGRESS,  /* bytes written so far (often) */
	HP_FETCH_EV_WARNING,   /* a source failed or misbehaved; the fetch goes on */
	HP_FETCH_EV_INTERRUPTIBLE, /* from now on a stop is (interruptible true) or is not
	                            * honoured by the running source (source) */
} hp_fetch_event_kind;

typedef struct hp_fetch_event {
	hp_fetch_event_kind kind;
	size_t index;              /* FILE: the file */
	const hp_fetch_file *file; /* FILE */
	hp_fetch_status status;    /* FILE */
	const char *source;        /* FILE: who delivered it (NULL for present); WARNING: the source */
	const hp_err *err;         /* FILE failed: why; WARNING: what */
	uint64_t done, total;      /* PROGRESS: bytes in place (present ones included) of total_size,
	                            * plus what the running source holds verified */
	uint64_t rate;             /* PROGRESS: bytes per second now, when the source says (else 0) */
	int peers;                 /* PROGRESS: the source's connections (BitTorrent), else -1 */
	bool interruptible;        /* INTERRUPTIBLE */
} hp_fetch_event;

/* Called on the thread that caused the event, one event at a time. */
typedef void hp_fetch_event_fn(void *ud, const hp_fetch_event *ev);

/* ---- opening ---- */

typedef struct hp_fetch_opts {
	const char *out_dir;                   /* created if missing (its parent must exist) */
	const char *const *trusted_key_files;  /* as hp_verify_opts */
	size_t n_trusted_key_files;
	bool allow_untrusted;
	const char *state_path;                /* rollback state; NULL: none */
	time_t now;                            /* for expiry; 0: now */
	int jobs;                              /* threads for hashing files in place; 0: one per CPU */
	hp_fetch_event_fn *on_event;           /* may be NULL */
	void *ud;
	const volatile sig_atomic_t *stop;     /* NULL, or set non-zero (by a signal handler) to
	                                        * stop: interruptible sources save their state
	                                        * and return, no further source is started */
} hp_fetch_opts;

/* Verify the manifest at path (hp_verify_manifest_load: form, signature
 * against the trusted keys, expiry, rollback), then open (or create) the
 * output folder and lock it against a second hp-fetch. On a verification
 * failure returns HP_E_INVALID (HP_E_DATA: malformed) and *report, when
 * non-NULL, gets hp-verify's report (also on success). */
hp_code hp_fetch_open(const char *path, const hp_fetch_opts *o, hp_fetch **f, json_t **report, hp_err *e);

/* As hp_fetch_open for a manifest in memory (a registry's); shown names it. */
hp_code hp_fetch_open_bytes(const char *data, size_t len, const char *shown, const hp_fetch_opts *o, hp_fetch **f,
			    json_t **report, hp_err *e);

/* As hp_fetch_open for a manifest the caller has verified itself (tests):
 * m is validated for form only, and borrowed for the life of f. */
hp_code hp_fetch_open_verified(json_t *m, const hp_fetch_opts *o, hp_fetch **f, hp_err *e);

/* Removes the partial files and the .hp-partial folder when it is empty,
 * releases the lock. NULL is fine. */
void hp_fetch_free(hp_fetch *f);

/* ---- what to fetch ---- */

const json_t *hp_fetch_manifest(const hp_fetch *f);
size_t hp_fetch_nfiles(const hp_fetch *f);
/* Files in bytewise order of their paths. */
const hp_fetch_file *hp_fetch_file_at(const hp_fetch *f, size_t i);
/* The index of the file at path[0..n), or SIZE_MAX. */
size_t hp_fetch_find(const hp_fetch *f, const char *path, size_t n);
/* Is path[0..n) a folder of the manifest (some file lies beneath it)? "" is. */
bool hp_fetch_is_dir(const hp_fetch *f, const char *path, size_t n);
uint64_t hp_fetch_total_size(const hp_fetch *f);
hp_fetch_status hp_fetch_file_status(const hp_fetch *f, size_t i);
/* Does file i still need a source (missing, and no writer open for it)? */
bool hp_fetch_wanted(const hp_fetch *f, size_t i);
/* How many files still need a source. */
size_t hp_fetch_nwanted(const hp_fetch *f);
/* The output folder, open (O_PATH-like, for *at calls beneath it). */
int hp_fetch_dirfd(const hp_fetch *f);
/* The .hp-partial folder, open; sources may put scratch files in it. */
int hp_fetch_partial_dirfd(const hp_fetch *f);
/* The .hp-partial folder as messages name it: "DIR/.hp-partial", DIR as
 * given in hp_fetch_opts.out_dir (so a user can find what a message names). */
const char *hp_fetch_partial_dir_shown(const hp_fetch *f);

/* Check the files already in place (size, then SHA-256 with o->jobs
 * threads) and report each one found as present. Anything that is not a
 * regular file at a final path (a folder, a link) is left alone and the
 * file stays missing; it fails at rename. */
hp_code hp_fetch_scan(hp_fetch *f, hp_err *e);

/* Create the folder path[0..n) (and its parents) beneath the output folder,
 * following no link: an empty folder of the package. */
hp_code hp_fetch_mkdir(hp_fetch *f, const char *path, size_t n, hp_err *e);

/* ---- running ---- */

typedef struct hp_fetch_source_ops hp_fetch_source_ops;

/* Hand the wanted files to each source in turn until none is wanted. Then
 * every file still missing is reported failed. Returns HP_OK when every
 * file is in place; else the most telling failure: a local one (a file
 * that cannot be put in place: HP_E_CANTCREAT, HP_E_IO), then HP_E_INVALID
 * when some content came but never verified, HP_E_TEMPFAIL when a source
 * timed out, HP_E_UNAVAILABLE when no source could be reached or had the
 * content (no source at all included). A local error a source returns
 * (I/O: a full disk included; memory) ends the run at once: it is the code
 * returned, with its message, and every file still missing is reported
 * failed with it. */
hp_code hp_fetch_run(hp_fetch *f, hp_err *e);

/* The summary: {"files", "present", "fetched", "failed", "bytes",
 * "sources": [{"source", "status", "error"?, ...stats}]}. New reference. */
json_t *hp_fetch_summary(const hp_fetch *f);

#endif
