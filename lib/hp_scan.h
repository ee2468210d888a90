/* hp_scan: the file entries of a new manifest, from files and directories on
 * disk, in one read of each file: size, SHA-256, the UnixFS CID (and the
 * package's root directory CID), and the MIME type that libmagic finds in the
 * first bytes the digest pipeline reads. */
#ifndef HP_SCAN_H
#define HP_SCAN_H

#include <stdbool.h>

#include "hp_buf.h"
#include "hp_err.h"
#include "hp_digest.h"
#include "hp_mkt.h"
#include "hp_unixfs.h"
#include "hp_walk.h"

/* The files a scan found, in the order of the read (not sorted). Their
 * strings are NUL-terminated in pool, at the offsets given. */
typedef struct hp_scan_file {
	uint64_t size;
	size_t path, path_len;
	size_t cid;                  /* its text; 0: none (the pool starts with a NUL) */
	size_t mime;                 /* 0: none */
	uint8_t sha256[32];
} hp_scan_file;

typedef struct hp_scan_files {
	hp_scan_file *v;
	size_t n, cap;
	hp_buf pool;
} hp_scan_files;

#define HP_SCAN_FILES_INIT { NULL, 0, 0, HP_BUF_INIT }
void hp_scan_files_release(hp_scan_files *f);

typedef struct hp_scan_opts {
	const char *dir;             /* resolve paths relative to it (-C); NULL: the current directory */
	bool mime;                   /* detect MIME types */
	const char *profile;         /* UnixFS import profile for CIDs; NULL: no CIDs */
	unsigned jobs;               /* hashing threads; 0 = all cores */
	hp_walk_report_fn *report;   /* skipped links and special files; may be NULL */
	void *ud;                    /* passed to report and to progress */
	hp_digest_progress_fn *progress;  /* may be NULL */
	unsigned progress_ms;
	/* Every UnixFS block made (files, directories, the IPFS wrapper), e.g.
	 * for a CAR: read with jobs = 1 for a fixed order. May be NULL. */
	hp_unixfs_block_fn *blocks;
	void *blocks_ud;
	/* The package's canonical torrent (docs/torrent-manifest.md) from the
	 * same read, when torrent is not NULL: name is the manifest's name;
	 * torrent_opts (may be NULL) gives trackers, web seeds, and an
	 * ipfs_gateway for the IPFS web seed (a wrapper directory over the
	 * package root, or over the file of a single-file torrent; needs a
	 * profile, ignored without); flavour, piece length and the like must be
	 * 0 there for the canonical torrent. torrent->info stays NULL when every
	 * file is empty (nothing to share). */
	hp_mkt_result *torrent;
	const char *name;
	const hp_mkt_opts *torrent_opts;
	/* Called once every file is read, on a thread of its own while the
	 * directory tree and the torrent are finished (may be NULL): the files
	 * as hp_scan_paths gives them, for the caller to start on (it may
	 * reorder them). Its error fails the scan. */
	hp_code (*on_files)(void *ud, hp_scan_files *files, hp_err *e);
	void *on_files_ud;
} hp_scan_opts;


/* Append every regular file under paths to files: a directory's files
 * relative to it, a file by its base name; size, SHA-256, with a profile
 * the CID, with mime the MIME type. With a profile, root_cid
 * (HP_CID_MAX_TEXT bytes, may be NULL) gets the CID of the package: the
 * directory holding every listed file (and empty directory). A path that
 * cannot be a manifest path (not UTF-8, control characters...) is HP_E_DATA
 * naming it; an unreadable file is the error of that file. */
hp_code hp_scan_paths(const char *const *paths, size_t n, const hp_scan_opts *o, hp_scan_files *files,
		      char *root_cid, hp_err *e);
#endif
