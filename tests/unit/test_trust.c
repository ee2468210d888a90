/* Unit tests for hp_trust: trust files mixing PEM, minisign and base64 keys. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "hp_buf.h"
#include "hp_io.h"
#include "hp_sign.h"
#include "hp_trust.h"
#include "tap.h"
#include "banned.h"

static uint8_t pk_a[32], pk_b[32], pk_c[32], pk_d[32];
static hp_buf pem_a = HP_BUF_INIT, ms_b = HP_BUF_INIT, pem_priv = HP_BUF_INIT;
static char b64_c[64], b64_d[64];

static void make_keys(void)
{
	hp_err e = HP_ERR_INIT;
	uint8_t *pks[4] = { pk_a, pk_b, pk_c, pk_d };
	for (int i = 0; i < 4; i++) {
		hp_key *k;
		if (hp_key_generate(&k, &e)) {
			printf("Bail out! %s\n", e.msg);
			exit(1);
		}
		hp_key_public(k, pks[i]);
		if (i == 0)
			hp_key_to_pem(k, NULL, &pem_priv, &e);
		hp_key_free(k);
	}
	hp_pubkey_to_pem(pk_a, &pem_a, &e);
	hp_minisign_pubkey(pk_b, &ms_b, &e);
	sodium_bin2base64(b64_c, sizeof b64_c, pk_c, 32, sodium_base64_VARIANT_ORIGINAL);
	sodium_bin2base64(b64_d, sizeof b64_d, pk_d, 32, sodium_base64_VARIANT_ORIGINAL);
}

static void expect_error(const char *text, const char *want, const char *label)
{
	hp_err e = HP_ERR_INIT;
	hp_trust *t = NULL;
	is_int(hp_trust_parse(text, strlen(text), "keys.txt", &t, &e), HP_E_DATA, "%s: refused", label);
	ok(strstr(e.msg, want) != NULL, "%s: message '%s'", label, e.msg);
	ok(t == NULL, "%s: no set", label);
}

int main(void)
{
	hp_err e = HP_ERR_INIT;
	make_keys();

	hp_buf f = HP_BUF_INIT;
	hp_buf_addf(&f, &e,
		    "# hybrid-p2p release keys\n"
		    "\n"
		    "%s"
		    "   # indented comment\r\n"
		    "%s"
		    "%s   # carol\n"
		    "%s\n"   /* a duplicate of carol */
		    "\t\n",
		    pem_a.data, ms_b.data, b64_c, b64_c);
	hp_trust *t = NULL;
	is_int(hp_trust_parse(f.data, f.len, "keys.txt", &t, &e), HP_OK, "parse a mixed trust file");
	if (!t)
		return done();
	is_int(hp_trust_count(t), 3, "three distinct keys");
	ok(hp_trust_contains(t, pk_a), "PEM key trusted");
	ok(hp_trust_contains(t, pk_b), "minisign key trusted");
	ok(hp_trust_contains(t, pk_c), "base64 key trusted");
	ok(!hp_trust_contains(t, pk_d), "other key not trusted");
	ok(hp_trust_key(t, 0) && memcmp(hp_trust_key(t, 0), pk_a, 32) == 0, "file order kept");
	ok(hp_trust_key(t, 3) == NULL, "past the end is NULL");
	is_int(hp_trust_add(t, pk_d, &e), HP_OK, "add a key");
	ok(hp_trust_contains(t, pk_d), "added key trusted");
	is_int(hp_trust_count(t), 4, "four keys");
	hp_trust_free(t);

	/* the same through a file, and the minisign key line alone */
	char dir[] = "/tmp/hp-test-trust.XXXXXX", path[128];
	if (!mkdtemp(dir))
		return 1;
	snprintf(path, sizeof path, "%s/trusted.keys", dir);
	const char *line2 = strchr(ms_b.data, '\n') + 1;
	hp_write_file_atomic(path, line2, strlen(line2), 0644, 0, &e);
	t = NULL;
	is_int(hp_trust_load(path, &t, &e), HP_OK, "load a trust file");
	ok(t && hp_trust_count(t) == 1 && hp_trust_contains(t, pk_b), "bare minisign line");
	hp_trust_free(t);
	t = NULL;
	snprintf(path, sizeof path, "%s/missing", dir);
	is_int(hp_trust_load(path, &t, &e), HP_E_NOINPUT, "missing trust file");
	is_int(hp_trust_load(dir, &t, &e), HP_E_NOINPUT, "a directory");
	snprintf(path, sizeof path, "%s/trusted.keys", dir);
	unlink(path);
	rmdir(dir);

	/* errors name the file and line */
	char buf[2048];
	expect_error("", "'keys.txt' holds no public keys", "empty");
	expect_error("# only a comment\n\n", "'keys.txt' holds no public keys", "comments only");
	snprintf(buf, sizeof buf, "%s\nnot-a-key\n", b64_c);
	expect_error(buf, "'keys.txt' line 2 is not a public key", "garbage line");
	snprintf(buf, sizeof buf, "\n\n%s", pem_priv.data);
	expect_error(buf, "'keys.txt' line 3 is a private key, not a public key", "private key");
	snprintf(buf, sizeof buf, "%.*s", (int)(pem_a.len - 26), pem_a.data);
	expect_error(buf, "'keys.txt' line 1: the PEM block has no '-----END' line", "unterminated PEM");
	snprintf(buf, sizeof buf, "%s extra\n", b64_c);
	expect_error(buf, "'keys.txt' line 1: one key per line", "two words");
	expect_error("untrusted comment: x\n", "'keys.txt' line 1: a minisign public key line should follow",
		     "minisign comment alone");
	expect_error("#\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",
		     "'keys.txt' line 2 is not a valid Ed25519 public key", "all-zero key");
	snprintf(buf, sizeof buf, "%.40s\n", b64_c);
	expect_error(buf, "line 1 is not a public key", "truncated base64");

	hp_buf_release(&f);
	hp_buf_release(&pem_a);
	hp_buf_release(&ms_b);
	sodium_memzero(pem_priv.data, pem_priv.len);
	hp_buf_release(&pem_priv);
	return done();
}
