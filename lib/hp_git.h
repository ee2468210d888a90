/* hp_git: the libgit2 adapter: provenance of a work tree, and the registry
 * (a git repository of signed manifests, see hp_registry.h and
 * docs/registry.md).
 *
 * The registry is kept in a local bare cache repository (no work tree).
 * Fetching asks for one branch only; libgit2 1.5 cannot clone shallowly, so
 * the cache makes every fetch after the first incremental instead. New
 * commits are built in memory (blobs and trees written to the cache, no
 * checkout) and pushed; a push refused as non-fast-forward is retried after
 * a new fetch. The cache is locked (flock) while in use. */
#ifndef HP_GIT_H
#define HP_GIT_H

#include <stdbool.h>
#include <stddef.h>

#include "hp_buf.h"
#include "hp_err.h"

/* ---- provenance ---- */

typedef struct hp_git_provenance {
	bool found;             /* path is inside a git work tree with a commit */
	char commit[65];        /* HEAD's commit id (hex) */
	char ref[256];          /* HEAD's branch ("refs/heads/main"); "" when detached */
	char workdir[4096];     /* the work tree's top folder */
	size_t dirty;           /* changed, staged or untracked paths (excluded ones aside) */
	char dirty_example[256];/* one of them, for messages */
} hp_git_provenance;

/* Look for a work tree at or above path. exclude[] are absolute paths
 * (files, folders ending in '/', or prefixes ending in '*') whose changes
 * do not count as dirty:
 * the files the caller is about to write. Not in a work tree (or a bare
 * repository, or no commit yet): found = false and HP_OK. */
hp_code hp_git_provenance_get(const char *path, const char *const *exclude, size_t nexclude,
			      hp_git_provenance *out, hp_err *e);

/* ---- registry ---- */

typedef struct hp_git_registry hp_git_registry;

typedef struct hp_git_registry_opts {
	const char *url;        /* file://, http(s)://, ssh:// or user@host:path, or a local path */
	const char *branch;     /* default "main" */
	const char *cache_dir;  /* the bare cache; created if missing */
	/* HTTP(S): the token is read from the environment variable token_env
	 * (default HP_REGISTRY_TOKEN), the user name from user_env (default
	 * HP_REGISTRY_USER, else "x-access-token"). SSH: the agent, then the
	 * key in $HP_REGISTRY_SSH_KEY (and .pub beside it). */
	const char *token_env;
	const char *user_env;
	/* a local registry (file:// or a path) that does not exist yet is
	 * created as an empty bare repository, HEAD at branch, by
	 * hp_git_registry_publish; without it a missing one is HP_E_NOINPUT */
	bool create_local;
	/* the longest a single wait on a silent server may last: connecting,
	 * an answer, more data (hp_gitnet.h); 0: 30 s. Not a total. */
	long timeout_ms;
} hp_git_registry_opts;

hp_code hp_git_registry_open(const hp_git_registry_opts *o, hp_git_registry **out, hp_err *e);
void hp_git_registry_free(hp_git_registry *r);

/* Fetch the branch. An empty remote (no such branch yet) is fine: the tip
 * is then NULL. Errors, each one line naming the step and the server's
 * host:port (a local registry's folder): HP_E_NOINPUT a local registry
 * that does not exist or is not a git repository, HP_E_PERM credentials
 * refused or missing, an unknown SSH host key or a TLS certificate not
 * trusted, HP_E_UNAVAILABLE cannot reach or read the remote, HP_E_TEMPFAIL
 * a server silent for the timeout. */
hp_code hp_git_registry_fetch(hp_git_registry *r, hp_err *e);

/* The fetched tip's commit id (hex), or NULL for an empty registry. */
const char *hp_git_registry_tip(const hp_git_registry *r);

/* Read a file of the fetched tip into out (at most max bytes).
 * HP_E_NOINPUT when absent. */
hp_code hp_git_registry_read(hp_git_registry *r, const char *path, size_t max, hp_buf *out, hp_err *e);

typedef struct hp_git_publish {
	/* in */
	const char *name, *version;
	const char *manifest; size_t manifest_len;   /* the signed manifest bytes */
	const char *torrent; size_t torrent_len;     /* or NULL */
	const char *author_name, *author_email;       /* NULL: $GIT_AUTHOR_*, else defaults */
	int max_attempts;                             /* push attempts (default 5) */
	/* out */
	bool unchanged;         /* the version was already there with the same content_id */
	bool created;           /* a local registry was created (opts.create_local) */
	int attempts;           /* pushes tried */
	char commit[65];        /* the commit pushed, or the tip when unchanged */
} hp_git_publish;

/* Add manifests/<name>/<version>.json (+ .torrent) and index.json on top of
 * the remote branch, commit and push; on a non-fast-forward refusal fetch
 * and try again. Fetches first. A version already in the registry with the
 * same content_id is left as it is (p->unchanged); with another content_id
 * it is refused: HP_E_INVALID. */
hp_code hp_git_registry_publish(hp_git_registry *r, hp_git_publish *p, hp_err *e);

#endif
