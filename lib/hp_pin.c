#include "hp_pin.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "hp_car.h"
#include "hp_cluster.h"
#include "hp_kubo.h"
#include "hp_manifest.h"
#include "hp_psa.h"

#include "banned.h"

#define DEFAULT_TIMEOUT_MS 120000L
#define DEFAULT_POLL_MS 200L
#define MAX_POLL_MS 2000L

const char *hp_pin_kind_name(hp_pin_kind k)
{
	switch (k) {
	case HP_PIN_KUBO: return "kubo";
	case HP_PIN_CLUSTER: return "cluster";
	case HP_PIN_PSA: return "psa";
	}
	return "?";
}

const char *hp_pin_token_env_default(hp_pin_kind k)
{
	switch (k) {
	case HP_PIN_KUBO: return "HP_KUBO_TOKEN";
	case HP_PIN_CLUSTER: return "HP_CLUSTER_TOKEN";
	case HP_PIN_PSA: return "HP_PSA_TOKEN";
	}
	return "?";
}

const char *hp_pin_state_name(hp_pin_state s)
{
	switch (s) {
	case HP_PIN_PINNED: return "pinned";
	case HP_PIN_PINNING: return "pinning";
	case HP_PIN_QUEUED: return "queued";
	case HP_PIN_FAILED: return "failed";
	case HP_PIN_UNPINNED: return "unpinned";
	case HP_PIN_ERROR: return "error";
	}
	return "?";
}

/* ---- the CAR and the manifest ---- */

typedef struct car_check {
	const char *path;
	const hp_cid *cid;
	bool root_seen;
} car_check;

static hp_code car_header(void *ctx, const hp_cid *roots, size_t nroots, hp_err *e)
{
	car_check *c = ctx;
	char want[HP_CID_MAX_TEXT], got[HP_CID_MAX_TEXT];
	hp_cid_text(c->cid, want);
	if (nroots == 0)
		return hp_fail(e, HP_E_INVALID, "CAR '%s' has no root; expected %s", c->path, want);
	hp_cid_text(&roots[0], got);
	if (nroots > 1)
		return hp_fail(e, HP_E_INVALID, "CAR '%s' has %zu roots (%s, ...); expected %s alone", c->path, nroots,
			       got, want);
	if (!hp_cid_same_content(&roots[0], c->cid))
		return hp_fail(e, HP_E_INVALID, "CAR '%s' is rooted at %s, not at %s", c->path, got, want);
	return HP_OK;
}

static hp_code car_block(void *ctx, const hp_car_block *b, hp_err *e)
{
	(void)e;
	car_check *c = ctx;
	if (hp_cid_same_content(b->cid, c->cid))
		c->root_seen = true;
	return HP_OK;
}

hp_code hp_pin_check_car(const char *path, const hp_cid *cid, hp_err *e)
{
	car_check c = { path, cid, false };
	hp_car_reader_opts o = HP_CAR_READER_OPTS_INIT;
	o.on_header = car_header;
	o.on_block = car_block;
	o.ctx = &c;
	hp_code rc = hp_car_read_file(path, &o, e);
	if (rc)
		return rc;
	if (!c.root_seen) {
		char want[HP_CID_MAX_TEXT];
		hp_cid_text(cid, want);
		return hp_fail(e, HP_E_INVALID, "CAR '%s' does not hold its root block %s", path, want);
	}
	return HP_OK;
}

hp_code hp_pin_manifest_cid(const char *path, hp_cid *cid, hp_err *e)
{
	json_t *m = NULL;
	hp_code rc = hp_manifest_load(path, HP_MANIFEST_UNSIGNED_OK, &m, e);
	if (rc)
		return rc;
	const char *name = strcmp(path, "-") == 0 ? "<stdin>" : path;
	const json_t *v = json_object_get(json_object_get(m, "distribution"), "ipfs_cid");
	if (!json_is_string(v))
		rc = hp_fail(e, HP_E_DATA, "%s: the manifest has no distribution.ipfs_cid", name);
	else if ((rc = hp_cid_parse_text(json_string_value(v), cid, e)))
		hp_err_prefix(e, "%s: distribution.ipfs_cid", name);
	json_decref(m);
	return rc;
}

/* ---- one (node, CID) ---- */

typedef struct job {
	const hp_pin_node *node;
	hp_http_endpoint ep;      /* the node's, with wait_ms = the timeout */
	const hp_pin_opts *o;
	long timeout_ms;
	int64_t deadline;         /* of the step under way (polling, asking again) */
	long poll_ms;
	hp_pin_result r;
} job;

static void set(job *j, hp_pin_state s, const hp_err *err)
{
	j->r.state = s;
	if (err)
		j->r.err = *err;
	else
		hp_err_clear(&j->r.err);
}

static const char *node_url(const job *j)
{
	return j->node->ep.url;
}

/* Wait before the next poll; false when the deadline has come. */
static bool wait_more(job *j)
{
	int64_t left = j->deadline - hp_http_now_ms();
	if (left <= 0)
		return false;
	hp_http_sleep_ms(j->poll_ms < left ? j->poll_ms : (long)left);
	j->poll_ms = j->poll_ms * 3 / 2;
	if (j->poll_ms > MAX_POLL_MS)
		j->poll_ms = MAX_POLL_MS;
	return hp_http_now_ms() < j->deadline;
}

/* Ask again after HP_E_TEMPFAIL (429, 503...) while time is left. */
#define KUBO_LS_TRIES 5

#define RETRY(j, rc, call) \
	do { \
		while (((rc) = (call)) == HP_E_TEMPFAIL && wait_more(j)) \
			; \
	} while (0)

static double seconds(const job *j)
{
	return (double)j->timeout_ms / 1000;
}

/* A new step: SECS from now. */
static void next_step(job *j)
{
	j->deadline = hp_http_now_ms() + j->timeout_ms;
}

/* the token */

/* A hint on a refused token (401/403): where it came from, never what it is. */
static void auth_hint(const job *j, hp_err *err)
{
	if (err->code != HP_E_PERM)
		return;
	const hp_pin_node *n = j->node;
	const char *var = n->token_from ? n->token_from : hp_pin_token_env_default(n->kind);
	const char *who = n->kind == HP_PIN_KUBO ? "kubo" : n->kind == HP_PIN_CLUSTER ? "the cluster" : "the service";
	size_t len = strlen(err->msg);
	if (n->ep.bearer_token)
		snprintf(err->msg + len, sizeof err->msg - len, "; %s refused the token in $%s", who, var);
	else
		snprintf(err->msg + len, sizeof err->msg - len, "; no token was sent (set $%s)", var);
}

/* A failed call's result: its error, with the hint when a token was refused. */
static void call_failed(job *j, hp_pin_state s, hp_err *err)
{
	auth_hint(j, err);
	set(j, s, err);
}

/* kubo */

static void kubo_add(job *j)
{
	const hp_http_endpoint *ep = &j->ep;
	const hp_cid *cid = j->r.cid;
	hp_err err = HP_ERR_INIT;
	char kmsg[HP_PINWIRE_MSG_MAX];
	hp_code rc;
	if (j->o->car) {
		hp_kubo_root roots[8];
		size_t n = 0;
		/* no total for the upload: it may take as long as it moves */
		RETRY(j, rc, hp_kubo_dag_import(ep, j->o->car, roots, 8, &n, 0, kmsg, sizeof kmsg, &err));
		if (rc) {
			call_failed(j, kmsg[0] ? HP_PIN_FAILED : HP_PIN_ERROR, &err);
			return;
		}
		char want[HP_CID_MAX_TEXT], got[HP_CID_MAX_TEXT];
		hp_cid_text(cid, want);
		if (n != 1 || !hp_cid_same_content(&roots[0].cid, cid)) {
			if (n == 0)
				hp_fail(&err, HP_E_INVALID, "'%s': kubo reports no root for the imported CAR; expected %s",
					node_url(j), want);
			else {
				hp_cid_text(&roots[0].cid, got);
				hp_fail(&err, HP_E_INVALID, "'%s': kubo reports the root %s%s, not %s", node_url(j), got,
					n > 1 ? " and more" : "", want);
			}
			set(j, HP_PIN_FAILED, &err);
			return;
		}
		if (roots[0].pin_error[0]) {
			hp_fail(&err, HP_E_UNAVAILABLE, "'%s': kubo imported the CAR but could not pin %s: %s", node_url(j),
				want, roots[0].pin_error);
			set(j, HP_PIN_FAILED, &err);
			return;
		}
	} else {
		RETRY(j, rc, hp_kubo_pin_add(ep, cid, j->o->name, j->deadline, kmsg, sizeof kmsg, &err));
		if (rc) {
			call_failed(j, kmsg[0] ? HP_PIN_FAILED : HP_PIN_ERROR, &err);
			return;
		}
	}
	bool pinned = false;
	next_step(j);
	/* kubo may list the pin only a moment after pin/add returned, when
	 * another client pins the same CID at once (an IPFS Cluster peer on this
	 * kubo, beside hp-pin watch): asked again a few times, as polls go */
	for (int tries = 1;; tries++) {
		RETRY(j, rc, hp_kubo_pin_ls(ep, cid, &pinned, j->deadline, &err));
		if (rc || pinned || tries == KUBO_LS_TRIES || !wait_more(j))
			break;
	}
	if (rc) {
		call_failed(j, HP_PIN_ERROR, &err);
	} else if (!pinned) {
		char t[HP_CID_MAX_TEXT];
		hp_cid_text(cid, t);
		hp_fail(&err, HP_E_UNAVAILABLE, "'%s': kubo does not list %s as pinned after pinning it", node_url(j), t);
		set(j, HP_PIN_FAILED, &err);
	} else {
		set(j, HP_PIN_PINNED, NULL);
	}
}

static void not_pinned(job *j, hp_pin_state s, const char *detail)
{
	hp_err err = HP_ERR_INIT;
	char t[HP_CID_MAX_TEXT];
	hp_cid_text(j->r.cid, t);
	hp_fail(&err, HP_E_INVALID, "'%s': %s is not pinned (%s%s%s)", node_url(j), t, hp_pin_state_name(s),
		detail && *detail ? ": " : "", detail ? detail : "");
	set(j, s, &err);
}

static void kubo_status(job *j)
{
	hp_err err = HP_ERR_INIT;
	bool pinned = false;
	hp_code rc;
	RETRY(j, rc, hp_kubo_pin_ls(&j->ep, j->r.cid, &pinned, j->deadline, &err));
	if (rc)
		call_failed(j, HP_PIN_ERROR, &err);
	else if (pinned)
		set(j, HP_PIN_PINNED, NULL);
	else
		not_pinned(j, HP_PIN_UNPINNED, NULL);
}

/* cluster */

/* How many peers must have pinned it. */
static unsigned cluster_need(const job *j, const hp_cluster_status *st)
{
	if (j->node->replication_min > 0)
		return (unsigned)j->node->replication_min;
	return st->peers ? st->peers : 1;
}

/* The state of a status that is not (yet) pinned. */
static hp_pin_state cluster_state(const hp_cluster_status *st)
{
	if (st->failed && !st->pinning && !st->queued)
		return HP_PIN_FAILED;
	if (st->pinning)
		return HP_PIN_PINNING;
	if (st->queued)
		return HP_PIN_QUEUED;
	if (st->pinned)
		return HP_PIN_PINNING;  /* on some peers already */
	return HP_PIN_UNPINNED;
}

static void cluster_add(job *j)
{
	const hp_http_endpoint *ep = &j->ep;
	hp_err err = HP_ERR_INIT;
	hp_cluster_pin_opts po = { j->node->replication_min, j->node->replication_max, j->o->name };
	hp_code rc;
	RETRY(j, rc, hp_cluster_pin(ep, j->r.cid, &po, j->deadline, &err));
	if (rc) {
		call_failed(j, HP_PIN_ERROR, &err);
		return;
	}
	hp_cluster_status st;
	for (;;) {
		RETRY(j, rc, hp_cluster_status_get(ep, j->r.cid, &st, j->deadline, &err));
		if (rc) {
			call_failed(j, HP_PIN_ERROR, &err);
			return;
		}
		unsigned need = cluster_need(j, &st);
		j->r.peers = st.peers;
		j->r.peers_pinned = st.pinned;
		if (st.pinned >= need) {
			set(j, HP_PIN_PINNED, NULL);
			return;
		}
		hp_pin_state s = cluster_state(&st);
		if (s == HP_PIN_FAILED) {
			hp_fail(&err, HP_E_UNAVAILABLE, "'%s': the cluster could not pin it: %s", node_url(j), st.error);
			set(j, s, &err);
			return;
		}
		if (!wait_more(j)) {
			hp_fail(&err, HP_E_TEMPFAIL, "'%s': timed out after %.0f s: pinned on %u of the %u peers needed",
				node_url(j), seconds(j), st.pinned, need);
			set(j, s == HP_PIN_UNPINNED ? HP_PIN_QUEUED : s, &err);
			return;
		}
	}
}

static void cluster_status(job *j)
{
	hp_err err = HP_ERR_INIT;
	hp_cluster_status st;
	hp_code rc;
	RETRY(j, rc, hp_cluster_status_get(&j->ep, j->r.cid, &st, j->deadline, &err));
	if (rc) {
		call_failed(j, HP_PIN_ERROR, &err);
		return;
	}
	unsigned need = cluster_need(j, &st);
	j->r.peers = st.peers;
	j->r.peers_pinned = st.pinned;
	if (st.pinned >= need && st.pinned > 0) {
		set(j, HP_PIN_PINNED, NULL);
		return;
	}
	char detail[HP_PINWIRE_MSG_MAX + 64];
	hp_pin_state s = cluster_state(&st);
	if (s == HP_PIN_FAILED)
		snprintf(detail, sizeof detail, "%s", st.error);
	else
		snprintf(detail, sizeof detail, "pinned on %u of the %u peers needed", st.pinned, need);
	not_pinned(j, s, detail);
}

/* psa */

static hp_pin_state psa_state(hp_psa_state s)
{
	switch (s) {
	case HP_PSA_PINNED: return HP_PIN_PINNED;
	case HP_PSA_PINNING: return HP_PIN_PINNING;
	case HP_PSA_QUEUED: return HP_PIN_QUEUED;
	default: return HP_PIN_FAILED;
	}
}

static void psa_add(job *j)
{
	const hp_http_endpoint *ep = &j->ep;
	hp_err err = HP_ERR_INIT;
	hp_psa_status st;
	hp_code rc;
	RETRY(j, rc, hp_psa_add(ep, j->r.cid, j->o->name, j->o->origins, j->o->norigins, j->deadline, &st, &err));
	if (rc) {
		call_failed(j, HP_PIN_ERROR, &err);
		return;
	}
	snprintf(j->r.requestid, sizeof j->r.requestid, "%s", st.requestid);
	for (;;) {
		if (st.status == HP_PSA_PINNED) {
			set(j, HP_PIN_PINNED, NULL);
			return;
		}
		if (st.status == HP_PSA_FAILED) {
			hp_fail(&err, HP_E_UNAVAILABLE, "'%s': the pinning service reports that request %s failed",
				node_url(j), st.requestid);
			set(j, HP_PIN_FAILED, &err);
			return;
		}
		if (!wait_more(j)) {
			hp_fail(&err, HP_E_TEMPFAIL, "'%s': timed out after %.0f s: request %s is still %s", node_url(j),
				seconds(j), st.requestid, hp_psa_state_name(st.status));
			set(j, psa_state(st.status), &err);
			return;
		}
		RETRY(j, rc, hp_psa_get(ep, j->r.requestid, j->r.cid, j->deadline, &st, &err));
		if (rc) {
			call_failed(j, HP_PIN_ERROR, &err);
			return;
		}
	}
}

static void psa_status(job *j)
{
	hp_err err = HP_ERR_INIT;
	hp_psa_status st;
	bool found = false;
	hp_code rc;
	RETRY(j, rc, hp_psa_find(&j->ep, j->r.cid, j->deadline, &st, &found, &err));
	if (rc) {
		call_failed(j, HP_PIN_ERROR, &err);
		return;
	}
	if (!found) {
		not_pinned(j, HP_PIN_UNPINNED, "no pin request for it");
		return;
	}
	snprintf(j->r.requestid, sizeof j->r.requestid, "%s", st.requestid);
	if (st.status == HP_PSA_PINNED)
		set(j, HP_PIN_PINNED, NULL);
	else
		not_pinned(j, psa_state(st.status), NULL);
}

/* ---- every node ---- */

/* A failure that says the node cannot be reached or used at all. */
static bool node_is_down(const hp_pin_result *r)
{
	return r->state == HP_PIN_ERROR &&
	       (r->err.code == HP_E_UNAVAILABLE || r->err.code == HP_E_TEMPFAIL || r->err.code == HP_E_PERM);
}

static hp_code run(const hp_pin_node *nodes, size_t nnodes, const hp_cid *cids, size_t ncids, const hp_pin_opts *opts,
		   bool add, hp_pin_report_fn *report, void *ud, hp_err *e)
{
	hp_pin_opts defaults = { 0 };
	const hp_pin_opts *o = opts ? opts : &defaults;
	if (add && o->car) {
		if (ncids != 1)
			return hp_fail(e, HP_E_USAGE, "a CAR goes with exactly one CID (or manifest), not %zu", ncids);
		hp_code rc = hp_pin_check_car(o->car, &cids[0], e);
		if (rc)
			return rc;
	}
	hp_code rc = hp_http_init(e);
	if (rc)
		return rc;
	long timeout = o->timeout_ms > 0 ? o->timeout_ms : DEFAULT_TIMEOUT_MS;
	static const hp_pin_kind order[] = { HP_PIN_KUBO, HP_PIN_CLUSTER, HP_PIN_PSA };
	for (size_t k = 0; k < sizeof order / sizeof *order; k++) {
		for (size_t i = 0; i < nnodes; i++) {
			const hp_pin_node *node = &nodes[i];
			if (node->kind != order[k])
				continue;
			bool down = false;
			hp_err down_err = HP_ERR_INIT;
			for (size_t c = 0; c < ncids; c++) {
				job j;
				memset(&j, 0, sizeof j);
				j.node = node;
				j.ep = node->ep;
				j.ep.wait_ms = timeout;
				j.o = o;
				j.timeout_ms = timeout;
				j.poll_ms = o->poll_ms > 0 ? o->poll_ms : DEFAULT_POLL_MS;
				next_step(&j);
				j.r.node = node;
				j.r.cid = &cids[c];
				if (down) {
					set(&j, HP_PIN_ERROR, &down_err);
				} else {
					switch (node->kind) {
					case HP_PIN_KUBO:
						add ? kubo_add(&j) : kubo_status(&j);
						break;
					case HP_PIN_CLUSTER:
						add ? cluster_add(&j) : cluster_status(&j);
						break;
					case HP_PIN_PSA:
						add ? psa_add(&j) : psa_status(&j);
						break;
					}
					if (node_is_down(&j.r)) {
						down = true;
						down_err = j.r.err;
					}
				}
				report(ud, &j.r);
			}
		}
	}
	return HP_OK;
}

hp_code hp_pin_add(const hp_pin_node *nodes, size_t nnodes, const hp_cid *cids, size_t ncids,
		   const hp_pin_opts *opts, hp_pin_report_fn *report, void *ud, hp_err *e)
{
	return run(nodes, nnodes, cids, ncids, opts, true, report, ud, e);
}

hp_code hp_pin_status(const hp_pin_node *nodes, size_t nnodes, const hp_cid *cids, size_t ncids,
		      const hp_pin_opts *opts, hp_pin_report_fn *report, void *ud, hp_err *e)
{
	return run(nodes, nnodes, cids, ncids, opts, false, report, ud, e);
}

json_t *hp_pin_result_record(const hp_pin_result *r)
{
	char url[512], cid[HP_CID_MAX_TEXT];
	hp_http_redact(r->node->ep.url, url, sizeof url);
	hp_cid_text(r->cid, cid);
	json_t *j = json_pack("{s:s, s:s, s:s, s:s}", "node", url, "kind", hp_pin_kind_name(r->node->kind), "cid", cid,
			      "status", hp_pin_state_name(r->state));
	if (j && r->node->kind == HP_PIN_CLUSTER && (r->peers || r->peers_pinned)) {
		json_object_set_new(j, "peers", json_integer(r->peers));
		json_object_set_new(j, "peers_pinned", json_integer(r->peers_pinned));
	}
	if (j && r->node->kind == HP_PIN_PSA && r->requestid[0])
		json_object_set_new(j, "requestid", json_string(r->requestid));
	if (j && r->err.code != HP_OK)
		json_object_set_new(j, "error", json_string(r->err.msg[0] ? r->err.msg : hp_strerror(r->err.code)));
	return j;
}
