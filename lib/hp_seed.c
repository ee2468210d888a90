/* hp_seed: a seeder of torrents from a content folder (see hp_seed.h). */
#include "hp_seed.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hp_btpieces.h"
#include "hp_buf.h"
#include "hp_digest.h"
#include "hp_io.h"
#include "hp_json.h"
#include "hp_manifest.h"
#include "hp_mkt.h"
#include "hp_torrent.h"
#include "hp_walk.h"
#include "banned.h"

typedef struct seeded {
	char *path;         /* names it in records and messages */
	hp_buf bytes;
	hp_torrent_info *ti;
	int id;
	uint64_t uploaded;  /* last reported */
	int peers;
	uint64_t counted;   /* uploaded bytes added to hp_seed_uploaded_bytes_total */
	uint64_t pieces;    /* verified pieces, when last seen outside a check */
	bool pieces_seen;
	bool flat;          /* a manifest's files: at DIR/PATH, not DIR/NAME/PATH */
} seeded;

struct hp_seed {
	const hp_seed_opts *o;
	seeded *t;
	size_t n;
	int listen_failed;
	char listen_msg[512];
	/* metrics (NULL without; docs/metrics.md) */
	hp_metric *m_torrents, *m_peers, *m_uploaded, *m_rate, *m_hash_failures, *m_updated;
};

static void emit(const hp_seed *s, json_t *j)
{
	if (!j)
		return;
	if (s->o->on_event)
		s->o->on_event(s->o->ud, j);
	json_decref(j);
}

static json_t *torrent_event(const char *kind, const seeded *t)
{
	json_t *j = json_object();
	json_object_set_new(j, "event", json_string(kind));
	if (t) {
		json_object_set_new(j, "torrent", hp_json_path_value(t->path, strlen(t->path)));
		json_object_set_new(j, "name", json_string(t->ti->name));
		json_object_set_new(j, "infohash_v1", t->ti->infohash_v1_hex[0] ? json_string(t->ti->infohash_v1_hex)
										 : json_null());
		json_object_set_new(j, "infohash_v2", t->ti->infohash_v2_hex[0] ? json_string(t->ti->infohash_v2_hex)
										 : json_null());
	}
	return j;
}

static void on_event(void *ud, const hp_bt_event *ev)
{
	hp_seed *L = ud;
	const seeded *t = ev->torrent >= 0 && (size_t)ev->torrent < L->n ? &L->t[ev->torrent] : NULL;
	json_t *j = NULL;
	switch (ev->kind) {
	case HP_BT_EV_LISTENING:
		j = json_object();
		json_object_set_new(j, "event", json_string("listening"));
		json_object_set_new(j, "port", json_integer(ev->port));
		json_object_set_new(j, "address", json_string(ev->msg));
		break;
	case HP_BT_EV_LISTEN_FAILED:
		L->listen_failed = 1;
		snprintf(L->listen_msg, sizeof L->listen_msg, "%s", ev->msg);
		j = json_object();
		json_object_set_new(j, "event", json_string("error"));
		json_object_set_new(j, "message", json_string(ev->msg));
		break;
	case HP_BT_EV_PEER_CONNECTED:
	case HP_BT_EV_PEER_DISCONNECTED:
		j = torrent_event("peer", t);
		json_object_set_new(j, "peer", json_string(ev->peer));
		json_object_set_new(j, "state", json_string(ev->kind == HP_BT_EV_PEER_CONNECTED ? "connecting"
												: "disconnected"));
		json_object_set_new(j, "direction", json_string(ev->kind == HP_BT_EV_PEER_CONNECTED ? ev->msg : ""));
		if (ev->kind == HP_BT_EV_PEER_DISCONNECTED) {
			json_object_del(j, "direction");
			json_object_set_new(j, "reason", json_string(ev->msg));
		}
		break;
	case HP_BT_EV_TRACKER_REPLY:
		j = torrent_event("tracker", t);
		json_object_set_new(j, "url", json_string(ev->msg));
		json_object_set_new(j, "peers", json_integer(ev->count));
		break;
	case HP_BT_EV_TRACKER_ERROR:
		j = torrent_event("tracker", t);
		json_object_set_new(j, "error", json_string(ev->msg));
		break;
	case HP_BT_EV_HASH_FAILED:
		hp_metric_add(L->m_hash_failures, NULL, 1);
		j = torrent_event("error", t);
		json_object_set_new(j, "message", json_string("a piece failed its hash check"));
		json_object_set_new(j, "piece", json_integer(ev->count));
		break;
	case HP_BT_EV_ERROR:
		j = torrent_event("error", t);
		json_object_set_new(j, "message", json_string(ev->msg));
		break;
	case HP_BT_EV_WEB_SEED_ERROR:
		return;  /* a seed never downloads from web seeds */
	case HP_BT_EV_FINISHED:
		return;  /* a seed_mode torrent is finished from the start */
	case HP_BT_EV_FLUSHED:
		return;
	case HP_BT_EV_DHT_BOOTSTRAP:
		j = json_object();
		json_object_set_new(j, "event", json_string("dht"));
		json_object_set_new(j, "state", json_string("bootstrapped"));
		break;
	case HP_BT_EV_DHT_REPLY:
		j = torrent_event("dht", t);
		json_object_set_new(j, "state", json_string("announced"));
		json_object_set_new(j, "peers", json_integer(ev->count));
		break;
	}
	emit(L, j);
}

/* ---- checking the content ---- */

static void on_walk(void *ud, hp_walk_event ev, const hp_err *e)
{
	hp_err *first = ud;
	if (ev == HP_WALK_ERROR && !first->code)
		*first = *e;
}

typedef struct run {
	hp_err err;
	size_t bad;
} run;

static int on_result(void *ud, const hp_walk_entry *en, size_t index, const hp_digest_result *r)
{
	run *x = ud;
	(void)en;
	if (r->err.code) {
		if (!x->err.code) {
			x->err = r->err;
			x->bad = index;
		}
		return 1;
	}
	return 0;
}

static const char *saved_path(const hp_torrent_file *f)
{
	return f->saved_as ? f->saved_as : f->path;
}

/* HP_OK when the content folder holds the torrent's content, else
 * HP_E_INVALID naming the file that is missing or does not match. */
static hp_code check_content(const hp_seed_opts *c, seeded *t, hp_err *e)
{
	const hp_torrent_info *ti = t->ti;
	hp_err walk_err = HP_ERR_INIT;
	hp_walk_list l = HP_WALK_LIST_INIT;
	hp_btpieces *bp = NULL;
	uint8_t *roots = NULL;
	hp_buf p = HP_BUF_INIT;
	hp_code rc = HP_OK, hc;

	hp_walk_opts wo = { c->content, HP_WALK_RELATIVE, on_walk, &walk_err };
	if (hp_walk_init(&l, &wo, e)) {
		rc = e->code ? e->code : HP_E_INTERNAL;
		goto out;
	}
	for (size_t i = 0; i < ti->nfiles; i++) {
		const hp_torrent_file *f = &ti->files[i];
		p.len = 0;
		if (ti->single_file ? hp_buf_adds(&p, ti->name, e)
				    : hp_buf_addf(&p, e, "%s/%s", ti->name, saved_path(f))) {
			rc = e->code ? e->code : HP_E_INTERNAL;
			goto out;
		}
		size_t before = l.n;
		if (hp_walk_add(&l, p.data, e) || l.n != before + 1 || l.v[before].type != HP_WALK_FILE) {
			rc = hp_fail(e, HP_E_INVALID, "%s: '%s' in '%s' is missing or not a regular file%s%s", t->path, p.data,
				       c->content, e->code ? ": " : "", e->code ? e->msg : "");
			goto out;
		}
		if (l.v[before].size != f->size) {
			rc = hp_fail(e, HP_E_INVALID, "%s: '%s' in '%s' does not match: %llu bytes, the torrent says %llu",
				       t->path, p.data, c->content, (unsigned long long)l.v[before].size,
				       (unsigned long long)f->size);
			goto out;
		}
	}
	bool v2 = ti->has_v2;
	hp_btpieces_opts po = { ti->piece_length, !v2, v2, false, 0, 0 };
	if (hp_btpieces_new(&po, &bp, e)) {
		rc = e->code ? e->code : HP_E_INTERNAL;
		goto out;
	}
	hp_digest_sink sink = hp_btpieces_sink(bp);
	hp_digest_opts o = { 0 };
	o.jobs = c->jobs;
	o.sinks = &sink;
	o.nsinks = 1;
	o.window = hp_btpieces_window(bp);
	run x = { HP_ERR_INIT, 0 };
	hc = hp_digest_list(&l, &o, on_result, &x, e);
	if (hc || x.err.code || hp_btpieces_finish(bp, e)) {
		if (!hc && x.err.code)
			*e = x.err;
		rc = e->code ? e->code : HP_E_INTERNAL;
		goto out;
	}
	if (v2) {
		roots = calloc(ti->nfiles ? ti->nfiles : 1, 32);
		if (!roots) {
			rc = hp_fail_nomem(e);
			goto out;
		}
		for (size_t i = 0; i < ti->nfiles; i++) {
			const hp_btpieces_file *f = hp_btpieces_file_at(bp, i);
			if (f->has_root)
				memcpy(roots + 32 * i, f->root, 32);
		}
	}
	size_t bad, nbad;
	if (hp_torrent_check_hashes(t->bytes.data, t->bytes.len, hp_btpieces_v1(bp), hp_btpieces_v1_count(bp), roots,
				    ti->nfiles, &bad, &nbad, e)) {
		rc = e->code ? e->code : HP_E_INTERNAL;
		goto out;
	}
	if (bad != (size_t)-1) {
		/* v1: a piece can span files; name each file it covers */
		p.len = 0;
		for (size_t i = bad; i < bad + nbad && i < ti->nfiles; i++) {
			if (ti->files[i].size == 0)
				continue;
			if (p.len && hp_buf_adds(&p, "', '", e))
				break;
			if (ti->single_file ? hp_buf_adds(&p, ti->name, e)
					    : hp_buf_addf(&p, e, "%s/%s", ti->name, saved_path(&ti->files[i])))
				break;
		}
		if (e->code) {
			rc = e->code ? e->code : HP_E_INTERNAL;
			goto out;
		}
		rc = hp_fail(e, HP_E_INVALID, "%s: %s'%s' in '%s' %s the torrent's hashes", t->path,
			       nbad > 1 ? "one of " : "", p.data, c->content, nbad > 1 ? "(sharing a piece) does not match" : "does not match");
		goto out;
	}
out:
	free(roots);
	hp_buf_release(&p);
	hp_btpieces_free(bp);
	hp_walk_free(&l);
	return rc;
}

/* ---- adding torrents ---- */

/* A new slot in s->t, zeroed (id -1). */
static seeded *slot(hp_seed *s, const char *label, hp_err *e)
{
	seeded *t = realloc(s->t, (s->n + 1) * sizeof *t);
	if (!t)
		return hp_fail_nomem(e), NULL;
	s->t = t;
	t = &s->t[s->n];
	memset(t, 0, sizeof *t);
	t->bytes = (hp_buf)HP_BUF_INIT;
	t->id = -1;
	t->path = strdup(label);
	if (!t->path)
		return hp_fail_nomem(e), NULL;
	s->n++;
	return t;
}

/* Forget the last slot (it failed). */
static void drop_last(hp_seed *s)
{
	seeded *t = &s->t[--s->n];
	free(t->path);
	hp_buf_release(&t->bytes);
	hp_torrent_info_free(t->ti);
}

hp_code hp_seed_add_file(hp_seed *s, const char *path, hp_err *e)
{
	const char *what = strcmp(path, "-") ? path : "<stdin>";
	seeded *t = slot(s, path, e);
	if (!t)
		return e->code;
	hp_code rc;
	if ((rc = hp_read_file(path, HP_TORRENT_MAX_BYTES, &t->bytes, e)) ||
	    (rc = hp_torrent_parse(t->bytes.data, t->bytes.len, what, &t->ti, e)) ||
	    (rc = check_content(s->o, t, e)))
		drop_last(s);
	return rc;
}

hp_code hp_seed_add_bytes(hp_seed *s, const void *torrent, size_t len, const char *label, bool checked, bool flat,
			  hp_err *e)
{
	seeded *t = slot(s, label, e);
	if (!t)
		return e->code;
	t->flat = flat;
	hp_code rc;
	if ((rc = hp_buf_add(&t->bytes, torrent, len, e)) ||
	    (rc = hp_torrent_parse(t->bytes.data, t->bytes.len, label, &t->ti, e)) ||
	    (!checked && (rc = check_content(s->o, t, e))))
		drop_last(s);
	return rc;
}

/* The manifest's files under the content folder and the canonical torrent
 * made from them, with the manifest's infohashes (HP_E_INVALID otherwise:
 * content or infohash mismatch, a missing file). */
hp_code hp_seed_add_manifest(hp_seed *s, const char *path, hp_err *e)
{
	const hp_seed_opts *c = s->o;
	json_t *m = NULL;
	hp_mkt_result r = HP_MKT_RESULT_INIT;
	hp_code rc;
	seeded *t = slot(s, path, e);
	if (!t)
		return e->code;
	t->flat = true;
	if ((rc = hp_manifest_load(path, HP_MANIFEST_UNSIGNED_OK, &m, e))) {
		hp_err_prefix(e, "%s", path);
		goto out;
	}
	hp_mkt_opts o = { 0 };
	o.jobs = c->jobs;
	if ((rc = hp_mkt_from_manifest(m, c->content, &o, &r, e))) {
		/* the content (or the manifest's infohash) does not match */
		if (rc == HP_E_INVALID || rc == HP_E_NOINPUT)
			rc = HP_E_INVALID;
		hp_err_prefix(e, "%s", path);
		e->code = rc;
		goto out;
	}
	/* hp_mkt checks them for a canonical torrent; say it here as well */
	const json_t *d = json_object_get(m, "distribution");
	const char *v1 = json_string_value(json_object_get(d, "torrent_infohash"));
	const char *v2 = json_string_value(json_object_get(d, "torrent_infohash_v2"));
	bool v1_differs = v1 && strcmp(v1, r.info->infohash_v1_hex);
	if (v1_differs || (v2 && strcmp(v2, r.info->infohash_v2_hex))) {
		rc = hp_fail(e, HP_E_INVALID, "%s: the content of '%s' makes the torrent %s, the manifest says %s", path,
			     c->content, v1_differs ? r.info->infohash_v1_hex : r.info->infohash_v2_hex,
			     v1_differs ? v1 : v2);
		goto out;
	}
	t->bytes = r.torrent;
	r.torrent = (hp_buf)HP_BUF_INIT;
	t->ti = r.info;
	r.info = NULL;
out:
	if (rc)
		drop_last(s);
	hp_mkt_result_free(&r);
	json_decref(m);
	return rc;
}

/* ---- metrics ---- */

static void make_metrics(hp_seed *s)
{
	hp_metrics *m = s->o->metrics;
	if (!m)
		return;
	const char *const torrent[] = { "infohash", "name", NULL };
	s->m_torrents = hp_metrics_gauge(m, "hp_seed_torrents",
					 "Torrents being seeded (every piece there, no error).", NULL);
	s->m_peers = hp_metrics_gauge(m, "hp_seed_peers", "Peers connected to the torrent.", torrent);
	s->m_uploaded = hp_metrics_counter(m, "hp_seed_uploaded_bytes_total",
					   "Payload bytes sent to the torrent's peers.", torrent);
	s->m_rate = hp_metrics_gauge(m, "hp_seed_upload_rate_bytes",
				     "Payload bytes per second sent to the torrent's peers, now.", torrent);
	s->m_hash_failures = hp_metrics_counter(
		m, "hp_seed_hash_failures_total",
		"Pieces that failed their hash check (bad data from a peer or the disk).", NULL);
	s->m_updated = hp_metrics_gauge(m, "hp_seed_last_update_timestamp_seconds",
					"When the hp_seed_* numbers were last refreshed (Unix time).", NULL);
	/* there from the start: none yet while the content is being checked; a
	 * counter at 0, so that increase() sees its first failure */
	hp_metric_set(s->m_torrents, NULL, 0);
	hp_metric_add(s->m_hash_failures, NULL, 0);
}

/* A torrent's series: its v1 infohash (else its v2 one) and its name. */
static void torrent_labels(const seeded *t, const char *labels[2])
{
	labels[0] = t->ti->infohash_v1_hex[0] ? t->ti->infohash_v1_hex : t->ti->infohash_v2_hex;
	labels[1] = t->ti->name;
}

static void update_torrent_metrics(hp_seed *s, seeded *t, const hp_bt_status *st)
{
	const char *labels[2];
	torrent_labels(t, labels);
	hp_metric_set(s->m_peers, labels, (double)st->peers);
	hp_metric_set(s->m_rate, labels, (double)st->upload_rate);
	/* libtorrent's count only grows while the torrent is in the session */
	hp_metric_add(s->m_uploaded, labels, st->uploaded > t->counted ? (double)(st->uploaded - t->counted) : 0);
	if (st->uploaded > t->counted)
		t->counted = st->uploaded;
}

/* ---- seeding ---- */

hp_code hp_seed_new(const hp_seed_opts *o, hp_seed **out, hp_err *e)
{
	*out = calloc(1, sizeof **out);
	if (!*out)
		return hp_fail_nomem(e);
	(*out)->o = o;
	make_metrics(*out);
	return HP_OK;
}

void hp_seed_free(hp_seed *s)
{
	if (!s)
		return;
	while (s->n)
		drop_last(s);
	free(s->t);
	free(s);
}

static hp_code save_resume(hp_seed *s, hp_bt_session *bs, seeded *t, hp_err *e)
{
	hp_buf b = HP_BUF_INIT, path = HP_BUF_INIT;
	hp_code rc;
	if (!(rc = hp_bt_session_save_resume(bs, t->id, 10000, &b, e)) &&
	    !(rc = hp_buf_addf(&path, e, "%s/%s.resume", s->o->resume_dir,
			       t->ti->infohash_v1_hex[0] ? t->ti->infohash_v1_hex : t->ti->infohash_v2_hex)) &&
	    !(rc = hp_write_file_atomic(path.data, b.data, b.len, 0644, 0, e))) {
		json_t *j = torrent_event("resume-saved", t);
		json_object_set_new(j, "file", hp_json_path_value(path.data, path.len));
		emit(s, j);
	}
	hp_buf_release(&b);
	hp_buf_release(&path);
	return rc;
}

static void report_uploaded(hp_seed *s, seeded *t, const hp_bt_status *st)
{
	json_t *j = torrent_event("uploaded", t);
	json_object_set_new(j, "bytes", json_integer((json_int_t)st->uploaded));
	json_object_set_new(j, "peers", json_integer(st->peers));
	emit(s, j);
	t->uploaded = st->uploaded;
	t->peers = st->peers;
}

/* A piece that fails its check as it is first uploaded (seed_mode hashes
 * each piece then: the content changed on disk since it was checked) is no
 * hash_failed_alert in libtorrent 2.0: the torrent leaves seed_mode, its
 * files are checked again and the piece is dropped. So pieces lost between
 * two looks outside a check are hash failures too, and an error event. */
static void count_lost_pieces(hp_seed *s, seeded *t, const hp_bt_status *st)
{
	/* from the first look at it seeding (seed_mode: every piece, even while
	 * its resume data is checked), then outside checks of the files */
	if (!t->pieces_seen) {
		t->pieces = st->pieces;
		t->pieces_seen = st->seeding;
		return;
	}
	if (st->checking)
		return;
	if (st->pieces < t->pieces) {
		uint64_t lost = t->pieces - st->pieces;
		hp_metric_add(s->m_hash_failures, NULL, (double)lost);
		json_t *j = torrent_event("error", t);
		json_object_set_new(j, "message", json_string("pieces failed their hash check: the content changed on "
								"disk since it was checked; the rest is still seeded"));
		json_object_set_new(j, "pieces", json_integer((json_int_t)lost));
		emit(s, j);
	}
	t->pieces = st->pieces;
}

/* One round of status: --peer reconnects, upload reports, errors. */
static hp_code tend(hp_seed *s, hp_bt_session *bs, bool first, const struct timespec *now,
		    struct timespec *last_report, struct timespec *last_connect, hp_err *e)
{
	const hp_seed_opts *c = s->o;
	time_t interval = c->interval ? (time_t)c->interval : 1;
	bool due = now->tv_sec - last_report->tv_sec >= interval;
	size_t seeding = 0;
	hp_code rc;
	for (size_t i = 0; i < s->n; i++) {
		seeded *t = &s->t[i];
		hp_bt_status st;
		if ((rc = hp_bt_session_status(bs, t->id, &st, e)))
			return rc;
		/* peers: connect at once, then again every 2 s while no peer is there */
		if (c->npeers && (first || (st.peers == 0 && now->tv_sec - last_connect->tv_sec >= 2))) {
			for (size_t k = 0; k < c->npeers; k++)
				if ((rc = hp_bt_session_connect_peer(bs, t->id, c->peers[k], e)))
					return rc;
			if (i + 1 == s->n)
				*last_connect = *now;
		}
		if (due && (st.uploaded != t->uploaded || st.peers != t->peers))
			report_uploaded(s, t, &st);
		count_lost_pieces(s, t, &st);
		/* the metrics at once, then at every report */
		if (first || due)
			update_torrent_metrics(s, t, &st);
		seeding += st.seeding && !st.has_error;
		if (st.has_error) {
			json_t *j = torrent_event("error", t);
			json_object_set_new(j, "message", json_string(st.error));
			emit(s, j);
		}
	}
	if (first || due) {
		hp_metric_set(s->m_torrents, NULL, (double)seeding);
		hp_metric_set(s->m_updated, NULL, (double)time(NULL));
	}
	if (due)
		*last_report = *now;
	return HP_OK;
}

hp_code hp_seed_run(hp_seed *s, hp_err *e)
{
	const hp_seed_opts *c = s->o;
	const char *listen = c->listen ? c->listen : "0.0.0.0:6881";
	hp_bt_session *bs = NULL;
	hp_code rc;
	/* the DHT's state beside the resume data, unless told where */
	hp_bt_net net = c->net;
	hp_buf state = HP_BUF_INIT;
	if (!net.dht_state && c->resume_dir && !hp_buf_addf(&state, NULL, "%s/dht.state", c->resume_dir))
		net.dht_state = state.data;
	rc = hp_bt_session_new(listen, &net, &bs, e);
	hp_buf_release(&state);
	if (rc || (rc = hp_bt_session_set_rate_limits(bs, c->upload_rate, 0, e)))
		goto out;
	for (size_t i = 0; i < s->n; i++) {
		seeded *t = &s->t[i];
		hp_bt_add a = { 0 };
		a.torrent = t->bytes.data;
		a.torrent_len = t->bytes.len;
		a.save_path = c->content;
		a.seed_mode = true;
		a.flat = t->flat;
		a.no_trackers = c->tracker_off;
		if ((rc = hp_bt_session_add(bs, &a, &t->id, e))) {
			hp_err_prefix(e, "%s", t->path);
			goto out;
		}
		json_t *j = torrent_event("seeding", t);
		json_object_set_new(j, "size", json_integer((json_int_t)t->ti->total_size));
		json_object_set_new(j, "files", json_integer((json_int_t)t->ti->nfiles));
		emit(s, j);
	}
	struct timespec last_report, last_connect;
	clock_gettime(CLOCK_MONOTONIC, &last_report);
	last_connect = last_report;
	for (bool first = true; !*c->stop; first = false) {
		if ((rc = hp_bt_session_poll(bs, 250, on_event, s, e)))
			goto out;
		if (s->listen_failed) {
			rc = hp_fail(e, HP_E_UNAVAILABLE, "cannot listen on %s: %s", listen, s->listen_msg);
			goto out;
		}
		struct timespec now;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if ((rc = tend(s, bs, first, &now, &last_report, &last_connect, e)))
			goto out;
	}
	for (size_t i = 0; c->resume_dir && i < s->n && !rc; i++)
		rc = save_resume(s, bs, &s->t[i], e);
	for (size_t i = 0; i < s->n; i++) {
		hp_bt_status st;
		hp_err ignored = HP_ERR_INIT;
		if (hp_bt_session_status(bs, s->t[i].id, &st, &ignored) == HP_OK) {
			report_uploaded(s, &s->t[i], &st);
			update_torrent_metrics(s, &s->t[i], &st);
		}
	}
	hp_metric_set(s->m_updated, NULL, (double)time(NULL));
	json_t *j = json_object();
	json_object_set_new(j, "event", json_string("stopped"));
	json_object_set_new(j, "signal", json_string(*c->stop == SIGINT ? "SIGINT" : "SIGTERM"));
	emit(s, j);
out:
	hp_bt_session_free(bs);
	return rc;
}
