/* hp_unixfs and hp_dagpb: kubo's known answers (IPIP-499's fixtures among
 * them), the structure of the DAGs, the dag-pb and UnixFS codecs, and the
 * digest sink.
 *
 * The IPIP-499 contents are made here the way kubo's tests make them
 * (test/cli/testutils/random_deterministic.go): the ChaCha20 keystream with
 * key = SHA-256(seed), a zero 12-byte nonce and counter 0. OpenSSL's
 * EVP_chacha20 takes a 16-byte IV = counter (4 bytes, little-endian) ||
 * nonce (12 bytes), so here all zero.
 *
 * The two 1 GiB fixtures (unixfs-v1-2025, 1024 x 1 MiB and one byte more)
 * (2 GiB of keystream and hashing, a few seconds here) run only with
 * HP_CORPUS_BIG=1 (docs/unixfs.md). */
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hp_dagpb.h"
#include "hp_digest.h"
#include "hp_unixfs.h"
#include "tap.h"

#include "banned.h"

/* ---- the deterministic content ---- */

typedef struct stream {
	EVP_CIPHER_CTX *c;
} stream;

static void stream_open(stream *s, const char *seed)
{
	uint8_t key[32], iv[16] = { 0 };
	unsigned n;
	EVP_Digest(seed, strlen(seed), key, &n, EVP_sha256(), NULL);
	s->c = EVP_CIPHER_CTX_new();
	if (!s->c || !EVP_EncryptInit_ex(s->c, EVP_chacha20(), NULL, key, iv)) {
		fprintf(stderr, "no ChaCha20 in OpenSSL\n");
		exit(2);
	}
}

/* The next n bytes of the keystream. */
static void stream_read(stream *s, uint8_t *out, size_t n)
{
	static const uint8_t zero[65536];
	while (n) {
		int k = (int)(n < sizeof zero ? n : sizeof zero), got = 0;
		EVP_EncryptUpdate(s->c, out, &got, zero, k);
		out += k;
		n -= (size_t)k;
	}
}

static void stream_close(stream *s)
{
	EVP_CIPHER_CTX_free(s->c);
}

/* ---- helpers ---- */

typedef struct blocks {
	size_t n;
	uint64_t bytes;
	bool verified;  /* every block hashes to its CID */
	hp_cid last;
	uint8_t *keep;  /* a copy of the last block, when set */
	size_t keep_len;
} blocks;

#define BLOCKS_INIT { 0, 0, true, { 0 }, NULL, 0 }

static hp_code count_block(void *ud, const hp_cid *cid, const uint8_t *data, size_t n, hp_err *e)
{
	blocks *b = ud;
	(void)e;
	b->n++;
	b->bytes += n;
	if (!hp_cid_matches(cid, data, n))
		b->verified = false;
	b->last = *cid;
	if (b->keep) {
		free(b->keep);
		b->keep = malloc(n ? n : 1);
		memcpy(b->keep, data, n);
		b->keep_len = n;
	}
	return HP_OK;
}

static const hp_unixfs_profile *prof(const char *name)
{
	const hp_unixfs_profile *p = hp_unixfs_profile_find(name);
	if (!p) {
		fprintf(stderr, "no profile %s\n", name);
		exit(2);
	}
	return p;
}

static void cid_text(const hp_unixfs_node *n, char *out)
{
	hp_cid_text(&n->cid, out);
}

/* The file of size bytes from seed, through a file builder fed in
 * pieces of piece bytes; its root as text. */
static hp_code seeded_file(const char *profile, const char *seed, uint64_t size, size_t piece, char *out,
			   hp_unixfs_node *node, blocks *bl)
{
	const hp_unixfs_profile *p = prof(profile);
	hp_unixfs_file *f;
	hp_err e = HP_ERR_INIT;
	stream s;
	uint8_t *buf = malloc(piece);
	hp_code rc = hp_unixfs_file_new(p, bl ? count_block : NULL, bl, &f, &e);
	stream_open(&s, seed);
	for (uint64_t done = 0; !rc && done < size;) {
		size_t k = size - done < piece ? (size_t)(size - done) : piece;
		stream_read(&s, buf, k);
		rc = hp_unixfs_file_update(f, buf, k, &e);
		done += k;
	}
	if (!rc)
		rc = hp_unixfs_file_finish(f, node, &e);
	if (!rc)
		cid_text(node, out);
	else
		printf("# %s\n", e.msg);
	hp_unixfs_file_free(f);
	stream_close(&s);
	free(buf);
	return rc;
}

static void check_seeded(const char *profile, const char *seed, uint64_t size, const char *want)
{
	char got[HP_CID_MAX_TEXT] = "";
	hp_unixfs_node n;
	blocks bl = BLOCKS_INIT;
	ok(seeded_file(profile, seed, size, 1000003, got, &n, &bl) == HP_OK, "%s: %llu bytes of '%s'", profile,
	   (unsigned long long)size, seed);
	is_str(got, want, "%s: %llu bytes of '%s'", profile, (unsigned long long)size, seed);
	ok(n.size == size && bl.verified && hp_cid_equal(&bl.last, &n.cid), "%s: %zu blocks, each its CID, root last",
	   profile, bl.n);
}

static void check_mem(const char *profile, const char *data, size_t n, const char *want)
{
	hp_unixfs_node node;
	hp_err e = HP_ERR_INIT;
	char got[HP_CID_MAX_TEXT] = "";
	if (hp_unixfs_file_mem(prof(profile), data, n, NULL, NULL, &node, &e) == HP_OK)
		cid_text(&node, got);
	is_str(got, want, "%s: %zu bytes '%.20s'", profile, n, data);
}

/* ---- known answers ---- */

static void test_small(void)
{
	check_mem("unixfs-v0-2015", "hello world", 11, "Qmf412jQZiuVUtdgnB36FXFX7xg5V6KEbSJ4dpQuhkLyfD");
	check_mem("unixfs-v1-2025", "hello world", 11, "bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e");
	check_mem("kubo-cid-v1", "hello world", 11, "bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e");
	check_mem("unixfs-v0-2015", "", 0, "QmbFMke1KXqnYyBBWxB74N4c5SBnJMVAiMNRcGu6x1AwQH");
	check_mem("unixfs-v1-2025", "", 0, "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku");
	check_mem("kubo-cid-v1", "", 0, "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku");

	/* the empty file's dag-pb block: 0a 04 08 02 18 00 */
	blocks bl = BLOCKS_INIT;
	hp_unixfs_node node;
	hp_unixfs_file_mem(prof("unixfs-v0-2015"), "", 0, count_block, &bl, &node, NULL);
	ok(bl.n == 1 && bl.bytes == 6 && node.dag_size == 6 && node.size == 0, "empty v0 file: one 6-byte block");

	static const char *const empty_dir[][2] = {
		{ "unixfs-v0-2015", "QmUNLLsPACCz1vLxQVkXqqLX5R1X345qqfHbsf67hvA3Nn" },
		{ "unixfs-v1-2025", "bafybeiczsscdsbs7ffqz55asqdf3smv6klcw3gofszvwlyarci47bgf354" },
		{ "kubo-cid-v1", "bafybeiczsscdsbs7ffqz55asqdf3smv6klcw3gofszvwlyarci47bgf354" },
	};
	for (size_t i = 0; i < 3; i++) {
		hp_unixfs_tree *t;
		hp_unixfs_node root;
		char got[HP_CID_MAX_TEXT] = "";
		hp_err e = HP_ERR_INIT;
		if (hp_unixfs_tree_new(prof(empty_dir[i][0]), &t, &e) == HP_OK &&
		    hp_unixfs_tree_build(t, NULL, NULL, NULL, NULL, &root, &e) == HP_OK)
			cid_text(&root, got);
		is_str(got, empty_dir[i][1], "%s: the empty directory", empty_dir[i][0]);
		ok(root.dag_size == 4 && root.size == 0, "the empty directory is 4 bytes");
		hp_unixfs_tree_free(t);
	}
}

/* IPIP-499's file fixtures (kubo test/cli/cid_profiles_test.go). */
static void test_ipip_files(void)
{
	check_seeded("unixfs-v0-2015", "chunk-v0-seed", 262144, "QmWmRj3dFDZdb6ABvbmKhEL6TmPbAfBZ1t5BxsEyJrcZhE");
	check_seeded("unixfs-v0-2015", "chunk-v0-seed", 262145, "QmYyLxtzZyW22zpoVAtKANLRHpDjZtNeDjQdJrcQNWoRkJ");
	check_seeded("unixfs-v0-2015", "v0-seed", 174ull * 262144, "QmUbBALi174SnogsUzLpYbD4xPiBSFANF4iztWCsHbMKh2");
	check_seeded("unixfs-v0-2015", "v0-seed", 174ull * 262144 + 1,
		     "QmV81WL765sC8DXsRhE5fJv2rwhS4icHRaf3J9Zk5FdRnW");
	check_seeded("unixfs-v1-2025", "chunk-v1-seed", 1048576,
		     "bafkreiacndfy443ter6qr2tmbbdhadvxxheowwf75s6zehscklu6ezxmta");
	check_seeded("unixfs-v1-2025", "chunk-v1-seed", 1048577,
		     "bafybeigmix7t42i6jacydtquhet7srwvgpizfg7gjbq7627d35mjomtu64");
	if (getenv("HP_CORPUS_BIG") && strcmp(getenv("HP_CORPUS_BIG"), "1") == 0) {
		check_seeded("unixfs-v1-2025", "v1-2025-seed", 1024ull * 1048576,
			     "bafybeihmf37wcuvtx4hpu7he5zl5qaf2ineo2lqlfrapokkm5zzw7zyhvm");
		check_seeded("unixfs-v1-2025", "v1-2025-seed", 1024ull * 1048576 + 1,
			     "bafybeibdsi225ugbkmpbdohnxioyab6jsqrmkts3twhpvfnzp77xtzpyhe");
	}
}

/* The structure kubo's tests check: links at the root, blocks in all. */
static void test_structure(void)
{
	/* 175 chunks of 256 KiB: a root with 2 links (174 leaves, 1 leaf): 178 blocks */
	char got[HP_CID_MAX_TEXT];
	hp_unixfs_node n;
	blocks bl = BLOCKS_INIT;
	seeded_file("unixfs-v0-2015", "v0-seed", 174ull * 262144 + 1, 65536, got, &n, &bl);
	is_int(bl.n, 178, "174 x 256 KiB + 1 (v0): 178 blocks");

	/* v1 1 MiB + 1: 2 raw leaves and the root */
	bl = (blocks)BLOCKS_INIT;
	seeded_file("unixfs-v1-2025", "chunk-v1-seed", 1048577, 4096, got, &n, &bl);
	is_int(bl.n, 3, "1 MiB + 1 (v1-2025): 3 blocks");
	/* dag_size = the leaves (1048576 + 1) + the root's block */
	ok(n.dag_size > 1048577 && n.dag_size < 1048577 + 200, "dag_size is the leaves and the root (%llu)",
	   (unsigned long long)n.dag_size);

	/* kubo-cid-v1: 256 KiB chunks, raw leaves, 174 links */
	bl = (blocks)BLOCKS_INIT;
	seeded_file("kubo-cid-v1", "x", 3 * 262144 + 5, 9999, got, &n, &bl);
	is_int(bl.n, 5, "kubo-cid-v1, 3 x 256 KiB + 5: 4 raw leaves and a root");
	ok(n.cid.version == 1 && n.cid.codec == HP_MC_DAG_PB, "kubo-cid-v1: a CIDv1 dag-pb root");
}

/* The same bytes in any pieces give the same root, with or without
 * helper threads. */
static void test_split(void)
{
	static const char *const names[] = { "unixfs-v0-2015", "unixfs-v1-2025", "kubo-cid-v1" };
	static const size_t pieces[] = { 1, 7, 4096, 65537, 262144, 1048576 };
	const uint64_t size = 3 * 1048576 + 12345;
	for (size_t i = 0; i < 3; i++) {
		char first[HP_CID_MAX_TEXT] = "", got[HP_CID_MAX_TEXT];
		hp_unixfs_node n;
		int same = 1;
		for (size_t k = 0; k < sizeof pieces / sizeof *pieces; k++) {
			if (pieces[k] == 1 && i > 0)
				continue;  /* one byte at a time once is enough */
			if (seeded_file(names[i], "split", size, pieces[k], got, &n, NULL) != HP_OK)
				same = 0;
			if (!first[0])
				memcpy(first, got, sizeof got);
			else if (strcmp(first, got) != 0)
				same = 0;
		}
		ok(same, "%s: the same root for pieces of 1 byte to 1 MiB (%s)", names[i], first);
	}
}

/* ---- directories ---- */

static const char alphabet_easy[] = "abcdefghijklmnopqrstuvwxyz01234567890-_";

/* kubo's createDeterministicFiles: nfiles names drawn from the seed's
 * keystream (the last one last_len long), each file holding "x". */
static void check_ipip_dir(const char *profile, const char *seed, size_t nfiles, size_t len, size_t last_len,
			   const char *want, int want_type)
{
	const hp_unixfs_profile *p = prof(profile);
	hp_unixfs_node x;
	hp_err e = HP_ERR_INIT;
	hp_unixfs_tree *t;
	stream s;
	hp_unixfs_file_mem(p, "x", 1, NULL, NULL, &x, &e);
	hp_unixfs_tree_new(p, &t, &e);
	stream_open(&s, seed);
	hp_code rc = HP_OK;
	for (size_t i = 0; i < nfiles && !rc; i++) {
		size_t n = i == nfiles - 1 ? last_len : len;
		uint8_t raw[64];
		char name[64];
		stream_read(&s, raw, n);
		for (size_t k = 0; k < n; k++)
			name[k] = alphabet_easy[raw[k] % (sizeof alphabet_easy - 1)];
		rc = hp_unixfs_tree_add_file(t, name, n, &x, &e);
	}
	stream_close(&s);
	hp_unixfs_node root;
	blocks bl = BLOCKS_INIT;
	bl.keep = malloc(1);
	char got[HP_CID_MAX_TEXT] = "";
	if (!rc)
		rc = hp_unixfs_tree_build(t, count_block, &bl, NULL, NULL, &root, &e);
	if (!rc)
		cid_text(&root, got);
	is_str(got, want, "%s: %zu files named from '%s' (%s)", profile, nfiles, seed, e.msg);
	ok(bl.verified && bl.n >= 1 && hp_cid_equal(&bl.last, &root.cid), "%s: %zu directory blocks, root last",
	   profile, bl.n);
	hp_unixfs_tree_free(t);

	/* the root's UnixFS type: 1 (basic) or 5 (HAMT shard) */
	hp_pbnode pn;
	hp_unixfs_data ud;
	int type = -1;
	size_t nlinks = 0;
	if (hp_dagpb_decode(bl.keep, bl.keep_len, &pn, &e) == HP_OK) {
		nlinks = pn.nlinks;
		if (pn.has_data && hp_unixfs_data_decode(pn.data, pn.data_len, &ud, &e) == HP_OK) {
			type = (int)ud.type;
			if (type == HP_UNIXFS_HAMT_SHARD)
				ok(ud.fanout == 256 && ud.hash_type == 0x22 && ud.has_data, "HAMT root: fanout 256, murmur3");
			hp_unixfs_data_free(&ud);
		}
		hp_pbnode_free(&pn);
	}
	is_int(type, want_type, "%s: root of type %d with %zu links", profile, want_type, nlinks);
	if (want_type == HP_UNIXFS_DIRECTORY)
		is_int(nlinks, nfiles, "a basic directory links every file");
	free(bl.keep);
}

static void test_ipip_dirs(void)
{
	/* links estimation: 4096 x (30 + 34) = 262144 stays basic; 4033 x (31 + 34) = 262145 shards */
	check_ipip_dir("unixfs-v0-2015", "hamt-unixfs-v0-2015", 4096, 30, 30,
		       "QmX5GtRk3TSSEHtdrykgqm4eqMEn3n2XhfkFAis5fjyZmN", 1);
	check_ipip_dir("unixfs-v0-2015", "hamt-unixfs-v0-2015", 4033, 31, 31,
		       "QmeMiJzmhpJAUgynAcxTQYek5PPKgdv3qEvFsdV3XpVnvP", 5);
	/* block estimation: 4765 x 55 + 65 + 4 = 262144 stays basic; + 1 shards */
	check_ipip_dir("unixfs-v1-2025", "hamt-unixfs-v1-2025", 4766, 11, 21,
		       "bafybeic3h7rwruealwxkacabdy45jivq2crwz6bufb5ljwupn36gicplx4", 1);
	check_ipip_dir("unixfs-v1-2025", "hamt-unixfs-v1-2025", 4766, 11, 22,
		       "bafybeiegvuterwurhdtkikfhbxcldohmxp566vpjdofhzmnhv6o4freidu", 5);
}

typedef struct dirlog {
	char order[512];
} dirlog;

static hp_code log_dir(void *ud, const char *path, size_t n, const hp_unixfs_node *node, hp_err *e)
{
	dirlog *d = ud;
	(void)node;
	(void)e;
	size_t k = strlen(d->order);
	snprintf(d->order + k, sizeof d->order - k, "[%.*s]", (int)n, path);
	return HP_OK;
}

static void test_tree(void)
{
	const hp_unixfs_profile *p = prof("unixfs-v1-2025");
	hp_unixfs_node x, root;
	hp_err e = HP_ERR_INIT;
	hp_unixfs_file_mem(p, "x", 1, NULL, NULL, &x, &e);

	/* children before parents, siblings in name order, root last */
	hp_unixfs_tree *t;
	hp_unixfs_tree_new(p, &t, &e);
	static const char *const files[] = { "b/z", "a-", "a/b/c", "a/d", "a/b-c" };
	for (size_t i = 0; i < 5; i++)
		hp_unixfs_tree_add_file(t, files[i], strlen(files[i]), &x, &e);
	hp_unixfs_tree_add_dir(t, "e/f", 3, &e);
	hp_unixfs_tree_add_dir(t, "e/f", 3, &e);
	dirlog log = { "" };
	ok(hp_unixfs_tree_build(t, NULL, NULL, log_dir, &log, &root, &e) == HP_OK, "a nested tree builds");
	is_str(log.order, "[a/b][a][b][e/f][e][]", "directories: post-order, in name order");
	is_int(root.size, 5, "the root holds 5 bytes of files");
	ok(hp_unixfs_tree_build(t, NULL, NULL, NULL, NULL, &root, &e) == HP_E_USAGE, "a tree builds once");
	hp_unixfs_tree_free(t);

	/* the same tree, added in another order, gives the same root */
	hp_unixfs_node root2;
	hp_unixfs_tree_new(p, &t, &e);
	for (size_t i = 5; i-- > 0;)
		hp_unixfs_tree_add_file(t, files[i], strlen(files[i]), &x, &e);
	hp_unixfs_tree_add_dir(t, "e/f", 3, &e);
	hp_unixfs_tree_build(t, NULL, NULL, NULL, NULL, &root2, &e);
	ok(hp_cid_equal(&root.cid, &root2.cid), "the order of adding does not matter");
	hp_unixfs_tree_free(t);

	/* names used twice */
	hp_unixfs_tree_new(p, &t, &e);
	hp_unixfs_tree_add_file(t, "a/b", 3, &x, &e);
	hp_unixfs_tree_add_file(t, "a", 1, &x, &e);
	hp_err e2 = HP_ERR_INIT;
	ok(hp_unixfs_tree_build(t, NULL, NULL, NULL, NULL, &root, &e2) == HP_E_DATA && strstr(e2.msg, "two entries"),
	   "a file and a directory of one name: %s", e2.msg);
	hp_unixfs_tree_free(t);

	/* bad paths */
	static const char *const bad[] = { "", "/a", "a/", "a//b", "./a", "a/..", "." };
	hp_unixfs_tree_new(p, &t, &e);
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		hp_err e3 = HP_ERR_INIT;
		ok(hp_unixfs_tree_add_file(t, bad[i], strlen(bad[i]), &x, &e3) == HP_E_DATA, "file path '%s' refused",
		   bad[i]);
	}
	ok(hp_unixfs_tree_add_dir(t, "a\0b", 3, &e) == HP_E_DATA, "NUL in a path refused");
	ok(hp_unixfs_tree_add_dir(t, "", 0, &e) == HP_OK, "the root directory may be added");
	hp_unixfs_tree_free(t);

	/* a directory with a non-UTF-8 name and the byte order of names */
	hp_unixfs_tree_new(p, &t, &e);
	hp_unixfs_tree_add_file(t, "\xff", 1, &x, &e);
	hp_unixfs_tree_add_file(t, "B", 1, &x, &e);
	hp_unixfs_tree_add_file(t, "a", 1, &x, &e);
	blocks bl = BLOCKS_INIT;
	hp_unixfs_tree_build(t, count_block, &bl, NULL, NULL, &root, &e);
	hp_unixfs_tree_free(t);
	ok(bl.n == 1 && bl.verified, "one directory block");
}

/* Decode a directory's block and check its links are sorted. */
static void test_dir_block(void)
{
	const hp_unixfs_profile *p = prof("unixfs-v0-2015");
	hp_unixfs_node x, root;
	hp_err e = HP_ERR_INIT;
	hp_unixfs_file_mem(p, "x", 1, NULL, NULL, &x, &e);
	hp_unixfs_tree *t;
	hp_unixfs_tree_new(p, &t, &e);
	hp_unixfs_tree_add_file(t, "b", 1, &x, &e);
	hp_unixfs_tree_add_file(t, "A", 1, &x, &e);
	hp_unixfs_tree_add_file(t, "a", 1, &x, &e);
	blocks bl = BLOCKS_INIT;
	bl.keep = malloc(1);
	hp_code rc = hp_unixfs_tree_build(t, count_block, &bl, NULL, NULL, &root, &e);
	hp_unixfs_tree_free(t);
	hp_pbnode pn;
	ok(rc == HP_OK && hp_dagpb_decode(bl.keep, bl.keep_len, &pn, &e) == HP_OK && pn.nlinks == 3,
	   "a small v0 directory decodes");
	ok(pn.nlinks == 3 && pn.links[0].name_len == 1 && pn.links[0].name[0] == 'A' && pn.links[1].name[0] == 'a' &&
		   pn.links[2].name[0] == 'b' && pn.links[0].tsize == x.dag_size && pn.has_data && pn.data_len == 2,
	   "links sorted bytewise (A, a, b), Tsize of each file, Data 08 01");
	ok(root.dag_size == bl.keep_len + 3 * x.dag_size, "dag_size = block + the files' sizes");
	hp_pbnode_free(&pn);
	free(bl.keep);
}

/* ---- dag-pb ---- */

static void test_dagpb(void)
{
	hp_cid c;
	hp_err e = HP_ERR_INIT;
	hp_cid_parse_text("bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e", &c, &e);
	uint8_t cb[HP_CID_MAX_BYTES];
	size_t cl = hp_cid_bytes(&c, cb);
	hp_pblink links[2] = { { cb, cl, "", 0, 11, true, true, { 0 } }, { cb, cl, "name", 4, 0, true, false, { 0 } } };
	static const uint8_t data[] = { 0x08, 0x01 };
	hp_pbnode n = { links, 2, data, 2, true };
	hp_buf b = HP_BUF_INIT;
	ok(hp_dagpb_encode(&n, &b, &e) == HP_OK, "encode a node");
	is_int(b.len, hp_dagpb_encoded_len(&n), "encoded length as computed");
	ok((uint8_t)b.data[0] == 0x12 && (uint8_t)b.data[b.len - 4] == 0x0a, "links first, then Data");
	hp_pbnode d;
	ok(hp_dagpb_decode((const uint8_t *)b.data, b.len, &d, &e) == HP_OK, "decode it (%s)", e.msg);
	ok(d.nlinks == 2 && d.links[0].has_name && d.links[0].name_len == 0 && d.links[0].tsize == 11 &&
		   d.links[1].name_len == 4 && !d.links[1].has_tsize && hp_cid_equal(&d.links[0].cid, &c) &&
		   d.has_data && d.data_len == 2,
	   "the decoded fields");
	hp_buf r = HP_BUF_INIT;
	hp_dagpb_encode(&d, &r, &e);
	is_mem(r.data, r.len, b.data, b.len, "re-encodes to the same bytes");
	hp_pbnode_free(&d);
	hp_buf_release(&r);

	ok(hp_dagpb_decode((const uint8_t *)"", 0, &d, &e) == HP_OK && d.nlinks == 0 && !d.has_data,
	   "the empty block is a node with no links and no Data");
	static const uint8_t empty_data[] = { 0x0a, 0x00 };
	ok(hp_dagpb_decode(empty_data, 2, &d, &e) == HP_OK && d.has_data && d.data_len == 0, "empty Data");

	/* refused */
	static const struct {
		const char *what;
		uint8_t b[48];
		size_t n;
	} bad[] = {
		{ "Data before Links", { 0x0a, 0x00, 0x12, 0x06, 0x0a, 0x04, 0x01, 0x55, 0x00, 0x00 }, 10 },
		{ "two Data", { 0x0a, 0x00, 0x0a, 0x00 }, 4 },
		{ "unknown PBNode field 3", { 0x1a, 0x00 }, 2 },
		{ "Data with wire type 0", { 0x08, 0x00 }, 2 },
		{ "Links with wire type 0", { 0x10, 0x00 }, 2 },
		{ "truncated Data", { 0x0a, 0x05, 0x00 }, 3 },
		{ "link without Hash", { 0x12, 0x02, 0x18, 0x01 }, 4 },
		{ "link Hash not a CID", { 0x12, 0x04, 0x0a, 0x02, 0x12, 0x20 }, 6 },
		{ "link Name before Hash",
		  { 0x12, 0x0a, 0x12, 0x00, 0x0a, 0x06, 0x01, 0x55, 0x00, 0x02, 0xab, 0xcd }, 12 },
		{ "link Tsize with wire type 2", { 0x12, 0x0a, 0x0a, 0x04, 0x01, 0x55, 0x00, 0x00, 0x1a, 0x00 }, 10 },
		{ "unknown link field 4", { 0x12, 0x08, 0x0a, 0x04, 0x01, 0x55, 0x00, 0x00, 0x20, 0x00 }, 10 },
		{ "two Names", { 0x12, 0x0a, 0x0a, 0x04, 0x01, 0x55, 0x00, 0x00, 0x12, 0x00, 0x12, 0x00 }, 12 },
		{ "Hash with trailing bytes", { 0x12, 0x07, 0x0a, 0x05, 0x01, 0x55, 0x00, 0x00, 0x00 }, 9 },
		{ "overlong length", { 0x0a, 0x80, 0x00 }, 3 },
		{ "overlong key", { 0x8a, 0x00, 0x00 }, 3 },
		{ "varint over 10 bytes",
		  { 0x12, 0x0e, 0x0a, 0x04, 0x01, 0x55, 0x00, 0x00, 0x18, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		    0xff, 0x02 }, 19 },
		{ "link length past the end", { 0x12, 0x09, 0x0a, 0x04, 0x01, 0x55, 0x00, 0x00 }, 8 },
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		hp_err e2 = HP_ERR_INIT;
		ok(hp_dagpb_decode(bad[i].b, bad[i].n, &d, &e2) == HP_E_DATA && d.links == NULL,
		   "dag-pb refuses: %s (%s)", bad[i].what, e2.msg);
	}
	uint8_t *big = calloc(1, HP_DAGPB_MAX_BLOCK + 1);
	ok(hp_dagpb_decode(big, HP_DAGPB_MAX_BLOCK + 1, &d, &e) == HP_E_DATA, "a block over 2 MiB is refused");
	free(big);
	hp_buf_release(&b);

	/* the identity link CID: 01 55 00 00 = bafkqaaa */
	static const uint8_t idl[] = { 0x12, 0x06, 0x0a, 0x04, 0x01, 0x55, 0x00, 0x00 };
	ok(hp_dagpb_decode(idl, sizeof idl, &d, &e) == HP_OK && d.nlinks == 1 && d.links[0].cid.hash == 0,
	   "a link to an identity CID, with no Name or Tsize");
	hp_pbnode_free(&d);
}

/* ---- UnixFS Data ---- */

static void test_data(void)
{
	uint64_t bs[3] = { 262144, 262144, 7 };
	hp_unixfs_data d = { 0 };
	d.type = HP_UNIXFS_FILE;
	d.filesize = 524295;
	d.has_filesize = true;
	d.blocksizes = bs;
	d.nblocksizes = 3;
	hp_buf b = HP_BUF_INIT;
	hp_err e = HP_ERR_INIT;
	ok(hp_unixfs_data_encode(&d, &b, &e) == HP_OK, "encode File data");
	static const uint8_t want[] = { 0x08, 0x02, 0x18, 0x87, 0x80, 0x20, 0x20, 0x80, 0x80, 0x10,
					0x20, 0x80, 0x80, 0x10, 0x20, 0x07 };
	is_mem(b.data, b.len, want, sizeof want, "File data bytes (blocksizes not packed)");
	hp_unixfs_data x;
	ok(hp_unixfs_data_decode((const uint8_t *)b.data, b.len, &x, &e) == HP_OK && x.type == HP_UNIXFS_FILE &&
		   x.filesize == 524295 && x.nblocksizes == 3 && x.blocksizes[2] == 7,
	   "decode it");
	hp_unixfs_data_free(&x);
	hp_buf_release(&b);

	/* everything, mtime before 1970 included */
	hp_unixfs_data a = { 0 };
	a.type = HP_UNIXFS_HAMT_SHARD;
	a.data = (const uint8_t *)"\x01\x02";
	a.data_len = 2;
	a.has_data = true;
	a.hash_type = 0x22;
	a.has_hash_type = true;
	a.fanout = 256;
	a.has_fanout = true;
	a.mode = 0755;
	a.has_mode = true;
	a.mtime_seconds = -5;
	a.has_mtime = true;
	a.mtime_nanos = 999999999;
	a.has_mtime_nanos = true;
	hp_unixfs_data_encode(&a, &b, &e);
	ok(hp_unixfs_data_decode((const uint8_t *)b.data, b.len, &x, &e) == HP_OK && x.mtime_seconds == -5 &&
		   x.mtime_nanos == 999999999 && x.mode == 0755 && x.fanout == 256 && x.hash_type == 0x22 &&
		   x.data_len == 2,
	   "every field round trips (%s)", e.msg);
	hp_buf r = HP_BUF_INIT;
	hp_unixfs_data_encode(&x, &r, &e);
	is_mem(r.data, r.len, b.data, b.len, "re-encodes to the same bytes");
	hp_unixfs_data_free(&x);
	hp_buf_release(&b);
	hp_buf_release(&r);

	static const uint8_t packed[] = { 0x08, 0x02, 0x22, 0x03, 0x01, 0x80, 0x01 };
	ok(hp_unixfs_data_decode(packed, sizeof packed, &x, &e) == HP_OK && x.nblocksizes == 2 &&
		   x.blocksizes[1] == 128,
	   "packed blocksizes are read");
	hp_unixfs_data_free(&x);

	static const struct {
		const char *what;
		uint8_t b[16];
		size_t n;
	} bad[] = {
		{ "no Type", { 0x18, 0x00 }, 2 },
		{ "Type 6", { 0x08, 0x06 }, 2 },
		{ "two Types", { 0x08, 0x02, 0x08, 0x02 }, 4 },
		{ "unknown field 9", { 0x08, 0x02, 0x48, 0x00 }, 4 },
		{ "Data as a varint", { 0x08, 0x02, 0x10, 0x00 }, 4 },
		{ "filesize as bytes", { 0x08, 0x02, 0x1a, 0x00 }, 4 },
		{ "nanos of 10^9", { 0x08, 0x02, 0x42, 0x07, 0x08, 0x00, 0x15, 0x00, 0xca, 0x9a, 0x3b }, 11 },
		{ "mtime without seconds", { 0x08, 0x02, 0x42, 0x00 }, 4 },
		{ "overlong varint", { 0x08, 0x82, 0x00 }, 3 },
		{ "truncated Data", { 0x08, 0x02, 0x12, 0x04, 0x00 }, 5 },
		{ "mode over 32 bits", { 0x08, 0x02, 0x38, 0x80, 0x80, 0x80, 0x80, 0x10 }, 8 },
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		hp_err e2 = HP_ERR_INIT;
		ok(hp_unixfs_data_decode(bad[i].b, bad[i].n, &x, &e2) == HP_E_DATA && x.blocksizes == NULL,
		   "UnixFS Data refuses: %s (%s)", bad[i].what, e2.msg);
	}
}

static void test_murmur3(void)
{
	ok(hp_murmur3_x64_64("", 0) == 0, "murmur3 of nothing is 0");
	ok(hp_murmur3_x64_64("hello", 5) == 0xcbd8a7b341bd9b02ULL, "murmur3 'hello'");
}

/* ---- the sink, through hp_digest ---- */

static void test_sink(void)
{
	const hp_unixfs_profile *p = prof("unixfs-v0-2015");
	char path[] = "/tmp/hp-unixfs-XXXXXX";
	int fd = mkstemp(path);
	uint8_t *buf = malloc(174u * 262144 + 1);
	stream s;
	stream_open(&s, "v0-seed");
	stream_read(&s, buf, 174u * 262144 + 1);
	stream_close(&s);
	ok(fd >= 0 && write(fd, buf, 174u * 262144 + 1) == 174 * 262144 + 1, "a 45 MiB file");
	free(buf);
	static const int helpers[] = { -1, 1, 3 };
	for (size_t i = 0; i < 3; i++) {
		hp_unixfs_sink *us;
		hp_err e = HP_ERR_INIT;
		hp_unixfs_sink_opts o = HP_UNIXFS_SINK_OPTS_INIT;
		blocks bl = BLOCKS_INIT;
		o.helpers = helpers[i];
		o.blocks = count_block;
		o.ud = &bl;
		hp_unixfs_sink_new(p, &o, &us, &e);
		hp_digest_opts d = { 0 };
		d.algos = HP_DIGEST_SHA256;
		d.sinks = hp_unixfs_sink_digest(us);
		d.nsinks = 1;
		d.block_size = 100003;
		hp_digest_result r;
		lseek(fd, 0, SEEK_SET);
		hp_code rc = hp_digest_fd(fd, path, &d, &r);
		hp_unixfs_node n;
		char got[HP_CID_MAX_TEXT] = "";
		if (!rc && hp_unixfs_sink_result(us, &n))
			cid_text(&n, got);
		is_str(got, "QmV81WL765sC8DXsRhE5fJv2rwhS4icHRaf3J9Zk5FdRnW", "the sink, %d helpers, blocks of 100003",
		       helpers[i]);
		ok(bl.n == 178 && bl.verified && hp_cid_equal(&bl.last, &n.cid), "178 blocks in order, root last");
		hp_unixfs_sink_free(us);
	}
	close(fd);
	unlink(path);
}

int main(void)
{
	test_small();
	test_ipip_files();
	test_structure();
	test_split();
	test_ipip_dirs();
	test_tree();
	test_dir_block();
	test_dagpb();
	test_data();
	test_murmur3();
	test_sink();
	return done();
}
