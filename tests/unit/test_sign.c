/* Unit tests for hp_sign: RFC 8032 vectors, PKCS#8/SPKI interop with files
 * made by openssl, minisign interop with files made by minisign. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "hp_buf.h"
#include "hp_io.h"
#include "hp_sign.h"
#include "tap.h"
#include "banned.h"

static char root[2048];
static char tmpdir[] = "/tmp/hp-test-sign.XXXXXX";

static const char *vpath(const char *rel)
{
	static char p[4][4096];
	static int i;
	i = (i + 1) % 4;
	snprintf(p[i], sizeof p[i], "%s/tests/vectors/sign/%s", root, rel);
	return p[i];
}

static const char *tpath(const char *name)
{
	static char p[2][4096];
	static int i;
	i = (i + 1) % 2;
	snprintf(p[i], sizeof p[i], "%s/%s", tmpdir, name);
	return p[i];
}

/* The whole file, or exit: a missing vector is a broken test tree. */
static hp_buf slurp(const char *path)
{
	hp_buf b = HP_BUF_INIT;
	hp_err e = HP_ERR_INIT;
	if (hp_read_file(path, 1 << 20, &b, &e)) {
		printf("Bail out! %s\n", e.msg);
		exit(1);
	}
	return b;
}

static size_t hexfile(const char *path, uint8_t *out, size_t cap)
{
	hp_buf b = slurp(path);
	size_t n = b.len;
	while (n && (b.data[n - 1] == '\n' || b.data[n - 1] == '\r'))
		n--;
	size_t got = 0;
	if (sodium_hex2bin(out, cap, b.data, n, NULL, &got, NULL) != 0) {
		printf("Bail out! bad hex in %s\n", path);
		exit(1);
	}
	hp_buf_release(&b);
	return got;
}

static void write_file(const char *path, const void *p, size_t n, mode_t mode)
{
	unlink(path);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
	if (fd < 0 || write(fd, p, n) != (ssize_t)n) {
		printf("Bail out! cannot write %s\n", path);
		exit(1);
	}
	fchmod(fd, mode);
	close(fd);
}

static bool contains(const char *hay, const char *needle)
{
	return strstr(hay, needle) != NULL;
}

static void test_rfc8032(const char *name)
{
	char rel[256];
	uint8_t seed[32], pk[32], want_pk[32], sig[64], want_sig[64], got[64];
	static uint8_t msg[2048];
	snprintf(rel, sizeof rel, "%s/secret.hex", name);
	is_int(hexfile(vpath(rel), seed, sizeof seed), 32, "%s: 32-byte seed", name);
	snprintf(rel, sizeof rel, "%s/public.hex", name);
	hexfile(vpath(rel), want_pk, sizeof want_pk);
	snprintf(rel, sizeof rel, "%s/message.hex", name);
	size_t mlen = hexfile(vpath(rel), msg, sizeof msg);
	snprintf(rel, sizeof rel, "%s/signature.hex", name);
	hexfile(vpath(rel), want_sig, sizeof want_sig);

	hp_key *k = NULL;
	hp_err e = HP_ERR_INIT;
	is_int(hp_key_from_seed(seed, &k, &e), HP_OK, "%s: key from seed", name);
	hp_key_public(k, pk);
	is_mem(pk, 32, want_pk, 32, "%s: public key", name);
	is_int(hp_sign_bytes(k, msg, mlen, sig, &e), HP_OK, "%s: sign %zu bytes", name, mlen);
	is_mem(sig, 64, want_sig, 64, "%s: signature matches the RFC", name);
	ok(hp_verify_bytes(want_pk, msg, mlen, want_sig), "%s: RFC signature verifies", name);
	memcpy(got, want_sig, 64);
	got[63] ^= 0x01;
	ok(!hp_verify_bytes(want_pk, msg, mlen, got), "%s: flipped signature bit fails", name);
	if (mlen) {
		msg[mlen - 1] ^= 0x80;
		ok(!hp_verify_bytes(want_pk, msg, mlen, want_sig), "%s: flipped message bit fails", name);
	}
	hp_key_free(k);
}

static void test_key_id(void)
{
	uint8_t pk[32];
	char id[17];
	hexfile(vpath("rfc8032-test1/public.hex"), pk, sizeof pk);
	hp_key_id(pk, id);
	/* sha256(pk)[0..8], computed independently */
	is_str(id, "21fe31dfa154a261", "key id of the RFC 8032 test 1 key");
}

static void test_openssl_key(void)
{
	hp_buf pem = slurp(vpath("openssl-key/key.pem"));
	hp_buf pub = slurp(vpath("openssl-key/key.pub"));
	hp_buf msg = slurp(vpath("openssl-key/message.txt"));
	hp_buf idf = slurp(vpath("openssl-key/key_id"));
	hp_buf b64 = slurp(vpath("openssl-key/public.b64"));
	hp_err e = HP_ERR_INIT;
	hp_key *k = NULL;
	uint8_t pk[32], pk2[32], sig[64], want_sig[64];
	char id[17];

	ok(!hp_key_pem_is_encrypted(pem.data, pem.len), "openssl key: not encrypted");
	is_int(hp_key_parse_pem(pem.data, pem.len, NULL, &k, &e), HP_OK,
	       "parse `openssl genpkey -algorithm ed25519` output");
	hp_key_public(k, pk);
	is_int(hp_pubkey_parse(pub.data, pub.len, pk2, &e), HP_OK, "parse `openssl pkey -pubout`");
	is_mem(pk, 32, pk2, 32, "private and public files agree");
	is_int(hp_pubkey_parse(b64.data, b64.len, pk2, &e), HP_OK, "parse base64 raw key");
	is_mem(pk, 32, pk2, 32, "base64 raw key agrees");
	hp_key_id(pk, id);
	idf.data[16] = '\0';
	is_str(id, idf.data, "key id = first 16 hex of sha256sum of the raw key");

	hexfile(vpath("openssl-key/signature.hex"), want_sig, sizeof want_sig);
	is_int(hp_sign_bytes(k, msg.data, msg.len, sig, &e), HP_OK, "sign");
	is_mem(sig, 64, want_sig, 64, "signature equals `openssl pkeyutl -sign -rawin`");

	hp_buf out = HP_BUF_INIT;
	is_int(hp_key_to_pem(k, NULL, &out, &e), HP_OK, "key to PEM");
	is_mem(out.data, out.len, pem.data, pem.len, "PKCS#8 PEM byte for byte as openssl writes it");
	hp_buf_reset(&out);
	is_int(hp_pubkey_to_pem(pk, &out, &e), HP_OK, "public key to PEM");
	is_mem(out.data, out.len, pub.data, pub.len, "SPKI PEM byte for byte as openssl writes it");
	hp_buf_release(&out);
	hp_key_free(k);

	/* encrypted by openssl: PBES2, PBKDF2-HMAC-SHA256, AES-256-CBC */
	hp_buf enc = slurp(vpath("openssl-key/key-aes256.pem"));
	ok(hp_key_pem_is_encrypted(enc.data, enc.len), "openssl -aes256 key: encrypted");
	k = NULL;
	is_int(hp_key_parse_pem(enc.data, enc.len, "correct horse battery staple", &k, &e), HP_OK,
	       "decrypt an openssl -aes256 key");
	if (k) {
		hp_key_public(k, pk2);
		is_mem(pk, 32, pk2, 32, "decrypted key is the same key");
		hp_key_free(k);
	}
	k = NULL;
	hp_err_clear(&e);
	is_int(hp_key_parse_pem(enc.data, enc.len, "wrong", &k, &e), HP_E_DATA, "wrong passphrase");
	is_str(e.msg, "cannot decrypt the key: wrong passphrase?", "wrong passphrase message");
	ok(k == NULL, "no key on failure");
	hp_err_clear(&e);
	is_int(hp_key_parse_pem(enc.data, enc.len, NULL, &k, &e), HP_E_USAGE, "no passphrase");
	ok(contains(e.msg, "protected by a passphrase"), "no passphrase message: %s", e.msg);

	hp_buf_release(&pem);
	hp_buf_release(&pub);
	hp_buf_release(&msg);
	hp_buf_release(&idf);
	hp_buf_release(&b64);
	hp_buf_release(&enc);
}

static void test_roundtrip(void)
{
	hp_err e = HP_ERR_INIT;
	hp_key *k = NULL, *k2 = NULL;
	uint8_t pk[32], pk2[32], sig[64];
	is_int(hp_key_generate(&k, &e), HP_OK, "generate");
	hp_key_public(k, pk);

	hp_buf pem = HP_BUF_INIT;
	is_int(hp_key_to_pem(k, NULL, &pem, &e), HP_OK, "to PEM without passphrase");
	ok(contains(pem.data, "-----BEGIN PRIVATE KEY-----\n"), "plain PKCS#8 label");
	is_int(hp_key_parse_pem(pem.data, pem.len, NULL, &k2, &e), HP_OK, "parse it back");
	hp_key_public(k2, pk2);
	is_mem(pk, 32, pk2, 32, "same key after the round trip");
	is_int(hp_sign_bytes(k2, "x", 1, sig, &e), HP_OK, "the parsed key signs");
	ok(hp_verify_bytes(pk, "x", 1, sig), "... verifiably");
	hp_key_free(k2);
	k2 = NULL;

	hp_buf_reset(&pem);
	is_int(hp_key_to_pem(k, "s3cret pass", &pem, &e), HP_OK, "to PEM with passphrase");
	ok(contains(pem.data, "-----BEGIN ENCRYPTED PRIVATE KEY-----\n"), "encrypted PKCS#8 label");
	ok(hp_key_pem_is_encrypted(pem.data, pem.len), "reported as encrypted");
	ok(!contains(pem.data, "MC4CAQAw"), "no plaintext PKCS#8 inside");
	is_int(hp_key_parse_pem(pem.data, pem.len, "s3cret pass", &k2, &e), HP_OK,
	       "parse back with the passphrase");
	if (k2) {
		hp_key_public(k2, pk2);
		is_mem(pk, 32, pk2, 32, "same key after the encrypted round trip");
		hp_key_free(k2);
	}
	k2 = NULL;
	is_int(hp_key_parse_pem(pem.data, pem.len, "s3cret pasS", &k2, &e), HP_E_DATA,
	       "wrong passphrase refused");

	/* a file of mode 0600 loads; 0644 and 0640 do not */
	write_file(tpath("k.pem"), pem.data, pem.len, 0600);
	is_int(hp_key_load(tpath("k.pem"), "s3cret pass", &k2, &e), HP_OK, "load a 0600 key file");
	hp_key_free(k2);
	k2 = NULL;
	chmod(tpath("k.pem"), 0644);
	is_int(hp_key_load(tpath("k.pem"), "s3cret pass", &k2, &e), HP_E_PERM, "0644 key refused");
	ok(contains(e.msg, "has mode 0644") && contains(e.msg, "k.pem"), "mode message: %s", e.msg);
	chmod(tpath("k.pem"), 0640);
	is_int(hp_key_load(tpath("k.pem"), "s3cret pass", &k2, &e), HP_E_PERM, "0640 key refused");
	chmod(tpath("k.pem"), 0400);
	is_int(hp_key_load(tpath("k.pem"), NULL, &k2, &e), HP_E_USAGE,
	       "encrypted key file without a passphrase");
	ok(contains(e.msg, "k.pem'") && contains(e.msg, "passphrase"), "message: %s", e.msg);
	is_int(hp_key_load(tpath("k.pem"), "nope", &k2, &e), HP_E_DATA, "wrong passphrase (file)");
	ok(contains(e.msg, "cannot decrypt '") && contains(e.msg, "wrong passphrase?"),
	   "message: %s", e.msg);
	is_int(hp_key_load(tpath("missing.pem"), NULL, &k2, &e), HP_E_NOINPUT, "missing file");
	ok(contains(e.msg, "No such file or directory"), "message: %s", e.msg);
	is_int(hp_key_load(tmpdir, NULL, &k2, &e), HP_E_NOINPUT, "a directory");
	ok(contains(e.msg, "is a directory"), "message: %s", e.msg);
	write_file(tpath("empty.pem"), "", 0, 0600);
	is_int(hp_key_load(tpath("empty.pem"), NULL, &k2, &e), HP_E_DATA, "an empty file");
	ok(contains(e.msg, "empty.pem' is empty"), "message: %s", e.msg);
	ok(k2 == NULL, "no key from failures");
	unlink(tpath("k.pem"));
	unlink(tpath("empty.pem"));
	hp_buf_release(&pem);
	hp_key_free(k);
}

static void expect_bad_key(const char *text, size_t len, hp_code code, const char *msg,
			   const char *label)
{
	hp_err e = HP_ERR_INIT;
	hp_key *k = NULL;
	hp_code rc = hp_key_parse_pem(text, len, "pass", &k, &e);
	is_int(rc, code, "%s refused", label);
	ok(contains(e.msg, msg), "%s: message '%s'", label, e.msg);
	ok(!strchr(e.msg, '\n'), "%s: one line", label);
	hp_key_free(k);
}

static void expect_bad_vector(const char *rel, const char *msg)
{
	hp_buf b = slurp(vpath(rel));
	expect_bad_key(b.data, b.len, HP_E_DATA, msg, rel);
	hp_buf_release(&b);
}

static void test_bad_keys(void)
{
	expect_bad_vector("openssl-key/rsa.pem", "the key is an RSA key, not Ed25519");
	expect_bad_vector("openssl-key/ec.pem", "the key is an EC key, not Ed25519");
	expect_bad_vector("openssl-key/ec-traditional.pem", "the key is an EC key, not Ed25519");
	expect_bad_vector("openssl-key/x25519.pem", "the key is an X25519 key, not Ed25519");
	expect_bad_vector("openssl-key/key.pub", "is a public key, not a private key");
	expect_bad_vector("openssl-key/message.txt", "not PEM: no '-----BEGIN' line");

	hp_buf pem = slurp(vpath("openssl-key/key.pem"));
	expect_bad_key(pem.data, 0, HP_E_DATA, "is empty", "empty");
	expect_bad_key(pem.data, 40, HP_E_DATA, "not valid PEM", "truncated after BEGIN");
	expect_bad_key(pem.data, pem.len - 10, HP_E_DATA, "not valid PEM", "truncated END line");
	char *bad = strdup(pem.data);
	bad[40] = '*';
	expect_bad_key(bad, pem.len, HP_E_DATA, "not valid PEM", "a bad base64 character");
	free(bad);
	bad = strdup(pem.data);
	bad[30] = bad[30] == 'A' ? 'B' : 'A';  /* changes the DER: no longer PKCS#8 */
	expect_bad_key(bad, pem.len, HP_E_DATA, "not a valid", "corrupt DER");
	free(bad);
	const char cert[] = "-----BEGIN CERTIFICATE-----\nMAA=\n-----END CERTIFICATE-----\n";
	expect_bad_key(cert, sizeof cert - 1, HP_E_DATA, "holds a PEM 'CERTIFICATE' block",
		       "a certificate");
	/* a 32-byte seed behind a different OID length: not Ed25519 */
	const char two[] =
		"-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIM0I1qTh5QQD/H7wHzMDAlbcml8RMGnOPdaSHALUtIwB\n"
		"-----END PRIVATE KEY-----\n"
		"-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIM0I1qTh5QQD/H7wHzMDAlbcml8RMGnOPdaSHALUtIwB\n"
		"-----END PRIVATE KEY-----\n";
	expect_bad_key(two, sizeof two - 1, HP_E_DATA, "more than one private key", "two keys");
	hp_buf_release(&pem);
}

static void test_pubkey_parse(void)
{
	hp_err e = HP_ERR_INIT;
	uint8_t pk[32], want[32];
	hp_buf b = slurp(vpath("openssl-key/key.pub"));
	hp_pubkey_parse(b.data, b.len, want, &e);
	hp_buf_release(&b);

	hp_buf ms = HP_BUF_INIT;
	is_int(hp_minisign_pubkey(want, &ms, &e), HP_OK, "minisign public key");
	char id[17], line[100];
	hp_key_id(want, id);
	snprintf(line, sizeof line, "untrusted comment: minisign public key %s\n", id);
	ok(strncmp(ms.data, line, strlen(line)) == 0, "minisign comment names the key id");
	is_int(hp_pubkey_parse(ms.data, ms.len, pk, &e), HP_OK, "parse a minisign public key file");
	is_mem(pk, 32, want, 32, "... same key");
	const char *l2 = strchr(ms.data, '\n') + 1;
	is_int(hp_pubkey_parse(l2, strlen(l2), pk, &e), HP_OK, "parse a minisign key line");
	is_mem(pk, 32, want, 32, "... same key");
	/* minisign's keynum, read as little-endian, prints as our key id */
	uint8_t blob[42];
	size_t got;
	sodium_base642bin(blob, sizeof blob, l2, 56, NULL, &got, NULL, sodium_base64_VARIANT_ORIGINAL);
	char shown[17];
	unsigned long long v = 0;
	for (int i = 7; i >= 0; i--)
		v = (v << 8) | blob[2 + i];
	snprintf(shown, sizeof shown, "%016llx", v);
	is_str(shown, id, "minisign's displayed key id equals hp_key_id");
	hp_buf_release(&ms);

	b = slurp(vpath("minisign/minisign.pub"));
	is_int(hp_pubkey_parse(b.data, b.len, pk, &e), HP_OK, "parse a file made by minisign -G");
	hp_buf_release(&b);
	b = slurp(vpath("openssl-key/rsa.pub"));
	is_int(hp_pubkey_parse(b.data, b.len, pk, &e), HP_E_DATA, "RSA public key refused");
	is_str(e.msg, "the public key is an RSA key, not Ed25519", "RSA public key message");
	hp_buf_release(&b);
	b = slurp(vpath("openssl-key/key.pem"));
	is_int(hp_pubkey_parse(b.data, b.len, pk, &e), HP_E_DATA, "private key refused");
	ok(contains(e.msg, "is a private key, not a public key"), "message: %s", e.msg);
	hp_buf_release(&b);
	const char zero[] = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
	is_int(hp_pubkey_parse(zero, strlen(zero), pk, &e), HP_E_DATA, "all-zero key refused");
	ok(contains(e.msg, "not a valid Ed25519 public key"), "message: %s", e.msg);
	const char shortk[] = "AAAA";
	is_int(hp_pubkey_parse(shortk, 4, pk, &e), HP_E_DATA, "short base64 refused");
	is_int(hp_pubkey_parse("", 0, pk, &e), HP_E_DATA, "empty refused");
	is_int(hp_pubkey_parse(" \n", 2, pk, &e), HP_E_DATA, "blank refused");
	is_int(hp_pubkey_load(tpath("missing.pub"), pk, &e), HP_E_NOINPUT, "missing file");
}

static void test_minisign(void)
{
	hp_err e = HP_ERR_INIT;
	uint8_t mpk[32], pk[32];
	hp_buf b = slurp(vpath("minisign/minisign.pub"));
	hp_pubkey_parse(b.data, b.len, mpk, &e);
	hp_buf_release(&b);
	hp_buf sig = slurp(vpath("minisign/message.txt.minisig"));
	hp_buf tc = HP_BUF_INIT;
	is_int(hp_minisign_verify_file(mpk, vpath("minisign/message.txt"), sig.data, sig.len, &tc, &e),
	       HP_OK, "verify a signature made by minisign -S");
	is_str(tc.data, "hp-sign test vector", "its trusted comment");
	is_int(hp_minisign_verify_file(mpk, vpath("openssl-key/message.txt"), sig.data, sig.len, NULL,
				       &e), HP_E_INVALID, "another file fails");

	/* the same seed through hp-sign gives the same signatures (Ed25519 is
	 * deterministic); only the key number differs (minisign's is random) */
	hp_buf pem = slurp(vpath("minisign/minisign-key.pem"));
	hp_key *k = NULL;
	is_int(hp_key_parse_pem(pem.data, pem.len, NULL, &k, &e), HP_OK, "minisign's seed as PKCS#8");
	hp_buf_release(&pem);
	hp_key_public(k, pk);
	is_mem(pk, 32, mpk, 32, "same public key as minisign.pub");
	hp_buf out = HP_BUF_INIT;
	is_int(hp_minisign_sign_file(k, vpath("minisign/message.txt"), "hp-sign test vector", &out,
				     &e), HP_OK, "sign with hp-sign");
	char *ml[4], *ol[4];
	char *mcopy = strdup(sig.data), *ocopy = strdup(out.data), *sm = NULL, *so = NULL;
	for (int i = 0; i < 4; i++) {
		ml[i] = strtok_r(i ? NULL : mcopy, "\n", &sm);
		ol[i] = strtok_r(i ? NULL : ocopy, "\n", &so);
	}
	uint8_t mb[74], ob[74];
	size_t n1 = 0, n2 = 0;
	sodium_base642bin(mb, sizeof mb, ml[1], strlen(ml[1]), NULL, &n1, NULL,
			  sodium_base64_VARIANT_ORIGINAL);
	sodium_base642bin(ob, sizeof ob, ol[1], strlen(ol[1]), NULL, &n2, NULL,
			  sodium_base64_VARIANT_ORIGINAL);
	ok(n1 == 74 && n2 == 74 && memcmp(ob, "ED", 2) == 0, "prehashed ED signature blob");
	is_mem(ob + 10, 64, mb + 10, 64, "file signature equals minisign's");
	is_str(ol[2], ml[2], "trusted comment line equals minisign's");
	is_str(ol[3], ml[3], "global signature equals minisign's");
	char id[17], want[80];
	hp_key_id(pk, id);
	snprintf(want, sizeof want, "untrusted comment: signature from hp-sign secret key %s", id);
	is_str(ol[0], want, "untrusted comment names the key id");
	free(mcopy);
	free(ocopy);

	is_int(hp_minisign_verify_file(pk, vpath("minisign/message.txt"), out.data, out.len, &tc, &e),
	       HP_OK, "hp-sign's own signature verifies");

	/* tampering */
	char *t = strdup(out.data);
	char *c = strstr(t, "test vector");
	c[0] = 'T';
	is_int(hp_minisign_verify_file(pk, vpath("minisign/message.txt"), t, strlen(t), NULL, &e),
	       HP_E_INVALID, "changed trusted comment fails");
	ok(contains(e.msg, "trusted comment signature is invalid"), "message: %s", e.msg);
	free(t);
	is_int(hp_minisign_verify_file(pk, vpath("minisign/message.txt"), out.data, 100, NULL, &e),
	       HP_E_DATA, "truncated signature is malformed");
	uint8_t other[32];
	hexfile(vpath("rfc8032-test1/public.hex"), other, sizeof other);
	is_int(hp_minisign_verify_file(other, vpath("minisign/message.txt"), out.data, out.len, NULL,
				       &e), HP_E_INVALID, "another key fails");
	ok(contains(e.msg, "key id differs"), "message: %s", e.msg);
	const char legacy[] = "untrusted comment: x\nRWQD8ZkK9kxw4RlRFvaNviCJ/9g8bB2dXXj/F+T6jJOW5HByN5YanBuFdcMiIH8PCYv+LoNgnjZK+L01GBLiS3DUvLIA6vdb6Ak=\ntrusted comment: y\nOx/3aWA0qEgRwU9vUVpnxHX+7IFdZrvbuy/8RfP8bFyAiOWt+8XeQ+qlhO5ehxnt/nwqZlc3zr4g3AuJI9/qDA==\n";
	is_int(hp_minisign_verify_file(pk, vpath("minisign/message.txt"), legacy, strlen(legacy), NULL,
				       &e), HP_E_DATA, "legacy signature refused");

	/* comments */
	hp_buf_reset(&out);
	is_int(hp_minisign_sign_file(k, vpath("minisign/message.txt"), "a\nb", &out, &e), HP_E_USAGE,
	       "newline in the trusted comment refused");
	is_int(hp_minisign_sign_file(k, vpath("minisign/message.txt"), "caf\xc3\xa9\tok", &out, &e),
	       HP_OK, "UTF-8 and tab in the trusted comment");
	ok(!hp_minisign_comment_ok("\xc2\x85"), "C1 control refused");
	ok(!hp_minisign_comment_ok("\xff"), "invalid UTF-8 refused");
	hp_buf dc = HP_BUF_INIT;
	hp_minisign_default_comment("some/dir/a\tb\x01\xc3\xa9.txt", 1700000000, &dc, &e);
	is_str(dc.data, "timestamp:1700000000\tfile:a?b?\xc3\xa9.txt\thashed", "default comment");
	hp_buf_release(&dc);
	hp_buf_reset(&out);
	is_int(hp_minisign_sign_file(k, tmpdir, NULL, &out, &e), HP_E_NOINPUT, "a directory refused");

	hp_buf_release(&out);
	hp_buf_release(&tc);
	hp_buf_release(&sig);
	hp_key_free(k);
}

int main(void)
{
	const char *r = getenv("HP_ROOT");
	snprintf(root, sizeof root, "%s", r && *r ? r : ".");
	if (!mkdtemp(tmpdir)) {
		printf("Bail out! mkdtemp\n");
		return 1;
	}
	hp_err e = HP_ERR_INIT;
	is_int(hp_sign_init(&e), HP_OK, "init");
	is_int(hp_sign_init(&e), HP_OK, "init is idempotent");
	test_rfc8032("rfc8032-test1");
	test_rfc8032("rfc8032-test2");
	test_rfc8032("rfc8032-test3");
	test_rfc8032("rfc8032-test1024");
	test_rfc8032("rfc8032-sha-abc");
	test_key_id();
	test_openssl_key();
	test_roundtrip();
	test_bad_keys();
	test_pubkey_parse();
	test_minisign();
	rmdir(tmpdir);
	return done();
}
