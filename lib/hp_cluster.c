#include "hp_cluster.h"

#include <stdio.h>
#include <string.h>

#include "hp_json.h"

#include "banned.h"

static hp_code pin_url(hp_buf *u, const hp_http_endpoint *ep, const hp_cid *cid, hp_err *e)
{
	char t[HP_CID_MAX_TEXT];
	hp_cid_text(cid, t);
	return hp_buf_addf(u, e, "%s/pins/%s", ep->url, t);
}

hp_code hp_cluster_pin(const hp_http_endpoint *ep, const hp_cid *cid, const hp_cluster_pin_opts *o,
		       int64_t deadline, hp_err *e)
{
	hp_buf u = HP_BUF_INIT, out = HP_BUF_INIT;
	hp_code rc = pin_url(&u, ep, cid, e);
	char sep = '?';
	if (!rc && o && o->replication_min) {
		rc = hp_buf_addf(&u, e, "%creplication-min=%d", sep, o->replication_min);
		sep = '&';
	}
	if (!rc && o && o->replication_max) {
		rc = hp_buf_addf(&u, e, "%creplication-max=%d", sep, o->replication_max);
		sep = '&';
	}
	if (!rc && o && o->name && *o->name && !(rc = hp_buf_addf(&u, e, "%cname=", sep)))
		rc = hp_http_add_escaped(&u, o->name, e);
	if (!rc)
		rc = hp_http_json_call(ep, "POST", u.data, NULL, HP_CLUSTER_MAX_ANSWER, deadline,
				       hp_cluster_error_message, &out, NULL, e);
	/* the answer is the pin as the cluster stored it: it must at least be JSON */
	if (!rc) {
		json_t *j = NULL;
		if ((rc = hp_json_parse(out.data, out.len, "answer", &j, e)) == HP_OK && !json_is_object(j))
			rc = hp_fail(e, HP_E_DATA, "answer: not a JSON object");
		json_decref(j);
		if (rc) {
			char where[256];
			hp_http_redact(u.data, where, sizeof where);
			hp_err_prefix(e, "'%s'", where);
		}
	}
	hp_buf_release(&u);
	hp_buf_release(&out);
	return rc;
}

hp_code hp_cluster_status_get(const hp_http_endpoint *ep, const hp_cid *cid, hp_cluster_status *st,
			      int64_t deadline, hp_err *e)
{
	memset(st, 0, sizeof *st);
	hp_buf u = HP_BUF_INIT, out = HP_BUF_INIT;
	hp_code rc = pin_url(&u, ep, cid, e);
	if (!rc)
		rc = hp_http_json_call(ep, "GET", u.data, NULL, HP_CLUSTER_MAX_ANSWER, deadline,
				       hp_cluster_error_message, &out, NULL, e);
	if (!rc && (rc = hp_cluster_parse_status(out.data, out.len, cid, st, e))) {
		char where[256];
		hp_http_redact(u.data, where, sizeof where);
		hp_err_prefix(e, "'%s'", where);
	}
	hp_buf_release(&u);
	hp_buf_release(&out);
	return rc;
}
