/* hp_package: a new package in one read (see hp_package.h). */
#include "hp_package.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hp_car.h"
#include "hp_codec.h"
#include "hp_io.h"
#include "hp_json.h"
#include "hp_mkt.h"
#include "hp_scan.h"
#include "hp_unixfs.h"
#include "banned.h"

static void emit_warning(const hp_package_opts *o, const hp_err *w)
{
	if (o->on_event) {
		hp_package_event ev = { HP_PACKAGE_EV_WARNING, w, 0, 0 };
		o->on_event(o->ud, &ev);
	}
}

static void on_walk(void *ud, hp_walk_event ev, const hp_err *e)
{
	(void)ev;
	emit_warning(ud, e);
}

static void on_progress(void *ud, uint64_t done, uint64_t total)
{
	const hp_package_opts *o = ud;
	hp_package_event ev = { HP_PACKAGE_EV_PROGRESS, NULL, done, total };
	o->on_event(o->ud, &ev);
}

static hp_code car_block(void *ud, const hp_cid *cid, const uint8_t *data, size_t n, hp_err *e)
{
	return hp_car_put(ud, cid, data, n, e);
}

/* HOST:PORT: a DNS name or IPv4 address, or [IPv6]; the port 1 to 65535. */
static bool announce_ok(const char *a)
{
	const char *colon = strrchr(a, ':');
	if (!colon || colon == a || colon - a > 253 || !colon[1] || strlen(colon + 1) > 5 ||
	    strspn(colon + 1, "0123456789") != strlen(colon + 1))
		return false;
	long port = strtol(colon + 1, NULL, 10);
	size_t hl = (size_t)(colon - a);
	if (a[0] == '[')
		return hl > 2 && a[hl - 1] == ']' && strspn(a + 1, "0123456789abcdefABCDEF:.") == hl - 2 && port >= 1 &&
		       port <= 65535;
	return strspn(a, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-") == hl && port >= 1 &&
	       port <= 65535;
}

/* The magnet of the canonical torrent, with an x.pe for each announce
 * address ('[', ']' and ':' as RFC 3986 allows them in a query). */
static hp_code magnet_of(const hp_torrent_info *ti, const hp_package_opts *o, hp_buf *magnet, hp_err *e)
{
	hp_code rc = hp_buf_addf(magnet, e, "%s", ti->magnet);
	for (size_t i = 0; !rc && i < o->nannounce; i++)
		rc = hp_buf_addf(magnet, e, "&x.pe=%s", o->announce[i]);
	return rc;
}

/* The files part of the manifest (sorted, checked, content id, text), on
 * a thread of its own while the scan finishes the tree and the torrent. */
typedef struct files_job {
	hp_manifest_files mf;
	size_t n;                /* files found (found itself is released here) */
} files_job;

static hp_code on_files(void *ud, hp_scan_files *found, hp_err *e)
{
	files_job *j = ud;
	hp_manifest_file *v = calloc(found->n ? found->n : 1, sizeof *v);
	if (!v)
		return hp_fail_nomem(e);
	const char *pool = found->pool.data;
	for (size_t i = 0; i < found->n; i++) {
		const hp_scan_file *f = &found->v[i];
		v[i] = (hp_manifest_file){ pool + f->path, f->path_len, f->size, f->sha256, f->cid ? pool + f->cid : NULL,
					   f->mime ? pool + f->mime : NULL };
	}
	hp_code rc = hp_manifest_files_make(v, found->n, &j->mf, e);
	free(v);
	j->n = found->n;
	hp_scan_files_release(found);  /* the scan's peak of memory: give it back at once */
	return rc;
}

static hp_code check_opts(const hp_package_opts *o, hp_err *e)
{
	const hp_manifest_meta *m = &o->meta;
	if (!m->name || !m->version)
		return hp_fail(e, HP_E_USAGE, "a package needs a name and a version");
	if (!o->npaths)
		return hp_fail(e, HP_E_USAGE, "a package needs files");
	if (o->car_path && !o->profile)
		return hp_fail(e, HP_E_USAGE, "a CAR needs IPFS CIDs (a UnixFS profile)");
	if (o->torrent_path && !o->torrent)
		return hp_fail(e, HP_E_USAGE, "a .torrent file needs the torrent");
	for (size_t i = 0; i < o->nannounce; i++)
		if (!announce_ok(o->announce[i]))
			return hp_fail(e, HP_E_USAGE, "'%s' is not HOST:PORT (a name, an IPv4 address or [IPv6])",
				       o->announce[i]);
	if (o->nannounce > 16)
		return hp_fail(e, HP_E_USAGE, "at most 16 announce addresses");
	for (size_t i = 0; i < m->n_web_seeds; i++)
		if (!hp_torrent_web_seed_url_ok(m->web_seeds[i]))
			return hp_fail(e, HP_E_USAGE, "'%s' is not a web seed URL (http:// or https://)", m->web_seeds[i]);
	if (m->ipfs_gateway && !hp_torrent_web_seed_url_ok(m->ipfs_gateway))
		return hp_fail(e, HP_E_USAGE, "'%s' is not a gateway URL (http:// or https://)", m->ipfs_gateway);
	return HP_OK;
}

/* The CAR's roots: the package, and the wrapper of the IPFS web seed. */
static hp_code car_finish(hp_car_writer *cw, const hp_package_opts *o, const char *root_cid, const hp_mkt_result *tor,
			  hp_err *e)
{
	hp_cid roots[2];
	size_t nroots = 1;
	hp_code rc = hp_cid_parse_text(root_cid, &roots[0], e);
	if (!rc && !o->car_one_root && tor->ipfs_web_seed && strcmp(tor->wrapper_cid, root_cid) != 0)
		rc = hp_cid_parse_text(tor->wrapper_cid, &roots[nroots++], e);
	if (!rc)
		rc = hp_car_set_roots(cw, roots, nroots, e);
	return rc;
}

hp_code hp_package_create(const hp_package_opts *o, hp_package *out, hp_err *e)
{
	hp_code rc = check_opts(o, e);
	if (rc)
		return rc;
	hp_manifest_meta meta = o->meta;
	hp_mkt_result tor = HP_MKT_RESULT_INIT;
	hp_car_writer *cw = NULL;
	const char **seeds = NULL;
	hp_scan_files found = HP_SCAN_FILES_INIT;
	files_job fj = { HP_MANIFEST_FILES_INIT, 0 };
	hp_buf magnet = HP_BUF_INIT;
	hp_mkt_opts mo = { 0 };
	mo.trackers = o->trackers;
	mo.ntrackers = o->ntrackers;
	mo.web_seeds = meta.web_seeds;
	mo.nweb_seeds = meta.n_web_seeds;
	mo.ipfs_gateway = meta.ipfs_gateway;
	mo.light_info = true;
	mo.no_bytes = !o->torrent_path && !o->torrent_bytes;
	hp_scan_opts so = { o->dir, o->mime, o->profile, o->jobs, on_walk, (void *)o,
			    o->on_event && o->progress_ms ? on_progress : NULL, o->progress_ms, NULL, (void *)o,
			    o->torrent ? &tor : NULL, meta.name, &mo, on_files, NULL };
	so.blocks_ud = NULL;
	so.on_files_ud = &fj;
	if (o->car_path) {
		hp_car_writer_opts co = HP_CAR_WRITER_OPTS_INIT;
		co.roots_later = true;
		rc = hp_car_writer_open(&cw, o->car_path, NULL, 1, &co, e);
		so.blocks = car_block;
		so.blocks_ud = cw;
		so.jobs = 1;  /* the blocks in a fixed order */
	}
	if (!rc)
		rc = hp_scan_paths(o->paths, o->npaths, &so, &found, o->profile ? out->root_cid : NULL, e);
	if (!rc && o->profile) {
		meta.ipfs_cid = out->root_cid;
		meta.ipfs_import = o->profile;
	}
	if (!rc && tor.ipfs_web_seed) {
		/* the IPFS web seed joins the manifest's web seeds, once */
		size_t i = 0;
		while (i < meta.n_web_seeds && strcmp(meta.web_seeds[i], tor.ipfs_web_seed) != 0)
			i++;
		if (i == meta.n_web_seeds) {
			seeds = malloc((meta.n_web_seeds + 1) * sizeof *seeds);
			if (!seeds) {
				rc = hp_fail_nomem(e);
			} else {
				if (meta.n_web_seeds)
					memcpy(seeds, meta.web_seeds, meta.n_web_seeds * sizeof *seeds);
				seeds[meta.n_web_seeds] = tor.ipfs_web_seed;
				meta.web_seeds = seeds;
				meta.n_web_seeds++;
			}
		}
	}
	if (!rc && o->torrent && !tor.info && fj.n) {
		if (o->torrent_path) {
			rc = hp_fail(e, HP_E_DATA, "no .torrent to write: every file is empty (or a stream of unknown size)");
		} else {
			hp_err w = HP_ERR_INIT;
			hp_fail(&w, HP_E_DATA, "no torrent fields: every file is empty (or a stream of unknown size): nothing to share");
			emit_warning(o, &w);
		}
	}
	if (!rc && tor.info) {
		meta.torrent_infohash = tor.info->infohash_v1_hex[0] ? tor.info->infohash_v1_hex : NULL;
		meta.torrent_infohash_v2 = tor.info->infohash_v2_hex[0] ? tor.info->infohash_v2_hex : NULL;
		if (!(rc = magnet_of(tor.info, o, &magnet, e)))
			meta.torrent_magnet = magnet.data;
	}
	hp_scan_files_release(&found);
	if (!rc)
		rc = hp_manifest_text(&meta, &fj.mf, &out->text, e);
	hp_manifest_files_release(&fj.mf);
	if (!rc && o->json)
		rc = hp_json_parse(out->text.data, out->text.len, "the new manifest", &out->manifest, e);
	if (!rc && cw && !(rc = car_finish(cw, o, out->root_cid, &tor, e))) {
		rc = hp_car_commit(cw, e);
		cw = NULL;
	}
	if (!rc && o->torrent_path)
		rc = hp_write_file_atomic(o->torrent_path, tor.torrent.data, tor.torrent.len, 0644, 0, e);
	if (!rc) {
		out->torrent = tor.torrent;
		tor.torrent = (hp_buf)HP_BUF_INIT;
	} else {
		hp_buf_release(&out->text);
		json_decref(out->manifest);
		out->manifest = NULL;
	}
	hp_car_abort(cw);
	hp_scan_files_release(&found);
	hp_manifest_files_release(&fj.mf);
	hp_buf_release(&magnet);
	free(seeds);
	hp_mkt_result_free(&tor);
	return rc;
}

/* One hp-hash record line into a file entry. */
static hp_code record_to_entry(json_t *rec, const char *where, json_t *files, hp_err *e)
{
	if (!json_is_object(rec))
		return hp_fail(e, HP_E_DATA, "%s: a record must be a JSON object", where);
	json_t *path = json_object_get(rec, "path");
	if (json_is_object(path)) {
		json_t *bytes = json_object_get(path, "bytes");
		return hp_fail(e, HP_E_DATA,
			       "%s: path {\"bytes\": \"%.64s\"} is not valid UTF-8; a manifest path must be UTF-8 (rename the file)",
			       where, json_is_string(bytes) ? json_string_value(bytes) : "?");
	}
	const char *p;
	uint64_t size;
	const char *sha;
	hp_code rc;
	if ((rc = hp_json_get_string(rec, "path", where, true, &p, e)) ||
	    (rc = hp_json_get_uint(rec, "size", where, true, &size, e)) ||
	    (rc = hp_json_get_string(rec, "sha256", where, true, &sha, e)))
		return rc;
	if ((rc = hp_relpath_check(p, json_string_length(path), e)))
		return hp_err_prefix(e, "%s", where);
	json_t *entry = json_pack("{s:O, s:I, s:s}", "path", path, "size", (json_int_t)size, "sha256", sha);
	const char *opt[] = { "cid", "mime_type" };
	for (size_t i = 0; i < 2; i++) {
		json_t *v = json_object_get(rec, opt[i]);
		if (json_is_string(v))
			json_object_set(entry, opt[i], v);
	}
	json_array_append_new(files, entry);
	return HP_OK;
}

hp_code hp_package_from_records(const hp_manifest_meta *meta, const char *data, size_t len, const char *where,
				json_t **manifest, hp_err *e)
{
	json_t *files = json_array();
	hp_code rc = HP_OK;
	size_t line = 0;
	const char *p = data, *end = data + len;
	*manifest = NULL;
	while (!rc && p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
		line++;
		char at[64];
		snprintf(at, sizeof at, "%.40s:%zu", where, line);
		size_t k = 0;
		while (k < n && (p[k] == ' ' || p[k] == '\t' || p[k] == '\r'))
			k++;
		if (k < n) {
			json_t *rec;
			if (!(rc = hp_json_parse(p, n, at, &rec, e))) {
				rc = record_to_entry(rec, at, files, e);
				json_decref(rec);
			}
		}
		p += n + 1;
	}
	if (!rc && json_array_size(files) == 0)
		rc = hp_fail(e, HP_E_DATA, "%s: no hp-hash records", where);
	if (rc) {
		json_decref(files);
		return rc;
	}
	return hp_manifest_build(meta, files, manifest, e);
}

void hp_package_release(hp_package *p)
{
	json_decref(p->manifest);
	p->manifest = NULL;
	hp_buf_release(&p->text);
	hp_buf_release(&p->torrent);
}
