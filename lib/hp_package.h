/* hp_package: a new package from files on disk, in one read of each file:
 * the unsigned manifest (SHA-256, IPFS CIDs, MIME types, the canonical
 * torrent's infohashes and magnet), and on request its CARv1 and .torrent
 * files. The engine behind `hp-manifest create` and `hybrid-p2p publish`.
 *
 *     hp_package_opts o = { .meta = {.name = "ds", .version = "1"}, .paths = p, .npaths = 1,
 *                           .mime = true, .profile = HP_UNIXFS_PROFILE_DEFAULT, .torrent = true };
 *     hp_package pkg = HP_PACKAGE_INIT;
 *     hp_package_create(&o, &pkg, &e);   (pkg.text, pkg.torrent; pkg.manifest with o.json)
 *     hp_package_release(&pkg);
 *
 * Outputs (CAR, .torrent) are written atomically, only once the manifest
 * built from the same read is valid. */
#ifndef HP_PACKAGE_H
#define HP_PACKAGE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hp_buf.h"
#include "hp_err.h"
#include "hp_manifest.h"
#include "hp_multiformats.h"
#include "hp_torrent.h"

typedef enum hp_package_event_kind {
	HP_PACKAGE_EV_WARNING,   /* a link or special file skipped, no torrent for empty files */
	HP_PACKAGE_EV_PROGRESS,  /* bytes read of the total */
} hp_package_event_kind;

typedef struct hp_package_event {
	hp_package_event_kind kind;
	const hp_err *warning;   /* WARNING */
	uint64_t done, total;    /* PROGRESS */
} hp_package_event;

typedef void hp_package_event_fn(void *ud, const hp_package_event *ev);

typedef struct hp_package_opts {
	hp_manifest_meta meta;              /* name and version needed; ipfs_cid, ipfs_import are set here */
	const char *const *paths;           /* a folder gives its files relative to it, a file its base name */
	size_t npaths;
	const char *dir;                    /* paths are relative to it; NULL: the current folder */
	bool mime;                          /* detect MIME types */
	const char *profile;                /* UnixFS profile of the CIDs; NULL: no CIDs */
	unsigned jobs;                      /* reading threads; 0: one per CPU */
	bool torrent;                       /* the canonical torrent's fields in the manifest */
	const hp_torrent_tracker *trackers; /* its trackers (tiers ascending) */
	size_t ntrackers;
	const char *const *announce;        /* HOST:PORT where the publisher seeds: each one an
	                                     * x.pe (BEP 9) of the manifest's magnet, so that a
	                                     * fetcher finds a peer with no tracker or DHT */
	size_t nannounce;
	const char *car_path;               /* write a CARv1 of every block here; NULL: none */
	bool car_one_root;                  /* the CAR's root is the package alone (no wrapper
	                                     * root with an ipfs_gateway): what a pin import needs */
	const char *torrent_path;           /* write the .torrent here; NULL: none */
	bool torrent_bytes;                 /* hp_package.torrent gets the .torrent's bytes (with
	                                     * torrent_path or this only: 100,000 files, 20 MB) */
	hp_package_event_fn *on_event;      /* may be NULL */
	void *ud;
	unsigned progress_ms;               /* interval of progress events; 0: none */
	bool json;                          /* also the manifest's jansson tree (hp_package.manifest) */
} hp_package_opts;

typedef struct hp_package {
	hp_buf text;                        /* the manifest, unsigned and valid, as hp-manifest writes
	                                     * it (json_dumps(JSON_INDENT(2)), no newline at the end) */
	json_t *manifest;                   /* the same, parsed: with hp_package_opts.json only (100,000
	                                     * files: about 100 MiB more) */
	hp_buf torrent;                     /* the .torrent's bytes (torrent_path or torrent_bytes);
	                                     * empty when every file is empty */
	char root_cid[HP_CID_MAX_TEXT];     /* the package's CID ("" without a profile) */
} hp_package;

#define HP_PACKAGE_INIT { HP_BUF_INIT, NULL, HP_BUF_INIT, { 0 } }

/* Read the files once and build the package. HP_E_USAGE for options that
 * cannot go together (a CAR without CIDs, a URL that is not http(s)),
 * HP_E_DATA for a path that cannot be a manifest path or a package with no
 * torrent for torrent_path (every file empty), a file's own error for a file
 * that cannot be read; nothing is written then. */
hp_code hp_package_create(const hp_package_opts *o, hp_package *out, hp_err *e);

/* An unsigned manifest from hp-hash records (JSON Lines, schemas/
 * hp-hash.record.schema.json) in data[0..len); where names the input in
 * messages ("<stdin>": "<stdin>:3: ..."). */
hp_code hp_package_from_records(const hp_manifest_meta *meta, const char *data, size_t len, const char *where,
				json_t **manifest, hp_err *e);

void hp_package_release(hp_package *p);

#endif
