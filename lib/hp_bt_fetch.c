/* hp_bt_fetch: the BitTorrent source of hp_fetch (see hp_bt_fetch.h). */
#include "hp_bt_fetch.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "hp_buf.h"
#include "hp_fetch_source.h"
#include "hp_io.h"
#include "hp_torrent.h"

#include "banned.h"

typedef struct bt_source {
	hp_buf torrent;
	hp_torrent_info *ti;     /* NULL until a magnet's metadata came */
	char *magnet;            /* the magnet link, when no .torrent was given */
	char name_hex[65];       /* the infohash named, for messages before the metadata */
	char *listen;
	char **peers;
	size_t npeers;
	char **trackers;
	size_t ntrackers;
	char **hints;            /* HOST:PORT from the package (x.pe) */
	size_t nhints;
	char **hint_ips;         /* the hints looked up: IP:PORT */
	size_t nhint_ips;
	hp_bt_net net;           /* its strings owned: boot[], state */
	char **boot;
	char *state;
	long timeout_ms;
	uint32_t min_rate;
	long deadline_ms;
	int64_t run_start;       /* when bt_run began (for deadline_ms) */
	bool slow, over_deadline;/* why the download ended, when it did not finish */
	uint64_t slow_bytes;     /* what the last too slow span brought */
	uint64_t download_rate;
	bool no_web_seeds;
	hp_bt_piece_order piece_order;
	uint64_t received;
	uint64_t resumed;        /* bytes found at start (resume data, or the check): verified
	                          * pieces, and blocks of pieces not complete yet (checked
	                          * with their piece) */
	bool resumed_known;
	uint64_t hash_failures;
	uint64_t web_seed_errors;
	uint64_t resume_saves;
	uint64_t restarts;       /* new sessions after a hash failure (see bt_run) */
	int peers_seen;          /* connection attempts (libtorrent's peer_connect_alert) */
	int peers_max;           /* the most peers (and web seeds) connected at a poll */
	bool dht_up;             /* the DHT found nodes */
	int dht_peers;           /* peers DHT lookups found */
	int tracker_replies;
	char tracker_error[512]; /* the last one, "URL: why" */
	bool interrupted;
	bool disk_full;          /* the download stopped for want of space */
	char file_error[512];    /* libtorrent's last file error */
	int tid;                 /* the session's id for the torrent */
	uint64_t flushes;        /* HP_BT_EV_FLUSHED events for it */
} bt_source;

#define RESUME_SAVE_MS 2000  /* save resume data this often while new pieces come */
#define DHT_RETRY_MS 5000    /* look the torrent up in the DHT again this often while no peer is connected */

static const char *infohash(const hp_torrent_info *ti)
{
	return ti->infohash_v1_hex[0] ? ti->infohash_v1_hex : ti->infohash_v2_hex;
}

static int hexval(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

size_t hp_bt_magnet_peers(const char *magnet, char peers[][HP_BT_PEER_MAX], size_t max)
{
	const char *q = magnet ? strchr(magnet, '?') : NULL;
	size_t n = 0;
	while (q && n < max) {
		q++;
		size_t len = strcspn(q, "&");
		if (len > 5 && !strncmp(q, "x.pe=", 5) && len - 5 < HP_BT_PEER_MAX) {
			char *o = peers[n];
			for (size_t i = 5; i < len; i++) {
				int hi, lo;
				if (q[i] == '%' && i + 2 < len && (hi = hexval(q[i + 1])) >= 0 && (lo = hexval(q[i + 2])) >= 0) {
					*o++ = (char)(hi << 4 | lo);
					i += 2;
				} else {
					*o++ = q[i];
				}
			}
			*o = '\0';
			n++;
		}
		q = q[len] ? q + len : NULL;
	}
	return n;
}

/* The infohash a magnet names (hex, v1 or else v2), in out[65]. */
static bool magnet_hash(const char *magnet, char *out)
{
	const char *v1 = strstr(magnet, "xt=urn:btih:"), *v2 = strstr(magnet, "xt=urn:btmh:1220");
	const char *h = v1 ? v1 + 12 : v2 ? v2 + 16 : NULL;
	size_t want = v1 ? 40 : 64;
	if (!h || strspn(h, "0123456789abcdefABCDEF") != want)
		return false;
	for (size_t i = 0; i < want; i++)
		out[i] = (char)(h[i] >= 'A' && h[i] <= 'F' ? h[i] - 'A' + 'a' : h[i]);
	out[want] = '\0';
	return true;
}

/* The partial folder by name, for libtorrent. */
static hp_code partial_dir(hp_fetch *f, char *pdir, size_t size, hp_err *e)
{
	char link[64];
	snprintf(link, sizeof link, "/proc/self/fd/%d", hp_fetch_partial_dirfd(f));
	ssize_t n = readlink(link, pdir, size - 1);
	if (n <= 0)
		return hp_fail(e, HP_E_IO, "cannot name the partial folder: %s", strerror(errno));
	pdir[n] = '\0';
	return HP_OK;
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The manifest's index for torrent file k, or SIZE_MAX. */
static size_t manifest_index(hp_fetch *f, const hp_torrent_info *ti, size_t k)
{
	const char *p = ti->single_file ? ti->name : ti->files[k].path;
	size_t i = hp_fetch_find(f, p, strlen(p));
	if (i == SIZE_MAX || hp_fetch_file_at(f, i)->size != ti->files[k].size)
		return SIZE_MAX;
	return i;
}

static void on_event(void *ud, const hp_bt_event *ev)
{
	bt_source *s = ud;
	if (ev->kind == HP_BT_EV_HASH_FAILED)
		s->hash_failures++;
	else if (ev->kind == HP_BT_EV_PEER_CONNECTED)
		s->peers_seen++;
	else if (ev->kind == HP_BT_EV_WEB_SEED_ERROR)
		s->web_seed_errors++;
	else if (ev->kind == HP_BT_EV_FLUSHED && ev->torrent == s->tid)
		s->flushes++;
	else if (ev->kind == HP_BT_EV_DHT_BOOTSTRAP)
		s->dht_up = true;
	else if (ev->kind == HP_BT_EV_DHT_REPLY) {
		s->dht_up = true;
		s->dht_peers += ev->count;
	} else if (ev->kind == HP_BT_EV_TRACKER_REPLY)
		s->tracker_replies++;
	else if (ev->kind == HP_BT_EV_TRACKER_ERROR)
		snprintf(s->tracker_error, sizeof s->tracker_error, "%s", ev->msg);
	else if (ev->kind == HP_BT_EV_ERROR && ev->torrent == s->tid)
		snprintf(s->file_error, sizeof s->file_error, "%s", ev->msg);
}

/* Where libtorrent keeps torrent file k, under the partial folder. */
static hp_code disk_name(const hp_torrent_info *ti, size_t k, hp_buf *out, hp_err *e)
{
	const hp_torrent_file *tf = &ti->files[k];
	hp_buf_reset(out);
	if (ti->single_file)
		return hp_buf_addf(out, e, "bt-%s/%s", infohash(ti), ti->name);
	return hp_buf_addf(out, e, "bt-%s/%s/%s", infohash(ti), ti->name, tf->saved_as ? tf->saved_as : tf->path);
}

/* ---- hashing as the pieces come ----
 * Each wanted file's SHA-256 follows its verified pieces from its start, so
 * that when the download ends the file is not read again and the one sync
 * before the renames has little left to write. A piece libtorrent verified
 * can still be in its buffers, so each step works on the pieces verified
 * before a flush (hp_bt_session_flush) that has since completed: their
 * bytes are in the files (and in the page cache, where they are read from),
 * and libtorrent never writes a verified piece again. The stretch read is
 * handed to writeback (sync_file_range). A file whose stretch cannot be read
 * is given up here and read whole at adoption; a digest that differs from
 * the manifest's is never trusted either way (hp_fetch_adopt_batch reads
 * the file again before it calls it bad). */
typedef struct bt_hash {
	EVP_MD_CTX *ctx;
	uint64_t done;    /* bytes hashed from the file's start */
	bool off;         /* given up (or empty): read at adoption */
	bool final;       /* md is the whole file's SHA-256 */
	uint8_t md[32];
} bt_hash;

#define HASH_STEP (256u << 20)  /* read at most this much a step */
#define SEQUENTIAL_FROM (64u << 20)  /* pieces in order when a wanted file is this big */
#define FLUSH_STEP (16u << 20)  /* flush once this much more is verified (a flush a poll
				 * slowed 1 GiB downloads by 10-20%; 48 MiB left too much to
				 * hash at the end) */
#define HASH_BUF (1u << 20)

static void hash_give_up(bt_hash *h)
{
	EVP_MD_CTX_free(h->ctx);
	h->ctx = NULL;
	h->off = true;
}

/* Hash file k up to its first piece not in have (NULL: every piece is
 * there), reading at most *budget bytes (lowered by what is read). */
static void hash_file_ahead(int pfd, const hp_torrent_info *ti, size_t k, const uint8_t *have, bt_hash *h,
			    uint8_t *buf, hp_buf *name, uint64_t *budget)
{
	const hp_torrent_file *tf = &ti->files[k];
	if (h->off || h->final || !*budget)
		return;
	uint64_t plen = ti->piece_length, pos = tf->offset + h->done, stop = tf->offset + tf->size;
	uint64_t p = pos / plen;
	while (have && p < ti->num_pieces && have[p] && p * plen < stop)
		p++;
	uint64_t end = have && p * plen < stop ? p * plen : stop;
	if (end <= pos)
		return;
	uint64_t want = end - pos < *budget ? end - pos : *budget;
	if (!h->ctx && (!(h->ctx = EVP_MD_CTX_new()) || !EVP_DigestInit_ex(h->ctx, EVP_sha256(), NULL))) {
		hash_give_up(h);
		return;
	}
	int fd = -1;
	if (disk_name(ti, k, name, NULL) ||
	    (fd = openat(pfd, name->data, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
		hash_give_up(h);
		return;
	}
	if (hp_fetch_sha256_range(h->ctx, fd, h->done, want, buf, HASH_BUF, tf->path, NULL)) {
		hash_give_up(h);
	} else {
		sync_file_range(fd, (off_t)h->done, (off_t)want, SYNC_FILE_RANGE_WRITE);
		h->done += want;
		*budget -= want;
	}
	close(fd);
	if (!h->off && h->done == tf->size) {
		h->final = EVP_DigestFinal_ex(h->ctx, h->md, NULL) == 1;
		EVP_MD_CTX_free(h->ctx);
		h->ctx = NULL;
		h->off = !h->final;
	}
}

/* One step over the wanted files; have NULL: the download is over and
 * its files closed, so the files already begun are finished (the others
 * are read at adoption, on every core). */
static void hash_ahead(int pfd, const hp_torrent_info *ti, const uint8_t *prio, const uint8_t *have, bt_hash *hs,
		       uint8_t *buf, hp_buf *name)
{
	uint64_t budget = have ? HASH_STEP : UINT64_MAX;
	for (size_t k = 0; k < ti->nfiles && budget; k++)
		if (prio[k] && (have || hs[k].ctx))
			hash_file_ahead(pfd, ti, k, have, &hs[k], buf, name, &budget);
}

/* No connection at all in timeout ms: HP_E_UNAVAILABLE, with what was tried
 * and what to give. */
static void no_peer(const bt_source *s, long timeout, hp_err *e)
{
	char dht[96], trackers[600];
	if (s->net.no_dht)
		snprintf(dht, sizeof dht, "DHT off");
	else if (!s->dht_up)
		snprintf(dht, sizeof dht, "DHT: no node answered");
	else
		snprintf(dht, sizeof dht, "DHT: %d peer%s found", s->dht_peers, s->dht_peers == 1 ? "" : "s");
	/* a tracker still silent when the time is up has no error to tell */
	const char *silent = s->ntrackers ? s->trackers[0] : s->ti && s->ti->ntrackers ? s->ti->trackers[0].url : NULL;
	if (s->tracker_error[0])
		snprintf(trackers, sizeof trackers, "; tracker %s", s->tracker_error);
	else if (!(s->ti ? s->ti->ntrackers : s->magnet && strstr(s->magnet, "&tr=") != NULL) && !s->ntrackers)
		snprintf(trackers, sizeof trackers, "; no tracker");
	else if (!s->tracker_replies && silent)
		snprintf(trackers, sizeof trackers, "; tracker %s: no answer", silent);
	else
		snprintf(trackers, sizeof trackers, "; %d tracker answer%s", s->tracker_replies,
			 s->tracker_replies == 1 ? "" : "s");
	hp_fail(e, HP_E_UNAVAILABLE,
		"BitTorrent: no peer found in %ld s (%s%s%s); give --peer IP:PORT, --tracker URL, "
		"--dht-bootstrap HOST:PORT or an IPFS --gateway",
		timeout / 1000, dht, trackers, s->web_seed_errors ? "; web seeds failed" : "");
}

/* The package's peers (x.pe) as IP:PORT (hp_bt_resolve); one that does not
 * resolve is left out. */
static void resolve_hints(bt_source *s)
{
	for (size_t i = 0; i < s->nhints; i++) {
		char ips[8][HP_BT_ADDR_MAX];
		size_t n = hp_bt_resolve(s->hints[i], ips, 8);
		for (size_t k = 0; k < n; k++) {
			char **v = realloc(s->hint_ips, (s->nhint_ips + 1) * sizeof *v);
			if (!v)
				return;
			s->hint_ips = v;
			if (!(v[s->nhint_ips] = strdup(ips[k])))
				return;
			s->nhint_ips++;
		}
	}
}

/* No room left for what is still to come: less free space in the partial
 * folder than the rest, or 1 MiB. */
static bool disk_full_now(const hp_bt_status *st, const char *pdir)
{
	struct statvfs sv;
	uint64_t left = st->total_wanted > st->total_done ? st->total_wanted - st->total_done : 0;
	if (!left || statvfs(pdir, &sv) != 0)
		return false;
	uint64_t avail = (uint64_t)sv.f_bavail * sv.f_frsize;
	return avail < left && avail < (1u << 20);
}

/* libtorrent stopped the torrent on an error: a write error, as what it
 * is (HP_E_IO, 74). libtorrent 2.0 writes through mapped files, so a full
 * disk shows as "Bad address" (the mapping's SIGBUS): the space left says
 * which it was. */
static hp_code disk_error(bt_source *s, hp_fetch *f, const hp_bt_status *st, const char *pdir, hp_err *e)
{
	struct statvfs sv;
	uint64_t left = st->total_wanted > st->total_done ? st->total_wanted - st->total_done : 0;
	uint64_t avail = statvfs(pdir, &sv) == 0 ? (uint64_t)sv.f_bavail * sv.f_frsize : UINT64_MAX;
	const char *why = st->error[0] ? st->error : s->file_error[0] ? s->file_error : "no error reported, the writes stalled";
	if (avail < left || strstr(why, "No space left")) {
		s->disk_full = true;
		return hp_fail(e, HP_E_IO,
			       "cannot write the BitTorrent download in '%s': No space left on device (%llu bytes "
			       "free, %llu still to come; libtorrent: %s); its partial data is removed",
			       hp_fetch_partial_dir_shown(f), (unsigned long long)(avail == UINT64_MAX ? 0 : avail),
			       (unsigned long long)left, why);
	}
	return hp_fail(e, HP_E_IO, "BitTorrent download in '%s': %s", hp_fetch_partial_dir_shown(f), why);
}

/* Ask for resume data and write it atomically beside the scratch folder. */
static void save_resume(bt_source *s, hp_bt_session *ses, int id, const char *path)
{
	hp_buf b = HP_BUF_INIT;
	hp_err se = HP_ERR_INIT;
	if (hp_bt_session_save_resume(ses, id, 10000, &b, &se) == HP_OK &&
	    hp_write_file_atomic(path, b.data, b.len, 0644, 0, &se) == HP_OK)
		s->resume_saves++;
	hp_buf_release(&b);
}

/* A new session with the torrent in it (stale resume data in a: without it). */
static hp_code open_session(bt_source *s, hp_bt_add *a, hp_bt_session **ses, int *id, hp_err *e)
{
	hp_code rc;
	if ((rc = hp_bt_session_new(s->listen ? s->listen : "0.0.0.0:0", &s->net, ses, e)))
		return rc;
	/* before the torrent: a connection's peer class is fixed when it is made */
	if (s->download_rate && (rc = hp_bt_session_set_rate_limits(*ses, 0, s->download_rate, e)))
		return rc;
	if ((rc = hp_bt_session_add(*ses, a, id, e)) && a->resume) {
		a->resume = NULL;
		a->resume_len = 0;
		rc = hp_bt_session_add(*ses, a, id, e);
	}
	s->tid = *id;
	return rc;
}

/* The resume data at path in out (left empty when there is none). */
static void read_resume(const char *path, hp_buf *out)
{
	hp_err re = HP_ERR_INIT;
	hp_buf_reset(out);
	if (access(path, F_OK) == 0 && hp_read_file(path, 64u << 20, out, &re))
		hp_buf_release(out);
}

/* Save the resume data, close the session and open a new one from it. */
static hp_code restart(bt_source *s, hp_bt_add *a, hp_buf *resume, const char *rpath, hp_bt_session **ses,
		       int *id, uint64_t downloaded, hp_err *e)
{
	s->received += downloaded;
	s->restarts++;
	save_resume(s, *ses, *id, rpath);
	hp_bt_session_free(*ses);
	*ses = NULL;
	read_resume(rpath, resume);
	a->resume = resume->len ? resume->data : NULL;
	a->resume_len = resume->len;
	return open_session(s, a, ses, id, e);
}

/* While no peer is connected: ask the DHT again every few seconds
 * (libtorrent's own next lookup is minutes away), and dial the named peers
 * and the package's (x.pe) every second. */
static hp_code seek_peers(bt_source *s, hp_bt_session *ses, int id, const hp_bt_status *st, int64_t now,
			  int64_t *last_dht, int64_t *last_connect, hp_err *e)
{
	if (st->peers)
		return HP_OK;
	if (s->dht_up && !s->net.no_dht && now - *last_dht >= DHT_RETRY_MS) {
		hp_bt_session_dht_announce(ses, id, NULL);
		*last_dht = now;
	}
	if ((s->npeers || s->nhint_ips) && now - *last_connect >= 1000) {
		hp_code rc;
		for (size_t k = 0; k < s->npeers; k++)
			if ((rc = hp_bt_session_connect_peer(ses, id, s->peers[k], e)))
				return rc;
		for (size_t k = 0; k < s->nhint_ips; k++)
			hp_bt_session_connect_peer(ses, id, s->hint_ips[k], NULL);
		*last_connect = now;
	}
	return HP_OK;
}

/* A magnet's info dictionary, from peers (BEP 9), as a .torrent in
 * s->torrent and s->ti. Peers come as for the download (DHT, the magnet's
 * trackers and x.pe, --peer, --tracker); no piece is asked for. */
static hp_code bt_metadata(bt_source *s, hp_fetch *f, hp_err *e)
{
	char pdir[PATH_MAX];
	hp_bt_session *ses = NULL;
	hp_code rc;
	int id;
	if ((rc = partial_dir(f, pdir, sizeof pdir, e)) ||
	    (rc = hp_bt_session_new(s->listen ? s->listen : "0.0.0.0:0", &s->net, &ses, e)) ||
	    (rc = hp_bt_session_add_magnet(ses, s->magnet, pdir, &id, e)))
		goto out;
	s->tid = id;
	if (!s->hint_ips)
		resolve_hints(s);
	long timeout = s->timeout_ms > 0 ? s->timeout_ms : 30000;
	int64_t start = now_ms(), last_connect = 0, last_dht = start;
	hp_bt_status st;
	for (;;) {
		bool have = false;
		if ((rc = hp_bt_session_poll(ses, 200, on_event, s, e)) || (rc = hp_bt_session_status(ses, id, &st, e)) ||
		    (rc = hp_bt_session_metadata(ses, id, &have, &s->torrent, e)))
			goto out;
		if (st.peers > s->peers_max)
			s->peers_max = st.peers;
		if (have)
			break;
		int64_t now = now_ms();
		if (hp_fetch_stopping(f)) {
			s->interrupted = true;
			rc = hp_fail(e, HP_E_TEMPFAIL, "interrupted while asking peers for the torrent's metadata");
			goto out;
		}
		if (now - start > timeout) {
			if (!s->peers_max)
				no_peer(s, timeout, e);
			else
				hp_fail(e, HP_E_TEMPFAIL, "BitTorrent: no metadata (BEP 9) from %d peer%s in %ld s",
					s->peers_max, s->peers_max == 1 ? "" : "s", timeout / 1000);
			rc = e->code;
			for (size_t i = 0; i < hp_fetch_nfiles(f); i++)
				if (hp_fetch_wanted(f, i))
					hp_fetch_note_failure(f, i, e);
			goto out;
		}
		if ((rc = seek_peers(s, ses, id, &st, now, &last_dht, &last_connect, e)))
			goto out;
	}
	if (!(rc = hp_torrent_parse(s->torrent.data, s->torrent.len, "the magnet's torrent", &s->ti, e)))
		rc = hp_bt_check_binding(hp_fetch_manifest(f), s->ti->infohash_v1_hex, s->ti->infohash_v2_hex,
					 "the magnet's torrent", e);
out:
	hp_bt_session_free(ses);
	return rc;
}

static hp_code bt_run(void *self, hp_fetch *f, hp_err *e)
{
	bt_source *s = self;
	hp_code mrc;
	s->run_start = now_ms();
	if (!s->ti && (mrc = bt_metadata(s, f, e)))
		return mrc;
	const hp_torrent_info *ti = s->ti;
	hp_code rc = HP_OK;
	hp_bt_session *ses = NULL;
	uint8_t *prio = calloc(ti->nfiles ? ti->nfiles : 1, 1);
	size_t *map = calloc(ti->nfiles ? ti->nfiles : 1, sizeof *map);
	size_t *batch = calloc(ti->nfiles ? ti->nfiles : 1, sizeof *batch);
	hp_code *brcs = calloc(ti->nfiles ? ti->nfiles : 1, sizeof *brcs);
	const uint8_t **known = calloc(ti->nfiles ? ti->nfiles : 1, sizeof *known);
	bt_hash *hs = calloc(ti->nfiles ? ti->nfiles : 1, sizeof *hs);
	uint8_t *have = malloc(ti->num_pieces ? ti->num_pieces : 1), *hbuf = malloc(HASH_BUF);
	hp_buf save = HP_BUF_INIT, rpath = HP_BUF_INIT, resume = HP_BUF_INIT, src = HP_BUF_INIT;
	char pdir[PATH_MAX];
	if (!prio || !map || !batch || !brcs || !known || !hs || !have || !hbuf) {
		rc = hp_fail_nomem(e);
		goto out;
	}
	size_t want = 0;
	uint64_t biggest = 0;
	for (size_t k = 0; k < ti->nfiles; k++) {
		map[k] = manifest_index(f, ti, k);
		if (map[k] != SIZE_MAX && hp_fetch_wanted(f, map[k])) {
			prio[k] = 4;
			want++;
			if (ti->files[k].size > biggest)
				biggest = ti->files[k].size;
		}
		hs[k].off = ti->files[k].size == 0;
	}
	if (!want) {
		for (size_t i = 0; i < hp_fetch_nfiles(f); i++)
			if (hp_fetch_wanted(f, i)) {
				hp_err why = HP_ERR_INIT;
				hp_fail(&why, HP_E_UNAVAILABLE, "not in the torrent (or of another size)");
				hp_fetch_note_failure(f, i, &why);
			}
		rc = hp_fail(e, HP_E_UNAVAILABLE, "the torrent holds none of the files still wanted");
		goto out;
	}

	if ((rc = partial_dir(f, pdir, sizeof pdir, e)))
		goto out;
	if (hp_buf_addf(&save, e, "%s/bt-%s", pdir, infohash(ti)) ||
	    hp_buf_addf(&rpath, e, "%s/bt-%s.resume", pdir, infohash(ti))) {
		rc = e->code;
		goto out;
	}
	if (mkdir(save.data, 0755) && errno != EEXIST) {
		rc = hp_fail(e, HP_E_CANTCREAT, "cannot create '%s': %s", save.data, strerror(errno));
		goto out;
	}
	read_resume(rpath.data, &resume);

	hp_bt_add a = { 0 };
	a.torrent = s->torrent.data;
	a.torrent_len = s->torrent.len;
	a.save_path = save.data;
	a.resume = resume.len ? resume.data : NULL;
	a.resume_len = resume.len;
	a.file_priorities = prio;
	a.nfile_priorities = ti->nfiles;
	a.no_web_seeds = s->no_web_seeds;
	a.trackers = (const char *const *)s->trackers;
	a.ntrackers = s->ntrackers;
	/* auto: pieces in order when a file is big enough for its hash after
	 * the transfer to show; with many small files libtorrent's in-order
	 * picker is slower than rarest-first (10,000 files on loopback: 3.8 s
	 * against 2.8 s), and each file is whole soon anyway */
	a.sequential = s->piece_order == HP_BT_ORDER_IN_ORDER ||
		       (s->piece_order == HP_BT_ORDER_AUTO && biggest >= SEQUENTIAL_FROM);
	int id;
	if ((rc = open_session(s, &a, &ses, &id, e)))
		goto out;
	if (!s->hint_ips)
		resolve_hints(s);
	hp_fetch_set_interruptible(f, true);
	long timeout = s->timeout_ms > 0 ? s->timeout_ms : 30000;
	int64_t last_new = now_ms(), last_connect = 0, last_dht = last_new, last_save = last_new, started = last_new, polled = last_new;
	int64_t win_start = last_new;  /* the span the minimum rate is judged over */
	uint64_t win_done = 0;
	uint64_t last_done = 0, saved_done = 0, flushed_done = 0, flushes_seen = 0, failures_seen = 0;
	bool flushing = false;
	hp_bt_status st;
	bool finished = false;
	for (;;) {
		if ((rc = hp_bt_session_poll(ses, 200, on_event, s, e)) || (rc = hp_bt_session_status(ses, id, &st, e)))
			goto out;
		if (st.peers > s->peers_max)
			s->peers_max = st.peers;
		int64_t now = now_ms();
		/* libtorrent stopped the torrent on an error, reported a file
		 * error, or the download stalls on a disk with no room: its mapped
		 * writes do not always surface as a torrent error */
		if (st.has_error || s->file_error[0] || (!st.checking && now - last_new >= 1000 && disk_full_now(&st, pdir))) {
			rc = disk_error(s, f, &st, pdir, e);
			hp_bt_session_free(ses);
			ses = NULL;
			if (s->disk_full) {
				/* nothing of it is worth the space it holds: the next
				 * run, with room, starts again */
				unlink(rpath.data);
				hp_buf_reset(&src);
				if (!hp_buf_addf(&src, NULL, "bt-%s", infohash(ti)))
					hp_fetch_remove_partial(f, src.data);
			}
			goto out;
		}
		if (st.checking) {
			/* checking the disk is not a silent source: its time does not
			 * count (nor does it reset the count: a new session checks
			 * its resume data, and a liar must not keep one going) */
			last_new += now - polled;
			win_start += now - polled;
		} else if (!s->resumed_known) {
			s->resumed = st.total_done;
			s->resumed_known = true;
			last_done = saved_done = win_done = st.total_done;
		}
		polled = now;
		if (!st.checking)
			hp_fetch_source_progress(f, st.total_done, st.download_rate, st.peers);
		if (st.finished && !st.checking && st.total_done >= st.total_wanted) {
			finished = true;
			break;
		}
		/* hash what the last flush put in the files, then flush again */
		if (!st.checking && flushing && s->flushes != flushes_seen) {
			hash_ahead(hp_fetch_partial_dirfd(f), ti, prio, have, hs, hbuf, &src);
			flushing = false;
		}
		if (!st.checking && !flushing && st.total_done >= flushed_done + FLUSH_STEP &&
		    !hp_bt_session_pieces(ses, id, have, ti->num_pieces, NULL) && !hp_bt_session_flush(ses, id, NULL)) {
			flushes_seen = s->flushes;
			flushed_done = st.total_done;
			flushing = true;
		}
		if (hp_fetch_stopping(f)) {
			s->interrupted = true;
			break;
		}
		if (st.total_done > last_done) {  /* not what a new session finds again */
			last_done = st.total_done;
			last_new = now;
		}
		if (now - last_new > timeout)
			break;
		/* a drip is a stall: at least min_rate over each span of the timeout */
		if (!st.checking && now - win_start >= timeout) {
			uint64_t got = st.total_done > win_done ? st.total_done - win_done : 0;
			if (got * 1000 < (uint64_t)s->min_rate * (uint64_t)(now - win_start)) {
				s->slow = true;
				s->slow_bytes = got;
				break;
			}
			win_start = now;
			win_done = st.total_done;
		}
		if (s->deadline_ms > 0 && now - s->run_start > s->deadline_ms) {
			s->over_deadline = true;
			break;
		}
		/* verified pieces survive a kill: resume data every few seconds */
		if (!st.checking && st.total_done != saved_done && now - last_save >= RESUME_SAVE_MS) {
			save_resume(s, ses, id, rpath.data);
			saved_done = st.total_done;
			last_save = now_ms();
		}
		/* After a hash failure a libtorrent 2.0.8 session can be stuck
		 * (docs/interop.md): an honest peer banned, never dialled again
		 * (trust points in a 4-bit field counted up to 8, which wraps to
		 * -8: after 8 good pieces one piece shared with a liar bans it),
		 * or a piece completed by a late write of the liar's block and
		 * never checked. Running hp-fetch again gets past both, and so
		 * does a new session from the resume data: once no --peer is
		 * connected, or nothing new came for half the timeout. A liar is
		 * banned again at its next bad piece; every piece is checked. */
		if (s->hash_failures != failures_seen && now - started >= 1000 &&
		    ((s->npeers && st.peers == 0) || now - last_new > timeout / 2)) {
			failures_seen = s->hash_failures;
			if ((rc = restart(s, &a, &resume, rpath.data, &ses, &id, st.downloaded, e)))
				goto out;
			started = now_ms();
			flushing = false;  /* the old session's flush never reports */
			continue;
		}
		if ((rc = seek_peers(s, ses, id, &st, now, &last_dht, &last_connect, e)))
			goto out;
	}
	s->received += st.downloaded;
	/* resume data for the next run, then shut down: every write on disk */
	save_resume(s, ses, id, rpath.data);
	hp_bt_session_free(ses);
	ses = NULL;
	if (finished)
		hash_ahead(hp_fetch_partial_dirfd(f), ti, prio, NULL, hs, hbuf, &src);
	if (s->interrupted) {
		rc = hp_fail(e, HP_E_TEMPFAIL, "interrupted with %llu of %llu bytes verified (run again to resume)",
			     (unsigned long long)st.total_done, (unsigned long long)st.total_wanted);
		goto out;
	}

	/* hand every complete file to hp_fetch as one batch: its size and
	 * SHA-256 decide, and one sync makes them all durable (not two fsyncs
	 * a file) before any is renamed into place */
	hp_code worst = HP_OK;
	hp_err incomplete = HP_ERR_INIT;  /* why files did not complete, for the source's line */
	size_t nb = 0;
	for (size_t k = 0; k < ti->nfiles; k++) {
		if (!prio[k])
			continue;
		size_t i = map[k];
		const hp_torrent_file *tf = &ti->files[k];
		if ((rc = disk_name(ti, k, &src, e)))
			goto out;
		struct stat sb;
		int pfd = hp_fetch_partial_dirfd(f);
		if (fstatat(pfd, src.data, &sb, AT_SYMLINK_NOFOLLOW) || !S_ISREG(sb.st_mode) ||
		    (uint64_t)sb.st_size != tf->size || !finished) {
			hp_err why = HP_ERR_INIT;
			if (s->over_deadline)
				hp_fail(&why, HP_E_TEMPFAIL, "BitTorrent: over the deadline of %ld s with %llu of %llu "
					"bytes verified (kept for the next run)", s->deadline_ms / 1000,
					(unsigned long long)st.total_done, (unsigned long long)st.total_wanted);
			else if (s->slow)
				hp_fail(&why, HP_E_TEMPFAIL, "BitTorrent: %llu bytes in %ld s, less than the minimum "
					"rate of %u bytes/s (%llu of %llu bytes verified, kept)",
					(unsigned long long)s->slow_bytes, timeout / 1000, s->min_rate,
					(unsigned long long)st.total_done, (unsigned long long)st.total_wanted);
			else if (s->peers_max)
				hp_fail(&why, HP_E_TEMPFAIL, "BitTorrent: incomplete after %ld s without new data",
					timeout / 1000);
			else
				no_peer(s, timeout, &why);
			hp_fetch_note_failure(f, i, &why);
			if (!worst || why.code == HP_E_TEMPFAIL)
				worst = why.code;
			if (!incomplete.code)
				incomplete = why;
			continue;
		}
		char name[80];
		hp_fetch_partial_name(f, i, name);
		if (renameat(pfd, src.data, pfd, name)) {
			rc = hp_fail(e, HP_E_IO, "cannot move '%s' to '%s': %s", src.data, name, strerror(errno));
			goto out;
		}
		known[nb] = hs[k].final ? hs[k].md : NULL;
		batch[nb++] = i;
	}
	hp_err ae = HP_ERR_INIT;
	hp_code brc = hp_fetch_adopt_batch(f, batch, known, nb, brcs, &ae);
	if (brc) {
		*e = ae;
		rc = brc;
		goto out;
	}
	for (size_t k = 0; k < nb; k++) {
		hp_code arc = brcs[k];
		if (arc == HP_E_INVALID)
			unlink(rpath.data);  /* the pieces verified, the file did not: trust nothing next time */
		if (arc && arc != HP_E_CANTCREAT && (!worst || arc == HP_E_INVALID))
			worst = arc;
	}
	if (worst) {
		if (worst == HP_E_UNAVAILABLE)
			no_peer(s, timeout, e);
		else if (worst == HP_E_TEMPFAIL && incomplete.code)
			*e = incomplete;
		else
			hp_fail(e, worst, worst == HP_E_INVALID ? "BitTorrent delivered content that does not match the manifest"
								: "BitTorrent: some files did not complete");
		rc = worst;
		goto out;
	}
	/* the torrent's files are placed: its scratch folder and resume data can go */
	if (finished) {
		unlink(rpath.data);
		hp_buf_reset(&src);
		if (!hp_buf_addf(&src, NULL, "bt-%s", infohash(ti)))
			hp_fetch_remove_partial(f, src.data);
	}
out:
	hp_bt_session_free(ses);
	free(prio);
	free(map);
	free(batch);
	free(brcs);
	free(known);
	for (size_t k = 0; hs && k < ti->nfiles; k++)
		EVP_MD_CTX_free(hs[k].ctx);
	free(hs);
	free(have);
	free(hbuf);
	hp_buf_release(&save);
	hp_buf_release(&rpath);
	hp_buf_release(&resume);
	hp_buf_release(&src);
	return rc;
}

static void bt_stats(void *self, json_t *out)
{
	bt_source *s = self;
	json_object_set_new(out, "bytes_received", json_integer((json_int_t)s->received));
	json_object_set_new(out, "bytes_resumed", json_integer((json_int_t)s->resumed));
	json_object_set_new(out, "hash_failures", json_integer((json_int_t)s->hash_failures));
	json_object_set_new(out, "web_seed_errors", json_integer((json_int_t)s->web_seed_errors));
	json_object_set_new(out, "resume_saves", json_integer((json_int_t)s->resume_saves));
	json_object_set_new(out, "restarts", json_integer((json_int_t)s->restarts));
	json_object_set_new(out, "connections", json_integer(s->peers_seen));
	json_object_set_new(out, "interrupted", json_boolean(s->interrupted));
}

static void free_list(char **v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		free(v[i]);
	free(v);
}

/* A copy of n strings (*out NULL when n is 0). */
static hp_code dup_list(const char *const *v, size_t n, char ***out, hp_err *e)
{
	*out = NULL;
	if (!n)
		return HP_OK;
	if (!(*out = calloc(n, sizeof **out)))
		return hp_fail_nomem(e);
	for (size_t i = 0; i < n; i++)
		if (!((*out)[i] = strdup(v[i])))
			return hp_fail_nomem(e);
	return HP_OK;
}

static void bt_free(void *self)
{
	bt_source *s = self;
	if (!s)
		return;
	hp_buf_release(&s->torrent);
	hp_torrent_info_free(s->ti);
	free(s->magnet);
	free(s->listen);
	free_list(s->peers, s->npeers);
	free_list(s->trackers, s->ntrackers);
	free_list(s->hints, s->nhints);
	free_list(s->hint_ips, s->nhint_ips);
	free_list(s->boot, s->net.ndht_bootstrap);
	free(s->state);
	free(s);
}

static const hp_fetch_source_ops bt_ops = { "bittorrent", bt_run, bt_stats, bt_free };

/* The manifest's signed infohashes bind the torrent (no mix and match): each
 * infohash both have must be equal, and at least one must be there to
 * compare; a manifest that records none binds nothing. v1 and v2 are the
 * torrent's (or the magnet's: one of them, by length), "" when absent. */
hp_code hp_bt_check_binding(const json_t *manifest, const char *v1, const char *v2, const char *what, hp_err *e)
{
	const json_t *d = json_object_get(manifest, "distribution");
	const char *m1 = json_string_value(json_object_get(d, "torrent_infohash"));
	const char *m2 = json_string_value(json_object_get(d, "torrent_infohash_v2"));
	if (!m1 && !m2)
		return HP_OK;
	bool compared = false;
	if (m1 && v1 && *v1) {
		if (strcmp(m1, v1) != 0)
			return hp_fail(e, HP_E_INVALID,
				       "%s: its v1 infohash %s is not the manifest's signed torrent_infohash %s: "
				       "refused (a torrent of other content or layout)", what, v1, m1);
		compared = true;
	}
	if (m2 && v2 && *v2) {
		if (strcmp(m2, v2) != 0)
			return hp_fail(e, HP_E_INVALID,
				       "%s: its v2 infohash %s is not the manifest's signed torrent_infohash_v2 %s: "
				       "refused (a torrent of other content or layout)", what, v2, m2);
		compared = true;
	}
	if (!compared)
		return hp_fail(e, HP_E_INVALID, "%s: has no infohash of the kind the manifest signs (%s): refused", what,
			       m1 ? "v1" : "v2");
	return HP_OK;
}

hp_code hp_bt_source_add(hp_fetch *f, const hp_bt_fetch_opts *o, hp_err *e)
{
	bt_source *s = calloc(1, sizeof *s);
	if (!s)
		return hp_fail_nomem(e);
	hp_code rc;
	s->torrent = (hp_buf)HP_BUF_INIT;
	const char *what = o->torrent_data ? o->torrent : strcmp(o->torrent, "-") ? o->torrent : "<stdin>";
	char hints[16][HP_BT_PEER_MAX];
	const char *hint_ptrs[32];
	size_t nh = 0;
	if (!o->torrent_data && !strncmp(o->torrent, "magnet:", 7)) {
		if (!magnet_hash(o->torrent, s->name_hex)) {
			rc = hp_fail(e, HP_E_USAGE, "the magnet link names no infohash (xt=urn:btih: or urn:btmh:1220)");
			goto fail;
		}
		if (!(s->magnet = strdup(o->torrent))) {
			rc = hp_fail_nomem(e);
			goto fail;
		}
		nh = hp_bt_magnet_peers(o->torrent, hints, 16);
	} else if ((rc = o->torrent_data ? hp_buf_add(&s->torrent, o->torrent_data, o->torrent_len, e)
					 : hp_read_file(o->torrent, HP_TORRENT_MAX_BYTES, &s->torrent, e)) ||
		   (rc = hp_torrent_parse(s->torrent.data, s->torrent.len, what, &s->ti, e))) {
		goto fail;
	}
	if (s->ti ? (rc = hp_bt_check_binding(hp_fetch_manifest(f), s->ti->infohash_v1_hex, s->ti->infohash_v2_hex, what, e))
		  : (rc = hp_bt_check_binding(hp_fetch_manifest(f), strlen(s->name_hex) == 40 ? s->name_hex : "",
					      strlen(s->name_hex) == 64 ? s->name_hex : "", "the magnet link", e)))
		goto fail;
	for (size_t k = 0; k < nh; k++)
		hint_ptrs[k] = hints[k];
	for (size_t k = 0; k < o->nhint_peers && nh < 32; k++)
		hint_ptrs[nh++] = o->hint_peers[k];
	s->timeout_ms = o->timeout_ms;
	s->min_rate = o->min_rate ? o->min_rate : 1024;
	s->deadline_ms = o->deadline_ms;
	s->download_rate = o->download_rate;
	s->no_web_seeds = o->no_web_seeds;
	s->piece_order = o->piece_order;
	if (o->listen && !(s->listen = strdup(o->listen))) {
		rc = hp_fail_nomem(e);
		goto fail;
	}
	for (size_t k = 0; k < o->npeers; k++)
		if (!strchr(o->peers[k], ':')) {
			rc = hp_fail(e, HP_E_USAGE, "peer '%s' is not IP:PORT", o->peers[k]);
			goto fail;
		}
	for (size_t k = 0; k < o->ntrackers; k++)
		if (!hp_torrent_tracker_url_ok(o->trackers[k])) {
			rc = hp_fail(e, HP_E_USAGE, "'%s' is not a tracker URL (http, https or udp)", o->trackers[k]);
			goto fail;
		}
	s->net = o->net;
	s->net.timeout_ms = o->timeout_ms;
	s->npeers = o->npeers;
	s->ntrackers = o->ntrackers;
	s->nhints = nh;
	if ((rc = dup_list(o->peers, o->npeers, &s->peers, e)) ||
	    (rc = dup_list(hint_ptrs, nh, &s->hints, e)) ||
	    (rc = dup_list(o->trackers, o->ntrackers, &s->trackers, e)) ||
	    (rc = dup_list(o->net.dht_bootstrap, o->net.ndht_bootstrap, &s->boot, e)))
		goto fail;
	s->net.dht_bootstrap = (const char *const *)s->boot;
	s->net.dht_state = NULL;
	if (o->net.dht_state && !(s->state = strdup(o->net.dht_state))) {
		rc = hp_fail_nomem(e);
		goto fail;
	}
	s->net.dht_state = s->state;
	hp_buf name = HP_BUF_INIT;
	if ((rc = hp_buf_addf(&name, e, "bittorrent %s", s->ti ? infohash(s->ti) : s->name_hex)))
		goto fail;
	rc = hp_fetch_add_source(f, &bt_ops, s, name.data, e);  /* frees s on failure */
	hp_buf_release(&name);
	return rc;
fail:
	bt_free(s);
	return rc;
}
