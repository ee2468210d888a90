/* Fuzz hp_json_parse and the hp_json helpers.
 *
 * - a parsed value dumps (hp_json_dump_line) to text that parses back to an
 *   equal value;
 * - the typed getters never misbehave on any member;
 * - hp_json_path_value of the raw input is a string exactly when the input
 *   is UTF-8, and {"bytes": base64} that decodes back to the input otherwise. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hp_codec.h"
#include "hp_io.h"
#include "hp_json.h"

#include "banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_path_value(const uint8_t *data, size_t size)
{
	json_t *v = hp_json_path_value((const char *)data, size);
	if (!v)
		return;  /* out of memory */
	if (hp_utf8_valid((const char *)data, size)) {
		if (!json_is_string(v) || json_string_length(v) != size ||
		    memcmp(json_string_value(v), data, size) != 0)
			abort();
	} else {
		const char *b64 = json_string_value(json_object_get(v, "bytes"));
		if (!b64 || json_object_size(v) != 1)
			abort();
		uint8_t *back = malloc(size);
		size_t n = 0;
		if (back && (hp_b64_decode(b64, strlen(b64), back, size, &n, "bytes", NULL) != HP_OK ||
			     n != size || memcmp(back, data, size) != 0))
			abort();
		free(back);
	}
	json_decref(v);
}

static void poke_getters(const json_t *obj)
{
	const char *key;
	json_t *value;
	json_object_foreach((json_t *)obj, key, value) {
		const char *s = NULL;
		uint64_t u = 0;
		hp_err e = HP_ERR_INIT;
		hp_code rc = hp_json_get_string(obj, key, "x", true, &s, &e);
		if ((rc == HP_OK) != (json_is_string(value) && strlen(json_string_value(value)) == json_string_length(value)))
			abort();
		rc = hp_json_get_uint(obj, key, "x", false, &u, &e);
		if ((rc == HP_OK) != (json_is_integer(value) && json_integer_value(value) >= 0))
			abort();
		if (rc == HP_OK && u != (uint64_t)json_integer_value(value))
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check_path_value(data, size);

	json_t *j = NULL, *k = NULL;
	hp_buf text = HP_BUF_INIT;
	hp_err e = HP_ERR_INIT;
	hp_code rc = hp_json_parse((const char *)data, size, "input", &j, &e);
	if (rc != HP_OK) {
		if (rc != HP_E_DATA && rc != HP_E_NOMEM)
			abort();
		if (rc == HP_E_DATA && strncmp(e.msg, "input", 5) != 0)
			abort();  /* every parse error names its input */
		return 0;
	}
	if (json_is_object(j))
		poke_getters(j);
	rc = hp_json_dump_line(j, &text, &e);
	if (rc == HP_OK) {
		if (text.len == 0 || text.data[text.len - 1] != '\n')
			abort();
		if (hp_json_parse(text.data, text.len, "dump", &k, &e) != HP_OK || !json_equal(j, k))
			abort();  /* our own output must read back as the same value */
	} else if (rc != HP_E_NOMEM) {
		abort();
	}
	json_decref(j);
	json_decref(k);
	hp_buf_release(&text);
	return 0;
}
