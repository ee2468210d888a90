/* hp_mkt and hp_unixfs_wrap: the canonical layout of a manifest's torrent, the
 * IPFS web-seed URL, and the one-entry wrapper directory against kubo's
 * answers (recorded with kubo 0.43.1: `ipfs add` of "hello world", then
 * `ipfs files mkdir [--cid-version 1] /w; ipfs files cp /ipfs/CID /w/NAME;
 * ipfs files stat --hash /w`; the v1 block from `ipfs block get`). */
#include <stdlib.h>
#include <string.h>

#include "hp_dagpb.h"
#include "hp_mkt.h"
#include "hp_unixfs.h"
#include "tap.h"

#include "banned.h"

static void test_layout(void)
{
	const char *name;
	const char *one[] = { "tool-1.0.tar.gz" };
	ok(hp_mkt_layout("tool", one, 1, &name), "one top-level file: a single-file torrent");
	is_str(name, "tool-1.0.tar.gz", "named by its path");
	const char *nested[] = { "dist/x.bin" };
	ok(!hp_mkt_layout("rel", nested, 1, &name), "one file in a folder: multi-file");
	is_str(name, "rel", "named by the manifest");
	const char *two[] = { "a", "b" };
	ok(!hp_mkt_layout("pkg", two, 2, &name), "two top-level files: multi-file");
	is_str(name, "pkg", "named by the manifest");
}

static void test_web_seed(void)
{
	char *u = hp_mkt_ipfs_web_seed("https://gw.example", "bafyX");
	is_str(u, "https://gw.example/ipfs/bafyX/", "gateway without a slash");
	free(u);
	u = hp_mkt_ipfs_web_seed("https://gw.example//", "Qm1");
	is_str(u, "https://gw.example/ipfs/Qm1/", "trailing slashes dropped");
	free(u);
	u = hp_mkt_ipfs_web_seed("http://127.0.0.1:8080/base/", "bafyY");
	is_str(u, "http://127.0.0.1:8080/base/ipfs/bafyY/", "a gateway with a path");
	free(u);
}

typedef struct got_block {
	int n;
	uint8_t data[256];
	size_t len;
	hp_cid cid;
} got_block;

static hp_code keep_block(void *ud, const hp_cid *cid, const uint8_t *data, size_t n, hp_err *e)
{
	got_block *g = ud;
	(void)e;
	g->n++;
	if (n <= sizeof g->data) {
		memcpy(g->data, data, n);
		g->len = n;
	}
	g->cid = *cid;
	return HP_OK;
}

static void wrap_case(const char *profile, const char *name, const char *want_file, const char *want_wrapper,
		      uint64_t want_dag)
{
	hp_err e = HP_ERR_INIT;
	const hp_unixfs_profile *p = hp_unixfs_profile_find(profile);
	hp_unixfs_node file, w;
	char t[HP_CID_MAX_TEXT];
	ok(p && !hp_unixfs_file_mem(p, "hello world", 11, NULL, NULL, &file, &e), "%s: file node", profile);
	hp_cid_text(&file.cid, t);
	is_str(t, want_file, "%s: the file's CID is kubo's", profile);
	got_block g = { 0 };
	ok(!hp_unixfs_wrap(p, name, strlen(name), &file, keep_block, &g, &w, &e), "%s: wrap: %s", profile, e.msg);
	hp_cid_text(&w.cid, t);
	is_str(t, want_wrapper, "%s: the wrapper's CID is kubo's", profile);
	is_int(w.dag_size, want_dag, "%s: its cumulative size is kubo's", profile);
	is_int(w.size, 11, "%s: content bytes", profile);
	is_int(g.n, 1, "%s: one block", profile);
	ok(hp_cid_equal(&g.cid, &w.cid), "%s: the block is the wrapper", profile);
	hp_pbnode n;
	if (ok(!hp_dagpb_decode(g.data, g.len, &n, &e), "%s: the block decodes", profile)) {
		is_int(n.nlinks, 1, "%s: one link", profile);
		ok(n.links[0].has_name && n.links[0].name_len == strlen(name) &&
			   memcmp(n.links[0].name, name, strlen(name)) == 0,
		   "%s: named %s", profile, name);
		ok(n.links[0].has_tsize && n.links[0].tsize == file.dag_size, "%s: Tsize = the child's DAG size",
		   profile);
		ok(hp_cid_equal(&n.links[0].cid, &file.cid), "%s: links to the file", profile);
		is_mem(n.data, n.data_len, "\x08\x01", 2, "%s: Data = {Type: Directory}", profile);
		hp_pbnode_free(&n);
	}
}

static void test_wrap(void)
{
	wrap_case("unixfs-v0-2015", "hello.txt", "Qmf412jQZiuVUtdgnB36FXFX7xg5V6KEbSJ4dpQuhkLyfD",
		  "QmNxvA5bwvPGgMXbmtyhxA1cKFdvQXnsGnZLCGor3AzYxJ", 74);
	wrap_case("unixfs-v1-2025", "pkg-1.0", "bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e",
		  "bafybeicbieopeqhf5ruq4o7nanodmeuc4hvnjlfpqo55ets3oaoybdicby", 66);

	/* the exact block kubo stores for the v1 wrapper */
	static const uint8_t kubo_block[] = {
		0x12, 0x31, 0x0a, 0x24, 0x01, 0x55, 0x12, 0x20, 0xb9, 0x4d, 0x27, 0xb9, 0x93, 0x4d, 0x3e, 0x08,
		0xa5, 0x2e, 0x52, 0xd7, 0xda, 0x7d, 0xab, 0xfa, 0xc4, 0x84, 0xef, 0xe3, 0x7a, 0x53, 0x80, 0xee,
		0x90, 0x88, 0xf7, 0xac, 0xe2, 0xef, 0xcd, 0xe9, 0x12, 0x07, 0x70, 0x6b, 0x67, 0x2d, 0x31, 0x2e,
		0x30, 0x18, 0x0b, 0x0a, 0x02, 0x08, 0x01,
	};
	hp_err e = HP_ERR_INIT;
	const hp_unixfs_profile *p = hp_unixfs_profile_find("unixfs-v1-2025");
	hp_unixfs_node file, w;
	got_block g = { 0 };
	hp_unixfs_file_mem(p, "hello world", 11, NULL, NULL, &file, &e);
	hp_unixfs_wrap(p, "pkg-1.0", 7, &file, keep_block, &g, &w, &e);
	is_mem(g.data, g.len, kubo_block, sizeof kubo_block, "unixfs-v1-2025: the wrapper block is kubo's byte for byte");

	/* names that cannot be one entry */
	ok(hp_unixfs_wrap(p, "a/b", 3, &file, NULL, NULL, &w, &e) == HP_E_DATA, "a name with '/' is refused");
	ok(hp_unixfs_wrap(p, "", 0, &file, NULL, NULL, &w, &e) == HP_E_DATA, "an empty name is refused");
	ok(hp_unixfs_wrap(p, "..", 2, &file, NULL, NULL, &w, &e) != HP_OK, "'..' is refused");
}

int main(void)
{
	test_layout();
	test_web_seed();
	test_wrap();
	return done();
}
