/* hp_state: what a client has seen, so an older manifest cannot be replayed
 * (rollback) and a version cannot silently change content (TUF's lessons).
 *
 * The state file is JSON, written atomically:
 *   {"state_version": 1, "manifests": {"<name>": {"version": "1.2.0",
 *     "content_id": "<hex>", "seen_at": "<RFC 3339>"}}}
 * A missing state file is an empty one. */
#ifndef HP_STATE_H
#define HP_STATE_H

#include <jansson.h>

#include "hp_err.h"

/* Compare versions: dot-separated parts, numeric parts numerically, others
 * bytewise, a numeric part before a non-numeric one; a "-pre-release" sorts
 * before the release (as in SemVer) and "+build" is ignored. <0, 0, >0. */
int hp_version_compare(const char *a, const char *b);

typedef struct hp_state hp_state;

/* path NULL: a state in memory only (hp_state_record saves nothing). */
hp_code hp_state_load(const char *path, hp_state **out, hp_err *e);
void hp_state_free(hp_state *s);

/* Would accepting (name, version, content_id) be a rollback? HP_E_INVALID
 * with a message if version is lower than the one seen, or equal with other
 * content. *previous gets the version seen (NULL if none; owned by s). */
hp_code hp_state_check(const hp_state *s, const char *name, const char *version,
		       const char *content_id, const char **previous, hp_err *e);

/* Record (name, version, content_id) if it is newer, and save atomically. */
hp_code hp_state_record(hp_state *s, const char *name, const char *version,
			const char *content_id, hp_err *e);

#endif
