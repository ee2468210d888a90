/* hp_keeper: the pin keeper (see hp_keeper.h; metrics in docs/metrics.md). */
#include "hp_keeper.h"

#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "hp_json.h"
#include "hp_manifest.h"
#include "hp_pinwire.h"
#include "hp_registry.h"
#include "hp_state.h"
#include "hp_thread.h"
#include "hp_time.h"
#include "banned.h"

#define DEFAULT_INTERVAL_MS 60000L
#define SLEEP_STEP_MS 100
#define NODE_LANES 4       /* requests in flight to one node at once */

typedef struct target {
	char *label;               /* "name@version", or the argument */
	char *name, *version;      /* NULL for a CID argument */
	hp_cid cid;
	uint64_t size;             /* total_size; 0 when unknown */
	int64_t expires;           /* 0: none */
	char content_id[65];       /* "" when the manifest has none */
	bool registry;
	bool seen;                 /* listed by the registry this time */
	bool fresh;                /* read from the commit being looked at */
} target;

typedef struct keeper {
	const hp_keeper_opts *o;
	hp_git_registry *reg;
	char head[65];
	hp_state *seen;            /* each name's newest version and content (rollback) */
	target *t;
	size_t nt, capt;
	hp_cid *cids;              /* the targets' CIDs, each once */
	size_t *cid_of;            /* target i -> index in cids */
	size_t ncids;
	hp_pin_state *state;       /* [node * ncids + cid] */
	unsigned *peers_pinned;
	size_t *repinned, *repin_failed;  /* per node, this check */
	bool *reported;            /* per node, this check: its failure to answer reported */
	bool registry_failed;
	hp_err registry_err;       /* why, when it failed */
	atomic_size_t next_node;
	pthread_mutex_t mu;        /* events come from the node threads */
	hp_code worst;
	hp_err worst_err;
	/* metrics (NULL without) */
	hp_metric *m_manifests, *m_cids, *m_pins, *m_up, *m_repins, *m_repin_fail, *m_bytes, *m_under,
		*m_checks, *m_duration, *m_last_check, *m_last_ok, *m_reg_errors, *m_reg_fetch, *m_reg_head,
		*m_expiry, *m_interval;
} keeper;

static void emit(keeper *k, const hp_keeper_event *ev)
{
	if (!k->o->on_event)
		return;
	pthread_mutex_lock(&k->mu);
	k->o->on_event(k->o->ud, ev);
	pthread_mutex_unlock(&k->mu);
}

static void emit_error(keeper *k, const char *step, const hp_err *err)
{
	hp_keeper_event ev = { 0 };
	ev.kind = HP_KEEPER_EV_ERROR;
	ev.step = step;
	ev.err = err;
	emit(k, &ev);
}

static void target_free(target *t)
{
	free(t->label);
	free(t->name);
	free(t->version);
}

/* The fields of a manifest already parsed and checked. */
static hp_code target_of_manifest(const json_t *m, const char *where, target *t, hp_err *e)
{
	const json_t *d = json_object_get(m, "distribution");
	const char *cid = json_string_value(json_object_get(d, "ipfs_cid"));
	if (!cid)
		return hp_fail(e, HP_E_DATA, "%s: the manifest has no distribution.ipfs_cid", where);
	hp_code rc = hp_cid_parse_text(cid, &t->cid, e);
	if (rc)
		return hp_err_prefix(e, "%s: distribution.ipfs_cid", where);
	json_t *size = json_object_get(m, "total_size");
	t->size = json_is_integer(size) && json_integer_value(size) > 0 ? (uint64_t)json_integer_value(size) : 0;
	time_t exp = 0;
	const char *x = json_string_value(json_object_get(m, "expires"));
	t->expires = x && hp_time_parse(x, &exp) ? (int64_t)exp : 0;
	const char *cid_hex = json_string_value(json_object_get(m, "content_id"));
	snprintf(t->content_id, sizeof t->content_id, "%s", cid_hex ? cid_hex : "");
	const char *name = json_string_value(json_object_get(m, "name"));
	const char *version = json_string_value(json_object_get(m, "version"));
	if (name && version && (!(t->name = strdup(name)) || !(t->version = strdup(version))))
		return hp_fail_nomem(e);
	return HP_OK;
}

static hp_code add_target(keeper *k, const target *t, hp_err *e)
{
	if (k->nt == k->capt) {
		size_t cap = k->capt ? 2 * k->capt : 64;
		target *v = realloc(k->t, cap * sizeof *v);
		if (!v)
			return hp_fail_nomem(e);
		k->t = v;
		k->capt = cap;
	}
	k->t[k->nt++] = *t;
	return HP_OK;
}

/* ---- the targets ---- */

/* The manifest name@version of the registry, read and checked. */
static hp_code registry_target(keeper *k, const char *name, const char *version, hp_err *e)
{
	hp_buf path = HP_BUF_INIT, bytes = HP_BUF_INIT;
	target t = { 0 };
	json_t *m = NULL;
	char label[512];
	snprintf(label, sizeof label, "%s@%s", name, version);
	hp_code rc = hp_registry_path(name, version, "json", &path, e);
	if (!rc)
		rc = hp_git_registry_read(k->reg, path.data, HP_REGISTRY_MANIFEST_MAX, &bytes, e);
	if (!rc)
		rc = hp_json_parse(bytes.data, bytes.len, path.data, &m, e);
	if (!rc && (rc = hp_manifest_validate(m, HP_MANIFEST_UNSIGNED_OK, NULL, e)))
		hp_err_prefix(e, "%s", path.data);
	if (!rc)
		rc = target_of_manifest(m, path.data, &t, e);
	t.registry = t.seen = t.fresh = true;
	if (!rc && !(t.label = strdup(label)))
		rc = hp_fail_nomem(e);
	if (!rc)
		rc = add_target(k, &t, e);
	if (rc)
		target_free(&t);
	json_decref(m);
	hp_buf_release(&path);
	hp_buf_release(&bytes);
	return rc;
}

static target *find_registry_target(keeper *k, const char *name, const char *version)
{
	for (size_t i = 0; i < k->nt; i++)
		if (k->t[i].registry && k->t[i].name && strcmp(k->t[i].name, name) == 0 &&
		    strcmp(k->t[i].version, version) == 0)
			return &k->t[i];
	return NULL;
}

/* Drop the registry's targets not marked seen (keep is false: all of them). */
static void drop_registry_targets(keeper *k, bool keep_seen)
{
	size_t w = 0;
	for (size_t i = 0; i < k->nt; i++) {
		if (k->t[i].registry && !(keep_seen && k->t[i].seen))
			target_free(&k->t[i]);
		else
			k->t[w++] = k->t[i];
	}
	k->nt = w;
}

/* Fetch the registry; on a new commit, list its manifests again (each read
 * once: a published version does not change). */
static void refresh_registry(keeper *k)
{
	const hp_keeper_opts *o = k->o;
	hp_err e = HP_ERR_INIT;
	hp_code rc = HP_OK;
	if (!k->reg)
		rc = hp_registry_open_ref(o->registry, &k->reg, &e);
	if (!rc)
		rc = hp_git_registry_fetch(k->reg, &e);
	k->registry_failed = rc != HP_OK;
	if (rc) {
		hp_metric_add(k->m_reg_errors, NULL, 1);
		k->registry_err = e;
		emit_error(k, "registry", &e);
		return;
	}
	hp_metric_set(k->m_reg_fetch, NULL, (double)time(NULL));
	const char *tip = hp_git_registry_tip(k->reg);
	if (!tip) {
		drop_registry_targets(k, false);
		k->head[0] = '\0';
		return;
	}
	if (strcmp(tip, k->head) == 0)
		return;
	hp_buf idx = HP_BUF_INIT;
	json_t *index = NULL;
	rc = hp_git_registry_read(k->reg, HP_REGISTRY_INDEX, HP_REGISTRY_INDEX_MAX, &idx, &e);
	if (!rc)
		rc = hp_registry_index_parse(idx.data, idx.len, &index, &e);
	hp_buf_release(&idx);
	if (rc) {
		k->registry_failed = true;
		hp_metric_add(k->m_reg_errors, NULL, 1);
		k->registry_err = e;
		emit_error(k, "registry", &e);
		return;
	}
	for (size_t i = 0; i < k->nt; i++)
		k->t[i].seen = k->t[i].fresh = false;
	const char *name;
	json_t *pkg;
	/* no going back: each name's newest version is not older than the one
	 * seen before, nor the same with other content (as fetch refuses it) */
	json_object_foreach(json_object_get(index, "packages"), name, pkg) {
		const char *latest = hp_registry_index_latest(index, name);
		target *t = latest ? find_registry_target(k, name, latest) : NULL;
		hp_err me = HP_ERR_INIT;
		if (!t && latest && !registry_target(k, name, latest, &me))
			t = &k->t[k->nt - 1];
		const char *prev = NULL;
		if (t && (rc = hp_state_check(k->seen, name, latest, t->content_id, &prev, &me)) != HP_OK) {
			hp_err re = HP_ERR_INIT;
			hp_fail(&re, HP_E_INVALID, "commit %.12s refused: %s", tip, me.msg);
			size_t w = 0;
			for (size_t i = 0; i < k->nt; i++) {
				if (k->t[i].fresh)
					target_free(&k->t[i]);
				else
					k->t[w++] = k->t[i];
			}
			k->nt = w;
			for (size_t i = 0; i < k->nt; i++)
				k->t[i].seen = true;
			json_decref(index);
			k->registry_failed = true;
			k->registry_err = re;
			hp_metric_add(k->m_reg_errors, NULL, 1);
			emit_error(k, "registry", &re);
			return;
		}
	}
	json_object_foreach(json_object_get(index, "packages"), name, pkg) {
		size_t j;
		json_t *v;
		json_array_foreach(json_object_get(pkg, "versions"), j, v) {
			const char *version = json_string_value(v);
			target *t = version ? find_registry_target(k, name, version) : NULL;
			hp_err me = HP_ERR_INIT;
			if (t)
				t->seen = true;
			else if (version && registry_target(k, name, version, &me))
				emit_error(k, name, &me);
		}
	}
	json_object_foreach(json_object_get(index, "packages"), name, pkg) {
		const char *latest = hp_registry_index_latest(index, name);
		target *t = latest ? find_registry_target(k, name, latest) : NULL;
		hp_err se = HP_ERR_INIT;
		if (t && t->content_id[0] && hp_state_record(k->seen, name, latest, t->content_id, &se))
			emit_error(k, "state", &se);
	}
	json_decref(index);
	drop_registry_targets(k, true);
	snprintf(k->head, sizeof k->head, "%s", tip);
	hp_metric_clear(k->m_reg_head);
	hp_metric_set(k->m_reg_head, (const char *const[]){ k->head }, 1);
	hp_keeper_event ev = { 0 };
	ev.kind = HP_KEEPER_EV_REGISTRY;
	ev.head = k->head;
	emit(k, &ev);
}

/* The arguments, read again at every check (a file may change). */
static void refresh_args(keeper *k)
{
	size_t w = 0;
	for (size_t i = 0; i < k->nt; i++) {
		if (k->t[i].registry)
			k->t[w++] = k->t[i];
		else
			target_free(&k->t[i]);
	}
	k->nt = w;
	for (size_t i = 0; i < k->o->nargs; i++) {
		const char *a = k->o->args[i];
		target t = { 0 };
		hp_err e = HP_ERR_INIT;
		hp_code rc = HP_OK;
		if (hp_cid_parse_text(a, &t.cid, NULL) != HP_OK) {
			json_t *m = NULL;
			if (!(rc = hp_manifest_load(a, HP_MANIFEST_UNSIGNED_OK, &m, &e)))
				rc = target_of_manifest(m, a, &t, &e);
			json_decref(m);
		}
		if (!rc && !(t.label = strdup(a)))
			rc = hp_fail_nomem(&e);
		if (!rc)
			rc = add_target(k, &t, &e);
		if (rc) {
			target_free(&t);
			emit_error(k, a, &e);
		}
	}
}

/* The targets' CIDs, each once, and the per-node tables for them. */
static hp_code layout(keeper *k, hp_err *e)
{
	free(k->cids);
	free(k->cid_of);
	free(k->state);
	free(k->peers_pinned);
	size_t n = k->nt ? k->nt : 1, nn = k->o->nnodes;
	k->cids = calloc(n, sizeof *k->cids);
	k->cid_of = calloc(n, sizeof *k->cid_of);
	k->state = calloc(n * nn, sizeof *k->state);
	k->peers_pinned = calloc(n * nn, sizeof *k->peers_pinned);
	if (!k->cids || !k->cid_of || !k->state || !k->peers_pinned)
		return hp_fail_nomem(e);
	k->ncids = 0;
	for (size_t i = 0; i < k->nt; i++) {
		size_t j = 0;
		while (j < k->ncids && !hp_cid_same_content(&k->cids[j], &k->t[i].cid))
			j++;
		if (j == k->ncids)
			k->cids[k->ncids++] = k->t[i].cid;
		k->cid_of[i] = j;
	}
	for (size_t i = 0; i < k->ncids * nn; i++)
		k->state[i] = HP_PIN_ERROR;
	return HP_OK;
}

/* ---- the nodes ---- */

typedef struct row {
	keeper *k;
	size_t node;
	bool repin;
} row;

static size_t cid_index(const keeper *k, const hp_cid *c)
{
	if (c >= k->cids && c < k->cids + k->ncids)
		return (size_t)(c - k->cids);
	for (size_t j = 0; j < k->ncids; j++)
		if (hp_cid_same_content(&k->cids[j], c))
			return j;
	return SIZE_MAX;
}

static void on_result(void *ud, const hp_pin_result *r)
{
	row *w = ud;
	keeper *k = w->k;
	size_t j = cid_index(k, r->cid);
	if (j == SIZE_MAX)
		return;
	k->state[w->node * k->ncids + j] = r->state;
	k->peers_pinned[w->node * k->ncids + j] = r->peers_pinned;
	/* the worst error: of a re-pin, or of a node that did not answer (a
	 * status that says "not pinned" is answered by the re-pin) */
	if (r->err.code && (w->repin || r->state == HP_PIN_ERROR)) {
		pthread_mutex_lock(&k->mu);
		if (r->err.code > k->worst) {
			k->worst = r->err.code;
			k->worst_err = r->err;
		}
		pthread_mutex_unlock(&k->mu);
	}
	/* a node that does not answer: one error event a check, not one per CID */
	if (r->state == HP_PIN_ERROR && !w->repin) {
		pthread_mutex_lock(&k->mu);
		bool first = !k->reported[w->node];
		k->reported[w->node] = true;
		pthread_mutex_unlock(&k->mu);
		if (first)
			emit_error(k, k->o->nodes[w->node].ep.url, &r->err);
	}
	if (!w->repin)
		return;
	pthread_mutex_lock(&k->mu);
	if (r->state == HP_PIN_PINNED)
		k->repinned[w->node]++;
	else
		k->repin_failed[w->node]++;
	pthread_mutex_unlock(&k->mu);
	hp_keeper_event ev = { 0 };
	ev.kind = HP_KEEPER_EV_REPIN;
	ev.pin = r;
	emit(k, &ev);
}

static bool car_for(const keeper *k, const hp_cid *c, char *path, size_t size)
{
	if (!k->o->car_dir)
		return false;
	char text[HP_CID_MAX_TEXT];
	hp_cid_text(c, text);
	struct stat st;
	return (size_t)snprintf(path, size, "%s/%s.car", k->o->car_dir, text) < size && stat(path, &st) == 0 &&
	       S_ISREG(st.st_mode);
}

/* Up to NODE_LANES requests to one node at once: cids[0..n) in slices, each
 * asked (status) or pinned (add) on a thread of its own. */
typedef struct lanes {
	row w;
	const hp_pin_node *node;
	const hp_cid *cids;
	size_t n, per;
	const hp_pin_opts *po;
	bool add;
	atomic_size_t next;
} lanes;

static void *lane_main(void *arg)
{
	lanes *l = arg;
	for (;;) {
		size_t at = atomic_fetch_add(&l->next, l->per);
		if (at >= l->n)
			return NULL;
		size_t n = l->n - at < l->per ? l->n - at : l->per;
		hp_err e = HP_ERR_INIT;
		hp_code rc = l->add ? hp_pin_add(l->node, 1, l->cids + at, n, l->po, on_result, &l->w, &e)
				    : hp_pin_status(l->node, 1, l->cids + at, n, l->po, on_result, &l->w, &e);
		if (rc)
			emit_error(l->w.k, l->node->ep.url, &e);
	}
}

static void in_lanes(keeper *k, size_t i, const hp_cid *cids, size_t n, const hp_pin_opts *po, bool add)
{
	if (!n)
		return;
	size_t nl = n < NODE_LANES ? n : NODE_LANES;
	lanes l = { { k, i, add }, &k->o->nodes[i], cids, n, (n + nl - 1) / nl, po, add, 0 };
	hp_run_threads(nl, lane_main, &l);
}

/* One node: the status of every CID, then the missing ones again. */
static void check_node(keeper *k, size_t i)
{
	const hp_pin_node *node = &k->o->nodes[i];
	hp_pin_opts po = { 0 };
	po.timeout_ms = k->o->timeout_ms;
	k->repinned[i] = k->repin_failed[i] = 0;
	k->reported[i] = false;
	if (!k->ncids)
		return;
	in_lanes(k, i, k->cids, k->ncids, &po, false);
	hp_cid *missing = calloc(k->ncids, sizeof *missing);
	size_t n = 0;
	if (!missing)
		return;
	row w = { k, i, true };
	for (size_t j = 0; j < k->ncids; j++) {
		hp_pin_state s = k->state[i * k->ncids + j];
		if (s != HP_PIN_UNPINNED && s != HP_PIN_FAILED)
			continue;
		char car[4096];
		hp_err e = HP_ERR_INIT;
		if (node->kind == HP_PIN_KUBO && car_for(k, &k->cids[j], car, sizeof car)) {
			hp_pin_opts co = po;
			co.car = car;
			if (hp_pin_add(node, 1, &k->cids[j], 1, &co, on_result, &w, &e))
				emit_error(k, node->ep.url, &e);
		} else {
			missing[n++] = k->cids[j];
		}
	}
	in_lanes(k, i, missing, n, &po, true);
	free(missing);
}

static void *node_main(void *arg)
{
	keeper *k = arg;
	for (;;) {
		size_t i = atomic_fetch_add(&k->next_node, 1);
		if (i >= k->o->nnodes)
			return NULL;
		check_node(k, i);
	}
}

/* ---- metrics ---- */

static void make_metrics(keeper *k)
{
	hp_metrics *m = k->o->metrics;
	if (!m)
		return;
	const char *const node[] = { "node", "kind", NULL };
	const char *const node_state[] = { "node", "kind", "state", NULL };
	const char *const commit[] = { "commit", NULL };
	const char *const pkg[] = { "name", "version", NULL };
	static const double buckets[] = { 0.1, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600 };
	k->m_manifests = hp_metrics_gauge(m, "hp_keeper_manifests", "Manifests whose content is kept pinned.", NULL);
	k->m_cids = hp_metrics_gauge(m, "hp_keeper_cids", "Distinct CIDs kept pinned (the manifests' ipfs_cid).", NULL);
	k->m_pins = hp_metrics_gauge(m, "hp_keeper_pins",
				     "CIDs on each node by their state at the end of the last check.", node_state);
	k->m_up = hp_metrics_gauge(m, "hp_keeper_node_up", "1 when the node answered every question of the last check.",
				   node);
	k->m_repins = hp_metrics_counter(m, "hp_keeper_repins_total", "CIDs found unpinned and pinned again.", node);
	k->m_repin_fail = hp_metrics_counter(m, "hp_keeper_repin_failures_total",
					     "Attempts to pin a missing CID again that did not end pinned.", node);
	k->m_bytes = hp_metrics_gauge(m, "hp_keeper_pinned_bytes",
				      "Bytes of the manifests (total_size) whose CID is pinned on the node.", node);
	k->m_under = hp_metrics_gauge(m, "hp_keeper_under_replicated",
				      "Cluster: pinned CIDs on fewer peers than the node's replication minimum.", node);
	k->m_checks = hp_metrics_counter(m, "hp_keeper_checks_total", "Checks done.", NULL);
	k->m_duration = hp_metrics_histogram(m, "hp_keeper_check_duration_seconds", "How long a check took.", NULL,
					     buckets, sizeof buckets / sizeof *buckets);
	k->m_last_check = hp_metrics_gauge(m, "hp_keeper_last_check_timestamp_seconds",
					   "When the last check ended (Unix time).", NULL);
	k->m_last_ok = hp_metrics_gauge(m, "hp_keeper_last_success_timestamp_seconds",
					"When the last check ended in which the registry and every node answered.", NULL);
	k->m_reg_errors = hp_metrics_counter(m, "hp_keeper_registry_errors_total",
					     "Failed fetches or reads of the registry.", NULL);
	k->m_reg_fetch = hp_metrics_gauge(m, "hp_keeper_registry_last_fetch_timestamp_seconds",
					  "When the registry was last fetched (Unix time).", NULL);
	k->m_reg_head = hp_metrics_gauge(m, "hp_keeper_registry_head_info", "The registry commit the targets come from.",
					 commit);
	k->m_expiry = hp_metrics_gauge(m, "hp_keeper_manifest_expiry_timestamp_seconds",
				       "When a manifest expires (its expires member, Unix time).", pkg);
	k->m_interval = hp_metrics_gauge(m, "hp_keeper_interval_seconds", "The time between two checks.", NULL);
}

static void update_metrics(keeper *k, const hp_keeper_event *ev, bool all_answered)
{
	const hp_keeper_opts *o = k->o;
	if (!o->metrics)
		return;
	hp_metric_set(k->m_manifests, NULL, (double)ev->manifests);
	hp_metric_set(k->m_cids, NULL, (double)ev->cids);
	hp_metric_clear(k->m_pins);
	hp_metric_clear(k->m_expiry);
	for (size_t i = 0; i < o->nnodes; i++) {
		const hp_pin_node *n = &o->nodes[i];
		const char *kind = hp_pin_kind_name(n->kind);
		const char *const nk[] = { n->ep.url, kind };
		size_t count[HP_PIN_ERROR + 1] = { 0 }, under = 0;
		double bytes = 0;
		for (size_t j = 0; j < k->ncids; j++) {
			hp_pin_state s = k->state[i * k->ncids + j];
			count[s]++;
			unsigned want = n->replication_min > 0 ? (unsigned)n->replication_min : 1;
			if (n->kind == HP_PIN_CLUSTER && s == HP_PIN_PINNED && k->peers_pinned[i * k->ncids + j] < want)
				under++;
		}
		for (size_t t = 0; t < k->nt; t++)
			if (k->state[i * k->ncids + k->cid_of[t]] == HP_PIN_PINNED)
				bytes += (double)k->t[t].size;
		for (int s = HP_PIN_PINNED; s <= HP_PIN_ERROR; s++)
			hp_metric_set(k->m_pins, (const char *const[]){ n->ep.url, kind, hp_pin_state_name(s) },
				      (double)count[s]);
		hp_metric_set(k->m_up, nk, count[HP_PIN_ERROR] ? 0 : 1);
		hp_metric_add(k->m_repins, nk, (double)k->repinned[i]);
		hp_metric_add(k->m_repin_fail, nk, (double)k->repin_failed[i]);
		hp_metric_set(k->m_bytes, nk, bytes);
		if (n->kind == HP_PIN_CLUSTER)
			hp_metric_set(k->m_under, nk, (double)under);
	}
	for (size_t t = 0; t < k->nt; t++)
		if (k->t[t].expires && k->t[t].name)
			hp_metric_set(k->m_expiry, (const char *const[]){ k->t[t].name, k->t[t].version },
				      (double)k->t[t].expires);
	hp_metric_add(k->m_checks, NULL, 1);
	hp_metric_observe(k->m_duration, NULL, ev->seconds);
	double now = (double)time(NULL);
	hp_metric_set(k->m_last_check, NULL, now);
	if (all_answered)
		hp_metric_set(k->m_last_ok, NULL, now);
}

/* ---- the loop ---- */

static hp_code check(keeper *k, hp_err *e)
{
	const hp_keeper_opts *o = k->o;
	int64_t t0 = hp_time_mono_ms();
	if (o->registry)
		refresh_registry(k);
	refresh_args(k);
	hp_code rc = layout(k, e);
	if (rc)
		return rc;
	k->worst = HP_OK;
	atomic_store(&k->next_node, 0);
	hp_run_threads(o->nnodes < HP_RUN_THREADS_MAX ? o->nnodes : HP_RUN_THREADS_MAX, node_main, k);

	hp_keeper_event ev = { 0 };
	ev.kind = HP_KEEPER_EV_CHECK;
	ev.manifests = k->nt;
	ev.cids = k->ncids;
	for (size_t i = 0; i < o->nnodes * k->ncids; i++) {
		hp_pin_state s = k->state[i];
		if (s == HP_PIN_PINNED)
			ev.pinned++;
		else if (s == HP_PIN_PINNING || s == HP_PIN_QUEUED)
			ev.pending++;
		else if (s == HP_PIN_ERROR)
			ev.errors++;
		else
			ev.missing++;
	}
	for (size_t i = 0; i < o->nnodes; i++) {
		ev.repinned += k->repinned[i];
		ev.repin_failed += k->repin_failed[i];
	}
	ev.seconds = (double)(hp_time_mono_ms() - t0) / 1000.0;
	update_metrics(k, &ev, !ev.errors && !k->registry_failed);
	emit(k, &ev);
	if (k->registry_failed) {
		*e = k->registry_err;
		return k->registry_err.code;
	}
	if (ev.pinned == o->nnodes * k->ncids)
		return HP_OK;
	if (k->worst) {
		*e = k->worst_err;
		return k->worst;
	}
	return hp_fail(e, HP_E_INVALID, "%zu of %zu pins are not in place after the check",
		       o->nnodes * k->ncids - ev.pinned, o->nnodes * k->ncids);
}

hp_code hp_keeper_run(const hp_keeper_opts *o, hp_err *e)
{
	if (!o->nnodes)
		return hp_fail(e, HP_E_USAGE, "no node to keep pins on");
	if (!o->registry && !o->nargs)
		return hp_fail(e, HP_E_USAGE, "nothing to keep pinned: give a registry, manifests or CIDs");
	keeper k;
	memset(&k, 0, sizeof k);
	k.o = o;
	pthread_mutex_init(&k.mu, NULL);
	k.repinned = calloc(o->nnodes, sizeof *k.repinned);
	k.repin_failed = calloc(o->nnodes, sizeof *k.repin_failed);
	k.reported = calloc(o->nnodes, sizeof *k.reported);
	hp_code rc = k.repinned && k.repin_failed && k.reported ? HP_OK : hp_fail_nomem(e);
	if (!rc)
		rc = hp_state_load(o->state_path, &k.seen, e);
	long interval = o->interval_ms > 0 ? o->interval_ms : DEFAULT_INTERVAL_MS;
	make_metrics(&k);
	hp_metric_set(k.m_interval, NULL, (double)interval / 1000.0);
	while (!rc) {
		int64_t start = hp_time_mono_ms();
		hp_err ce = HP_ERR_INIT;
		hp_code crc = check(&k, &ce);
		if (crc == HP_E_NOMEM || o->once) {
			if (crc)
				*e = ce;
			rc = crc;
			break;
		}
		while (!(o->stop && *o->stop) && hp_time_mono_ms() - start < interval) {
			struct timespec ts = { 0, SLEEP_STEP_MS * 1000000L };
			nanosleep(&ts, NULL);
		}
		if (o->stop && *o->stop)
			break;
	}
	for (size_t i = 0; i < k.nt; i++)
		target_free(&k.t[i]);
	free(k.t);
	free(k.cids);
	free(k.cid_of);
	free(k.state);
	free(k.peers_pinned);
	free(k.repinned);
	free(k.repin_failed);
	free(k.reported);
	hp_git_registry_free(k.reg);
	hp_state_free(k.seen);
	pthread_mutex_destroy(&k.mu);
	return rc;
}
