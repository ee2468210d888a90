/* hp_jcs: RFC 8785 JSON Canonicalization Scheme.
 *
 * Object members sorted by their names' UTF-16 code units, no whitespace,
 * strings with the minimal escapes of RFC 8785 §3.2.2.2, numbers as
 * ECMAScript's Number.prototype.toString (shortest round-trip double). */
#ifndef HP_JCS_H
#define HP_JCS_H

#include <jansson.h>

#include "hp_buf.h"
#include "hp_err.h"

/* The deepest nesting hp_jcs_serialize accepts (anything hp_json_parse
 * returns is shallower); it also stops a cyclic value. */
#define HP_JCS_MAX_DEPTH 4096

/* Append the canonical form of v to out. Fails (HP_E_DATA) on a number that
 * is not finite, a string or member name that is not valid UTF-8, or nesting
 * deeper than HP_JCS_MAX_DEPTH; on failure out is left as it was. Integers
 * are converted to double first, as ECMAScript would read them. */
hp_code hp_jcs_serialize(const json_t *v, hp_buf *out, hp_err *e);

/* Format one double as ECMAScript does; out needs 32 bytes. HP_E_DATA for NaN/Inf. */
hp_code hp_jcs_number(double d, char out[32], hp_err *e);

#endif
