/* hp_resolve: a package spec ("NAME@VERSION", or "NAME" for its newest
 * version) looked up in a git registry (hp_git, docs/registry.md): the
 * manifest's bytes and its .torrent's, as the registry holds them. Nothing
 * here is trusted yet: the caller verifies the manifest (hp_plan does, with
 * the trusted keys, expiry and rollback) and that it is signed for the name
 * and version asked for.
 *
 * The registry's local cache: o->cache_dir, else $HP_REGISTRY_CACHE, else
 * $XDG_CACHE_HOME (or ~/.cache)/hybrid-p2p/registry/<16 hex of SHA-256(url)>.git. */
#ifndef HP_RESOLVE_H
#define HP_RESOLVE_H

#include <stdbool.h>

#include "hp_buf.h"
#include "hp_err.h"
#include "hp_git.h"

typedef struct hp_registry_ref {
	const char *url;          /* NULL: $HP_REGISTRY */
	const char *branch;       /* NULL: main */
	const char *cache_dir;    /* NULL: the default above */
	bool create_local;        /* a local registry that does not exist is created (publish
	                           * --create-registry); else it is HP_E_NOINPUT */
	long timeout_ms;          /* the longest wait on a silent server (hp_gitnet.h); 0: 30 s */
} hp_registry_ref;

/* The registry's URL (ref->url, else $HP_REGISTRY), or NULL. */
const char *hp_registry_url(const hp_registry_ref *ref);

/* Open the registry's cache (not fetched yet). HP_E_USAGE when there is no
 * URL, or when the URL holds a password (a secret in argv: the token goes
 * in $HP_REGISTRY_TOKEN), or when no cache folder can be named. */
hp_code hp_registry_open_ref(const hp_registry_ref *ref, hp_git_registry **out, hp_err *e);

typedef struct hp_resolved {
	char *name, *version;     /* the spec's name, and the version found */
	char commit[65];          /* the registry's tip */
	hp_buf manifest;          /* the manifest's bytes, unverified */
	hp_buf torrent;           /* the .torrent's bytes (empty: the registry has none) */
} hp_resolved;

#define HP_RESOLVED_INIT { NULL, NULL, { 0 }, HP_BUF_INIT, HP_BUF_INIT }

/* Is spec a package spec rather than a manifest file? A file that exists,
 * or a name with a '/' or ".json" and no '@', is a file. */
bool hp_resolve_is_spec(const char *spec);

/* Fetch the registry and read spec's manifest and .torrent. HP_E_USAGE for
 * a malformed spec, HP_E_NOINPUT when the registry is empty or does not
 * list it, the registry's errors (HP_E_PERM, HP_E_UNAVAILABLE,
 * HP_E_TEMPFAIL, HP_E_DATA for a malformed index.json) otherwise. */
hp_code hp_resolve(const hp_registry_ref *ref, const char *spec, hp_resolved *out, hp_err *e);

void hp_resolved_release(hp_resolved *r);

#endif
