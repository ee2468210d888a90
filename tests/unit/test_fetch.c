/* hp_fetch and the IPFS walk (hp_ipfs_fetch) over in-memory blocks.
 *
 * A package (nested folders, empty folders, an empty file, files of several
 * chunks, a file of identical chunks, a name with a space and UTF-8) is
 * built with hp_unixfs under each profile; its blocks are kept in memory
 * and fed to the walk in many orders (depth first with and without repeats,
 * reversed, the importer's own order, shuffled with duplicates and blocks
 * that belong to nothing), with a block left out, with the store forced to
 * spill, per file, and through a HAMT-sharded folder. Each run fetches into a
 * fresh folder and is compared with the contents byte for byte. Then the
 * manifest and the DAG made to disagree (sizes, SHA-256, CIDs), the writers
 * (bounds, pwrite, adopt), the scan of files in place, and the bounds a
 * response is held to. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hp_dagpb.h"
#include "hp_fetch_source.h"
#include "hp_io.h"
#include "hp_ipfs_fetch.h"
#include "hp_manifest.h"
#include "hp_multiformats.h"
#include "hp_unixfs.h"
#include "tap.h"

#include "banned.h"

/* ---- blocks in memory ---- */

typedef struct blk {
	hp_cid cid;
	uint8_t *data;
	size_t len;
} blk;

typedef struct blocks {
	blk *v;
	size_t n, cap;
} blocks;

static const blk *find_blk(const blocks *b, const hp_cid *c)
{
	for (size_t i = 0; i < b->n; i++)
		if (hp_cid_equal(&b->v[i].cid, c))
			return &b->v[i];
	return NULL;
}

static void add_blk(blocks *b, const hp_cid *c, const uint8_t *p, size_t n, bool dedup)
{
	if (dedup && find_blk(b, c))
		return;
	if (b->n == b->cap) {
		b->cap = b->cap ? 2 * b->cap : 64;
		b->v = realloc(b->v, b->cap * sizeof *b->v);
		if (!b->v)
			abort();
	}
	blk *x = &b->v[b->n++];
	x->cid = *c;
	x->data = malloc(n ? n : 1);
	if (!x->data)
		abort();
	memcpy(x->data, p, n);
	x->len = n;
}

static void free_blocks(blocks *b)
{
	for (size_t i = 0; i < b->n; i++)
		free(b->v[i].data);
	free(b->v);
	memset(b, 0, sizeof *b);
}

static hp_code collect(void *ud, const hp_cid *cid, const uint8_t *data, size_t n, hp_err *e)
{
	(void)e;
	add_blk(ud, cid, data, n, true);
	return HP_OK;
}

/* Depth-first order from c, each occurrence (repeats) or each block once. */
static void dfs(const blocks *all, const hp_cid *c, bool repeats, blocks *out)
{
	const blk *b = find_blk(all, c);
	if (!b || (!repeats && find_blk(out, c)))
		return;
	add_blk(out, &b->cid, b->data, b->len, false);
	if (c->codec != HP_MC_DAG_PB)
		return;
	hp_pbnode node;
	hp_err e = HP_ERR_INIT;
	if (hp_dagpb_decode(b->data, b->len, &node, &e))
		return;
	for (size_t i = 0; i < node.nlinks; i++)
		dfs(all, &node.links[i].cid, repeats, out);
	hp_pbnode_free(&node);
}

static uint64_t rng = 0x243f6a8885a308d3u;
static uint64_t rnd(void)
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 0x2545f4914f6cdd1du;
}

/* ---- the package ---- */

typedef struct pfile {
	const char *path;
	uint8_t *data;
	size_t len;
	hp_cid cid;
} pfile;

typedef struct pkg {
	const hp_unixfs_profile *prof;
	pfile *files;
	size_t nfiles;
	blocks all;     /* every block, once */
	hp_cid root;
	json_t *m;
} pkg;

static uint8_t *bytes_of(size_t n, int kind)
{
	uint8_t *p = malloc(n ? n : 1);
	if (!p)
		abort();
	for (size_t i = 0; i < n; i++)
		p[i] = kind == 0 ? 0 : (uint8_t)rnd();
	return p;
}

static int pfile_cmp(const void *a, const void *b)
{
	const pfile *x = a, *y = b;
	return strcmp(x->path, y->path);
}

/* The package's manifest, with the given edits: size_delta added to file
 * bad_size, file bad_sha's SHA-256 zeroed, file bad_cid's CID replaced. */
static json_t *manifest_of(pkg *p, size_t bad_size, size_t bad_sha, size_t bad_cid)
{
	json_t *files = json_array();
	for (size_t i = 0; i < p->nfiles; i++) {
		uint8_t md[32];
		SHA256(p->files[i].data, p->files[i].len, md);
		char hx[65];
		for (int k = 0; k < 32; k++)
			snprintf(hx + 2 * k, 3, "%02x", i == bad_sha ? 0 : md[k]);
		char cid[HP_CID_MAX_TEXT];
		hp_cid_text(i == bad_cid ? &p->root : &p->files[i].cid, cid);
		json_array_append_new(files, json_pack("{s:s, s:I, s:s, s:s}", "path", p->files[i].path, "size",
						       (json_int_t)(p->files[i].len + (i == bad_size)), "sha256", hx,
						       "cid", cid));
	}
	char root[HP_CID_MAX_TEXT];
	hp_cid_text(&p->root, root);
	hp_manifest_meta meta = { 0 };
	meta.name = "pkg";
	meta.version = "1.0";
	meta.timestamp = "2026-01-01T00:00:00Z";
	meta.ipfs_cid = root;
	meta.ipfs_import = p->prof->name;
	json_t *m = NULL;
	hp_err e = HP_ERR_INIT;
	if (hp_manifest_build(&meta, files, &m, &e)) {
		printf("# manifest: %s\n", e.msg);
		abort();
	}
	return m;
}

/* Build the package; extra_names: a folder "many" with that many more
 * files (names of 250 bytes) that the manifest lists only five of. */
static void make_pkg(pkg *p, const char *profile, size_t extra_names)
{
	memset(p, 0, sizeof *p);
	p->prof = hp_unixfs_profile_find(profile);
	size_t chunk = p->prof->chunk_size;
	static const struct { const char *path; int kind; size_t mul, add; } spec[] = {
		{ ".hidden", 1, 0, 1 },
		{ "a.txt", 1, 0, 12 },
		{ "big.bin", 1, 2, 12345 },             /* three chunks */
		{ "dir/name with space & \xc3\xbc.txt", 1, 0, 7 },
		{ "dir/sub/deep.txt", 1, 0, 4 },
		{ "dir/sub/more.bin", 1, 1, 1 },        /* two chunks */
		{ "empty.dat", 1, 0, 0 },
		{ "zeros.bin", 0, 3, 0 },               /* three identical chunks */
	};
	size_t n = sizeof spec / sizeof *spec;
	p->files = calloc(n + extra_names, sizeof *p->files);
	hp_unixfs_tree *t;
	hp_err e = HP_ERR_INIT;
	hp_unixfs_tree_new(p->prof, &t, &e);
	for (size_t i = 0; i < n + extra_names; i++) {
		pfile *f = &p->files[i];
		if (i < n) {
			f->path = strdup(spec[i].path);
			f->len = spec[i].mul * chunk + spec[i].add;
			f->data = bytes_of(f->len, spec[i].kind);
		} else {
			char name[300];
			int k = snprintf(name, sizeof name, "many/%05zu-", i - n);
			memset(name + k, 'x', 250 - 6);
			name[k + 250 - 6] = '\0';
			f->path = strdup(name);
			f->len = 3;
			f->data = bytes_of(3, 1);
		}
		hp_unixfs_node node;
		if (hp_unixfs_file_mem(p->prof, f->data, f->len, collect, &p->all, &node, &e) ||
		    hp_unixfs_tree_add_file(t, f->path, strlen(f->path), &node, &e)) {
			printf("# package: %s\n", e.msg);
			abort();
		}
		f->cid = node.cid;
	}
	hp_unixfs_tree_add_dir(t, "emptydir", 8, &e);
	hp_unixfs_tree_add_dir(t, "dir/emptier", 11, &e);
	hp_unixfs_node root;
	if (hp_unixfs_tree_build(t, collect, &p->all, NULL, NULL, &root, &e)) {
		printf("# tree: %s\n", e.msg);
		abort();
	}
	hp_unixfs_tree_free(t);
	p->root = root.cid;
	/* the manifest lists the files in path order; of "many", five */
	size_t keep = n + (extra_names < 5 ? extra_names : 5);
	for (size_t i = keep; i < n + extra_names; i++) {
		free((char *)p->files[i].path);
		free(p->files[i].data);
	}
	p->nfiles = keep;
	qsort(p->files, p->nfiles, sizeof *p->files, pfile_cmp);
	p->m = manifest_of(p, SIZE_MAX, SIZE_MAX, SIZE_MAX);
}

static void free_pkg(pkg *p)
{
	for (size_t i = 0; i < p->nfiles; i++) {
		free((char *)p->files[i].path);
		free(p->files[i].data);
	}
	free(p->files);
	free_blocks(&p->all);
	json_decref(p->m);
}

static size_t file_index(const pkg *p, const char *path)
{
	for (size_t i = 0; i < p->nfiles; i++)
		if (strcmp(p->files[i].path, path) == 0)
			return i;
	abort();
}

/* ---- a run ---- */

static char base[] = "/tmp/hp-test-fetch-XXXXXX";
static int run_no;

typedef struct result {
	char dir[256];
	hp_code rc;          /* of the walk's finish */
	hp_err err;
	hp_ipfs_walk_stats st;
	hp_fetch_status status[2048];
	json_t *m;
} result;

static hp_fetch *open_fetch(json_t *m, char dir[256])
{
	snprintf(dir, 256, "%s/run%d", base, ++run_no);
	hp_fetch_opts o = { 0 };
	o.out_dir = dir;
	o.jobs = 2;
	hp_fetch *f = NULL;
	hp_err e = HP_ERR_INIT;
	if (hp_fetch_open_verified(m, &o, &f, &e)) {
		printf("# open: %s\n", e.msg);
		abort();
	}
	return f;
}

/* Feed order[0..n) to a walk of m (start: the root, or file's CID). */
static void run(json_t *m, const blocks *order, const hp_cid *start, size_t file, size_t memory, result *r)
{
	memset(r, 0, sizeof *r);
	hp_fetch *f = open_fetch(m, r->dir);
	hp_ipfs_walk *w;
	hp_err e = HP_ERR_INIT;
	if (hp_ipfs_walk_new(f, start, file, memory, &w, &e))
		abort();
	r->rc = HP_OK;
	for (size_t i = 0; i < order->n && !r->rc; i++)
		r->rc = hp_ipfs_walk_block(w, &order->v[i].cid, order->v[i].data, order->v[i].len, &r->err);
	if (!r->rc)
		r->rc = hp_ipfs_walk_finish(w, &r->err);
	hp_ipfs_walk_get_stats(w, &r->st);
	hp_ipfs_walk_free(w);
	for (size_t i = 0; i < hp_fetch_nfiles(f) && i < 2048; i++)
		r->status[i] = hp_fetch_file_status(f, i);
	hp_fetch_free(f);
}

/* Is file i of p at its final path with exactly its bytes? */
static bool in_place(const pkg *p, const result *r, size_t i)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/%s", r->dir, p->files[i].path);
	hp_buf b = HP_BUF_INIT;
	bool same = hp_read_file(path, SIZE_MAX, &b, NULL) == HP_OK && b.len == p->files[i].len &&
		    memcmp(b.data, p->files[i].data, b.len) == 0;
	hp_buf_release(&b);
	return same;
}

static bool absent(const result *r, const char *rel)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/%s", r->dir, rel);
	struct stat st;
	return lstat(path, &st) < 0 && errno == ENOENT;
}

static bool all_in_place(const pkg *p, const result *r)
{
	for (size_t i = 0; i < p->nfiles; i++)
		if (!in_place(p, r, i) || r->status[i] != HP_FETCH_FETCHED)
			return false;
	return absent(r, ".hp-partial");
}

static bool is_dir(const result *r, const char *rel)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/%s", r->dir, rel);
	struct stat st;
	return lstat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* ---- the tests ---- */

static void test_orders(const char *profile)
{
	pkg p;
	make_pkg(&p, profile, 0);
	blocks once = { 0 }, reps = { 0 }, rev = { 0 }, mixed = { 0 };
	dfs(&p.all, &p.root, false, &once);
	dfs(&p.all, &p.root, true, &reps);
	result r;

	run(p.m, &once, &p.root, SIZE_MAX, 0, &r);
	ok(r.rc == HP_OK && all_in_place(&p, &r), "%s: depth first, each block once: every file in place (%s)", profile,
	   r.err.msg);
	ok(is_dir(&r, "emptydir") && is_dir(&r, "dir/emptier"), "%s: the empty folders are made", profile);
	ok(r.st.rebuilt >= 2 && r.st.ignored == 0 && r.st.duplicates == 0,
	   "%s: the repeated chunk rebuilt from the bytes written (%llu), nothing ignored", profile,
	   (unsigned long long)r.st.rebuilt);

	run(p.m, &reps, &p.root, SIZE_MAX, 0, &r);
	ok(r.rc == HP_OK && all_in_place(&p, &r), "%s: depth first with every repeat (dups=y)", profile);

	for (size_t i = once.n; i-- > 0;)
		add_blk(&rev, &once.v[i].cid, once.v[i].data, once.v[i].len, false);
	run(p.m, &rev, &p.root, SIZE_MAX, 0, &r);
	ok(r.rc == HP_OK && all_in_place(&p, &r) && r.st.spilled == 0, "%s: reversed: held in memory, all in place",
	   profile);
	run(p.m, &rev, &p.root, SIZE_MAX, 1, &r);
	ok(r.rc == HP_OK && all_in_place(&p, &r) && r.st.spilled > 0,
	   "%s: reversed with no memory: spilled %llu bytes, all in place", profile, (unsigned long long)r.st.spilled);

	run(p.m, &p.all, &p.root, SIZE_MAX, 4096, &r);
	ok(r.rc == HP_OK && all_in_place(&p, &r), "%s: the importer's order (children first)", profile);

	/* shuffled, every block twice, and blocks that belong to nothing */
	for (size_t i = 0; i < once.n; i++) {
		add_blk(&mixed, &once.v[i].cid, once.v[i].data, once.v[i].len, false);
		add_blk(&mixed, &once.v[i].cid, once.v[i].data, once.v[i].len, false);
	}
	for (int k = 0; k < 5; k++) {
		uint8_t junk[100];
		for (size_t i = 0; i < sizeof junk; i++)
			junk[i] = (uint8_t)rnd();
		uint8_t md[32];
		SHA256(junk, sizeof junk, md);
		hp_cid c;
		hp_cid_sha256(&c, 1, HP_MC_RAW, md);
		add_blk(&mixed, &c, junk, sizeof junk, false);
	}
	for (size_t i = mixed.n; i > 1; i--) {
		size_t j = (size_t)(rnd() % i);
		blk t = mixed.v[i - 1];
		mixed.v[i - 1] = mixed.v[j];
		mixed.v[j] = t;
	}
	run(p.m, &mixed, &p.root, SIZE_MAX, 8192, &r);
	ok(r.rc == HP_OK && all_in_place(&p, &r), "%s: shuffled, duplicated, with 5 unrelated blocks", profile);
	ok(r.st.ignored == 5 && r.st.duplicates > 0, "%s: ... 5 ignored (%llu), duplicates dropped (%llu)", profile,
	   (unsigned long long)r.st.ignored, (unsigned long long)r.st.duplicates);

	/* a leaf of big.bin left out */
	size_t big = file_index(&p, "big.bin");
	const blk *bb = find_blk(&p.all, &p.files[big].cid);
	hp_pbnode node;
	hp_err e = HP_ERR_INIT;
	ok(hp_dagpb_decode(bb->data, bb->len, &node, &e) == HP_OK && node.nlinks == 3, "%s: big.bin has 3 chunks",
	   profile);
	hp_cid gone = node.links[1].cid;
	hp_pbnode_free(&node);
	blocks holed = { 0 };
	for (size_t i = 0; i < once.n; i++)
		if (!hp_cid_equal(&once.v[i].cid, &gone))
			add_blk(&holed, &once.v[i].cid, once.v[i].data, once.v[i].len, false);
	run(p.m, &holed, &p.root, SIZE_MAX, 0, &r);
	char gt[HP_CID_MAX_TEXT], want[HP_CID_MAX_TEXT + 64];
	hp_cid_text(&gone, gt);
	snprintf(want, sizeof want, "block %s of 'big.bin' is missing from the response", gt);
	ok(r.rc == HP_E_INVALID && strcmp(r.err.msg, want) == 0, "%s: a missing leaf: '%s'", profile, r.err.msg);
	bool others = true;
	for (size_t i = 0; i < p.nfiles; i++)
		if (i != big && !in_place(&p, &r, i))
			others = false;
	ok(others && absent(&r, "big.bin") && r.status[big] == HP_FETCH_MISSING,
	   "%s: ... big.bin is not in place, every other file is", profile);

	/* one file, by its own CID */
	size_t more = file_index(&p, "dir/sub/more.bin");
	blocks one = { 0 };
	dfs(&p.all, &p.files[more].cid, false, &one);
	run(p.m, &one, &p.files[more].cid, more, 0, &r);
	ok(r.rc == HP_OK && in_place(&p, &r, more) && absent(&r, "a.txt") && r.status[more] == HP_FETCH_FETCHED,
	   "%s: one file from its own CID, nothing else", profile);
	/* the whole CAR for one file: the rest is ignored */
	run(p.m, &once, &p.files[more].cid, more, 0, &r);
	ok(r.rc == HP_OK && in_place(&p, &r, more) && r.st.ignored > 0, "%s: ... out of the whole package", profile);

	free_blocks(&once);
	free_blocks(&reps);
	free_blocks(&rev);
	free_blocks(&mixed);
	free_blocks(&holed);
	free_blocks(&one);
	free_pkg(&p);
}

static void test_hamt(void)
{
	pkg p;
	make_pkg(&p, "unixfs-v1-2025", 1100);
	/* the folder "many" is sharded */
	const blk *root = find_blk(&p.all, &p.root);
	hp_pbnode node;
	hp_err e = HP_ERR_INIT;
	hp_dagpb_decode(root->data, root->len, &node, &e);
	const hp_pblink *many = NULL;
	for (size_t i = 0; i < node.nlinks; i++)
		if (node.links[i].name_len == 4 && memcmp(node.links[i].name, "many", 4) == 0)
			many = &node.links[i];
	const blk *mb = many ? find_blk(&p.all, &many->cid) : NULL;
	hp_pbnode mn;
	hp_unixfs_data d;
	memset(&d, 0, sizeof d);
	bool sharded = mb && hp_dagpb_decode(mb->data, mb->len, &mn, &e) == HP_OK &&
		       hp_unixfs_data_decode(mn.data, mn.data_len, &d, &e) == HP_OK && d.type == HP_UNIXFS_HAMT_SHARD;
	ok(sharded, "a folder of 1100 entries of 250 bytes is a HAMT shard");
	if (mb) {
		hp_pbnode_free(&mn);
		hp_unixfs_data_free(&d);
	}
	hp_pbnode_free(&node);
	blocks once = { 0 };
	dfs(&p.all, &p.root, false, &once);
	result r;
	run(p.m, &once, &p.root, SIZE_MAX, 0, &r);
	ok(r.rc == HP_OK && all_in_place(&p, &r), "through the HAMT: the 5 listed files of it in place (%s)", r.err.msg);
	ok(r.st.unlisted == 1095, "... the 1095 entries the manifest does not list are not written (%llu)",
	   (unsigned long long)r.st.unlisted);
	char path[512];
	snprintf(path, sizeof path, "%s/many", r.dir);
	size_t n = 0;
	DIR *dh = opendir(path);
	for (struct dirent *de; dh && (de = readdir(dh));)
		n += de->d_name[0] != '.';
	if (dh)
		closedir(dh);
	ok(n == 5, "... 'many' holds exactly 5 files (%zu)", n);
	free_blocks(&once);
	free_pkg(&p);
}

static void test_disagree(void)
{
	pkg p;
	make_pkg(&p, "unixfs-v0-2015", 0);
	blocks once = { 0 };
	dfs(&p.all, &p.root, false, &once);
	result r;
	size_t more = file_index(&p, "dir/sub/more.bin"), a = file_index(&p, "a.txt");

	json_t *m = manifest_of(&p, more, SIZE_MAX, SIZE_MAX);
	run(m, &once, &p.root, SIZE_MAX, 0, &r);
	ok(r.rc == HP_E_INVALID && strstr(r.err.msg, "'dir/sub/more.bin' has 262145 bytes in the DAG") &&
	   strstr(r.err.msg, "the manifest says 262146") && absent(&r, "dir/sub/more.bin") && in_place(&p, &r, a),
	   "a size the DAG does not have: that file fails before a byte is written (%s)", r.err.msg);
	json_decref(m);

	m = manifest_of(&p, SIZE_MAX, more, SIZE_MAX);
	run(m, &once, &p.root, SIZE_MAX, 0, &r);
	ok(r.rc == HP_E_INVALID && strstr(r.err.msg, "'dir/sub/more.bin' does not match: its SHA-256 is") &&
	   absent(&r, "dir/sub/more.bin") && in_place(&p, &r, a),
	   "a SHA-256 the bytes do not have: that file is not put in place (%s)", r.err.msg);
	json_decref(m);

	m = manifest_of(&p, SIZE_MAX, SIZE_MAX, more);
	run(m, &once, &p.root, SIZE_MAX, 0, &r);
	ok(r.rc == HP_E_INVALID && strstr(r.err.msg, "in the DAG, the manifest says") &&
	   absent(&r, "dir/sub/more.bin") && in_place(&p, &r, a),
	   "a folder entry whose CID is not the manifest's: not fetched (%s)", r.err.msg);
	json_decref(m);

	/* the root's block is a file's */
	run(p.m, &once, &p.files[a].cid, SIZE_MAX, 0, &r);
	ok(r.rc == HP_E_INVALID && strstr(r.err.msg, "the package root is a file in the DAG"),
	   "a root that is not a folder (%s)", r.err.msg);

	/* a file's root that is a folder */
	run(p.m, &once, &p.root, a, 0, &r);
	ok(r.rc == HP_E_INVALID && strstr(r.err.msg, "'a.txt' is a folder in the DAG"), "a file that is a folder (%s)",
	   r.err.msg);
	free_blocks(&once);
	free_pkg(&p);
}

static void test_writers(void)
{
	pkg p;
	make_pkg(&p, "unixfs-v1-2025", 0);
	char dir[256];
	hp_fetch *f = open_fetch(p.m, dir);
	hp_err e = HP_ERR_INIT;
	size_t a = file_index(&p, "a.txt"), more = file_index(&p, "dir/sub/more.bin");
	hp_fetch_out *w;

	ok(hp_fetch_out_open(f, a, &w, &e) == HP_OK, "a writer for a.txt");
	ok(hp_fetch_out_open(f, a, &(hp_fetch_out *){ NULL }, &e) == HP_E_USAGE && !hp_fetch_wanted(f, a),
	   "... a second one is refused while it is open");
	ok(hp_fetch_out_write(w, p.files[a].data, 5, &e) == HP_OK, "5 bytes");
	ok(hp_fetch_out_write(w, p.files[a].data + 5, 8, &e) == HP_E_INVALID &&
	   strcmp(e.msg, "'a.txt' is longer than the manifest's 12 bytes") == 0, "13 bytes of 12 refused: %s", e.msg);
	ok(hp_fetch_out_write(w, p.files[a].data + 5, 7, &e) == HP_OK && hp_fetch_out_commit(w, &e) == HP_OK &&
	   hp_fetch_file_status(f, a) == HP_FETCH_FETCHED, "the rest, committed");

	/* pieces in any order */
	size_t n = p.files[more].len;
	ok(hp_fetch_out_open(f, more, &w, &e) == HP_OK, "a writer for more.bin");
	ok(hp_fetch_out_pwrite(w, n - 10, p.files[more].data + n - 10, 11, &e) == HP_E_INVALID,
	   "a piece past the end refused: %s", e.msg);
	ok(hp_fetch_out_pwrite(w, 1000, p.files[more].data + 1000, n - 1000, &e) == HP_OK &&
	   hp_fetch_out_pwrite(w, 0, p.files[more].data, 1000, &e) == HP_OK, "two pieces, the last first");
	ok(hp_fetch_out_commit(w, &e) == HP_OK, "committed (hashed from the partial file)");

	/* a wrong piece: the SHA-256 fails, nothing at the final path */
	size_t big = file_index(&p, "big.bin");
	ok(hp_fetch_out_open(f, big, &w, &e) == HP_OK, "a writer for big.bin");
	uint8_t *bad = malloc(p.files[big].len);
	memcpy(bad, p.files[big].data, p.files[big].len);
	bad[12345] ^= 1;
	ok(hp_fetch_out_pwrite(w, 0, bad, p.files[big].len, &e) == HP_OK && hp_fetch_out_commit(w, &e) == HP_E_INVALID &&
	   strstr(e.msg, "'big.bin' does not match"), "one byte off: %s", e.msg);
	ok(hp_fetch_wanted(f, big), "... big.bin is wanted again");
	free(bad);

	/* an engine that writes the partial file itself */
	char name[80], path[512];
	hp_fetch_partial_name(f, big, name);
	snprintf(path, sizeof path, "%s/.hp-partial/%s", dir, name);
	ok(hp_write_file_atomic(path, p.files[big].data, p.files[big].len, 0644, 0, &e) == HP_OK &&
	   hp_fetch_adopt(f, big, &e) == HP_OK && hp_fetch_file_status(f, big) == HP_FETCH_FETCHED,
	   "adopted from %s", name);
	hp_fetch_free(f);

	/* the scan: what is in place is found, the rest is wanted */
	hp_fetch_opts o = { 0 };
	o.out_dir = dir;
	f = NULL;
	ok(hp_fetch_open_verified(p.m, &o, &f, &e) == HP_OK && hp_fetch_scan(f, &e) == HP_OK, "a second fetch, scanned");
	ok(hp_fetch_file_status(f, a) == HP_FETCH_PRESENT && hp_fetch_file_status(f, more) == HP_FETCH_PRESENT &&
	   hp_fetch_file_status(f, big) == HP_FETCH_PRESENT && hp_fetch_nwanted(f) == p.nfiles - 3,
	   "... 3 present, %zu wanted", hp_fetch_nwanted(f));
	ok(hp_fetch_find(f, "dir/sub/deep.txt", 16) != SIZE_MAX && hp_fetch_find(f, "dir/sub", 7) == SIZE_MAX &&
	   hp_fetch_is_dir(f, "dir/sub", 7) && hp_fetch_is_dir(f, "dir", 3) && !hp_fetch_is_dir(f, "di", 2) &&
	   !hp_fetch_is_dir(f, "a.txt", 5) && hp_fetch_is_dir(f, "", 0), "find and is_dir");
	/* a second fetch into the same folder is refused while this one holds it */
	hp_fetch *g = NULL;
	ok(hp_fetch_open_verified(p.m, &o, &g, &e) == HP_E_TEMPFAIL && g == NULL, "locked: %s", e.msg);
	/* with no source, the missing files fail */
	ok(hp_fetch_run(f, &e) == HP_E_UNAVAILABLE && strstr(e.msg, "no source to fetch from"), "no source: %s", e.msg);
	hp_fetch_free(f);
	free_pkg(&p);
}

/* hp_fetch_adopt_batch: one sync for many files; a file that does not
 * match, is missing or has a folder in its way is never renamed, the
 * others all are */
static void test_batch(void)
{
	pkg p;
	make_pkg(&p, "unixfs-v1-2025", 0);
	char dir[256];
	hp_fetch *f = open_fetch(p.m, dir);
	hp_err e = HP_ERR_INIT;
	size_t a = file_index(&p, "a.txt"), big = file_index(&p, "big.bin"), more = file_index(&p, "dir/sub/more.bin"),
	       deep = file_index(&p, "dir/sub/deep.txt");
	size_t *idx = calloc(p.nfiles + 1, sizeof *idx);
	hp_code *rcs = calloc(p.nfiles + 1, sizeof *rcs);
	/* digests taken by the source: the manifest's for most files (they are
	 * not read again), a wrong one for deep.txt (a shortcut, not a verdict:
	 * its bytes are read again, and they are right), none for big.bin (read
	 * back, one byte off) */
	const uint8_t **known = calloc(p.nfiles + 1, sizeof *known);
	static const uint8_t wrong[32] = { 1 };
	char name[80], path[512];
	size_t n = 0;
	for (size_t i = 0; i < p.nfiles; i++) {
		known[n] = i == deep ? wrong : i == big ? NULL : hp_fetch_file_at(f, i)->sha256;
		idx[n++] = i;
		if (i == more)
			continue;  /* no partial file */
		hp_fetch_partial_name(f, i, name);
		snprintf(path, sizeof path, "%s/.hp-partial/%s", dir, name);
		uint8_t *d = malloc(p.files[i].len + 1);
		memcpy(d, p.files[i].data, p.files[i].len);
		if (i == big)
			d[777] ^= 1;
		if (hp_write_file_atomic(path, d, p.files[i].len, 0644, 0, &e))
			ok(0, "cannot write %s: %s", path, e.msg);
		free(d);
	}
	idx[n++] = 0;  /* twice: the second is not wanted any more */
	snprintf(path, sizeof path, "%s/a.txt", dir);
	mkdir(path, 0755);  /* a folder in the way */
	ok(hp_fetch_adopt_batch(f, idx, known, n, rcs, &e) == HP_OK, "a batch of %zu files adopted", n);
	ok(rcs[big] == HP_E_INVALID && hp_fetch_wanted(f, big), "one byte off: invalid, wanted again");
	snprintf(path, sizeof path, "%s/big.bin", dir);
	struct stat st;
	ok(lstat(path, &st) < 0 && errno == ENOENT, "... and nothing at its final path");
	hp_fetch_partial_name(f, big, name);
	snprintf(path, sizeof path, "%s/.hp-partial/%s", dir, name);
	ok(lstat(path, &st) < 0 && errno == ENOENT, "... nor in the partial folder");
	ok(rcs[more] == HP_E_NOINPUT && hp_fetch_wanted(f, more), "no partial file: not found, wanted again");
	ok(rcs[a] == HP_E_CANTCREAT && hp_fetch_file_status(f, a) == HP_FETCH_FAILED && !hp_fetch_wanted(f, a),
	   "a folder in the way: failed for good");
	ok(rcs[n - 1] == HP_E_USAGE, "the same file twice: the second is not wanted");
	ok(rcs[deep] == HP_OK && hp_fetch_file_status(f, deep) == HP_FETCH_FETCHED,
	   "the source's digest differs from the manifest's: the file is read again, and it is right");
	size_t placed = 0, same = 0;
	for (size_t i = 0; i < p.nfiles; i++) {
		if (i == a || i == big || i == more)
			continue;
		placed += rcs[i] == HP_OK && hp_fetch_file_status(f, i) == HP_FETCH_FETCHED;
		hp_buf got = HP_BUF_INIT;
		snprintf(path, sizeof path, "%s/%s", dir, hp_fetch_file_at(f, i)->path);
		if (hp_read_file(path, SIZE_MAX, &got, &e) == HP_OK && got.len == p.files[i].len &&
		    memcmp(got.data, p.files[i].data, got.len) == 0)
			same++;
		hp_buf_release(&got);
	}
	ok(placed == p.nfiles - 3 && same == placed, "the other %zu files in place, byte for byte (%zu)", placed, same);
	ok(hp_fetch_adopt_batch(f, idx, NULL, 0, rcs, &e) == HP_OK, "an empty batch");
	hp_fetch_free(f);
	free(known);
	free(idx);
	free(rcs);
	free_pkg(&p);
}

static void test_bounds(void)
{
	for (size_t k = 0; k < 3; k++) {
		const hp_unixfs_profile *prof = hp_unixfs_profile_at(k);
		pkg p;
		make_pkg(&p, prof->name, k == 1 ? 1100 : 0);
		char dir[256];
		hp_fetch *f = open_fetch(p.m, dir);
		blocks reps = { 0 };
		dfs(&p.all, &p.root, true, &reps);
		uint64_t car = 60, total = 0;  /* the header */
		for (size_t i = 0; i < reps.n; i++) {
			uint8_t cb[HP_CID_MAX_BYTES];
			size_t cl = hp_cid_bytes(&reps.v[i].cid, cb);
			car += hp_varint_len(cl + reps.v[i].len) + cl + reps.v[i].len;
		}
		for (size_t i = 0; i < p.nfiles; i++)
			total += p.files[i].len;
		uint64_t max_bytes, max_blocks;
		hp_ipfs_bounds(f, SIZE_MAX, &max_bytes, &max_blocks);
		/* with a sharded folder of 1095 unlisted entries the DAG is far
		 * bigger than the manifest says: such a response is refused */
		if (k == 1)
			ok(car > max_bytes, "%s: a DAG with 1095 entries the manifest does not list is over the bound",
			   prof->name);
		else
			ok(car <= max_bytes && reps.n <= max_blocks && max_bytes - total < total / 20 + 131072,
			   "%s: the honest CAR with repeats (%llu bytes, %zu blocks) is within the bound (%llu, %llu) for "
			   "%llu bytes of files",
			   prof->name, (unsigned long long)car, reps.n, (unsigned long long)max_bytes,
			   (unsigned long long)max_blocks, (unsigned long long)total);
		free_blocks(&reps);
		hp_fetch_free(f);
		free_pkg(&p);
	}
}

int main(void)
{
	if (!mkdtemp(base)) {
		perror("mkdtemp");
		return 1;
	}
	test_orders("unixfs-v1-2025");
	test_orders("unixfs-v0-2015");
	test_orders("kubo-cid-v1");
	test_hamt();
	test_disagree();
	test_writers();
	test_batch();
	test_bounds();
	char cmd[300];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", base);
	if (system(cmd) != 0)
		printf("# cannot remove %s\n", base);
	return done();
}
