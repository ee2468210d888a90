#include "hp_psa.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "hp_io.h"

#include "banned.h"

static hp_code prefix_where(const char *url, hp_err *e)
{
	char where[256];
	hp_http_redact(url, where, sizeof where);
	return hp_err_prefix(e, "'%s'", where);
}

hp_code hp_psa_add(const hp_http_endpoint *ep, const hp_cid *cid, const char *name, const char *const *origins,
		   size_t norigins, int64_t deadline, hp_psa_status *st, hp_err *e)
{
	memset(st, 0, sizeof *st);
	if (norigins > HP_PSA_MAX_ORIGINS)
		return hp_fail(e, HP_E_USAGE, "at most %d origins may be given to a pinning service",
			       HP_PSA_MAX_ORIGINS);
	if (name && strlen(name) > HP_PSA_MAX_NAME)
		return hp_fail(e, HP_E_USAGE, "a pin name may have at most %d characters", HP_PSA_MAX_NAME);
	if (name && !hp_utf8_valid(name, strlen(name)))
		return hp_fail(e, HP_E_USAGE, "a pin name must be UTF-8");
	char t[HP_CID_MAX_TEXT];
	hp_cid_text(cid, t);
	json_t *body = json_pack("{s:s}", "cid", t);
	json_t *orig = norigins ? json_array() : NULL;
	bool bad = !body || (norigins && !orig);
	if (!bad && name && *name)
		bad = json_object_set_new(body, "name", json_string(name)) != 0;
	for (size_t i = 0; !bad && i < norigins; i++) {
		if (!hp_utf8_valid(origins[i], strlen(origins[i]))) {
			json_decref(body);
			json_decref(orig);
			return hp_fail(e, HP_E_USAGE, "an origin must be UTF-8");
		}
		bad = json_array_append_new(orig, json_string(origins[i])) != 0;
	}
	if (!bad && orig) {
		bad = json_object_set_new(body, "origins", orig) != 0;
		orig = NULL;
	}
	char *text = bad ? NULL : json_dumps(body, JSON_COMPACT);
	json_decref(body);
	json_decref(orig);
	if (!text)
		return hp_fail_nomem(e);
	hp_buf u = HP_BUF_INIT, out = HP_BUF_INIT;
	hp_code rc = hp_buf_addf(&u, e, "%s/pins", ep->url);
	if (!rc)
		rc = hp_http_json_call(ep, "POST", u.data, text, HP_PSA_MAX_ANSWER, deadline, hp_psa_error_message,
				       &out, NULL, e);
	if (!rc && (rc = hp_psa_parse_status(out.data, out.len, cid, st, e)))
		prefix_where(u.data, e);
	free(text);
	hp_buf_release(&u);
	hp_buf_release(&out);
	return rc;
}

hp_code hp_psa_get(const hp_http_endpoint *ep, const char *requestid, const hp_cid *cid, int64_t deadline,
		   hp_psa_status *st, hp_err *e)
{
	memset(st, 0, sizeof *st);
	hp_buf u = HP_BUF_INIT, out = HP_BUF_INIT;
	hp_code rc = hp_buf_addf(&u, e, "%s/pins/", ep->url);
	if (!rc)
		rc = hp_http_add_escaped(&u, requestid, e);
	if (!rc)
		rc = hp_http_json_call(ep, "GET", u.data, NULL, HP_PSA_MAX_ANSWER, deadline, hp_psa_error_message,
				       &out, NULL, e);
	if (!rc && (rc = hp_psa_parse_status(out.data, out.len, cid, st, e)))
		prefix_where(u.data, e);
	hp_buf_release(&u);
	hp_buf_release(&out);
	return rc;
}

hp_code hp_psa_find(const hp_http_endpoint *ep, const hp_cid *cid, int64_t deadline, hp_psa_status *st,
		    bool *found, hp_err *e)
{
	*found = false;
	memset(st, 0, sizeof *st);
	char t[HP_CID_MAX_TEXT];
	hp_cid_text(cid, t);
	hp_buf u = HP_BUF_INIT, out = HP_BUF_INIT;
	/* without a status filter the spec lists only the pinned ones */
	hp_code rc = hp_buf_addf(&u, e, "%s/pins?cid=%s&status=queued,pinning,pinned,failed", ep->url, t);
	if (!rc)
		rc = hp_http_json_call(ep, "GET", u.data, NULL, HP_PSA_MAX_ANSWER, deadline, hp_psa_error_message,
				       &out, NULL, e);
	if (!rc && (rc = hp_psa_parse_results(out.data, out.len, cid, st, found, e)))
		prefix_where(u.data, e);
	hp_buf_release(&u);
	hp_buf_release(&out);
	return rc;
}
