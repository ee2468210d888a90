/* hp-seed: seed torrents from a content folder. The content is checked
 * against each torrent's hashes first, by our own digest pipeline
 * (hp_btpieces), and only then added to a libtorrent session in seed_mode;
 * content that does not match is refused, naming the file. Events go to
 * stderr as JSON lines; SIGTERM or SIGINT stops it cleanly (exit 0). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "hp_seed.h"

#include "../lib/banned.h"

enum {
	OPT_TRACKER_OFF = CLI_OPT_FIRST_FREE_,
	OPT_RESUME_DIR,
	OPT_INTERVAL,
	OPT_UPLOAD_RATE,
	OPT_LISTEN,
	OPT_PEER,
	OPT_METRICS,
};

static const cli_option options[] = {
	{ 'c', 'c', "content", "DIR", "the folder holding the content (required)", NULL },
	{ 'c', 'd', NULL, "DIR", NULL, "content" },
	{ 'm', 'm', "manifest", "FILE", "seed the canonical torrent of this manifest (its\n"
	  "signature is not checked: the content is, by\nSHA-256)", NULL },
	{ OPT_LISTEN, 0, "listen", "IP:PORT", "the address to listen on (default 0.0.0.0:6881;\n"
	  "port 0 picks a free one, reported by the\nlistening event)", NULL },
	{ OPT_LISTEN, 'l', NULL, "IP:PORT", NULL, "listen" },
	{ OPT_PEER, 0, "peer", "IP:PORT", "connect out to this peer (repeatable; retried\n"
	  "while not connected): for clients that ignore\nloopback peers", NULL },
	{ OPT_PEER, 'p', NULL, "IP:PORT", NULL, "peer" },
	{ OPT_TRACKER_OFF, 0, "tracker-off", NULL, "do not announce to the torrents' trackers", NULL },
	{ OPT_RESUME_DIR, 0, "resume-dir", "DIR", "on stop, save each torrent's resume data as\n"
	  "DIR/<infohash>.resume", NULL },
	{ OPT_INTERVAL, 0, "interval", "SECS", "report uploads at most every SECS seconds\n(default 1)", NULL },
	{ OPT_UPLOAD_RATE, 0, "upload-rate", "KIB", "send at most KIB KiB/s in all (every peer,\n"
	  "loopback and local networks included; 0, the\ndefault: no limit)", NULL },
	{ OPT_METRICS, 0, "metrics", "ADDR:PORT", "serve Prometheus metrics on\n"
	  "http://ADDR:PORT/metrics (and /healthz); port 0:\n"
	  "any free one (in a listening event with\n\"metrics\")", NULL },
	{ 'j', 'j', "jobs", "N", "files read at a time while checking (default:\none per CPU)", NULL },
	CLI_BT_NET_OPTIONS,
	{ 0, 0, NULL, NULL, NULL, NULL },
};

static const cli_command command = {
	"Usage: hp-seed [OPTION]... TORRENT... --content DIR\n"
	"       hp-seed [OPTION]... --manifest MANIFEST --content DIR\n"
	"Seed each TORRENT from DIR, the folder that holds the torrent's NAME (its\n"
	"directory, or its one file). The content is read once and checked against\n"
	"the torrent's hashes (v2 file roots, or v1 pieces) before seeding: content\n"
	"that does not match is refused, naming the file, and nothing is seeded.\n"
	"Events are JSON lines on stderr: {\"event\":\"listening\",\"port\":N},\n"
	"{\"event\":\"seeding\",...}, {\"event\":\"peer\",...}, {\"event\":\"uploaded\",...},\n"
	"{\"event\":\"tracker\",...}, {\"event\":\"error\",...}, {\"event\":\"stopped\"}.\n"
	"SIGTERM or SIGINT stops it cleanly. With --metrics, Prometheus metrics\n"
	"(hp_seed_*: torrents, peers, bytes sent, upload rate, hash failures;\n"
	"docs/metrics.md), refreshed every --interval.\n"
	"With --manifest, seed the manifest's canonical torrent (hybrid, automatic\n"
	"piece size: what hp-mktorrent --from-manifest makes) from DIR, the folder\n"
	"holding the manifest's files: each file's size and SHA-256 are checked in\n"
	"the same read that hashes the pieces, and the infohashes must equal the\n"
	"manifest's distribution.torrent_infohash(_v2) when it records them.\n",
	options,
	"BitTorrent runs over TCP only, with DHT, local peer discovery, UPnP and\n"
	"NAT-PMP off.\n"
	"\n"
	"Exit status: 0 stopped by a signal; 1 the content does not match a torrent\n"
	"or the manifest (or is missing), or the manifest's infohashes are not those\n"
	"of its canonical torrent; 64 on a usage error; 65 for a malformed .torrent\n"
	"or manifest; 66 if a torrent or the manifest cannot be read; 69 if the\n"
	"address cannot be listened on; 74 on an I/O error.\n",
};

typedef struct config {
	const char *content;
	const char *manifest;
	const char *listen;
	const char **peers;
	size_t npeers;
	bool tracker_off;
	cli_bt_net net;
	const char *resume_dir;
	const char *metrics;
	unsigned interval;
	uint64_t upload_rate;  /* bytes/s, 0: none */
	unsigned jobs;
	const char *const *torrents;
	size_t ntorrents;
} config;

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
	stop_signal = sig;
}

/* A number from min to max, or false. */
static bool parse_number(const char *s, unsigned long min, unsigned long max, unsigned long *out)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (errno || *end || end == s || s[0] == '-' || v < min || v > max)
		return false;
	*out = v;
	return true;
}

static int on_option(void *ud, int id, const char *v)
{
	config *c = ud;
	unsigned long n;
	int rc, j;
	if (cli_bt_net_option(&c->net, id, v, &rc))
		return rc;
	switch (id) {
	case 'c':
		c->content = v;
		break;
	case 'm':
		if (c->manifest)
			return cli_usage("one --manifest at a time");
		c->manifest = v;
		break;
	case OPT_LISTEN:
		if (!strchr(v, ':'))
			return cli_usage("--listen '%s' is not IP:PORT", v);
		c->listen = v;
		break;
	case OPT_PEER: {
		const char **p = realloc(c->peers, (c->npeers + 1) * sizeof *p);
		if (!p)
			return cli_error(EXIT_SOFTWARE, "out of memory");
		c->peers = p;
		c->peers[c->npeers++] = v;
		break;
	}
	case OPT_TRACKER_OFF:
		c->tracker_off = true;
		break;
	case OPT_RESUME_DIR:
		c->resume_dir = v;
		break;
	case OPT_METRICS:
		c->metrics = v;
		break;
	case OPT_INTERVAL:
		if (!parse_number(v, 1, 86400, &n))
			return cli_usage("--interval '%s' is not a number of seconds from 1 to 86400", v);
		c->interval = (unsigned)n;
		break;
	case OPT_UPLOAD_RATE:
		if (!parse_number(v, 0, 2097151, &n))
			return cli_usage("--upload-rate '%s' is not a number of KiB/s from 0 to 2097151", v);
		c->upload_rate = (uint64_t)n * 1024;
		break;
	case 'j':
		if ((rc = cli_parse_jobs(v, &j)))
			return rc;
		c->jobs = (unsigned)j;
		break;
	}
	return 0;
}

static int parse_args(int argc, char **argv, config *c)
{
	c->listen = "0.0.0.0:6881";
	c->interval = 1;
	int first, rc = cli_parse(&command, argc, argv, on_option, c, &first);
	if (rc)
		return rc;
	if (c->manifest && first < argc)
		return cli_usage("--manifest seeds its own torrent: no TORRENT with it");
	if (!c->manifest && first >= argc)
		return cli_usage("no TORRENT to seed");
	if (!c->content)
		return cli_usage("--content DIR is required");
	c->torrents = (const char *const *)argv + first;
	c->ntorrents = c->manifest ? 1 : (size_t)(argc - first);
	return cli_bt_net_finish(&c->net);
}

/* ---- events on stderr ---- */

static void on_record(void *ud, const json_t *record)
{
	(void)ud;
	char *s = json_dumps(record, JSON_COMPACT | JSON_ENSURE_ASCII);
	if (s) {
		fprintf(stderr, "%s\n", s);
		fflush(stderr);
		free(s);
	}
}

static int seed(const config *c)
{
	hp_seed_opts o = { 0 };
	o.content = c->content;
	o.listen = c->listen;
	o.peers = c->peers;
	o.npeers = c->npeers;
	o.tracker_off = c->tracker_off;
	o.net = c->net.net;
	o.resume_dir = c->resume_dir;
	o.interval = c->interval;
	o.upload_rate = c->upload_rate;
	o.jobs = c->jobs;
	o.on_event = on_record;
	o.stop = &stop_signal;
	/* serving before the content is checked: a long check is seen (and
	 * /healthz answers), and an address that cannot be had fails at once */
	cli_metrics cm;
	int exit_code = cli_metrics_start(&cm, c->metrics);
	if (exit_code)
		return exit_code;
	json_t *listening = cli_metrics_listening(&cm);
	if (listening)
		on_record(NULL, listening);
	json_decref(listening);
	o.metrics = cm.m;
	hp_err e = HP_ERR_INIT;
	hp_seed *s = NULL;
	hp_code rc = hp_seed_new(&o, &s, &e);
	if (!rc && c->manifest)
		rc = hp_seed_add_manifest(s, c->manifest, &e);
	for (size_t i = 0; !rc && !c->manifest && i < c->ntorrents; i++)
		rc = hp_seed_add_file(s, c->torrents[i], &e);
	if (!rc) {
		cli_on_stop_signals(on_signal);
		rc = hp_seed_run(s, &e);
	}
	cli_metrics_stop(&cm);
	hp_seed_free(s);
	return rc ? cli_fail(&e) : 0;
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
	cli_bt_net_free(&c.net);
	return cli_finish(rc);
}
