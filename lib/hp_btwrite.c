/* hp_btwrite: a .torrent's bytes as libtorrent 2.0.8 lays them out (see
 * hp_btwrite.h). Bencoded dictionaries have their keys in bytewise order,
 * so every key below is written in that order. */
#include "hp_btwrite.h"

#include <stdlib.h>
#include <openssl/evp.h>
#include <string.h>

#include "hp_btpieces.h"
#include "banned.h"

/* The output and its first error: each writer does nothing once rc is set.
 * With h1/h2 the output only passes through b into the two hashes. */
typedef struct bw {
	hp_buf *b;
	hp_err *e;
	hp_code rc;
	EVP_MD_CTX *h1, *h2;
} bw;

#define SPILL (64u * 1024)

static void spill(bw *w)
{
	if (!w->rc && (!EVP_DigestUpdate(w->h1, w->b->data, w->b->len) ||
		       !EVP_DigestUpdate(w->h2, w->b->data, w->b->len)))
		w->rc = hp_fail(w->e, HP_E_INTERNAL, "SHA-1/SHA-256 failed");
	hp_buf_reset(w->b);
}

static void raw(bw *w, const void *p, size_t n)
{
	if (!w->rc)
		w->rc = hp_buf_add(w->b, p, n, w->e);
	if (w->h1 && w->b->len >= SPILL)
		spill(w);
}

static void ch(bw *w, char c)
{
	if (!w->rc)
		w->rc = hp_buf_addch(w->b, c, w->e);
}

static void num(bw *w, uint64_t v)
{
	char d[24];
	size_t i = sizeof d;
	do
		d[--i] = (char)('0' + v % 10);
	while ((v /= 10) != 0);
	raw(w, d + i, sizeof d - i);
}

static void bint(bw *w, int64_t v)
{
	ch(w, 'i');
	if (v < 0) {
		ch(w, '-');
		num(w, (uint64_t)0 - (uint64_t)v);
	} else {
		num(w, (uint64_t)v);
	}
	ch(w, 'e');
}

static void bstr(bw *w, const void *p, size_t n)
{
	num(w, n);
	ch(w, ':');
	raw(w, p, n);
}

static void bcstr(bw *w, const char *s)
{
	bstr(w, s, strlen(s));
}

/* ---- paths ---- */

/* The next '/'-separated component of p[0..n) from *at (advanced past it). */
static size_t component(const char *p, size_t n, size_t *at, const char **c)
{
	size_t i = *at;
	const char *slash = memchr(p + i, '/', n - i);
	size_t end = slash ? (size_t)(slash - p) : n;
	*c = p + i;
	*at = slash ? end + 1 : n;
	return end - i;
}

static size_t count_components(const char *p, size_t n)
{
	size_t k = 1;
	for (size_t i = 0; i < n; i++)
		k += p[i] == '/';
	return k;
}

static int bytes_cmp(const char *a, size_t an, const char *b, size_t bn)
{
	int c = memcmp(a, b, an < bn ? an : bn);
	return c ? c : an < bn ? -1 : an > bn;
}

/* ---- v1: files or length ---- */

static void v1_path(bw *w, const hp_torrent_file_spec *f)
{
	ch(w, 'l');
	size_t at = 0;
	while (at < f->path_len) {
		const char *c;
		size_t n = component(f->path, f->path_len, &at, &c);
		bstr(w, c, n);
	}
	ch(w, 'e');
}

/* The v1 "files" list; with pad (a hybrid of more than one file), after
 * each non-empty file whose end is inside a piece, libtorrent's BEP 47 pad
 * file ".pad/SIZE" up to the piece's end (the last file's too). */
static void v1_files(bw *w, const hp_torrent_spec *s, bool pad)
{
	uint64_t P = s->piece_length;
	ch(w, 'l');
	for (size_t i = 0; i < s->nfiles; i++) {
		const hp_torrent_file_spec *f = &s->files[i];
		ch(w, 'd');
		if (f->executable)
			raw(w, "4:attr1:x", 9);
		raw(w, "6:length", 8);
		bint(w, (int64_t)f->size);
		raw(w, "4:path", 6);
		v1_path(w, f);
		ch(w, 'e');
		if (pad && f->size % P) {
			uint64_t gap = P - f->size % P;
			char name[24];
			size_t k = sizeof name;
			uint64_t v = gap;
			do
				name[--k] = (char)('0' + v % 10);
			while ((v /= 10) != 0);
			raw(w, "d4:attr1:p6:length", 18);
			bint(w, (int64_t)gap);
			raw(w, "4:pathl4:.pad", 13);
			bstr(w, name + k, sizeof name - k);
			raw(w, "ee", 2);
		}
	}
	ch(w, 'e');
}

/* ---- v2: file tree and piece layers ---- */

static void v2_leaf(bw *w, const hp_torrent_file_spec *f, const uint8_t *root)
{
	raw(w, "d0:d", 4);
	if (f->executable)
		raw(w, "4:attr1:x", 9);
	raw(w, "6:length", 8);
	bint(w, (int64_t)f->size);
	if (f->size) {
		raw(w, "11:pieces root", 14);
		bstr(w, root, 32);
	}
	raw(w, "ee", 2);
}

typedef struct comp {
	const char *p;
	size_t n;
} comp;

/* The nested dictionaries of a multi-file torrent's tree, written as the
 * files come (hp_bt_cmp_v2 order is the order of the keys at every level):
 * prev holds the previous file's components. */
static hp_code v2_tree(bw *w, const hp_torrent_spec *s, const uint8_t *roots)
{
	if (s->single_file) {
		ch(w, 'd');
		bcstr(w, s->name);
		v2_leaf(w, &s->files[0], roots);
		ch(w, 'e');
		return w->rc;
	}
	size_t cap = 0, nprev = 0, ncur;
	comp *prev = NULL, *cur = NULL;
	hp_code rc = HP_OK;
	ch(w, 'd');
	for (size_t i = 0; i < s->nfiles && !rc && !w->rc; i++) {
		const hp_torrent_file_spec *f = &s->files[i];
		size_t k = count_components(f->path, f->path_len);
		if (k > cap) {
			comp *a = realloc(prev, 2 * k * sizeof *a);
			if (!a) {
				rc = hp_fail_nomem(w->e);
				break;
			}
			prev = a;
			cap = k;
		}
		cur = prev + cap;
		/* prev moved with the realloc: its components are still valid */
		size_t at = 0;
		for (ncur = 0; ncur < k; ncur++)
			cur[ncur].n = component(f->path, f->path_len, &at, &cur[ncur].p);
		/* d: the directories shared with the previous file */
		size_t d = 0;
		while (nprev && d + 1 < nprev && d + 1 < ncur && prev[d].n == cur[d].n &&
		       memcmp(prev[d].p, cur[d].p, cur[d].n) == 0)
			d++;
		if (nprev && bytes_cmp(cur[d].p, cur[d].n, prev[d].p, prev[d].n) <= 0) {
			rc = hp_fail(w->e, HP_E_USAGE,
				     "'%.*s' cannot follow '%.*s' in a torrent: a path listed twice, a file that is "
				     "also a folder, or files not in the v2 order",
				     (int)f->path_len, f->path, (int)s->files[i - 1].path_len, s->files[i - 1].path);
			break;
		}
		for (size_t j = d + 1; j < nprev; j++)
			ch(w, 'e');
		for (size_t j = d; j + 1 < ncur; j++) {
			bstr(w, cur[j].p, cur[j].n);
			ch(w, 'd');
		}
		bstr(w, cur[ncur - 1].p, cur[ncur - 1].n);
		v2_leaf(w, f, roots + 32 * i);
		memmove(prev, cur, ncur * sizeof *cur);
		nprev = ncur;
	}
	for (size_t j = 1; j < nprev; j++)
		ch(w, 'e');
	ch(w, 'e');
	free(prev);
	return rc ? rc : w->rc;
}

typedef struct layer_ref {
	const uint8_t *root;
	const hp_torrent_file_spec *f;
} layer_ref;

static int layer_cmp(const void *a, const void *b)
{
	return memcmp(((const layer_ref *)a)->root, ((const layer_ref *)b)->root, 32);
}

/* "piece layers": the layer of every file longer than a piece, by its root
 * (one entry for files with the same root), roots in bytewise order. */
static hp_code piece_layers(bw *w, const hp_torrent_spec *s, const uint8_t *roots)
{
	size_t n = 0;
	for (size_t i = 0; i < s->nfiles; i++)
		n += s->files[i].size > s->piece_length;
	layer_ref *v = calloc(n ? n : 1, sizeof *v);
	if (!v)
		return hp_fail_nomem(w->e);
	n = 0;
	for (size_t i = 0; i < s->nfiles; i++)
		if (s->files[i].size > s->piece_length)
			v[n++] = (layer_ref){ roots + 32 * i, &s->files[i] };
	qsort(v, n, sizeof *v, layer_cmp);
	raw(w, "12:piece layersd", 16);
	for (size_t i = 0; i < n; i++) {
		if (i && memcmp(v[i].root, v[i - 1].root, 32) == 0)
			continue;
		bstr(w, v[i].root, 32);
		bstr(w, v[i].f->v2_pieces, 32 * v[i].f->v2_npieces);
	}
	ch(w, 'e');
	free(v);
	return w->rc;
}

static unsigned piece_log2(uint64_t P)
{
	unsigned k = 0;
	while (((uint64_t)HP_BT_BLOCK << k) < P)
		k++;
	return k;
}

/* ---- trackers and web seeds ---- */

/* libtorrent's add_tracker: a URL given twice is kept once, first place. */
static bool tracker_seen(const hp_torrent_spec *s, size_t i)
{
	for (size_t j = 0; j < i; j++)
		if (strcmp(s->trackers[j].url, s->trackers[i].url) == 0)
			return true;
	return false;
}

static void trackers(bw *w, const hp_torrent_spec *s)
{
	size_t n = 0;
	for (size_t i = 0; i < s->ntrackers; i++)
		n += !tracker_seen(s, i);
	if (!n)
		return;
	raw(w, "8:announce", 10);
	bcstr(w, s->trackers[0].url);
	if (n < 2)
		return;
	/* one list per run of the same tier */
	raw(w, "13:announce-listl", 17);
	bool open = false;
	unsigned tier = 0;
	for (size_t i = 0; i < s->ntrackers; i++) {
		if (tracker_seen(s, i))
			continue;
		if (!open || s->trackers[i].tier != tier) {
			if (open)
				ch(w, 'e');
			ch(w, 'l');
			open = true;
			tier = s->trackers[i].tier;
		}
		bcstr(w, s->trackers[i].url);
	}
	raw(w, "ee", 2);
}

static void web_seeds(bw *w, const hp_torrent_spec *s)
{
	if (!s->nweb_seeds)
		return;
	raw(w, "8:url-list", 10);
	if (s->nweb_seeds == 1) {
		bcstr(w, s->web_seeds[0]);
		return;
	}
	ch(w, 'l');
	for (size_t i = 0; i < s->nweb_seeds; i++)
		bcstr(w, s->web_seeds[i]);
	ch(w, 'e');
}

/* ---- the torrent ---- */

/* The "pieces root" of every non-empty file (v2), 32 bytes each. */
static hp_code roots_of(const hp_torrent_spec *s, uint8_t **out, hp_err *e)
{
	*out = NULL;
	if (!(s->flavour & HP_TORRENT_V2))
		return HP_OK;
	uint8_t *roots = calloc(s->nfiles ? s->nfiles : 1, 32);
	if (!roots)
		return hp_fail_nomem(e);
	hp_code rc = HP_OK;
	unsigned lg = piece_log2(s->piece_length);
	for (size_t i = 0; i < s->nfiles && !rc; i++)
		if (s->files[i].size)
			rc = hp_bt_layer_root(s->files[i].v2_pieces, s->files[i].v2_npieces, lg, roots + 32 * i, e);
	if (rc)
		free(roots);
	else
		*out = roots;
	return rc;
}

/* The info dictionary. */
static hp_code info_dict(bw *w, const hp_torrent_spec *s, const uint8_t *roots)
{
	bool v1 = (s->flavour & HP_TORRENT_V1) != 0, v2 = (s->flavour & HP_TORRENT_V2) != 0;
	hp_code rc = HP_OK;
	ch(w, 'd');
	if (v1 && s->single_file && s->files[0].executable)
		raw(w, "4:attr1:x", 9);
	if (v2) {
		raw(w, "9:file tree", 11);
		rc = v2_tree(w, s, roots);
	}
	if (!rc && v1) {
		if (s->single_file) {
			raw(w, "6:length", 8);
			bint(w, (int64_t)s->files[0].size);
		} else {
			raw(w, "5:files", 7);
			v1_files(w, s, v2 && s->nfiles > 1);
		}
	}
	if (v2)
		raw(w, "12:meta versioni2e", 18);
	raw(w, "4:name", 6);
	bcstr(w, s->name);
	raw(w, "12:piece length", 15);
	bint(w, (int64_t)s->piece_length);
	if (v1) {
		raw(w, "6:pieces", 8);
		bstr(w, s->v1_pieces, 20 * s->v1_npieces);
	}
	if (s->is_private)
		raw(w, "7:privatei1e", 12);
	ch(w, 'e');
	return rc ? rc : w->rc;
}

hp_code hp_btwrite(const hp_torrent_spec *s, hp_buf *out, size_t *info_at, size_t *info_len, hp_err *e)
{
	bool v1 = (s->flavour & HP_TORRENT_V1) != 0, v2 = (s->flavour & HP_TORRENT_V2) != 0;
	bw w = { out, e, HP_OK, NULL, NULL };
	uint8_t *roots;
	hp_code rc = roots_of(s, &roots, e);
	/* the size of the pieces and layers, the bulk of a large torrent */
	size_t guess = 256 + (v1 ? 20 * s->v1_npieces : 0);
	for (size_t i = 0; i < s->nfiles; i++)
		guess += 2 * s->files[i].path_len + 48 + (v1 && v2 ? 48 : 0) + (v2 ? 64 : 0) +
			 (v2 && s->files[i].size > s->piece_length ? 32 * s->files[i].v2_npieces + 40 : 0);
	if (!rc)
		rc = hp_buf_grow(out, guess, e);

	if (!rc) {
		ch(&w, 'd');
		trackers(&w, s);
		if (s->comment && *s->comment) {
			raw(&w, "7:comment", 9);
			bcstr(&w, s->comment);
		}
		if (s->creator && *s->creator) {
			raw(&w, "10:created by", 13);
			bcstr(&w, s->creator);
		}
		if (s->creation_date) {
			raw(&w, "13:creation date", 16);
			bint(&w, s->creation_date);
		}
		raw(&w, "4:info", 6);
		*info_at = out->len;
		rc = info_dict(&w, s, roots);
		*info_len = out->len - *info_at;
		if (!rc && v2)
			rc = piece_layers(&w, s, roots);
		web_seeds(&w, s);
		ch(&w, 'e');
	}
	free(roots);
	return rc ? rc : w.rc;
}

hp_code hp_btwrite_infohashes(const hp_torrent_spec *s, uint8_t v1[20], uint8_t v2[32], hp_err *e)
{
	hp_buf b = HP_BUF_INIT;
	bw w = { &b, e, HP_OK, EVP_MD_CTX_new(), EVP_MD_CTX_new() };
	uint8_t *roots = NULL;
	hp_code rc = !w.h1 || !w.h2 || !EVP_DigestInit_ex(w.h1, EVP_sha1(), NULL) ||
			     !EVP_DigestInit_ex(w.h2, EVP_sha256(), NULL)
			     ? hp_fail_nomem(e)
			     : roots_of(s, &roots, e);
	if (!rc && !(rc = info_dict(&w, s, roots))) {
		spill(&w);
		if (!(rc = w.rc) && (!EVP_DigestFinal_ex(w.h1, v1, NULL) || !EVP_DigestFinal_ex(w.h2, v2, NULL)))
			rc = hp_fail(e, HP_E_INTERNAL, "SHA-1/SHA-256 failed");
	}
	EVP_MD_CTX_free(w.h1);
	EVP_MD_CTX_free(w.h2);
	hp_buf_release(&b);
	free(roots);
	return rc;
}
