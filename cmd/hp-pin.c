/* hp-pin: pin a package's IPFS root (or any CIDs) on kubo nodes, IPFS
 * Clusters and Pinning Service APIs, or ask them whether it is pinned; one
 * JSON record per (node, CID). See docs/hp-pin.1.
 *
 * Tokens never come from an argument value (ps shows argv): each node's
 * bearer token is read from an environment variable (--kubo-token-env,
 * --cluster-token-env, --psa-token-env). */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "hp_http.h"
#include "hp_multiformats.h"
#include "hp_pin.h"
#include "hp_pinwire.h"
#include "hp_psa.h"

#include "../lib/banned.h"

static const char usage_text[] =
	"Usage: hp-pin add [OPTION]... MANIFEST|CID...\n"
	"       hp-pin status [OPTION]... MANIFEST|CID...\n"
	"Pin the IPFS root of each manifest (its distribution.ipfs_cid), or each CID,\n"
	"on kubo nodes, IPFS Clusters and Pinning Service APIs (add); or ask each of\n"
	"them whether it is pinned (status). One JSON line per node and CID:\n"
	"  {\"node\": URL, \"kind\": \"kubo\"|\"cluster\"|\"psa\", \"cid\": CID,\n"
	"   \"status\": \"pinned\"|\"pinning\"|\"queued\"|\"failed\"|\"unpinned\"|\"error\", \"error\": ...}\n"
	"An argument that is a CID is taken as one; anything else is a manifest file\n"
	"('-': standard input; write ./NAME for a file named like a CID).\n"
	"\n"
	"Nodes (each option may be repeated):\n"
	"      --kubo URL         a kubo RPC API: http://127.0.0.1:5001 or /ip4/127.0.0.1/tcp/5001\n"
	"      --kubo-token-env VAR  read the bearer token of the --kubo before it (before\n"
	"                         any --kubo: of every one) from the variable VAR\n"
	"                         (default HP_KUBO_TOKEN, sent only when set)\n"
	"      --cluster URL      an IPFS Cluster REST API (like http://127.0.0.1:9094)\n"
	"      --cluster-token-env VAR  the same for the --cluster before it: a JWT from\n"
	"                         the cluster's POST /token (default HP_CLUSTER_TOKEN)\n"
	"      --replication-min N, --replication-max N\n"
	"                         the replication of the --cluster before it (before any\n"
	"                         --cluster: of every cluster); -1 means every peer\n"
	"      --psa URL          a Pinning Service API (its base: http://127.0.0.1:9097,\n"
	"                         https://api.pinata.cloud/psa)\n"
	"      --psa-token-env VAR  read the bearer token of the --psa before it (before\n"
	"                         any --psa: of every one) from the variable VAR\n"
	"                         (default HP_PSA_TOKEN); never from an argument\n"
	"Without any of them: $HP_KUBO_API, $HP_CLUSTER_API and $HP_PSA_URL.\n"
	"\n"
	"      --car FILE         add: import this CARv1 into each kubo (dag/import,\n"
	"                         pinning its root) instead of pin/add; its one root\n"
	"                         must be the manifest's ipfs_cid (exactly one argument)\n"
	"      --name NAME        the pin's name (kubo pin/add, cluster, pinning service)\n"
	"      --origin MADDR     add, pinning services: a multiaddr that has the content\n"
	"                         (up to 20)\n"
	"      --timeout SECS     time for each node and CID, polling included\n"
	"                         (default 120)\n"
	CLI_COMMON_HELP
	"\n"
	"Kubo nodes are done first, then clusters, then pinning services.\n"
	"Exit status: 0 if every record says pinned; otherwise the highest of the\n"
	"records' codes: 1 not pinned (status), or a CAR or a root that is not the\n"
	"manifest's (add); 65 a malformed answer or input; 69 a node down or failing\n"
	"(HTTP 5xx, a pin the service reports failed); 75 a timeout, or HTTP 429/503;\n"
	"77 a token refused (HTTP 401/403); 64 usage; 66 a missing input.\n";

typedef struct config {
	bool add;
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

static int parse_args(int argc, char **argv, config *c)
{
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
	};
	static const struct option longopts[] = {
		{ "kubo", required_argument, NULL, OPT_KUBO },
		{ "cluster", required_argument, NULL, OPT_CLUSTER },
		{ "replication-min", required_argument, NULL, OPT_RMIN },
		{ "replication-max", required_argument, NULL, OPT_RMAX },
		{ "psa", required_argument, NULL, OPT_PSA },
		{ "psa-token-env", required_argument, NULL, OPT_PSA_TOKEN_ENV },
		{ "kubo-token-env", required_argument, NULL, OPT_KUBO_TOKEN_ENV },
		{ "cluster-token-env", required_argument, NULL, OPT_CLUSTER_TOKEN_ENV },
		{ "car", required_argument, NULL, OPT_CAR },
		{ "name", required_argument, NULL, OPT_NAME },
		{ "origin", required_argument, NULL, OPT_ORIGIN },
		{ "timeout", required_argument, NULL, OPT_TIMEOUT },
		CLI_COMMON_LONGOPTS,
		{ NULL, 0, NULL, 0 },
	};
	int default_rmin = 0, default_rmax = 0;
	const char *default_token_env[3] = { NULL, NULL, NULL };  /* by hp_pin_kind */
	int rc = 0;
	int opt;
	opterr = 0;
	while (!rc && (opt = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
		switch (opt) {
		case OPT_KUBO:
			rc = add_node(c, HP_PIN_KUBO, optarg);
			break;
		case OPT_CLUSTER:
			if (!(rc = add_node(c, HP_PIN_CLUSTER, optarg))) {
				c->nodes[c->nnodes - 1].replication_min = default_rmin;
				c->nodes[c->nnodes - 1].replication_max = default_rmax;
			}
			break;
		case OPT_PSA:
			rc = add_node(c, HP_PIN_PSA, optarg);
			break;
		case OPT_RMIN:
		case OPT_RMAX: {
			int v = 0;
			const char *name = opt == OPT_RMIN ? "--replication-min" : "--replication-max";
			if ((rc = parse_replication(name, optarg, &v)))
				break;
			hp_pin_node *n = last_of(c, HP_PIN_CLUSTER);
			if (n)
				*(opt == OPT_RMIN ? &n->replication_min : &n->replication_max) = v;
			else
				*(opt == OPT_RMIN ? &default_rmin : &default_rmax) = v;
			break;
		}
		case OPT_KUBO_TOKEN_ENV:
		case OPT_CLUSTER_TOKEN_ENV:
		case OPT_PSA_TOKEN_ENV: {
			hp_pin_kind kind = opt == OPT_KUBO_TOKEN_ENV    ? HP_PIN_KUBO
					   : opt == OPT_CLUSTER_TOKEN_ENV ? HP_PIN_CLUSTER
									  : HP_PIN_PSA;
			if (!valid_env_name(optarg)) {
				rc = cli_usage("--%s-token-env takes the name of an environment variable, not '%s'",
					       hp_pin_kind_name(kind), optarg);
				break;
			}
			hp_pin_node *n = last_of(c, kind);
			if (n)
				n->token_from = optarg;
			else
				default_token_env[kind] = optarg;
			break;
		}
		case OPT_CAR:
			c->car = optarg;
			break;
		case OPT_NAME:
			c->name = optarg;
			break;
		case OPT_ORIGIN: {
			const char **o = realloc(c->origins, (c->norigins + 1) * sizeof *o);
			if (!o) {
				rc = cli_error(EXIT_SOFTWARE, "out of memory");
				break;
			}
			c->origins = o;
			c->origins[c->norigins++] = optarg;
			break;
		}
		case OPT_TIMEOUT: {
			char *end;
			errno = 0;
			double v = strtod(optarg, &end);
			if (errno || end == optarg || *end || !(v > 0) || v > 86400)
				rc = cli_usage("--timeout must be a number of seconds above 0 and at most 86400, not '%s'",
					       optarg);
			else
				c->timeout_ms = (long)(v * 1000 + 0.999);
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
				return cli_usage("unknown option '%s'", argv[optind - 1]);
		}
	}
	if (rc)
		return rc;

	/* no node flag at all: the environment */
	if (c->nnodes == 0) {
		static const struct {
			const char *var;
			hp_pin_kind kind;
		} env[] = { { "HP_KUBO_API", HP_PIN_KUBO }, { "HP_CLUSTER_API", HP_PIN_CLUSTER },
			    { "HP_PSA_URL", HP_PIN_PSA } };
		for (size_t i = 0; i < sizeof env / sizeof *env; i++) {
			const char *v = getenv(env[i].var);
			if (!v || !*v)
				continue;
			if ((rc = add_node(c, env[i].kind, v)))
				return rc;
			if (env[i].kind == HP_PIN_CLUSTER) {
				c->nodes[c->nnodes - 1].replication_min = default_rmin;
				c->nodes[c->nnodes - 1].replication_max = default_rmax;
			}
		}
		if (c->nnodes == 0)
			return cli_usage("no node to talk to: give --kubo, --cluster or --psa (or set HP_KUBO_API, "
					 "HP_CLUSTER_API or HP_PSA_URL)");
	}
	/* tokens, from the environment only */
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
		bool explicit = n->token_from || default_token_env[n->kind];
		if (!n->token_from)
			n->token_from = default_token_env[n->kind] ? default_token_env[n->kind]
								   : hp_pin_token_env_default(n->kind);
		const char *t = getenv(n->token_from);
		if (t && *t) {
			n->ep.bearer_token = t;
		} else if (explicit) {
			return cli_usage("the token for '%s' comes from $%s, which is not set or empty", n->ep.url,
					 n->token_from);
		} else if (n->kind == HP_PIN_PSA && !cli.quiet) {
			cli_warn("no token for '%s': $%s is not set", n->ep.url, n->token_from);
		}
	}
	if (c->norigins > HP_PSA_MAX_ORIGINS)
		return cli_usage("at most %d --origin may be given", HP_PSA_MAX_ORIGINS);
	if (c->name && strlen(c->name) > HP_PSA_MAX_NAME)
		return cli_usage("--name may have at most %d bytes", HP_PSA_MAX_NAME);
	if (!c->add && (c->car || c->origins))
		return cli_usage("--car and --origin go with 'add' only");
	c->args = argv + optind;
	c->nargs = argc - optind;
	if (c->nargs == 0)
		return cli_usage("no manifest or CID given");
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

static int help(void)
{
	fputs(usage_text, stdout);
	return 0;
}

int main(int argc, char **argv)
{
	cli_init("hp-pin");
	if (argc < 2)
		return cli_finish(cli_usage("a subcommand is needed: add or status"));
	const char *sub = argv[1];
	if (strcmp(sub, "-h") == 0 || strcmp(sub, "--help") == 0 || strcmp(sub, "help") == 0)
		return cli_finish(help());
	if (strcmp(sub, "--version") == 0)
		return cli_finish(cli_version());
	config c;
	memset(&c, 0, sizeof c);
	if (strcmp(sub, "add") == 0)
		c.add = true;
	else if (strcmp(sub, "status") != 0)
		return cli_finish(sub[0] == '-' ? cli_usage("unknown option '%s' (the subcommand comes first: add or status)", sub)
						: cli_usage("unknown subcommand '%s' (add or status)", sub));
	argv[1] = argv[0];
	int rc = parse_args(argc - 1, argv + 1, &c);
	if (rc) {
		config_free(&c);
		return cli_finish(rc < 0 ? 0 : rc);
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
