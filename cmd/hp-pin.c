/* hp-pin: pin a package's IPFS root (or any CIDs) on kubo nodes, IPFS
 * Clusters and Pinning Service APIs, or ask them whether it is pinned; one
 * JSON record per (node, CID). See docs/hp-pin.1.
 *
 * Tokens never come from an argument value (ps shows argv): each node's
 * bearer token is read from an environment variable (--kubo-token-env,
 * --cluster-token-env, --psa-token-env). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "hp_http.h"
#include "hp_keeper.h"
#include "hp_multiformats.h"
#include "hp_pin.h"
#include "hp_pinwire.h"
#include "hp_psa.h"

#include "../lib/banned.h"

enum {
	OPT_KUBO = CLI_OPT_FIRST_FREE_,
	OPT_CLUSTER,
	OPT_RMIN,
	OPT_RMAX,
	OPT_PSA,
	OPT_PSA_TOKEN_ENV,
	OPT_KUBO_TOKEN_ENV,
	OPT_CLUSTER_TOKEN_ENV,
	OPT_CAR,
	OPT_NAME,
	OPT_ORIGIN,
	OPT_TIMEOUT,
	OPT_REGISTRY,
	OPT_BRANCH,
	OPT_CACHE,
	OPT_INTERVAL,
	OPT_METRICS,
	OPT_ONCE,
	OPT_CAR_DIR,
	OPT_STATE,
};

/* The nodes (each option may be repeated), then the pins' options. */
#define NODE_OPTIONS \
	{ OPT_KUBO, 0, "kubo", "URL", \
	  "a kubo RPC API: http://127.0.0.1:5001 or\n/ip4/127.0.0.1/tcp/5001 (repeatable)", NULL }, \
	{ OPT_KUBO_TOKEN_ENV, 0, "kubo-token-env", "VAR", \
	  "read the bearer token of the --kubo before it\n(before any --kubo: of every one) from the\n" \
	  "variable VAR (default HP_KUBO_TOKEN, sent only\nwhen set)", NULL }, \
	{ OPT_CLUSTER, 0, "cluster", "URL", "an IPFS Cluster REST API (like\nhttp://127.0.0.1:9094; repeatable)", NULL }, \
	{ OPT_CLUSTER_TOKEN_ENV, 0, "cluster-token-env", "VAR", \
	  "the same for the --cluster before it: a JWT from\nthe cluster's POST /token (default\n" \
	  "HP_CLUSTER_TOKEN)", NULL }, \
	{ OPT_RMIN, 0, "replication-min", "N", \
	  "the replication of the --cluster before it\n(before any --cluster: of every cluster); -1\n" \
	  "means every peer", NULL }, \
	{ OPT_RMAX, 0, "replication-max", "N", "the same, its most", NULL }, \
	{ OPT_PSA, 0, "psa", "URL", \
	  "a Pinning Service API (its base:\nhttp://127.0.0.1:9097, https://api.pinata.cloud/psa;\nrepeatable)", NULL }, \
	{ OPT_PSA_TOKEN_ENV, 0, "psa-token-env", "VAR", \
	  "read the bearer token of the --psa before it\n(before any --psa: of every one) from the\n" \
	  "variable VAR (default HP_PSA_TOKEN); never from\nan argument", NULL }

#define NAME_OPTION { OPT_NAME, 0, "name", "NAME", "the pin's name (kubo pin/add, cluster, pinning\nservice)", NULL }
#define TIMEOUT_OPTION \
	{ OPT_TIMEOUT, 0, "timeout", "SECS", "the longest wait on a silent node, and each\npin request's time, polling included\n(default 120)", NULL }
#define CAR_OPTION(help) { OPT_CAR, 0, "car", "FILE", help, NULL }
#define ORIGIN_OPTION(help) { OPT_ORIGIN, 0, "origin", "MADDR", help, NULL }
#define END_OPTIONS { 0, 0, NULL, NULL, NULL, NULL }

static const cli_option add_options[] = {
	NODE_OPTIONS,
	CAR_OPTION("add: import this CARv1 into each kubo\n(dag/import, pinning its root) instead of\n"
		   "pin/add; its one root must be the manifest's\nipfs_cid (exactly one argument)"),
	NAME_OPTION,
	ORIGIN_OPTION("add, pinning services: a multiaddr that has the\ncontent (up to 20)"),
	TIMEOUT_OPTION,
	END_OPTIONS,
};

/* --car and --origin are there, hidden, to say they go with add only. */
static const cli_option status_options[] = {
	NODE_OPTIONS, NAME_OPTION, TIMEOUT_OPTION, CAR_OPTION(NULL), ORIGIN_OPTION(NULL), END_OPTIONS,
};

/* watch: the nodes, then where the manifests come from, then the loop. */
static const cli_option watch_options[] = {
	NODE_OPTIONS,
	{ OPT_REGISTRY, 'r', "registry", "URL",
	  "keep every manifest of this git registry pinned\n(default $HP_REGISTRY when no MANIFEST or CID is\ngiven)", NULL },
	{ OPT_BRANCH, 0, "registry-branch", "BRANCH", "the registry's branch (default main)", NULL },
	{ OPT_CACHE, 0, "registry-cache", "DIR", "the registry's local cache", NULL },
	{ OPT_STATE, 0, "state", "FILE", "keep what the registry showed in FILE (each\nname's newest version and content), so that a\nregistry that goes back is refused across\nrestarts too (default: for this run only)", NULL },
	{ OPT_CAR_DIR, 0, "car-dir", "DIR", "pin a missing CID on kubo from DIR/CID.car when\nthere is one (dag/import)", NULL },
	{ OPT_INTERVAL, 0, "interval", "SECS", "time between the starts of two checks (default\n60)", NULL },
	{ OPT_METRICS, 0, "metrics", "ADDR:PORT", "serve Prometheus metrics on\nhttp://ADDR:PORT/metrics (and /healthz); port 0:\nany free one (printed)", NULL },
	{ OPT_ONCE, 0, "once", NULL, "one check, then exit (0 when everything is pinned)", NULL },
	TIMEOUT_OPTION,
	END_OPTIONS,
};

#define DESCRIPTION \
	"Pin the IPFS root of each manifest (its distribution.ipfs_cid), or each CID,\n" \
	"on kubo nodes, IPFS Clusters and Pinning Service APIs (add); or ask each of\n" \
	"them whether it is pinned (status). One JSON line per node and CID:\n" \
	"  {\"node\": URL, \"kind\": \"kubo\"|\"cluster\"|\"psa\", \"cid\": CID,\n" \
	"   \"status\": \"pinned\"|\"pinning\"|\"queued\"|\"failed\"|\"unpinned\"|\"error\", \"error\": ...}\n" \
	"An argument that is a CID is taken as one; anything else is a manifest file\n" \
	"('-': standard input; write ./NAME for a file named like a CID).\n" \
	"Without --kubo, --cluster or --psa: $HP_KUBO_API, $HP_CLUSTER_API and\n" \
	"$HP_PSA_URL.\n"

static const char footer[] =
	"Kubo nodes are done first, then clusters, then pinning services.\n"
	"Exit status: 0 if every record says pinned; otherwise the highest of the\n"
	"records' codes: 1 not pinned (status), or a CAR or a root that is not the\n"
	"manifest's (add); 65 a malformed answer or input; 69 a node down or failing\n"
	"(HTTP 5xx, a pin the service reports failed); 75 a timeout, or HTTP 429/503;\n"
	"77 a token refused (HTTP 401/403); 64 usage; 66 a missing input.\n";

/* `hp-pin --help`: both subcommands, every option. */
static const cli_command top_cmd = {
	"Usage: hp-pin add [OPTION]... MANIFEST|CID...\n"
	"       hp-pin status [OPTION]... MANIFEST|CID...\n"
	"       hp-pin watch [OPTION]... [MANIFEST|CID]...   (see hp-pin watch --help)\n" DESCRIPTION,
	add_options,
	footer,
};

static const cli_command add_cmd = {
	"Usage: hp-pin add [OPTION]... MANIFEST|CID...\n" DESCRIPTION,
	add_options,
	footer,
};

static const cli_command watch_cmd = {
	"Usage: hp-pin watch [OPTION]... [MANIFEST|CID]...\n"
	"Keep the IPFS root of every manifest of a registry (and of each MANIFEST or\n"
	"CID) pinned on every node: check every --interval, pin again what a node\n"
	"lost, follow new manifests as the registry moves, keep going through node\n"
	"and network failures. JSON lines on stdout for what happens\n"
	"({\"event\": \"repin\"|\"registry\"|\"error\"|\"check\"|\"listening\", ...}; a check\n"
	"line when something changed), Prometheus metrics with --metrics\n"
	"(docs/metrics.md). SIGTERM or SIGINT: stop after the step under way.\n",
	watch_options,
	"Exit status: 0 when stopped by a signal, or with --once when every CID is\n"
	"pinned on every node; with --once, otherwise the codes of hp-pin add.\n"
	"64 usage.\n",
};

static const cli_command status_cmd = {
	"Usage: hp-pin status [OPTION]... MANIFEST|CID...\n" DESCRIPTION,
	status_options,
	footer,
};

typedef struct config {
	bool add, watch;
	hp_pin_node *nodes;
	size_t nnodes;
	char **urls;             /* each node's base URL (owned) */
	const char *car;
	const char *name;
	const char **origins;
	size_t norigins;
	long timeout_ms;
	char **args;
	int nargs;
	/* given before any node of their kind: the default for every one */
	int default_rmin, default_rmax;
	const char *default_token_env[3];  /* by hp_pin_kind */
	/* watch */
	hp_registry_ref reg;
	const char *car_dir, *metrics, *state;
	long interval_ms;
	bool once;
} config;

static void config_free(config *c)
{
	for (size_t i = 0; i < c->nnodes; i++)
		free(c->urls[i]);
	free(c->urls);
	free(c->nodes);
	free(c->origins);
}

static int add_node(config *c, hp_pin_kind kind, const char *url)
{
	hp_buf b = HP_BUF_INIT;
	hp_err e = HP_ERR_INIT;
	if (hp_http_base_url(url, &b, &e)) {
		hp_buf_release(&b);
		return cli_usage("--%s: %s", hp_pin_kind_name(kind), e.msg);
	}
	hp_pin_node *n = realloc(c->nodes, (c->nnodes + 1) * sizeof *n);
	if (n)
		c->nodes = n;
	char **u = n ? realloc(c->urls, (c->nnodes + 1) * sizeof *u) : NULL;
	if (!n || !u) {
		hp_buf_release(&b);
		return cli_error(EXIT_SOFTWARE, "out of memory");
	}
	c->urls = u;
	c->urls[c->nnodes] = hp_buf_detach(&b, NULL);
	memset(&c->nodes[c->nnodes], 0, sizeof *c->nodes);
	c->nodes[c->nnodes].kind = kind;
	c->nodes[c->nnodes].ep.url = c->urls[c->nnodes];
	c->nnodes++;
	return 0;
}

/* The last node of kind, or NULL. */
static hp_pin_node *last_of(config *c, hp_pin_kind kind)
{
	for (size_t i = c->nnodes; i-- > 0;)
		if (c->nodes[i].kind == kind)
			return &c->nodes[i];
	return NULL;
}

static int parse_replication(const char *opt, const char *s, int *out)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || end == s || *end || v == 0 || v < -1 || v > 65535)
		return cli_usage("%s must be -1 (every peer) or a number from 1 to 65535, not '%s'", opt, s);
	*out = (int)v;
	return 0;
}

static bool valid_env_name(const char *s)
{
	if (!*s || (*s >= '0' && *s <= '9'))
		return false;
	for (; *s; s++)
		if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_'))
			return false;
	return true;
}

static hp_pin_kind kind_of_token_option(int id)
{
	return id == OPT_KUBO_TOKEN_ENV ? HP_PIN_KUBO : id == OPT_CLUSTER_TOKEN_ENV ? HP_PIN_CLUSTER : HP_PIN_PSA;
}

/* --replication-min/max: of the last --cluster, or before any: of all. */
static int set_replication(config *c, int id, const char *v)
{
	int n = 0, rc;
	bool min = id == OPT_RMIN;
	if ((rc = parse_replication(min ? "--replication-min" : "--replication-max", v, &n)))
		return rc;
	hp_pin_node *node = last_of(c, HP_PIN_CLUSTER);
	if (node)
		*(min ? &node->replication_min : &node->replication_max) = n;
	else
		*(min ? &c->default_rmin : &c->default_rmax) = n;
	return 0;
}

/* --KIND-token-env: of the last node of its kind, or before any: of all. */
static int set_token_env(config *c, int id, const char *v)
{
	hp_pin_kind kind = kind_of_token_option(id);
	if (!valid_env_name(v))
		return cli_usage("--%s-token-env takes the name of an environment variable, not '%s'",
				 hp_pin_kind_name(kind), v);
	hp_pin_node *n = last_of(c, kind);
	if (n)
		n->token_from = v;
	else
		c->default_token_env[kind] = v;
	return 0;
}

static int add_cluster(config *c, const char *url)
{
	int rc = add_node(c, HP_PIN_CLUSTER, url);
	if (!rc) {
		c->nodes[c->nnodes - 1].replication_min = c->default_rmin;
		c->nodes[c->nnodes - 1].replication_max = c->default_rmax;
	}
	return rc;
}

static int set_timeout(config *c, const char *v)
{
	char *end;
	errno = 0;
	double secs = strtod(v, &end);
	if (errno || end == v || *end || !(secs > 0) || secs > 86400)
		return cli_usage("--timeout must be a number of seconds above 0 and at most 86400, not '%s'", v);
	c->timeout_ms = (long)(secs * 1000 + 0.999);
	return 0;
}

static int on_option(void *ud, int id, const char *v)
{
	config *c = ud;
	switch (id) {
	case OPT_KUBO: return add_node(c, HP_PIN_KUBO, v);
	case OPT_CLUSTER: return add_cluster(c, v);
	case OPT_PSA: return add_node(c, HP_PIN_PSA, v);
	case OPT_RMIN:
	case OPT_RMAX: return set_replication(c, id, v);
	case OPT_KUBO_TOKEN_ENV:
	case OPT_CLUSTER_TOKEN_ENV:
	case OPT_PSA_TOKEN_ENV: return set_token_env(c, id, v);
	case OPT_CAR: c->car = v; break;
	case OPT_NAME: c->name = v; break;
	case OPT_ORIGIN: {
		const char **o = realloc(c->origins, (c->norigins + 1) * sizeof *o);
		if (!o)
			return cli_error(EXIT_SOFTWARE, "out of memory");
		c->origins = o;
		c->origins[c->norigins++] = v;
		break;
	}
	case OPT_TIMEOUT: return set_timeout(c, v);
	case OPT_REGISTRY: c->reg.url = v; break;
	case OPT_BRANCH: c->reg.branch = v; break;
	case OPT_CACHE: c->reg.cache_dir = v; break;
	case OPT_CAR_DIR: c->car_dir = v; break;
	case OPT_STATE: c->state = v; break;
	case OPT_METRICS: c->metrics = v; break;
	case OPT_ONCE: c->once = true; break;
	case OPT_INTERVAL: {
		char *end;
		errno = 0;
		double secs = strtod(v, &end);
		if (errno || end == v || *end || !(secs >= 0.1) || secs > 86400)
			return cli_usage("--interval must be a number of seconds from 0.1 to 86400, not '%s'", v);
		c->interval_ms = (long)(secs * 1000 + 0.5);
		break;
	}
	}
	return 0;
}

/* No node option at all: the nodes the environment names. */
static int nodes_from_env(config *c)
{
	static const struct {
		const char *var;
		hp_pin_kind kind;
	} env[] = { { "HP_KUBO_API", HP_PIN_KUBO }, { "HP_CLUSTER_API", HP_PIN_CLUSTER }, { "HP_PSA_URL", HP_PIN_PSA } };
	int rc;
	for (size_t i = 0; i < sizeof env / sizeof *env; i++) {
		const char *v = getenv(env[i].var);
		if (!v || !*v)
			continue;
		if ((rc = env[i].kind == HP_PIN_CLUSTER ? add_cluster(c, v) : add_node(c, env[i].kind, v)))
			return rc;
	}
	if (c->nnodes == 0)
		return cli_usage("no node to talk to: give --kubo, --cluster or --psa (or set HP_KUBO_API, "
				 "HP_CLUSTER_API or HP_PSA_URL)");
	return 0;
}

/* Each node's replication makes sense, and its token comes from the
 * environment only. */
static int check_nodes(config *c)
{
	for (size_t i = 0; i < c->nnodes; i++) {
		hp_pin_node *n = &c->nodes[i];
		if (n->kind == HP_PIN_CLUSTER && n->replication_min > 0 && n->replication_max > 0 &&
		    n->replication_min > n->replication_max)
			return cli_usage("--replication-min %d is more than --replication-max %d for '%s'",
					 n->replication_min, n->replication_max, n->ep.url);
		/* a token named (here or before every node of its kind) must be
		 * there; the default variable is used when set. A pinning service
		 * wants a token, so its absence is worth a warning; kubo and
		 * clusters mostly do not. */
		const char *dflt = c->default_token_env[n->kind];
		bool explicit = n->token_from || dflt;
		if (!n->token_from)
			n->token_from = dflt ? dflt : hp_pin_token_env_default(n->kind);
		const char *t = getenv(n->token_from);
		if (t && *t)
			n->ep.bearer_token = t;
		else if (explicit)
			return cli_usage("the token for '%s' comes from $%s, which is not set or empty", n->ep.url,
					 n->token_from);
		else if (n->kind == HP_PIN_PSA && !cli.quiet)
			cli_warn("no token for '%s': $%s is not set", n->ep.url, n->token_from);
	}
	return 0;
}

/* The pins' options and the arguments. */
static int check_args(config *c)
{
	if (c->norigins > HP_PSA_MAX_ORIGINS)
		return cli_usage("at most %d --origin may be given", HP_PSA_MAX_ORIGINS);
	if (c->name && strlen(c->name) > HP_PSA_MAX_NAME)
		return cli_usage("--name may have at most %d bytes", HP_PSA_MAX_NAME);
	if (!c->add && (c->car || c->origins))
		return cli_usage("--car and --origin go with 'add' only");
	if (c->nargs == 0 && !c->watch)
		return cli_usage("no manifest or CID given");
	if (c->watch && c->nargs == 0 && !hp_registry_url(&c->reg))
		return cli_usage("nothing to watch: give --registry (or set HP_REGISTRY), manifests or CIDs");
	if (c->car && c->nargs != 1)
		return cli_usage("--car goes with exactly one manifest or CID");
	if (c->car && (strcmp(c->car, "-") == 0 || !*c->car))
		return cli_usage("--car needs a file (it is read twice: checked, then sent)");
	if (c->car && !last_of(c, HP_PIN_KUBO))
		cli_warn("--car is only sent to kubo nodes, and none is given");
	int dashes = 0;
	for (int i = 0; i < c->nargs; i++)
		dashes += strcmp(c->args[i], "-") == 0;
	if (dashes > 1)
		return cli_usage("standard input ('-') given more than once");
	return 0;
}

/* Returns 0 to go on, -1 when done (help, version), or an exit code. */
static int parse_args(int argc, char **argv, config *c)
{
	int first, rc = cli_parse(c->watch ? &watch_cmd : c->add ? &add_cmd : &status_cmd, argc, argv, on_option, c,
				  &first);
	if (rc)
		return rc;
	if (c->nnodes == 0 && (rc = nodes_from_env(c)))
		return rc;
	if ((rc = check_nodes(c)))
		return rc;
	c->args = argv + first;
	c->nargs = argc - first;
	return check_args(c);
}

/* ---- output ---- */

static int worst;

static void on_result(void *ud, const hp_pin_result *r)
{
	(void)ud;
	json_t *j = hp_pin_result_record(r);
	if (!j) {
		int code = cli_error(EXIT_SOFTWARE, "out of memory");
		if (code > worst)
			worst = code;
		return;
	}
	cli_print_json(j);
	fflush(stdout);
	json_decref(j);
	if (r->err.code != HP_OK) {
		int code = cli_fail(&r->err);
		if (code > worst)
			worst = code;
	}
}

/* ---- the arguments ---- */

static int collect_cids(const config *c, hp_cid **out, size_t *n)
{
	hp_cid *cids = calloc((size_t)c->nargs, sizeof *cids);
	if (!cids)
		return cli_error(EXIT_SOFTWARE, "out of memory");
	size_t k = 0;
	for (int i = 0; i < c->nargs; i++) {
		hp_cid cid;
		hp_err e = HP_ERR_INIT;
		if (hp_cid_parse_text(c->args[i], &cid, NULL) != HP_OK && hp_pin_manifest_cid(c->args[i], &cid, &e)) {
			free(cids);
			return cli_fail(&e);
		}
		bool seen = false;
		for (size_t j = 0; j < k && !seen; j++)
			seen = hp_cid_same_content(&cids[j], &cid);
		if (!seen)
			cids[k++] = cid;
	}
	*out = cids;
	*n = k;
	return 0;
}

/* ---- watch ---- */

static volatile sig_atomic_t stop_watch;

static void on_stop(int sig)
{
	(void)sig;
	stop_watch = 1;
}

static void print_event(json_t *j)
{
	if (!j)
		return;
	cli_print_json(j);
	fflush(stdout);
	json_decref(j);
}

static void on_keeper_event(void *ud, const hp_keeper_event *ev)
{
	bool *first = ud;
	switch (ev->kind) {
	case HP_KEEPER_EV_REPIN: {
		json_t *j = hp_pin_result_record(ev->pin);
		if (j)
			json_object_set_new(j, "event", json_string("repin"));
		print_event(j);
		break;
	}
	case HP_KEEPER_EV_REGISTRY:
		print_event(json_pack("{s:s, s:s}", "event", "registry", "head", ev->head));
		break;
	case HP_KEEPER_EV_ERROR:
		if (!cli.quiet)
			cli_warn("%s: %s", ev->step, ev->err->msg);
		print_event(json_pack("{s:s, s:s, s:s}", "event", "error", "step", ev->step, "error", ev->err->msg));
		break;
	case HP_KEEPER_EV_CHECK:
		/* the first check, and any that found something to do */
		if (*first || ev->missing || ev->errors || ev->repinned || ev->repin_failed)
			print_event(json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "event", "check", "manifests",
					      (json_int_t)ev->manifests, "cids", (json_int_t)ev->cids, "pinned",
					      (json_int_t)ev->pinned, "pending", (json_int_t)ev->pending, "missing",
					      (json_int_t)ev->missing, "errors", (json_int_t)ev->errors, "repinned",
					      (json_int_t)ev->repinned, "repin_failed", (json_int_t)ev->repin_failed,
					      "ms", (json_int_t)(ev->seconds * 1000 + 0.5)));
		*first = false;
		break;
	}
}

static int run_watch(config *c)
{
	cli_metrics cm;
	hp_err e = HP_ERR_INIT;
	int rc = cli_metrics_start(&cm, c->metrics);
	if (rc)
		return rc;
	print_event(cli_metrics_listening(&cm));
	cli_on_stop_signals(on_stop);
	bool first = true;
	hp_keeper_opts ko = { 0 };
	ko.nodes = c->nodes;
	ko.nnodes = c->nnodes;
	ko.registry = hp_registry_url(&c->reg) && (c->reg.url || c->nargs == 0) ? &c->reg : NULL;
	ko.args = (const char *const *)c->args;
	ko.nargs = (size_t)c->nargs;
	ko.car_dir = c->car_dir;
	ko.state_path = c->state;
	ko.interval_ms = c->interval_ms;
	ko.timeout_ms = c->timeout_ms;
	ko.once = c->once;
	ko.metrics = cm.m;
	ko.stop = &stop_watch;
	ko.on_event = on_keeper_event;
	ko.ud = &first;
	hp_code code = hp_keeper_run(&ko, &e);
	cli_metrics_stop(&cm);
	return code ? cli_fail(&e) : 0;
}

int main(int argc, char **argv)
{
	cli_init("hp-pin");
	if (argc < 2)
		return cli_finish(cli_usage("a subcommand is needed: add, status or watch"));
	const char *sub = argv[1];
	if (strcmp(sub, "-h") == 0 || strcmp(sub, "--help") == 0 || strcmp(sub, "help") == 0) {
		cli_help(&top_cmd, stdout);
		return cli_finish(0);
	}
	if (strcmp(sub, "--version") == 0)
		return cli_finish(cli_version());
	config c;
	memset(&c, 0, sizeof c);
	if (strcmp(sub, "add") == 0)
		c.add = true;
	else if (strcmp(sub, "watch") == 0)
		c.watch = true;
	else if (strcmp(sub, "status") != 0)
		return cli_finish(sub[0] == '-' ? cli_usage("unknown option '%s' (the subcommand comes first: add, status or watch)", sub)
						: cli_usage("unknown subcommand '%s' (add, status or watch)", sub));
	argv[1] = argv[0];
	int rc = parse_args(argc - 1, argv + 1, &c);
	if (rc) {
		config_free(&c);
		return cli_finish(rc < 0 ? 0 : rc);
	}
	if (c.watch) {
		rc = run_watch(&c);
		config_free(&c);
		hp_http_cleanup();
		return cli_finish(rc);
	}
	hp_cid *cids = NULL;
	size_t ncids = 0;
	if ((rc = collect_cids(&c, &cids, &ncids))) {
		config_free(&c);
		return cli_finish(rc);
	}
	hp_pin_opts o = { 0 };
	o.car = c.car;
	o.name = c.name;
	o.origins = c.origins;
	o.norigins = c.norigins;
	o.timeout_ms = c.timeout_ms;
	hp_err e = HP_ERR_INIT;
	hp_code code = c.add ? hp_pin_add(c.nodes, c.nnodes, cids, ncids, &o, on_result, NULL, &e)
			     : hp_pin_status(c.nodes, c.nnodes, cids, ncids, &o, on_result, NULL, &e);
	rc = code ? cli_fail(&e) : worst;
	free(cids);
	config_free(&c);
	hp_http_cleanup();
	return cli_finish(rc);
}
