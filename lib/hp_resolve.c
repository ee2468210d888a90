/* hp_resolve: package specs looked up in a git registry (see hp_resolve.h). */
#include "hp_resolve.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "hp_codec.h"
#include "hp_registry.h"
#include "banned.h"

const char *hp_registry_url(const hp_registry_ref *ref)
{
	if (ref->url && *ref->url)
		return ref->url;
	const char *env = getenv("HP_REGISTRY");
	return env && *env ? env : NULL;
}

/* A URL with a password in it would put a secret in argv. */
static bool url_has_password(const char *url)
{
	const char *p = strstr(url, "://");
	if (!p)
		return false;
	p += 3;
	size_t host = strcspn(p, "/");
	const char *at = memchr(p, '@', host);
	return at && memchr(p, ':', (size_t)(at - p)) != NULL;
}

static hp_code cache_dir_for(const hp_registry_ref *ref, const char *url, char *out, size_t size, hp_err *e)
{
	const char *env = getenv("HP_REGISTRY_CACHE");
	if (ref->cache_dir && *ref->cache_dir) {
		snprintf(out, size, "%s", ref->cache_dir);
		return HP_OK;
	}
	if (env && *env) {
		snprintf(out, size, "%s", env);
		return HP_OK;
	}
	uint8_t md[32];
	char hex[65];
	hp_sha256(url, strlen(url), md);
	hp_hex_encode(md, 8, hex);
	const char *xdg = getenv("XDG_CACHE_HOME");
	const char *home = getenv("HOME");
	if (xdg && *xdg)
		snprintf(out, size, "%s/hybrid-p2p/registry/%s.git", xdg, hex);
	else if (home && *home)
		snprintf(out, size, "%s/.cache/hybrid-p2p/registry/%s.git", home, hex);
	else
		return hp_fail(e, HP_E_USAGE, "HOME is not set: name the registry's cache folder (--registry-cache DIR)");
	return HP_OK;
}

hp_code hp_registry_open_ref(const hp_registry_ref *ref, hp_git_registry **out, hp_err *e)
{
	*out = NULL;
	const char *url = hp_registry_url(ref);
	if (!url)
		return hp_fail(e, HP_E_USAGE, "no registry: give --registry URL (or set HP_REGISTRY)");
	if (url_has_password(url))
		return hp_fail(e, HP_E_USAGE,
			       "the registry URL holds a password: put the token in $HP_REGISTRY_TOKEN instead");
	char cache[PATH_MAX];
	hp_code rc = cache_dir_for(ref, url, cache, sizeof cache, e);
	if (rc)
		return rc;
	hp_git_registry_opts o = { .url = url, .branch = ref->branch, .cache_dir = cache,
				   .create_local = ref->create_local, .timeout_ms = ref->timeout_ms };
	return hp_git_registry_open(&o, out, e);
}

bool hp_resolve_is_spec(const char *spec)
{
	struct stat st;
	if (stat(spec, &st) == 0)
		return false;
	return strchr(spec, '@') || !(strchr(spec, '/') || strstr(spec, ".json"));
}

/* The newest version of name in the registry's index. */
static hp_code latest_version(hp_git_registry *reg, const char *url, const char *name, char **version, hp_err *e)
{
	hp_buf buf = HP_BUF_INIT;
	json_t *index = NULL;
	hp_code rc;
	if (!(rc = hp_git_registry_read(reg, HP_REGISTRY_INDEX, HP_REGISTRY_INDEX_MAX, &buf, e)) &&
	    !(rc = hp_registry_index_parse(buf.data, buf.len, &index, e))) {
		const char *latest = hp_registry_index_latest(index, name);
		if (!latest)
			rc = hp_fail(e, HP_E_NOINPUT, "'%s' is not in the registry '%s'", name, url);
		else if (!(*version = strdup(latest)))
			rc = hp_fail_nomem(e);
	}
	json_decref(index);
	hp_buf_release(&buf);
	return rc;
}

hp_code hp_resolve(const hp_registry_ref *ref, const char *spec, hp_resolved *out, hp_err *e)
{
	hp_git_registry *reg = NULL;
	hp_buf path = HP_BUF_INIT;
	hp_code rc;
	if ((rc = hp_registry_spec_parse(spec, &out->name, &out->version, e)) ||
	    (rc = hp_registry_open_ref(ref, &reg, e)) || (rc = hp_git_registry_fetch(reg, e)))
		goto out;
	const char *url = hp_registry_url(ref);
	if (!hp_git_registry_tip(reg)) {
		rc = hp_fail(e, HP_E_NOINPUT, "the registry '%s' is empty", url);
		goto out;
	}
	snprintf(out->commit, sizeof out->commit, "%s", hp_git_registry_tip(reg));
	if (!out->version && (rc = latest_version(reg, url, out->name, &out->version, e)))
		goto out;
	if ((rc = hp_registry_path(out->name, out->version, "json", &path, e)))
		goto out;
	if ((rc = hp_git_registry_read(reg, path.data, HP_REGISTRY_MANIFEST_MAX, &out->manifest, e))) {
		if (rc == HP_E_NOINPUT)
			hp_fail(e, rc, "%s@%s is not in the registry '%s'", out->name, out->version, url);
		goto out;
	}
	hp_buf_reset(&path);
	if ((rc = hp_registry_path(out->name, out->version, "torrent", &path, e)))
		goto out;
	rc = hp_git_registry_read(reg, path.data, HP_REGISTRY_TORRENT_MAX, &out->torrent, e);
	if (rc == HP_E_NOINPUT) {
		/* a package of empty files only has no torrent */
		hp_err_clear(e);
		rc = HP_OK;
	}
out:
	hp_buf_release(&path);
	hp_git_registry_free(reg);
	return rc;
}

void hp_resolved_release(hp_resolved *r)
{
	free(r->name);
	free(r->version);
	r->name = r->version = NULL;
	hp_buf_release(&r->manifest);
	hp_buf_release(&r->torrent);
}
