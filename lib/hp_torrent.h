/* hp_torrent: the C API over libtorrent-rasterbar 2.0 (Debian 12: 2.0.8).
 *
 * lib/hp_torrent.cc is the only C++ file of the project and the only place
 * that includes libtorrent headers. Every entry point catches every
 * exception and turns it into an hp_err; libtorrent's error_code overloads
 * are used where they exist.
 *
 * Creating. The caller hashes the files itself, in the one pass of the
 * digest pipeline (hp_btpieces), and hands the piece hashes to
 * hp_torrent_create, which gives them to libtorrent's create_torrent
 * (set_hash / set_hash2) and lets it lay out the metainfo (file order, BEP 47
 * pad files, piece layers, the BEP 52 file tree): the files are read once,
 * and the result is what libtorrent itself would have made. The bytes are
 * then read back through hp_torrent_parse, so what is returned has passed
 * both our strict bencode reader and libtorrent's torrent_info.
 *
 * Reading. hp_torrent_parse checks the document with the strict bencode
 * parser (canonical form only), checks every file name, name and size as
 * raw data (libtorrent would silently rewrite a "../" in a name, we refuse
 * it), bounds sizes and piece counts, and only then asks libtorrent's
 * torrent_info. Every refusal is HP_E_DATA with a one-line message naming
 * the input.
 *
 * Sessions (seeding, fetching, resume data, alerts) will be added here. */
#ifndef HP_TORRENT_H
#define HP_TORRENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hp_buf.h"
#include "hp_err.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum hp_torrent_flavour {
	HP_TORRENT_V1 = 1,      /* BEP 3 */
	HP_TORRENT_V2 = 2,      /* BEP 52 only */
	HP_TORRENT_HYBRID = 3,  /* both, one set of files (BEP 47 pad files) */
} hp_torrent_flavour;

/* "v1", "v2", "hybrid"; NULL for anything else. */
const char *hp_torrent_flavour_name(hp_torrent_flavour f);

#define HP_TORRENT_MAX_BYTES (64u * 1024 * 1024)  /* the largest .torrent read */
#define HP_TORRENT_MAX_PIECES (1u << 21)          /* libtorrent's default limit */

typedef struct hp_torrent_tracker {
	const char *url;   /* http://, https:// or udp:// */
	unsigned tier;     /* 0 first; trackers of one tier are tried in any order */
} hp_torrent_tracker;

/* One file of a torrent to create. */
typedef struct hp_torrent_file_spec {
	const char *path;          /* relative to the torrent's root, '/'-separated
	                            * (hp_relpath_check rules); ignored for a single-file torrent */
	size_t path_len;
	uint64_t size;
	bool executable;           /* record attr "x" (only when asked: it changes the infohash) */
	const uint8_t *v2_pieces;  /* v2 and hybrid: the piece layer, 32 bytes per piece */
	size_t v2_npieces;         /* ceil(size / piece_length) */
} hp_torrent_file_spec;

typedef struct hp_torrent_spec {
	hp_torrent_flavour flavour;
	const char *name;                   /* the torrent's name: one path segment */
	bool single_file;                   /* one file that is the torrent (no directory) */
	uint64_t piece_length;              /* a power of two, 16 KiB to 128 MiB */
	const hp_torrent_file_spec *files;  /* in the torrent's order: hp_bt_cmp_v1 order for v1,
	                                     * hp_bt_cmp_v2 order for v2 and hybrid */
	size_t nfiles;
	const uint8_t *v1_pieces;           /* v1 and hybrid: 20 bytes per piece (hp_btpieces) */
	size_t v1_npieces;
	const hp_torrent_tracker *trackers; /* tiers in ascending order */
	size_t ntrackers;
	const char *const *web_seeds;       /* BEP 19 url-list: http:// or https:// */
	size_t nweb_seeds;
	bool is_private;
	const char *comment;                /* NULL: none */
	const char *creator;                /* "created by"; NULL: none */
	int64_t creation_date;              /* seconds since the epoch; 0: none (reproducible) */
} hp_torrent_spec;

/* A file as read from a torrent (pad files left out). */
typedef struct hp_torrent_file {
	char *path;        /* relative to the torrent's root; the name for a single-file torrent */
	uint64_t size;
	bool executable;
	char *saved_as;    /* NULL, or the path libtorrent saves it under: it renames a file
	                    * whose path equals another file's or directory's ignoring ASCII
	                    * case ("A" beside "a/b" becomes "A.1"), on every platform */
} hp_torrent_file;

typedef struct hp_torrent_tracker_entry {
	char *url;
	unsigned tier;
} hp_torrent_tracker_entry;

typedef struct hp_torrent_info {
	hp_torrent_flavour flavour;
	char *name;
	bool single_file;
	uint64_t piece_length;
	uint64_t num_pieces;
	uint64_t total_size;             /* of the files, pad files excluded */
	size_t nfiles;
	hp_torrent_file *files;          /* in the torrent's order */
	size_t nrenamed;                 /* files with a saved_as */
	bool has_v1, has_v2;
	uint8_t infohash_v1[20];         /* SHA-1 of the info dict */
	uint8_t infohash_v2[32];         /* SHA-256 of the info dict (full, not truncated) */
	char infohash_v1_hex[41];        /* "" when absent */
	char infohash_v2_hex[65];
	size_t ntrackers;
	hp_torrent_tracker_entry *trackers;
	size_t nweb_seeds;
	char **web_seeds;
	bool is_private;
	char *comment;                   /* NULL when absent */
	char *creator;
	int64_t creation_date;           /* 0 when absent */
	char *magnet;                    /* btih and/or btmh (1220 + 64 hex), dn, tr, ws */
} hp_torrent_info;

/* Make a .torrent: its bytes are appended to out, and *info (when info is
 * not NULL) describes it as read back. HP_E_USAGE for a bad spec (name,
 * paths, URLs, piece length, hash counts), HP_E_INTERNAL when libtorrent's
 * layout differs from the caller's (files not in the flavour's order). */
hp_code hp_torrent_create(const hp_torrent_spec *s, hp_buf *out, hp_torrent_info **info, hp_err *e);

/* Read a .torrent held in memory; what names it in messages. */
hp_code hp_torrent_parse(const void *data, size_t len, const char *what, hp_torrent_info **out, hp_err *e);
/* Read a .torrent file ("-" = stdin), at most HP_TORRENT_MAX_BYTES. */
hp_code hp_torrent_read(const char *path, hp_torrent_info **out, hp_err *e);
void hp_torrent_info_free(hp_torrent_info *ti);

/* Does this URL suit a tracker (http, https, udp) or a web seed (http,
 * https)? A scheme, a host, no whitespace or control characters. */
bool hp_torrent_tracker_url_ok(const char *url);
bool hp_torrent_web_seed_url_ok(const char *url);

#ifdef __cplusplus
}
#endif

#endif
