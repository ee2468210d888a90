/* hp_registry: registry layout and index.json (see hp_registry.h). */
#include "hp_registry.h"

#include <stdlib.h>
#include <string.h>

#include "hp_io.h"
#include "hp_json.h"
#include "hp_state.h"
#include "banned.h"

static bool is_alnum(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool word_ok(const char *s, size_t max, const char *extra)
{
	size_t n = s ? strlen(s) : 0;
	if (n < 1 || n > max || !is_alnum(s[0]))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!is_alnum(s[i]) && !strchr(extra, s[i]))
			return false;
	return true;
}

bool hp_registry_name_ok(const char *s) { return word_ok(s, 128, "._-"); }
bool hp_registry_version_ok(const char *s) { return word_ok(s, 64, ".+_-"); }

hp_code hp_registry_spec_parse(const char *spec, char **name, char **version, hp_err *e)
{
	*name = *version = NULL;
	const char *at = strchr(spec, '@');
	size_t n = at ? (size_t)(at - spec) : strlen(spec);
	char *nm = strndup(spec, n);
	char *ver = at ? strdup(at + 1) : NULL;
	if (!nm || (at && !ver)) {
		free(nm);
		free(ver);
		return hp_fail_nomem(e);
	}
	char q[160];
	if (!hp_registry_name_ok(nm)) {
		hp_quote(spec, strlen(spec), q, sizeof q);
		free(nm);
		free(ver);
		return hp_fail(e, HP_E_USAGE, "'%s' is not NAME or NAME@VERSION (a name is letters, digits, '.', '_' or '-')", q);
	}
	if (at && !hp_registry_version_ok(ver)) {
		hp_quote(spec, strlen(spec), q, sizeof q);
		free(nm);
		free(ver);
		return hp_fail(e, HP_E_USAGE, "'%s': the version after '@' is not valid (letters, digits, '.', '+', '_' or '-')", q);
	}
	*name = nm;
	*version = ver;
	return HP_OK;
}

hp_code hp_registry_path(const char *name, const char *version, const char *ext, hp_buf *out, hp_err *e)
{
	if (!hp_registry_name_ok(name) || !hp_registry_version_ok(version))
		return hp_fail(e, HP_E_USAGE, "invalid name or version for a registry path");
	hp_buf_reset(out);
	return hp_buf_addf(out, e, HP_REGISTRY_DIR "/%s/%s.%s", name, version, ext);
}

static int cmp_version_json(const void *a, const void *b)
{
	const json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
	return hp_version_compare(json_string_value(x), json_string_value(y));
}

/* Sort versions and set "latest". */
static hp_code normalise_package(json_t *pkg, hp_err *e)
{
	json_t *vers = json_object_get(pkg, "versions");
	size_t n = json_array_size(vers);
	json_t **v = calloc(n ? n : 1, sizeof *v);
	if (!v)
		return hp_fail_nomem(e);
	for (size_t i = 0; i < n; i++)
		v[i] = json_incref(json_array_get(vers, i));
	qsort(v, n, sizeof *v, cmp_version_json);
	json_array_clear(vers);
	for (size_t i = 0; i < n; i++)
		json_array_append_new(vers, v[i]);
	free(v);
	if (n)
		json_object_set(pkg, "latest", json_array_get(vers, n - 1));
	else
		json_object_del(pkg, "latest");
	return HP_OK;
}

json_t *hp_registry_index_new(void)
{
	return json_pack("{s:i,s:{}}", "registry_version", 1, "packages");
}

hp_code hp_registry_index_add(json_t *index, const char *name, const char *version, hp_err *e)
{
	if (!hp_registry_name_ok(name) || !hp_registry_version_ok(version))
		return hp_fail(e, HP_E_DATA, "invalid name or version for the registry index");
	json_t *pkgs = json_object_get(index, "packages");
	if (!json_is_object(pkgs))
		return hp_fail(e, HP_E_INTERNAL, "registry index without packages");
	json_t *pkg = json_object_get(pkgs, name);
	if (!pkg) {
		pkg = json_pack("{s:[]}", "versions");
		if (!pkg || json_object_set_new(pkgs, name, pkg))
			return hp_fail_nomem(e);
	}
	json_t *vers = json_object_get(pkg, "versions");
	size_t i;
	json_t *v;
	json_array_foreach(vers, i, v)
		if (strcmp(json_string_value(v), version) == 0)
			return normalise_package(pkg, e);
	if (json_array_append_new(vers, json_string(version)))
		return hp_fail_nomem(e);
	return normalise_package(pkg, e);
}

hp_code hp_registry_index_parse(const char *p, size_t n, json_t **out, hp_err *e)
{
	*out = NULL;
	json_t *j = NULL;
	hp_code rc = hp_json_parse(p, n, HP_REGISTRY_INDEX, &j, e);
	if (rc)
		return rc;
	char q[160];
	const json_t *rv = json_object_get(j, "registry_version");
	json_t *pkgs = json_object_get(j, "packages");
	if (!json_is_object(j) || !json_is_integer(rv) || !json_is_object(pkgs)) {
		rc = hp_fail(e, HP_E_DATA, HP_REGISTRY_INDEX ": not a registry index (an object with registry_version and packages)");
		goto out;
	}
	if (json_integer_value(rv) != 1) {
		rc = hp_fail(e, HP_E_DATA, HP_REGISTRY_INDEX ": unsupported registry_version %lld (this tool reads 1)",
			     (long long)json_integer_value(rv));
		goto out;
	}
	const char *name;
	json_t *pkg;
	json_object_foreach(pkgs, name, pkg) {
		hp_quote(name, strlen(name), q, sizeof q);
		if (!hp_registry_name_ok(name)) {
			rc = hp_fail(e, HP_E_DATA, HP_REGISTRY_INDEX ": invalid package name '%s'", q);
			goto out;
		}
		json_t *vers = json_object_get(pkg, "versions");
		if (!json_is_object(pkg) || !json_is_array(vers)) {
			rc = hp_fail(e, HP_E_DATA, HP_REGISTRY_INDEX ": package '%s' has no versions array", q);
			goto out;
		}
		size_t i;
		json_t *v;
		json_array_foreach(vers, i, v) {
			const char *s = json_string_value(v);
			if (!s || !hp_registry_version_ok(s)) {
				rc = hp_fail(e, HP_E_DATA, HP_REGISTRY_INDEX ": package '%s': versions[%zu] is not a valid version", q, i);
				goto out;
			}
			for (size_t k = 0; k < i; k++)
				if (strcmp(json_string_value(json_array_get(vers, k)), s) == 0) {
					rc = hp_fail(e, HP_E_DATA, HP_REGISTRY_INDEX ": package '%s': version '%s' listed twice", q, s);
					goto out;
				}
		}
		const json_t *latest = json_object_get(pkg, "latest");
		if (latest && !json_is_string(latest)) {
			rc = hp_fail(e, HP_E_DATA, HP_REGISTRY_INDEX ": package '%s': latest must be a string", q);
			goto out;
		}
	}
	*out = j;
	j = NULL;
out:
	json_decref(j);
	return rc;
}

hp_code hp_registry_index_dump(const json_t *index, hp_buf *out, hp_err *e)
{
	char *s = json_dumps(index, JSON_INDENT(2) | JSON_SORT_KEYS | JSON_ENSURE_ASCII);
	if (!s)
		return hp_fail_nomem(e);
	hp_buf_reset(out);
	hp_code rc = hp_buf_adds(out, s, e);
	free(s);
	return rc ? rc : hp_buf_addch(out, '\n', e);
}

const char *hp_registry_index_latest(const json_t *index, const char *name)
{
	const json_t *vers = json_object_get(json_object_get(json_object_get(index, "packages"), name), "versions");
	const char *best = NULL;
	size_t i;
	json_t *v;
	json_array_foreach(vers, i, v) {
		const char *s = json_string_value(v);
		if (s && (!best || hp_version_compare(s, best) > 0))
			best = s;
	}
	return best;
}

bool hp_registry_index_has(const json_t *index, const char *name, const char *version)
{
	const json_t *vers = json_object_get(json_object_get(json_object_get(index, "packages"), name), "versions");
	size_t i;
	json_t *v;
	json_array_foreach(vers, i, v)
		if (json_string_value(v) && strcmp(json_string_value(v), version) == 0)
			return true;
	return false;
}
