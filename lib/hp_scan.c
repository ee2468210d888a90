#include "hp_scan.h"

#include <magic.h>
#include <stdlib.h>
#include <string.h>

#include "hp_digest.h"
#include "hp_io.h"
#include "hp_json.h"
#include "hp_multiformats.h"
#include "hp_unixfs.h"
#include "banned.h"

/* libmagic looks at the start of a file; this much is enough for its tests. */
#define HEAD_BYTES (64u * 1024)

typedef struct head {
	size_t n;
	uint8_t b[HEAD_BYTES];
} head;

typedef struct scan_run {
	hp_unixfs_sink *unixfs;    /* NULL without CIDs */
	hp_unixfs_tree *tree;
	magic_t magic;
	json_t *files;
	hp_err *e;
	hp_code rc;
	char mime[128];   /* MIME type of the file just done */
	bool have_mime;
} scan_run;

static hp_code head_begin(void *ctx, const hp_digest_file *f, void **state, hp_err *e)
{
	(void)ctx;
	(void)f;
	head *h = malloc(sizeof *h);
	if (!h)
		return hp_fail_nomem(e);
	h->n = 0;
	*state = h;
	return HP_OK;
}

static hp_code head_update(void *ctx, void *state, const uint8_t *p, size_t n, uint64_t offset, hp_err *e)
{
	(void)ctx;
	(void)e;
	head *h = state;
	if (offset < HEAD_BYTES) {
		size_t take = HEAD_BYTES - (size_t)offset < n ? HEAD_BYTES - (size_t)offset : n;
		memcpy(h->b + offset, p, take);
		if (offset + take > h->n)
			h->n = (size_t)offset + take;
	}
	return HP_OK;
}

/* On the caller's thread, in list order: just before the result callback. */
static void head_done(void *ctx, void *state, const hp_digest_file *f, const hp_digest_result *r)
{
	scan_run *s = ctx;
	head *h = state;
	(void)f;
	s->have_mime = false;
	if (h && !r->err.code && s->magic) {
		const char *t = magic_buffer(s->magic, h->b, h->n);
		if (t && strlen(t) < sizeof s->mime) {
			size_t i = 0;
			/* keep "type/subtype", drop any "; charset=..." */
			while (t[i] && t[i] != ';' && t[i] != ' ')
				i++;
			memcpy(s->mime, t, i);
			s->mime[i] = '\0';
			s->have_mime = i > 0;
		}
	}
	free(h);
}

static int on_result(void *ud, const hp_walk_entry *en, size_t index, const hp_digest_result *r)
{
	scan_run *s = ud;
	(void)index;
	if (r->err.code) {
		if (!s->rc) {
			*s->e = r->err;
			s->rc = r->err.code;
		}
		return 1;
	}
	char hex[2 * HP_DIGEST_MAX_SIZE + 1];
	hp_digest_hex(r, HP_DIGEST_ID_SHA256, hex);
	json_t *entry = json_pack("{s:s%, s:I, s:s}", "path", en->path, en->path_len, "size",
				  (json_int_t)r->size, "sha256", hex);
	if (!entry) {
		s->rc = hp_fail_nomem(s->e);
		return 1;
	}
	hp_unixfs_node node;
	if (s->unixfs && hp_unixfs_sink_result(s->unixfs, &node)) {
		char cid[HP_CID_MAX_TEXT];
		hp_cid_text(&node.cid, cid);
		json_object_set_new(entry, "cid", json_string(cid));
		hp_code rc = hp_unixfs_tree_add_file(s->tree, en->path, en->path_len, &node, s->e);
		if (rc) {
			json_decref(entry);
			s->rc = rc;
			return 1;
		}
	}
	if (s->have_mime)
		json_object_set_new(entry, "mime_type", json_string(s->mime));
	json_array_append_new(s->files, entry);
	return 0;
}

hp_code hp_scan_paths(const char *const *paths, size_t n, const hp_scan_opts *o, json_t *files,
		      char *root_cid, hp_err *e)
{
	const hp_unixfs_profile *profile = NULL;
	if (o->profile && !(profile = hp_unixfs_profile_find(o->profile)))
		return hp_fail(e, HP_E_USAGE, "unknown UnixFS profile '%s' (unixfs-v0-2015, unixfs-v1-2025 or kubo-cid-v1)",
			       o->profile);
	hp_walk_opts wo = { o->dir, HP_WALK_RELATIVE | (profile ? HP_WALK_DIRS : 0u), o->report, o->ud };
	hp_walk_list l = HP_WALK_LIST_INIT;
	scan_run s = { NULL, NULL, NULL, files, e, HP_OK, { 0 }, false };
	hp_code rc = hp_walk_init(&l, &wo, e);
	for (size_t i = 0; !rc && i < n; i++)
		rc = hp_walk_add(&l, paths[i], e);
	if (!rc && profile && !(rc = hp_unixfs_sink_new(profile, NULL, &s.unixfs, e)))
		rc = hp_unixfs_tree_new(profile, &s.tree, e);
	for (size_t i = 0; !rc && i < l.n; i++) {
		const hp_walk_entry *en = &l.v[i];
		if (en->type == HP_WALK_DIR) {
			/* the arguments themselves have the empty path: the package root */
			if (en->path_len)
				rc = hp_unixfs_tree_add_dir(s.tree, en->path, en->path_len, e);
			continue;
		}
		if ((rc = hp_relpath_check(en->path, en->path_len, e)))
			hp_err_prefix(e, "cannot list this file in a manifest");
	}
	if (!rc && o->mime) {
		s.magic = magic_open(MAGIC_MIME_TYPE | MAGIC_ERROR);
		if (!s.magic || magic_load(s.magic, NULL) != 0)
			rc = hp_fail(e, HP_E_UNAVAILABLE, "cannot load libmagic's database: %s",
				     s.magic ? magic_error(s.magic) : "out of memory");
	}
	if (!rc) {
		hp_digest_sink sinks[2];
		size_t nsinks = 0;
		if (o->mime)
			sinks[nsinks++] = (hp_digest_sink){ "mime", &s, head_begin, head_update, NULL, head_done };
		if (s.unixfs)
			sinks[nsinks++] = *hp_unixfs_sink_digest(s.unixfs);
		hp_digest_opts d = { 0 };
		d.algos = HP_DIGEST_SHA256;
		d.jobs = o->jobs;
		d.sinks = nsinks ? sinks : NULL;
		d.nsinks = nsinks;
		d.progress = o->progress;
		d.progress_ms = o->progress_ms;
		rc = hp_digest_list(&l, &d, on_result, &s, e);
		if (!rc)
			rc = s.rc;
	}
	if (!rc && s.tree) {
		hp_unixfs_node root;
		rc = hp_unixfs_tree_build(s.tree, NULL, NULL, NULL, NULL, &root, e);
		if (!rc && root_cid)
			hp_cid_text(&root.cid, root_cid);
	}
	if (s.magic)
		magic_close(s.magic);
	hp_unixfs_tree_free(s.tree);
	hp_unixfs_sink_free(s.unixfs);
	hp_walk_free(&l);
	return rc;
}
