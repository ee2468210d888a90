/* Unit tests for hp_manifest: build (sorting, duplicates, total, content_id),
 * canonical bytes, signing with the RFC 8032 test 1 key, signature checks
 * against every signed field, and the problems validation reports.
 *
 * The expected bytes are written out by hand here and hashed / verified with
 * libsodium, not with the code under test (which uses OpenSSL). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "hp_buf.h"
#include "hp_codec.h"
#include "hp_io.h"
#include "hp_jcs.h"
#include "hp_json.h"
#include "hp_manifest.h"
#include "hp_sign.h"
#include "hp_time.h"
#include "tap.h"
#include "banned.h"

#define SHA_HELLO "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03" /* "hello\n" */
#define SHA_HI "98ea6e4f216f2fb4b69fff9b3a44842c38686ca685f3f55dc48c5d3fb1107be4"    /* "hi\n" */
#define SHA_EMPTY "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" /* "" */
#define CID0 "QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG"
#define TS "2026-01-01T00:00:00Z"

/* RFC 8032 section 7.1, test 1 */
static const char seed_hex[] = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
static const char pk_hex[] = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";
static const char pk_b64[] = "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=";
static const char sig_empty_hex[] =
	"e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b";

static void sha256_hex(const char *s, size_t n, char hex[65])
{
	unsigned char md[crypto_hash_sha256_BYTES];
	crypto_hash_sha256(md, (const unsigned char *)s, n);
	sodium_bin2hex(hex, 65, md, sizeof md);
}

static json_t *parse(const char *text)
{
	json_t *j;
	hp_err e = HP_ERR_INIT;
	if (hp_json_parse(text, strlen(text), "test", &j, &e)) {
		printf("Bail out! %s\n", e.msg);
		exit(1);
	}
	return j;
}

/* The three entries of the small case, in a deliberately unsorted order. */
static json_t *small_entries(void)
{
	return parse("[{\"path\": \"b.txt\", \"size\": 3, \"sha256\": \"" SHA_HI "\"},"
		     " {\"path\": \"dir/c\", \"size\": 0, \"sha256\": \"" SHA_EMPTY "\", \"cid\": \"" CID0 "\"},"
		     " {\"path\": \"a.txt\", \"size\": 6, \"sha256\": \"" SHA_HELLO "\", \"mime_type\": \"text/plain\"}]");
}

/* RFC 8785 bytes of the sorted files array, by hand: members in code-unit order. */
static const char small_files_jcs[] =
	"[{\"mime_type\":\"text/plain\",\"path\":\"a.txt\",\"sha256\":\"" SHA_HELLO "\",\"size\":6},"
	"{\"path\":\"b.txt\",\"sha256\":\"" SHA_HI "\",\"size\":3},"
	"{\"cid\":\"" CID0 "\",\"path\":\"dir/c\",\"sha256\":\"" SHA_EMPTY "\",\"size\":0}]";

static const hp_manifest_meta small_meta = { .name = "demo", .version = "1.0", .timestamp = TS };

static json_t *small_manifest(void)
{
	json_t *m = NULL;
	hp_err e = HP_ERR_INIT;
	if (hp_manifest_build(&small_meta, small_entries(), &m, &e)) {
		printf("Bail out! build: %s\n", e.msg);
		exit(1);
	}
	return m;
}

static hp_key *test_key(void)
{
	uint8_t seed[32];
	hp_key *k = NULL;
	hp_err e = HP_ERR_INIT;
	if (sodium_hex2bin(seed, sizeof seed, seed_hex, 64, NULL, NULL, NULL) ||
	    hp_key_from_seed(seed, &k, &e)) {
		printf("Bail out! key: %s\n", e.msg);
		exit(1);
	}
	return k;
}

static void test_build(void)
{
	json_t *m = small_manifest();
	json_t *files = json_object_get(m, "files");
	is_int(json_array_size(files), 3, "build keeps the three entries");
	is_str(json_string_value(json_object_get(json_array_get(files, 0), "path")), "a.txt", "sorted: a.txt first");
	is_str(json_string_value(json_object_get(json_array_get(files, 1), "path")), "b.txt", "sorted: b.txt second");
	is_str(json_string_value(json_object_get(json_array_get(files, 2), "path")), "dir/c", "sorted: dir/c last");
	is_int(json_integer_value(json_object_get(m, "total_size")), 9, "total_size is the sum of the sizes");
	is_str(json_string_value(json_object_get(m, "manifest_version")), "1.0", "manifest_version 1.0");
	is_str(json_string_value(json_object_get(json_object_get(m, "provenance"), "timestamp")), TS,
	       "provenance.timestamp from the meta");
	ok(!json_object_get(m, "signature"), "a built manifest is unsigned");
	ok(!json_object_get(m, "distribution"), "no distribution when the meta has none");

	char want[65], got[65];
	hp_err e = HP_ERR_INIT;
	sha256_hex(small_files_jcs, strlen(small_files_jcs), want);
	is_str(json_string_value(json_object_get(m, "content_id")), want,
	       "content_id is the SHA-256 of the hand-written JCS of files");
	ok(hp_manifest_content_id(files, got, &e) == HP_OK, "hp_manifest_content_id");
	is_str(got, want, "hp_manifest_content_id agrees");

	hp_buf b = HP_BUF_INIT;
	ok(hp_jcs_serialize(files, &b, &e) == HP_OK, "JCS of files");
	is_mem(b.data, b.len, small_files_jcs, strlen(small_files_jcs), "JCS of files is the hand-written bytes");
	hp_buf_release(&b);

	e = (hp_err)HP_ERR_INIT;
	is_int(hp_manifest_validate(m, HP_MANIFEST_UNSIGNED_OK, NULL, &e), HP_OK, "the built manifest validates");
	e = (hp_err)HP_ERR_INIT;
	is_int(hp_manifest_validate(m, 0, NULL, &e), HP_E_DATA, "but not when a signature is required");
	is_str(e.msg, "'signature' is required", "... naming the signature");
	json_decref(m);

	/* bytewise order, not UTF-16 order nor locale order */
	json_t *entries = parse("[{\"path\": \"\\ud83d\\ude00\", \"size\": 1, \"sha256\": \"" SHA_HI "\"},"
				" {\"path\": \"\\uff5e\", \"size\": 1, \"sha256\": \"" SHA_HI "\"},"
				" {\"path\": \"a/b\", \"size\": 1, \"sha256\": \"" SHA_HI "\"},"
				" {\"path\": \"a-b\", \"size\": 1, \"sha256\": \"" SHA_HI "\"},"
				" {\"path\": \"B\", \"size\": 1, \"sha256\": \"" SHA_HI "\"},"
				" {\"path\": \"a0\", \"size\": 1, \"sha256\": \"" SHA_HI "\"}]");
	e = (hp_err)HP_ERR_INIT;
	ok(hp_manifest_build(&small_meta, entries, &m, &e) == HP_OK, "build with unicode paths: %s", e.msg);
	files = json_object_get(m, "files");
	const char *order[] = { "B", "a-b", "a/b", "a0", "\xef\xbd\x9e", "\xf0\x9f\x98\x80" };
	for (size_t i = 0; i < 6; i++)
		is_str(json_string_value(json_object_get(json_array_get(files, i), "path")), order[i],
		       "bytewise position %zu", i);
	json_decref(m);
}

static void build_fails(const char *entries, const hp_manifest_meta *meta, hp_code want,
			const char *msg, const char *name)
{
	json_t *m = NULL;
	hp_err e = HP_ERR_INIT;
	hp_code rc = hp_manifest_build(meta, parse(entries), &m, &e);
	is_int(rc, want, "build refuses %s", name);
	ok(strstr(e.msg, msg) != NULL, "... saying '%s' (got '%s')", msg, e.msg);
	ok(m == NULL, "... and returns no manifest");
}

static void test_build_errors(void)
{
	build_fails("[{\"path\": \"a\", \"size\": 1, \"sha256\": \"" SHA_HI "\"},"
		    " {\"path\": \"b\", \"size\": 1, \"sha256\": \"" SHA_HI "\"},"
		    " {\"path\": \"a\", \"size\": 2, \"sha256\": \"" SHA_HI "\"}]",
		    &small_meta, HP_E_DATA, "duplicate path 'a'", "duplicate paths");
	build_fails("[{\"path\": \"a/b\", \"size\": 1, \"sha256\": \"" SHA_HI "\"},"
		    " {\"path\": \"a-b\", \"size\": 1, \"sha256\": \"" SHA_HI "\"},"
		    " {\"path\": \"a\", \"size\": 1, \"sha256\": \"" SHA_HI "\"}]",
		    &small_meta, HP_E_DATA, "'a/b' is inside 'a'", "a file inside a file");
	build_fails("[{\"size\": 1, \"sha256\": \"" SHA_HI "\"}]", &small_meta, HP_E_DATA, "no path",
		    "an entry without a path");
	build_fails("[]", &small_meta, HP_E_DATA, "files: must list at least one file", "no files");
	build_fails("[{\"path\": \"../x\", \"size\": 1, \"sha256\": \"" SHA_HI "\"}]", &small_meta, HP_E_DATA,
		    "'..' segment", "a '..' path");
	build_fails("[{\"path\": \"x\", \"size\": -1, \"sha256\": \"" SHA_HI "\"}]", &small_meta, HP_E_DATA,
		    "files[0].size", "a negative size");
	hp_manifest_meta bad = small_meta;
	bad.name = "no spaces";
	build_fails("[{\"path\": \"x\", \"size\": 1, \"sha256\": \"" SHA_HI "\"}]", &bad, HP_E_DATA, "name: ",
		    "a bad name");
	bad = small_meta;
	bad.expires = "tomorrow";
	build_fails("[{\"path\": \"x\", \"size\": 1, \"sha256\": \"" SHA_HI "\"}]", &bad, HP_E_DATA, "expires: ",
		    "a bad expiry");
	bad = small_meta;
	bad.name = "bad\xff";
	build_fails("[{\"path\": \"x\", \"size\": 1, \"sha256\": \"" SHA_HI "\"}]", &bad, HP_E_DATA,
		    "not valid UTF-8", "a name that is not UTF-8");
}

static void test_canonical(void)
{
	json_t *m = small_manifest();
	char cid[65], want[1024];
	sha256_hex(small_files_jcs, strlen(small_files_jcs), cid);
	snprintf(want, sizeof want,
		 "{\"content_id\":\"%s\",\"files\":%s,\"manifest_version\":\"1.0\",\"name\":\"demo\","
		 "\"provenance\":{\"timestamp\":\"" TS "\"},\"total_size\":9,\"version\":\"1.0\"}",
		 cid, small_files_jcs);
	hp_buf b = HP_BUF_INIT, s = HP_BUF_INIT;
	hp_err e = HP_ERR_INIT;
	ok(hp_manifest_canonical(m, &b, &e) == HP_OK, "canonical");
	is_mem(b.data, b.len, want, strlen(want), "canonical bytes are the hand-written JCS");

	hp_key *k = test_key();
	ok(hp_manifest_sign(m, k, "2026-01-02T03:04:05Z", &e) == HP_OK, "sign: %s", e.msg);
	ok(json_object_get(m, "signature") != NULL, "sign adds a signature block");
	ok(hp_manifest_canonical(m, &s, &e) == HP_OK, "canonical of the signed manifest");
	is_mem(s.data, s.len, b.data, b.len, "the signature block is not part of the canonical bytes");
	ok(!strstr(s.data, "signature") && !strstr(s.data, "ed25519"), "no trace of the signature in them");

	/* member order in the input does not matter */
	json_t *shuffled = json_object();
	const char *keys[] = { "version", "total_size", "signature", "provenance", "name", "manifest_version",
			       "files", "content_id" };
	for (size_t i = 0; i < 8; i++)
		json_object_set(shuffled, keys[i], json_object_get(m, keys[i]));
	hp_buf_reset(&s);
	ok(hp_manifest_canonical(shuffled, &s, &e) == HP_OK, "canonical of a reordered copy");
	is_mem(s.data, s.len, b.data, b.len, "same bytes whatever the member order");
	uint8_t pk[32];
	is_int(hp_manifest_check_signature(shuffled, pk, &e), HP_OK, "the signature holds on the reordered copy");
	json_decref(shuffled);
	hp_key_free(k);
	hp_buf_release(&b);
	hp_buf_release(&s);
	json_decref(m);
}

static hp_code check(const json_t *m, hp_err *e)
{
	uint8_t pk[32];
	*e = (hp_err)HP_ERR_INIT;
	return hp_manifest_check_signature(m, pk, e);
}

/* A different value of the same type, one byte changed where possible. */
static json_t *flipped(const json_t *v)
{
	if (json_is_string(v)) {
		size_t n = json_string_length(v);
		char *s = malloc(n + 2);
		memcpy(s, json_string_value(v), n + 1);
		if (n == 0) {
			s[0] = 'x';
			s[1] = '\0';
		} else {
			s[n / 2] ^= 1;
			if (s[n / 2] == '\0' || (unsigned char)s[n / 2] >= 0x80)
				s[n / 2] ^= 3;
		}
		json_t *r = json_string(s);
		free(s);
		return r;
	}
	if (json_is_integer(v))
		return json_integer(json_integer_value(v) ^ 1);
	return json_null();
}

/* Flip every leaf under node (the signature block excepted) in turn: each
 * must break the signature. Returns how many leaves were tried. */
static int flip_leaves(const json_t *root, json_t *node, const char *where, int *held)
{
	int n = 0;
	hp_err e;
	if (json_is_object(node)) {
		const char *key;
		json_t *val;
		json_object_foreach(node, key, val) {
			if (node == root && strcmp(key, "signature") == 0)
				continue;
			char at[256];
			snprintf(at, sizeof at, "%s%s%s", where, *where ? "." : "", key);
			if (json_is_object(val) || json_is_array(val)) {
				n += flip_leaves(root, val, at, held);
				continue;
			}
			json_t *saved = json_incref(val);
			json_object_set_new(node, key, flipped(saved));
			if (check(root, &e) != HP_E_INVALID) {
				(*held)++;
				printf("#   the signature still holds with %s changed\n", at);
			}
			json_object_set_new(node, key, saved);
			n++;
		}
	} else if (json_is_array(node)) {
		for (size_t i = 0; i < json_array_size(node); i++) {
			json_t *val = json_array_get(node, i);
			char at[256];
			snprintf(at, sizeof at, "%s[%zu]", where, i);
			if (json_is_object(val) || json_is_array(val)) {
				n += flip_leaves(root, val, at, held);
				continue;
			}
			json_t *saved = json_incref(val);
			json_array_set_new(node, i, flipped(saved));
			if (check(root, &e) != HP_E_INVALID) {
				(*held)++;
				printf("#   the signature still holds with %s changed\n", at);
			}
			json_array_set_new(node, i, saved);
			n++;
		}
	}
	return n;
}

static void test_sign(void)
{
	hp_key *k = test_key();
	uint8_t pk[32], want_pk[32], sig[64], want_sig[64];
	hp_err e = HP_ERR_INIT;
	hp_key_public(k, pk);
	sodium_hex2bin(want_pk, 32, pk_hex, 64, NULL, NULL, NULL);
	sodium_hex2bin(want_sig, 64, sig_empty_hex, 128, NULL, NULL, NULL);
	is_mem(pk, 32, want_pk, 32, "the RFC 8032 test 1 seed gives its public key");
	ok(hp_sign_bytes(k, "", 0, sig, &e) == HP_OK, "sign the empty message");
	is_mem(sig, 64, want_sig, 64, "... giving the RFC 8032 test 1 signature");

	/* a manifest with every optional member, so that every field is flipped */
	const char *seeds[] = { "https://mirror.example.org/demo/", "http://127.0.0.1:8080/" };
	const char *nodes[] = { "cluster-1" };
	hp_manifest_meta meta = { .name = "demo", .version = "2.0.0", .description = "Every member.",
				  .uploader_id = "bot", .timestamp = TS, .expires = "2030-01-01T00:00:00Z",
				  .git_commit = "0123456789abcdef0123456789abcdef01234567",
				  .git_ref = "refs/tags/v2", .ipfs_gateway = "https://ipfs.example.org/",
				  .web_seeds = seeds, .n_web_seeds = 2, .pinning_nodes = nodes,
				  .n_pinning_nodes = 1 };
	json_t *m = NULL;
	ok(hp_manifest_build(&meta, small_entries(), &m, &e) == HP_OK, "build with every meta member: %s", e.msg);
	ok(hp_manifest_sign(m, k, "2026-01-02T03:04:05Z", &e) == HP_OK, "sign it");
	json_t *s = json_object_get(m, "signature");
	is_str(json_string_value(json_object_get(s, "algorithm")), "ed25519", "signature.algorithm");
	is_str(json_string_value(json_object_get(s, "public_key")), pk_b64, "signature.public_key");
	is_str(json_string_value(json_object_get(s, "key_id")), "21fe31dfa154a261", "signature.key_id");
	is_str(json_string_value(json_object_get(s, "signed_at")), "2026-01-02T03:04:05Z", "signature.signed_at");
	is_int(hp_manifest_validate(m, 0, NULL, &e), HP_OK, "the signed manifest validates with a signature required");

	uint8_t got_pk[32];
	is_int(hp_manifest_check_signature(m, got_pk, &e), HP_OK, "hp_manifest_check_signature: good");
	is_mem(got_pk, 32, want_pk, 32, "... and hands back the public key");

	/* libsodium, on our own canonical bytes, agrees */
	hp_buf c = HP_BUF_INIT;
	size_t len = 0;
	const char *sig64 = json_string_value(json_object_get(s, "signature"));
	hp_manifest_canonical(m, &c, &e);
	ok(sodium_base642bin(sig, 64, sig64, strlen(sig64), NULL, &len, NULL, sodium_base64_VARIANT_ORIGINAL) == 0 &&
		   len == 64 && crypto_sign_verify_detached(sig, (const unsigned char *)c.data, c.len, want_pk) == 0,
	   "libsodium verifies the signature over the canonical bytes");
	hp_buf_release(&c);

	int held = 0;
	int n = flip_leaves(m, m, "", &held);
	ok(n >= 25, "flipped %d signed fields", n);
	is_int(held, 0, "every flipped field breaks the signature (HP_E_INVALID)");
	is_int(check(m, &e), HP_OK, "restored: the signature holds again");

	/* adding, removing and reordering */
	json_t *c2 = json_deep_copy(m);
	json_object_set_new(c2, "description", json_string("Every member!"));
	is_int(check(c2, &e), HP_E_INVALID, "a changed description breaks it");
	json_object_del(c2, "description");
	is_int(check(c2, &e), HP_E_INVALID, "a removed member breaks it");
	ok(strstr(e.msg, "21fe31dfa154a261") != NULL, "the message names the key id: %s", e.msg);
	json_decref(c2);
	c2 = json_deep_copy(m);
	json_object_set_new(json_object_get(c2, "provenance"), "git_ref", json_string("refs/tags/v3"));
	is_int(check(c2, &e), HP_E_INVALID, "a changed nested member breaks it");
	json_decref(c2);
	c2 = json_deep_copy(m);
	json_t *files = json_object_get(c2, "files");
	json_t *first = json_incref(json_array_get(files, 0));
	json_array_remove(files, 0);
	json_array_append_new(files, first);
	is_int(check(c2, &e), HP_E_INVALID, "reordered files break it");
	json_decref(c2);
	c2 = json_deep_copy(m);
	json_object_set_new(json_array_get(json_object_get(c2, "files"), 0), "cid", json_string(CID0));
	is_int(check(c2, &e), HP_E_INVALID, "an added file member breaks it");
	json_decref(c2);

	/* the signature block itself */
	c2 = json_deep_copy(m);
	json_t *sb = json_object_get(c2, "signature");
	json_object_set_new(sb, "signature", flipped(json_object_get(sb, "signature")));
	is_int(check(c2, &e), HP_E_INVALID, "a flipped signature byte fails");
	json_decref(c2);
	c2 = json_deep_copy(m);
	sb = json_object_get(c2, "signature");
	uint8_t other_pk[32];
	char other_b64[HP_B64_ENCODED_SIZE(32)];
	crypto_sign_seed_keypair(other_pk, (unsigned char[64]){ 0 }, (const unsigned char *)"0123456789abcdef0123456789abcdef");
	hp_b64_encode(other_pk, 32, other_b64);
	json_object_set_new(sb, "public_key", json_string(other_b64));
	is_int(check(c2, &e), HP_E_INVALID, "another public key fails");
	json_decref(c2);
	/* signed_at and key_id live in the block, outside the signed bytes (by
	 * design: the signed bytes are the manifest without "signature"); a
	 * wrong key_id is caught by validation instead */
	c2 = json_deep_copy(m);
	sb = json_object_get(c2, "signature");
	json_object_set_new(sb, "signed_at", json_string("2020-01-01T00:00:00Z"));
	is_int(check(c2, &e), HP_OK, "signed_at is not covered by the signature (documented)");
	json_object_set_new(sb, "key_id", json_string("0123456789abcdef"));
	is_int(check(c2, &e), HP_OK, "key_id is not covered by the signature either");
	is_int(hp_manifest_validate(c2, 0, NULL, &e), HP_E_DATA, "but validation refuses a wrong key_id");
	ok(strstr(e.msg, "signature.key_id") != NULL, "... naming signature.key_id: %s", e.msg);
	json_decref(c2);

	/* malformed and missing blocks */
	c2 = json_deep_copy(m);
	json_object_del(c2, "signature");
	is_int(check(c2, &e), HP_E_INVALID, "an unsigned manifest: HP_E_INVALID");
	ok(strstr(e.msg, "not signed") != NULL, "... 'not signed'");
	json_object_set_new(c2, "signature", json_pack("{s:s}", "algorithm", "ed25519"));
	is_int(check(c2, &e), HP_E_DATA, "a block without key or signature: HP_E_DATA");
	json_object_set_new(c2, "signature", json_pack("{s:s, s:s}", "public_key", "!!!", "signature", "AAAA"));
	is_int(check(c2, &e), HP_E_DATA, "a block with bad base64: HP_E_DATA");
	json_decref(c2);

	e = (hp_err)HP_ERR_INIT;
	is_int(hp_manifest_sign(m, k, "yesterday", &e), HP_E_USAGE, "sign refuses a bad signed_at");
	ok(hp_manifest_sign(m, k, NULL, &e) == HP_OK, "sign with signed_at now");
	ok(hp_time_parse(json_string_value(json_object_get(json_object_get(m, "signature"), "signed_at")), NULL),
	   "... an RFC 3339 time");
	is_int(check(m, &e), HP_OK, "re-signing replaces the block and it holds");
	json_decref(m);
	hp_key_free(k);
}

static void test_problems(void)
{
	json_t *m = small_manifest();
	json_object_set_new(m, "name", json_string("bad name"));
	json_object_set_new(m, "extra", json_integer(1));
	json_object_del(m, "total_size");
	json_t *files = json_object_get(m, "files");
	json_object_set_new(json_array_get(files, 0), "sha256", json_string("X"));
	json_object_set_new(json_array_get(files, 1), "size", json_integer(-1));
	json_object_set_new(json_array_get(files, 2), "path", json_string("dir/../c"));
	json_object_set_new(json_object_get(m, "provenance"), "timestamp", json_string("2026-02-30T00:00:00Z"));

	json_t *problems = json_array();
	hp_err e = HP_ERR_INIT;
	is_int(hp_manifest_validate(m, HP_MANIFEST_UNSIGNED_OK, problems, &e), HP_E_DATA, "validate: HP_E_DATA");
	static const char *const want[][2] = {
		{ "", "unknown member 'extra'" },
		{ "name", "'bad name' is not a name of 1-128 letters, digits, '.', '_' or '-', starting with a letter or digit" },
		{ "files[0].sha256", "'X' is not 64 lower-case hex digits" },
		{ "files[1].size", "must not be negative (got -1)" },
		{ "files[2].path", "path 'dir/../c' has a '..' segment" },
		{ "", "'total_size' is required" },
		{ "provenance.timestamp", "'2026-02-30T00:00:00Z' is not an RFC 3339 UTC time such as 2026-01-31T12:00:00Z" },
	};
	size_t nwant = sizeof want / sizeof *want;
	is_int(json_array_size(problems), nwant, "one problem per broken rule");
	for (size_t i = 0; i < nwant && i < json_array_size(problems); i++) {
		json_t *p = json_array_get(problems, i);
		is_int(json_object_size(p), 2, "problem %zu has where and message only", i);
		is_str(json_string_value(json_object_get(p, "where")), want[i][0], "problem %zu: where", i);
		is_str(json_string_value(json_object_get(p, "message")), want[i][1], "problem %zu: message", i);
	}
	is_str(e.msg, "unknown member 'extra'", "the error is the first problem");
	json_decref(problems);

	/* schema-only: the same schema problems, the semantic ones dropped */
	problems = json_array();
	e = (hp_err)HP_ERR_INIT;
	is_int(hp_manifest_validate(m, HP_MANIFEST_UNSIGNED_OK | HP_MANIFEST_SCHEMA_ONLY, problems, &e), HP_E_DATA,
	       "schema-only: HP_E_DATA");
	is_int(json_array_size(problems), nwant, "schema-only: the same number of problems");
	is_str(json_string_value(json_object_get(json_array_get(problems, 4), "message")),
	       "'dir/../c' is not a normalised relative path", "schema-only: the schema's wording for the path");
	json_decref(problems);
	json_decref(m);

	/* semantic problems only */
	m = small_manifest();
	json_object_set_new(m, "total_size", json_integer(10));
	json_object_set_new(json_array_get(json_object_get(m, "files"), 1), "path", json_string("a.txt"));
	problems = json_array();
	is_int(hp_manifest_validate(m, HP_MANIFEST_UNSIGNED_OK, problems, &e), HP_E_DATA, "semantic: HP_E_DATA");
	is_int(json_array_size(problems), 2, "semantic: two problems (content_id is checked only when the rest is good)");
	is_str(json_string_value(json_object_get(json_array_get(problems, 0), "where")), "files[1].path",
	       "semantic: the duplicate");
	is_str(json_string_value(json_object_get(json_array_get(problems, 0), "message")), "duplicate path 'a.txt'",
	       "semantic: duplicate path message");
	is_str(json_string_value(json_object_get(json_array_get(problems, 1), "message")),
	       "is 10 but the files add up to 9", "semantic: total_size message");
	json_decref(problems);
	problems = json_array();
	is_int(hp_manifest_validate(m, HP_MANIFEST_UNSIGNED_OK | HP_MANIFEST_SCHEMA_ONLY, problems, &e), HP_OK,
	       "semantic problems pass the schema-only check");
	is_int(json_array_size(problems), 0, "... with no problems listed");
	json_decref(problems);
	json_decref(m);

	m = small_manifest();
	json_object_set_new(m, "content_id", json_string(SHA_EMPTY));
	is_int(hp_manifest_validate(m, HP_MANIFEST_UNSIGNED_OK, NULL, &e), HP_E_DATA, "a wrong content_id");
	ok(strncmp(e.msg, "content_id: '" SHA_EMPTY "' does not match the files", 90) == 0, "... named: %s", e.msg);
	json_decref(m);

	json_t *arr = json_array();
	is_int(hp_manifest_validate(arr, 0, NULL, &e), HP_E_DATA, "an array is not a manifest");
	json_decref(arr);
	json_t *null = json_null();
	is_int(hp_manifest_validate(null, 0, NULL, &e), HP_E_DATA, "null is not a manifest");
	is_str(e.msg, "a manifest must be a JSON object, not null", "... saying so");
}

/* Length limits count code points (JSON Schema's maxLength), byte limits are semantic. */
static void test_limits(void)
{
	json_t *m = small_manifest();
	hp_err e = HP_ERR_INIT;
	size_t n = 65536;
	char *d = malloc(2 * n + 3);
	for (size_t i = 0; i < n; i++)
		memcpy(d + 2 * i, "\xc3\xa9", 2);
	d[2 * n] = '\0';
	json_object_set_new(m, "description", json_string(d));
	is_int(hp_manifest_validate(m, HP_MANIFEST_UNSIGNED_OK, NULL, &e), HP_OK,
	       "a description of 65536 characters (131072 bytes)");
	memcpy(d + 2 * n, "\xc3\xa9", 3);
	json_object_set_new(m, "description", json_string(d));
	is_int(hp_manifest_validate(m, HP_MANIFEST_UNSIGNED_OK, NULL, &e), HP_E_DATA,
	       "a description of 65537 characters");
	ok(strncmp(e.msg, "description: ", 13) == 0, "... named: %.60s", e.msg);
	free(d);
	json_decref(m);

	/* a 255-byte segment is fine, 256 is not; 4096 bytes of path is fine */
	char p[4200];
	memset(p, 's', 255);
	p[255] = '\0';
	json_t *entries = json_pack("[{s:s, s:i, s:s}]", "path", p, "size", 0, "sha256", SHA_EMPTY);
	ok(hp_manifest_build(&small_meta, entries, &m, &e) == HP_OK, "a 255-byte segment");
	json_decref(m);
	memset(p, 's', 256);
	p[256] = '\0';
	entries = json_pack("[{s:s, s:i, s:s}]", "path", p, "size", 0, "sha256", SHA_EMPTY);
	is_int(hp_manifest_build(&small_meta, entries, &m, &e), HP_E_DATA, "a 256-byte segment");
	ok(strstr(e.msg, "files[0].path") && strstr(e.msg, "longer than 255 bytes"), "... named: %.40s", e.msg);
	for (size_t i = 0; i < 4096; i++)
		p[i] = i % 2 ? '/' : 'd';
	p[4095] = 'x';
	p[4096] = '\0';
	entries = json_pack("[{s:s, s:i, s:s}]", "path", p, "size", 0, "sha256", SHA_EMPTY);
	ok(hp_manifest_build(&small_meta, entries, &m, &e) == HP_OK, "a 4096-byte path of 2048 segments");
	json_decref(m);
	p[4096] = 'x';
	p[4097] = '\0';
	entries = json_pack("[{s:s, s:i, s:s}]", "path", p, "size", 0, "sha256", SHA_EMPTY);
	is_int(hp_manifest_build(&small_meta, entries, &m, &e), HP_E_DATA, "a 4097-byte path");

	/* sizes: 2^53-1 is the largest; their sum must fit too */
	entries = json_pack("[{s:s, s:I, s:s}]", "path", "big", "size", (json_int_t)9007199254740991LL,
			    "sha256", SHA_EMPTY);
	ok(hp_manifest_build(&small_meta, entries, &m, &e) == HP_OK, "a file of 2^53-1 bytes");
	json_decref(m);
	entries = json_pack("[{s:s, s:I, s:s}, {s:s, s:i, s:s}]", "path", "a", "size",
			    (json_int_t)9007199254740991LL, "sha256", SHA_EMPTY, "path", "b", "size", 1, "sha256",
			    SHA_EMPTY);
	is_int(hp_manifest_build(&small_meta, entries, &m, &e), HP_E_DATA, "sizes adding up past 2^53-1");
	ok(strstr(e.msg, "total_size") != NULL, "... named: %s", e.msg);
	m = parse("{\"manifest_version\": \"1.0\", \"name\": \"d\", \"version\": \"1\", \"content_id\": \"" SHA_EMPTY
		  "\", \"total_size\": 1.0, \"files\": [{\"path\": \"a\", \"size\": 1e300, \"sha256\": \"" SHA_EMPTY
		  "\"}]}");
	is_int(hp_manifest_validate(m, HP_MANIFEST_UNSIGNED_OK | HP_MANIFEST_SCHEMA_ONLY, NULL, &e), HP_E_DATA,
	       "a size of 1e300 (a real far past 2^63)");
	is_str(e.msg, "files[0].size: is larger than 2^53-1", "... refused as a size");
	json_object_set_new(json_array_get(json_object_get(m, "files"), 0), "size", json_real(1.0));
	is_int(hp_manifest_validate(m, HP_MANIFEST_UNSIGNED_OK | HP_MANIFEST_SCHEMA_ONLY, NULL, &e), HP_OK,
	       "1.0 is an integer to JSON Schema");
	json_decref(m);
}

static void test_load(void)
{
	char dir[] = "/tmp/hp-test-manifest.XXXXXX";
	if (!mkdtemp(dir)) {
		printf("Bail out! mkdtemp\n");
		exit(1);
	}
	char path[256];
	snprintf(path, sizeof path, "%s/m.json", dir);
	json_t *m = small_manifest(), *back = NULL;
	hp_err e = HP_ERR_INIT;
	json_dump_file(m, path, JSON_INDENT(2));
	is_int(hp_manifest_load(path, HP_MANIFEST_UNSIGNED_OK, &back, &e), HP_OK, "load a manifest file");
	ok(back && json_equal(m, back), "... equal to what was written");
	json_decref(back);
	back = NULL;
	is_int(hp_manifest_load(path, 0, &back, &e), HP_E_DATA, "load with a signature required");
	ok(strstr(e.msg, path) == e.msg && back == NULL, "... names the file: %s", e.msg);
	FILE *f = fopen(path, "w");
	fputs("{\"manifest_version\": \"1.0\",", f);
	fclose(f);
	is_int(hp_manifest_load(path, HP_MANIFEST_UNSIGNED_OK, &back, &e), HP_E_DATA, "load truncated JSON");
	ok(strstr(e.msg, "parse error") && strstr(e.msg, "line 1"), "... a parse error with its place: %s", e.msg);
	unlink(path);
	is_int(hp_manifest_load(path, HP_MANIFEST_UNSIGNED_OK, &back, &e), HP_E_NOINPUT, "load a missing file");
	hp_code rc = hp_manifest_load(dir, HP_MANIFEST_UNSIGNED_OK, &back, &e);
	ok(rc != HP_OK && back == NULL && strstr(e.msg, "directory"), "load a directory: %s", e.msg);
	rmdir(dir);
	json_decref(m);
}

/* ---- hp_mlite_parse against the jansson path ---------------------------- */

static size_t mlite_disagreements;

/* hp_mlite_parse may decline anything, but what it accepts the jansson path
 * must accept too, with the same canonical bytes and the same json_dumps
 * (also with a new signature block set). Returns whether it accepted. */
static bool mlite_same(const char *text, size_t len, unsigned flags, const char *what)
{
	hp_mlite lite;
	bool accepted = hp_mlite_parse(text, len, flags, &lite);
	if (!accepted)
		return false;
	hp_err e = HP_ERR_INIT;
	json_t *m = NULL;
	bool same = hp_json_parse(text, len, "x", &m, &e) == HP_OK && hp_manifest_validate(m, flags, NULL, &e) == HP_OK;
	hp_buf canon = HP_BUF_INIT, dump = HP_BUF_INIT;
	if (same) {
		same = hp_manifest_canonical(m, &canon, &e) == HP_OK && canon.len == lite.canonical.len &&
		       memcmp(canon.data, lite.canonical.data, canon.len) == 0;
		json_t *sig = json_pack("{s:s}", "algorithm", "ed25519");
		json_object_set(m, "signature", sig);
		json_object_set_new(lite.head, "signature", sig);
		char *want = json_dumps(m, JSON_INDENT(2));
		same = same && want && hp_mlite_dump(&lite, lite.head, &dump, &e) == HP_OK &&
		       strlen(want) == dump.len && memcmp(want, dump.data, dump.len) == 0;
		free(want);
	}
	if (!same && mlite_disagreements++ < 5)
		printf("# hp_mlite_parse accepted %s (flags %u), the jansson path differs: %.*s\n", what, flags,
		     (int)(len < 300 ? len : 300), text);
	hp_buf_release(&canon);
	hp_buf_release(&dump);
	json_decref(m);
	hp_mlite_free(&lite);
	return true;
}

static void test_mlite(void)
{
	const char *root = getenv("HP_ROOT");
	static const char *const names[] = { "valid/bytewise-order.json", "valid/empty-lists.json",
		"valid/full-unsigned.json", "valid/limits.json", "valid/long-paths.json", "valid/max-size.json",
		"valid/minimal.json", "valid/signed-minimal.json", "valid/signed.json" };
	static const char repl[] = "\"\\,0a}]{[ 9.-:/\x01";
	size_t accepted = 0, runs = 0;
	for (size_t n = 0; n < sizeof names / sizeof *names; n++) {
		char path[1024];
		snprintf(path, sizeof path, "%s/tests/manifests/%s", root ? root : ".", names[n]);
		hp_buf b = HP_BUF_INIT;
		hp_err e = HP_ERR_INIT;
		if (hp_read_file(path, 1 << 20, &b, &e)) {
			ok(0, "read %s: %s", path, e.msg);
			continue;
		}
		/* as written, and as json_dumps writes it (the form hp-manifest makes) */
		bool a = mlite_same(b.data, b.len, HP_MANIFEST_UNSIGNED_OK, names[n]);
		mlite_same(b.data, b.len, 0, names[n]);
		json_t *m = NULL;
		hp_json_parse(b.data, b.len, "x", &m, &e);
		char *d = m ? json_dumps(m, JSON_INDENT(2)) : NULL;
		if (d)
			a |= mlite_same(d, strlen(d), HP_MANIFEST_UNSIGNED_OK, names[n]);
		accepted += a;
		/* every one-byte change and deletion */
		hp_buf mut = HP_BUF_INIT;
		/* (four of them: the rest adds time, not cases) */
		for (size_t i = 0; d && (n == 0 || n == 2 || n == 7 || n == 8) && i < strlen(d); i++) {
			for (size_t r = 0; r <= sizeof repl - 1; r++) {
				hp_buf_truncate(&mut, 0);
				hp_buf_add(&mut, d, i, &e);
				if (r < sizeof repl - 1)
					hp_buf_addch(&mut, repl[r], &e);
				hp_buf_adds(&mut, d + i + 1, &e);
				runs++;
				mlite_same(mut.data, mut.len, HP_MANIFEST_UNSIGNED_OK, names[n]);
			}
		}
		hp_buf_release(&mut);
		free(d);
		json_decref(m);
		hp_buf_release(&b);
	}
	ok(accepted >= 7, "hp_mlite_parse reads the plain manifests (%zu of 9)", accepted);
	is_int((long long)mlite_disagreements, 0,
	       "what hp_mlite_parse accepts, the jansson path accepts the same way (%zu mutations)", runs);
}

int main(void)
{
	if (sodium_init() < 0) {
		printf("Bail out! sodium_init\n");
		return 1;
	}
	test_build();
	test_build_errors();
	test_canonical();
	test_sign();
	test_problems();
	test_limits();
	test_load();
	test_mlite();
	return done();
}
