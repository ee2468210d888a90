/* Fuzz hp_registry_index_parse (the registry's index.json) and the
 * NAME@VERSION parser.
 *
 * Whatever the index parser accepts must hold only valid names and versions
 * (safe path components), give a latest version that is listed, and survive
 * a rebuild: adding every (name, version) to a new index and dumping it
 * gives bytes that parse again to the same packages, and dumping that gives
 * the same bytes (the dump is deterministic). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hp_registry.h"
#include "hp_state.h"

#include "banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_spec(const uint8_t *data, size_t size)
{
	char buf[256];
	size_t n = size < sizeof buf - 1 ? size : sizeof buf - 1;
	memcpy(buf, data, n);
	buf[n] = '\0';
	char *name = NULL, *version = NULL;
	hp_err e = HP_ERR_INIT;
	if (hp_registry_spec_parse(buf, &name, &version, &e) == HP_OK) {
		if (!hp_registry_name_ok(name) || (version && !hp_registry_version_ok(version)))
			abort();
		if (strchr(name, '/') || (version && strchr(version, '/')))
			abort();
	}
	free(name);
	free(version);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check_spec(data, size);
	json_t *idx = NULL, *again = NULL, *rebuilt = NULL;
	hp_buf a = HP_BUF_INIT, b = HP_BUF_INIT;
	hp_err e = HP_ERR_INIT;
	if (hp_registry_index_parse((const char *)data, size, &idx, &e) != HP_OK)
		return 0;
	rebuilt = hp_registry_index_new();
	if (!rebuilt)
		goto out;
	const char *name;
	json_t *pkg;
	json_object_foreach(json_object_get(idx, "packages"), name, pkg) {
		if (!hp_registry_name_ok(name))
			abort();
		const char *latest = hp_registry_index_latest(idx, name);
		size_t i;
		json_t *v;
		json_array_foreach(json_object_get(pkg, "versions"), i, v) {
			const char *s = json_string_value(v);
			if (!s || !hp_registry_version_ok(s))
				abort();
			if (!latest || hp_version_compare(s, latest) > 0)
				abort();
			if (!hp_registry_index_has(idx, name, s))
				abort();
			if (hp_registry_index_add(rebuilt, name, s, &e) != HP_OK)
				goto out;
		}
	}
	if (hp_registry_index_dump(rebuilt, &a, &e) != HP_OK)
		goto out;
	if (hp_registry_index_parse(a.data, a.len, &again, &e) != HP_OK)
		abort();
	if (hp_registry_index_dump(again, &b, &e) != HP_OK)
		goto out;
	if (a.len != b.len || memcmp(a.data, b.data, a.len) != 0)
		abort();
out:
	json_decref(idx);
	json_decref(again);
	json_decref(rebuilt);
	hp_buf_release(&a);
	hp_buf_release(&b);
	return 0;
}
