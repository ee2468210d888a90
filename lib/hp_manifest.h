/* hp_manifest: the manifest model (schema version 1.0), its validation, the
 * canonical bytes that get signed, and signing/verifying a manifest.
 *
 * A manifest is held as a jansson object; hp_manifest_validate is the single
 * place that decides whether one is well-formed (schema + semantics), and
 * every other function assumes a validated manifest. */
#ifndef HP_MANIFEST_H
#define HP_MANIFEST_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "hp_buf.h"
#include "hp_err.h"
#include "hp_sign.h"

#define HP_MANIFEST_VERSION "1.0"
/* The most bytes a manifest file may have. */
#define HP_MANIFEST_MAX_BYTES (64u * 1024 * 1024)

enum {
	HP_MANIFEST_SCHEMA_ONLY = 1 << 0,   /* what the JSON Schema checks, nothing more */
	HP_MANIFEST_UNSIGNED_OK = 1 << 1,   /* a missing signature block is fine */
};

/* Check m. On failure returns HP_E_DATA with the first problem in e; when
 * problems is non-NULL, every problem is appended to it as
 * {"where": "files[2].path", "message": "..."}. */
hp_code hp_manifest_validate(const json_t *m, unsigned flags, json_t *problems, hp_err *e);

/* Read (bounded), parse and validate a manifest file ("-" = stdin). */
hp_code hp_manifest_load(const char *path, unsigned flags, json_t **out, hp_err *e);

/* The bytes that are signed: RFC 8785 JCS of m without its "signature" member. */
hp_code hp_manifest_canonical(const json_t *m, hp_buf *out, hp_err *e);

/* content_id: lower-case hex SHA-256 of the JCS bytes of the files array. */
hp_code hp_manifest_content_id(const json_t *files, char hex[65], hp_err *e);

/* Sign m in place: sets "signature" {algorithm, public_key, signature,
 * signed_at, key_id}. signed_at NULL means now (RFC 3339 UTC). The fresh
 * signature is verified before it is stored. */
hp_code hp_manifest_sign(json_t *m, const hp_key *key, const char *signed_at, hp_err *e);

/* Check m's signature block against its canonical bytes; the public key is
 * the one in the block (trust is decided by the caller, see hp_trust).
 * HP_E_INVALID on a bad signature, HP_E_DATA on a malformed block. */
hp_code hp_manifest_check_signature(const json_t *m, uint8_t public_key[32], hp_err *e);

/* What a new manifest says besides its files. NULL members are left out;
 * timestamp NULL means now. */
typedef struct hp_manifest_meta {
	const char *name;
	const char *version;
	const char *description;
	const char *uploader_id;
	const char *timestamp;
	const char *expires;
	const char *git_commit;
	const char *git_ref;
	const char *ipfs_gateway;
	const char *ipfs_cid;       /* the package's root directory CID */
	const char *ipfs_import;    /* the UnixFS profile the CIDs were made with */
	const char *const *web_seeds;
	size_t n_web_seeds;
	const char *const *pinning_nodes;
	size_t n_pinning_nodes;
} hp_manifest_meta;

/* Build an unsigned manifest from file entries {path, size, sha256[, cid]
 * [, mime_type]} (the array is taken over, even on failure): sorts them
 * bytewise by path, refuses duplicates, sums total_size, computes
 * content_id, and validates the result. */
hp_code hp_manifest_build(const hp_manifest_meta *meta, json_t *files, json_t **out, hp_err *e);

#endif
