/* hp_mkt: making .torrent files from files on disk in one read, and the
 * canonical torrent of a manifest (docs/torrent-manifest.md).
 *
 * The files are read once through the digest pipeline: BitTorrent piece
 * hashes (hp_btpieces), and on request the UnixFS CID of the content (for
 * the IPFS web seed) and the SHA-256 of each file (to check it against a
 * manifest), all from the same bytes. libtorrent then lays the torrent out
 * (hp_torrent_create).
 *
 * The canonical torrent of a manifest is a pure function of the manifest's
 * files (paths, sizes, content) and name:
 *   - hybrid (v1 + v2, BEP 47 pad files), piece length
 *     hp_mkt_default_piece_length (hp_bt_padded_piece_length of the files
 *     for more than one file), not private, no attributes;
 *   - exactly one file whose path has no '/': a single-file torrent named by
 *     that path; otherwise a multi-file torrent named by the manifest's name,
 *     the files at their manifest paths;
 *   - outside the info dict (no effect on the infohashes): no creation date,
 *     no comment, no creator; url-list = distribution.web_seeds; trackers
 *     as the caller gives them, else the tr= of torrent_magnet.
 * Anyone holding the manifest and the content rebuilds the same infohashes. */
#ifndef HP_MKT_H
#define HP_MKT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hp_buf.h"
#include "hp_digest.h"
#include "hp_err.h"
#include "hp_multiformats.h"
#include "hp_torrent.h"
#include "hp_unixfs.h"
#include "hp_walk.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct hp_mkt_opts {
	hp_torrent_flavour flavour;          /* 0: hybrid */
	uint64_t piece_length;               /* 0: hp_mkt_default_piece_length */
	bool is_private;
	bool attributes;                     /* attr "x" on executable files (changes the infohash) */
	const hp_torrent_tracker *trackers;  /* tiers in ascending order */
	size_t ntrackers;
	const char *const *web_seeds;        /* BEP 19 url-list, in this order */
	size_t nweb_seeds;
	const char *comment;                 /* NULL: none */
	const char *creator;                 /* NULL: none */
	int64_t creation_date;               /* 0: none */
	/* IPFS: with ipfs_profile, the UnixFS CID of the torrent's content (the
	 * file of a single-file torrent, else the directory of its files) is
	 * computed in the same read. ipfs_cid, when set, is the CID it must
	 * have (HP_E_INVALID otherwise); ipfs_gateway, when set, adds the web
	 * seed GATEWAY/ipfs/<wrapper>/ after web_seeds, where <wrapper> is the
	 * one-entry directory {torrent name -> content} (hp_unixfs_wrap). */
	const char *ipfs_profile;            /* NULL: no CID */
	const char *ipfs_cid;
	const char *ipfs_gateway;            /* needs ipfs_profile */
	unsigned jobs;                       /* reading threads; 0: one per CPU */
	bool light_info;                     /* r->info by hp_torrent_create_light: no files,
	                                      * the bytes not read back (infohashes and magnet
	                                      * are all hp_package needs) */
	bool no_bytes;                       /* with light_info: r->torrent stays empty */
	hp_digest_progress_fn *progress;     /* may be NULL */
	void *progress_ud;
	unsigned progress_ms;
} hp_mkt_opts;

typedef struct hp_mkt_result {
	hp_buf torrent;                      /* the .torrent's bytes */
	hp_torrent_info *info;               /* as read back (infohashes, magnet...) */
	bool canonical;                      /* hp_mkt_from_manifest: the canonical torrent */
	/* with ipfs_profile ("" / 0 otherwise) */
	char content_cid[HP_CID_MAX_TEXT];
	uint64_t content_dag_size;           /* its Tsize */
	char wrapper_cid[HP_CID_MAX_TEXT];   /* {name -> content} */
	char *ipfs_web_seed;                 /* with ipfs_gateway: GATEWAY/ipfs/<wrapper>/ */
} hp_mkt_result;

#define HP_MKT_RESULT_INIT { HP_BUF_INIT, NULL, false, { 0 }, 0, { 0 }, NULL }

void hp_mkt_result_free(hp_mkt_result *r);

/* Make a torrent of the regular files of l (every entry must be one; paths
 * are the files' paths in the torrent, '/'-separated, hp_relpath_check rules
 * unless single_file). l is sorted here into the flavour's order. name is
 * the torrent's name. HP_E_USAGE for a list that cannot be a torrent (no
 * bytes at all, a directory or stream, too many pieces), the file's error
 * for a file that cannot be read. */
hp_code hp_mkt_build(hp_walk_list *l, const char *name, bool single_file, const hp_mkt_opts *o, hp_mkt_result *r,
		     hp_err *e);

/* The canonical layout of a manifest whose files are paths[0..n): true for a
 * single-file torrent (n == 1, no '/' in the path); *name is then paths[0],
 * else manifest_name. */
bool hp_mkt_layout(const char *manifest_name, const char *const *paths, size_t n, const char **name);

/* The torrent of a validated manifest m, its files read under dir (NULL: the
 * current directory). Each file's size and SHA-256 (and, when the manifest
 * gives files[].cid and ipfs_profile is its distribution.ipfs_import, its CID)
 * are checked in the same read: HP_E_INVALID naming the first file that
 * differs, HP_E_NOINPUT for a missing or unreadable one. o may be NULL (the
 * canonical torrent). o's flavour, piece_length, is_private and
 * attributes other than 0 give a torrent that is not canonical
 * (r->canonical false). The web seeds are the manifest's
 * distribution.web_seeds, then o->web_seeds, then the IPFS one, without
 * repeats. The trackers are o's; when o gives none, those of the manifest's
 * torrent_magnet (its tr= parameters in order, each its own tier, as
 * libtorrent reads a magnet). When the result is canonical and the manifest records
 * torrent_infohash / torrent_infohash_v2, they must equal the result's
 * (HP_E_INVALID otherwise). ipfs_profile NULL with ipfs_gateway set uses
 * distribution.ipfs_import (else HP_UNIXFS_PROFILE_DEFAULT); with the
 * manifest's profile, the computed CID of a multi-file torrent's directory
 * must then equal distribution.ipfs_cid when the manifest has one (HP_E_DATA
 * otherwise: a package with empty directories; its wrapper cannot be made
 * from the files alone). */
hp_code hp_mkt_from_manifest(const json_t *m, const char *dir, const hp_mkt_opts *o, hp_mkt_result *r, hp_err *e);

/* The tr= parameters of a magnet link (a manifest's torrent_magnet),
 * percent-decoded, each its own tier (as libtorrent reads a magnet): *out
 * (n of them) and *buf, which holds the strings, are malloc'ed (NULL when
 * none, or when magnet is NULL or not "magnet:?..."). HP_E_DATA for a tr=
 * that is not a tracker URL (hp_torrent_tracker_url_ok, "%00" included). */
hp_code hp_mkt_magnet_trackers(const char *magnet, hp_torrent_tracker **out, size_t *n, char **buf, hp_err *e);

/* ---- the parts, for a caller with its own digest run (hp_scan) ----
 *
 *     hp_mkt_sort(flavour, &l);                  (before reading)
 *     hp_mkt_pieces_new(o, &l, &p, &e);          (piece length, pad files, limits)
 *     k += hp_mkt_pieces_sinks(p, sinks + k);    (up to HP_MKT_MAX_SINKS sinks: a
 *                                                 hybrid's v2 hashes are a sink apart,
 *                                                 a v1 torrent with a file of 64 MiB
 *                                                 or more has one v1 lane per CPU,
 *                                                 so that hp_digest may run them on
 *                                                 other threads; hp_digest_list over l,
 *                                                 window at most hp_mkt_pieces_window(p))
 *     hp_mkt_pieces_finish(p, &l, name, single, extra_seed, &r, &e);
 *
 * Directory entries in l are skipped. */
typedef struct hp_mkt_pieces hp_mkt_pieces;
void hp_mkt_sort(hp_torrent_flavour flavour, hp_walk_list *l);
/* The piece length when none is given: for a hybrid of more than one file
 * hp_bt_padded_piece_length (every file is padded to a piece), else
 * hp_bt_auto_piece_length(total), libtorrent's. */
uint64_t hp_mkt_default_piece_length(hp_torrent_flavour flavour, const hp_walk_list *l);
hp_code hp_mkt_pieces_new(const hp_mkt_opts *o, const hp_walk_list *l, hp_mkt_pieces **out, hp_err *e);
#define HP_MKT_MAX_SINKS 4
size_t hp_mkt_pieces_sinks(hp_mkt_pieces *p, hp_digest_sink out[HP_MKT_MAX_SINKS]);
size_t hp_mkt_pieces_window(const hp_mkt_pieces *p);
/* extra_seed (may be NULL) is added after o->web_seeds unless already there. */
hp_code hp_mkt_pieces_finish(hp_mkt_pieces *p, const hp_walk_list *l, const char *name, bool single_file,
			     const char *extra_seed, hp_mkt_result *r, hp_err *e);
void hp_mkt_pieces_free(hp_mkt_pieces *p);

/* "GATEWAY/ipfs/CID/" (one '/' between GATEWAY and "ipfs"), malloc'ed. */
char *hp_mkt_ipfs_web_seed(const char *gateway, const char *cid);

#ifdef __cplusplus
}
#endif

#endif
