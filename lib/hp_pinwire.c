#include "hp_pinwire.h"

#include <jansson.h>
#include <string.h>

#include "hp_io.h"
#include "hp_json.h"

#include "banned.h"

bool hp_cid_same_content(const hp_cid *a, const hp_cid *b)
{
	return a->codec == b->codec && a->hash == b->hash && a->digest_len == b->digest_len &&
	       memcmp(a->digest, b->digest, a->digest_len) == 0;
}

static void quote_str(const json_t *s, char *out, size_t outsz)
{
	hp_quote(json_string_value(s), json_string_length(s), out, outsz);
}

/* A string member as a CID; false when absent, not a string or not a CID. */
static bool cid_of(const json_t *v, hp_cid *c)
{
	if (!json_is_string(v))
		return false;
	const char *s = json_string_value(v);
	if (strlen(s) != json_string_length(v))
		return false;
	return hp_cid_parse_text(s, c, NULL) == HP_OK;
}

static hp_code not_what(hp_err *e, const char *what)
{
	return hp_fail(e, HP_E_DATA, "answer: %s", what);
}

/* ---- kubo ---- */

static bool kubo_error_json(const json_t *j, char *msg, size_t msgsz)
{
	if (!json_is_object(j))
		return false;
	const json_t *type = json_object_get(j, "Type");
	const json_t *m = json_object_get(j, "Message");
	if (!json_is_string(type) || strcmp(json_string_value(type), "error") != 0 || !json_is_string(m))
		return false;
	if (msgsz)
		quote_str(m, msg, msgsz);
	return true;
}

bool hp_kubo_error_message(const char *p, size_t n, char *msg, size_t msgsz)
{
	json_t *j = NULL;
	if (hp_json_parse(p, n, "answer", &j, NULL) != HP_OK)
		return false;
	bool yes = kubo_error_json(j, msg, msgsz);
	json_decref(j);
	return yes;
}

hp_code hp_kubo_parse_pin_ls(const char *p, size_t n, const hp_cid *cid, bool *pinned, hp_err *e)
{
	*pinned = false;
	json_t *j = NULL;
	hp_code rc = hp_json_parse(p, n, "answer", &j, e);
	if (rc)
		return rc;
	const json_t *keys = json_object_get(j, "Keys");
	if (!json_is_object(j) || !json_is_object(keys)) {
		json_decref(j);
		return not_what(e, "no \"Keys\" object (not kubo's pin/ls?)");
	}
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)keys, k, v) {
		hp_cid c;
		if (hp_cid_parse_text(k, &c, NULL) != HP_OK || !json_is_object(v)) {
			json_decref(j);
			return not_what(e, "a key of \"Keys\" is not a CID with an object");
		}
		const json_t *t = json_object_get(v, "Type");
		if (hp_cid_same_content(&c, cid) && json_is_string(t) && strcmp(json_string_value(t), "recursive") == 0)
			*pinned = true;
	}
	json_decref(j);
	return HP_OK;
}

/* Call fn for each non-empty line of p as a JSON value; stop at its error. */
typedef hp_code line_fn(void *ud, const json_t *j, hp_err *e);

static hp_code each_line(const char *p, size_t n, line_fn *fn, void *ud, hp_err *e)
{
	size_t lineno = 0;
	while (n) {
		const char *nl = memchr(p, '\n', n);
		size_t len = nl ? (size_t)(nl - p) : n;
		lineno++;
		size_t k = 0;
		while (k < len && (p[k] == ' ' || p[k] == '\t' || p[k] == '\r'))
			k++;
		if (k < len) {
			json_t *j = NULL;
			char what[48];
			snprintf(what, sizeof what, "answer line %zu", lineno);
			hp_code rc = hp_json_parse(p, len, what, &j, e);
			if (rc)
				return rc;
			char msg[HP_PINWIRE_MSG_MAX];
			if (kubo_error_json(j, msg, sizeof msg)) {
				json_decref(j);
				return hp_fail(e, HP_E_UNAVAILABLE, "%s", msg);
			}
			rc = fn(ud, j, e);
			json_decref(j);
			if (rc)
				return rc;
		}
		if (!nl)
			break;
		n -= len + 1;
		p = nl + 1;
	}
	return HP_OK;
}

typedef struct pin_add_state {
	const hp_cid *cid;
	bool have_pins;
	bool found;
} pin_add_state;

static hp_code pin_add_line(void *ud, const json_t *j, hp_err *e)
{
	pin_add_state *s = ud;
	if (!json_is_object(j))
		return not_what(e, "a line is not a JSON object");
	const json_t *pins = json_object_get(j, "Pins");
	if (!pins)
		return HP_OK;  /* {"Progress": n} */
	if (!json_is_array(pins))
		return not_what(e, "\"Pins\" is not an array");
	s->have_pins = true;
	size_t i;
	json_t *v;
	json_array_foreach(pins, i, v) {
		hp_cid c;
		if (!cid_of(v, &c))
			return not_what(e, "\"Pins\" holds something that is not a CID");
		if (hp_cid_same_content(&c, s->cid))
			s->found = true;
	}
	return HP_OK;
}

hp_code hp_kubo_parse_pin_add(const char *p, size_t n, const hp_cid *cid, hp_err *e)
{
	pin_add_state s = { cid, false, false };
	hp_code rc = each_line(p, n, pin_add_line, &s, e);
	if (rc)
		return rc;
	if (!s.have_pins)
		return not_what(e, "no \"Pins\" (the answer was cut short?)");
	if (!s.found) {
		char t[HP_CID_MAX_TEXT];
		hp_cid_text(cid, t);
		return hp_fail(e, HP_E_DATA, "answer: \"Pins\" does not list %s", t);
	}
	return HP_OK;
}

typedef struct import_state {
	hp_kubo_root *roots;
	size_t max;
	size_t n;
} import_state;

static hp_code import_line(void *ud, const json_t *j, hp_err *e)
{
	import_state *s = ud;
	if (!json_is_object(j))
		return not_what(e, "a line is not a JSON object");
	const json_t *root = json_object_get(j, "Root");
	if (!root)
		return HP_OK;  /* {"Stats": ...} */
	const json_t *cid = json_object_get(root, "Cid");
	hp_cid c;
	if (!json_is_object(root) || !json_is_object(cid) || !cid_of(json_object_get(cid, "/"), &c))
		return not_what(e, "\"Root\" has no {\"Cid\": {\"/\": CID}}");
	const json_t *pe = json_object_get(root, "PinErrorMsg");
	if (pe && !json_is_string(pe))
		return not_what(e, "\"PinErrorMsg\" is not a string");
	if (s->n < s->max) {
		hp_kubo_root *r = &s->roots[s->n];
		r->cid = c;
		r->pin_error[0] = '\0';
		if (pe && json_string_length(pe))
			quote_str(pe, r->pin_error, sizeof r->pin_error);
	}
	s->n++;
	return HP_OK;
}

hp_code hp_kubo_parse_dag_import(const char *p, size_t n, hp_kubo_root *roots, size_t max, size_t *nroots,
				 hp_err *e)
{
	import_state s = { roots, max, 0 };
	hp_code rc = each_line(p, n, import_line, &s, e);
	*nroots = s.n;
	return rc;
}

/* ---- IPFS Cluster ---- */

bool hp_cluster_error_message(const char *p, size_t n, char *msg, size_t msgsz)
{
	json_t *j = NULL;
	if (hp_json_parse(p, n, "answer", &j, NULL) != HP_OK)
		return false;
	const json_t *m = json_object_get(j, "message");
	bool yes = json_is_object(j) && json_is_string(m) && json_is_integer(json_object_get(j, "code"));
	if (yes && msgsz)
		quote_str(m, msg, msgsz);
	json_decref(j);
	return yes;
}

hp_code hp_cluster_parse_status(const char *p, size_t n, const hp_cid *cid, hp_cluster_status *st, hp_err *e)
{
	memset(st, 0, sizeof *st);
	json_t *j = NULL;
	hp_code rc = hp_json_parse(p, n, "answer", &j, e);
	if (rc)
		return rc;
	rc = HP_OK;
	const json_t *jc = json_object_get(j, "cid");
	const json_t *map = json_object_get(j, "peer_map");
	hp_cid c;
	if (!json_is_object(j) || !json_is_object(map)) {
		rc = not_what(e, "no \"peer_map\" object (not IPFS Cluster's pin status?)");
		goto out;
	}
	/* "cid": "Qm..." (1.x) or {"/": "Qm..."} (0.x) */
	if (json_is_object(jc))
		jc = json_object_get(jc, "/");
	if (!cid_of(jc, &c)) {
		rc = not_what(e, "\"cid\" is not a CID");
		goto out;
	}
	if (cid && !hp_cid_same_content(&c, cid)) {
		rc = not_what(e, "the status is for another CID");
		goto out;
	}
	const char *peer;
	json_t *v;
	json_object_foreach((json_t *)map, peer, v) {
		const json_t *s = json_object_get(v, "status");
		if (!json_is_object(v) || !json_is_string(s)) {
			rc = not_what(e, "a peer_map entry has no \"status\"");
			goto out;
		}
		const char *t = json_string_value(s);
		if (strcmp(t, "remote") == 0) {
			st->remote++;
			continue;
		}
		st->peers++;
		if (strcmp(t, "pinned") == 0) {
			st->pinned++;
		} else if (strcmp(t, "pinning") == 0) {
			st->pinning++;
		} else if (strcmp(t, "pin_queued") == 0 || strcmp(t, "queued") == 0) {
			st->queued++;
		} else if (strcmp(t, "pin_error") == 0 || strcmp(t, "cluster_error") == 0 ||
			   strcmp(t, "unexpectedly_unpinned") == 0) {
			if (!st->failed++) {
				const json_t *er = json_object_get(v, "error");
				if (json_is_string(er) && json_string_length(er))
					quote_str(er, st->error, sizeof st->error);
				else
					snprintf(st->error, sizeof st->error, "%s", t);
			}
		} else if (strcmp(t, "unpinned") == 0 || strcmp(t, "unpinning") == 0 ||
			   strcmp(t, "unpin_queued") == 0 || strcmp(t, "unpin_error") == 0) {
			st->unpinned++;
		} else {
			st->other++;
		}
	}
out:
	json_decref(j);
	return rc;
}

/* ---- Pinning Service API ---- */

static const char *const psa_names[] = { "queued", "pinning", "pinned", "failed" };

const char *hp_psa_state_name(hp_psa_state s)
{
	return (unsigned)s < 4 ? psa_names[s] : "?";
}

static hp_code psa_status_json(const json_t *j, const hp_cid *cid, hp_psa_status *st, hp_err *e)
{
	memset(st, 0, sizeof *st);
	if (!json_is_object(j))
		return not_what(e, "not a PinStatus object");
	const json_t *rid = json_object_get(j, "requestid");
	const json_t *status = json_object_get(j, "status");
	const json_t *pin = json_object_get(j, "pin");
	if (!json_is_string(rid) || json_string_length(rid) == 0 ||
	    json_string_length(rid) >= sizeof st->requestid ||
	    strlen(json_string_value(rid)) != json_string_length(rid))
		return not_what(e, "PinStatus without a usable \"requestid\"");
	const char *r = json_string_value(rid);
	for (const char *q = r; *q; q++)
		if ((unsigned char)*q < 0x21 || *q == 0x7f || *q == '/' || *q == '?' || *q == '#' || *q == '%')
			return not_what(e, "PinStatus \"requestid\" has characters a URL path cannot take");
	memcpy(st->requestid, r, json_string_length(rid) + 1);
	if (!json_is_string(status))
		return not_what(e, "PinStatus without \"status\"");
	bool known = false;
	for (unsigned i = 0; i < 4; i++) {
		if (strcmp(json_string_value(status), psa_names[i]) == 0) {
			st->status = (hp_psa_state)i;
			known = true;
		}
	}
	if (!known)
		return not_what(e, "PinStatus \"status\" is not queued, pinning, pinned or failed");
	if (!json_is_object(pin) || !cid_of(json_object_get(pin, "cid"), &st->cid))
		return not_what(e, "PinStatus without a \"pin\" {\"cid\": CID}");
	if (cid && !hp_cid_same_content(&st->cid, cid))
		return not_what(e, "PinStatus for another CID");
	return HP_OK;
}

hp_code hp_psa_parse_status(const char *p, size_t n, const hp_cid *cid, hp_psa_status *st, hp_err *e)
{
	json_t *j = NULL;
	hp_code rc = hp_json_parse(p, n, "answer", &j, e);
	if (rc) {
		memset(st, 0, sizeof *st);
		return rc;
	}
	rc = psa_status_json(j, cid, st, e);
	json_decref(j);
	return rc;
}

/* How far along a state is, for picking among several requests. */
static int rank(hp_psa_state s)
{
	switch (s) {
	case HP_PSA_PINNED: return 4;
	case HP_PSA_PINNING: return 3;
	case HP_PSA_QUEUED: return 2;
	default: return 1;
	}
}

hp_code hp_psa_parse_results(const char *p, size_t n, const hp_cid *cid, hp_psa_status *st, bool *found,
			     hp_err *e)
{
	*found = false;
	memset(st, 0, sizeof *st);
	json_t *j = NULL;
	hp_code rc = hp_json_parse(p, n, "answer", &j, e);
	if (rc)
		return rc;
	const json_t *results = json_object_get(j, "results");
	if (!json_is_object(j) || !json_is_integer(json_object_get(j, "count")) || !json_is_array(results)) {
		json_decref(j);
		return not_what(e, "not a PinResults object {\"count\", \"results\"}");
	}
	size_t i;
	json_t *v;
	json_array_foreach(results, i, v) {
		hp_psa_status s;
		rc = psa_status_json(v, NULL, &s, e);
		if (rc)
			break;
		if (hp_cid_same_content(&s.cid, cid) && (!*found || rank(s.status) > rank(st->status))) {
			*st = s;
			*found = true;
		}
	}
	json_decref(j);
	return rc;
}

bool hp_psa_error_message(const char *p, size_t n, char *msg, size_t msgsz)
{
	json_t *j = NULL;
	if (hp_json_parse(p, n, "answer", &j, NULL) != HP_OK)
		return false;
	const json_t *err = json_object_get(j, "error");
	const json_t *reason = json_object_get(err, "reason");
	const json_t *details = json_object_get(err, "details");
	bool yes = json_is_object(j) && json_is_object(err) && json_is_string(reason);
	if (yes && msgsz) {
		char r[HP_PINWIRE_MSG_MAX], d[HP_PINWIRE_MSG_MAX];
		quote_str(reason, r, sizeof r);
		d[0] = '\0';
		if (json_is_string(details) && json_string_length(details))
			quote_str(details, d, sizeof d);
		snprintf(msg, msgsz, "%s%s%s", r, d[0] ? ": " : "", d);
	}
	json_decref(j);
	return yes;
}
