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

/* Sign m with its canonical bytes already made (hp_manifest_canonical or
 * hp_mlite_parse). */
hp_code hp_manifest_sign_canonical(json_t *m, const hp_key *key, const char *signed_at, const void *canon,
				   size_t canon_len, hp_err *e);

/* hp_manifest_check_signature with the canonical bytes already made; NULL
 * makes them. */
hp_code hp_manifest_check_signature_canonical(const json_t *m, const void *canonical, size_t canonical_len,
					      uint8_t public_key[32], hp_err *e);

/* A manifest read without a jansson tree of its files (100,000 files: a
 * fraction of the time and memory). */
typedef struct hp_mlite {
	json_t *head;         /* every member, in the text's order, with "files": [] */
	hp_buf canonical;     /* hp_manifest_canonical's bytes */
	const char *files;    /* the files array's text, in the caller's data */
	size_t files_len;
	size_t nfiles;
} hp_mlite;

/* true: data is a manifest that hp_manifest_validate(flags) accepts, and m
 * is filled in (free with hp_mlite_free; it points into data). false: m is
 * empty; the manifest is not in the plain form this path reads (strings
 * with escapes, numbers as reals, ...) or is not valid: parse it with
 * hp_json_parse and check it with hp_manifest_validate, which say why. */
bool hp_mlite_parse(const char *data, size_t len, unsigned flags, hp_mlite *m);
void hp_mlite_free(hp_mlite *m);

/* json_dumps(JSON_INDENT(2)) of the manifest whose members are head's (as
 * m->head, changed or not, with "files": []) and whose files are m's,
 * appended to out. */
hp_code hp_mlite_dump(const hp_mlite *m, const json_t *head, hp_buf *out, hp_err *e);

/* hp_manifest_load, by hp_mlite_parse when it can: then lite->head is set
 * and *out NULL, else *out is the manifest. text keeps the file (lite
 * points into it); release it after lite. */
hp_code hp_manifest_load_any(const char *path, unsigned flags, hp_buf *text, hp_mlite *lite, json_t **out,
			     hp_err *e);

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
	const char *torrent_infohash;     /* the canonical torrent's (hp_mkt) */
	const char *torrent_infohash_v2;
	const char *torrent_magnet;
} hp_manifest_meta;

/* Build an unsigned manifest from file entries {path, size, sha256[, cid]
 * [, mime_type]} (the array is taken over, even on failure): sorts them
 * bytewise by path, refuses duplicates, sums total_size, computes
 * content_id, and validates the result. */
hp_code hp_manifest_build(const hp_manifest_meta *meta, json_t *files, json_t **out, hp_err *e);

/* A file of a new manifest, for hp_manifest_files_make. */
typedef struct hp_manifest_file {
	const char *path;
	size_t path_len;
	uint64_t size;
	const uint8_t *sha256;  /* 32 bytes */
	const char *cid;        /* NULL: none */
	const char *mime_type;  /* NULL: none */
} hp_manifest_file;

/* A new manifest as text, without a jansson tree of its files, in two steps
 * (the first may run while something else is made):
 *
 *     hp_manifest_files f = HP_MANIFEST_FILES_INIT;
 *     hp_manifest_files_make(files, n, &f, &e);   sorted, checked, content id
 *     hp_manifest_text(&meta, &f, &text, &e);     checked, written
 *
 * The text is what hp_manifest_build's manifest is written as
 * (json_dumps(JSON_INDENT(2)), no newline at the end), and both steps check
 * what hp_manifest_validate(HP_MANIFEST_UNSIGNED_OK) would. */
typedef struct hp_manifest_files {
	hp_buf text;            /* the entries, as they are written inside "files": [ ... ] */
	char content_id[65];
	uint64_t total;
	size_t n;
} hp_manifest_files;

#define HP_MANIFEST_FILES_INIT { HP_BUF_INIT, { 0 }, 0, 0 }

/* files is sorted here (bytewise by path); a duplicate path or an entry the
 * schema refuses is HP_E_DATA naming it. */
hp_code hp_manifest_files_make(hp_manifest_file *files, size_t n, hp_manifest_files *out, hp_err *e);
void hp_manifest_files_release(hp_manifest_files *f);

/* The manifest of meta and files appended to text (files->text is used up:
 * when text is empty it becomes text, without a copy); HP_E_DATA for meta
 * the schema refuses. */
hp_code hp_manifest_text(const hp_manifest_meta *meta, hp_manifest_files *files, hp_buf *text, hp_err *e);

#endif
