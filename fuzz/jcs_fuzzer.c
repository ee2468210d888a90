/* Fuzz hp_json_parse + hp_jcs_serialize.
 *
 * Whatever hp_json_parse accepts must canonicalize; the result must be
 * valid UTF-8 and a fixed point: parsing it and canonicalizing again gives
 * the same bytes. The one allowed exception: an integer-valued number of
 * 2^63 or more prints as an integer that hp_json_parse refuses (json_int_t
 * is 64 bits), so its canonical form cannot be read back. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hp_io.h"
#include "hp_jcs.h"
#include "hp_json.h"

#include "banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *j = NULL, *k = NULL;
	hp_buf first = HP_BUF_INIT, second = HP_BUF_INIT;
	hp_err e = HP_ERR_INIT;

	if (hp_json_parse((const char *)data, size, "input", &j, &e) != HP_OK)
		return 0;
	hp_code rc = hp_jcs_serialize(j, &first, &e);
	if (rc == HP_E_NOMEM)
		goto out;
	if (rc != HP_OK)
		abort();  /* a parsed value must always canonicalize */
	if (first.len == 0 || !hp_utf8_valid(first.data, first.len))
		abort();

	rc = hp_json_parse(first.data, first.len, "canonical", &k, &e);
	if (rc != HP_OK) {
		if (rc != HP_E_DATA || !strstr(e.msg, "integer out of range"))
			abort();  /* canonical JSON that our own parser refuses */
		goto out;
	}
	if (hp_jcs_serialize(k, &second, &e) != HP_OK)
		abort();
	if (second.len != first.len || memcmp(second.data, first.data, first.len) != 0)
		abort();  /* not idempotent */
out:
	json_decref(j);
	json_decref(k);
	hp_buf_release(&first);
	hp_buf_release(&second);
	return 0;
}
