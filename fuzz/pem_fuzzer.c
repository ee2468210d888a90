/* Fuzz the key parsers of hp_sign and hp_trust with the same bytes:
 *
 * - hp_key_parse_pem without a passphrase and with one ("fuzz"); a key that
 *   parses must sign, verify its own signature, and survive a PEM round trip;
 * - hp_pubkey_parse; a key that parses is a valid point, and its PEM form
 *   parses back to the same key;
 * - hp_trust_parse; every key in the set is found by hp_trust_contains.
 * Messages must be one line. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hp_buf.h"
#include "hp_sign.h"
#include "hp_trust.h"

#include "banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_msg(const hp_err *e)
{
	if (strchr(e->msg, '\n'))
		abort();
}

static void check_key(const char *text, size_t len, const char *pass)
{
	hp_err e = HP_ERR_INIT;
	hp_key *k = NULL;
	if (hp_key_parse_pem(text, len, pass, &k, &e) != HP_OK) {
		check_msg(&e);
		if (k)
			abort();
		return;
	}
	uint8_t pk[32], pk2[32], sig[64];
	hp_key_public(k, pk);
	if (hp_sign_bytes(k, text, len, sig, &e) || !hp_verify_bytes(pk, text, len, sig))
		abort();
	hp_buf pem = HP_BUF_INIT;
	hp_key *k2 = NULL;
	if (hp_key_to_pem(k, NULL, &pem, &e) || hp_key_parse_pem(pem.data, pem.len, NULL, &k2, &e))
		abort();
	hp_key_public(k2, pk2);
	if (memcmp(pk, pk2, 32) != 0)
		abort();
	hp_buf_release(&pem);
	hp_key_free(k2);
	hp_key_free(k);
}

static void check_pubkey(const char *text, size_t len)
{
	hp_err e = HP_ERR_INIT;
	uint8_t pk[32], pk2[32];
	if (hp_pubkey_parse(text, len, pk, &e) != HP_OK) {
		check_msg(&e);
		return;
	}
	hp_buf pem = HP_BUF_INIT;
	if (hp_pubkey_to_pem(pk, &pem, &e) || hp_pubkey_parse(pem.data, pem.len, pk2, &e) ||
	    memcmp(pk, pk2, 32) != 0)
		abort();
	hp_buf_release(&pem);
}

static void check_trust(const char *text, size_t len)
{
	hp_err e = HP_ERR_INIT;
	hp_trust *t = NULL;
	if (hp_trust_parse(text, len, "fuzz", &t, &e) != HP_OK) {
		check_msg(&e);
		if (t)
			abort();
		return;
	}
	size_t n = hp_trust_count(t);
	if (n == 0)
		abort();
	for (size_t i = 0; i < n; i++)
		if (!hp_trust_contains(t, hp_trust_key(t, i)))
			abort();
	hp_trust_free(t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	check_key(text, size, NULL);
	check_key(text, size, "fuzz");
	check_pubkey(text, size);
	check_trust(text, size);
	return 0;
}
