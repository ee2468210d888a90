/* hp_registry: the layout of a hybrid-p2p registry, a git repository of
 * signed manifests (pure: no git, no I/O; lib/hp_git does the git part).
 *
 *   manifests/<name>/<version>.json     the signed manifest, as published
 *   manifests/<name>/<version>.torrent  its .torrent (optional)
 *   index.json                          every name and its versions
 *
 * index.json is derived from the tree on every publish and written
 * deterministically (keys sorted, versions in hp_version_compare order,
 * indent 2, final newline):
 *   {"registry_version": 1,
 *    "packages": {"<name>": {"latest": "<version>", "versions": ["<v>", ...]}}}
 * See docs/registry.md. */
#ifndef HP_REGISTRY_H
#define HP_REGISTRY_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "hp_buf.h"
#include "hp_err.h"

#define HP_REGISTRY_INDEX "index.json"
#define HP_REGISTRY_DIR "manifests"
#define HP_REGISTRY_INDEX_MAX (64u << 20)  /* bytes read of index.json */
#define HP_REGISTRY_MANIFEST_MAX (16u << 20)
#define HP_REGISTRY_TORRENT_MAX (64u << 20)

/* The manifest rules for names and versions (hp_manifest): safe as one path
 * component (no '/', never "." or ".."). */
bool hp_registry_name_ok(const char *s);
bool hp_registry_version_ok(const char *s);

/* "NAME@VERSION" or "NAME": *version is NULL for the latter. The strings
 * are malloc'ed copies. HP_E_USAGE with a message when malformed. */
hp_code hp_registry_spec_parse(const char *spec, char **name, char **version, hp_err *e);

/* "manifests/<name>/<version>.json" (ext "json") or ".torrent". */
hp_code hp_registry_path(const char *name, const char *version, const char *ext, hp_buf *out, hp_err *e);

/* Parse and check index.json: the form above, valid names and versions, no
 * version twice. *out is the index object (caller owns). HP_E_DATA with the
 * line and column, or the first problem. */
hp_code hp_registry_index_parse(const char *p, size_t n, json_t **out, hp_err *e);

/* An empty index. */
json_t *hp_registry_index_new(void);

/* Add (name, version); a version already listed is kept once. Recomputes
 * "latest" and keeps the versions sorted. */
hp_code hp_registry_index_add(json_t *index, const char *name, const char *version, hp_err *e);

/* The deterministic bytes of an index (see above). */
hp_code hp_registry_index_dump(const json_t *index, hp_buf *out, hp_err *e);

/* The newest version of name (by hp_version_compare over "versions", not
 * trusting "latest"), or NULL when the name is not listed. Owned by index. */
const char *hp_registry_index_latest(const json_t *index, const char *name);

/* Is (name, version) listed? */
bool hp_registry_index_has(const json_t *index, const char *name, const char *version);

#endif
