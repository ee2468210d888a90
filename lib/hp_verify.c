#include "hp_verify.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hp_digest.h"
#include "hp_io.h"
#include "hp_json.h"
#include "hp_manifest.h"
#include "hp_sign.h"
#include "hp_state.h"
#include "hp_time.h"
#include "hp_trust.h"
#include "hp_walk.h"
#include "banned.h"

/* The report being built and the first failure. Each failed check is
 * recorded twice: in "problems" as {"where", "message"} (where: the check,
 * "signature", "expiry", "rollback", or a file's path), and in "failures" as
 * the sentence alone (the old form, written this release too). */
typedef struct vrun {
	json_t *report;
	json_t *failures;  /* one sentence per failed check */
	json_t *problems;  /* [{"where", "message"}] */
	size_t nfailed;    /* counted apart: the verdict never rests on an append */
	hp_err *e;
	const hp_mlite *lite;  /* the manifest as hp_mlite_parse read it, or NULL */
} vrun;

/* msg as a JSON string: as it is when it is UTF-8 (a path in it may not be,
 * and json_string would refuse it), else with the stray bytes as \xNN. */
static json_t *message_value(const char *msg)
{
	size_t n = strlen(msg);
	if (hp_utf8_valid(msg, n))
		return json_string(msg);
	char q[4 * HP_ERR_MSG_MAX];
	hp_quote(msg, n, q, sizeof q);
	return json_string(q);
}

/* Record a failed check; where is a new reference (taken over). */
static void vfailed(vrun *r, json_t *where, const char *fmt, va_list ap)
{
	char msg[HP_ERR_MSG_MAX];
	vsnprintf(msg, sizeof msg, fmt, ap);
	if (r->nfailed++ == 0)
		hp_fail(r->e, HP_E_INVALID, "%s", msg);
	json_t *m = message_value(msg);
	json_array_append(r->failures, m);
	json_array_append_new(r->problems, json_pack("{s:o, s:o}", "where", where, "message", m));
}

/* A check that failed: "signature", "expiry" or "rollback". */
__attribute__((format(printf, 3, 4)))
static void failed(vrun *r, const char *check, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vfailed(r, json_string(check), fmt, ap);
	va_end(ap);
}

/* A file that failed the content check: where is its path (a string, or
 * {"bytes": base64} when it is not UTF-8). */
__attribute__((format(printf, 4, 5)))
static void failed_file(vrun *r, const char *path, size_t len, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vfailed(r, hp_json_path_value(path, len), fmt, ap);
	va_end(ap);
}

/* ---- signature and trust ---------------------------------------------------- */

static hp_code load_trust(const hp_verify_opts *o, hp_trust **out, hp_err *e)
{
	hp_trust *t;
	hp_code rc = hp_trust_new(&t, e);
	for (size_t i = 0; !rc && i < o->n_trusted_key_files; i++) {
		hp_trust *one;
		if ((rc = hp_trust_load(o->trusted_key_files[i], &one, e)))
			break;
		for (size_t k = 0; !rc && k < hp_trust_count(one); k++)
			rc = hp_trust_add(t, hp_trust_key(one, k), e);
		hp_trust_free(one);
	}
	if (rc) {
		hp_trust_free(t);
		return rc;
	}
	*out = t;
	return HP_OK;
}

/* Returns HP_OK when the signature may be relied on, HP_E_INVALID when not
 * (recorded in r), HP_E_DATA for an unreadable key file. */
static hp_code check_signature(vrun *r, const json_t *m, const hp_verify_opts *o, const hp_trust *t)
{
	json_t *sig = json_object_get(m, "signature");
	json_t *out = json_object();
	json_object_set_new(r->report, "signature", out);
	if (!sig) {
		json_object_set_new(out, "status", json_string("missing"));
		if (o->allow_unsigned)
			return HP_OK;
		failed(r, "signature", "the manifest is not signed");
		return HP_E_INVALID;
	}
	json_object_set(out, "key_id", json_object_get(sig, "key_id"));
	uint8_t pk[32];
	hp_err se = HP_ERR_INIT;
	hp_code rc = r->lite ? hp_manifest_check_signature_canonical(m, r->lite->canonical.data,
								     r->lite->canonical.len, pk, &se)
			     : hp_manifest_check_signature(m, pk, &se);
	if (rc) {
		json_object_set_new(out, "status", json_string("bad"));
		failed(r, "signature", "%s", se.msg);
		return HP_E_INVALID;
	}
	json_object_set_new(out, "status", json_string("good"));
	bool trusted = hp_trust_contains(t, pk);
	size_t nkeys = hp_trust_count(t);
	json_object_set_new(out, "trusted", json_boolean(trusted));
	if (trusted || o->allow_untrusted)
		return HP_OK;
	char id[17];
	hp_key_id(pk, id);
	if (nkeys == 0)
		failed(r, "signature",
		       "the manifest is signed by key %s, but no trusted keys were given (--trusted-keys FILE)", id);
	else
		failed(r, "signature", "the manifest is signed by key %s, which is not among the %zu trusted keys", id,
		       nkeys);
	return HP_E_INVALID;
}

/* ---- content ------------------------------------------------------------------ */

typedef struct content_run {
	vrun *r;
	json_t *out;              /* the report's "content" */
	const char **expect;      /* expected sha256 per selected entry */
	const char **paths;       /* manifest path per selected entry */
	size_t ok;
} content_run;

static void walk_report(void *ud, hp_walk_event ev, const hp_err *we)
{
	content_run *c = ud;
	(void)ev;
	json_array_append_new(json_object_get(c->out, "skipped"), json_string(we->msg));
}

static int digest_done(void *ud, const hp_walk_entry *en, size_t index, const hp_digest_result *res)
{
	content_run *c = ud;
	(void)en;
	const char *path = c->paths[index];
	if (res->err.code) {
		json_array_append_new(json_object_get(c->out, "unreadable"),
				      json_pack("{s:s, s:s}", "path", path, "error", res->err.msg));
		failed_file(c->r, path, strlen(path), "%s", res->err.msg);
		return 0;
	}
	char hex[2 * HP_DIGEST_MAX_SIZE + 1];
	hp_digest_hex(res, HP_DIGEST_ID_SHA256, hex);
	if (strcmp(hex, c->expect[index]) == 0) {
		c->ok++;
		return 0;
	}
	json_array_append_new(json_object_get(c->out, "hash_mismatch"),
			      json_pack("{s:s, s:s, s:s}", "path", path, "expected", c->expect[index], "actual", hex));
	failed_file(c->r, path, strlen(path), "'%s' does not match: its SHA-256 is %s, the manifest says %s", path,
		    hex, c->expect[index]);
	return 0;
}

static int entry_cmp(const char *a, size_t an, const char *b, size_t bn)
{
	int c = memcmp(a, b, an < bn ? an : bn);
	if (c)
		return c;
	return an < bn ? -1 : an > bn;
}

/* A file under DIR that the manifest does not list. */
static void extra_file(vrun *r, json_t *out, const hp_walk_entry *en)
{
	json_array_append_new(json_object_get(out, "extra"), hp_json_path_value(en->path, en->path_len));
	failed_file(r, en->path, en->path_len, "'%s' is not in the manifest", en->path);
}

static hp_code check_content(vrun *r, const json_t *m, const hp_verify_opts *o)
{
	json_t *out = json_pack("{s:i, s:i, s:[], s:[], s:[], s:[], s:[], s:[]}", "files", 0, "ok", 0, "missing",
				"extra", "size_mismatch", "hash_mismatch", "unreadable", "skipped");
	json_object_set_new(r->report, "content", out);
	content_run c = { r, out, NULL, NULL, 0 };
	hp_walk_opts wo = { o->content_dir, HP_WALK_RELATIVE, walk_report, &c };
	hp_walk_list l = HP_WALK_LIST_INIT;
	hp_code rc = hp_walk_init(&l, &wo, r->e);
	if (!rc)
		rc = hp_walk_add(&l, ".", r->e);
	if (rc) {
		json_object_del(r->report, "content");
		hp_walk_free(&l);
		return rc;
	}
	const json_t *files = json_object_get(m, "files");
	size_t nf = json_array_size(files);
	json_object_set_new(out, "files", json_integer((json_int_t)nf));
	hp_walk_list sel = l;
	sel.v = calloc(nf ? nf : 1, sizeof *sel.v);
	c.expect = calloc(nf ? nf : 1, sizeof *c.expect);
	c.paths = calloc(nf ? nf : 1, sizeof *c.paths);
	if (!sel.v || !c.expect || !c.paths) {
		rc = hp_fail_nomem(r->e);
		goto out;
	}
	sel.n = sel.nfiles = 0;
	sel.total_size = 0;
	size_t wi = 0;
	for (size_t i = 0; i < nf; i++) {
		const json_t *f = json_array_get(files, i);
		const json_t *pj = json_object_get(f, "path");
		const char *p = json_string_value(pj);
		size_t pn = json_string_length(pj);
		uint64_t size = (uint64_t)json_integer_value(json_object_get(f, "size"));
		int cmp = 1;
		while (wi < l.n && (cmp = entry_cmp(l.v[wi].path, l.v[wi].path_len, p, pn)) < 0) {
			if (o->extra)
				extra_file(r, out, &l.v[wi]);
			wi++;
		}
		if (wi >= l.n || cmp != 0) {
			json_array_append_new(json_object_get(out, "missing"), json_string(p));
			failed_file(r, p, pn, "'%s' is missing", p);
			continue;
		}
		const hp_walk_entry *en = &l.v[wi++];
		if (en->size != size) {
			json_array_append_new(json_object_get(out, "size_mismatch"),
					      json_pack("{s:s, s:I, s:I}", "path", p, "expected", (json_int_t)size,
							"actual", (json_int_t)en->size));
			failed_file(r, p, pn, "'%s' has %llu bytes, the manifest says %llu", p,
				    (unsigned long long)en->size, (unsigned long long)size);
			continue;
		}
		c.expect[sel.n] = json_string_value(json_object_get(f, "sha256"));
		c.paths[sel.n] = p;
		sel.v[sel.n++] = *en;
		sel.nfiles++;
		sel.total_size += size;
	}
	for (; o->extra && wi < l.n; wi++)
		extra_file(r, out, &l.v[wi]);
	hp_digest_opts d = { 0 };
	d.algos = HP_DIGEST_SHA256;
	d.jobs = o->jobs > 0 ? (unsigned)o->jobs : 0;
	if (sel.n)
		rc = hp_digest_list(&sel, &d, digest_done, &c, r->e);
	json_object_set_new(out, "ok", json_integer((json_int_t)c.ok));
out:
	free(sel.v);
	free(c.expect);
	free(c.paths);
	hp_walk_free(&l);
	return rc;
}

/* ---- expiry and rollback ----------------------------------------------------- */

static const char *member(const json_t *m, const char *key)
{
	return json_string_value(json_object_get(m, key));
}

static void check_expiry(vrun *r, const json_t *m, time_t now)
{
	const char *expires = member(m, "expires");
	time_t until;
	if (!expires || !hp_time_parse(expires, &until))
		return;
	bool expired = now > until;
	json_object_set_new(r->report, "expiry", json_pack("{s:s, s:b}", "expires", expires, "expired", expired));
	if (expired)
		failed(r, "expiry", "the manifest expired at %s", expires);
}

/* Is the manifest older than a version the state file has seen? *st gets
 * the state (to record this version in when everything passes). An
 * unreadable state file is an error, not a failed check. */
static hp_code check_rollback(vrun *r, const json_t *m, const char *state_path, hp_state **st)
{
	hp_code rc = hp_state_load(state_path, st, r->e);
	if (rc)
		return rc;
	const char *prev = NULL;
	hp_err se = HP_ERR_INIT;
	hp_code sc =
		hp_state_check(*st, member(m, "name"), member(m, "version"), member(m, "content_id"), &prev, &se);
	json_t *rb = json_pack("{s:s, s:o}", "status", sc ? "rollback" : "ok", "previous",
			       prev ? json_string(prev) : json_null());
	json_object_set_new(r->report, "rollback", rb);
	if (sc)
		failed(r, "rollback", "%s", se.msg);
	return HP_OK;
}

/* ---- the whole check ---------------------------------------------------------- */

/* What a good signature lets us believe: expiry, rollback, content, every
 * one checked and every failure listed. With a state file, a manifest that
 * passed them all is recorded, but only under a trusted signature: an
 * untrusted or unsigned manifest accepted on request must not block later
 * ones. */
static hp_code check_claims(vrun *r, const json_t *m, const hp_verify_opts *o)
{
	hp_state *st = NULL;
	hp_code rc = HP_OK;
	check_expiry(r, m, o->now);
	if (o->state_path && (rc = check_rollback(r, m, o->state_path, &st)))
		return rc;
	if (o->content_dir)
		rc = check_content(r, m, o);
	bool trusted = json_is_true(json_object_get(json_object_get(r->report, "signature"), "trusted"));
	if (!rc && st && trusted && r->nfailed == 0)
		rc = hp_state_record(st, member(m, "name"), member(m, "version"), member(m, "content_id"), r->e);
	hp_state_free(st);
	return rc;
}

/* The manifest's form: HP_E_DATA, with "malformed" in the report, when it
 * is not a manifest; else the claims it makes are named in the report. */
static hp_code check_form(vrun *r, const json_t *m, const char *shown)
{
	json_t *problems = json_array();
	if (!r->lite && hp_manifest_validate(m, HP_MANIFEST_UNSIGNED_OK, problems, r->e)) {
		hp_err_prefix(r->e, "%s", shown);
		json_object_set_new(r->report, "valid", json_false());
		json_object_set_new(r->report, "malformed", problems);
		return HP_E_DATA;
	}
	json_decref(problems);
	json_object_set_new(r->report, "name", json_string(member(m, "name")));
	json_object_set_new(r->report, "version", json_string(member(m, "version")));
	json_object_set_new(r->report, "content_id", json_string(member(m, "content_id")));
	return HP_OK;
}

/* The manifest from the file path, or from data[0..len) when path is NULL.
 * With lite non-NULL, a valid manifest in the plain form is read by
 * hp_mlite_parse (*m is then lite->head, owned by lite; text keeps the file). */
static hp_code load_manifest(const char *path, const char *data, size_t len, const char *shown, json_t **m,
			     hp_buf *text, hp_mlite *lite, hp_err *e)
{
	if (path) {
		hp_code rc = hp_read_file(path, HP_MANIFEST_MAX_BYTES, text, e);
		if (rc)
			return rc;
		data = text->data;
		len = text->len;
		shown = strcmp(path, "-") == 0 ? "<stdin>" : path;
	} else if (len > HP_MANIFEST_MAX_BYTES) {
		return hp_fail(e, HP_E_DATA, "%s: more than %u bytes: not a manifest", shown, HP_MANIFEST_MAX_BYTES);
	}
	if (lite && hp_mlite_parse(data, len, HP_MANIFEST_UNSIGNED_OK, lite)) {
		*m = lite->head;
		return HP_OK;
	}
	return hp_json_parse(data, len, shown, m, e);
}

static hp_code verify_manifest(const char *path, const char *data, size_t len, const char *shown,
			       const hp_verify_opts *o, json_t **report, json_t **manifest, hp_err *e);

hp_code hp_verify_manifest(const char *path, const hp_verify_opts *o, json_t **report, hp_err *e)
{
	return hp_verify_manifest_load(path, o, report, NULL, e);
}

hp_code hp_verify_manifest_load(const char *path, const hp_verify_opts *o, json_t **report, json_t **manifest,
				hp_err *e)
{
	return verify_manifest(path, NULL, 0, path, o, report, manifest, e);
}

hp_code hp_verify_manifest_bytes(const char *data, size_t len, const char *shown, const hp_verify_opts *o,
				 json_t **report, json_t **manifest, hp_err *e)
{
	return verify_manifest(NULL, data, len, shown, o, report, manifest, e);
}

static hp_code verify_manifest(const char *path, const char *data, size_t len, const char *shown,
			       const hp_verify_opts *o, json_t **report, json_t **manifest, hp_err *e)
{
	json_t *m;
	hp_trust *t;
	*report = NULL;
	if (manifest)
		*manifest = NULL;
	/* the trusted keys first: a broken key file is the caller's problem,
	 * reported before any judgement of the manifest */
	hp_code rc = load_trust(o, &t, e);
	if (rc)
		return rc;
	/* without content to check or a manifest to hand back, no jansson
	 * tree of the files is needed */
	hp_mlite lite = { 0 };
	hp_buf text;
	hp_buf_init(&text, SIZE_MAX);
	hp_buf_init(&lite.canonical, SIZE_MAX);
	bool use_lite = !manifest && !o->content_dir;
	rc = load_manifest(path, data, len, shown, &m, &text, use_lite ? &lite : NULL, e);
	if (!rc && !lite.head)
		hp_buf_release(&text);
	if (rc) {
		hp_buf_release(&text);
		hp_trust_free(t);
		return rc;
	}
	if (strcmp(shown, "-") == 0)
		shown = "<stdin>";
	vrun r = { json_object(), json_array(), json_array(), 0, e, lite.head ? &lite : NULL };
	json_object_set_new(r.report, "manifest", json_string(shown));
	rc = check_form(&r, m, shown);
	if (rc == HP_OK) {
		rc = check_signature(&r, m, o, t);
		/* the signature holds: the other fields may now be believed */
		if (rc == HP_OK)
			rc = check_claims(&r, m, o);
		if (rc == HP_E_INVALID)
			rc = HP_OK; /* recorded in problems */
		json_object_set_new(r.report, "valid", json_boolean(!rc && r.nfailed == 0));
		json_object_set(r.report, "failures", r.failures);
		json_object_set(r.report, "problems", r.problems);
		if (!rc && r.nfailed)
			rc = HP_E_INVALID;
	}
	json_decref(r.failures);
	json_decref(r.problems);
	hp_trust_free(t);
	*report = r.report;
	if (lite.head)
		hp_mlite_free(&lite);
	else if (!rc && manifest)
		*manifest = m;
	else
		json_decref(m);
	hp_buf_release(&text);
	return rc;
}
