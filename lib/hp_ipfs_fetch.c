/* The IPFS source of hp_fetch (hp_ipfs_fetch.h): requests to trustless
 * gateways and kubo's RPC, their answers checked (status, Content-Type,
 * every block against its CID) and fed to the walk (hp_ipfs_walk.c). */
#include "hp_ipfs_fetch.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "hp_buf.h"
#include "hp_fetch_source.h"
#include "hp_thread.h"
#include "hp_car.h"
#include "hp_http.h"
#include "hp_io.h"
#include "hp_json.h"
#include "banned.h"

#define DEFAULT_TIMEOUT_MS 30000L
#define MAX_BLOCK HP_CAR_MAX_BLOCK

/* ---- the source ------------------------------------------------------------------- */

typedef struct ipfs_src {
	hp_ipfs_kind kind;
	char *base;          /* http://host:port[/path] */
	char *shown;         /* redacted, for messages */
	hp_ipfs_opts o;
	int64_t deadline;    /* hp_http_now_ms by which the run is over; 0: none */
	bool raw;            /* the gateway serves no CARs */
	pthread_mutex_t mu;
	/* stats */
	uint64_t requests, bytes, blocks, used, duplicates, ignored, unlisted, spilled, rebuilt;
	char content_type[256];
} ipfs_src;

/* The source's --deadline on one request: its whole transfer within the
 * time left; HP_E_TEMPFAIL naming the source once it has passed. */
static hp_code deadline_left(const ipfs_src *s, hp_http_request *req, const char *url, hp_err *e)
{
	if (!s->deadline)
		return HP_OK;
	int64_t left = s->deadline - hp_http_now_ms();
	char shown[512];
	hp_http_redact(url, shown, sizeof shown);
	if (left <= 0)
		return hp_fail(e, HP_E_TEMPFAIL, "'%s': over the deadline of %ld s for this source", shown,
			       s->o.deadline_ms / 1000);
	req->timeout_ms = (long)left;
	return HP_OK;
}


static void add_stats(ipfs_src *s, const hp_ipfs_walk *w, uint64_t bytes)
{
	hp_ipfs_walk_stats st;
	hp_ipfs_walk_get_stats(w, &st);
	pthread_mutex_lock(&s->mu);
	s->bytes += bytes;
	s->blocks += st.blocks;
	s->used += st.used;
	s->duplicates += st.duplicates;
	s->ignored += st.ignored;
	s->unlisted += st.unlisted;
	s->spilled += st.spilled;
	s->rebuilt += st.rebuilt;
	pthread_mutex_unlock(&s->mu);
}

/* Does a Content-Type name the media type want (parameters aside)? */
static bool media_is(const char *ct, const char *want)
{
	size_t n = strlen(want);
	while (*ct == ' ' || *ct == '\t')
		ct++;
	if (strncasecmp(ct, want, n) != 0)
		return false;
	return ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ' || ct[n] == '\t';
}

/* The value of parameter name in a Content-Type ("" when absent). */
static void ct_param(const char *ct, const char *name, char *out, size_t outsz)
{
	out[0] = '\0';
	size_t nl = strlen(name);
	const char *p = strchr(ct, ';');
	while (p) {
		p++;
		while (*p == ' ' || *p == '\t')
			p++;
		if (strncasecmp(p, name, nl) == 0 && p[nl] == '=') {
			const char *v = p + nl + 1;
			size_t k = 0;
			while (v[k] && v[k] != ';' && v[k] != ' ' && k + 1 < outsz) {
				out[k] = v[k];
				k++;
			}
			out[k] = '\0';
			return;
		}
		p = strchr(p, ';');
	}
}

typedef struct xfer {
	ipfs_src *s;
	hp_ipfs_walk *w;
	hp_car_reader *car;
	const char *want_type;   /* the media type the answer must have */
	char ctype[256];
	bool got_ctype;
	bool checked;
	bool complete;           /* the walk was done: the rest was not read */
	hp_buf raw;              /* a raw block */
	char where[256];         /* the URL, redacted, for messages */
} xfer;

static void on_header(void *ud, const char *name, size_t nl, const char *value, size_t vl)
{
	xfer *x = ud;
	if (nl == 12 && strncasecmp(name, "Content-Type", 12) == 0) {
		size_t k = vl < sizeof x->ctype - 1 ? vl : sizeof x->ctype - 1;
		memcpy(x->ctype, value, k);
		x->ctype[k] = '\0';
		x->got_ctype = true;
	}
}

/* The answer's Content-Type must be want_type (in the body callback,
 * hp_http puts the URL in front of the message; after, we do). */
static hp_code check_type(xfer *x, bool name_it, hp_err *e)
{
	if (x->checked)
		return HP_OK;
	x->checked = true;
	const char *q1 = name_it ? "'" : "";
	const char *who = name_it ? x->where : "";
	const char *sep = name_it ? "': " : "";
	if (!media_is(x->ctype, x->want_type)) {
		char q[128];
		hp_quote(x->ctype, strlen(x->ctype), q, sizeof q);
		return hp_fail(e, HP_E_INVALID, "%s%s%sthe answer's Content-Type is '%s', not %s", q1, who, sep,
			       x->got_ctype ? q : "(none)", x->want_type);
	}
	char v[32];
	ct_param(x->ctype, "version", v, sizeof v);
	if (v[0] && strcmp(v, "1") != 0)
		return hp_fail(e, HP_E_INVALID, "%s%s%sthe answer is a CAR version %s, not 1", q1, who, sep, v);
	pthread_mutex_lock(&x->s->mu);
	snprintf(x->s->content_type, sizeof x->s->content_type, "%s", x->ctype);
	pthread_mutex_unlock(&x->s->mu);
	return HP_OK;
}

#define STOP_DONE HP_E_INTERNAL  /* with x->complete: not an error, the walk has all it needs */

static hp_code car_body(void *ud, const uint8_t *p, size_t n, hp_err *e)
{
	xfer *x = ud;
	hp_code rc = check_type(x, false, e);
	if (rc)
		return rc;
	if (x->complete)
		return STOP_DONE;
	if ((rc = hp_car_feed(x->car, p, n, e)))
		return rc;
	if (hp_ipfs_walk_done(x->w)) {
		x->complete = true;
		return STOP_DONE;
	}
	return HP_OK;
}

static hp_code car_block(void *ctx, const hp_car_block *b, hp_err *e)
{
	xfer *x = ctx;
	return hp_ipfs_walk_block(x->w, b->cid, b->data, b->len, e);
}

static hp_code car_header(void *ctx, const hp_cid *roots, size_t nroots, hp_err *e)
{
	/* the trustless gateway spec: the roots of the header are ignored */
	(void)ctx, (void)roots, (void)nroots, (void)e;
	return HP_OK;
}

/* An HTTP status other than 2xx, as an error naming the URL, with the
 * start of the answer (kubo's JSON "Message", else the text). */
static hp_code status_error(const char *url, const hp_http_response *r, hp_err *e)
{
	char detail[256] = "";
	if (r->body.len) {
		json_t *j = json_loadb(r->body.data, r->body.len, 0, NULL);
		const char *m = json_string_value(json_object_get(j, "Message"));
		size_t n = m ? strlen(m) : (r->body.len < 200 ? r->body.len : 200);
		if (!m)
			m = r->body.data;
		while (n && (m[n - 1] == '\n' || m[n - 1] == '\r' || m[n - 1] == ' '))
			n--;
		hp_quote(m, n, detail, sizeof detail);
		json_decref(j);
	}
	hp_http_fail_status(url, r->status, detail[0] ? detail : NULL, e);
	if (e->code != HP_E_TEMPFAIL)
		e->code = HP_E_UNAVAILABLE;  /* it cannot give us the content */
	return e->code;
}

static bool car_refused(long status)
{
	return status == 400 || status == 406 || status == 415 || status == 501;
}

/* One CAR request for the walk w (start: its CID). *refused: the gateway
 * said it serves no CARs. */
static hp_code car_request(ipfs_src *s, hp_fetch *f, hp_ipfs_walk *w, const hp_cid *start, size_t file, bool *refused,
			   hp_err *e)
{
	char ct[HP_CID_MAX_TEXT];
	hp_cid_text(start, ct);
	hp_buf url = HP_BUF_INIT;
	hp_code rc;
	if (s->kind == HP_IPFS_KUBO)
		rc = hp_buf_addf(&url, e, "%s/api/v0/dag/export?arg=%s&progress=false", s->base, ct);
	else
		rc = hp_buf_addf(&url, e, "%s/ipfs/%s?format=car&dag-scope=all&car-version=1&car-order=dfs&car-dups=n",
				 s->base, ct);
	if (rc)
		return rc;
	uint64_t max_bytes, max_blocks;
	hp_ipfs_bounds(f, file, &max_bytes, &max_blocks);
	xfer x;
	memset(&x, 0, sizeof x);
	x.s = s;
	x.w = w;
	x.want_type = "application/vnd.ipld.car";
	hp_http_redact(url.data, x.where, sizeof x.where);
	hp_car_reader_opts co = HP_CAR_READER_OPTS_INIT;
	co.name = NULL;  /* hp_http names the URL */
	co.max_total = max_bytes;
	co.max_blocks = max_blocks;
	co.on_header = car_header;
	co.on_block = car_block;
	co.ctx = &x;
	if ((rc = hp_car_reader_new(&x.car, &co, e))) {
		hp_buf_release(&url);
		return rc;
	}
	static const char *const car_headers[] = { "Accept: application/vnd.ipld.car; version=1; order=dfs; dups=n",
						    NULL };
	hp_http_request req;
	memset(&req, 0, sizeof req);
	req.method = s->kind == HP_IPFS_KUBO ? "POST" : "GET";
	req.url = url.data;
	req.headers = s->kind == HP_IPFS_KUBO ? NULL : car_headers;
	req.connect_timeout_ms = s->o.timeout_ms;
	req.stall_timeout_ms = s->o.timeout_ms;
	req.min_rate = s->o.min_rate;  /* a drip is a stall */
	if ((rc = deadline_left(s, &req, url.data, e))) {
		hp_ipfs_walk_abort(w, e);
		hp_car_reader_free(x.car);
		hp_buf_release(&url);
		return rc;
	}
	req.max_body = max_bytes + 1;
	req.header_fn = on_header;
	req.header_ud = &x;
	hp_http_response resp;
	memset(&resp, 0, sizeof resp);
	pthread_mutex_lock(&s->mu);
	s->requests++;
	pthread_mutex_unlock(&s->mu);
	hp_err he = HP_ERR_INIT;
	rc = hp_http_do(&req, car_body, &x, &resp, &he);
	if (rc == STOP_DONE && x.complete)
		rc = HP_OK;
	if (!rc && (resp.status < 200 || resp.status > 299)) {
		if (s->kind == HP_IPFS_GATEWAY && car_refused(resp.status)) {
			*refused = true;
			rc = status_error(url.data, &resp, &he);
		} else {
			rc = status_error(url.data, &resp, &he);
		}
	} else if (!rc && resp.status != 200) {
		rc = hp_fail(&he, HP_E_INVALID, "'%s': HTTP %ld to a CAR request, not 200", x.where, resp.status);
	}
	if (!rc && !x.complete)
		rc = check_type(&x, true, &he);
	if (!rc && !x.complete)
		rc = hp_car_finish(x.car, &he);
	if (!rc && resp.stream_error[0] && !hp_ipfs_walk_done(w)) {
		char q[256];
		hp_quote(resp.stream_error, strlen(resp.stream_error), q, sizeof q);
		hp_fail(&he, HP_E_UNAVAILABLE, "'%s': the stream ended with an error: %s", x.where, q);
		hp_ipfs_walk_abort(w, &he);
		rc = HP_E_UNAVAILABLE;
	}
	if (rc && rc != STOP_DONE) {
		/* a transport or verification failure: what is not in place fails */
		if (rc == HP_E_DATA)
			he.code = rc = HP_E_INVALID;  /* the CAR reader: malformed response */
		hp_err fe = HP_ERR_INIT;
		hp_code fatal = hp_ipfs_walk_error(w, &fe);
		if (!fatal)
			hp_ipfs_walk_abort(w, &he);
		*e = fatal ? fe : he;
		rc = fatal ? fatal : rc;
	} else {
		rc = hp_ipfs_walk_finish(w, e);
	}
	add_stats(s, w, resp.bytes);
	hp_http_response_release(&resp);
	hp_car_reader_free(x.car);
	hp_buf_release(&url);
	return rc;
}

static hp_code raw_body(void *ud, const uint8_t *p, size_t n, hp_err *e)
{
	xfer *x = ud;
	hp_code rc = check_type(x, false, e);
	if (rc)
		return rc;
	return hp_buf_add(&x->raw, p, n, e);
}

/* The walk w block by block, each with ?format=raw. */
static hp_code raw_walk(ipfs_src *s, hp_fetch *f, hp_ipfs_walk *w, size_t file, hp_err *e)
{
	uint64_t max_bytes, max_blocks, got = 0;
	hp_ipfs_bounds(f, file, &max_bytes, &max_blocks);
	hp_cid need;
	bool optional;
	hp_code rc = HP_OK;
	uint64_t bytes = 0;
	while (!rc && hp_ipfs_walk_need(w, &need, &optional)) {
		char ct[HP_CID_MAX_TEXT];
		hp_cid_text(&need, ct);
		if (++got > max_blocks) {
			rc = hp_fail(e, HP_E_INVALID, "%s: more than %" PRIu64 " blocks for the package", s->shown, max_blocks);
			hp_ipfs_walk_abort(w, e);
			break;
		}
		hp_buf url = HP_BUF_INIT;
		if (s->kind == HP_IPFS_KUBO)
			rc = hp_buf_addf(&url, e, "%s/api/v0/block/get?arg=%s", s->base, ct);
		else
			rc = hp_buf_addf(&url, e, "%s/ipfs/%s?format=raw", s->base, ct);
		if (rc)
			break;
		static const char *const raw_headers[] = { "Accept: application/vnd.ipld.raw", NULL };
		xfer x;
		memset(&x, 0, sizeof x);
		x.s = s;
		x.w = w;
		x.want_type = "application/vnd.ipld.raw";
		hp_http_redact(url.data, x.where, sizeof x.where);
		hp_buf_init(&x.raw, MAX_BLOCK);
		hp_http_request req;
		memset(&req, 0, sizeof req);
		req.method = s->kind == HP_IPFS_KUBO ? "POST" : "GET";
		req.url = url.data;
		req.headers = s->kind == HP_IPFS_KUBO ? NULL : raw_headers;
		req.connect_timeout_ms = s->o.timeout_ms;
		req.stall_timeout_ms = s->o.timeout_ms;
		req.min_rate = s->o.min_rate;
		if ((rc = deadline_left(s, &req, url.data, e))) {
			hp_ipfs_walk_abort(w, e);
			hp_buf_release(&x.raw);
			hp_buf_release(&url);
			break;
		}
		req.max_body = MAX_BLOCK;
		req.header_fn = on_header;
		req.header_ud = &x;
		hp_http_response resp;
		memset(&resp, 0, sizeof resp);
		pthread_mutex_lock(&s->mu);
		s->requests++;
		pthread_mutex_unlock(&s->mu);
		hp_err he = HP_ERR_INIT;
		rc = hp_http_do(&req, raw_body, &x, &resp, &he);
		bytes += resp.bytes;
		if (!rc && (resp.status < 200 || resp.status > 299) && optional) {
			rc = hp_ipfs_walk_missing(w, NULL, &he);
		} else if (!rc && resp.status != 200) {
			rc = resp.status >= 200 && resp.status < 300
				     ? hp_fail(&he, HP_E_INVALID, "'%s': HTTP %ld to a block request, not 200", x.where, resp.status)
				     : status_error(url.data, &resp, &he);
		} else if (!rc && (rc = check_type(&x, true, &he)) == HP_OK) {
			const char *where = x.where;
			if (!hp_cid_matches(&need, (const uint8_t *)x.raw.data, x.raw.len))
				rc = hp_fail(&he, HP_E_INVALID, "'%s': the block's bytes do not match its CID", where);
			else if (bytes > max_bytes)
				rc = hp_fail(&he, HP_E_INVALID, "'%s': more than the limit of %" PRIu64 " bytes for the package",
					     where, max_bytes);
			else
				rc = hp_ipfs_walk_block(w, &need, (const uint8_t *)x.raw.data, x.raw.len, &he);
		}
		if (rc == HP_E_DATA)
			he.code = rc = HP_E_INVALID;
		if (rc) {
			if (!hp_ipfs_walk_error(w, NULL))
				hp_ipfs_walk_abort(w, &he);
			*e = he;
		}
		hp_http_response_release(&resp);
		hp_buf_release(&x.raw);
		hp_buf_release(&url);
	}
	if (!rc)
		rc = hp_ipfs_walk_finish(w, e);
	add_stats(s, w, bytes);
	return rc;
}

/* Fetch what the walk from start reaches: a CAR, or block by block. */
static hp_code fetch_one(ipfs_src *s, hp_fetch *f, const hp_cid *start, size_t file, hp_err *e)
{
	for (int attempt = 0; attempt < 2; attempt++) {
		hp_ipfs_walk *w;
		hp_code rc = hp_ipfs_walk_new(f, start, file, s->o.memory, &w, e);
		if (rc)
			return rc;
		bool refused = false;
		pthread_mutex_lock(&s->mu);
		bool raw = s->raw;
		pthread_mutex_unlock(&s->mu);
		if (raw)
			rc = raw_walk(s, f, w, file, e);
		else
			rc = car_request(s, f, w, start, file, &refused, e);
		hp_ipfs_walk_free(w);
		if (!refused)
			return rc;
		/* a gateway must serve raw blocks; CARs are optional */
		pthread_mutex_lock(&s->mu);
		s->raw = true;
		pthread_mutex_unlock(&s->mu);
	}
	return hp_fail(e, HP_E_INTERNAL, "unreachable");
}

typedef struct job {
	ipfs_src *s;
	hp_fetch *f;
	size_t *files;
	hp_cid *cids;
	size_t n;
	atomic_size_t next;
	pthread_mutex_t mu;
	hp_code rc;          /* the most telling failure */
	hp_err err;
	bool stop;           /* a local error: stop */
} job;

static int rank(hp_code c)
{
	switch (c) {
	case HP_OK: return 0;
	case HP_E_UNAVAILABLE: return 1;
	case HP_E_TEMPFAIL: return 2;
	case HP_E_INVALID: return 3;
	default: return 4;   /* local */
	}
}

static void *job_worker(void *arg)
{
	job *j = arg;
	for (;;) {
		size_t k = atomic_fetch_add(&j->next, 1);
		if (k >= j->n)
			break;
		pthread_mutex_lock(&j->mu);
		bool stop = j->stop;
		pthread_mutex_unlock(&j->mu);
		if (stop)
			break;
		hp_err e = HP_ERR_INIT;
		hp_code rc = fetch_one(j->s, j->f, &j->cids[k], j->files[k], &e);
		pthread_mutex_lock(&j->mu);
		if (rc && rank(rc) > rank(j->rc)) {
			j->rc = rc;
			j->err = e;
		}
		if (rank(rc) == 4)
			j->stop = true;
		pthread_mutex_unlock(&j->mu);
	}
	return NULL;
}

static hp_code src_run(void *self, hp_fetch *f, hp_err *e)
{
	ipfs_src *s = self;
	s->deadline = s->o.deadline_ms > 0 ? hp_http_now_ms() + s->o.deadline_ms : 0;
	const json_t *dist = json_object_get(hp_fetch_manifest(f), "distribution");
	const char *root_text = json_string_value(json_object_get(dist, "ipfs_cid"));
	hp_cid root;
	bool have_root = root_text && hp_cid_parse_text(root_text, &root, NULL) == HP_OK;
	size_t nf = hp_fetch_nfiles(f), nwant = 0;
	bool all_cids = true;
	for (size_t i = 0; i < nf; i++) {
		if (!hp_fetch_wanted(f, i))
			continue;
		nwant++;
		const char *c = json_string_value(json_object_get(hp_fetch_file_at(f, i)->entry, "cid"));
		hp_cid cid;
		if (!c || hp_cid_parse_text(c, &cid, NULL))
			all_cids = false;
	}
	if (!nwant)
		return HP_OK;
	/* the whole package in one walk when everything is wanted (or there
	 * is no other way), else each missing file by its own CID */
	if (have_root && (nwant == nf || !all_cids))
		return fetch_one(s, f, &root, SIZE_MAX, e);
	if (!all_cids)
		return hp_fail(e, HP_E_UNAVAILABLE, "the manifest has no IPFS CID for the files still missing");
	if (have_root) {
		/* the folders first, block by block (a few small requests): the
		 * package's empty folders, and each file's link checked against
		 * the manifest's CID. Best effort: the files do not need it. */
		hp_ipfs_walk *w;
		hp_err de = HP_ERR_INIT;
		if (hp_ipfs_walk_new(f, &root, HP_IPFS_WALK_DIRS, s->o.memory, &w, &de) == HP_OK) {
			hp_code rc = raw_walk(s, f, w, HP_IPFS_WALK_DIRS, &de);
			hp_ipfs_walk_free(w);
			if (rc == HP_E_NOMEM || rc == HP_E_IO || rc == HP_E_INTERNAL) {
				*e = de;
				return rc;
			}
		}
	}
	job j;
	memset(&j, 0, sizeof j);
	j.s = s;
	j.f = f;
	j.files = calloc(nwant, sizeof *j.files);
	j.cids = calloc(nwant, sizeof *j.cids);
	if (!j.files || !j.cids) {
		free(j.files);
		free(j.cids);
		return hp_fail_nomem(e);
	}
	for (size_t i = 0; i < nf; i++) {
		if (!hp_fetch_wanted(f, i))
			continue;
		const char *c = json_string_value(json_object_get(hp_fetch_file_at(f, i)->entry, "cid"));
		hp_cid_parse_text(c, &j.cids[j.n], NULL);
		j.files[j.n++] = i;
	}
	atomic_init(&j.next, 0);
	pthread_mutex_init(&j.mu, NULL);
	size_t nth = s->o.jobs > 1 ? (size_t)s->o.jobs : 1;
	hp_run_threads(nth < j.n ? nth : j.n, job_worker, &j);
	pthread_mutex_destroy(&j.mu);
	free(j.files);
	free(j.cids);
	if (j.rc && e)
		*e = j.err;
	return j.rc;
}

static void src_stats(void *self, json_t *out)
{
	ipfs_src *s = self;
	pthread_mutex_lock(&s->mu);
	json_object_set_new(out, "mode", json_string(s->kind == HP_IPFS_KUBO ? "dag/export" : s->raw ? "raw" : "car"));
	json_object_set_new(out, "requests", json_integer((json_int_t)s->requests));
	json_object_set_new(out, "bytes_received", json_integer((json_int_t)s->bytes));
	json_object_set_new(out, "blocks", json_integer((json_int_t)s->blocks));
	json_object_set_new(out, "blocks_used", json_integer((json_int_t)s->used));
	json_object_set_new(out, "duplicate_blocks", json_integer((json_int_t)s->duplicates));
	json_object_set_new(out, "ignored_blocks", json_integer((json_int_t)s->ignored));
	json_object_set_new(out, "unlisted_entries", json_integer((json_int_t)s->unlisted));
	json_object_set_new(out, "spilled_bytes", json_integer((json_int_t)s->spilled));
	json_object_set_new(out, "rebuilt_blocks", json_integer((json_int_t)s->rebuilt));
	if (s->content_type[0] && hp_utf8_valid(s->content_type, strlen(s->content_type)))
		json_object_set_new(out, "content_type", json_string(s->content_type));
	pthread_mutex_unlock(&s->mu);
}

static void src_free(void *self)
{
	ipfs_src *s = self;
	if (!s)
		return;
	pthread_mutex_destroy(&s->mu);
	free(s->base);
	free(s->shown);
	free(s);
}

static const hp_fetch_source_ops gateway_ops = { "gateway", src_run, src_stats, src_free };
static const hp_fetch_source_ops kubo_ops = { "kubo", src_run, src_stats, src_free };

hp_code hp_ipfs_source_add(hp_fetch *f, hp_ipfs_kind kind, const char *url, const hp_ipfs_opts *o, hp_err *e)
{
	hp_buf b = HP_BUF_INIT;
	hp_code rc = hp_http_base_url(url, &b, e);
	if (rc) {
		hp_buf_release(&b);
		return rc;
	}
	/* a gateway given as https://host/ipfs (or /ipfs/) */
	if (kind == HP_IPFS_GATEWAY && b.len >= 5 && strcmp(b.data + b.len - 5, "/ipfs") == 0)
		hp_buf_truncate(&b, b.len - 5);
	ipfs_src *s = calloc(1, sizeof *s);
	if (!s) {
		hp_buf_release(&b);
		return hp_fail_nomem(e);
	}
	s->kind = kind;
	if (o)
		s->o = *o;
	if (!s->o.timeout_ms)
		s->o.timeout_ms = DEFAULT_TIMEOUT_MS;
	if (!s->o.min_rate)
		s->o.min_rate = HP_HTTP_MIN_RATE;
	s->raw = kind == HP_IPFS_GATEWAY && s->o.raw_blocks;
	pthread_mutex_init(&s->mu, NULL);
	s->base = hp_buf_detach(&b, NULL);
	char shown[512];
	hp_http_redact(s->base, shown, sizeof shown);
	char name[600];
	snprintf(name, sizeof name, "%s %s", kind == HP_IPFS_KUBO ? "kubo" : "gateway", shown);
	s->shown = strdup(name);
	if (!s->shown) {
		src_free(s);
		return hp_fail_nomem(e);
	}
	return hp_fetch_add_source(f, kind == HP_IPFS_KUBO ? &kubo_ops : &gateway_ops, s, name, e);
}
