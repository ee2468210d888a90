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

/* Append the canonical form of v to out. Fails (HP_E_DATA) on a number that
 * is not finite, or a string that is not valid UTF-8. */
hp_code hp_jcs_serialize(const json_t *v, hp_buf *out, hp_err *e);

/* Format one double as ECMAScript does; out needs 32 bytes. HP_E_DATA for NaN/Inf. */
hp_code hp_jcs_number(double d, char out[32], hp_err *e);

#endif
