/* hp-fetch: the files of a signed manifest, from IPFS (trustless gateways,
 * kubo's RPC), into a folder: the manifest verified first, every block
 * checked against its CID as it streams, every file checked against its
 * SHA-256 before it is renamed into place, resumable. See docs/hp-fetch.1
 * and docs/fetch.md. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "hp_bt_fetch.h"
#include "hp_buf.h"
#include "hp_fetch.h"
#include "hp_http.h"
#include "hp_plan.h"
#include "hp_json.h"
#include "hp_time.h"
#include "../lib/banned.h"

enum {
	OPT_ALLOW_UNTRUSTED = CLI_OPT_FIRST_FREE_,
	OPT_STATE,
	OPT_NOW,
	OPT_NO_MANIFEST_GATEWAY,
	OPT_KUBO,
	OPT_RAW_BLOCKS,
	OPT_TIMEOUT,
	OPT_MEMORY,
	OPT_TORRENT,
	OPT_PEER,
	OPT_LISTEN,
	OPT_DOWNLOAD_RATE,
	OPT_NO_WEB_SEEDS,
	OPT_PIECE_ORDER,
	OPT_TRACKER,
	OPT_MIN_RATE,
	OPT_DEADLINE,
};

static const cli_option fetch_options[] = {
	{ 'O', 'O', "output-dir", "DIR", "the folder to fetch into (created if missing)", NULL },
	{ 'O', 'o', "output", "DIR", NULL, "output-dir" },
	{ 'k', 'k', "trusted-keys", "FILE",
	  "public keys to trust (repeatable; default\n"
	  "$HP_TRUSTED_KEYS when set)",
	  NULL },
	{ OPT_ALLOW_UNTRUSTED, 0, "allow-untrusted", NULL, "accept a valid signature by a key not trusted", NULL },
	{ OPT_STATE, 0, "state", "FILE", "refuse rollbacks against FILE and record the\nversion", NULL },
	{ OPT_NOW, 0, "now", "TIME", "judge expiry at TIME (RFC 3339 UTC) instead of now", NULL },
	{ 'g', 'g', "gateway", "URL", "a trustless gateway (repeatable, tried in order)", NULL },
	{ OPT_NO_MANIFEST_GATEWAY, 0, "no-manifest-gateway", NULL, "do not use the manifest's ipfs_gateway", NULL },
	{ OPT_KUBO, 0, "kubo", "URL",
	  "kubo's RPC API (http://127.0.0.1:5001 or a\n"
	  "multiaddr), after the gateways",
	  NULL },
	{ OPT_RAW_BLOCKS, 0, "raw-blocks", NULL,
	  "ask gateways block by block (?format=raw), not\n"
	  "for CARs",
	  NULL },
	{ OPT_TORRENT, 0, "torrent", "FILE",
	  "fetch over BitTorrent first (a .torrent, or a\n"
	  "magnet link: its metadata from peers): the\n"
	  "torrent's paths and sizes must be the manifest's",
	  NULL },
	{ OPT_TORRENT, 't', NULL, "FILE", NULL, "torrent" },
	{ OPT_PEER, 0, "peer", "IP:PORT", "a BitTorrent peer to connect to (repeatable)", NULL },
	{ OPT_TRACKER, 0, "tracker", "URL", "a tracker to ask for peers, besides the\n"
	  "torrent's (repeatable)", NULL },
	CLI_BT_NET_OPTIONS,
	{ OPT_LISTEN, 0, "listen", "IP:PORT", "where BitTorrent listens (default 0.0.0.0:0)", NULL },
	{ OPT_LISTEN, 0, "bt-listen", "IP:PORT", NULL, "listen" },
	{ OPT_DOWNLOAD_RATE, 0, "download-rate", "KIB",
	  "limit BitTorrent downloads to KIB KiB/s (every\n"
	  "peer and web seed, loopback included; 0: no\n"
	  "limit)",
	  NULL },
	{ OPT_NO_WEB_SEEDS, 0, "no-web-seeds", NULL, "do not use the torrent's web seeds (BEP 19)", NULL },
	{ OPT_PIECE_ORDER, 0, "piece-order", "ORDER",
	  "auto (default): in order when a wanted file is\n"
	  "64 MiB or more, so it is checked as it arrives,\n"
	  "else rarest-first; in-order; rarest-first\n"
	  "(kinder to a swarm of other downloaders)",
	  NULL },
	{ 'j', 'j', "jobs", "N",
	  "files fetched (and checked) at a time (0, the\n"
	  "default: one per CPU for checking, one request\n"
	  "at a time)",
	  NULL },
	{ OPT_TIMEOUT, 0, "timeout", "SECS",
	  "give up on a source that sends nothing for SECS\n"
	  "seconds (default 30)",
	  NULL },
	{ OPT_MIN_RATE, 0, "min-rate", "KIB",
	  "drop a source slower than KIB KiB/s over a\n"
	  "--timeout span for the next one (default 1)",
	  NULL },
	{ OPT_DEADLINE, 0, "deadline", "SECS",
	  "give each source at most SECS seconds in all,\n"
	  "then the next one (default: no limit)",
	  NULL },
	{ OPT_MEMORY, 0, "memory", "MIB",
	  "memory for blocks that arrive before they are\n"
	  "needed (default 64); beyond it they are spilled\n"
	  "to a file in DIR/.hp-partial",
	  NULL },
	{ 0, 0, NULL, NULL, NULL, NULL },
};

static const cli_command fetch_cmd = {
	"Usage: hp-fetch [OPTIONS] MANIFEST -O DIR\n"
	"\n"
	"Fetch the files of MANIFEST into DIR. The manifest is verified first, as\n"
	"hp-verify does (signature by a trusted key, expiry, rollback): nothing is\n"
	"requested before that. Then files already in DIR with the right size and\n"
	"SHA-256 are kept, and each source in turn is handed what the ones before\n"
	"could not deliver: BitTorrent (--torrent), the --gateway URLs in order,\n"
	"--kubo, then the manifest's ipfs_gateway (docs/fetch.md). Every block is\n"
	"checked against its CID as it arrives, each file is written under\n"
	"DIR/.hp-partial and renamed into place only when its size and\n"
	"SHA-256 match the manifest. Run it again to resume.\n"
	"\n"
	"Prints one JSON line per file, {\"path\", \"status\" (present, fetched or\n"
	"failed), \"source\", \"bytes\", \"size\"}, then {\"summary\": {...}}.\n",
	fetch_options,
	"Exit status: 0 every file verified in place; 1 verification failed (bad or\n"
	"untrusted signature, expired, rollback, or content that never verified from\n"
	"any source); 64 usage; 65 malformed manifest or key file; 66 missing\n"
	"manifest; 69 no source reachable (or none had the content); 73 cannot\n"
	"create DIR or a file in it; 74 I/O error; 75 a source timed out, DIR is\n"
	"being written by another hp-fetch, or SIGTERM/SIGINT stopped the BitTorrent\n"
	"source (its verified pieces are kept: run again to resume).\n",
};

typedef struct config {
	const char *manifest;
	const char *out;
	const char **keys;
	size_t nkeys;
	bool allow_untrusted;
	const char *state;
	time_t now;
	const char **gateways;
	size_t ngateways;
	bool manifest_gateway;
	const char *kubo;
	bool raw_blocks;
	int jobs;
	long timeout_ms;
	uint32_t min_rate;
	long deadline_ms;
	size_t memory;
	const char *torrent;
	cli_strlist trackers;
	cli_bt_net net;
	const char **peers;
	size_t npeers;
	const char *bt_listen;
	uint64_t download_rate;  /* bytes/s */
	bool no_web_seeds;
	hp_bt_piece_order piece_order;
} config;

/* ---- options ---- */

/* --gateway and --kubo: a bad URL is a usage error, found before anything
 * else. */
static int check_url(const char *v)
{
	hp_err e = HP_ERR_INIT;
	hp_buf b = HP_BUF_INIT;
	hp_code rc = hp_http_base_url(v, &b, &e);
	hp_buf_release(&b);
	return rc ? cli_usage("%s", e.msg) : 0;
}

static int parse_piece_order(const char *v, hp_bt_piece_order *out)
{
	if (!strcmp(v, "auto"))
		*out = HP_BT_ORDER_AUTO;
	else if (!strcmp(v, "in-order"))
		*out = HP_BT_ORDER_IN_ORDER;
	else if (!strcmp(v, "rarest-first"))
		*out = HP_BT_ORDER_RAREST_FIRST;
	else
		return cli_usage("--piece-order takes auto, in-order or rarest-first, not '%s'", v);
	return 0;
}

/* A whole number from 0 to max, digits only. */
static bool parse_count(const char *v, unsigned long max, unsigned long *out)
{
	char *end;
	unsigned long n = strtoul(v, &end, 10);
	if (end == v || *end || v[0] == '-' || n > max)
		return false;
	*out = n;
	return true;
}

static int parse_seconds(const char *opt, const char *v, long *ms)
{
	char *end;
	double secs = strtod(v, &end);
	if (end == v || *end || !(secs > 0) || secs > 86400)
		return cli_usage("%s takes seconds, more than 0 and at most 86400, not '%s'", opt, v);
	*ms = (long)(secs * 1000 + 0.5);
	if (*ms < 1)
		*ms = 1;
	return 0;
}

static int fetch_option(void *ud, int id, const char *v)
{
	config *c = ud;
	unsigned long n;
	int rc;
	if (cli_bt_net_option(&c->net, id, v, &rc))
		return rc;
	switch (id) {
	case 'O': c->out = v; break;
	case 'k': c->keys[c->nkeys++] = v; break;
	case OPT_ALLOW_UNTRUSTED: c->allow_untrusted = true; break;
	case OPT_STATE: c->state = v; break;
	case OPT_NOW:
		if (!hp_time_parse(v, &c->now))
			return cli_usage("'%s' is not an RFC 3339 UTC time such as 2026-01-31T12:00:00Z", v);
		break;
	case 'g':
		if (check_url(v))
			return EXIT_USAGE;
		c->gateways[c->ngateways++] = v;
		break;
	case OPT_KUBO:
		if (check_url(v))
			return EXIT_USAGE;
		c->kubo = v;
		break;
	case OPT_NO_MANIFEST_GATEWAY: c->manifest_gateway = false; break;
	case OPT_RAW_BLOCKS: c->raw_blocks = true; break;
	case OPT_TORRENT: c->torrent = v; break;
	case OPT_PEER: c->peers[c->npeers++] = v; break;
	case OPT_TRACKER: cli_strlist_add(&c->trackers, v); break;
	case OPT_LISTEN: c->bt_listen = v; break;
	case OPT_NO_WEB_SEEDS: c->no_web_seeds = true; break;
	case OPT_PIECE_ORDER: return parse_piece_order(v, &c->piece_order);
	case 'j': return cli_parse_jobs(v, &c->jobs) ? EXIT_USAGE : 0;
	case OPT_TIMEOUT: return parse_seconds("--timeout", v, &c->timeout_ms);
	case OPT_MIN_RATE:
		if (!parse_count(v, 2097151, &n) || n == 0)
			return cli_usage("--min-rate takes KiB/s, from 1 to 2097151, not '%s'", v);
		c->min_rate = (uint32_t)(n * 1024);
		break;
	case OPT_DEADLINE:
		return parse_seconds("--deadline", v, &c->deadline_ms);
	case OPT_DOWNLOAD_RATE:
		if (!parse_count(v, 2097151, &n))
			return cli_usage("--download-rate takes KiB/s, from 0 to 2097151, not '%s'", v);
		c->download_rate = (uint64_t)n * 1024;
		break;
	case OPT_MEMORY:
		if (!parse_count(v, 1048576, &n))
			return cli_usage("--memory takes MiB, from 0 to 1048576, not '%s'", v);
		c->memory = n ? (size_t)n << 20 : 1;  /* 0: spill everything */
		break;
	}
	return 0;
}

/* 0, -1 when --help or --version has been answered, or an exit code. */
static int parse(int argc, char **argv, config *c)
{
	int first, rc = cli_parse(&fetch_cmd, argc, argv, fetch_option, c, &first);
	if (rc)
		return rc;
	if (argc - first != 1)
		return cli_usage(first >= argc ? "a MANIFEST is needed" : "only one MANIFEST at a time");
	c->manifest = argv[first];
	if (!c->out)
		return cli_usage("the output folder is needed (-O DIR)");
	const char *env = getenv("HP_TRUSTED_KEYS");
	if (!c->nkeys && env && *env)
		c->keys[c->nkeys++] = env;
	return cli_bt_net_finish(&c->net);
}

/* ---- acting ---- */

static int fetch(const config *c)
{
	hp_plan_opts po = { 0 };
	po.fetch.out_dir = c->out;
	po.fetch.trusted_key_files = c->keys;
	po.fetch.n_trusted_key_files = c->nkeys;
	po.fetch.allow_untrusted = c->allow_untrusted;
	po.fetch.state_path = c->state;
	po.fetch.now = c->now;
	po.fetch.jobs = c->jobs;
	po.fetch.on_event = cli_fetch_event;
	po.fetch.stop = &cli_stop_signal;
	po.manifest = c->manifest;
	po.torrent = c->torrent;
	po.peers = c->peers;
	po.npeers = c->npeers;
	po.bt_listen = c->bt_listen;
	po.trackers = c->trackers.v;
	po.ntrackers = c->trackers.n;
	po.bt_net = c->net.net;
	po.download_rate = c->download_rate;
	po.no_web_seeds = c->no_web_seeds;
	po.piece_order = c->piece_order;
	po.gateways = c->gateways;
	po.ngateways = c->ngateways;
	po.no_manifest_gateway = !c->manifest_gateway;
	po.kubo = c->kubo;
	po.raw_blocks = c->raw_blocks;
	po.memory = c->memory;
	po.timeout_ms = c->timeout_ms;
	po.min_rate = c->min_rate;
	po.deadline_ms = c->deadline_ms;
	hp_err e = HP_ERR_INIT;
	hp_plan_result r = HP_PLAN_RESULT_INIT;
	cli_on_stop_signals(cli_fetch_on_signal);
	hp_code rc = hp_plan_fetch(&po, &r, &e);
	cli_progress_clear();
	int code = cli_fetch_finish(c->manifest, rc, &r, &e);
	hp_plan_result_release(&r);
	return code;
}

int main(int argc, char **argv)
{
	cli_init("hp-fetch");
	config c;
	memset(&c, 0, sizeof c);
	c.manifest_gateway = true;
	c.keys = calloc((size_t)argc + 1, sizeof *c.keys);
	c.gateways = calloc((size_t)argc + 1, sizeof *c.gateways);
	c.peers = calloc((size_t)argc + 1, sizeof *c.peers);
	if (!c.keys || !c.gateways || !c.peers) {
		free(c.peers);
		free(c.keys);
		free(c.gateways);
		return cli_error(EXIT_SOFTWARE, "out of memory");
	}
	int rc = parse(argc, argv, &c);
	if (!rc)
		rc = fetch(&c);
	else if (rc < 0)
		rc = 0;
	free(c.keys);
	free(c.gateways);
	free(c.peers);
	cli_strlist_free(&c.trackers);
	cli_bt_net_free(&c.net);
	hp_http_cleanup();
	return cli_finish(rc);
}
