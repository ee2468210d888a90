/* hp_json: jansson, used the same way everywhere.
 *
 * Parsing rejects duplicate object keys and NUL in strings, bounds the input
 * size and reports the line and column of malformed input the way jq does:
 *   "manifest.json: parse error: '}' expected near end of file at line 3, column 1" */
#ifndef HP_JSON_H
#define HP_JSON_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "hp_buf.h"
#include "hp_err.h"

/* 64 MiB: the most any JSON input (a manifest, a record) may be. */
#define HP_JSON_MAX_INPUT (64u * 1024 * 1024)

/* Parse one JSON document (anything after it but whitespace is an error).
 * Any value is accepted at the top level, scalars included. Integers must
 * fit in json_int_t (64 bits); nesting is capped at JSON_PARSER_MAX_DEPTH
 * (2048). Errors are HP_E_DATA "<what>: parse error: ... at line L, column C"
 * (or HP_E_NOMEM). */
hp_code hp_json_parse(const char *data, size_t len, const char *what, json_t **out, hp_err *e);
/* Read path ("-" = stdin), at most max bytes (0, or more than
 * HP_JSON_MAX_INPUT, means HP_JSON_MAX_INPUT), and parse it. */
hp_code hp_json_load_file(const char *path, size_t max, json_t **out, hp_err *e);

/* Typed getters that fail with HP_E_DATA and a message naming the member:
 * "'files[2].size' must be a non-negative integer". where is the JSON path
 * of obj ("" or NULL at the top level). A member that is absent and not
 * required leaves *out untouched (preset it to the default) and is HP_OK;
 * null is not absent. A string holding a NUL character is refused. */
hp_code hp_json_get_string(const json_t *obj, const char *key, const char *where,
			   bool required, const char **out, hp_err *e);
hp_code hp_json_get_uint(const json_t *obj, const char *key, const char *where,
			 bool required, uint64_t *out, hp_err *e);

/* Compact JSON text of j plus a newline, appended to out. */
hp_code hp_json_dump_line(const json_t *j, hp_buf *out, hp_err *e);

/* A path as a JSON value: a string when it is valid UTF-8, else
 * {"bytes": "<base64>"} (as ripgrep does). New reference. */
json_t *hp_json_path_value(const char *p, size_t n);

/* The same value appended to b as JSON text, without building a json_t: a
 * string (quotes, backslashes and control characters escaped, DEL too), or
 * {"bytes":"<base64>"} when p[0..n) is not UTF-8. For tools that write many
 * records (hp-hash, hp-cid). HP_E_NOMEM when b cannot grow. */
hp_code hp_json_add_path(hp_buf *b, const char *p, size_t n);

#endif
