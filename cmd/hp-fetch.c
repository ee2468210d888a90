/* hp-fetch: the files of a signed manifest, from IPFS (trustless gateways,
 * kubo's RPC), into a folder: the manifest verified first, every block
 * checked against its CID as it streams, every file checked against its
 * SHA-256 before it is renamed into place, resumable. See docs/hp-fetch.1
 * and docs/fetch.md. */
#include <getopt.h>
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

static const char usage_text[] =
	"Usage: hp-fetch [OPTIONS] MANIFEST -o DIR\n"
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
	"failed), \"source\", \"bytes\", \"size\"}, then {\"summary\": {...}}.\n"
	"\n"
	"  -o, --output DIR         the folder to fetch into (created if missing)\n"
	"  -k, --trusted-keys FILE  public keys to trust (repeatable; default\n"
	"                           $HP_TRUSTED_KEYS when set)\n"
	"      --allow-untrusted    accept a valid signature by a key not trusted\n"
	"      --state FILE         refuse rollbacks against FILE and record the version\n"
	"      --now TIME           judge expiry at TIME (RFC 3339 UTC) instead of now\n"
	"  -g, --gateway URL        a trustless gateway (repeatable, tried in order)\n"
	"      --no-manifest-gateway  do not use the manifest's ipfs_gateway\n"
	"      --kubo URL           kubo's RPC API (http://127.0.0.1:5001 or a multiaddr),\n"
	"                           after the gateways\n"
	"      --raw-blocks         ask gateways block by block (?format=raw), not for CARs\n"
	"  -t, --torrent FILE       fetch over BitTorrent first (libtorrent, TCP): the\n"
	"                           torrent's paths and sizes must be the manifest's\n"
	"      --peer IP:PORT       a BitTorrent peer to connect to (repeatable)\n"
	"      --bt-listen IP:PORT  where BitTorrent listens (default 0.0.0.0:0)\n"
	"      --download-rate KIB  limit BitTorrent downloads to KIB KiB/s (every peer\n"
	"                           and web seed, loopback included; 0: no limit)\n"
	"      --no-web-seeds       do not use the torrent's web seeds (BEP 19)\n"
	"      --piece-order ORDER  auto (default): in order when a wanted file is 64 MiB\n"
	"                           or more, so it is checked as it arrives, else\n"
	"                           rarest-first; in-order; rarest-first (kinder to a\n"
	"                           swarm of other downloaders)\n"
	"  -j, --jobs N             files fetched (and checked) at a time (0, the default:\n"
	"                           one per CPU for checking, one request at a time)\n"
	"      --timeout SECS       give up on a source that sends nothing for SECS\n"
	"                           seconds (default 30)\n"
	"      --memory MIB         memory for blocks that arrive before they are\n"
	"                           needed (default 64); beyond it they are spilled to a\n"
	"                           file in DIR/.hp-partial\n"
	"\n"
	"Common options:\n" CLI_COMMON_HELP
	"\n"
	"Exit status: 0 every file verified in place; 1 verification failed (bad or\n"
	"untrusted signature, expired, rollback, or content that never verified from\n"
	"any source); 64 usage; 65 malformed manifest or key file; 66 missing\n"
	"manifest; 69 no source reachable (or none had the content); 73 cannot\n"
	"create DIR or a file in it; 74 I/O error; 75 a source timed out, DIR is\n"
	"being written by another hp-fetch, or SIGTERM/SIGINT stopped the BitTorrent\n"
	"source (its verified pieces are kept: run again to resume).\n";

enum {
	OPT_ALLOW_UNTRUSTED = CLI_OPT_FIRST_FREE_,
	OPT_STATE,
	OPT_NOW,
	OPT_NO_MANIFEST_GATEWAY,
	OPT_KUBO,
	OPT_RAW_BLOCKS,
	OPT_TIMEOUT,
	OPT_MEMORY,
	OPT_PEER,
	OPT_BT_LISTEN,
	OPT_DOWNLOAD_RATE,
	OPT_NO_WEB_SEEDS,
	OPT_PIECE_ORDER,
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
	size_t memory;
	const char *torrent;
	const char **peers;
	size_t npeers;
	const char *bt_listen;
	uint64_t download_rate;  /* bytes/s */
	bool no_web_seeds;
	hp_bt_piece_order piece_order;
} config;

/* ---- options ---- */

static int parse(int argc, char **argv, config *c, bool *done)
{
	static const struct option opts[] = {
		CLI_COMMON_LONGOPTS,
		{ "output", required_argument, NULL, 'o' },
		{ "trusted-keys", required_argument, NULL, 'k' },
		{ "allow-untrusted", no_argument, NULL, OPT_ALLOW_UNTRUSTED },
		{ "state", required_argument, NULL, OPT_STATE },
		{ "now", required_argument, NULL, OPT_NOW },
		{ "gateway", required_argument, NULL, 'g' },
		{ "no-manifest-gateway", no_argument, NULL, OPT_NO_MANIFEST_GATEWAY },
		{ "kubo", required_argument, NULL, OPT_KUBO },
		{ "raw-blocks", no_argument, NULL, OPT_RAW_BLOCKS },
		{ "jobs", required_argument, NULL, 'j' },
		{ "timeout", required_argument, NULL, OPT_TIMEOUT },
		{ "memory", required_argument, NULL, OPT_MEMORY },
		{ "torrent", required_argument, NULL, 't' },
		{ "peer", required_argument, NULL, OPT_PEER },
		{ "bt-listen", required_argument, NULL, OPT_BT_LISTEN },
		{ "download-rate", required_argument, NULL, OPT_DOWNLOAD_RATE },
		{ "no-web-seeds", no_argument, NULL, OPT_NO_WEB_SEEDS },
		{ "piece-order", required_argument, NULL, OPT_PIECE_ORDER },
		{ NULL, 0, NULL, 0 },
	};
	int opt;
	char *end;
	hp_err e = HP_ERR_INIT;
	hp_buf b = HP_BUF_INIT;
	while ((opt = getopt_long(argc, argv, ":ho:k:g:j:t:", opts, NULL)) != -1) {
		switch (opt) {
		case 'h':
			fputs(usage_text, stdout);
			*done = true;
			return 0;
		case CLI_OPT_VERSION:
			*done = true;
			return cli_version();
		case 'o': c->out = optarg; break;
		case 'k': c->keys[c->nkeys++] = optarg; break;
		case OPT_ALLOW_UNTRUSTED: c->allow_untrusted = true; break;
		case OPT_STATE: c->state = optarg; break;
		case OPT_NOW:
			if (!hp_time_parse(optarg, &c->now))
				return cli_usage("'%s' is not an RFC 3339 UTC time such as 2026-01-31T12:00:00Z", optarg);
			break;
		case 'g':
		case OPT_KUBO:
			/* a bad URL is a usage error, found before anything else */
			hp_buf_reset(&b);
			if (hp_http_base_url(optarg, &b, &e)) {
				hp_buf_release(&b);
				return cli_usage("%s", e.msg);
			}
			if (opt == 'g')
				c->gateways[c->ngateways++] = optarg;
			else
				c->kubo = optarg;
			break;
		case 't': c->torrent = optarg; break;
		case OPT_PEER: c->peers[c->npeers++] = optarg; break;
		case OPT_BT_LISTEN: c->bt_listen = optarg; break;
		case OPT_NO_WEB_SEEDS: c->no_web_seeds = true; break;
		case OPT_PIECE_ORDER:
			if (!strcmp(optarg, "auto"))
				c->piece_order = HP_BT_ORDER_AUTO;
			else if (!strcmp(optarg, "in-order"))
				c->piece_order = HP_BT_ORDER_IN_ORDER;
			else if (!strcmp(optarg, "rarest-first"))
				c->piece_order = HP_BT_ORDER_RAREST_FIRST;
			else
				return cli_usage("--piece-order takes auto, in-order or rarest-first, not '%s'", optarg);
			break;
		case OPT_DOWNLOAD_RATE: {
			unsigned long v = strtoul(optarg, &end, 10);
			if (end == optarg || *end || optarg[0] == '-' || v > 2097151)
				return cli_usage("--download-rate takes KiB/s, from 0 to 2097151, not '%s'", optarg);
			c->download_rate = (uint64_t)v * 1024;
			break;
		}
		case OPT_NO_MANIFEST_GATEWAY: c->manifest_gateway = false; break;
		case OPT_RAW_BLOCKS: c->raw_blocks = true; break;
		case 'j':
			if (cli_parse_jobs(optarg, &c->jobs)) {
				hp_buf_release(&b);
				return EXIT_USAGE;
			}
			break;
		case OPT_TIMEOUT: {
			double v = strtod(optarg, &end);
			if (end == optarg || *end || !(v > 0) || v > 86400)
				return cli_usage("--timeout takes seconds, more than 0 and at most 86400, not '%s'", optarg);
			c->timeout_ms = (long)(v * 1000 + 0.5);
			if (c->timeout_ms < 1)
				c->timeout_ms = 1;
			break;
		}
		case OPT_MEMORY: {
			unsigned long v = strtoul(optarg, &end, 10);
			if (end == optarg || *end || optarg[0] == '-' || v > 1048576)
				return cli_usage("--memory takes MiB, from 0 to 1048576, not '%s'", optarg);
			c->memory = v ? (size_t)v << 20 : 1;  /* 0: spill everything */
			break;
		}
		default:
			if (!cli_common_option(opt)) {
				hp_buf_release(&b);
				return cli_option_error(opt, argv);
			}
		}
	}
	hp_buf_release(&b);
	if (argc - optind != 1)
		return cli_usage(optind >= argc ? "a MANIFEST is needed" : "only one MANIFEST at a time");
	c->manifest = argv[optind];
	if (!c->out)
		return cli_usage("the output folder is needed (-o DIR)");
	const char *env = getenv("HP_TRUSTED_KEYS");
	if (!c->nkeys && env && *env)
		c->keys[c->nkeys++] = env;
	return 0;
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
	hp_err e = HP_ERR_INIT;
	hp_plan_result r = HP_PLAN_RESULT_INIT;
	cli_on_stop_signals(cli_fetch_on_signal);
	hp_code rc = hp_plan_fetch(&po, &r, &e);
	cli_progress_clear();
	int code = 0;
	if (!r.summary && rc) {
		code = cli_plan_failed(c->manifest, rc, r.report, &e);
	} else if (r.summary) {
		json_t *line = json_pack("{s:O}", "summary", r.summary);
		cli_print_json(line);
		json_decref(line);
		code = rc ? cli_exit_code(rc == HP_E_DATA ? HP_E_INVALID : rc) : 0;
	}
	hp_plan_result_release(&r);
	return code;
}

int main(int argc, char **argv)
{
	cli_init("hp-fetch");
	opterr = 0;
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
	bool done = false;
	int rc = parse(argc, argv, &c, &done);
	if (!rc && !done)
		rc = fetch(&c);
	free(c.keys);
	free(c.gateways);
	free(c.peers);
	hp_http_cleanup();
	return cli_finish(rc);
}
