/* hp-seed: seed torrents from a content folder. The content is checked
 * against each torrent's hashes first, by our own digest pipeline
 * (hp_btpieces), and only then added to a libtorrent session in seed_mode;
 * content that does not match is refused, naming the file. Events go to
 * stderr as JSON lines; SIGTERM or SIGINT stops it cleanly (exit 0). */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "hp_btpieces.h"
#include "hp_buf.h"
#include "hp_digest.h"
#include "hp_io.h"
#include "hp_json.h"
#include "hp_manifest.h"
#include "hp_mkt.h"
#include "hp_torrent.h"
#include "hp_walk.h"

#include "../lib/banned.h"

static const char usage_text[] =
	"Usage: hp-seed [OPTION]... TORRENT... --content DIR\n"
	"       hp-seed [OPTION]... --manifest MANIFEST --content DIR\n"
	"Seed each TORRENT from DIR, the folder that holds the torrent's NAME (its\n"
	"directory, or its one file). The content is read once and checked against\n"
	"the torrent's hashes (v2 file roots, or v1 pieces) before seeding: content\n"
	"that does not match is refused, naming the file, and nothing is seeded.\n"
	"Events are JSON lines on stderr: {\"event\":\"listening\",\"port\":N},\n"
	"{\"event\":\"seeding\",...}, {\"event\":\"peer\",...}, {\"event\":\"uploaded\",...},\n"
	"{\"event\":\"tracker\",...}, {\"event\":\"error\",...}, {\"event\":\"stopped\"}.\n"
	"SIGTERM or SIGINT stops it cleanly.\n"
	"With --manifest, seed the manifest's canonical torrent (hybrid, automatic\n"
	"piece size: what hp-mktorrent --from-manifest makes) from DIR, the folder\n"
	"holding the manifest's files: each file's size and SHA-256 are checked in\n"
	"the same read that hashes the pieces, and the infohashes must equal the\n"
	"manifest's distribution.torrent_infohash(_v2) when it records them.\n"
	"\n"
	"  -d, --content DIR    the folder holding the content (required)\n"
	"  -m, --manifest FILE  seed the canonical torrent of this manifest (its\n"
	"                       signature is not checked: the content is, by SHA-256)\n"
	"  -l, --listen IP:PORT  the address to listen on (default 0.0.0.0:6881;\n"
	"                       port 0 picks a free one, reported by the listening event)\n"
	"  -p, --peer IP:PORT   connect out to this peer (repeatable; retried while\n"
	"                       not connected): for clients that ignore loopback peers\n"
	"      --tracker-off    do not announce to the torrents' trackers\n"
	"      --resume-dir DIR  on stop, save each torrent's resume data as\n"
	"                       DIR/<infohash>.resume\n"
	"      --interval SECS  report uploads at most every SECS seconds (default 1)\n"
	"      --upload-rate KIB  send at most KIB KiB/s in all (every peer, loopback\n"
	"                       and local networks included; 0, the default: no limit)\n"
	"  -j, --jobs N         files read at a time while checking (default: CPUs)\n"
	CLI_COMMON_HELP
	"\n"
	"BitTorrent runs over TCP only, with DHT, local peer discovery, UPnP and\n"
	"NAT-PMP off.\n"
	"\n"
	"Exit status: 0 stopped by a signal; 1 the content does not match a torrent\n"
	"or the manifest (or is missing), or the manifest's infohashes are not those\n"
	"of its canonical torrent; 64 on a usage error; 65 for a malformed .torrent\n"
	"or manifest; 66 if a torrent or the manifest cannot be read; 69 if the\n"
	"address cannot be listened on; 74 on an I/O error.\n";

enum {
	OPT_TRACKER_OFF = CLI_OPT_FIRST_FREE_,
	OPT_RESUME_DIR,
	OPT_INTERVAL,
	OPT_UPLOAD_RATE,
};

typedef struct config {
	const char *content;
	const char *manifest;
	const char *listen;
	const char **peers;
	size_t npeers;
	bool tracker_off;
	const char *resume_dir;
	unsigned interval;
	uint64_t upload_rate;  /* bytes/s, 0: none */
	unsigned jobs;
	char **torrents;
	size_t ntorrents;
} config;

typedef struct seeded {
	const char *path;
	hp_buf bytes;
	hp_torrent_info *ti;
	int id;
	uint64_t uploaded;  /* last reported */
	int peers;
	bool flat;          /* a manifest's files: at DIR/PATH, not DIR/NAME/PATH */
} seeded;

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
	stop_signal = sig;
}

static int parse_args(int argc, char **argv, config *c)
{
	static const struct option longopts[] = {
		{ "content", required_argument, NULL, 'd' },
		{ "manifest", required_argument, NULL, 'm' },
		{ "listen", required_argument, NULL, 'l' },
		{ "peer", required_argument, NULL, 'p' },
		{ "tracker-off", no_argument, NULL, OPT_TRACKER_OFF },
		{ "resume-dir", required_argument, NULL, OPT_RESUME_DIR },
		{ "interval", required_argument, NULL, OPT_INTERVAL },
		{ "upload-rate", required_argument, NULL, OPT_UPLOAD_RATE },
		{ "jobs", required_argument, NULL, 'j' },
		CLI_COMMON_LONGOPTS,
		{ NULL, 0, NULL, 0 },
	};
	int opt, rc;
	c->listen = "0.0.0.0:6881";
	c->interval = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":d:m:l:p:j:h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'd':
			c->content = optarg;
			break;
		case 'm':
			if (c->manifest)
				return cli_usage("one --manifest at a time");
			c->manifest = optarg;
			break;
		case 'l':
			if (!strchr(optarg, ':'))
				return cli_usage("--listen '%s' is not IP:PORT", optarg);
			c->listen = optarg;
			break;
		case 'p': {
			const char **p = realloc(c->peers, (c->npeers + 1) * sizeof *p);
			if (!p)
				return cli_error(EXIT_SOFTWARE, "out of memory");
			c->peers = p;
			c->peers[c->npeers++] = optarg;
			break;
		}
		case OPT_TRACKER_OFF:
			c->tracker_off = true;
			break;
		case OPT_RESUME_DIR:
			c->resume_dir = optarg;
			break;
		case OPT_INTERVAL: {
			char *end;
			errno = 0;
			unsigned long v = strtoul(optarg, &end, 10);
			if (errno || *end || end == optarg || v == 0 || v > 86400 || optarg[0] == '-')
				return cli_usage("--interval '%s' is not a number of seconds from 1 to 86400", optarg);
			c->interval = (unsigned)v;
			break;
		}
		case OPT_UPLOAD_RATE: {
			char *end;
			errno = 0;
			unsigned long v = strtoul(optarg, &end, 10);
			if (errno || *end || end == optarg || v > 2097151 || optarg[0] == '-')
				return cli_usage("--upload-rate '%s' is not a number of KiB/s from 0 to 2097151", optarg);
			c->upload_rate = (uint64_t)v * 1024;
			break;
		}
		case 'j': {
			int j;
			if ((rc = cli_parse_jobs(optarg, &j)))
				return rc;
			c->jobs = (unsigned)j;
			break;
		}
		case 'h':
			fputs(usage_text, stdout);
			return -1;
		case CLI_OPT_VERSION:
			cli_version();
			return -1;
		case ':':
		case '?':
			return cli_option_error(opt, argv);
		default:
			if (!cli_common_option(opt))
				return cli_option_error('?', argv);
		}
	}
	if (c->manifest && optind < argc)
		return cli_usage("--manifest seeds its own torrent: no TORRENT with it");
	if (!c->manifest && optind >= argc)
		return cli_usage("no TORRENT to seed");
	if (!c->content)
		return cli_usage("--content DIR is required");
	c->torrents = argv + optind;
	c->ntorrents = c->manifest ? 1 : (size_t)(argc - optind);
	return 0;
}

/* ---- events on stderr ---- */

static void emit(json_t *j)
{
	if (!j)
		return;
	char *s = json_dumps(j, JSON_COMPACT | JSON_ENSURE_ASCII);
	if (s) {
		fprintf(stderr, "%s\n", s);
		fflush(stderr);
		free(s);
	}
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

typedef struct loop {
	seeded *t;
	size_t n;
	int listen_failed;
	char listen_msg[512];
} loop;

static void on_event(void *ud, const hp_bt_event *ev)
{
	loop *L = ud;
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
	}
	emit(j);
}

/* ---- checking the content ---- */

static hp_err walk_err;

static void on_walk(void *ud, hp_walk_event ev, const hp_err *e)
{
	(void)ud;
	if (ev == HP_WALK_ERROR && !walk_err.code)
		walk_err = *e;
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

/* 0 when DIR holds the torrent's content, else the exit code (1 when it
 * does not match, naming the file). */
static int check_content(const config *c, seeded *t)
{
	const hp_torrent_info *ti = t->ti;
	hp_err e = HP_ERR_INIT;
	hp_walk_list l = HP_WALK_LIST_INIT;
	hp_btpieces *bp = NULL;
	uint8_t *roots = NULL;
	hp_buf p = HP_BUF_INIT;
	int rc = 0;

	hp_walk_opts wo = { c->content, HP_WALK_RELATIVE, on_walk, NULL };
	if (hp_walk_init(&l, &wo, &e)) {
		rc = cli_fail(&e);
		goto out;
	}
	for (size_t i = 0; i < ti->nfiles; i++) {
		const hp_torrent_file *f = &ti->files[i];
		p.len = 0;
		if (ti->single_file ? hp_buf_adds(&p, ti->name, &e)
				    : hp_buf_addf(&p, &e, "%s/%s", ti->name, saved_path(f))) {
			rc = cli_fail(&e);
			goto out;
		}
		size_t before = l.n;
		if (hp_walk_add(&l, p.data, &e) || l.n != before + 1 || l.v[before].type != HP_WALK_FILE) {
			rc = cli_error(EXIT_INVALID, "%s: '%s' in '%s' is missing or not a regular file%s%s", t->path, p.data,
				       c->content, e.code ? ": " : "", e.code ? e.msg : "");
			goto out;
		}
		if (l.v[before].size != f->size) {
			rc = cli_error(EXIT_INVALID, "%s: '%s' in '%s' does not match: %llu bytes, the torrent says %llu",
				       t->path, p.data, c->content, (unsigned long long)l.v[before].size,
				       (unsigned long long)f->size);
			goto out;
		}
	}
	bool v2 = ti->has_v2;
	hp_btpieces_opts po = { ti->piece_length, !v2, v2, false, 0, 0 };
	if (hp_btpieces_new(&po, &bp, &e)) {
		rc = cli_fail(&e);
		goto out;
	}
	hp_digest_sink sink = hp_btpieces_sink(bp);
	hp_digest_opts o = { 0 };
	o.jobs = c->jobs;
	o.sinks = &sink;
	o.nsinks = 1;
	o.window = hp_btpieces_window(bp);
	run x = { HP_ERR_INIT, 0 };
	hp_code hc = hp_digest_list(&l, &o, on_result, &x, &e);
	if (hc || x.err.code || hp_btpieces_finish(bp, &e)) {
		rc = cli_fail(hc ? &e : x.err.code ? &x.err : &e);
		goto out;
	}
	if (v2) {
		roots = calloc(ti->nfiles ? ti->nfiles : 1, 32);
		if (!roots) {
			rc = cli_error(EXIT_SOFTWARE, "out of memory");
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
				    ti->nfiles, &bad, &nbad, &e)) {
		rc = cli_fail(&e);
		goto out;
	}
	if (bad != (size_t)-1) {
		/* v1: a piece can span files; name each file it covers */
		p.len = 0;
		for (size_t i = bad; i < bad + nbad && i < ti->nfiles; i++) {
			if (ti->files[i].size == 0)
				continue;
			if (p.len && hp_buf_adds(&p, "', '", &e))
				break;
			if (ti->single_file ? hp_buf_adds(&p, ti->name, &e)
					    : hp_buf_addf(&p, &e, "%s/%s", ti->name, saved_path(&ti->files[i])))
				break;
		}
		if (e.code) {
			rc = cli_fail(&e);
			goto out;
		}
		rc = cli_error(EXIT_INVALID, "%s: %s'%s' in '%s' %s the torrent's hashes", t->path,
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

/* ---- a manifest's canonical torrent ---- */

/* 0 when DIR holds the manifest's files and the canonical torrent made from
 * them has the manifest's infohashes; t gets the torrent. Else the exit code
 * (1: content or infohash mismatch, a missing file). */
static int from_manifest(const config *c, seeded *t)
{
	hp_err e = HP_ERR_INIT;
	json_t *m = NULL;
	hp_mkt_result r = HP_MKT_RESULT_INIT;
	int rc = 0;
	t->path = c->manifest;
	t->flat = true;
	if (hp_manifest_load(c->manifest, HP_MANIFEST_UNSIGNED_OK, &m, &e)) {
		hp_err_prefix(&e, "%s", c->manifest);
		rc = cli_fail(&e);
		goto out;
	}
	hp_mkt_opts o = { 0 };
	o.jobs = c->jobs;
	hp_code hc = hp_mkt_from_manifest(m, c->content, &o, &r, &e);
	if (hc) {
		/* the content (or the manifest's infohash) does not match: 1 */
		rc = hc == HP_E_INVALID || hc == HP_E_NOINPUT ? cli_error(EXIT_INVALID, "%s: %s", c->manifest, e.msg)
							       : cli_fail(&e);
		goto out;
	}
	/* hp_mkt checks them for a canonical torrent; say it here as well */
	const json_t *d = json_object_get(m, "distribution");
	const char *v1 = json_string_value(json_object_get(d, "torrent_infohash"));
	const char *v2 = json_string_value(json_object_get(d, "torrent_infohash_v2"));
	if ((v1 && strcmp(v1, r.info->infohash_v1_hex)) || (v2 && strcmp(v2, r.info->infohash_v2_hex))) {
		rc = cli_error(EXIT_INVALID, "%s: the content of '%s' makes the torrent %s, the manifest says %s",
			       c->manifest, c->content,
			       v1 && strcmp(v1, r.info->infohash_v1_hex) ? r.info->infohash_v1_hex
									 : r.info->infohash_v2_hex,
			       v1 && strcmp(v1, r.info->infohash_v1_hex) ? v1 : v2);
		goto out;
	}
	t->bytes = r.torrent;
	r.torrent = (hp_buf)HP_BUF_INIT;
	t->ti = r.info;
	r.info = NULL;
out:
	hp_mkt_result_free(&r);
	json_decref(m);
	return rc;
}

/* ---- seeding ---- */

static int save_resume(const config *c, hp_bt_session *s, seeded *t)
{
	hp_err e = HP_ERR_INIT;
	hp_buf b = HP_BUF_INIT, path = HP_BUF_INIT;
	int rc = 0;
	if (hp_bt_session_save_resume(s, t->id, 10000, &b, &e) ||
	    hp_buf_addf(&path, &e, "%s/%s.resume", c->resume_dir,
			t->ti->infohash_v1_hex[0] ? t->ti->infohash_v1_hex : t->ti->infohash_v2_hex) ||
	    hp_write_file_atomic(path.data, b.data, b.len, 0644, 0, &e))
		rc = cli_fail(&e);
	else {
		json_t *j = torrent_event("resume-saved", t);
		json_object_set_new(j, "file", hp_json_path_value(path.data, path.len));
		emit(j);
	}
	hp_buf_release(&b);
	hp_buf_release(&path);
	return rc;
}

static int seed(const config *c)
{
	hp_err e = HP_ERR_INIT;
	hp_bt_session *s = NULL;
	seeded *t = calloc(c->ntorrents, sizeof *t);
	int rc = 0;
	if (!t)
		return cli_error(EXIT_SOFTWARE, "out of memory");
	if (c->manifest) {
		t[0].id = -1;
		if ((rc = from_manifest(c, &t[0])))
			goto out;
	}
	for (size_t i = 0; !c->manifest && i < c->ntorrents; i++) {
		t[i].path = c->torrents[i];
		t[i].id = -1;
		const char *what = strcmp(t[i].path, "-") ? t[i].path : "<stdin>";
		if (hp_read_file(t[i].path, HP_TORRENT_MAX_BYTES, &t[i].bytes, &e) ||
		    hp_torrent_parse(t[i].bytes.data, t[i].bytes.len, what, &t[i].ti, &e)) {
			rc = cli_fail(&e);
			goto out;
		}
		if ((rc = check_content(c, &t[i])))
			goto out;
	}

	cli_on_stop_signals(on_signal);

	if (hp_bt_session_new(c->listen, &s, &e) || hp_bt_session_set_rate_limits(s, c->upload_rate, 0, &e)) {
		rc = cli_fail(&e);
		goto out;
	}
	for (size_t i = 0; i < c->ntorrents; i++) {
		hp_bt_add a = { 0 };
		a.torrent = t[i].bytes.data;
		a.torrent_len = t[i].bytes.len;
		a.save_path = c->content;
		a.seed_mode = true;
		a.flat = t[i].flat;
		a.no_trackers = c->tracker_off;
		if (hp_bt_session_add(s, &a, &t[i].id, &e)) {
			hp_err_prefix(&e, "%s", t[i].path);
			rc = cli_fail(&e);
			goto out;
		}
		json_t *j = torrent_event("seeding", &t[i]);
		json_object_set_new(j, "size", json_integer((json_int_t)t[i].ti->total_size));
		json_object_set_new(j, "files", json_integer((json_int_t)t[i].ti->nfiles));
		emit(j);
	}

	loop L = { t, c->ntorrents, 0, "" };
	struct timespec last_report, last_connect;
	clock_gettime(CLOCK_MONOTONIC, &last_report);
	last_connect = last_report;
	bool first = true;
	while (!stop_signal) {
		if (hp_bt_session_poll(s, 250, on_event, &L, &e)) {
			rc = cli_fail(&e);
			goto out;
		}
		if (L.listen_failed) {
			rc = cli_error(EXIT_UNAVAILABLE, "cannot listen on %s: %s", c->listen, L.listen_msg);
			goto out;
		}
		struct timespec now;
		clock_gettime(CLOCK_MONOTONIC, &now);
		for (size_t i = 0; i < c->ntorrents; i++) {
			hp_bt_status st;
			if (hp_bt_session_status(s, t[i].id, &st, &e)) {
				rc = cli_fail(&e);
				goto out;
			}
			/* --peer: connect at once, then again every 2 s while no peer is there */
			if (c->npeers && (first || (st.peers == 0 && now.tv_sec - last_connect.tv_sec >= 2))) {
				for (size_t k = 0; k < c->npeers; k++)
					if (hp_bt_session_connect_peer(s, t[i].id, c->peers[k], &e)) {
						rc = cli_fail(&e);
						goto out;
					}
				if (i + 1 == c->ntorrents)
					last_connect = now;
			}
			if (now.tv_sec - last_report.tv_sec >= (time_t)c->interval &&
			    (st.uploaded != t[i].uploaded || st.peers != t[i].peers)) {
				json_t *j = torrent_event("uploaded", &t[i]);
				json_object_set_new(j, "bytes", json_integer((json_int_t)st.uploaded));
				json_object_set_new(j, "peers", json_integer(st.peers));
				emit(j);
				t[i].uploaded = st.uploaded;
				t[i].peers = st.peers;
			}
			if (st.has_error) {
				json_t *j = torrent_event("error", &t[i]);
				json_object_set_new(j, "message", json_string(st.error));
				emit(j);
			}
		}
		if (now.tv_sec - last_report.tv_sec >= (time_t)c->interval)
			last_report = now;
		first = false;
	}
	for (size_t i = 0; c->resume_dir && i < c->ntorrents; i++)
		if (!rc)
			rc = save_resume(c, s, &t[i]);
	for (size_t i = 0; i < c->ntorrents; i++) {
		hp_bt_status st;
		if (hp_bt_session_status(s, t[i].id, &st, &e) == HP_OK) {
			json_t *j = torrent_event("uploaded", &t[i]);
			json_object_set_new(j, "bytes", json_integer((json_int_t)st.uploaded));
			json_object_set_new(j, "peers", json_integer(st.peers));
			emit(j);
		}
	}
	{
		json_t *j = json_object();
		json_object_set_new(j, "event", json_string("stopped"));
		json_object_set_new(j, "signal", json_string(stop_signal == SIGINT ? "SIGINT" : "SIGTERM"));
		emit(j);
	}
out:
	hp_bt_session_free(s);
	for (size_t i = 0; i < c->ntorrents; i++) {
		hp_buf_release(&t[i].bytes);
		hp_torrent_info_free(t[i].ti);
	}
	free(t);
	return rc;
}

int main(int argc, char **argv)
{
	config c;
	memset(&c, 0, sizeof c);
	cli_init("hp-seed");
	int rc = parse_args(argc, argv, &c);
	if (rc == 0)
		rc = seed(&c);
	else if (rc < 0)
		rc = 0;
	free(c.peers);
	return cli_finish(rc);
}
