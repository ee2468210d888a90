/* hp_bt_fetch: the BitTorrent source of hp_fetch (see docs/fetch.md, "3.
 * Sources").
 *
 * The torrent's files are matched to the manifest's by path: a multi-file
 * torrent's paths below its name, or a single-file torrent's name, must be
 * the manifest's paths, with the same sizes. Only wanted files are
 * downloaded (libtorrent file priorities; the others are skipped), by
 * libtorrent, into DIR/.hp-partial/bt-<infohash>/, which keeps libtorrent's
 * own layout and resume data (<infohash>.resume beside it) so an
 * interrupted fetch resumes with its verified pieces. When the torrent has
 * every wanted piece (or the source gives up) the session is shut down
 * (every write flushed), and each complete file is moved to its hp_fetch
 * partial name and handed to hp_fetch_adopt: the manifest's size and
 * SHA-256 decide, and only then is it renamed into place. Peers come from
 * the torrent's trackers and web seeds and from opts.peers.
 *
 * Resume data is saved every few seconds while new pieces arrive, and when
 * the fetch stops (hp_fetch_stopping: SIGTERM/SIGINT in hp-fetch), so a
 * run that is killed keeps the pieces verified up to the last save, one
 * that is stopped keeps them all. It lists only pieces that passed their
 * hash check; without it (a run killed before the first save) libtorrent
 * checks whatever is on disk against the piece hashes first. After a hash
 * failure, once no opts.peers peer is connected or nothing new came for half
 * the timeout, the session is replaced by a new one from the resume data, as
 * a new run would be: libtorrent 2.0.8 can ban an honest peer that shared a
 * bad piece, and never dials it again (docs/interop.md). Progress (verified
 * bytes, rate, connections) goes to hp_fetch_source_progress. */
#ifndef HP_BT_FETCH_H
#define HP_BT_FETCH_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hp_err.h"
#include "hp_fetch.h"
#include "hp_torrent.h"

/* The order pieces are asked for in. In order, each file's SHA-256 is
 * taken as its pieces come, so nothing is read again at the end; but with
 * many small files libtorrent's in-order picker is slower than its
 * rarest-first one, and rarest-first is kinder to a swarm of downloaders.
 * AUTO: in order when a wanted file is 64 MiB or more. */
typedef enum hp_bt_piece_order {
	HP_BT_ORDER_AUTO = 0,
	HP_BT_ORDER_IN_ORDER,
	HP_BT_ORDER_RAREST_FIRST,
} hp_bt_piece_order;

typedef struct hp_bt_fetch_opts {
	const char *torrent;            /* path of the .torrent ("-": stdin); with torrent_data, its
	                                 * name; or a magnet link ("magnet:?xt=..."): the torrent's
	                                 * info dictionary is then asked of peers first (BEP 9) */
	const void *torrent_data;       /* the .torrent in memory (copied), or NULL */
	size_t torrent_len;
	const char *listen;             /* "IP:PORT"; NULL: 0.0.0.0:0 */
	const char *const *peers;       /* "IP:PORT" to connect to */
	size_t npeers;
	const char *const *trackers;    /* announce URLs besides the torrent's (http, https, udp) */
	size_t ntrackers;
	const char *const *hint_peers;  /* "HOST:PORT" the package names (its magnet's x.pe): a
	                                 * name is looked up, one that does not resolve or does
	                                 * not answer is no error; tried like peers */
	size_t nhint_peers;
	long timeout_ms;                /* give up after this long without a new verified byte
	                                 * (checking the disk not counted); 0: 30 s */
	uint64_t download_rate;         /* bytes per second, 0: no limit (every peer, loopback too) */
	uint32_t min_rate;              /* verified bytes per second the source must average over
	                                 * each timeout_ms span, else the next source is tried (its
	                                 * verified pieces kept); 0: 1024, as HTTP's floor */
	long deadline_ms;               /* the whole source over this long after it starts
	                                 * (metadata, checking and download); 0: no limit */
	bool no_web_seeds;              /* do not use the torrent's web seeds (BEP 19 url-list) */
	hp_bt_piece_order piece_order;
	hp_bt_net net;                  /* DHT, uTP...: the zero value is the internet's defaults
	                                 * (its timeout_ms: this timeout_ms) */
} hp_bt_fetch_opts;

/* The manifest's signed infohashes bind the torrent used (v1, v2: its
 * infohashes in hex, "" when absent; what names it in messages): each one
 * both have must be equal, and one at least must be there to compare, else
 * HP_E_INVALID. A manifest that records none binds nothing. */
hp_code hp_bt_check_binding(const json_t *manifest, const char *v1, const char *v2, const char *what, hp_err *e);

/* The x.pe values of a magnet link (BEP 9: HOST:PORT peers), percent-
 * decoded, at most max; the count. */
#define HP_BT_PEER_MAX 280
size_t hp_bt_magnet_peers(const char *magnet, char peers[][HP_BT_PEER_MAX], size_t max);

/* Read the torrent and add the source to f. HP_E_DATA for a bad .torrent,
 * HP_E_NOINPUT when it cannot be read, HP_E_USAGE for a bad peer, tracker
 * or DHT bootstrap node.
 *
 * When the run ends without a single connection (no peer, no web seed), the
 * source fails with HP_E_UNAVAILABLE and one line saying what was tried
 * (trackers and their last error, the DHT) and what to give (--peer,
 * --tracker, --dht-bootstrap, an IPFS gateway); with connections but no
 * new data for the timeout, HP_E_TEMPFAIL. */
hp_code hp_bt_source_add(hp_fetch *f, const hp_bt_fetch_opts *o, hp_err *e);

#endif
