/* Fuzz the IPFS fetch walk (hp_ipfs_fetch) with hostile DAGs.
 *
 * The input is a CAR; its blocks (each checked against its CID by hp_car's
 * reader) go to a walk that starts at the CAR's first root, against a fixed
 * manifest (files "a", "b", "d/c", "d/e/f" of known contents), writing into
 * a scratch folder. The first byte picks the variant: the order the blocks
 * are fed in (as read, reversed), the store's memory (none: everything
 * spills; plenty), and where the walk starts (the root folder, one file, the
 * folders only). Checked after every run:
 *   - every regular file in the folder is one of the manifest's, with
 *     exactly its bytes (nothing unverified ever reaches a final path);
 *   - no partial file is left behind;
 *   - a walk that says every file was delivered has them all in place. */
#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <openssl/sha.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hp_car.h"
#include "hp_fetch_source.h"
#include "hp_io.h"
#include "hp_ipfs_fetch.h"
#include "hp_manifest.h"

#include "banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct {
	const char *path;
	const char *data;
} files[] = {
	{ "a", "" },
	{ "b", "abc" },
	{ "d/c", "hello" },
	{ "d/e/f", "x" },
};
#define NFILES (sizeof files / sizeof *files)

static json_t *manifest;
static char dir[64];

static void setup(void)
{
	if (manifest)
		return;
	json_t *fs = json_array();
	for (size_t i = 0; i < NFILES; i++) {
		uint8_t md[32];
		char hx[65];
		SHA256((const uint8_t *)files[i].data, strlen(files[i].data), md);
		for (int k = 0; k < 32; k++)
			snprintf(hx + 2 * k, 3, "%02x", md[k]);
		json_array_append_new(fs, json_pack("{s:s, s:I, s:s}", "path", files[i].path, "size",
						    (json_int_t)strlen(files[i].data), "sha256", hx));
	}
	hp_manifest_meta meta = { 0 };
	meta.name = "fuzz";
	meta.version = "1";
	meta.timestamp = "2026-01-01T00:00:00Z";
	meta.ipfs_cid = "bafybeiczsscdsbs7ffqz55asqdf3smv6klcw3gofszvwlyarci47bgf354";
	meta.ipfs_import = "unixfs-v0-2015";
	hp_err e = HP_ERR_INIT;
	if (hp_manifest_build(&meta, fs, &manifest, &e))
		abort();
	snprintf(dir, sizeof dir, "/tmp/hp-fuzz-ipfsfetch-%ld", (long)getpid());
}

typedef struct blocks {
	hp_cid *cid;
	uint8_t **data;
	size_t *len;
	size_t n;
	hp_cid root;
	bool has_root;
} blocks;

static hp_code on_header(void *ctx, const hp_cid *roots, size_t nroots, hp_err *e)
{
	blocks *b = ctx;
	(void)e;
	if (nroots) {
		b->root = roots[0];
		b->has_root = true;
	}
	return HP_OK;
}

static hp_code on_block(void *ctx, const hp_car_block *cb, hp_err *e)
{
	blocks *b = ctx;
	(void)e;
	if (b->n >= 4096)
		return HP_OK;
	b->cid = realloc(b->cid, (b->n + 1) * sizeof *b->cid);
	b->data = realloc(b->data, (b->n + 1) * sizeof *b->data);
	b->len = realloc(b->len, (b->n + 1) * sizeof *b->len);
	if (!b->cid || !b->data || !b->len)
		abort();
	b->cid[b->n] = *cb->cid;
	b->data[b->n] = malloc(cb->len ? cb->len : 1);
	if (!b->data[b->n])
		abort();
	memcpy(b->data[b->n], cb->data, cb->len);
	b->len[b->n] = cb->len;
	b->n++;
	return HP_OK;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag;
	if (ftw->level > 0)
		remove(path);
	return 0;
}

static int check_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)ftw;
	if (flag != FTW_F)
		return 0;
	const char *rel = path + strlen(dir) + 1;
	if (strncmp(rel, HP_FETCH_PARTIAL_DIR, strlen(HP_FETCH_PARTIAL_DIR)) == 0)
		abort();  /* a partial file left behind */
	for (size_t i = 0; i < NFILES; i++) {
		if (strcmp(rel, files[i].path) != 0)
			continue;
		hp_buf b = HP_BUF_INIT;
		if (hp_read_file(path, 1 << 20, &b, NULL) || b.len != strlen(files[i].data) ||
		    memcmp(b.data, files[i].data, b.len) != 0)
			abort();  /* an unverified byte at a final path */
		hp_buf_release(&b);
		return 0;
	}
	(void)st;
	abort();  /* a file the manifest does not list */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	setup();
	if (size < 1)
		return 0;
	uint8_t mode = data[0];
	blocks b;
	memset(&b, 0, sizeof b);
	hp_car_reader_opts o = HP_CAR_READER_OPTS_INIT;
	o.on_header = on_header;
	o.on_block = on_block;
	o.ctx = &b;
	o.max_total = 16u << 20;
	hp_err e = HP_ERR_INIT;
	hp_car_read_mem(data + 1, size - 1, &o, &e);
	if (!b.has_root && b.n)
		b.root = b.cid[0], b.has_root = true;
	if (b.has_root) {
		hp_fetch_opts fo = { 0 };
		fo.out_dir = dir;
		fo.jobs = 1;
		hp_fetch *f = NULL;
		if (hp_fetch_open_verified(manifest, &fo, &f, &e))
			abort();
		size_t start = SIZE_MAX;
		if ((mode & 3) == 1)
			start = (size_t)(mode >> 4) % NFILES;
		else if ((mode & 3) == 2)
			start = HP_IPFS_WALK_DIRS;
		hp_ipfs_walk *w;
		if (hp_ipfs_walk_new(f, &b.root, start, (mode & 4) ? 1 : 0, &w, &e))
			abort();
		hp_code rc = HP_OK;
		for (size_t k = 0; k < b.n && !rc; k++) {
			size_t i = (mode & 8) ? b.n - 1 - k : k;
			rc = hp_ipfs_walk_block(w, &b.cid[i], b.data[i], b.len[i], &e);
		}
		if (!rc)
			rc = hp_ipfs_walk_finish(w, &e);
		hp_ipfs_walk_free(w);
		if (rc == HP_OK && start != HP_IPFS_WALK_DIRS) {
			for (size_t i = 0; i < NFILES; i++)
				if ((start == SIZE_MAX || start == i) && hp_fetch_file_status(f, i) != HP_FETCH_FETCHED)
					abort();  /* said delivered, is not */
		}
		hp_fetch_free(f);
		nftw(dir, check_one, 16, FTW_PHYS);
		nftw(dir, rm_one, 16, FTW_PHYS | FTW_DEPTH);
	}
	for (size_t i = 0; i < b.n; i++)
		free(b.data[i]);
	free(b.cid);
	free(b.data);
	free(b.len);
	return 0;
}
