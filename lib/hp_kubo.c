#include "hp_kubo.h"

#include <stdio.h>
#include <string.h>

#include "hp_io.h"

#include "banned.h"

static void set_auth(hp_http_request *req, const hp_http_endpoint *ep)
{
	req->bearer_token = ep->bearer_token;
	req->basic_user = ep->basic_user;
	req->basic_password = ep->basic_password;
}

hp_code hp_kubo_rpc(const hp_http_endpoint *ep, const char *cmd, const char *query, const hp_http_part *parts,
		    size_t nparts, int64_t deadline, hp_buf *out, char *kubo_msg, size_t kubo_msg_size, hp_err *e)
{
	if (kubo_msg && kubo_msg_size)
		kubo_msg[0] = '\0';
	hp_buf url = HP_BUF_INIT;
	hp_code rc = hp_buf_addf(&url, e, "%s/api/v0/%s%s%s", ep->url, cmd, query && *query ? "?" : "",
				 query ? query : "");
	if (rc)
		return rc;
	hp_http_request req = { 0 };
	req.method = "POST";
	req.url = url.data;
	req.parts = parts;
	req.nparts = nparts;
	req.max_body = HP_KUBO_MAX_ANSWER;
	/* pin/add streams a progress line every half second while kubo looks
	 * for the blocks: heartbeats, not a transfer (its total is the
	 * deadline); what else we send or receive is bulk or one answer */
	req.min_rate = strcmp(cmd, "pin/add") == 0 ? 0 : HP_HTTP_MIN_RATE;
	set_auth(&req, ep);
	hp_http_response resp;
	if ((rc = hp_http_set_limits(&req, ep->wait_ms, deadline, e))) {
		hp_buf_release(&url);
		return rc;
	}
	rc = hp_http_do(&req, NULL, NULL, &resp, e);
	char where[256];
	hp_http_redact(url.data, where, sizeof where);
	char msg[HP_PINWIRE_MSG_MAX];
	if (rc) {
		/* nothing more to say */
	} else if (resp.status != 200) {
		if (hp_kubo_error_message(resp.body.data, resp.body.len, msg, sizeof msg)) {
			hp_code code = hp_http_status_code(resp.status);
			if (code == HP_OK)
				code = HP_E_DATA;
			rc = hp_fail(e, code, "'%s': %s (HTTP %ld)", where, msg, resp.status);
			if (kubo_msg && kubo_msg_size)
				snprintf(kubo_msg, kubo_msg_size, "%s", msg);
		} else {
			char snippet[240];
			hp_http_snippet(resp.body.data, resp.body.len, snippet, sizeof snippet);
			rc = hp_http_fail_status(url.data, resp.status, snippet, e);
		}
	} else if (resp.stream_error[0]) {
		hp_quote(resp.stream_error, strlen(resp.stream_error), msg, sizeof msg);
		rc = hp_fail(e, HP_E_UNAVAILABLE, "'%s': %s (an error after the answer began)", where, msg);
		if (kubo_msg && kubo_msg_size)
			snprintf(kubo_msg, kubo_msg_size, "%s", msg);
	} else {
		hp_buf_release(out);
		*out = resp.body;
		hp_buf_init(&resp.body, SIZE_MAX);
	}
	hp_http_response_release(&resp);
	hp_buf_release(&url);
	return rc;
}

/* Parse-or-prefix: a parser's "answer: ..." gets the endpoint in front. */
static hp_code in_answer(hp_code rc, const hp_http_endpoint *ep, const char *cmd, hp_err *e)
{
	if (rc == HP_OK)
		return rc;
	char where[256];
	hp_http_redact(ep->url, where, sizeof where);
	return hp_err_prefix(e, "'%s/api/v0/%s'", where, cmd);
}

static hp_code cid_query(hp_buf *q, const hp_cid *cid, hp_err *e)
{
	char t[HP_CID_MAX_TEXT];
	hp_cid_text(cid, t);
	return hp_buf_addf(q, e, "arg=%s", t);
}

hp_code hp_kubo_pin_add(const hp_http_endpoint *ep, const hp_cid *cid, const char *name, int64_t deadline,
			char *kubo_msg, size_t kubo_msg_size, hp_err *e)
{
	hp_buf q = HP_BUF_INIT, out = HP_BUF_INIT;
	hp_code rc = cid_query(&q, cid, e);
	if (!rc)
		rc = hp_buf_adds(&q, "&recursive=true&progress=true", e);
	if (!rc && name && *name && !(rc = hp_buf_adds(&q, "&name=", e)))
		rc = hp_http_add_escaped(&q, name, e);
	if (!rc)
		rc = hp_kubo_rpc(ep, "pin/add", q.data, NULL, 0, deadline, &out, kubo_msg, kubo_msg_size, e);
	if (!rc) {
		rc = hp_kubo_parse_pin_add(out.data, out.len, cid, e);
		/* an error object inside the stream is kubo's own word */
		if (rc == HP_E_UNAVAILABLE && kubo_msg && kubo_msg_size && e)
			snprintf(kubo_msg, kubo_msg_size, "%s", e->msg);
		rc = in_answer(rc, ep, "pin/add", e);
	}
	hp_buf_release(&q);
	hp_buf_release(&out);
	return rc;
}

hp_code hp_kubo_pin_ls(const hp_http_endpoint *ep, const hp_cid *cid, bool *pinned, int64_t deadline, hp_err *e)
{
	*pinned = false;
	hp_buf q = HP_BUF_INIT, out = HP_BUF_INIT;
	char kmsg[HP_PINWIRE_MSG_MAX];
	hp_code rc = cid_query(&q, cid, e);
	if (!rc)
		rc = hp_buf_adds(&q, "&type=recursive", e);
	if (!rc) {
		rc = hp_kubo_rpc(ep, "pin/ls", q.data, NULL, 0, deadline, &out, kmsg, sizeof kmsg, e);
		/* "path 'X' is not pinned": an answer, not a failure */
		if (rc && strstr(kmsg, "is not pinned")) {
			hp_err_clear(e);
			rc = HP_OK;
		} else if (!rc) {
			rc = in_answer(hp_kubo_parse_pin_ls(out.data, out.len, cid, pinned, e), ep, "pin/ls", e);
		}
	}
	hp_buf_release(&q);
	hp_buf_release(&out);
	return rc;
}

hp_code hp_kubo_dag_import(const hp_http_endpoint *ep, const char *car_path, hp_kubo_root *roots, size_t max,
			   size_t *nroots, int64_t deadline, char *kubo_msg, size_t kubo_msg_size, hp_err *e)
{
	*nroots = 0;
	const char *base = strrchr(car_path, '/');
	hp_http_part part = { "file", base ? base + 1 : car_path, "application/vnd.ipld.car", car_path, NULL, 0 };
	hp_buf out = HP_BUF_INIT;
	hp_code rc = hp_kubo_rpc(ep, "dag/import", "pin-roots=true&stats=false", &part, 1, deadline, &out, kubo_msg,
				 kubo_msg_size, e);
	if (!rc) {
		rc = hp_kubo_parse_dag_import(out.data, out.len, roots, max, nroots, e);
		if (rc == HP_E_UNAVAILABLE && kubo_msg && kubo_msg_size && e)
			snprintf(kubo_msg, kubo_msg_size, "%s", e->msg);
		rc = in_answer(rc, ep, "dag/import", e);
	}
	hp_buf_release(&out);
	return rc;
}
