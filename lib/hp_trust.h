/* hp_trust: a set of trusted Ed25519 public keys.
 *
 * A trust file holds any mix of:
 *   - PEM "PUBLIC KEY" (SPKI) blocks, as `hp-sign keygen` and `openssl pkey
 *     -pubout` write them;
 *   - minisign public key files: an "untrusted comment:" line followed by the
 *     base64 key line (the comment is ignored, as minisign does);
 *   - lines holding one key in base64: the raw 32 bytes, or a minisign key line.
 * Blank lines and lines starting with '#' (after leading blanks) are ignored.
 * A malformed entry, a private key, or a file with no key at all is HP_E_DATA
 * naming the file and line ("'keys' line 4: ..."). Duplicates count once.
 * Only membership lives here; expiry and rollback state are elsewhere. */
#ifndef HP_TRUST_H
#define HP_TRUST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hp_err.h"

/* The most bytes a trust file may have. */
#define HP_TRUST_FILE_MAX (1024u * 1024)

typedef struct hp_trust hp_trust;

/* An empty set. */
hp_code hp_trust_new(hp_trust **out, hp_err *e);
/* Read a trust file ("-" = stdin). */
hp_code hp_trust_load(const char *path, hp_trust **out, hp_err *e);
/* Parse trust-file text; name is used in messages ("'name' line N"). */
hp_code hp_trust_parse(const char *text, size_t len, const char *name, hp_trust **out, hp_err *e);
/* Add one key (a no-op if it is already there). */
hp_code hp_trust_add(hp_trust *t, const uint8_t pk[32], hp_err *e);
bool hp_trust_contains(const hp_trust *t, const uint8_t pk[32]);
size_t hp_trust_count(const hp_trust *t);
/* The i-th key (i < count), in file order. */
const uint8_t *hp_trust_key(const hp_trust *t, size_t i);
void hp_trust_free(hp_trust *t);

#endif
