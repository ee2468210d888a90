/* Fuzz hp_package_from_records (hp-hash records -> an unsigned manifest, as
 * `hp-hash ... | hp-manifest create -`).
 *
 * For any input: the result is HP_OK or HP_E_DATA (never another code, never
 * a crash), with a message on failure; on success the manifest validates
 * (unsigned), lists as many files as the input had non-blank lines, each
 * path a clean relative path, total_size the sum of the sizes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hp_manifest.h"
#include "hp_package.h"

#include "banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t nonblank_lines(const char *p, size_t n)
{
	size_t lines = 0;
	bool blank = true;
	for (size_t i = 0; i <= n; i++) {
		if (i == n || p[i] == '\n') {
			lines += !blank;
			blank = true;
		} else if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r') {
			blank = false;
		}
	}
	return lines;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	hp_manifest_meta meta = { 0 };
	meta.name = "fuzz";
	meta.version = "1";
	meta.timestamp = "2026-01-01T00:00:00Z";
	json_t *m = NULL;
	hp_err e = HP_ERR_INIT;
	hp_code rc = hp_package_from_records(&meta, (const char *)data, size, "<fuzz>", &m, &e);
	if (rc != HP_OK && rc != HP_E_DATA)
		abort();
	if (rc) {
		if (!e.msg[0] || m)
			abort();
		return 0;
	}
	if (hp_manifest_validate(m, HP_MANIFEST_UNSIGNED_OK, NULL, &e) != HP_OK)
		abort();
	const json_t *files = json_object_get(m, "files");
	/* duplicates are refused, so every record is one file */
	if (json_array_size(files) != nonblank_lines((const char *)data, size))
		abort();
	json_int_t total = 0;
	size_t i;
	json_t *f;
	json_array_foreach(files, i, f) total += json_integer_value(json_object_get(f, "size"));
	if (total != json_integer_value(json_object_get(m, "total_size")))
		abort();
	json_decref(m);
	return 0;
}
