/* Fuzz hp_json_parse + hp_manifest_validate + hp_manifest_canonical.
 *
 * For any document hp_json_parse accepts:
 * - validation (full and --schema-only, each with a problems array) returns
 *   HP_OK or HP_E_DATA, lists a problem exactly when it fails, every problem
 *   is {"where": string, "message": string}, and the error message is the
 *   first problem;
 * - the semantic checks only add to the schema's: a manifest that passes
 *   them passes the schema-only check;
 * - a valid manifest has canonical bytes that are valid UTF-8, hold no
 *   "signature" member, parse back to a manifest that is valid (unsigned)
 *   and canonicalize to the same bytes; its content_id is that of its files;
 *   hp_manifest_check_signature says good or bad, never malformed;
 *   hp_manifest_build from its files and name/version gives the same
 *   files, content_id and total_size;
 * - what hp_mlite_parse accepts, hp_json_parse + hp_manifest_validate
 *   accept, with the same canonical bytes and json_dumps. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hp_io.h"
#include "hp_jcs.h"
#include "hp_json.h"
#include "hp_manifest.h"

#include "banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Validate with flags; check the problems array against the result. */
static hp_code validate(const json_t *m, unsigned flags)
{
	json_t *problems = json_array();
	hp_err e = HP_ERR_INIT;
	if (!problems)
		return HP_E_NOMEM;
	hp_code rc = hp_manifest_validate(m, flags, problems, &e);
	if (rc != HP_OK && rc != HP_E_DATA)
		abort();
	if ((rc == HP_OK) != (json_array_size(problems) == 0))
		abort();  /* a failure lists its problems, a success none */
	if (rc == HP_OK && e.code != HP_OK)
		abort();
	size_t i;
	json_t *p;
	json_array_foreach(problems, i, p) {
		const char *where = json_string_value(json_object_get(p, "where"));
		const char *msg = json_string_value(json_object_get(p, "message"));
		if (json_object_size(p) != 2 || !where || !msg || !*msg)
			abort();
		if (i == 0) {
			/* e.msg is "where: message" (or the message alone), maybe truncated */
			size_t wl = strlen(where);
			if (wl && (strncmp(e.msg, where, wl) != 0 || strncmp(e.msg + wl, ": ", 2) != 0))
				abort();
			const char *rest = wl ? e.msg + wl + 2 : e.msg;
			if (strncmp(rest, msg, strlen(rest)) != 0)
				abort();
		}
	}
	json_decref(problems);
	return rc;
}

static bool all_integer_sizes(const json_t *files)
{
	size_t i;
	json_t *f;
	json_array_foreach(files, i, f)
		if (!json_is_integer(json_object_get(f, "size")))
			return false;
	return true;
}

static void check_valid(const json_t *m)
{
	hp_buf canon = HP_BUF_INIT, again = HP_BUF_INIT;
	hp_err e = HP_ERR_INIT;
	json_t *back = NULL, *built = NULL;

	hp_code rc = hp_manifest_canonical(m, &canon, &e);
	if (rc == HP_E_NOMEM)
		goto out;
	if (rc != HP_OK || canon.len == 0 || !hp_utf8_valid(canon.data, canon.len))
		abort();
	rc = hp_json_parse(canon.data, canon.len, "canonical", &back, &e);
	if (rc == HP_E_NOMEM)
		goto out;
	if (rc != HP_OK || !json_is_object(back) || json_object_get(back, "signature"))
		abort();
	if (validate(back, HP_MANIFEST_UNSIGNED_OK) != HP_OK)
		abort();  /* the canonical form of a valid manifest is a valid manifest */
	if (hp_manifest_canonical(back, &again, &e) != HP_OK || again.len != canon.len ||
	    memcmp(again.data, canon.data, canon.len) != 0)
		abort();  /* and a fixed point */

	char cid[65];
	if (hp_manifest_content_id(json_object_get(m, "files"), cid, &e) != HP_OK ||
	    strcmp(cid, json_string_value(json_object_get(m, "content_id"))) != 0)
		abort();

	if (json_object_get(m, "signature")) {
		uint8_t pk[32];
		rc = hp_manifest_check_signature(m, pk, &e);
		if (rc != HP_OK && rc != HP_E_INVALID)
			abort();  /* a validated block is never malformed */
	}

	/* rebuilding from the files gives the same list (hp_manifest_build sums
	 * json_integer_value, so only for integer sizes) */
	const json_t *files = json_object_get(m, "files");
	if (all_integer_sizes(files)) {
		hp_manifest_meta meta = { .name = json_string_value(json_object_get(m, "name")),
					  .version = json_string_value(json_object_get(m, "version")),
					  .timestamp = "2026-01-01T00:00:00Z" };
		json_t *copy = json_deep_copy(files);
		if (!copy)
			goto out;
		rc = hp_manifest_build(&meta, copy, &built, &e);
		if (rc == HP_E_NOMEM)
			goto out;
		if (rc != HP_OK || !json_equal(json_object_get(built, "files"), files) ||
		    !json_equal(json_object_get(built, "content_id"), json_object_get(m, "content_id")) ||
		    !json_equal(json_object_get(built, "total_size"), json_object_get(m, "total_size")))
			abort();
	}
out:
	json_decref(back);
	json_decref(built);
	hp_buf_release(&canon);
	hp_buf_release(&again);
}

/* What hp_mlite_parse accepts, the jansson path accepts, with the same
 * canonical bytes and the same json_dumps (with "files" from the text). */
static void check_mlite(const char *data, size_t size, unsigned flags)
{
	hp_mlite lite;
	if (!hp_mlite_parse(data, size, flags, &lite))
		return;
	json_t *m = NULL;
	hp_err e = HP_ERR_INIT;
	hp_buf canon = HP_BUF_INIT, dump = HP_BUF_INIT;
	if (hp_json_parse(data, size, "input", &m, &e) != HP_OK || hp_manifest_validate(m, flags, NULL, &e) != HP_OK)
		abort();
	hp_code rc = hp_manifest_canonical(m, &canon, &e);
	if (rc != HP_E_NOMEM && (rc != HP_OK || canon.len != lite.canonical.len ||
				 memcmp(canon.data, lite.canonical.data, canon.len) != 0))
		abort();
	char *want = json_dumps(m, JSON_INDENT(2));
	rc = want ? hp_mlite_dump(&lite, lite.head, &dump, &e) : HP_E_NOMEM;
	if (rc != HP_E_NOMEM && (rc != HP_OK || strlen(want) != dump.len || memcmp(want, dump.data, dump.len) != 0))
		abort();
	free(want);
	hp_buf_release(&canon);
	hp_buf_release(&dump);
	json_decref(m);
	hp_mlite_free(&lite);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *m = NULL;
	hp_err e = HP_ERR_INIT;
	check_mlite((const char *)data, size, HP_MANIFEST_UNSIGNED_OK);
	check_mlite((const char *)data, size, 0);
	if (hp_json_parse((const char *)data, size, "input", &m, &e) != HP_OK)
		return 0;
	hp_code full = validate(m, HP_MANIFEST_UNSIGNED_OK);
	hp_code schema = validate(m, HP_MANIFEST_UNSIGNED_OK | HP_MANIFEST_SCHEMA_ONLY);
	hp_code signed_full = validate(m, 0);
	validate(m, HP_MANIFEST_SCHEMA_ONLY);
	if (full == HP_OK && schema != HP_OK)
		abort();  /* the semantic checks only add to the schema's */
	if (signed_full == HP_OK && full != HP_OK)
		abort();  /* requiring a signature only adds a check */
	if (full == HP_OK)
		check_valid(m);
	json_decref(m);
	return 0;
}
