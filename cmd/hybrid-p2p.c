/* hybrid-p2p: the umbrella command of the quick start, in one process: each
 * subcommand is options, one library call (hp_publish, hp_plan_fetch,
 * hp_verify_manifest, key generation) and printing. See docs/registry.md. */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cli.h"
#include "hp_http.h"
#include "hp_io.h"
#include "hp_json.h"
#include "hp_plan.h"
#include "hp_publish.h"
#include "hp_registry.h"
#include "hp_resolve.h"
#include "hp_time.h"
#include "hp_unixfs.h"
#include "hp_verify.h"
#include "../lib/banned.h"

static const char usage_text[] =
	"Usage: hybrid-p2p COMMAND [ARGS...]\n"
	"\n"
	"Hybrid content distribution: signed manifests in git, bytes over IPFS and\n"
	"BitTorrent, every byte verified.\n"
	"\n"
	"Commands:\n"
	"  keygen   make an Ed25519 signing key (~/.hybrid_p2p/keys/mykey.pem and .pub)\n"
	"  publish  describe, sign, make the CAR and .torrent, pin, commit to the git\n"
	"           registry and seed; one JSON line per step\n"
	"  fetch    verify a manifest (from the registry: NAME@VERSION or NAME), then\n"
	"           fetch every file from BitTorrent and IPFS, every byte checked\n"
	"  verify   check a manifest's signature, expiry, rollback, and the files\n"
	"\n"
	"'hybrid-p2p COMMAND --help' shows a command's options. The single-purpose\n"
	"tools: hp-hash, hp-cid, hp-manifest, hp-sign, hp-verify, hp-mktorrent, hp-pin,\n"
	"hp-seed, hp-fetch.\n"
	"\n"
	"  -h, --help     show this help and exit\n"
	"      --version  show the version and exit\n";

/* ---- shared ---- */

/* ~/REL into out, or NULL without HOME. */
static const char *home_path(const char *rel, char *out, size_t size)
{
	const char *home = getenv("HOME");
	if (!home || !*home)
		return NULL;
	snprintf(out, size, "%s/%s", home, rel);
	return out;
}

/* The trusted keys when none is given: $HP_TRUSTED_KEYS, else
 * ~/.hybrid_p2p/trusted_keys when it exists. */
static void default_trusted_keys(cli_strlist *keys, char *buf, size_t size)
{
	struct stat st;
	const char *env = getenv("HP_TRUSTED_KEYS");
	if (keys->n)
		return;
	if (env && *env)
		cli_strlist_add(keys, env);
	else if (home_path(".hybrid_p2p/trusted_keys", buf, size) && stat(buf, &st) == 0)
		cli_strlist_add(keys, buf);
}

/* The DHT's state when no --dht-state is given: ~/.hybrid_p2p/dht.state when
 * that folder exists (keygen makes it), so a publisher or fetcher joins the
 * DHT at once the next time. */
static void default_dht_state(hp_bt_net *net, char *buf, size_t size)
{
	struct stat st;
	if (!net->dht_state && !net->no_dht && home_path(".hybrid_p2p", buf, size) && stat(buf, &st) == 0 &&
	    S_ISDIR(st.st_mode) && home_path(".hybrid_p2p/dht.state", buf, size))
		net->dht_state = buf;
}

/* One JSON line on stdout; a failed step's "code" becomes its "exit". */
static void print_step(const json_t *record)
{
	json_t *j = json_deep_copy(record);
	json_t *code = json_object_get(j, "code");
	if (code) {
		json_object_set_new(j, "exit", json_integer(cli_exit_code((hp_code)json_integer_value(code))));
		json_object_del(j, "code");
	}
	cli_progress_clear();
	cli_print_json(j);
	fflush(stdout);
	json_decref(j);
}

static int parse_seconds(const char *opt, const char *s, long *ms)
{
	char *end;
	double v = strtod(s, &end);
	if (end == s || *end || !(v > 0) || v > 86400)
		return cli_usage("%s takes seconds, more than 0 and at most 86400, not '%s'", opt, s);
	*ms = (long)(v * 1000 + 0.5);
	return 0;
}

enum {
	OPT_FORCE = CLI_OPT_FIRST_FREE_,
	OPT_PASSFILE,
	OPT_ASK,
	OPT_ALLOW_UNTRUSTED,
	OPT_STATE,
	OPT_CAR,
	OPT_NO_CAR,
	OPT_TORRENT,
	OPT_KEY,
	OPT_LISTEN,
	OPT_DESCRIPTION,
	OPT_EXPIRES,
	OPT_PROFILE,
	OPT_IPFS_GATEWAY,
	OPT_WEB_SEED,
	OPT_ALLOW_DIRTY,
	OPT_NO_GIT,
	OPT_KUBO,
	OPT_CLUSTER,
	OPT_PSA,
	OPT_BRANCH,
	OPT_CACHE,
	OPT_SEED,
	OPT_PEER,
	OPT_TIMEOUT,
	OPT_TRACKER,
	OPT_ANNOUNCE_ADDR,
	OPT_CREATE_REGISTRY,
	OPT_MIN_RATE,
	OPT_DEADLINE,
	OPT_METRICS,
};

/* ---- keygen ---- */

static const cli_option keygen_options[] = {
	{ 'O', 'O', "output-dir", "DIR", "the folder (default ~/.hybrid_p2p/keys, made 0700)", NULL },
	{ 'O', 'o', "output", "DIR", NULL, "output-dir" },
	{ 'n', 'n', "name", "NAME", "the files' base name (default mykey)", NULL },
	{ OPT_FORCE, 0, "force", NULL, "replace existing key files", NULL },
	{ OPT_PASSFILE, 0, "passphrase-file", "FILE", "encrypt the key with the first line of FILE", NULL },
	{ OPT_ASK, 0, "ask-passphrase", NULL, "ask for a passphrase on the terminal\n($HP_PASSPHRASE, when set, is used too)",
	  NULL },
	{ 0, 0, NULL, NULL, NULL, NULL },
};

static const cli_command keygen_cmd = {
	"Usage: hybrid-p2p keygen [-O DIR] [-n NAME] [--force] [OPTIONS]\n"
	"\n"
	"Make an Ed25519 signing key: DIR/NAME.pem (PKCS#8, mode 0600) and DIR/NAME.pub.\n"
	"Prints {\"private_key_file\", \"public_key_file\", \"key_id\", \"public_key_b64\",\n"
	"\"encrypted\"} (and, this release, \"private_key\", \"public_key\": the paths).\n",
	keygen_options,
	"Exit status: 0 made; 64 usage; 73 cannot create the files (or they exist).\n",
};

typedef struct keygen_cfg {
	const char *dir, *name, *passfile;
	bool force, ask;
} keygen_cfg;

static int keygen_option(void *ud, int id, const char *v)
{
	keygen_cfg *c = ud;
	switch (id) {
	case 'O': c->dir = v; break;
	case 'n': c->name = v; break;
	case OPT_FORCE: c->force = true; break;
	case OPT_PASSFILE: c->passfile = v; break;
	case OPT_ASK: c->ask = true; break;
	}
	return 0;
}

static int cmd_keygen(int argc, char **argv)
{
	keygen_cfg c = { NULL, "mykey", NULL, false, false };
	char keys[PATH_MAX];
	int first, rc = cli_parse(&keygen_cmd, argc, argv, keygen_option, &c, &first);
	if (rc)
		return rc < 0 ? 0 : rc;
	if (first != argc)
		return cli_usage("keygen takes no arguments");
	if (c.passfile && c.ask)
		return cli_usage("--passphrase-file and --ask-passphrase exclude each other");
	if (!c.dir && !(c.dir = home_path(".hybrid_p2p/keys", keys, sizeof keys)))
		return cli_usage("HOME is not set: give -O DIR");
	return cli_keygen(c.dir, c.name, c.force, c.passfile, c.ask);
}

/* ---- verify ---- */

static const cli_command verify_cmd = {
	"Usage: hybrid-p2p verify MANIFEST [DIR] [OPTIONS]\n"
	"\n"
	"Check the manifest's form, its signature against the trusted keys, its\n"
	"expiry and (with --state) that it is not a rollback; then, with DIR, every\n"
	"file in DIR. Prints one JSON report (as hp-verify). Trusted keys: the\n"
	"--trusted-keys files, else $HP_TRUSTED_KEYS, else ~/.hybrid_p2p/trusted_keys.\n",
	cli_verify_options,
	"Exit status: 0 valid; 1 invalid; 64 usage; 65 malformed manifest or key;\n"
	"66 missing manifest or folder; 74 I/O error; 77 permission denied.\n",
};

static int cmd_verify(int argc, char **argv)
{
	cli_verify_cfg c;
	cli_verify_cfg_init(&c);
	char trusted[PATH_MAX];
	int first, rc = cli_parse(&verify_cmd, argc, argv, cli_verify_option, &c, &first);
	if (rc)
		goto out;
	int nargs = argc - first;
	if (nargs < 1 || nargs > 2 || (nargs == 2 && c.o.content_dir)) {
		rc = cli_usage("verify takes MANIFEST and an optional DIR (or --content DIR)");
		goto out;
	}
	if (nargs == 2)
		c.o.content_dir = argv[first + 1];
	default_trusted_keys(&c.keys, trusted, sizeof trusted);
	c.o.trusted_key_files = c.keys.v;
	c.o.n_trusted_key_files = c.keys.n;
	hp_err e = HP_ERR_INIT;
	json_t *report = NULL;
	hp_code hc = hp_verify_manifest(argv[first], &c.o, &report, &e);
	rc = cli_verify_report(report, hc, &e, c.pretty);
out:
	free(c.keys.v);
	return rc < 0 ? 0 : rc;
}

/* ---- publish ---- */

static const cli_option publish_options[] = {
	{ 'n', 'n', "name", "NAME", "package name", NULL },
	{ 'V', 'V', "version", "VERSION", "package version (NAME@VERSION in the registry)", NULL },
	{ 'u', 'u', "uploader-id", "ID", "who publishes it (provenance.uploader_id)", NULL },
	{ OPT_KEY, 0, "key", "FILE", "the Ed25519 signing key (passphrase from\n--passphrase-file, $HP_PASSPHRASE or the terminal)",
	  NULL },
	{ OPT_KEY, 'k', NULL, "FILE", NULL, "key" },
	{ OPT_PASSFILE, 0, "passphrase-file", "FILE", "the key's passphrase, first line of FILE", NULL },
	{ 'o', 'o', "output", "FILE", "where the signed manifest goes", NULL },
	{ OPT_CAR, 0, "car", "FILE", "the CAR (default: beside --output, NAME-VERSION.car)", NULL },
	{ OPT_NO_CAR, 0, "no-car", NULL, "make no CAR (for publishers who pin elsewhere)", NULL },
	{ OPT_TORRENT, 0, "torrent", "FILE", "the .torrent (default: beside --output,\nNAME-VERSION.torrent)", NULL },
	{ OPT_DESCRIPTION, 0, "description", "TEXT", "the manifest's description", NULL },
	{ OPT_EXPIRES, 0, "expires", "TIME", "clients refuse the manifest after TIME (RFC 3339)", NULL },
	{ OPT_PROFILE, 0, "profile", "PROFILE", "UnixFS import profile of the CIDs (see hp-cid;\ndefault unixfs-v1-2025)", NULL },
	{ OPT_IPFS_GATEWAY, 0, "ipfs-gateway", "URL", "a gateway to list in the manifest", NULL },
	{ OPT_WEB_SEED, 0, "web-seed", "URL", "an HTTP web seed, in the manifest and the torrent\n(repeatable)", NULL },
	{ 't', 't', "tracker", "URL", "a BitTorrent tracker (repeatable)", NULL },
	{ OPT_ALLOW_DIRTY, 0, "allow-dirty", NULL, "publish from a git work tree with uncommitted changes", NULL },
	{ OPT_NO_GIT, 0, "no-git", NULL, "do not record git provenance", NULL },
	{ OPT_KUBO, 0, "kubo", "URL", "destination: import the CAR into this kubo and pin it\n(repeatable; token from $HP_KUBO_TOKEN)",
	  NULL },
	{ OPT_CLUSTER, 0, "cluster", "URL", "destination: pin on this IPFS Cluster (repeatable;\n$HP_CLUSTER_TOKEN)", NULL },
	{ OPT_PSA, 0, "psa", "URL", "destination: pin on this Pinning Service API\n(repeatable; $HP_PSA_TOKEN)", NULL },
	{ OPT_TIMEOUT, 0, "timeout", "SECS", "the longest wait on a silent registry or pinning\n"
	  "node, and each pin request's time, polling\nincluded (default: 30 for the registry, 120\nfor pins; see hp-pin)", NULL },
	{ 'r', 'r', "registry", "URL", "commit the manifest and .torrent to this git registry\nand push (default $HP_REGISTRY; token for HTTP(S)\nfrom $HP_REGISTRY_TOKEN)",
	  NULL },
	{ OPT_BRANCH, 0, "registry-branch", "BRANCH", "the registry's branch (default main)", NULL },
	{ OPT_CACHE, 0, "registry-cache", "DIR", "the registry's local cache", NULL },
	{ OPT_CREATE_REGISTRY, 0, "create-registry", NULL, "create a local registry (a path or file://) that does\nnot exist yet: an empty bare repository", NULL },
	{ OPT_SEED, 0, "seed", NULL, "then seed the torrent until SIGINT or SIGTERM (the\nseeder's events on stderr, as hp-seed's)",
	  NULL },
	{ OPT_LISTEN, 0, "listen", "IP:PORT", "where the seeder listens (default 0.0.0.0:6881)", NULL },
	{ OPT_LISTEN, 0, "seed-listen", "IP:PORT", NULL, "listen" },
	{ OPT_METRICS, 0, "metrics", "ADDR:PORT", "with --seed: serve the seeder's Prometheus metrics\non http://ADDR:PORT/metrics (as hp-seed --metrics)", NULL },
	{ OPT_ANNOUNCE_ADDR, 0, "announce-addr", "HOST:PORT", "where others reach the seeder: in the manifest's\n"
	  "magnet (x.pe), so a fetch finds it with no\ntracker (repeatable)", NULL },
	CLI_BT_NET_OPTIONS,
	{ 0, 0, NULL, NULL, NULL, NULL },
};

static const cli_command publish_cmd = {
	"Usage: hybrid-p2p publish FILE... --name NAME --version VERSION --uploader-id ID\n"
	"                          --key FILE --output FILE [OPTIONS]\n"
	"\n"
	"Describe FILE... in a signed manifest (SHA-256, IPFS CIDs, BitTorrent\n"
	"infohashes and magnet, from one read), write its CAR and .torrent, then hand\n"
	"it to each destination: pinning nodes, the registry, a seeder. The key, the\n"
	"destinations and the work tree are checked before any byte is read. One JSON\n"
	"line per step on stdout: {\"step\", \"status\", ...}. A destination that fails\n"
	"does not stop the others; run the same command again to complete the rest.\n"
	"(--version here is the package's; 'hybrid-p2p --version' is the tool's.)\n",
	publish_options,
	"Exit status: 0 every step done; otherwise the worst step's: 1 the registry\n"
	"holds this version with other content, or a dirty work tree; 64 usage;\n"
	"65 malformed input or key; 66 missing input; 69 a destination unavailable;\n"
	"73/74 cannot write the outputs; 75 temporary failure; 77 credentials refused\n"
	"or a key readable by others.\n",
};

typedef struct pub_cfg {
	hp_publish_opts o;
	cli_strlist web_seeds, trackers, kubo, cluster, psa, announce;
	cli_bt_net net;
	char dht_state[PATH_MAX];
	hp_torrent_tracker *tiers;
	const char *passfile;
	const char *metrics;
} pub_cfg;

static void pub_cfg_free(pub_cfg *c)
{
	free(c->web_seeds.v);
	free(c->trackers.v);
	free(c->kubo.v);
	free(c->cluster.v);
	free(c->psa.v);
	free(c->announce.v);
	free(c->tiers);
	cli_bt_net_free(&c->net);
}

static int publish_option(void *ud, int id, const char *v)
{
	pub_cfg *c = ud;
	hp_publish_opts *o = &c->o;
	hp_manifest_meta *m = &o->package.meta;
	int rc;
	if (cli_bt_net_option(&c->net, id, v, &rc))
		return rc;
	switch (id) {
	case 'n': m->name = v; break;
	case 'V': m->version = v; break;
	case 'u': m->uploader_id = v; break;
	case OPT_KEY: o->key = v; break;
	case 'o': o->output = v; break;
	case 'r': o->registry.url = v; break;
	case OPT_PASSFILE: c->passfile = v; break;
	case OPT_CAR: o->package.car_path = v; break;
	case OPT_NO_CAR: o->no_car = true; break;
	case OPT_TORRENT: o->package.torrent_path = v; break;
	case OPT_DESCRIPTION: m->description = v; break;
	case OPT_EXPIRES: m->expires = v; break;
	case OPT_PROFILE: o->package.profile = v; break;
	case OPT_IPFS_GATEWAY: m->ipfs_gateway = v; break;
	case OPT_WEB_SEED: cli_strlist_add(&c->web_seeds, v); break;
	case 't': cli_strlist_add(&c->trackers, v); break;
	case OPT_ALLOW_DIRTY: o->allow_dirty = true; break;
	case OPT_NO_GIT: o->no_git = true; break;
	case OPT_KUBO: cli_strlist_add(&c->kubo, v); break;
	case OPT_CLUSTER: cli_strlist_add(&c->cluster, v); break;
	case OPT_PSA: cli_strlist_add(&c->psa, v); break;
	case OPT_TIMEOUT:
		rc = parse_seconds("--timeout", v, &o->pin_timeout_ms);
		o->registry.timeout_ms = o->pin_timeout_ms;
		return rc;
	case OPT_BRANCH: o->registry.branch = v; break;
	case OPT_CACHE: o->registry.cache_dir = v; break;
	case OPT_CREATE_REGISTRY: o->registry.create_local = true; break;
	case OPT_SEED: o->seed = true; break;
	case OPT_LISTEN:
		if (!strchr(v, ':'))
			return cli_usage("--listen '%s' is not IP:PORT", v);
		o->seed_opts.listen = v;
		break;
	case OPT_ANNOUNCE_ADDR: cli_strlist_add(&c->announce, v); break;
	case OPT_METRICS: c->metrics = v; break;
	}
	return 0;
}

static int parse_publish(int argc, char **argv, pub_cfg *c)
{
	hp_publish_opts *o = &c->o;
	hp_manifest_meta *m = &o->package.meta;
	o->package.profile = HP_UNIXFS_PROFILE_DEFAULT;
	o->package.mime = true;
	int first, rc = cli_parse(&publish_cmd, argc, argv, publish_option, c, &first);
	if (rc)
		return rc;
	o->package.paths = (const char *const *)argv + first;
	o->package.npaths = (size_t)(argc - first);
	if (!o->package.npaths)
		return cli_usage("publish needs FILE...");
	if (!m->name || !m->version || !m->uploader_id || !o->key || !o->output)
		return cli_usage("publish needs --name, --version, --uploader-id, --key and --output");
	if (m->expires && !hp_time_parse(m->expires, NULL))
		return cli_usage("'%s' is not an RFC 3339 UTC time such as 2026-01-31T12:00:00Z", m->expires);
	m->web_seeds = c->web_seeds.v;
	m->n_web_seeds = c->web_seeds.n;
	if (c->trackers.n && !(c->tiers = calloc(c->trackers.n, sizeof *c->tiers)))
		return cli_error(EXIT_SOFTWARE, "out of memory");
	for (size_t i = 0; i < c->trackers.n; i++) {
		if (!hp_torrent_tracker_url_ok(c->trackers.v[i]))
			return cli_usage("'%s' is not a tracker URL (http://, https:// or udp://)", c->trackers.v[i]);
		c->tiers[i].url = c->trackers.v[i];
		c->tiers[i].tier = (unsigned)i;
	}
	o->package.trackers = c->tiers;
	o->package.ntrackers = c->trackers.n;
	o->kubo = c->kubo.v;
	o->nkubo = c->kubo.n;
	o->cluster = c->cluster.v;
	o->ncluster = c->cluster.n;
	o->psa = c->psa.v;
	o->npsa = c->psa.n;
	o->passphrase = cli_key_passphrase;
	o->passphrase_ud = (void *)(uintptr_t)c->passfile;
	o->package.announce = c->announce.v;
	o->package.nannounce = c->announce.n;
	rc = cli_bt_net_finish(&c->net);
	default_dht_state(&c->net.net, c->dht_state, sizeof c->dht_state);
	o->seed_opts.net = c->net.net;
	return rc;
}

static bool failure_said;

static void on_publish(void *ud, const hp_publish_event *ev)
{
	(void)ud;
	switch (ev->kind) {
	case HP_PUBLISH_EV_STEP:
		print_step(ev->record);
		return;
	case HP_PUBLISH_EV_SEED: {
		char *s = json_dumps(ev->record, JSON_COMPACT | JSON_ENSURE_ASCII);
		if (s)
			fprintf(stderr, "%s\n", s);
		fflush(stderr);
		free(s);
		return;
	}
	case HP_PUBLISH_EV_WARNING:
		cli_progress_clear();
		cli_warn("%s", ev->warning->msg);
		return;
	case HP_PUBLISH_EV_FAILED:
		failure_said = true;
		cli_progress_clear();
		cli_error(cli_exit_code(ev->warning->code), "%s", ev->warning->msg);
		return;
	case HP_PUBLISH_EV_PROGRESS:
		cli_progress(NULL, ev->done, ev->total);
		return;
	}
}

static volatile sig_atomic_t stop_signal;

static void on_stop(int sig)
{
	stop_signal = sig;
}

static int cmd_publish(int argc, char **argv)
{
	pub_cfg c;
	memset(&c, 0, sizeof c);
	int rc = parse_publish(argc, argv, &c);
	if (rc) {
		pub_cfg_free(&c);
		return rc < 0 ? 0 : rc;
	}
	c.o.on_event = on_publish;
	c.o.progress_ms = cli.progress ? cli_progress_ms() : 0;
	c.o.stop = &stop_signal;
	if (c.metrics && !c.o.seed) {
		pub_cfg_free(&c);
		return cli_usage("--metrics goes with --seed");
	}
	/* the seeder's metrics, served from the start (as hp-seed does) */
	cli_metrics cm;
	if ((rc = cli_metrics_start(&cm, c.metrics))) {
		pub_cfg_free(&c);
		return rc;
	}
	json_t *listening = cli_metrics_listening(&cm);
	if (listening) {
		hp_publish_event lev = { 0 };
		lev.kind = HP_PUBLISH_EV_SEED;
		lev.record = listening;
		on_publish(NULL, &lev);
		json_decref(listening);
	}
	c.o.seed_opts.metrics = cm.m;
	if (c.o.seed)
		cli_on_stop_signals(on_stop);
	hp_err e = HP_ERR_INIT;
	hp_code hc = hp_publish(&c.o, &e);
	cli_metrics_stop(&cm);
	cli_progress_clear();
	/* a failed step has said why already; a failed check has not */
	if (hc && !failure_said)
		cli_fail(&e);
	rc = cli_exit_code(hc);
	pub_cfg_free(&c);
	return rc;
}

/* ---- fetch ---- */

static const cli_option fetch_options[] = {
	{ 'O', 'O', "output-dir", "DIR", "the folder to fetch into", NULL },
	{ 'O', 'o', "output", "DIR", NULL, "output-dir" },
	{ 'r', 'r', "registry", "URL", "the registry (default $HP_REGISTRY; token for\nHTTP(S) from $HP_REGISTRY_TOKEN)", NULL },
	{ OPT_BRANCH, 0, "registry-branch", "BRANCH", "the registry's branch (default main)", NULL },
	{ OPT_CACHE, 0, "registry-cache", "DIR", "the registry's local cache", NULL },
	{ 'k', 'k', "trusted-keys", "FILE", "public keys to trust (repeatable; default\n$HP_TRUSTED_KEYS, else ~/.hybrid_p2p/trusted_keys)",
	  NULL },
	{ OPT_ALLOW_UNTRUSTED, 0, "allow-untrusted", NULL, "accept a valid signature by a key not trusted", NULL },
	{ OPT_STATE, 0, "state", "FILE", "refuse versions older than one seen; record this one", NULL },
	{ 'g', 'g', "gateway", "URL", "a trustless IPFS gateway (repeatable)", NULL },
	{ OPT_KUBO, 0, "kubo", "URL", "a kubo RPC API", NULL },
	{ OPT_TORRENT, 0, "torrent", "FILE", "the .torrent or a magnet link (default: the\nregistry's .torrent)", NULL },
	{ OPT_TORRENT, 't', NULL, "FILE", NULL, "torrent" },
	{ OPT_PEER, 0, "peer", "IP:PORT", "a BitTorrent peer (repeatable)", NULL },
	{ OPT_TRACKER, 0, "tracker", "URL", "a tracker to ask for peers, besides the\n"
	  "torrent's (repeatable)", NULL },
	{ OPT_LISTEN, 0, "listen", "IP:PORT", "where BitTorrent listens (default 0.0.0.0:0)", NULL },
	{ OPT_LISTEN, 0, "bt-listen", "IP:PORT", NULL, "listen" },
	CLI_BT_NET_OPTIONS,
	{ OPT_TIMEOUT, 0, "timeout", "SECS", "give up on a silent source or registry after SECS\nseconds (default 30)", NULL },
	{ OPT_MIN_RATE, 0, "min-rate", "KIB", "drop a source slower than KIB KiB/s over a\n--timeout span for the next one (default 1)", NULL },
	{ OPT_DEADLINE, 0, "deadline", "SECS", "give each source at most SECS seconds in all,\nthen the next one (default: no limit)", NULL },
	{ 'm', 0, "save-manifest", "FILE", "keep the verified manifest in FILE", NULL },
	{ 'm', 'm', NULL, "FILE", NULL, "save-manifest" },
	{ 0, 0, NULL, NULL, NULL, NULL },
};

static const cli_command fetch_cmd = {
	"Usage: hybrid-p2p fetch (MANIFEST | NAME@VERSION | NAME) -O DIR [OPTIONS]\n"
	"\n"
	"Fetch a package into DIR, every byte verified. NAME@VERSION and NAME are\n"
	"read from the registry (NAME alone: its newest version). The manifest's\n"
	"signature, trust, expiry and rollback (--state) are checked first, once;\n"
	"then each source in turn is handed what the ones before could not deliver:\n"
	"the ones you name first (--torrent or --peer, --gateway, --kubo), then the\n"
	"registry's .torrent (trackers, web seeds) and the manifest's gateway\n"
	"(docs/fetch.md). Prints {\"step\": ...} lines for the registry and the\n"
	"verification, one line per file, then {\"summary\": ...}.\n",
	fetch_options,
	"Exit status: 0 every file verified in place; 1 verification failed (signature,\n"
	"trust, expiry, rollback, a manifest that is not NAME@VERSION, content);\n"
	"64 usage; 65 malformed manifest or registry; 66 not in the registry;\n"
	"69 no source reachable; 75 timeout, or stopped (run again to resume);\n"
	"77 registry credentials refused.\n",
};

typedef struct fetch_cfg {
	hp_plan_opts p;
	hp_registry_ref reg;
	const char *what, *save_manifest;
	cli_strlist keys, gateways, peers, trackers;
	cli_bt_net net;
	char trusted[PATH_MAX], dht_state[PATH_MAX];
} fetch_cfg;

static int fetch_option(void *ud, int id, const char *v)
{
	fetch_cfg *c = ud;
	hp_plan_opts *p = &c->p;
	hp_buf b = HP_BUF_INIT;
	hp_err e = HP_ERR_INIT;
	int rc;
	if (cli_bt_net_option(&c->net, id, v, &rc))
		return rc;
	switch (id) {
	case 'O': p->fetch.out_dir = v; break;
	case 'r': c->reg.url = v; break;
	case OPT_BRANCH: c->reg.branch = v; break;
	case OPT_CACHE: c->reg.cache_dir = v; break;
	case 'k': cli_strlist_add(&c->keys, v); break;
	case OPT_ALLOW_UNTRUSTED: p->fetch.allow_untrusted = true; break;
	case OPT_STATE: p->fetch.state_path = v; break;
	case 'g':
	case OPT_KUBO:
		/* a bad URL is a usage error, found before anything else */
		rc = hp_http_base_url(v, &b, &e);
		hp_buf_release(&b);
		if (rc)
			return cli_usage("%s", e.msg);
		if (id == 'g')
			cli_strlist_add(&c->gateways, v);
		else
			p->kubo = v;
		break;
	case OPT_TORRENT: p->torrent = v; break;
	case OPT_PEER: cli_strlist_add(&c->peers, v); break;
	case OPT_TRACKER:
		if (!hp_torrent_tracker_url_ok(v))
			return cli_usage("'%s' is not a tracker URL (http://, https:// or udp://)", v);
		cli_strlist_add(&c->trackers, v);
		break;
	case OPT_LISTEN: p->bt_listen = v; break;
	case OPT_TIMEOUT: return parse_seconds("--timeout", v, &p->timeout_ms);
	case OPT_DEADLINE: return parse_seconds("--deadline", v, &p->deadline_ms);
	case OPT_MIN_RATE: {
		char *end;
		errno = 0;
		unsigned long k = strtoul(v, &end, 10);
		if (errno || end == v || *end || v[0] == '-' || k == 0 || k > 2097151)
			return cli_usage("--min-rate takes KiB/s, from 1 to 2097151, not '%s'", v);
		p->min_rate = (uint32_t)(k * 1024);
		break;
	}
	case 'm': c->save_manifest = v; break;
	}
	return 0;
}

static int parse_fetch(int argc, char **argv, fetch_cfg *c)
{
	hp_plan_opts *p = &c->p;
	int optind, rc = cli_parse(&fetch_cmd, argc, argv, fetch_option, c, &optind);
	if (rc)
		return rc;
	if (optind + 1 != argc || !p->fetch.out_dir)
		return cli_usage("fetch takes one MANIFEST, NAME@VERSION or NAME, and -O DIR");
	c->what = argv[optind];
	default_trusted_keys(&c->keys, c->trusted, sizeof c->trusted);
	p->fetch.trusted_key_files = c->keys.v;
	p->fetch.n_trusted_key_files = c->keys.n;
	p->gateways = c->gateways.v;
	p->ngateways = c->gateways.n;
	p->peers = c->peers.v;
	p->npeers = c->peers.n;
	p->trackers = c->trackers.v;
	p->ntrackers = c->trackers.n;
	c->reg.timeout_ms = p->timeout_ms;
	rc = cli_bt_net_finish(&c->net);
	default_dht_state(&c->net.net, c->dht_state, sizeof c->dht_state);
	p->bt_net = c->net.net;
	return rc;
}

static void on_verified(void *ud, const json_t *m)
{
	(void)ud;
	json_t *j = json_pack("{s:s,s:s,s:O,s:O,s:O}", "step", "verify", "status", "ok", "name", json_object_get(m, "name"),
			      "version", json_object_get(m, "version"), "content_id", json_object_get(m, "content_id"));
	print_step(j);
	json_decref(j);
}

/* NAME[@VERSION] from the registry: the manifest's and .torrent's bytes. */
static int resolve(fetch_cfg *c, hp_resolved *r)
{
	hp_err e = HP_ERR_INIT;
	if (!hp_registry_url(&c->reg))
		return cli_usage("'%s' is looked up in a registry: give --registry URL (or set HP_REGISTRY)", c->what);
	if (hp_resolve(&c->reg, c->what, r, &e)) {
		int rc = cli_fail(&e);
		json_t *j = json_pack("{s:s,s:s,s:s,s:i,s:s}", "step", "registry", "url", hp_registry_url(&c->reg), "status",
				      "failed", "exit", rc, "error", e.msg);
		print_step(j);
		json_decref(j);
		return rc;
	}
	hp_plan_opts *p = &c->p;
	p->manifest_data = r->manifest.data;
	p->manifest_len = r->manifest.len;
	p->expect_name = r->name;
	p->expect_version = r->version;
	if (!p->torrent && r->torrent.len) {
		p->torrent = "registry .torrent";
		p->torrent_data = r->torrent.data;
		p->torrent_len = r->torrent.len;
		p->torrent_implied = true;
	}
	/* "torrent" is the old name of has_torrent (docs/cli-conventions.md) */
	json_t *j = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:b,s:b}", "step", "registry", "status", "ok", "url",
			      hp_registry_url(&c->reg), "name", r->name, "version", r->version, "commit", r->commit,
			      "has_torrent", r->torrent.len > 0, "torrent", r->torrent.len > 0);
	print_step(j);
	json_decref(j);
	return 0;
}

static int cmd_fetch(int argc, char **argv)
{
	fetch_cfg c;
	memset(&c, 0, sizeof c);
	hp_resolved r = HP_RESOLVED_INIT;
	hp_plan_result res = HP_PLAN_RESULT_INIT;
	char shown[PATH_MAX];
	int rc = parse_fetch(argc, argv, &c);
	if (rc)
		goto out;
	c.p.manifest = c.what;
	if (hp_resolve_is_spec(c.what)) {
		if ((rc = resolve(&c, &r)))
			goto out;
		snprintf(shown, sizeof shown, "%s@%s", r.name, r.version);
		c.p.manifest = shown;
	}
	c.p.fetch.on_event = cli_fetch_event;
	c.p.fetch.stop = &cli_stop_signal;
	c.p.on_verified = on_verified;
	cli_on_stop_signals(cli_fetch_on_signal);
	hp_err e = HP_ERR_INIT;
	hp_code hc = hp_plan_fetch(&c.p, &res, &e);
	cli_progress_clear();
	if (!res.summary && res.report && (hc == HP_E_INVALID || hc == HP_E_DATA)) {
		json_t *j = json_pack("{s:s,s:s,s:i,s:O}", "step", "verify", "status", "failed", "exit",
				      cli_exit_code(hc), "report", res.report);
		print_step(j);
		json_decref(j);
	}
	rc = cli_fetch_finish(c.p.manifest, hc, &res, &e);
	if (!rc && c.save_manifest) {
		/* the bytes as signed and verified */
		hp_buf b = HP_BUF_INIT;
		if ((c.p.manifest_data ? hp_buf_add(&b, c.p.manifest_data, c.p.manifest_len, &e)
				       : hp_read_file(c.what, HP_REGISTRY_MANIFEST_MAX, &b, &e)) ||
		    hp_write_file_atomic(c.save_manifest, b.data, b.len, 0644, 0, &e))
			rc = cli_fail(&e);
		hp_buf_release(&b);
	}
out:
	hp_plan_result_release(&res);
	hp_resolved_release(&r);
	free(c.keys.v);
	free(c.gateways.v);
	free(c.peers.v);
	free(c.trackers.v);
	cli_bt_net_free(&c.net);
	return rc < 0 ? 0 : rc;
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*run)(int, char **);
	} commands[] = {
		{ "keygen", cmd_keygen },
		{ "publish", cmd_publish },
		{ "fetch", cmd_fetch },
		{ "verify", cmd_verify },
	};
	cli_init("hybrid-p2p");
	opterr = 0;
	if (argc < 2)
		return cli_finish(cli_usage("a command is needed: keygen, publish, fetch or verify"));
	const char *cmd = argv[1];
	if (strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "help") == 0) {
		fputs(usage_text, stdout);
		return cli_finish(0);
	}
	if (strcmp(cmd, "--version") == 0)
		return cli_finish(cli_version());
	for (size_t i = 0; i < sizeof commands / sizeof *commands; i++) {
		if (strcmp(cmd, commands[i].name) != 0)
			continue;
		char prog[64];
		snprintf(prog, sizeof prog, "hybrid-p2p %s", cmd);
		cli_init(prog);
		argv[1] = argv[0];
		int rc = commands[i].run(argc - 1, argv + 1);
		hp_http_cleanup();
		return cli_finish(rc);
	}
	if (cmd[0] == '-')
		return cli_finish(cli_usage("unknown option '%s'", cmd));
	return cli_finish(cli_usage("unknown command '%s'", cmd));
}
