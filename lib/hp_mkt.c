#include "hp_mkt.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hp_btpieces.h"
#include "hp_io.h"
#include "banned.h"

/* ---- the piece hashes ---- */

struct hp_mkt_pieces {
	hp_mkt_opts o;
	hp_torrent_flavour flavour;
	uint64_t piece_length;
	hp_btpieces *bp;
	hp_btpieces *bp2;    /* hybrid: v2 apart, so that it may run on another thread */
	hp_btpieces *lane[HP_MKT_MAX_SINKS - 1];  /* v1 lanes 1..nlanes-1 (bp is lane 0) */
	unsigned nlanes;
	hp_digest_sink sink;
};

#define LANES_FROM (64u << 20)  /* v1 lanes when a file is this big: only then is it spread */

/* v1 lanes for list l: one per CPU (at most HP_MKT_MAX_SINKS) when a file is
 * big enough for hp_digest to spread it over threads, else 1. */
static unsigned v1_lanes(const hp_mkt_opts *o, const hp_walk_list *l)
{
	uint64_t biggest = 0;
	for (size_t i = 0; i < l->n; i++)
		if (l->v[i].type == HP_WALK_FILE && l->v[i].size > biggest)
			biggest = l->v[i].size;
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	unsigned n = o->jobs ? o->jobs : cpus > 0 ? (unsigned)cpus : 1;
	if (biggest < LANES_FROM || n < 2)
		return 1;
	return n < HP_MKT_MAX_SINKS ? n : HP_MKT_MAX_SINKS;
}

static hp_torrent_flavour flavour_of(const hp_mkt_opts *o)
{
	return o && o->flavour ? o->flavour : HP_TORRENT_HYBRID;
}

uint64_t hp_mkt_default_piece_length(hp_torrent_flavour flavour, const hp_walk_list *l)
{
	if (flavour == HP_TORRENT_HYBRID && l->nfiles > 1)
		return hp_bt_padded_piece_length(l);
	return hp_bt_auto_piece_length(l->total_size);
}

void hp_mkt_sort(hp_torrent_flavour flavour, hp_walk_list *l)
{
	if (flavour == HP_TORRENT_V1)
		hp_bt_sort_v1(l);
	else
		hp_bt_sort_v2(l);
}

hp_code hp_mkt_pieces_new(const hp_mkt_opts *o, const hp_walk_list *l, hp_mkt_pieces **out, hp_err *e)
{
	static const hp_mkt_opts none = { 0 };
	if (!o)
		o = &none;
	*out = NULL;
	hp_torrent_flavour fl = flavour_of(o);
	if (fl != HP_TORRENT_V1 && fl != HP_TORRENT_V2 && fl != HP_TORRENT_HYBRID)
		return hp_fail(e, HP_E_USAGE, "unknown torrent flavour %d", (int)fl);
	if (l->total_size == 0)
		return hp_fail(e, HP_E_USAGE, "nothing to share: a torrent needs at least one byte");
	bool pad = fl == HP_TORRENT_HYBRID && l->nfiles > 1;
	uint64_t P = o->piece_length ? o->piece_length : hp_mkt_default_piece_length(fl, l);
	uint64_t npieces = 0;
	if (!pad) {
		npieces = (l->total_size + P - 1) / P;
	} else {
		for (size_t i = 0; i < l->n; i++)
			if (l->v[i].type == HP_WALK_FILE)
				npieces += (l->v[i].size + P - 1) / P;
	}
	if (npieces > HP_TORRENT_MAX_PIECES)
		return hp_fail(e, HP_E_USAGE,
			       "%llu pieces of %llu bytes is more than clients accept (%u): use a larger --piece-size",
			       (unsigned long long)npieces, (unsigned long long)P, HP_TORRENT_MAX_PIECES);
	hp_mkt_pieces *p = calloc(1, sizeof *p);
	if (!p)
		return hp_fail_nomem(e);
	p->o = *o;
	p->flavour = fl;
	p->piece_length = P;
	bool split = fl == HP_TORRENT_HYBRID;
	p->nlanes = fl == HP_TORRENT_V1 ? v1_lanes(o, l) : 1;
	hp_btpieces_opts po = { P, (fl & HP_TORRENT_V1) != 0, !split && (fl & HP_TORRENT_V2) != 0, pad, p->nlanes, 0 };
	hp_btpieces_opts po2 = { P, false, true, false, 0, 0 };
	hp_code rc = hp_btpieces_new(&po, &p->bp, e);
	if (!rc && split)
		rc = hp_btpieces_new(&po2, &p->bp2, e);
	for (unsigned j = 1; !rc && j < p->nlanes; j++) {
		po.lane = j;
		rc = hp_btpieces_new(&po, &p->lane[j - 1], e);
	}
	if (rc) {
		hp_mkt_pieces_free(p);
		return rc;
	}
	p->sink = hp_btpieces_sink(p->bp);
	*out = p;
	return HP_OK;
}

size_t hp_mkt_pieces_sinks(hp_mkt_pieces *p, hp_digest_sink out[HP_MKT_MAX_SINKS])
{
	size_t n = 0;
	out[n++] = p->sink;
	if (p->bp2)
		out[n++] = hp_btpieces_sink(p->bp2);
	for (unsigned j = 1; j < p->nlanes; j++)
		out[n++] = hp_btpieces_sink(p->lane[j - 1]);
	return n;
}

size_t hp_mkt_pieces_window(const hp_mkt_pieces *p)
{
	return hp_btpieces_window(p->bp);
}

void hp_mkt_pieces_free(hp_mkt_pieces *p)
{
	if (!p)
		return;
	hp_btpieces_free(p->bp);
	hp_btpieces_free(p->bp2);
	for (unsigned j = 1; j < p->nlanes; j++)
		hp_btpieces_free(p->lane[j - 1]);
	free(p);
}

static bool has_str(const char *const *v, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i], s) == 0)
			return true;
	return false;
}

hp_code hp_mkt_pieces_finish(hp_mkt_pieces *p, const hp_walk_list *l, const char *name, bool single_file,
			     const char *extra_seed, hp_mkt_result *r, hp_err *e)
{
	hp_code rc = hp_btpieces_finish(p->bp, e);
	if (!rc && p->bp2)
		rc = hp_btpieces_finish(p->bp2, e);
	for (unsigned j = 1; !rc && j < p->nlanes; j++)
		rc = hp_btpieces_finish(p->lane[j - 1], e);
	if (!rc && p->nlanes > 1)
		rc = hp_btpieces_join_lanes(p->bp, p->lane, p->nlanes - 1, e);
	if (rc)
		return rc;
	const hp_btpieces *v2 = p->bp2 ? p->bp2 : p->bp;
	size_t nf = hp_btpieces_nfiles(p->bp);
	if (nf != l->nfiles)
		return hp_fail(e, HP_E_INTERNAL, "%zu files hashed for a torrent of %zu", nf, l->nfiles);
	hp_torrent_file_spec *specs = calloc(nf ? nf : 1, sizeof *specs);
	const char **seeds = calloc(p->o.nweb_seeds + 1, sizeof *seeds);
	if (!specs || !seeds) {
		free(specs);
		free(seeds);
		return hp_fail_nomem(e);
	}
	size_t seq = 0;
	for (size_t i = 0; i < l->n; i++) {
		if (l->v[i].type == HP_WALK_DIR)
			continue;
		const hp_btpieces_file *f = hp_btpieces_file_at(v2, seq);
		specs[seq].path = l->v[i].path;
		specs[seq].path_len = l->v[i].path_len;
		specs[seq].size = f->size;
		specs[seq].executable = p->o.attributes && (l->v[i].mode & 0111);
		specs[seq].v2_pieces = f->pieces;
		specs[seq].v2_npieces = f->npieces;
		seq++;
	}
	size_t ns = 0;
	for (size_t i = 0; i < p->o.nweb_seeds; i++)
		if (!has_str(seeds, ns, p->o.web_seeds[i]))
			seeds[ns++] = p->o.web_seeds[i];
	if (extra_seed && !has_str(seeds, ns, extra_seed))
		seeds[ns++] = extra_seed;

	hp_torrent_spec s = { 0 };
	s.flavour = p->flavour;
	s.name = name;
	s.single_file = single_file;
	s.piece_length = p->piece_length;
	s.files = specs;
	s.nfiles = nf;
	s.v1_pieces = hp_btpieces_v1(p->bp);
	s.v1_npieces = hp_btpieces_v1_count(p->bp);
	s.trackers = p->o.trackers;
	s.ntrackers = p->o.ntrackers;
	s.web_seeds = seeds;
	s.nweb_seeds = ns;
	s.is_private = p->o.is_private;
	s.comment = p->o.comment;
	s.creator = p->o.creator;
	s.creation_date = p->o.creation_date;
	hp_torrent_info_free(r->info);
	r->info = NULL;
	r->torrent.len = 0;
	rc = p->o.light_info ? hp_torrent_create_light(&s, p->o.no_bytes ? NULL : &r->torrent, &r->info, e)
			     : hp_torrent_create(&s, &r->torrent, &r->info, e);
	free(specs);
	free(seeds);
	return rc;
}

char *hp_mkt_ipfs_web_seed(const char *gateway, const char *cid)
{
	size_t n = strlen(gateway);
	while (n && gateway[n - 1] == '/')
		n--;
	hp_buf b = HP_BUF_INIT;
	if (hp_buf_addf(&b, NULL, "%.*s/ipfs/%s/", (int)n, gateway, cid))
		return NULL;
	return hp_buf_detach(&b, NULL);
}

void hp_mkt_result_free(hp_mkt_result *r)
{
	if (!r)
		return;
	hp_buf_release(&r->torrent);
	hp_torrent_info_free(r->info);
	free(r->ipfs_web_seed);
	*r = (hp_mkt_result)HP_MKT_RESULT_INIT;
}

/* ---- one read of a list ---- */

/* What a manifest says about a file of the list (by hp_walk_entry.arg). */
typedef struct expect {
	const char *sha256;  /* NULL: not checked */
	const char *cid;     /* NULL: not checked */
	uint64_t size;
} expect;

typedef struct mrun {
	const expect *want;          /* NULL: nothing to check */
	hp_unixfs_sink *unixfs;      /* NULL: no CID */
	hp_unixfs_tree *tree;        /* multi-file: the directory of the files */
	hp_unixfs_node file_node;    /* single-file: the file */
	hp_err err;
} mrun;

static int on_result(void *ud, const hp_walk_entry *en, size_t index, const hp_digest_result *r)
{
	mrun *x = ud;
	(void)index;
	if (r->err.code) {
		x->err = r->err;
		return 1;  /* one missing file spoils the torrent: stop */
	}
	char q[256];
	if (x->want) {
		const expect *w = &x->want[en->arg];
		char hex[2 * HP_DIGEST_MAX_SIZE + 1];
		hp_digest_hex(r, HP_DIGEST_ID_SHA256, hex);
		if (r->size != w->size || (w->sha256 && strcmp(hex, w->sha256) != 0)) {
			hp_quote(en->path, en->path_len, q, sizeof q);
			if (r->size != w->size)
				hp_fail(&x->err, HP_E_INVALID, "'%s' has %llu bytes, the manifest says %llu", q,
					(unsigned long long)r->size, (unsigned long long)w->size);
			else
				hp_fail(&x->err, HP_E_INVALID, "'%s' does not match the manifest: SHA-256 %s, expected %s",
					q, hex, w->sha256);
			return 1;
		}
	}
	if (x->unixfs) {
		hp_unixfs_node node;
		if (!hp_unixfs_sink_result(x->unixfs, &node)) {
			hp_fail(&x->err, HP_E_INTERNAL, "no UnixFS node for a file read");
			return 1;
		}
		if (x->want && x->want[en->arg].cid) {
			char cid[HP_CID_MAX_TEXT];
			hp_cid_text(&node.cid, cid);
			if (strcmp(cid, x->want[en->arg].cid) != 0) {
				hp_quote(en->path, en->path_len, q, sizeof q);
				hp_fail(&x->err, HP_E_INVALID, "'%s' does not match the manifest: CID %s, expected %s", q,
					cid, x->want[en->arg].cid);
				return 1;
			}
		}
		if (x->tree && hp_unixfs_tree_add_file(x->tree, en->path, en->path_len, &node, &x->err))
			return 1;
		x->file_node = node;
	}
	return 0;
}

static hp_code check_list(const hp_walk_list *l, bool single_file, hp_err *e)
{
	if (l->n == 0)
		return hp_fail(e, HP_E_USAGE, "no files to make a torrent of");
	if (single_file && l->n != 1)
		return hp_fail(e, HP_E_USAGE, "a single-file torrent has one file, not %zu", l->n);
	char q[256];
	for (size_t i = 0; i < l->n; i++) {
		const hp_walk_entry *en = &l->v[i];
		if (en->type != HP_WALK_FILE) {
			hp_quote(en->path, en->path_len, q, sizeof q);
			return hp_fail(e, HP_E_USAGE, "'%s' is not a regular file: a torrent needs files of known size", q);
		}
		if (!single_file && hp_relpath_check(en->path, en->path_len, e))
			return hp_err_prefix(e, "cannot put this file in a torrent");
	}
	if (l->total_size == 0)
		return hp_fail(e, HP_E_USAGE, "nothing to share: every file is empty");
	return HP_OK;
}

/* The read and the torrent; want: what a manifest says (NULL: nothing). */
static hp_code build(hp_walk_list *l, const char *name, bool single_file, const hp_mkt_opts *o, const expect *want,
		     hp_mkt_result *r, hp_err *e)
{
	static const hp_mkt_opts none = { 0 };
	if (!o)
		o = &none;
	hp_code rc = check_list(l, single_file, e);
	if (rc)
		return rc;
	const hp_unixfs_profile *profile = NULL;
	if (o->ipfs_profile && !(profile = hp_unixfs_profile_find(o->ipfs_profile)))
		return hp_fail(e, HP_E_USAGE, "unknown UnixFS profile '%s'", o->ipfs_profile);
	if ((o->ipfs_gateway || o->ipfs_cid) && !profile)
		return hp_fail(e, HP_E_USAGE, "an IPFS web seed or CID check needs a UnixFS profile");
	if (o->ipfs_gateway && !hp_torrent_web_seed_url_ok(o->ipfs_gateway))
		return hp_fail(e, HP_E_USAGE, "'%s' is not a gateway URL (http:// or https://)", o->ipfs_gateway);
	hp_cid want_cid;
	if (o->ipfs_cid && (rc = hp_cid_parse_text(o->ipfs_cid, &want_cid, e)))
		return rc;

	hp_mkt_sort(flavour_of(o), l);
	hp_mkt_pieces *p = NULL;
	mrun x = { want, NULL, NULL, { { 0 }, 0, 0 }, HP_ERR_INIT };
	if ((rc = hp_mkt_pieces_new(o, l, &p, e)))
		return rc;
	if (profile && !(rc = hp_unixfs_sink_new(profile, NULL, &x.unixfs, e)) && !single_file)
		rc = hp_unixfs_tree_new(profile, &x.tree, e);
	if (!rc) {
		hp_digest_sink sinks[HP_MKT_MAX_SINKS + 1];
		size_t ns = hp_mkt_pieces_sinks(p, sinks);
		if (x.unixfs)
			sinks[ns++] = *hp_unixfs_sink_digest(x.unixfs);
		hp_digest_opts d = { 0 };
		d.algos = want ? HP_DIGEST_SHA256 : 0;
		d.jobs = o->jobs;
		d.sinks = sinks;
		d.nsinks = ns;
		d.window = hp_mkt_pieces_window(p);
		d.progress = o->progress;
		d.progress_ms = o->progress_ms;
		d.ud = o->progress_ud;
		rc = hp_digest_list(l, &d, on_result, &x, e);
		if (!rc && x.err.code) {
			*e = x.err;
			rc = x.err.code;
		}
	}
	r->content_cid[0] = r->wrapper_cid[0] = '\0';
	r->content_dag_size = 0;
	if (!rc && profile) {
		hp_unixfs_node content = x.file_node, wrapper;
		if (x.tree)
			rc = hp_unixfs_tree_build(x.tree, NULL, NULL, NULL, NULL, &content, e);
		if (!rc && o->ipfs_cid && !hp_cid_equal(&content.cid, &want_cid)) {
			char got[HP_CID_MAX_TEXT];
			hp_cid_text(&content.cid, got);
			rc = hp_fail(e, HP_E_INVALID, "the content's CID is %s under %s, not %s", got, profile->name,
				     o->ipfs_cid);
		}
		if (!rc)
			rc = hp_unixfs_wrap(profile, name, strlen(name), &content, NULL, NULL, &wrapper, e);
		if (!rc) {
			hp_cid_text(&content.cid, r->content_cid);
			r->content_dag_size = content.dag_size;
			hp_cid_text(&wrapper.cid, r->wrapper_cid);
			free(r->ipfs_web_seed);
			r->ipfs_web_seed = NULL;
			if (o->ipfs_gateway && !(r->ipfs_web_seed = hp_mkt_ipfs_web_seed(o->ipfs_gateway, r->wrapper_cid)))
				rc = hp_fail_nomem(e);
		}
	}
	if (!rc)
		rc = hp_mkt_pieces_finish(p, l, name, single_file, r->ipfs_web_seed, r, e);
	hp_unixfs_tree_free(x.tree);
	hp_unixfs_sink_free(x.unixfs);
	hp_mkt_pieces_free(p);
	return rc;
}

hp_code hp_mkt_build(hp_walk_list *l, const char *name, bool single_file, const hp_mkt_opts *o, hp_mkt_result *r,
		     hp_err *e)
{
	r->canonical = false;
	return build(l, name, single_file, o, NULL, r, e);
}

/* ---- manifests ---- */

bool hp_mkt_layout(const char *manifest_name, const char *const *paths, size_t n, const char **name)
{
	bool single = n == 1 && !strchr(paths[0], '/');
	*name = single ? paths[0] : manifest_name;
	return single;
}

static const char *dist_str(const json_t *m, const char *key)
{
	return json_string_value(json_object_get(json_object_get(m, "distribution"), key));
}

/* Does the manifest record no infohash or ti's? */
static bool infohashes_match(const json_t *m, const hp_torrent_info *ti)
{
	const char *v1 = dist_str(m, "torrent_infohash"), *v2 = dist_str(m, "torrent_infohash_v2");
	return (!v1 || strcmp(v1, ti->infohash_v1_hex) == 0) && (!v2 || strcmp(v2, ti->infohash_v2_hex) == 0);
}

static int hexval(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

hp_code hp_mkt_magnet_trackers(const char *magnet, hp_torrent_tracker **out, size_t *n, char **buf, hp_err *e)
{
	*out = NULL;
	*n = 0;
	*buf = NULL;
	if (!magnet || strncmp(magnet, "magnet:?", 8) != 0)
		return HP_OK;
	size_t len = strlen(magnet), count = 0;
	char *b = malloc(len + 1);
	hp_torrent_tracker *t = calloc(len / 4 + 1, sizeof *t);
	if (!b || !t) {
		free(b);
		free(t);
		return hp_fail_nomem(e);
	}
	char *w = b;
	for (const char *p = magnet + 8; *p;) {
		const char *amp = strchr(p, '&');
		size_t pl = amp ? (size_t)(amp - p) : strlen(p);
		if (pl > 3 && strncmp(p, "tr=", 3) == 0) {
			char *url = w;
			for (size_t i = 3; i < pl; i++) {
				int hi, lo;
				if (p[i] == '%' && i + 2 < pl && (hi = hexval(p[i + 1])) >= 0 && (lo = hexval(p[i + 2])) >= 0) {
					*w++ = (char)(hi * 16 + lo);
					i += 2;
				} else {
					*w++ = p[i];
				}
			}
			*w++ = '\0';
			if ((size_t)(w - 1 - url) != strlen(url) || !hp_torrent_tracker_url_ok(url)) {  /* "%00" too */
				hp_fail(e, HP_E_DATA, "the manifest's torrent_magnet has a tracker that is not a tracker URL");
				free(b);
				free(t);
				return HP_E_DATA;
			}
			t[count].url = url;
			t[count].tier = (unsigned)count;
			count++;
		}
		p += pl + (amp ? 1 : 0);
	}
	*out = t;
	*n = count;
	*buf = b;
	return HP_OK;
}

hp_code hp_mkt_from_manifest(const json_t *m, const char *dir, const hp_mkt_opts *o, hp_mkt_result *r, hp_err *e)
{
	static const hp_mkt_opts none = { 0 };
	if (!o)
		o = &none;
	const json_t *files = json_object_get(m, "files");
	const char *mname = json_string_value(json_object_get(m, "name"));
	size_t n = json_array_size(files);
	if (!json_is_array(files) || !n || !mname)
		return hp_fail(e, HP_E_DATA, "the manifest has no name or no files");
	hp_mkt_opts oo = *o;
	const char *import = dist_str(m, "ipfs_import");
	if ((oo.ipfs_gateway || oo.ipfs_cid) && !oo.ipfs_profile)
		oo.ipfs_profile = import ? import : HP_UNIXFS_PROFILE_DEFAULT;
	bool same_profile = oo.ipfs_profile && import && strcmp(oo.ipfs_profile, import) == 0;

	expect *want = calloc(n, sizeof *want);
	const char **paths = calloc(n, sizeof *paths);
	const json_t *mseeds = json_object_get(json_object_get(m, "distribution"), "web_seeds");
	size_t nms = json_array_size(mseeds);
	const char **seeds = calloc(nms + o->nweb_seeds + 1, sizeof *seeds);
	hp_walk_list l = HP_WALK_LIST_INIT;
	hp_code rc = HP_OK;
	char q[256];
	hp_torrent_tracker *mtr = NULL;
	char *mtr_buf = NULL;
	if (!want || !paths || !seeds) {
		rc = hp_fail_nomem(e);
		goto out;
	}
	if (!o->ntrackers) {
		size_t nt;
		if ((rc = hp_mkt_magnet_trackers(dist_str(m, "torrent_magnet"), &mtr, &nt, &mtr_buf, e)))
			goto out;
		oo.trackers = mtr;
		oo.ntrackers = nt;
	}
	for (size_t i = 0; i < n; i++) {
		const json_t *f = json_array_get(files, i);
		const json_t *js = json_object_get(f, "size");
		paths[i] = json_string_value(json_object_get(f, "path"));
		want[i].sha256 = json_string_value(json_object_get(f, "sha256"));
		want[i].cid = same_profile ? json_string_value(json_object_get(f, "cid")) : NULL;
		if (!paths[i] || !want[i].sha256 || !json_is_integer(js) || json_integer_value(js) < 0) {
			rc = hp_fail(e, HP_E_DATA, "files[%zu] of the manifest has no path, size or sha256", i);
			goto out;
		}
		want[i].size = (uint64_t)json_integer_value(js);
	}
	size_t ns = 0;
	for (size_t i = 0; i < nms; i++) {
		const char *s = json_string_value(json_array_get(mseeds, i));
		if (s && !has_str(seeds, ns, s))
			seeds[ns++] = s;
	}
	for (size_t i = 0; i < o->nweb_seeds; i++)
		if (!has_str(seeds, ns, o->web_seeds[i]))
			seeds[ns++] = o->web_seeds[i];
	oo.web_seeds = seeds;
	oo.nweb_seeds = ns;

	const char *name;
	bool single = hp_mkt_layout(mname, paths, n, &name);

	hp_walk_opts wo = { dir, 0, NULL, NULL };
	if ((rc = hp_walk_init(&l, &wo, e)))
		goto out;
	for (size_t i = 0; i < n; i++) {
		size_t before = l.n;
		hp_quote(paths[i], strlen(paths[i]), q, sizeof q);
		if ((rc = hp_walk_add(&l, paths[i], e))) {
			hp_err_prefix(e, "'%s' of the manifest is missing from %s%s%s", q, dir ? "'" : "the current directory",
				      dir ? dir : "", dir ? "'" : "");
			goto out;
		}
		if (l.n != before + 1 || l.v[before].type != HP_WALK_FILE || strcmp(l.v[before].path, paths[i]) != 0) {
			rc = hp_fail(e, HP_E_INVALID, "'%s' of the manifest is not a regular file in the content folder", q);
			goto out;
		}
		if (l.v[before].size != want[i].size) {
			rc = hp_fail(e, HP_E_INVALID, "'%s' has %llu bytes, the manifest says %llu", q,
				     (unsigned long long)l.v[before].size, (unsigned long long)want[i].size);
			goto out;
		}
	}
	if (l.total_size == 0) {
		rc = hp_fail(e, HP_E_DATA, "nothing to share: every file of the manifest is empty");
		goto out;
	}
	uint64_t P = hp_mkt_default_piece_length(HP_TORRENT_HYBRID, &l);
	r->canonical = (oo.flavour == 0 || oo.flavour == HP_TORRENT_HYBRID) &&
		       (oo.piece_length == 0 || oo.piece_length == P) && !oo.is_private && !oo.attributes;
	if ((rc = build(&l, name, single, &oo, want, r, e)))
		goto out;
	/* a manifest made before 2026-12-08 has the torrent of libtorrent's
	 * automatic piece length, which hp_bt_padded_piece_length lowers for
	 * many small files: the content is read again at that length when the
	 * recorded infohashes say so */
	uint64_t legacy = hp_bt_auto_piece_length(l.total_size);
	if (r->canonical && oo.piece_length == 0 && legacy != P && !infohashes_match(m, r->info)) {
		oo.piece_length = legacy;
		if ((rc = build(&l, name, single, &oo, want, r, e)))
			goto out;
	}
	/* a multi-file torrent's IPFS web seed wraps the directory of its files,
	 * which must be the package root the manifest names (the one on IPFS) */
	const char *root = dist_str(m, "ipfs_cid");
	if (!single && oo.ipfs_gateway && same_profile && root && strcmp(root, r->content_cid) != 0) {
		rc = hp_fail(e, HP_E_DATA,
			     "cannot make the IPFS web seed: distribution.ipfs_cid %s is not the directory of the "
			     "manifest's files (%s): the package has empty directories, or ipfs_cid is wrong; "
			     "use the manifest's web_seeds (no --ipfs-gateway)",
			     root, r->content_cid);
		goto out;
	}
	if (r->canonical && !infohashes_match(m, r->info)) {
		const char *v1 = dist_str(m, "torrent_infohash"), *v2 = dist_str(m, "torrent_infohash_v2");
		rc = hp_fail(e, HP_E_INVALID,
			     "the content matches the manifest's files, but its torrent infohashes are %s / %s, "
			     "the manifest says %s / %s",
			     r->info->infohash_v1_hex, r->info->infohash_v2_hex, v1 ? v1 : "-", v2 ? v2 : "-");
	}
out:
	hp_walk_free(&l);
	free(mtr);
	free(mtr_buf);
	free(want);
	free(paths);
	free(seeds);
	return rc;
}
