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
 * Checking. hp_torrent_check_hashes compares hashes computed by our own
 * pipeline (hp_btpieces over the content) with the torrent's, so a seeder
 * can refuse content that does not match before it adds the torrent in
 * libtorrent's seed_mode (which skips libtorrent's own check).
 *
 * Sessions. hp_bt_session wraps an lt::session set up for a controlled
 * network: TCP only (uTP off both ways), DHT, LSD, UPnP and NAT-PMP off,
 * several connections per IP allowed (many peers on 127.0.0.1). Torrents
 * are added for seeding (seed_mode) or downloading (with resume data),
 * peers are connected by address, alerts become hp_bt_event values, and
 * resume data is saved on request. hp_bt_session_free shuts down cleanly. */
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
	uint64_t offset;   /* where it starts in the torrent's bytes (pad files counted):
	                    * piece p holds bytes [p * piece_length, (p + 1) * piece_length) */
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

/* Make a .torrent: its bytes (hp_btwrite: libtorrent 2.0.8's layout, byte
 * for byte) are appended to out, and *info (when info is not NULL) describes
 * it as our reader and libtorrent's read it back. HP_E_USAGE for a bad spec
 * (name, paths, URLs, piece length, hash counts, files not in the flavour's
 * order, a path twice). */
hp_code hp_torrent_create(const hp_torrent_spec *s, hp_buf *out, hp_torrent_info **info, hp_err *e);

/* hp_torrent_create without reading the bytes back: *info is made from s
 * and has no files (nfiles 0, files NULL); everything else (infohashes,
 * magnet, trackers, web seeds, sizes) is as hp_torrent_create gives it. For
 * a caller that needs only those: 100,000 files read back cost about 0.3 s
 * and 50 MiB. out may be NULL: no bytes at all, the infohashes computed
 * through a small buffer (100,000 files: 20 MB less). */
hp_code hp_torrent_create_light(const hp_torrent_spec *s, hp_buf *out, hp_torrent_info **info, hp_err *e);

/* The same torrent made by libtorrent's create_torrent, the reference
 * hp_btwrite is tested against (tests/unit/test_btwrite.c, bench). */
hp_code hp_torrent_create_reference(const hp_torrent_spec *s, hp_buf *out, hp_err *e);

/* Read a .torrent held in memory; what names it in messages. */
hp_code hp_torrent_parse(const void *data, size_t len, const char *what, hp_torrent_info **out, hp_err *e);
/* Read a .torrent file ("-" = stdin), at most HP_TORRENT_MAX_BYTES. */
hp_code hp_torrent_read(const char *path, hp_torrent_info **out, hp_err *e);
void hp_torrent_info_free(hp_torrent_info *ti);

/* Does this URL suit a tracker (http, https, udp) or a web seed (http,
 * https)? A scheme, a host, no whitespace or control characters. */
bool hp_torrent_tracker_url_ok(const char *url);
bool hp_torrent_web_seed_url_ok(const char *url);

/* Compare content hashes with a torrent's (data, len: the .torrent). Files
 * are those of hp_torrent_info, in its order (pad files left out).
 *   v2 and hybrid: roots holds nfiles 32-byte "pieces root" values
 *   (hp_btpieces_file.root; ignored for empty files); v1 and v1_count are
 *   not used (the roots cover every byte).
 *   v1: v1 holds v1_count 20-byte piece hashes (hp_btpieces without pad);
 *   roots is not used. A v1 torrent with pad files is HP_E_USAGE.
 * *bad is the index of the first file that does not match, or (size_t)-1
 * when all do; *nbad how many files from it are suspect (v1: the non-empty
 * files the first bad piece covers, since v1 pieces span files; else 1).
 * HP_E_DATA for a torrent that does not read. */
hp_code hp_torrent_check_hashes(const void *data, size_t len, const uint8_t *v1, size_t v1_count,
				const uint8_t *roots, size_t nfiles, size_t *bad, size_t *nbad, hp_err *e);

/* ---- sessions ---- */

typedef struct hp_bt_session hp_bt_session;

/* How a session meets the network (docs/bittorrent.md, "Discovery"). The
 * zero value is what a client on the internet needs, as qBittorrent,
 * Transmission and libtorrent run by default: the DHT (BEP 5) bootstrapped
 * from the public routers, uTP beside TCP (accepted; dialling is TCP: see
 * no_utp), peer exchange (BEP 11); local peer discovery and port mapping
 * are asked for. A torrent's private flag
 * still turns the DHT and peer exchange off for it (libtorrent). */
typedef struct hp_bt_net {
	bool no_dht;                        /* no DHT: peers from trackers, web seeds, given peers */
	const char *const *dht_bootstrap;   /* "HOST:PORT" nodes; none: HP_BT_DHT_ROUTERS. When every
	                                     * one is a loopback address the DHT is a private one on
	                                     * this machine, whose nodes all share one IP: libtorrent's
	                                     * one-node-per-IP rules are relaxed for it, and a session
	                                     * asked to listen on 0.0.0.0:PORT listens on
	                                     * 127.0.0.1:PORT (libtorrent runs no DHT on the loopback
	                                     * socket it finds in 0.0.0.0) */
	size_t ndht_bootstrap;
	bool no_utp;                        /* no uTP at all (by default uTP is accepted from
	                                     * peers that dial it; this side dials TCP) */
	bool lsd;                           /* local service discovery (BEP 14 multicast) */
	bool port_mapping;                  /* UPnP and NAT-PMP on the router */
	const char *dht_state;              /* the DHT's nodes and id, read at start and written by
	                                     * hp_bt_session_free (atomically); NULL: none kept */
	long timeout_ms;                    /* a caller's silence limit: a tracker or web seed may
	                                     * stay silent half of it (connect, answer); 0: 30 s */
} hp_bt_net;

#define HP_BT_DHT_ROUTERS \
	"dht.libtorrent.org:25401,router.bittorrent.com:6881,dht.transmissionbt.com:6881,router.utorrent.com:6881"

/* Start a session listening on listen ("IP:PORT", PORT 0 = any; NULL =
 * "127.0.0.1:0"), on the network as net says (NULL: the zero value). The
 * listening itself is reported by an event. HP_E_USAGE for a bootstrap node
 * that is not HOST:PORT. An unreadable DHT state file is ignored (a new
 * DHT id, bootstrapped again). */
hp_code hp_bt_session_new(const char *listen, const hp_bt_net *net, hp_bt_session **out, hp_err *e);
/* Stop every torrent, close every connection and wait for libtorrent to
 * finish (disk writes included); first the DHT state is saved when the
 * session keeps one. NULL is fine. */
void hp_bt_session_free(hp_bt_session *s);
/* The port listened on (0 before listening succeeded). */
int hp_bt_session_listen_port(hp_bt_session *s);

/* Limit the session's rates, in bytes per second (0: no limit; at most
 * INT_MAX). Once a limit is set it applies to every peer and web seed,
 * loopback and local networks included (libtorrent exempts those by
 * default: its "local" peer class). Call it before adding torrents: a
 * connection's class is fixed when it is made. */
hp_code hp_bt_session_set_rate_limits(hp_bt_session *s, uint64_t upload, uint64_t download, hp_err *e);

typedef struct hp_bt_add {
	const void *torrent;     /* the .torrent's bytes */
	size_t torrent_len;
	const char *save_path;   /* the folder that holds NAME (multi-file) or the file NAME */
	bool flat;               /* multi-file: the files are at save_path/PATH, not
	                          * save_path/NAME/PATH (a manifest's content folder) */
	bool seed_mode;          /* the caller has checked the content (hp_torrent_check_hashes) */
	bool no_trackers;        /* do not announce to the torrent's trackers */
	const char *const *trackers; /* announce to these too (after no_trackers) */
	size_t ntrackers;
	bool no_web_seeds;       /* do not use its web seeds */
	bool sequential;         /* ask for pieces in order (libtorrent's sequential_download) */
	const void *resume;      /* resume data (hp_bt_session_save_resume); NULL: none */
	size_t resume_len;
	const uint8_t *file_priorities;  /* NULL: every file; else one per file of
	                                  * hp_torrent_info (pad files left out):
	                                  * 0 skip, 1 to 7 download */
	size_t nfile_priorities;
} hp_bt_add;

/* Add a torrent; *id names it in the calls below and in events. */
hp_code hp_bt_session_add(hp_bt_session *s, const hp_bt_add *a, int *id, hp_err *e);

/* Look torrent id up in the DHT and announce it there (get_peers, then
 * announce_peer), now: the session does so by itself when its DHT has
 * bootstrapped, then every 15 minutes. A no-op without a DHT. */
hp_code hp_bt_session_dht_announce(hp_bt_session *s, int id, hp_err *e);

/* HOST:PORT (a name, an IPv4 address or [IPv6]) as at most max "IP:PORT"
 * addresses (IPv6 in brackets), looked up with the system's resolver (its
 * own time limits apply); the count, 0 when it does not resolve. */
#define HP_BT_ADDR_MAX 64
size_t hp_bt_resolve(const char *hostport, char out[][HP_BT_ADDR_MAX], size_t max);

/* Connect torrent id to a peer "IP:PORT" (IPv4 or [IPv6]:PORT; no names). A
 * peer already connected is left alone. HP_E_USAGE for a bad address. */
hp_code hp_bt_session_connect_peer(hp_bt_session *s, int id, const char *addr, hp_err *e);

typedef struct hp_bt_status {
	double progress;          /* 0 to 1 */
	uint64_t total_done;      /* bytes of the wanted files we have (verified pieces) */
	uint64_t total_wanted;
	uint64_t uploaded;        /* payload bytes sent since added */
	uint64_t downloaded;      /* payload bytes received since added */
	uint64_t download_rate;   /* payload bytes per second, now */
	uint64_t upload_rate;
	int peers;                /* connected peers, web seeds included */
	uint64_t pieces;          /* verified pieces (of the whole torrent) */
	bool finished;            /* every wanted piece is here */
	bool checking;            /* checking resume data or the files on disk */
	bool seeding;
	bool has_error;
	char error[256];          /* when has_error */
} hp_bt_status;

hp_code hp_bt_session_status(hp_bt_session *s, int id, hp_bt_status *st, hp_err *e);

/* Which pieces torrent id has verified: have[p] = 1 for each such piece
 * p < n, else 0 (n: hp_torrent_info.num_pieces; past the torrent's pieces,
 * 0). A verified piece's bytes are in its files (libtorrent writes before
 * it checks) and libtorrent never writes them again. */
hp_code hp_bt_session_pieces(hp_bt_session *s, int id, uint8_t *have, size_t n, hp_err *e);

/* Ask libtorrent to write out what it holds of torrent id and close its
 * files; an HP_BT_EV_FLUSHED event says when that is done. A piece verified
 * before the call can be in libtorrent's buffers, not yet in its file: once
 * the event came, it is in the file. */
hp_code hp_bt_session_flush(hp_bt_session *s, int id, hp_err *e);

typedef enum hp_bt_event_kind {
	HP_BT_EV_LISTENING = 1,   /* port */
	HP_BT_EV_LISTEN_FAILED,   /* msg */
	HP_BT_EV_PEER_CONNECTED,  /* torrent, peer */
	HP_BT_EV_PEER_DISCONNECTED, /* torrent, peer, msg */
	HP_BT_EV_FINISHED,        /* torrent: every piece is here */
	HP_BT_EV_TRACKER_REPLY,   /* torrent, msg (the tracker URL), count (peers) */
	HP_BT_EV_TRACKER_ERROR,   /* torrent, msg */
	HP_BT_EV_HASH_FAILED,     /* torrent, count (the piece): a peer sent bad data */
	HP_BT_EV_ERROR,           /* torrent (-1: the session), msg: a file or torrent error */
	HP_BT_EV_WEB_SEED_ERROR,  /* torrent, msg ("URL: what went wrong") */
	HP_BT_EV_DHT_BOOTSTRAP,   /* the DHT has found its first nodes */
	HP_BT_EV_DHT_REPLY,       /* torrent, count (peers): a DHT lookup for it ended */
	HP_BT_EV_FLUSHED,         /* torrent: a hp_bt_session_flush is done (libtorrent also
	                           * sends one of its own when a check of the files ends) */
} hp_bt_event_kind;

typedef struct hp_bt_event {
	hp_bt_event_kind kind;
	int torrent;              /* -1 when not about a torrent */
	int port;
	long long count;
	char peer[64];            /* "IP:PORT" */
	char msg[512];
} hp_bt_event;

typedef void hp_bt_event_fn(void *ud, const hp_bt_event *ev);

/* Wait up to wait_ms for alerts, then hand each as an event to fn. */
hp_code hp_bt_session_poll(hp_bt_session *s, int wait_ms, hp_bt_event_fn *fn, void *ud, hp_err *e);

/* Add the torrent a magnet link names (BEP 9: its info dictionary comes
 * from peers; the magnet's trackers and x.pe peers are used) to download
 * nothing yet: hp_bt_session_metadata says when the info dictionary is
 * here. HP_E_USAGE for a link libtorrent cannot read. */
hp_code hp_bt_session_add_magnet(hp_bt_session *s, const char *uri, const char *save_path, int *id, hp_err *e);

/* Once torrent id has its info dictionary (*have true): a .torrent of it in
 * out (its info dictionary as received, checked by libtorrent against the
 * infohash, and the magnet's trackers as announce-list). */
hp_code hp_bt_session_metadata(hp_bt_session *s, int id, bool *have, hp_buf *out, hp_err *e);

/* Ask torrent id for its resume data and wait up to wait_ms for it; the
 * bytes (bencoded, with the info dict) are appended to out. Events that
 * arrive meanwhile are kept for the next poll. HP_E_TEMPFAIL on time-out. */
hp_code hp_bt_session_save_resume(hp_bt_session *s, int id, int wait_ms, hp_buf *out, hp_err *e);

#ifdef __cplusplus
}
#endif

#endif
