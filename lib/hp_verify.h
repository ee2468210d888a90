/* hp_verify: the client's whole check of a manifest, in TUF's order:
 * bound and parse the input, check its form, verify the signature against a
 * trusted key, check expiry and rollback, and only then look at the content.
 * The result is a JSON report (see schemas/hp-verify.report.schema.json). */
#ifndef HP_VERIFY_H
#define HP_VERIFY_H

#include <jansson.h>
#include <stdbool.h>
#include <time.h>

#include "hp_err.h"

typedef struct hp_verify_opts {
	const char *content_dir;                /* NULL: do not check content */
	const char *const *trusted_key_files;   /* files of trusted public keys */
	size_t n_trusted_key_files;
	bool allow_untrusted;                   /* a good signature by an unknown key is enough */
	bool allow_unsigned;                    /* no signature at all is acceptable */
	bool extra;                             /* report files under content_dir the manifest lacks */
	const char *state_path;                 /* rollback state; NULL: none */
	time_t now;                             /* for expiry */
	int jobs;                               /* hashing threads; 0 = all cores */
} hp_verify_opts;

/* Verify the manifest at path ("-" = stdin). Returns HP_OK when it is valid,
 * HP_E_INVALID when a check failed (e says the first failure; the report
 * lists them all), HP_E_DATA for a malformed manifest or key file,
 * HP_E_NOINPUT when the manifest or content folder cannot be read. *report
 * is set whenever the manifest could be parsed (also on failure). When a
 * state file is given and everything checks out, the version is recorded. */
hp_code hp_verify_manifest(const char *path, const hp_verify_opts *o, json_t **report, hp_err *e);

/* As hp_verify_manifest, and when it returns HP_OK, *manifest gets the
 * manifest it verified (a new reference; NULL otherwise), so a caller that
 * goes on to use it (hp_fetch) never reads the file a second time. With
 * content_dir NULL this is the manifest-only check: form, signature, trust,
 * expiry, rollback. */
hp_code hp_verify_manifest_load(const char *path, const hp_verify_opts *o, json_t **report, json_t **manifest,
				hp_err *e);

/* As hp_verify_manifest_load for a manifest already in memory (a
 * registry's): shown names it in the report and messages. */
hp_code hp_verify_manifest_bytes(const char *data, size_t len, const char *shown, const hp_verify_opts *o,
				 json_t **report, json_t **manifest, hp_err *e);

#endif
