/* hp_git: provenance and the registry over libgit2 (see hp_git.h). */
#include "hp_git.h"

#include <errno.h>
#include <fcntl.h>
#include <git2.h>
#include <jansson.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "hp_gitlock.h"
#include "hp_gitnet.h"
#include "hp_tmp.h"
#include "hp_json.h"
#include "hp_registry.h"
#include "banned.h"

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static void git_init_once(void)
{
	/* libgit2 stays initialised for the life of the process. */
	git_libgit2_init();
	/* a ref, a loose object or a pack reaches the disk before it is renamed
	 * into place (and its folder after): a power loss leaves the old file or
	 * the new one, never a half-written one */
	git_libgit2_opts(GIT_OPT_ENABLE_FSYNC_GITDIR, 1);
}

static const char *git_msg(void)
{
	const git_error *ge = git_error_last();
	return ge && ge->message ? ge->message : "unknown libgit2 error";
}

/* ---- provenance ---- */

static bool excluded(const char *abs, const char *const *ex, size_t nex)
{
	for (size_t i = 0; i < nex; i++) {
		size_t n = strlen(ex[i]);
		if (n && ex[i][n - 1] == '*') {
			if (strncmp(abs, ex[i], n - 1) == 0)
				return true;
		} else if (n && ex[i][n - 1] == '/') {
			if (strncmp(abs, ex[i], n) == 0 || (strncmp(abs, ex[i], n - 1) == 0 && abs[n - 1] == '\0'))
				return true;
		} else if (strcmp(abs, ex[i]) == 0) {
			return true;
		}
	}
	return false;
}

hp_code hp_git_provenance_get(const char *path, const char *const *exclude, size_t nexclude,
			      hp_git_provenance *out, hp_err *e)
{
	pthread_once(&init_once, git_init_once);
	memset(out, 0, sizeof *out);
	git_repository *repo = NULL;
	git_reference *head = NULL;
	git_status_list *st = NULL;
	hp_code rc = HP_OK;
	int err = git_repository_open_ext(&repo, path, 0, NULL);
	if (err == GIT_ENOTFOUND) {
		/* libgit2 1.5 skips a repository owned by another user (not in
		 * safe.directory) as if there were none: say so instead of
		 * publishing without provenance */
		int was = 1;
		git_libgit2_opts(GIT_OPT_GET_OWNER_VALIDATION, &was);
		git_libgit2_opts(GIT_OPT_SET_OWNER_VALIDATION, 0);
		int found = git_repository_open_ext(&repo, path, 0, NULL);
		git_libgit2_opts(GIT_OPT_SET_OWNER_VALIDATION, was);
		git_repository_free(repo);
		repo = NULL;
		if (found < 0 || !was)
			return HP_OK;
		err = GIT_EOWNER;
	}
	if (err == GIT_EOWNER)
		return hp_fail(e, HP_E_PERM,
			       "the git repository around '%s' belongs to another user: add it to git's "
			       "safe.directory, or give --no-git",
			       path);
	if (err < 0)
		return hp_fail(e, HP_E_DATA, "cannot open the git repository around '%s': %s", path, git_msg());
	if (git_repository_is_bare(repo) || !git_repository_workdir(repo))
		goto out;
	err = git_repository_head(&head, repo);
	if (err == GIT_EUNBORNBRANCH || err == GIT_ENOTFOUND)
		goto out;
	if (err < 0) {
		rc = hp_fail(e, HP_E_DATA, "cannot read HEAD of the git repository around '%s': %s", path, git_msg());
		goto out;
	}
	const git_oid *oid = git_reference_target(head);
	if (!oid) {
		rc = hp_fail(e, HP_E_DATA, "HEAD of the git repository around '%s' is not a commit", path);
		goto out;
	}
	git_oid_tostr(out->commit, sizeof out->commit, oid);
	if (!git_repository_head_detached(repo) && git_reference_is_branch(head))
		snprintf(out->ref, sizeof out->ref, "%s", git_reference_name(head));
	snprintf(out->workdir, sizeof out->workdir, "%s", git_repository_workdir(repo));

	git_status_options so;
	git_status_options_init(&so, GIT_STATUS_OPTIONS_VERSION);
	so.show = GIT_STATUS_SHOW_INDEX_AND_WORKDIR;
	so.flags = GIT_STATUS_OPT_INCLUDE_UNTRACKED | GIT_STATUS_OPT_RECURSE_UNTRACKED_DIRS;
	if (git_status_list_new(&st, repo, &so) < 0) {
		rc = hp_fail(e, HP_E_IO, "cannot read the status of the work tree '%s': %s", out->workdir, git_msg());
		goto out;
	}
	size_t n = git_status_list_entrycount(st);
	for (size_t i = 0; i < n; i++) {
		const git_status_entry *se = git_status_byindex(st, i);
		if (!se || se->status == GIT_STATUS_CURRENT || (se->status & GIT_STATUS_IGNORED))
			continue;
		const git_diff_delta *d = se->index_to_workdir ? se->index_to_workdir : se->head_to_index;
		const char *rel = d ? (d->new_file.path ? d->new_file.path : d->old_file.path) : NULL;
		if (!rel)
			continue;
		char abs[PATH_MAX + 256];
		snprintf(abs, sizeof abs, "%s%s", out->workdir, rel);
		if (excluded(abs, exclude, nexclude))
			continue;
		if (out->dirty++ == 0)
			snprintf(out->dirty_example, sizeof out->dirty_example, "%s", rel);
	}
	/* workdir without its trailing '/' for messages */
	size_t wl = strlen(out->workdir);
	if (wl > 1 && out->workdir[wl - 1] == '/')
		out->workdir[wl - 1] = '\0';
	out->found = true;
out:
	git_status_list_free(st);
	git_reference_free(head);
	git_repository_free(repo);
	return rc;
}

/* ---- registry ---- */

struct hp_git_registry {
	git_repository *repo;
	char *url;
	char *branch;
	char *token_env;
	char *user_env;
	char *cache_dir;
	hp_gitlock *lock;          /* ours on the cache */
	hp_gitlock *reg_lock;      /* ours on a local registry, while publishing */
	long timeout_ms;
	bool create_local, created;
	bool have_tip;
	git_oid tip;
	char tip_hex[GIT_OID_HEXSZ + 1];
	/* credentials, per operation */
	int userpass_tries, ssh_tries;
	bool auth_failed;
	char auth_msg[200];
	/* push */
	bool rejected;
	bool lock_refused;         /* the last refusal: the branch's lock file was taken */
	char remote_says[2048];    /* the server's messages (sideband) during a push */
	char lock_file[PATH_MAX];  /* the lock file of lock_refused */
	char reject_msg[200];
};

static hp_code mkdirs(const char *path, hp_err *e)
{
	char buf[PATH_MAX];
	if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf)
		return hp_fail(e, HP_E_USAGE, "path too long: '%s'", path);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0700) < 0 && errno != EEXIST)
			return hp_fail_errno(e, HP_E_CANTCREAT, errno, "cannot create '%s'", buf);
		*p = '/';
	}
	if (mkdir(buf, 0700) < 0 && errno != EEXIST)
		return hp_fail_errno(e, HP_E_CANTCREAT, errno, "cannot create '%s'", buf);
	return HP_OK;
}

static hp_code local_exists(const char *url, const char *step, hp_err *e);

/* The cache's own refs (refs/hp/fetched/<branch>, refs/hp/publish) are
 * copies of what the registry has: one that does not parse (half-written
 * by a version without fsync before a power loss) is removed, and the next
 * fetch writes it again. We hold the cache's lock. */
static void repair_refs(hp_git_registry *r)
{
	char names[2][320];
	snprintf(names[0], sizeof names[0], "refs/hp/fetched/%s", r->branch);
	snprintf(names[1], sizeof names[1], "refs/hp/publish");
	for (int i = 0; i < 2; i++) {
		git_reference *ref = NULL;
		int err = git_reference_lookup(&ref, r->repo, names[i]);
		git_reference_free(ref);
		if (err == 0 || err == GIT_ENOTFOUND)
			continue;
		char path[PATH_MAX + 320];
		snprintf(path, sizeof path, "%s/%s", r->cache_dir, names[i]);
		unlink(path);
	}
}

/* Cover a lock file libgit2 is about to take (path: folder + name) while a
 * call runs: a signal that ends the process removes it, if this process
 * has it open (hp_tmp's HP_TMP_IF_OPEN: never another process's). */
static int cover_lock(const char *dir, const char *name)
{
	char path[PATH_MAX];
	if (!dir || snprintf(path, sizeof path, "%s/%s.lock", dir, name) >= (int)sizeof path)
		return 0;
	return hp_tmp_add(AT_FDCWD, path, HP_TMP_IF_OPEN);
}

/* The CA certificates of HTTPS registries: libgit2 1.5 on Debian uses
 * mbedTLS, which reads the build's bundle (/etc/ssl/certs/ca-certificates.crt)
 * and none of OpenSSL's variables. $SSL_CERT_FILE and $SSL_CERT_DIR are
 * honoured as OpenSSL (and so libcurl, hp-fetch) honours them: they replace
 * the default bundle. */
static hp_code ca_locations(hp_err *e)
{
	const char *file = getenv("SSL_CERT_FILE"), *dir = getenv("SSL_CERT_DIR");
	if (file && !*file)
		file = NULL;
	if (dir && !*dir)
		dir = NULL;
	if (!file && !dir)
		return HP_OK;
	if (git_libgit2_opts(GIT_OPT_SET_SSL_CERT_LOCATIONS, file, dir) < 0) {
		char q[PATH_MAX + 40];
		snprintf(q, sizeof q, file ? "$SSL_CERT_FILE '%s'" : "$SSL_CERT_DIR '%s'", file ? file : dir);
		return hp_fail(e, HP_E_NOINPUT, "registry: cannot load the CA certificates of %s: %s", q, git_msg());
	}
	return HP_OK;
}

hp_code hp_git_registry_open(const hp_git_registry_opts *o, hp_git_registry **out, hp_err *e)
{
	pthread_once(&init_once, git_init_once);
	*out = NULL;
	if (!o->url || !*o->url || !o->cache_dir || !*o->cache_dir)
		return hp_fail(e, HP_E_USAGE, "a registry needs a URL and a cache folder");
	hp_code src = hp_gitnet_install(e);
	if (!src && strncmp(o->url, "https://", 8) == 0)
		src = ca_locations(e);
	if (!src && !o->create_local)
		src = local_exists(o->url, "fetch from", e);
	if (src)
		return src;
	hp_git_registry *r = calloc(1, sizeof *r);
	if (!r)
		return hp_fail_nomem(e);
	r->url = strdup(o->url);
	r->cache_dir = strdup(o->cache_dir);
	r->branch = strdup(o->branch && *o->branch ? o->branch : "main");
	r->token_env = strdup(o->token_env ? o->token_env : "HP_REGISTRY_TOKEN");
	r->user_env = strdup(o->user_env ? o->user_env : "HP_REGISTRY_USER");
	hp_code rc = HP_OK;
	if (!r->url || !r->branch || !r->token_env || !r->user_env || !r->cache_dir) {
		rc = hp_fail_nomem(e);
		goto fail;
	}
	char refname[300];
	snprintf(refname, sizeof refname, "refs/heads/%s", r->branch);
	int valid = 0;
	if (git_reference_name_is_valid(&valid, refname) < 0 || !valid) {
		rc = hp_fail(e, HP_E_USAGE, "'%s' is not a valid branch name", r->branch);
		goto fail;
	}
	if ((rc = mkdirs(o->cache_dir, e)))
		goto fail;
	r->timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : 30000;
	/* the cache is ours: another hybrid-p2p in it is waited for (bounded),
	 * and what a dead one left there is removed (hp_gitlock.h) */
	static const char *const cache_debris[] = { "refs/", "HEAD.lock", "config.lock", "packed-refs.lock",
						    "objects/tmp_object_git2_*", "objects/pack/pack_git2_*" };
	if ((rc = hp_gitlock_take(o->cache_dir, "registry cache", r->timeout_ms, HP_GITLOCK_PRIVATE, &r->lock, e)) ||
	    (rc = hp_gitlock_settle(r->lock, cache_debris, sizeof cache_debris / sizeof *cache_debris, r->timeout_ms,
				    NULL, e)))
		goto fail;
	if (git_repository_open_bare(&r->repo, o->cache_dir) < 0 &&
	    git_repository_init(&r->repo, o->cache_dir, 1) < 0) {
		rc = hp_fail(e, HP_E_CANTCREAT, "cannot create the registry cache '%s': %s", o->cache_dir, git_msg());
		goto fail;
	}
	r->create_local = o->create_local;
	repair_refs(r);
	*out = r;
	return HP_OK;
fail:
	hp_git_registry_free(r);
	return rc;
}

void hp_git_registry_free(hp_git_registry *r)
{
	if (!r)
		return;
	git_repository_free(r->repo);
	hp_gitlock_release(r->reg_lock);
	hp_gitlock_release(r->lock);
	free(r->url);
	free(r->cache_dir);
	free(r->branch);
	free(r->token_env);
	free(r->user_env);
	free(r);
}

static int cred_cb(git_credential **out, const char *url, const char *user_from_url, unsigned int allowed,
		   void *payload)
{
	hp_git_registry *r = payload;
	(void)url;
	if (allowed & GIT_CREDENTIAL_USERPASS_PLAINTEXT) {
		const char *token = getenv(r->token_env);
		if (!token || !*token) {
			r->auth_failed = true;
			snprintf(r->auth_msg, sizeof r->auth_msg,
				 "the registry asks for credentials: set $%s to a token", r->token_env);
			git_error_set_str(GIT_ERROR_NET, r->auth_msg);
			return GIT_EAUTH;
		}
		if (r->userpass_tries++ > 0) {
			r->auth_failed = true;
			snprintf(r->auth_msg, sizeof r->auth_msg, "the registry refused the token in $%s", r->token_env);
			git_error_set_str(GIT_ERROR_NET, r->auth_msg);
			return GIT_EAUTH;
		}
		const char *user = getenv(r->user_env);
		if (!user || !*user)
			user = user_from_url && *user_from_url ? user_from_url : "x-access-token";
		return git_credential_userpass_plaintext_new(out, user, token);
	}
	const char *user = user_from_url && *user_from_url ? user_from_url : "git";
	if (allowed & GIT_CREDENTIAL_SSH_KEY) {
		/* the key in $HP_REGISTRY_SSH_KEY, then the agent's keys */
		const char *key = getenv("HP_REGISTRY_SSH_KEY");
		const char *agent = getenv("SSH_AUTH_SOCK");
		bool have_key = key && *key, have_agent = agent && *agent;
		int tries = r->ssh_tries++;
		/* the message for a refusal (net_fail) */
		snprintf(r->auth_msg, sizeof r->auth_msg, "%s",
			 !have_key && !have_agent ? "the registry asks for an SSH key: set $HP_REGISTRY_SSH_KEY or run an ssh-agent"
			 : have_key && !have_agent ? "the registry refused the SSH key in $HP_REGISTRY_SSH_KEY"
						   : "the registry refused the SSH keys ($HP_REGISTRY_SSH_KEY, the agent's)");
		if (tries == 0 && have_key) {
			char pub[PATH_MAX];
			snprintf(pub, sizeof pub, "%s.pub", key);
			return git_credential_ssh_key_new(out, user, access(pub, R_OK) == 0 ? pub : NULL, key,
							  getenv("HP_REGISTRY_SSH_PASSPHRASE"));
		}
		if (have_agent && tries == (have_key ? 1 : 0))
			return git_credential_ssh_key_from_agent(out, user);
		r->auth_failed = true;
		git_error_set_str(GIT_ERROR_SSH, r->auth_msg);
		return GIT_EAUTH;
	}
	if (allowed & GIT_CREDENTIAL_USERNAME)
		return git_credential_username_new(out, user);
	return GIT_PASSTHROUGH;
}

static void reset_creds(hp_git_registry *r)
{
	r->userpass_tries = r->ssh_tries = 0;
	r->auth_failed = false;
	r->auth_msg[0] = '\0';
}

/* The folder of a local registry URL, or NULL. */
static const char *local_path(const char *url)
{
	if (strncmp(url, "file://", 7) == 0)
		return url + 7;
	if (url[0] == '/' || strncmp(url, "./", 2) == 0 || strncmp(url, "../", 3) == 0)
		return url;
	return NULL;
}

/* Is url an SSH one (ssh://, or git's scp form user@host:path)? */
static bool is_ssh(const char *url)
{
	if (strncmp(url, "ssh://", 6) == 0 || strncmp(url, "ssh+git://", 10) == 0 || strncmp(url, "git+ssh://", 10) == 0)
		return true;
	if (strstr(url, "://") || local_path(url))
		return false;
	size_t colon = strcspn(url, ":/");
	return url[colon] == ':';
}

/* Where a step of r goes, for messages: the server's host:port (from the
 * stream opened, else from the URL), a local registry's folder. */
static void where_of(const hp_git_registry *r, const hp_gitnet_op *op, char *out, size_t size)
{
	const char *url = r->url, *path = local_path(url), *w = hp_gitnet_where(op);
	if (path || w) {
		snprintf(out, size, "%s", path ? path : w);
		return;
	}
	const char *p = strstr(url, "://");
	const char *port = "22";
	if (p) {
		port = strncmp(url, "https:", 6) == 0 ? "443" : strncmp(url, "http:", 5) == 0 ? "80" : "22";
		p += 3;
	} else {
		p = url;
	}
	size_t n = strcspn(p, "/");
	const char *at = memchr(p, '@', n);
	if (at) {
		n -= (size_t)(at + 1 - p);
		p = at + 1;
	}
	if (!strstr(url, "://"))
		n = strcspn(p, ":");  /* user@host:path */
	const char *close = p[0] == '[' ? memchr(p, ']', n) : NULL;
	const char *colon = close ? (close + 1 < p + n && close[1] == ':' ? close + 1 : NULL) : memchr(p, ':', n);
	if (colon)
		snprintf(out, size, "%.*s", (int)n, p);
	else
		snprintf(out, size, "%.*s:%s", (int)n, p, port);
}

/* A libgit2 failure of a network step ("fetch from", "push to") as an
 * hp_err: one line naming the step and the server. */
static hp_code net_fail(hp_git_registry *r, hp_gitnet_op *op, hp_err *e, int err, const char *step)
{
	const char *t = hp_gitnet_timed_out(op);
	if (t)
		return hp_fail(e, HP_E_TEMPFAIL, "%s", t);
	char where[PATH_MAX];
	where_of(r, op, where, sizeof where);
	const char *m = git_msg();
	char lockf[PATH_MAX];
	if (hp_gitlock_from_message(m, lockf, sizeof lockf))
		/* taken after we settled the locks: a git or hybrid-p2p at work now */
		return hp_fail(e, HP_E_TEMPFAIL, "registry: %s %s: '%s' is held by another process", step, where, lockf);
	if (strstr(m, "hostkey") || strstr(m, "host key"))
		return hp_fail(e, HP_E_PERM, "registry: %s %s: %s (add the server's key to ~/.ssh/known_hosts)", step, where,
			       m);
	if (err == GIT_ECERTIFICATE || strstr(m, "certificate is invalid"))
		return hp_fail(e, HP_E_PERM,
			       "registry: %s %s: the server's TLS certificate is not trusted (%s): if it is the right "
			       "server, put its CA's certificate in $SSL_CERT_FILE",
			       step, where, m);
	if (r->auth_failed || (r->ssh_tries && strstr(m, "authenticat")))
		return hp_fail(e, HP_E_PERM, "registry: %s %s: %s", step, where, r->auth_msg);
	if (strstr(m, "status code: 404"))
		return hp_fail(e, HP_E_NOINPUT, "registry: %s %s: no such repository at '%s' (HTTP 404)", step, where, r->url);
	hp_code code = HP_E_UNAVAILABLE;
	if (err == GIT_EAUTH || strstr(m, "401") || strstr(m, "403") || strstr(m, "authenticat") ||
	    strstr(m, "Permission denied"))
		code = HP_E_PERM;
	else if (strstr(m, "timed out") || strstr(m, "timeout"))
		code = HP_E_TEMPFAIL;
	return hp_fail(e, code, "registry: %s %s: %s", step, where, m);
}

/* Begin a network step of r (hp_gitnet: every wait bounded). */
static hp_gitnet_op *net_begin(hp_git_registry *r, const char *step, hp_err *e)
{
	char what[64];
	snprintf(what, sizeof what, "registry: %s", step);
	return hp_gitnet_begin(what, r->timeout_ms, is_ssh(r->url), e);
}

/* A local registry must exist (a mistyped path is not a new registry),
 * unless publish creates it (create_local). */
static hp_code local_exists(const char *url, const char *step, hp_err *e)
{
	const char *path = local_path(url);
	struct stat st;
	if (!path)
		return HP_OK;
	if (stat(path, &st) < 0) {
		if (errno == ENOENT || errno == ENOTDIR)
			return hp_fail(e, HP_E_NOINPUT,
				       "registry: %s: no such repository (create it with 'git init --bare %s')", path, path);
		return hp_fail_errno(e, errno == EACCES ? HP_E_PERM : HP_E_NOINPUT, errno, "registry: %s %s", step, path);
	}
	git_repository *repo = NULL;
	int err = git_repository_open_ext(&repo, path, GIT_REPOSITORY_OPEN_NO_SEARCH, NULL);
	git_repository_free(repo);
	if (err == GIT_EOWNER)
		return hp_fail(e, HP_E_PERM, "registry: %s: the repository belongs to another user: add it to git's "
			       "safe.directory", path);
	if (err < 0)
		return hp_fail(e, HP_E_NOINPUT, "registry: %s: not a git repository (%s)", path, git_msg());
	return HP_OK;
}

/* An anonymous remote for r->url, taken as given: no url.*.insteadOf
 * rewriting (libgit2 1.5 leaks a regex match buffer for every config entry
 * that pattern does not match). */
static int make_remote(hp_git_registry *r, git_remote **out)
{
	git_remote_create_options ro;
	git_remote_create_options_init(&ro, GIT_REMOTE_CREATE_OPTIONS_VERSION);
	ro.repository = r->repo;
	ro.flags = GIT_REMOTE_CREATE_SKIP_INSTEADOF | GIT_REMOTE_CREATE_SKIP_DEFAULT_FETCHSPEC;
	return git_remote_create_with_opts(out, r->url, &ro);
}

static void set_callbacks(hp_git_registry *r, git_remote_callbacks *cb)
{
	cb->credentials = cred_cb;
	cb->payload = r;
}

/* Create a missing local registry: an empty bare repository. */
static hp_code create_local(hp_git_registry *r, hp_err *e)
{
	const char *path = local_path(r->url);
	struct stat st;
	if (!r->create_local || !path || !*path || lstat(path, &st) == 0 || errno != ENOENT)
		return HP_OK;
	git_repository_init_options io;
	git_repository_init_options_init(&io, GIT_REPOSITORY_INIT_OPTIONS_VERSION);
	io.flags = GIT_REPOSITORY_INIT_BARE | GIT_REPOSITORY_INIT_MKPATH | GIT_REPOSITORY_INIT_NO_REINIT;
	io.initial_head = r->branch;
	git_repository *repo = NULL;
	if (git_repository_init_ext(&repo, path, &io) < 0)
		return hp_fail(e, HP_E_CANTCREAT, "cannot create the registry '%s': %s", path, git_msg());
	git_repository_free(repo);
	r->created = true;
	return HP_OK;
}

hp_code hp_git_registry_fetch(hp_git_registry *r, hp_err *e)
{
	git_remote *remote = NULL;
	hp_code rc = local_exists(r->url, "fetch from", e);
	if (rc)
		return rc;
	char spec[400];
	snprintf(spec, sizeof spec, "+refs/heads/%s:refs/hp/fetched/%s", r->branch, r->branch);
	char *specs[] = { spec };
	git_strarray refspecs = { specs, 1 };
	if (make_remote(r, &remote) < 0)
		return hp_fail(e, HP_E_USAGE, "registry '%s': %s", r->url, git_msg());
	hp_gitnet_op *op = net_begin(r, "fetch from", e);
	if (!op) {
		git_remote_free(remote);
		return e->code;
	}
	git_fetch_options fo;
	git_fetch_options_init(&fo, GIT_FETCH_OPTIONS_VERSION);
	set_callbacks(r, &fo.callbacks);
	fo.download_tags = GIT_REMOTE_DOWNLOAD_TAGS_NONE;
	fo.update_fetchhead = 0;
	reset_creds(r);
	char fetched[320];
	snprintf(fetched, sizeof fetched, "refs/hp/fetched/%s", r->branch);
	int cover = cover_lock(r->cache_dir, fetched);
	int err = git_remote_fetch(remote, &refspecs, &fo, NULL);
	hp_tmp_forget(cover);
	if (err < 0) {
		rc = net_fail(r, op, e, err, "fetch from");
		goto out;
	}
	/* What the remote has now (not a tracking ref that could be stale). */
	const git_remote_head **heads = NULL;
	size_t nheads = 0;
	if (git_remote_ls(&heads, &nheads, remote) < 0) {
		rc = net_fail(r, op, e, -1, "fetch from");
		goto out;
	}
	char want[300];
	snprintf(want, sizeof want, "refs/heads/%s", r->branch);
	r->have_tip = false;
	r->tip_hex[0] = '\0';
	for (size_t i = 0; i < nheads; i++)
		if (strcmp(heads[i]->name, want) == 0) {
			git_oid_cpy(&r->tip, &heads[i]->oid);
			r->have_tip = true;
			git_oid_tostr(r->tip_hex, sizeof r->tip_hex, &r->tip);
		}
	if (r->have_tip) {
		git_commit *c = NULL;
		if (git_commit_lookup(&c, r->repo, &r->tip) < 0)
			rc = hp_fail(e, HP_E_UNAVAILABLE, "registry '%s': branch '%s' at %s was not fetched: %s", r->url,
				     r->branch, r->tip_hex, git_msg());
		git_commit_free(c);
	}
out:
	git_remote_free(remote);
	hp_gitnet_end(op);
	return rc;
}

const char *hp_git_registry_tip(const hp_git_registry *r)
{
	return r->have_tip ? r->tip_hex : NULL;
}

static hp_code tip_tree(hp_git_registry *r, git_tree **tree, hp_err *e)
{
	*tree = NULL;
	if (!r->have_tip)
		return HP_OK;
	git_commit *c = NULL;
	if (git_commit_lookup(&c, r->repo, &r->tip) < 0 || git_commit_tree(tree, c) < 0) {
		git_commit_free(c);
		return hp_fail(e, HP_E_DATA, "registry '%s': cannot read commit %s: %s", r->url, r->tip_hex, git_msg());
	}
	git_commit_free(c);
	return HP_OK;
}

static hp_code read_in_tree(hp_git_registry *r, git_tree *tree, const char *path, size_t max, hp_buf *out,
			    hp_err *e)
{
	git_tree_entry *te = NULL;
	git_blob *blob = NULL;
	hp_code rc = HP_OK;
	if (!tree || git_tree_entry_bypath(&te, tree, path) < 0)
		return hp_fail(e, HP_E_NOINPUT, "'%s' is not in the registry", path);
	if (git_tree_entry_type(te) != GIT_OBJECT_BLOB) {
		rc = hp_fail(e, HP_E_DATA, "registry: '%s' is not a file", path);
		goto out;
	}
	if (git_blob_lookup(&blob, r->repo, git_tree_entry_id(te)) < 0) {
		rc = hp_fail(e, HP_E_DATA, "registry: cannot read '%s': %s", path, git_msg());
		goto out;
	}
	git_object_size_t n = git_blob_rawsize(blob);
	if (n > (git_object_size_t)max) {
		rc = hp_fail(e, HP_E_DATA, "registry: '%s' is larger than %zu bytes", path, max);
		goto out;
	}
	hp_buf_reset(out);
	rc = hp_buf_add(out, git_blob_rawcontent(blob), (size_t)n, e);
out:
	git_blob_free(blob);
	git_tree_entry_free(te);
	return rc;
}

hp_code hp_git_registry_read(hp_git_registry *r, const char *path, size_t max, hp_buf *out, hp_err *e)
{
	git_tree *tree = NULL;
	hp_code rc = tip_tree(r, &tree, e);
	if (!rc)
		rc = read_in_tree(r, tree, path, max, out, e);
	git_tree_free(tree);
	return rc;
}

/* content_id of a manifest's bytes, or NULL (malloc'ed). */
static char *content_id_of(const char *p, size_t n)
{
	json_t *j = NULL;
	hp_err ignore = HP_ERR_INIT;
	if (hp_json_parse(p, n, "manifest", &j, &ignore))
		return NULL;
	const char *s = json_string_value(json_object_get(j, "content_id"));
	char *out = s ? strdup(s) : NULL;
	json_decref(j);
	return out;
}

/* A subtree of tree by name, or NULL. */
static git_tree *subtree(git_repository *repo, const git_tree *tree, const char *name)
{
	if (!tree)
		return NULL;
	const git_tree_entry *te = git_tree_entry_byname(tree, name);
	git_tree *sub = NULL;
	if (!te || git_tree_entry_type(te) != GIT_OBJECT_TREE || git_tree_lookup(&sub, repo, git_tree_entry_id(te)) < 0)
		return NULL;
	return sub;
}

/* The index of a manifests/ tree: every <name>/<version>.json. */
static hp_code build_index(git_repository *repo, const git_tree *manifests, hp_buf *out, hp_err *e)
{
	json_t *index = hp_registry_index_new();
	if (!index)
		return hp_fail_nomem(e);
	hp_code rc = HP_OK;
	size_t n = git_tree_entrycount(manifests);
	for (size_t i = 0; i < n && !rc; i++) {
		const git_tree_entry *te = git_tree_entry_byindex(manifests, i);
		const char *name = git_tree_entry_name(te);
		if (git_tree_entry_type(te) != GIT_OBJECT_TREE || !hp_registry_name_ok(name))
			continue;
		git_tree *pkg = subtree(repo, manifests, name);
		size_t m = git_tree_entrycount(pkg);
		for (size_t k = 0; k < m && !rc; k++) {
			const git_tree_entry *ve = git_tree_entry_byindex(pkg, k);
			const char *file = git_tree_entry_name(ve);
			size_t fl = strlen(file);
			if (git_tree_entry_type(ve) != GIT_OBJECT_BLOB || fl <= 5 || strcmp(file + fl - 5, ".json") != 0)
				continue;
			char version[80];
			if (fl - 5 >= sizeof version)
				continue;
			memcpy(version, file, fl - 5);
			version[fl - 5] = '\0';
			if (hp_registry_version_ok(version))
				rc = hp_registry_index_add(index, name, version, e);
		}
		git_tree_free(pkg);
	}
	if (!rc)
		rc = hp_registry_index_dump(index, out, e);
	json_decref(index);
	return rc;
}

/* What the server prints during a push ("remote: error: cannot lock ref
 * ..."): its last 2 KiB. */
static int sideband_cb(const char *str, int len, void *data)
{
	hp_git_registry *r = data;
	size_t have = strlen(r->remote_says), cap = sizeof r->remote_says - 1;
	size_t n = len > 0 ? (size_t)len : 0;
	if (n > cap) {
		str += n - cap;
		n = cap;
	}
	if (have + n > cap) {
		memmove(r->remote_says, r->remote_says + (have + n - cap), cap - n);
		have = cap - n;
	}
	memcpy(r->remote_says + have, str, n);
	r->remote_says[have + n] = '\0';
	return 0;
}

/* The lock file a server could not create ("Unable to create
 * '/srv/reg.git/./refs/heads/main.lock': File exists"), or false. */
static bool server_lock(const hp_git_registry *r, char *out, size_t size)
{
	const char *p = strstr(r->remote_says, "Unable to create '");
	if (!p)
		return false;
	p += strlen("Unable to create '");
	const char *q = strstr(p, ".lock': File exists");
	if (!q)
		return false;
	snprintf(out, size, "%.*s.lock", (int)(q - p), p);
	return true;
}

static int push_ref_cb(const char *refname, const char *status, void *data)
{
	hp_git_registry *r = data;
	if (status) {
		r->rejected = true;
		snprintf(r->reject_msg, sizeof r->reject_msg, "%s: %s", refname, status);
	}
	return 0;
}

/* A libgit2 failure in the cache: a lock taken by someone else since we
 * settled them is 75, anything else an I/O error. */
static hp_code cache_fail(hp_err *e, const char *what)
{
	char lockf[PATH_MAX];
	if (hp_gitlock_from_message(git_msg(), lockf, sizeof lockf))
		return hp_fail(e, HP_E_TEMPFAIL, "registry cache: %s: '%s' is held by another process", what, lockf);
	return hp_fail(e, HP_E_IO, "registry cache: %s: %s", what, git_msg());
}

#define GITCHK(call, what) \
	do { \
		if ((call) < 0) { \
			rc = cache_fail(e, what); \
			goto out; \
		} \
	} while (0)

/* One attempt: build the commit on the fetched tip and push it. *retry is
 * set when the push lost a race. */
static hp_code publish_once(hp_git_registry *r, hp_git_publish *p, bool *retry, hp_err *e)
{
	*retry = false;
	hp_code rc = HP_OK;
	git_tree *root = NULL, *manifests = NULL, *pkg = NULL, *newman = NULL, *newroot = NULL;
	git_treebuilder *b = NULL;
	git_commit *parent = NULL;
	git_signature *sig = NULL;
	git_remote *remote = NULL;
	git_reference *ref = NULL;
	hp_gitnet_op *op = NULL;
	char *old_cid = NULL, *new_cid = NULL;
	hp_buf path = HP_BUF_INIT, existing = HP_BUF_INIT, index = HP_BUF_INIT;
	hp_buf_init(&existing, HP_REGISTRY_MANIFEST_MAX);

	if ((rc = tip_tree(r, &root, e)))
		goto out;
	if ((rc = hp_registry_path(p->name, p->version, "json", &path, e)))
		goto out;
	new_cid = content_id_of(p->manifest, p->manifest_len);
	if (!new_cid) {
		rc = hp_fail(e, HP_E_DATA, "the manifest to publish has no content_id");
		goto out;
	}
	rc = read_in_tree(r, root, path.data, HP_REGISTRY_MANIFEST_MAX, &existing, e);
	if (rc == HP_OK) {
		old_cid = content_id_of(existing.data, existing.len);
		if (old_cid && strcmp(old_cid, new_cid) == 0) {
			p->unchanged = true;
			snprintf(p->commit, sizeof p->commit, "%s", r->tip_hex);
			goto out;
		}
		rc = hp_fail(e, HP_E_INVALID,
			     "%s %s is already in the registry with other content (content_id %.16s..., not %.16s...): "
			     "publish a new version",
			     p->name, p->version, old_cid ? old_cid : "unreadable", new_cid);
		goto out;
	}
	if (rc != HP_E_NOINPUT)
		goto out;
	hp_err_clear(e);
	rc = HP_OK;

	manifests = subtree(r->repo, root, HP_REGISTRY_DIR);
	pkg = subtree(r->repo, manifests, p->name);
	git_oid oid, pkg_oid, man_oid, root_oid, commit_oid;
	char file[120];
	GITCHK(git_treebuilder_new(&b, r->repo, pkg), "tree");
	GITCHK(git_blob_create_from_buffer(&oid, r->repo, p->manifest, p->manifest_len), "manifest blob");
	snprintf(file, sizeof file, "%s.json", p->version);
	GITCHK(git_treebuilder_insert(NULL, b, file, &oid, GIT_FILEMODE_BLOB), "tree entry");
	if (p->torrent) {
		GITCHK(git_blob_create_from_buffer(&oid, r->repo, p->torrent, p->torrent_len), "torrent blob");
		snprintf(file, sizeof file, "%s.torrent", p->version);
		GITCHK(git_treebuilder_insert(NULL, b, file, &oid, GIT_FILEMODE_BLOB), "tree entry");
	}
	GITCHK(git_treebuilder_write(&pkg_oid, b), "tree");
	git_treebuilder_free(b);
	b = NULL;
	GITCHK(git_treebuilder_new(&b, r->repo, manifests), "tree");
	GITCHK(git_treebuilder_insert(NULL, b, p->name, &pkg_oid, GIT_FILEMODE_TREE), "tree entry");
	GITCHK(git_treebuilder_write(&man_oid, b), "tree");
	git_treebuilder_free(b);
	b = NULL;
	GITCHK(git_tree_lookup(&newman, r->repo, &man_oid), "tree");
	if ((rc = build_index(r->repo, newman, &index, e)))
		goto out;
	GITCHK(git_treebuilder_new(&b, r->repo, root), "tree");
	GITCHK(git_treebuilder_insert(NULL, b, HP_REGISTRY_DIR, &man_oid, GIT_FILEMODE_TREE), "tree entry");
	GITCHK(git_blob_create_from_buffer(&oid, r->repo, index.data, index.len), "index blob");
	GITCHK(git_treebuilder_insert(NULL, b, HP_REGISTRY_INDEX, &oid, GIT_FILEMODE_BLOB), "tree entry");
	GITCHK(git_treebuilder_write(&root_oid, b), "tree");
	GITCHK(git_tree_lookup(&newroot, r->repo, &root_oid), "tree");

	const char *an = getenv("GIT_AUTHOR_NAME"), *ae = getenv("GIT_AUTHOR_EMAIL");
	if (!an || !*an)
		an = p->author_name && *p->author_name ? p->author_name : "hybrid-p2p";
	if (!ae || !*ae)
		ae = p->author_email && *p->author_email ? p->author_email : "hybrid-p2p@localhost";
	GITCHK(git_signature_now(&sig, an, ae), "author");
	if (r->have_tip)
		GITCHK(git_commit_lookup(&parent, r->repo, &r->tip), "parent commit");
	char msg[512];
	snprintf(msg, sizeof msg, "Publish %s %s\n\ncontent_id: %s\n", p->name, p->version, new_cid);
	const git_commit *parents[1] = { parent };
	GITCHK(git_commit_create(&commit_oid, r->repo, NULL, sig, sig, "UTF-8", msg, newroot, parent ? 1 : 0, parents),
	       "commit");
	int cover = cover_lock(r->cache_dir, "refs/hp/publish");
	int cerr = git_reference_create(&ref, r->repo, "refs/hp/publish", &commit_oid, 1, NULL);
	hp_tmp_forget(cover);
	GITCHK(cerr, "reference");

	char spec[400];
	snprintf(spec, sizeof spec, "refs/hp/publish:refs/heads/%s", r->branch);
	char *specs[] = { spec };
	git_strarray refspecs = { specs, 1 };
	if (make_remote(r, &remote) < 0) {
		rc = hp_fail(e, HP_E_USAGE, "registry '%s': %s", r->url, git_msg());
		goto out;
	}
	if (!(op = net_begin(r, "push to", e))) {
		rc = e->code;
		goto out;
	}
	git_push_options po;
	git_push_options_init(&po, GIT_PUSH_OPTIONS_VERSION);
	set_callbacks(r, &po.callbacks);
	po.callbacks.push_update_reference = push_ref_cb;
	po.callbacks.sideband_progress = sideband_cb;
	r->remote_says[0] = '\0';
	reset_creds(r);
	r->rejected = false;
	p->attempts++;
	char head[320];
	snprintf(head, sizeof head, "refs/heads/%s", r->branch);
	cover = cover_lock(local_path(r->url), head);
	int err = git_remote_push(remote, &refspecs, &po);
	hp_tmp_forget(cover);
	char lockf[PATH_MAX];
	if (err == 0 && r->rejected &&
	    (hp_gitlock_from_message(r->reject_msg, lockf, sizeof lockf) || server_lock(r, lockf, sizeof lockf))) {
		/* the branch's lock file is taken (libgit2's local transport
		 * says so in the status; git receive-pack on a server in its
		 * messages) */
		*retry = true;
		r->lock_refused = true;
		snprintf(r->lock_file, sizeof r->lock_file, "%s", lockf);
		rc = hp_fail(e, HP_E_TEMPFAIL, "registry '%s': '%s' is held by another process", r->url, lockf);
		goto out;
	}
	if (err == GIT_ENONFASTFORWARD || (err < 0 && strstr(git_msg(), "non-fast")) ||
	    (err == 0 && r->rejected && (strstr(r->reject_msg, "fast") || strstr(r->reject_msg, "fetch first") ||
					 strstr(r->reject_msg, "failed to update")))) {
		*retry = true;
		rc = hp_fail(e, HP_E_TEMPFAIL, "registry '%s': push refused as not fast-forward", r->url);
		goto out;
	}
	if (err < 0) {
		rc = net_fail(r, op, e, err, "push to");
		goto out;
	}
	if (r->rejected) {
		rc = hp_fail(e, HP_E_UNAVAILABLE, "registry '%s' refused the push: %s", r->url, r->reject_msg);
		goto out;
	}
	git_oid_cpy(&r->tip, &commit_oid);
	r->have_tip = true;
	git_oid_tostr(r->tip_hex, sizeof r->tip_hex, &r->tip);
	snprintf(p->commit, sizeof p->commit, "%s", r->tip_hex);
out:
	git_remote_free(remote);
	hp_gitnet_end(op);
	git_reference_free(ref);
	git_signature_free(sig);
	git_commit_free(parent);
	git_treebuilder_free(b);
	git_tree_free(newroot);
	git_tree_free(newman);
	git_tree_free(pkg);
	git_tree_free(manifests);
	git_tree_free(root);
	free(old_cid);
	free(new_cid);
	hp_buf_release(&path);
	hp_buf_release(&existing);
	hp_buf_release(&index);
	return rc;
}

hp_code hp_git_registry_publish(hp_git_registry *r, hp_git_publish *p, hp_err *e)
{
	if (!hp_registry_name_ok(p->name) || !hp_registry_version_ok(p->version))
		return hp_fail(e, HP_E_USAGE, "invalid name or version to publish");
	int max = p->max_attempts > 0 ? p->max_attempts : 5;
	p->unchanged = false;
	p->attempts = 0;
	p->commit[0] = '\0';
	hp_code rc = create_local(r, e);
	if (rc)
		return rc;
	p->created = r->created;
	/* a local registry: ours to lock while we push (other hybrid-p2p
	 * publishers wait), and its branch's lock file settled before each
	 * push: removed when a dead process left it, waited for when it may be
	 * live (hp_gitlock.h) */
	const char *local = local_path(r->url);
	char head_lock[340];
	snprintf(head_lock, sizeof head_lock, "refs/heads/%s.lock", r->branch);
	const char *settle[] = { head_lock };
	if (local && !r->reg_lock &&
	    (rc = hp_gitlock_take(local, "registry", r->timeout_ms, HP_GITLOCK_OPTIONAL, &r->reg_lock, e)))
		return rc;
	long lock_since = -1;  /* when a server first refused the push for its lock */
	int i = 0;
	for (int races = 0; races < max; i++) {
		if (i > 0) {
			/* a little backoff, different per process */
			struct timespec ts = { 0, (long)(100 + (getpid() * 37 + i * 91) % 400) * 1000000L };
			nanosleep(&ts, NULL);
		}
		hp_err_clear(e);
		if (local && (rc = hp_gitlock_settle(r->reg_lock, settle, 1, r->timeout_ms, NULL, e)))
			break;
		if ((rc = hp_git_registry_fetch(r, e)))
			break;
		bool retry = false;
		r->lock_refused = false;
		rc = publish_once(r, p, &retry, e);
		if (!retry)
			break;
		if (!r->lock_refused) {
			races++;
			lock_since = -1;
			continue;
		}
		/* the branch's lock file: locally, the next settle waits for it
		 * or removes it; on a server, retried for --timeout, then it is
		 * not going away by itself */
		struct timespec now;
		clock_gettime(CLOCK_MONOTONIC, &now);
		long ms = (long)now.tv_sec * 1000 + now.tv_nsec / 1000000;
		if (lock_since < 0)
			lock_since = ms;
		if (!local && ms - lock_since >= r->timeout_ms) {
			rc = hp_fail(e, HP_E_UNAVAILABLE,
				     "registry '%s' refused every push for %ld s: its branch's lock file on the server is "
				     "taken (%s): a push stuck there, or a lock left by a crash that the server's "
				     "administrator must remove",
				     r->url, (r->timeout_ms + 999) / 1000, r->lock_file);
			break;
		}
		if (local && i >= 100) {
			break;  /* e says which lock */
		}
	}
	hp_gitlock_release(r->reg_lock);
	r->reg_lock = NULL;
	if (rc == HP_E_TEMPFAIL && e->code == HP_E_TEMPFAIL && strstr(e->msg, "push refused as not fast-forward"))
		return hp_fail(e, HP_E_TEMPFAIL, "registry '%s': the branch kept moving; gave up after %d pushes", r->url,
			       max);
	return rc;
}
