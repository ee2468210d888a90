/* hp_publish: a package published (see hp_publish.h). */
#include "hp_publish.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hp_git.h"
#include "hp_http.h"
#include "hp_io.h"
#include "hp_json.h"
#include "hp_pin.h"
#include "hp_registry.h"
#include "banned.h"

typedef struct pub {
	const hp_publish_opts *o;
	hp_err *e;                 /* the first failure */
	hp_code worst;
	char car[PATH_MAX], torrent[PATH_MAX], seed_dir[PATH_MAX];
	hp_key *key;
	hp_git_provenance prov;
	hp_git_registry *reg;
	hp_err reg_fail;           /* the registry timed out before signing: its step's failure */
	hp_package pkg;
	json_t *m;                 /* the signed manifest */
	hp_buf out_bytes;          /* its bytes, as in output */
	hp_buf torrent_bytes;      /* the .torrent's bytes (ours, or the registry's) */
	const char *reused_from;   /* "registry", "output" or NULL */
	hp_pin_node *nodes;
	size_t nnodes;
	hp_buf *urls;
} pub;

hp_code hp_code_worse(hp_code a, hp_code b)
{
	return a > b ? a : b;
}

static void emit(const pub *p, hp_publish_event_kind kind, const json_t *record, const hp_err *w)
{
	if (!p->o->on_event)
		return;
	hp_publish_event ev = { kind, record, w, 0, 0 };
	p->o->on_event(p->o->ud, &ev);
}

/* Report a step's record (taken over). */
static void step(const pub *p, json_t *j)
{
	if (j)
		emit(p, HP_PUBLISH_EV_STEP, j, NULL);
	json_decref(j);
}

/* A step failed with err: remembered (the first error is the caller's), its
 * record {"step", "status": "failed", "code", "error", ...extra} reported. */
static hp_code step_failed(pub *p, const char *name, const hp_err *err, json_t *extra)
{
	json_t *j = extra ? extra : json_object();
	json_object_set_new(j, "step", json_string(name));
	json_object_set_new(j, "status", json_string("failed"));
	json_object_set_new(j, "code", json_integer(err->code));
	json_object_set_new(j, "error", json_string(err->msg));
	emit(p, HP_PUBLISH_EV_FAILED, NULL, err);
	step(p, j);
	if (!p->e->code)
		*p->e = *err;
	p->worst = hp_code_worse(p->worst, err->code);
	return err->code;
}

static const char *str(const json_t *j, const char *k)
{
	return json_string_value(json_object_get(j, k));
}

/* ---- checks, before any byte is hashed ---- */

/* The folder of path ("." when it has none), into out. */
static void dir_of(const char *path, char *out, size_t size)
{
	const char *slash = strrchr(path, '/');
	if (!slash)
		snprintf(out, size, ".");
	else if (slash == path)
		snprintf(out, size, "/");
	else
		snprintf(out, size, "%.*s", (int)(slash - path), path);
}

/* Where the seeder finds the manifest's files at their paths: the one
 * folder given, or the folder every file given is in. */
static hp_code seed_dir(pub *p, hp_err *e)
{
	const hp_package_opts *po = &p->o->package;
	struct stat st;
	if (po->npaths == 1 && stat(po->paths[0], &st) == 0 && S_ISDIR(st.st_mode)) {
		snprintf(p->seed_dir, sizeof p->seed_dir, "%s", po->paths[0]);
		return HP_OK;
	}
	char dir[PATH_MAX];
	for (size_t i = 0; i < po->npaths; i++) {
		if (stat(po->paths[i], &st) == 0 && S_ISDIR(st.st_mode))
			return hp_fail(e, HP_E_USAGE, "seeding needs the package's files in one folder: give that folder "
						      "alone, or files of one folder ('%s' is a folder)", po->paths[i]);
		dir_of(po->paths[i], dir, sizeof dir);
		if (i && strcmp(dir, p->seed_dir) != 0)
			return hp_fail(e, HP_E_USAGE, "seeding needs the package's files in one folder: '%s' and '%s' are "
						      "in different ones", po->paths[0], po->paths[i]);
		snprintf(p->seed_dir, sizeof p->seed_dir, "%s", dir);
	}
	return HP_OK;
}

static hp_code add_nodes(pub *p, hp_pin_kind kind, const char *const *urls, size_t n, hp_err *e)
{
	for (size_t i = 0; i < n; i++) {
		hp_buf *u = &p->urls[p->nnodes];
		hp_pin_node *node = &p->nodes[p->nnodes];
		if (hp_http_base_url(urls[i], u, e))
			return hp_err_prefix(e, "--%s", hp_pin_kind_name(kind));
		memset(node, 0, sizeof *node);
		node->kind = kind;
		node->ep.url = u->data;
		const char *token = getenv(hp_pin_token_env_default(kind));
		node->ep.bearer_token = token && *token ? token : NULL;
		p->nnodes++;
	}
	return HP_OK;
}

/* Make the folders above path (mkdir -p of its folder). */
static hp_code make_parents(const char *path, hp_err *e)
{
	char dir[PATH_MAX];
	dir_of(path, dir, sizeof dir);
	for (char *s = dir + 1;; s++) {
		char c = *s;
		if (c != '/' && c != '\0')
			continue;
		*s = '\0';
		if (mkdir(dir, 0755) < 0 && errno != EEXIST)
			return hp_fail_errno(e, HP_E_CANTCREAT, errno, "cannot create '%s'", dir);
		*s = c;
		if (!c)
			break;
	}
	return HP_OK;
}

/* An absolute form of a path that may not exist yet, for the provenance
 * exclusions, with a '*' after it (its temporary names too). */
static void abs_prefix(const char *path, char *out, size_t size)
{
	char dir[PATH_MAX], real[PATH_MAX];
	dir_of(path, dir, sizeof dir);
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	if (realpath(dir, real))
		snprintf(out, size, "%s/%s*", real, base);
	else
		snprintf(out, size, "%s*", path);
}

static hp_code provenance(pub *p, hp_err *e)
{
	const hp_publish_opts *o = p->o;
	char ex[3][PATH_MAX + 8], where[PATH_MAX];
	abs_prefix(o->output, ex[0], sizeof ex[0]);
	abs_prefix(p->car, ex[1], sizeof ex[1]);
	abs_prefix(p->torrent, ex[2], sizeof ex[2]);
	const char *exclude[3] = { ex[0], ex[1], ex[2] };
	struct stat st;
	const char *first = o->package.paths[0];
	if (stat(first, &st) == 0 && S_ISDIR(st.st_mode))
		snprintf(where, sizeof where, "%s", first);
	else
		dir_of(first, where, sizeof where);
	hp_code rc = hp_git_provenance_get(where, exclude, 3, &p->prov, e);
	if (rc)
		return rc;
	if (p->prov.found && p->prov.dirty && !o->allow_dirty)
		return hp_fail(e, HP_E_INVALID,
			       "the git work tree '%s' has %zu uncommitted change%s ('%s'%s): commit them, or give "
			       "--allow-dirty",
			       p->prov.workdir, p->prov.dirty, p->prov.dirty == 1 ? "" : "s", p->prov.dirty_example,
			       p->prov.dirty > 1 ? ", ..." : "");
	return HP_OK;
}

static hp_code checks(pub *p, hp_err *e)
{
	const hp_publish_opts *o = p->o;
	const hp_manifest_meta *meta = &o->package.meta;
	hp_code rc;
	if (!meta->name || !hp_registry_name_ok(meta->name))
		return hp_fail(e, HP_E_USAGE, "invalid name '%s' (letters, digits, '.', '_', '-')",
			       meta->name ? meta->name : "");
	if (!meta->version || !hp_registry_version_ok(meta->version))
		return hp_fail(e, HP_E_USAGE, "invalid version '%s' (letters, digits, '.', '+', '_', '-')",
			       meta->version ? meta->version : "");
	if (!o->output || !*o->output || strcmp(o->output, "-") == 0)
		return hp_fail(e, HP_E_USAGE, "the signed manifest needs a file to go to (--output FILE)");
	if (!o->package.npaths)
		return hp_fail(e, HP_E_USAGE, "nothing to publish: no files");
	if (o->no_car && o->nkubo)
		return hp_fail(e, HP_E_USAGE, "pinning on kubo imports the CAR: drop --no-car");
	/* every destination's URL */
	size_t nn = o->nkubo + o->ncluster + o->npsa;
	p->nodes = calloc(nn ? nn : 1, sizeof *p->nodes);
	p->urls = calloc(nn ? nn : 1, sizeof *p->urls);
	if (!p->nodes || !p->urls)
		return hp_fail_nomem(e);
	for (size_t i = 0; i < nn; i++)
		p->urls[i] = (hp_buf)HP_BUF_INIT;
	if ((rc = add_nodes(p, HP_PIN_KUBO, o->kubo, o->nkubo, e)) ||
	    (rc = add_nodes(p, HP_PIN_CLUSTER, o->cluster, o->ncluster, e)) ||
	    (rc = add_nodes(p, HP_PIN_PSA, o->psa, o->npsa, e)))
		return rc;
	if (o->seed && (rc = seed_dir(p, e)))
		return rc;
	/* the key, and its passphrase: before anything is read or written */
	if ((rc = hp_sign_init(e)) || (rc = hp_key_load_cb(o->key, o->passphrase, o->passphrase_ud, &p->key, e)))
		return rc;
	/* the outputs' names and folders */
	char dir[PATH_MAX];
	dir_of(o->output, dir, sizeof dir);
	const char *name = meta->name, *version = meta->version;
	int n1 = o->package.car_path ? snprintf(p->car, sizeof p->car, "%s", o->package.car_path)
				     : snprintf(p->car, sizeof p->car, "%s/%s-%s.car", dir, name, version);
	int n2 = o->package.torrent_path ? snprintf(p->torrent, sizeof p->torrent, "%s", o->package.torrent_path)
					 : snprintf(p->torrent, sizeof p->torrent, "%s/%s-%s.torrent", dir, name, version);
	if (n1 < 0 || n2 < 0 || (size_t)n1 >= sizeof p->car || (size_t)n2 >= sizeof p->torrent)
		return hp_fail(e, HP_E_USAGE, "the output's path is too long");
	if ((rc = make_parents(o->output, e)))
		return rc;
	if (!o->no_git && (rc = provenance(p, e)))
		return rc;
	if (hp_registry_url(&o->registry)) {
		if ((rc = hp_registry_open_ref(&o->registry, &p->reg, e)))
			return rc;
	}
	return HP_OK;
}

/* ---- the manifest: one read, then signed ---- */

static void on_package(void *ud, const hp_package_event *ev)
{
	const pub *p = ud;
	if (!p->o->on_event)
		return;
	hp_publish_event pe = { ev->kind == HP_PACKAGE_EV_PROGRESS ? HP_PUBLISH_EV_PROGRESS : HP_PUBLISH_EV_WARNING,
				NULL, ev->warning, ev->done, ev->total };
	p->o->on_event(p->o->ud, &pe);
}

/* The registry's copy of this version, when it has one: the same content
 * is reused as it is (its .torrent too); other content is refused. */
static hp_code adopt_registry(pub *p, hp_err *e)
{
	const hp_manifest_meta *meta = &p->o->package.meta;
	hp_buf path = HP_BUF_INIT, have = HP_BUF_INIT;
	hp_err ignored = HP_ERR_INIT;
	hp_code rc = HP_OK;
	/* a registry that cannot be read now is reported by its own step;
	 * one that timed out is not waited for a second time there */
	if (hp_git_registry_fetch(p->reg, &ignored)) {
		if (ignored.code == HP_E_TEMPFAIL)
			p->reg_fail = ignored;
		goto out;
	}
	if (hp_registry_path(meta->name, meta->version, "json", &path, e) ||
	    hp_git_registry_read(p->reg, path.data, HP_REGISTRY_MANIFEST_MAX, &have, &ignored))
		goto out;
	json_t *old = NULL;
	const char *content_id = str(p->pkg.manifest, "content_id");
	if (hp_json_parse(have.data, have.len, path.data, &old, &ignored) || !str(old, "content_id") ||
	    strcmp(str(old, "content_id"), content_id) != 0) {
		json_decref(old);
		rc = hp_fail(e, HP_E_INVALID, "%s %s is already in the registry '%s' with other content: publish a new version",
			     meta->name, meta->version, hp_registry_url(&p->o->registry));
		goto out;
	}
	p->m = old;
	p->reused_from = "registry";
	hp_buf_reset(&path);
	if ((rc = hp_buf_add(&p->out_bytes, have.data, have.len, e)))
		goto out;
	if (!hp_registry_path(meta->name, meta->version, "torrent", &path, e) &&
	    !hp_git_registry_read(p->reg, path.data, HP_REGISTRY_TORRENT_MAX, &p->torrent_bytes, &ignored))
		rc = hp_write_file_atomic(p->torrent, p->torrent_bytes.data, p->torrent_bytes.len, 0644, 0, e);
out:
	hp_buf_release(&path);
	hp_buf_release(&have);
	return rc;
}

/* output, when it is a signed manifest of this name, version and content
 * whose signature holds (by the key it names: a re-run reuses what was
 * signed). */
static void adopt_output(pub *p)
{
	const hp_manifest_meta *meta = &p->o->package.meta;
	json_t *m = NULL;
	hp_err ignored = HP_ERR_INIT;
	uint8_t pk[32];
	if (access(p->o->output, F_OK) != 0 || hp_manifest_load(p->o->output, 0, &m, &ignored))
		return;
	if (hp_manifest_check_signature(m, pk, &ignored) || strcmp(str(m, "name"), meta->name) ||
	    strcmp(str(m, "version"), meta->version) || strcmp(str(m, "content_id"), str(p->pkg.manifest, "content_id")) ||
	    hp_read_file(p->o->output, HP_REGISTRY_MANIFEST_MAX, &p->out_bytes, &ignored)) {
		json_decref(m);
		hp_buf_reset(&p->out_bytes);
		return;
	}
	p->m = m;
	p->reused_from = "output";
}

static hp_code sign_and_write(pub *p, hp_err *e)
{
	json_t *m = p->pkg.manifest;
	hp_code rc;
	if ((rc = hp_manifest_sign(m, p->key, NULL, e)) || (rc = hp_manifest_validate(m, 0, NULL, e)))
		return rc;
	char *text = json_dumps(m, JSON_INDENT(2));
	if (!text)
		return hp_fail_nomem(e);
	rc = hp_buf_adds(&p->out_bytes, text, e);
	free(text);
	if (!rc)
		rc = hp_buf_addch(&p->out_bytes, '\n', e);
	if (!rc)
		rc = hp_write_file_atomic(p->o->output, p->out_bytes.data, p->out_bytes.len, 0644, 0, e);
	if (!rc)
		p->m = json_incref(m);
	return rc;
}

static hp_code manifest_step(pub *p, hp_err *e)
{
	const hp_publish_opts *o = p->o;
	hp_package_opts po = o->package;
	if (p->prov.found) {
		po.meta.git_commit = p->prov.commit;
		po.meta.git_ref = p->prov.ref[0] ? p->prov.ref : NULL;
	}
	po.car_path = o->no_car ? NULL : p->car;
	po.car_one_root = true;
	po.torrent = true;
	po.torrent_path = p->torrent;
	po.json = true;
	po.torrent_bytes = true;
	po.on_event = on_package;
	po.ud = p;
	po.progress_ms = o->progress_ms;
	hp_code rc = hp_package_create(&po, &p->pkg, e);
	if (rc)
		return step_failed(p, "manifest", e, NULL);
	step(p, json_pack("{s:s,s:s,s:s*,s:s*}", "step", "car", "status", o->no_car ? "skipped" : "ok", "path",
			  o->no_car ? NULL : p->car, "root", p->pkg.root_cid[0] ? p->pkg.root_cid : NULL));
	if (p->reg && (rc = adopt_registry(p, e))) {
		json_t *x = json_pack("{s:s}", "url", hp_registry_url(&o->registry));
		return step_failed(p, "registry", e, x);
	}
	if (!p->m)
		adopt_output(p);
	if (!p->torrent_bytes.len && p->pkg.torrent.len &&
	    (rc = hp_buf_add(&p->torrent_bytes, p->pkg.torrent.data, p->pkg.torrent.len, e)))
		return step_failed(p, "torrent", e, NULL);
	const json_t *d = json_object_get(p->m ? p->m : p->pkg.manifest, "distribution");
	/* "infohash" is the old name of infohash_v1 (docs/cli-conventions.md) */
	step(p, json_pack("{s:s,s:s,s:s*,s:s*,s:s*,s:s*,s:s*}", "step", "torrent", "status",
			  p->torrent_bytes.len ? "ok" : "skipped", "path", p->torrent_bytes.len ? p->torrent : NULL,
			  "infohash_v1", str(d, "torrent_infohash"), "infohash_v2", str(d, "torrent_infohash_v2"),
			  "infohash", str(d, "torrent_infohash"), "magnet", str(d, "torrent_magnet")));
	if (p->reused_from && strcmp(p->reused_from, "registry") == 0)
		rc = hp_write_file_atomic(o->output, p->out_bytes.data, p->out_bytes.len, 0644, 0, e);
	else if (!p->reused_from)
		rc = sign_and_write(p, e);
	if (rc)
		return step_failed(p, "manifest", e, NULL);
	d = json_object_get(p->m, "distribution");
	const json_t *pv = json_object_get(p->m, "provenance");
	step(p, json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s*,s:s*,s:s*,s:s*,s:s*}", "step", "manifest", "status",
			  p->reused_from ? "unchanged" : "ok", "path", o->output, "name", str(p->m, "name"), "version",
			  str(p->m, "version"), "content_id", str(p->m, "content_id"), "ipfs_cid", str(d, "ipfs_cid"),
			  "torrent_infohash", str(d, "torrent_infohash"), "git_commit", str(pv, "git_commit"), "git_ref",
			  str(pv, "git_ref"), "reused_from", p->reused_from));
	return HP_OK;
}

/* ---- destinations ---- */

typedef struct pin_run {
	json_t *records;
	hp_err first;
} pin_run;

static void on_pin(void *ud, const hp_pin_result *r)
{
	pin_run *x = ud;
	json_array_append_new(x->records, hp_pin_result_record(r));
	if (r->err.code && !x->first.code)
		x->first = r->err;
}

static void pin_step(pub *p, const hp_pin_node *node, const char *url)
{
	hp_cid cid;
	hp_err e = HP_ERR_INIT;
	pin_run x = { json_array(), HP_ERR_INIT };
	hp_pin_opts po = { 0 };
	po.car = node->kind == HP_PIN_KUBO ? p->car : NULL;
	po.name = p->o->package.meta.name;
	po.timeout_ms = p->o->pin_timeout_ms;
	if (hp_cid_parse_text(str(json_object_get(p->m, "distribution"), "ipfs_cid"), &cid, &e) ||
	    hp_pin_add(node, 1, &cid, 1, &po, on_pin, &x, &e))
		x.first = e;
	if (x.first.code) {
		json_t *extra = json_pack("{s:s,s:s,s:o}", "kind", hp_pin_kind_name(node->kind), "node", url, "records",
					  x.records);
		step_failed(p, "pin", &x.first, extra);
		return;
	}
	step(p, json_pack("{s:s,s:s,s:s,s:s,s:o}", "step", "pin", "kind", hp_pin_kind_name(node->kind), "node", url,
			  "status", "ok", "records", x.records));
}

static void registry_step(pub *p)
{
	const hp_manifest_meta *meta = &p->o->package.meta;
	const char *url = hp_registry_url(&p->o->registry);
	hp_err e = HP_ERR_INIT;
	if (p->reg_fail.code) {
		step_failed(p, "registry", &p->reg_fail, json_pack("{s:s}", "url", url));
		return;
	}
	hp_git_publish gp = { .name = meta->name, .version = meta->version, .author_email = meta->uploader_id };
	gp.manifest = p->out_bytes.data;
	gp.manifest_len = p->out_bytes.len;
	gp.torrent = p->torrent_bytes.len ? p->torrent_bytes.data : NULL;
	gp.torrent_len = p->torrent_bytes.len;
	if (hp_git_registry_publish(p->reg, &gp, &e)) {
		step_failed(p, "registry", &e, json_pack("{s:s}", "url", url));
		return;
	}
	step(p, json_pack("{s:s,s:s,s:s,s:s,s:i,s:b}", "step", "registry", "url", url, "status",
			  gp.unchanged ? "unchanged" : "ok", "commit", gp.commit, "attempts", gp.attempts, "created",
			  gp.created));
}

static void on_seed(void *ud, const json_t *record)
{
	emit(ud, HP_PUBLISH_EV_SEED, record, NULL);
}

static void seed_step(pub *p)
{
	hp_seed_opts so = p->o->seed_opts;
	so.content = p->seed_dir;
	so.on_event = on_seed;
	so.ud = p;
	so.stop = p->o->stop;
	if (!p->o->package.ntrackers)
		so.tracker_off = true;
	hp_err e = HP_ERR_INIT;
	hp_seed *s = NULL;
	if (!p->torrent_bytes.len) {
		hp_fail(&e, HP_E_DATA, "nothing to seed: every file is empty");
		step_failed(p, "seed", &e, NULL);
		return;
	}
	if (hp_seed_new(&so, &s, &e) ||
	    hp_seed_add_bytes(s, p->torrent_bytes.data, p->torrent_bytes.len, p->torrent, true, true, &e)) {
		hp_seed_free(s);
		step_failed(p, "seed", &e, NULL);
		return;
	}
	step(p, json_pack("{s:s,s:s,s:s}", "step", "seed", "status", "seeding", "torrent", p->torrent));
	hp_code rc = hp_seed_run(s, &e);
	hp_seed_free(s);
	if (rc)
		step_failed(p, "seed", &e, NULL);
	else
		step(p, json_pack("{s:s,s:s}", "step", "seed", "status", "stopped"));
}

hp_code hp_publish(const hp_publish_opts *o, hp_err *e)
{
	pub p;
	memset(&p, 0, sizeof p);
	p.o = o;
	p.e = e;
	p.pkg = (hp_package)HP_PACKAGE_INIT;
	p.out_bytes = (hp_buf)HP_BUF_INIT;
	p.torrent_bytes = (hp_buf)HP_BUF_INIT;
	hp_err ce = HP_ERR_INIT;
	hp_code rc = checks(&p, &ce);
	if (rc) {
		*e = ce;
		p.worst = rc;
	} else if (!(rc = manifest_step(&p, &ce))) {
		for (size_t i = 0; i < p.nnodes; i++) {
			size_t k = i < o->nkubo ? i : i < o->nkubo + o->ncluster ? i - o->nkubo : i - o->nkubo - o->ncluster;
			const char *url = i < o->nkubo ? o->kubo[k] : i < o->nkubo + o->ncluster ? o->cluster[k] : o->psa[k];
			pin_step(&p, &p.nodes[i], url);
		}
		if (p.reg)
			registry_step(&p);
		/* release the registry's cache before a long seeding */
		hp_git_registry_free(p.reg);
		p.reg = NULL;
		if (o->seed)
			seed_step(&p);
	}
	hp_key_free(p.key);
	hp_git_registry_free(p.reg);
	hp_package_release(&p.pkg);
	json_decref(p.m);
	hp_buf_release(&p.out_bytes);
	hp_buf_release(&p.torrent_bytes);
	for (size_t i = 0; i < p.nnodes; i++)
		hp_buf_release(&p.urls[i]);
	free(p.urls);
	free(p.nodes);
	return p.worst;
}
