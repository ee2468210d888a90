#include "hp_fetch_source.h"
#include "hp_thread.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hp_io.h"
#include "hp_tmp.h"
#include "hp_json.h"
#include "hp_manifest.h"
#include "hp_verify.h"
#include "banned.h"

#define READ_BLOCK (1u << 20)

typedef struct fsource {
	const hp_fetch_source_ops *ops;
	void *self;
	char *name;
	bool tried;
	hp_code rc;
	char *error;
} fsource;

typedef struct fstate {
	hp_fetch_status status;
	bool busy;           /* a writer has it */
	bool reported;       /* its final record was sent */
	hp_code err_code;    /* why the last source failed it */
	char *err_msg;
	const char *source;  /* who delivered it (a source's name) */
} fstate;

struct hp_fetch {
	json_t *m;
	bool own_m;
	hp_fetch_file *files;
	fstate *st;
	size_t nfiles;
	uint64_t total;
	uint64_t done_bytes;   /* present + fetched */
	uint64_t inflight;     /* written to partial files not yet in place */
	uint64_t src_held;     /* verified bytes the running source's engine holds */
	const volatile sig_atomic_t *stop;
	bool interruptible;    /* the running source honours stop */
	int dirfd, pdirfd;
	char *pdir_shown;      /* "DIR/.hp-partial", for messages */
	bool locked;           /* .hp-partial is ours */
	int partial_tmp;       /* .hp-partial's hp_tmp registration: a signal removes it when empty */
	int jobs;
	hp_fetch_event_fn *on_event;
	void *ud;
	fsource *src;
	size_t nsrc;
	size_t cur;            /* the source running */
	pthread_mutex_t mu;    /* recursive: an event callback may ask about files */
	bool mu_init;
};

struct hp_fetch_out {
	hp_fetch *f;
	size_t i;
	int fd;
	char name[80];
	int tmp_id;            /* the partial file's hp_tmp registration: a signal removes it */
	EVP_MD_CTX *sha;
	uint64_t written;
	bool random;           /* pwrite was used: hash at commit */
};

/* ---- events ---- */

static void emit(hp_fetch *f, const hp_fetch_event *ev)
{
	if (f->on_event)
		f->on_event(f->ud, ev);
}

static void emit_file(hp_fetch *f, size_t i, const hp_err *err)
{
	hp_fetch_event ev = { 0 };
	ev.kind = HP_FETCH_EV_FILE;
	ev.index = i;
	ev.file = &f->files[i];
	ev.status = f->st[i].status;
	ev.source = f->st[i].source;
	ev.err = err;
	emit(f, &ev);
}

static void emit_progress_rate(hp_fetch *f, uint64_t rate, int peers)
{
	hp_fetch_event ev = { 0 };
	ev.kind = HP_FETCH_EV_PROGRESS;
	ev.done = f->done_bytes + f->inflight + f->src_held;
	if (ev.done > f->total)
		ev.done = f->total;
	ev.total = f->total;
	ev.rate = rate;
	ev.peers = peers;
	emit(f, &ev);
}

static void emit_progress(hp_fetch *f)
{
	emit_progress_rate(f, 0, -1);
}

/* ---- paths ---- */

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

static void hex32(const uint8_t d[32], char out[65])
{
	static const char hx[] = "0123456789abcdef";
	for (size_t i = 0; i < 32; i++) {
		out[2 * i] = hx[d[i] >> 4];
		out[2 * i + 1] = hx[d[i] & 15];
	}
	out[64] = '\0';
}

/* A write that failed for want of space (or a failing disk) is an I/O
 * error, 74, whatever it was writing: a full disk is never "cannot create"
 * (73: a link or a file in the way, permissions, a read-only file system). */
static hp_code disk_code(int err, hp_code otherwise)
{
	return err == ENOSPC || err == EDQUOT || err == EIO || err == EFBIG ? HP_E_IO : otherwise;
}

static int path_cmp(const char *a, size_t an, const char *b, size_t bn)
{
	int c = memcmp(a, b, an < bn ? an : bn);
	if (c)
		return c;
	return an < bn ? -1 : an > bn;
}

/* The first file whose path is >= p[0..n). */
static size_t lower_bound(const hp_fetch *f, const char *p, size_t n)
{
	size_t lo = 0, hi = f->nfiles;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (path_cmp(f->files[mid].path, f->files[mid].path_len, p, n) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

size_t hp_fetch_find(const hp_fetch *f, const char *path, size_t n)
{
	size_t i = lower_bound(f, path, n);
	if (i < f->nfiles && f->files[i].path_len == n && memcmp(f->files[i].path, path, n) == 0)
		return i;
	return SIZE_MAX;
}

bool hp_fetch_is_dir(const hp_fetch *f, const char *path, size_t n)
{
	if (n == 0)
		return f->nfiles > 0;
	/* the paths that start with "path/" are contiguous in bytewise order
	 * and come right after "path/" itself */
	char *key = malloc(n + 1);
	if (!key)
		return false;
	memcpy(key, path, n);
	key[n] = '/';
	size_t i = lower_bound(f, key, n + 1);
	bool found = i < f->nfiles && f->files[i].path_len > n + 1 && memcmp(f->files[i].path, key, n + 1) == 0;
	free(key);
	return found;
}

/* Open the folder holding relpath's last component beneath dirfd, creating
 * missing folders when create; *base points at the last component. Follows
 * no link. With whole, the last component is a folder to open too. */
static hp_code open_parent(int dirfd, const char *relpath, size_t n, bool create, bool whole, int *out,
			   const char **base, hp_err *e)
{
	char *copy = malloc(n + 1);
	if (!copy)
		return hp_fail_nomem(e);
	memcpy(copy, relpath, n);
	copy[n] = '\0';
	int cur = dup(dirfd);
	if (cur < 0) {
		free(copy);
		return hp_fail_errno(e, HP_E_IO, errno, "cannot open the output folder");
	}
	hp_code rc = HP_OK;
	char *seg = copy;
	for (;;) {
		char *slash = strchr(seg, '/');
		if (!slash && !whole)
			break;
		if (slash)
			*slash = '\0';
		int next = openat(cur, seg, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (next < 0 && errno == ENOENT && create) {
			if (mkdirat(cur, seg, 0755) < 0 && errno != EEXIST) {
				rc = hp_fail_errno(e, disk_code(errno, HP_E_CANTCREAT), errno, "cannot create the folder of '%s'",
						   relpath);
				break;
			}
			next = openat(cur, seg, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		}
		if (next < 0) {
			int err = errno;
			if (err == ELOOP || err == ENOTDIR)
				rc = hp_fail(e, HP_E_CANTCREAT,
					     "cannot put '%s' in place: '%s' is a symbolic link or not a folder", relpath,
					     copy);
			else
				rc = hp_fail_errno(e, err == ENOENT ? HP_E_NOINPUT : HP_E_CANTCREAT, err,
						   "cannot open the folder of '%s'", relpath);
			break;
		}
		close(cur);
		cur = next;
		if (!slash)
			break;
		*slash = '/';
		seg = slash + 1;
	}
	if (rc) {
		close(cur);
		free(copy);
		return rc;
	}
	*out = cur;
	if (base)
		*base = relpath + (size_t)(seg - copy);
	free(copy);
	return HP_OK;
}

hp_code hp_fetch_mkdir(hp_fetch *f, const char *path, size_t n, hp_err *e)
{
	if (n == 0)
		return HP_OK;
	hp_code rc = hp_relpath_check(path, n, e);
	if (rc)
		return rc;
	int fd;
	if ((rc = open_parent(f->dirfd, path, n, true, true, &fd, NULL, e)))
		return rc;
	close(fd);
	return HP_OK;
}

/* ---- opening ---- */

static hp_code build_files(hp_fetch *f, hp_err *e)
{
	const json_t *files = json_object_get(f->m, "files");
	size_t n = json_array_size(files);
	f->files = calloc(n ? n : 1, sizeof *f->files);
	f->st = calloc(n ? n : 1, sizeof *f->st);
	if (!f->files || !f->st)
		return hp_fail_nomem(e);
	f->nfiles = n;
	for (size_t i = 0; i < n; i++) {
		const json_t *ent = json_array_get(files, i);
		const json_t *pj = json_object_get(ent, "path");
		hp_fetch_file *ff = &f->files[i];
		ff->entry = ent;
		ff->path = json_string_value(pj);
		ff->path_len = json_string_length(pj);
		ff->size = (uint64_t)json_integer_value(json_object_get(ent, "size"));
		const char *hx = json_string_value(json_object_get(ent, "sha256"));
		if (!ff->path || !hx || strlen(hx) != 64)
			return hp_fail(e, HP_E_DATA, "files[%zu] is malformed", i);
		for (size_t k = 0; k < 32; k++) {
			int hi = hexval(hx[2 * k]), lo = hexval(hx[2 * k + 1]);
			if (hi < 0 || lo < 0)
				return hp_fail(e, HP_E_DATA, "files[%zu].sha256 is not lower-case hex", i);
			ff->sha256[k] = (uint8_t)(hi << 4 | lo);
		}
		if (hp_relpath_check(ff->path, ff->path_len, e))
			return HP_E_DATA;
		size_t pl = sizeof HP_FETCH_PARTIAL_DIR - 1;
		if (ff->path_len >= pl && memcmp(ff->path, HP_FETCH_PARTIAL_DIR, pl) == 0 &&
		    (ff->path_len == pl || ff->path[pl] == '/'))
			return hp_fail(e, HP_E_DATA, "the manifest lists '%s', under the folder '%s' that hp-fetch keeps "
				       "its partial files in", ff->path, HP_FETCH_PARTIAL_DIR);
		if (i && path_cmp(f->files[i - 1].path, f->files[i - 1].path_len, ff->path, ff->path_len) >= 0)
			return hp_fail(e, HP_E_DATA, "the manifest's files are not sorted by path");
		f->total += ff->size;
	}
	return HP_OK;
}

/* The folder name beneath dfd, opened for reading on a file descriptor of
 * its own (a dup'd one would share the offset); NULL when it is no folder or
 * cannot be opened. */
static DIR *open_dir_at(int dfd, const char *name, int flags)
{
	int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | flags);
	if (fd < 0)
		return NULL;
	DIR *d = fdopendir(fd);
	if (!d)
		close(fd);
	return d;
}

/* Remove name (beneath dfd) and everything in it; links are removed, never
 * followed. */
static void remove_tree(int dfd, const char *name, unsigned depth)
{
	if (depth > 256)
		return;
	DIR *d = open_dir_at(dfd, name, O_NOFOLLOW);
	if (!d) {
		unlinkat(dfd, name, 0);  /* not a folder */
		return;
	}
	int fd = dirfd(d);
	struct dirent *de;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (de->d_type == DT_DIR)
			remove_tree(fd, de->d_name, depth + 1);
		else if (unlinkat(fd, de->d_name, 0) && errno == EISDIR)
			remove_tree(fd, de->d_name, depth + 1);
	}
	closedir(d);
	unlinkat(dfd, name, AT_REMOVEDIR);
}

void hp_fetch_remove_partial(hp_fetch *f, const char *name)
{
	if (f->pdirfd >= 0 && name && *name && !strchr(name, '/') && strcmp(name, ".") && strcmp(name, ".."))
		remove_tree(f->pdirfd, name, 0);
}

/* Remove from .hp-partial everything (every file is in place: what sources
 * kept for resuming is of no use any more), or only what an interrupted run
 * left that no source resumes from: *.part and spill-* files. */
static void purge_partial(int pdirfd, bool everything)
{
	DIR *d = open_dir_at(pdirfd, ".", 0);
	if (!d)
		return;
	struct dirent *de;
	while ((de = readdir(d))) {
		const char *name = de->d_name;
		if (!strcmp(name, ".") || !strcmp(name, ".."))
			continue;
		size_t n = strlen(name);
		if (everything)
			remove_tree(pdirfd, name, 0);
		else if ((n > 5 && strcmp(name + n - 5, ".part") == 0) || strncmp(name, "spill-", 6) == 0)
			unlinkat(pdirfd, name, 0);
	}
	closedir(d);
}

static hp_code open_dirs(hp_fetch *f, const char *dir, hp_err *e)
{
	if (!dir || !*dir)
		return hp_fail(e, HP_E_USAGE, "no output folder");
	size_t dl = strlen(dir);
	if (!(f->pdir_shown = malloc(dl + sizeof HP_FETCH_PARTIAL_DIR + 1)))
		return hp_fail_nomem(e);
	snprintf(f->pdir_shown, dl + sizeof HP_FETCH_PARTIAL_DIR + 1, "%s%s%s", dir,
		 dl && dir[dl - 1] == '/' ? "" : "/", HP_FETCH_PARTIAL_DIR);
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return hp_fail_errno(e, disk_code(errno, HP_E_CANTCREAT), errno, "cannot create '%s'", dir);
	f->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (f->dirfd < 0)
		return hp_fail_errno(e, errno == ENOTDIR ? HP_E_CANTCREAT : HP_E_NOINPUT, errno, "cannot open '%s'", dir);
	if (mkdirat(f->dirfd, HP_FETCH_PARTIAL_DIR, 0700) < 0 && errno != EEXIST)
		return hp_fail_errno(e, disk_code(errno, HP_E_CANTCREAT), errno, "cannot create '%s'", f->pdir_shown);
	f->pdirfd = openat(f->dirfd, HP_FETCH_PARTIAL_DIR, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (f->pdirfd < 0)
		return hp_fail_errno(e, HP_E_CANTCREAT, errno, "cannot open '%s'", f->pdir_shown);
	if (flock(f->pdirfd, LOCK_EX | LOCK_NB) < 0) {
		if (errno == EWOULDBLOCK)
			return hp_fail(e, HP_E_TEMPFAIL, "'%s' is being written by another hp-fetch", dir);
		return hp_fail_errno(e, HP_E_IO, errno, "cannot lock '%s'", f->pdir_shown);
	}
	f->locked = true;
	f->partial_tmp = hp_tmp_add(f->dirfd, HP_FETCH_PARTIAL_DIR, HP_TMP_DIR);
	purge_partial(f->pdirfd, false);
	return HP_OK;
}

static hp_code open_common(hp_fetch *f, const hp_fetch_opts *o, hp_err *e)
{
	f->dirfd = f->pdirfd = -1;
	f->jobs = o->jobs;
	f->on_event = o->on_event;
	f->ud = o->ud;
	f->stop = o->stop;
	f->cur = SIZE_MAX;
	pthread_mutexattr_t a;
	pthread_mutexattr_init(&a);
	pthread_mutexattr_settype(&a, PTHREAD_MUTEX_RECURSIVE);
	pthread_mutex_init(&f->mu, &a);
	pthread_mutexattr_destroy(&a);
	f->mu_init = true;
	hp_code rc = build_files(f, e);
	if (!rc)
		rc = open_dirs(f, o->out_dir, e);
	return rc;
}

hp_code hp_fetch_open_verified(json_t *m, const hp_fetch_opts *o, hp_fetch **out, hp_err *e)
{
	*out = NULL;
	hp_code rc = hp_manifest_validate(m, HP_MANIFEST_UNSIGNED_OK, NULL, e);
	if (rc)
		return rc;
	hp_fetch *f = calloc(1, sizeof *f);
	if (!f)
		return hp_fail_nomem(e);
	f->m = m;
	if ((rc = open_common(f, o, e))) {
		hp_fetch_free(f);
		return rc;
	}
	*out = f;
	return HP_OK;
}

/* hp_fetch_open and hp_fetch_open_bytes: the manifest from the file path,
 * or from data[0..len) when path is NULL. */
static hp_code open_checked(const char *path, const char *data, size_t len, const char *shown,
			    const hp_fetch_opts *o, hp_fetch **out, json_t **report, hp_err *e)
{
	*out = NULL;
	if (report)
		*report = NULL;
	hp_verify_opts vo = { 0 };
	vo.trusted_key_files = o->trusted_key_files;
	vo.n_trusted_key_files = o->n_trusted_key_files;
	vo.allow_untrusted = o->allow_untrusted;
	vo.state_path = o->state_path;
	vo.now = o->now ? o->now : time(NULL);
	json_t *rep = NULL, *m = NULL;
	hp_code rc = path ? hp_verify_manifest_load(path, &vo, &rep, &m, e)
			  : hp_verify_manifest_bytes(data, len, shown, &vo, &rep, &m, e);
	if (report)
		*report = rep;
	else
		json_decref(rep);
	if (rc)
		return rc;
	hp_fetch *f = calloc(1, sizeof *f);
	if (!f) {
		json_decref(m);
		return hp_fail_nomem(e);
	}
	f->m = m;
	f->own_m = true;
	if ((rc = open_common(f, o, e))) {
		hp_fetch_free(f);
		return rc;
	}
	*out = f;
	return HP_OK;
}

hp_code hp_fetch_open(const char *path, const hp_fetch_opts *o, hp_fetch **out, json_t **report, hp_err *e)
{
	return open_checked(path, NULL, 0, path, o, out, report, e);
}

hp_code hp_fetch_open_bytes(const char *data, size_t len, const char *shown, const hp_fetch_opts *o, hp_fetch **out,
			    json_t **report, hp_err *e)
{
	return open_checked(NULL, data, len, shown, o, out, report, e);
}

void hp_fetch_free(hp_fetch *f)
{
	if (!f)
		return;
	for (size_t i = 0; i < f->nsrc; i++) {
		if (f->src[i].ops->free)
			f->src[i].ops->free(f->src[i].self);
		free(f->src[i].name);
		free(f->src[i].error);
	}
	free(f->src);
	if (f->pdirfd >= 0) {
		if (f->locked) {
			bool all = f->st != NULL;
			for (size_t i = 0; all && i < f->nfiles; i++)
				all = f->st[i].status == HP_FETCH_PRESENT || f->st[i].status == HP_FETCH_FETCHED;
			purge_partial(f->pdirfd, all);
			if (f->dirfd >= 0)
				unlinkat(f->dirfd, HP_FETCH_PARTIAL_DIR, AT_REMOVEDIR);  /* only when empty */
		}
		hp_tmp_forget(f->partial_tmp);  /* before dirfd, which it names, is closed */
		close(f->pdirfd);
	}
	if (f->dirfd >= 0)
		close(f->dirfd);
	free(f->pdir_shown);
	for (size_t i = 0; f->st && i < f->nfiles; i++)
		free(f->st[i].err_msg);
	free(f->st);
	free(f->files);
	if (f->own_m)
		json_decref(f->m);
	if (f->mu_init)
		pthread_mutex_destroy(&f->mu);
	free(f);
}

/* ---- accessors ---- */

const json_t *hp_fetch_manifest(const hp_fetch *f) { return f->m; }
size_t hp_fetch_nfiles(const hp_fetch *f) { return f->nfiles; }
const hp_fetch_file *hp_fetch_file_at(const hp_fetch *f, size_t i) { return i < f->nfiles ? &f->files[i] : NULL; }
uint64_t hp_fetch_total_size(const hp_fetch *f) { return f->total; }
int hp_fetch_dirfd(const hp_fetch *f) { return f->dirfd; }
int hp_fetch_partial_dirfd(const hp_fetch *f) { return f->pdirfd; }
const char *hp_fetch_partial_dir_shown(const hp_fetch *f)
{
	return f->pdir_shown ? f->pdir_shown : HP_FETCH_PARTIAL_DIR;
}

hp_fetch_status hp_fetch_file_status(const hp_fetch *f, size_t i)
{
	hp_fetch *mf = (hp_fetch *)f;
	pthread_mutex_lock(&mf->mu);
	hp_fetch_status s = f->st[i].status;
	pthread_mutex_unlock(&mf->mu);
	return s;
}

bool hp_fetch_wanted(const hp_fetch *f, size_t i)
{
	hp_fetch *mf = (hp_fetch *)f;
	pthread_mutex_lock(&mf->mu);
	bool w = i < f->nfiles && f->st[i].status == HP_FETCH_MISSING && !f->st[i].busy;
	pthread_mutex_unlock(&mf->mu);
	return w;
}

size_t hp_fetch_nwanted(const hp_fetch *f)
{
	hp_fetch *mf = (hp_fetch *)f;
	size_t n = 0;
	pthread_mutex_lock(&mf->mu);
	for (size_t i = 0; i < f->nfiles; i++)
		n += f->st[i].status == HP_FETCH_MISSING && !f->st[i].busy;
	pthread_mutex_unlock(&mf->mu);
	return n;
}

/* ---- hashing ---- */

hp_code hp_fetch_sha256_range(EVP_MD_CTX *ctx, int fd, uint64_t off, uint64_t n, uint8_t *buf, size_t bufsz,
			      const char *what, hp_err *e)
{
	uint64_t end = off + n;
	while (off < end) {
		size_t want = end - off < bufsz ? (size_t)(end - off) : bufsz;
		ssize_t got = pread(fd, buf, want, (off_t)off);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			return hp_fail_errno(e, HP_E_IO, errno, "cannot read '%s'", what);
		if (got == 0)
			return hp_fail(e, HP_E_INVALID, "'%s' has %" PRIu64 " bytes, the manifest says %" PRIu64, what,
				       off, end);
		if (!EVP_DigestUpdate(ctx, buf, (size_t)got))
			return hp_fail(e, HP_E_INTERNAL, "SHA-256 failed on '%s'", what);
		off += (uint64_t)got;
	}
	return HP_OK;
}

/* SHA-256 of fd's first size bytes (exactly size: a shorter file fails). */
static hp_code hash_fd(int fd, uint64_t size, const char *what, uint8_t out[32], hp_err *e)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	uint8_t *buf = malloc(READ_BLOCK);
	hp_code rc;
	if (!ctx || !buf || !EVP_DigestInit_ex(ctx, EVP_sha256(), NULL))
		rc = hp_fail_nomem(e);
	else if (!(rc = hp_fetch_sha256_range(ctx, fd, 0, size, buf, READ_BLOCK, what, e)))
		EVP_DigestFinal_ex(ctx, out, NULL);
	EVP_MD_CTX_free(ctx);
	free(buf);
	return rc;
}

/* Threads to check n files with: --jobs, else one per CPU; at least 1. */
static size_t check_threads(const hp_fetch *f, size_t n)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	size_t t = f->jobs > 0 ? (size_t)f->jobs : (cpus > 0 ? (size_t)cpus : 1);
	return t < n ? t : (n ? n : 1);
}

/* ---- scanning what is in place ---- */

typedef struct scan_ctx {
	hp_fetch *f;
	atomic_size_t next;
	hp_code rc;   /* a local error that stops the scan */
	hp_err err;
	pthread_mutex_t mu;
} scan_ctx;

static void *scan_worker(void *arg)
{
	scan_ctx *s = arg;
	hp_fetch *f = s->f;
	for (;;) {
		size_t i = atomic_fetch_add(&s->next, 1);
		if (i >= f->nfiles)
			break;
		const hp_fetch_file *ff = &f->files[i];
		int fd;
		struct stat st;
		hp_err e = HP_ERR_INIT;
		if (hp_open_beneath(f->dirfd, ff->path, &fd, &st, &e))
			continue;  /* missing, a link, not a regular file: fetch it */
		bool same = false;
		if ((uint64_t)st.st_size == ff->size) {
			uint8_t md[32];
			if (hash_fd(fd, ff->size, ff->path, md, &e) == HP_OK)
				same = memcmp(md, ff->sha256, 32) == 0;
		}
		close(fd);
		if (!same)
			continue;
		pthread_mutex_lock(&f->mu);
		f->st[i].status = HP_FETCH_PRESENT;
		f->done_bytes += ff->size;
		pthread_mutex_unlock(&f->mu);
	}
	return NULL;
}

hp_code hp_fetch_scan(hp_fetch *f, hp_err *e)
{
	scan_ctx s;
	s.f = f;
	atomic_init(&s.next, 0);
	s.rc = HP_OK;
	hp_err_clear(&s.err);
	hp_run_threads(check_threads(f, f->nfiles), scan_worker, &s);
	(void)e;
	/* report in file order */
	for (size_t i = 0; i < f->nfiles; i++)
		if (f->st[i].status == HP_FETCH_PRESENT)
			emit_file(f, i, NULL);
	emit_progress(f);
	return HP_OK;
}

/* ---- sources and the run ---- */

hp_code hp_fetch_add_source(hp_fetch *f, const hp_fetch_source_ops *ops, void *self, const char *name, hp_err *e)
{
	fsource *v = realloc(f->src, (f->nsrc + 1) * sizeof *v);
	char *nm = strdup(name ? name : ops->kind);
	if (!v || !nm) {
		if (v)
			f->src = v;
		free(nm);
		if (ops->free)
			ops->free(self);
		return hp_fail_nomem(e);
	}
	f->src = v;
	memset(&v[f->nsrc], 0, sizeof *v);
	v[f->nsrc].ops = ops;
	v[f->nsrc].self = self;
	v[f->nsrc].name = nm;
	f->nsrc++;
	return HP_OK;
}

static bool local_error(hp_code c)
{
	return c == HP_E_IO || c == HP_E_CANTCREAT || c == HP_E_NOMEM || c == HP_E_INTERNAL;
}

static void note_locked(hp_fetch *f, size_t i, hp_code code, const char *msg)
{
	char *m = strdup(msg ? msg : "");
	if (!m)
		return;
	free(f->st[i].err_msg);
	f->st[i].err_msg = m;
	f->st[i].err_code = code;
}

void hp_fetch_note_failure(hp_fetch *f, size_t i, const hp_err *why)
{
	if (!why || i >= f->nfiles)
		return;
	pthread_mutex_lock(&f->mu);
	note_locked(f, i, why->code ? why->code : HP_E_UNAVAILABLE, why->msg);
	pthread_mutex_unlock(&f->mu);
}

/* How telling a failure is: a local one (the file cannot be put in place)
 * beats content that did not verify, which beats a timeout, which beats a
 * source that was not there. */
static int rank(hp_code c)
{
	switch (c) {
	case HP_E_CANTCREAT:
	case HP_E_IO:
	case HP_E_PERM:
	case HP_E_NOMEM:
	case HP_E_INTERNAL:
		return 4;
	case HP_E_INVALID:
	case HP_E_DATA:
		return 3;
	case HP_E_TEMPFAIL:
		return 2;
	default:
		return 1;
	}
}

static hp_code ranked_code(hp_code c)
{
	switch (rank(c)) {
	case 4: return c;
	case 3: return HP_E_INVALID;
	case 2: return HP_E_TEMPFAIL;
	default: return HP_E_UNAVAILABLE;
	}
}

bool hp_fetch_stopping(const hp_fetch *f)
{
	return f->stop && *f->stop;
}

void hp_fetch_set_interruptible(hp_fetch *f, bool on)
{
	if (f->interruptible == on)
		return;
	f->interruptible = on;
	hp_fetch_event ev = { 0 };
	ev.kind = HP_FETCH_EV_INTERRUPTIBLE;
	ev.source = f->cur < f->nsrc ? f->src[f->cur].name : NULL;
	ev.interruptible = on;
	emit(f, &ev);
}

void hp_fetch_source_progress(hp_fetch *f, uint64_t bytes, uint64_t rate, int peers)
{
	pthread_mutex_lock(&f->mu);
	f->src_held = bytes;
	emit_progress_rate(f, rate, peers);
	pthread_mutex_unlock(&f->mu);
}

/* Empty files need no source (and some torrents leave them out, as
 * transmission-create does): what no source delivered is made here, still
 * checked against the manifest's SHA-256 at commit; only once every other
 * file is in place, so a run that fails leaves them all to the next one. */
static hp_code place_empty(hp_fetch *f, hp_err *e)
{
	for (size_t i = 0; i < f->nfiles; i++)
		if (f->files[i].size && (f->st[i].status == HP_FETCH_MISSING || f->st[i].status == HP_FETCH_FAILED))
			return HP_OK;
	for (size_t i = 0; i < f->nfiles; i++) {
		if (f->files[i].size || f->st[i].status != HP_FETCH_MISSING || f->st[i].busy)
			continue;
		hp_fetch_out *w = NULL;
		hp_err we = HP_ERR_INIT;
		hp_code rc = hp_fetch_out_open(f, i, &w, &we);
		if (!rc)
			rc = hp_fetch_out_commit(w, &we);
		if (rc && local_error(rc)) {
			if (e)
				*e = we;
			return rc;
		}
	}
	return HP_OK;
}

/* A local error (the disk full, a write that failed, memory) ends the run:
 * no other source could do better. Every file still missing fails with it
 * (one that failed already keeps its own reason), and is reported as any
 * other failure: its record, the summary. */
static void local_failure(hp_fetch *f, hp_code rc, const hp_err *why, hp_code *local, hp_err *local_err)
{
	*local = rc;
	*local_err = *why;
	pthread_mutex_lock(&f->mu);
	for (size_t i = 0; i < f->nfiles; i++)
		if (f->st[i].status == HP_FETCH_MISSING)
			note_locked(f, i, rc, why->msg);
	pthread_mutex_unlock(&f->mu);
}

hp_code hp_fetch_run(hp_fetch *f, hp_err *e)
{
	hp_code local = HP_OK;
	hp_err local_err = HP_ERR_INIT;
	for (size_t s = 0; s < f->nsrc && hp_fetch_nwanted(f) && !hp_fetch_stopping(f); s++) {
		fsource *src = &f->src[s];
		hp_err se = HP_ERR_INIT;
		f->cur = s;
		src->tried = true;
		hp_code rc = src->ops->run(src->self, f, &se);
		hp_fetch_set_interruptible(f, false);
		pthread_mutex_lock(&f->mu);
		f->src_held = 0;
		pthread_mutex_unlock(&f->mu);
		f->cur = SIZE_MAX;
		src->rc = rc;
		if (rc) {
			src->error = strdup(se.msg);
			if (local_error(rc)) {
				local_failure(f, rc, &se, &local, &local_err);
				break;
			}
			hp_fetch_event ev = { 0 };
			ev.kind = HP_FETCH_EV_WARNING;
			ev.source = src->name;
			ev.err = &se;
			emit(f, &ev);
			/* files it left without a reason of their own get its reason */
			pthread_mutex_lock(&f->mu);
			for (size_t i = 0; i < f->nfiles; i++)
				if (f->st[i].status == HP_FETCH_MISSING && !f->st[i].err_msg)
					note_locked(f, i, rc, se.msg);
			pthread_mutex_unlock(&f->mu);
		}
	}
	if (hp_fetch_stopping(f)) {
		pthread_mutex_lock(&f->mu);
		for (size_t i = 0; i < f->nfiles; i++)
			if (f->st[i].status == HP_FETCH_MISSING && !f->st[i].err_msg)
				note_locked(f, i, HP_E_TEMPFAIL, "interrupted (run again to resume)");
		pthread_mutex_unlock(&f->mu);
	}
	if (!local && !hp_fetch_stopping(f)) {
		hp_err pe = HP_ERR_INIT;
		hp_code rc = place_empty(f, &pe);
		if (rc)
			local_failure(f, rc, &pe, &local, &local_err);
	}
	size_t nfailed = 0, first = SIZE_MAX;
	hp_code worst = HP_OK;
	for (size_t i = 0; i < f->nfiles; i++) {
		if (f->st[i].status != HP_FETCH_MISSING && f->st[i].status != HP_FETCH_FAILED)
			continue;
		f->st[i].status = HP_FETCH_FAILED;
		hp_err why = HP_ERR_INIT;
		if (f->st[i].err_msg)
			hp_fail(&why, f->st[i].err_code, "%s", f->st[i].err_msg);
		else
			hp_fail(&why, HP_E_UNAVAILABLE, "%s", f->nsrc ? "no source could deliver it" : "no source to fetch from");
		if (!f->st[i].reported) {
			f->st[i].reported = true;
			emit_file(f, i, &why);
		}
		if (!nfailed || rank(why.code) > rank(worst))
			worst = ranked_code(why.code);
		if (first == SIZE_MAX)
			first = i;
		nfailed++;
	}
	if (local) {
		if (e)
			*e = local_err;
		return local;
	}
	if (!nfailed)
		return HP_OK;
	const fstate *fs = &f->st[first];
	if (nfailed == 1)
		return hp_fail(e, worst, "'%s': %s", f->files[first].path,
			       fs->err_msg ? fs->err_msg : (f->nsrc ? "no source could deliver it" : "no source to fetch from"));
	return hp_fail(e, worst, "%zu of %zu files could not be fetched; '%s': %s", nfailed, f->nfiles,
		       f->files[first].path,
		       fs->err_msg ? fs->err_msg : (f->nsrc ? "no source could deliver it" : "no source to fetch from"));
}

json_t *hp_fetch_summary(const hp_fetch *f)
{
	size_t present = 0, fetched = 0, failed = 0;
	uint64_t bytes = 0;
	for (size_t i = 0; i < f->nfiles; i++) {
		switch (f->st[i].status) {
		case HP_FETCH_PRESENT: present++; break;
		case HP_FETCH_FETCHED: fetched++; bytes += f->files[i].size; break;
		case HP_FETCH_FAILED: failed++; break;
		default: break;
		}
	}
	json_t *srcs = json_array();
	for (size_t s = 0; s < f->nsrc; s++) {
		const fsource *src = &f->src[s];
		json_t *o = json_pack("{s:s, s:s}", "source", src->name, "status",
				      !src->tried ? "unused" : src->rc ? "failed" : "ok");
		if (src->error)
			json_object_set_new(o, "error", json_string(src->error));
		if (src->tried && src->ops->stats)
			src->ops->stats(src->self, o);
		json_array_append_new(srcs, o);
	}
	return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:o}", "files", (json_int_t)f->nfiles, "present",
			 (json_int_t)present, "fetched", (json_int_t)fetched, "failed", (json_int_t)failed, "bytes",
			 (json_int_t)bytes, "total_size", (json_int_t)f->total, "sources", srcs);
}

/* ---- writers ---- */

void hp_fetch_partial_name(const hp_fetch *f, size_t i, char out[80])
{
	/* a name from the path (never the path itself: no folders to create,
	 * no clash with a manifest path, any length) */
	uint8_t md[32];
	unsigned len = 0;
	EVP_Digest(f->files[i].path, f->files[i].path_len, md, &len, EVP_sha256(), NULL);
	char hx[65];
	hex32(md, hx);
	snprintf(out, 80, "%.40s.part", hx);
}

static hp_code claim(hp_fetch *f, size_t i, hp_err *e)
{
	if (i >= f->nfiles)
		return hp_fail(e, HP_E_USAGE, "no file %zu", i);
	pthread_mutex_lock(&f->mu);
	bool ok = f->st[i].status == HP_FETCH_MISSING && !f->st[i].busy;
	if (ok)
		f->st[i].busy = true;
	pthread_mutex_unlock(&f->mu);
	if (!ok)
		return hp_fail(e, HP_E_USAGE, "'%s' is not wanted (in place, or being written)", f->files[i].path);
	return HP_OK;
}

static void unclaim(hp_fetch *f, size_t i, const hp_err *why)
{
	pthread_mutex_lock(&f->mu);
	f->st[i].busy = false;
	if (why && why->code)
		note_locked(f, i, why->code, why->msg);
	pthread_mutex_unlock(&f->mu);
}

hp_code hp_fetch_out_open(hp_fetch *f, size_t i, hp_fetch_out **out, hp_err *e)
{
	*out = NULL;
	hp_code rc = claim(f, i, e);
	if (rc)
		return rc;
	hp_fetch_out *w = calloc(1, sizeof *w);
	if (!w) {
		unclaim(f, i, NULL);
		return hp_fail_nomem(e);
	}
	w->f = f;
	w->i = i;
	hp_fetch_partial_name(f, i, w->name);
	w->sha = EVP_MD_CTX_new();
	if (!w->sha || !EVP_DigestInit_ex(w->sha, EVP_sha256(), NULL)) {
		EVP_MD_CTX_free(w->sha);
		free(w);
		unclaim(f, i, NULL);
		return hp_fail_nomem(e);
	}
	/* registered with hp_tmp: a signal that ends the process removes it (no
	 * source resumes from a writer's partial file) */
	w->fd = hp_tmp_openat(f->pdirfd, w->name, O_RDWR | O_TRUNC, 0644, &w->tmp_id);
	if (w->fd < 0) {
		rc = hp_fail_errno(e, disk_code(errno, HP_E_CANTCREAT), errno, "cannot create '%s/%s' (the partial file of '%s')",
				   hp_fetch_partial_dir_shown(f), w->name, f->files[i].path);
		EVP_MD_CTX_free(w->sha);
		free(w);
		unclaim(f, i, NULL);
		return rc;
	}
	*out = w;
	return HP_OK;
}

uint64_t hp_fetch_out_written(const hp_fetch_out *w) { return w->written; }
size_t hp_fetch_out_index(const hp_fetch_out *w) { return w->i; }

/* n more bytes in partial files (negative: dropped or put in place). */
static void progress(hp_fetch *f, int64_t n, bool report)
{
	pthread_mutex_lock(&f->mu);
	f->inflight += (uint64_t)n;
	if (report)
		emit_progress(f);
	pthread_mutex_unlock(&f->mu);
}

hp_code hp_fetch_out_write(hp_fetch_out *w, const void *p, size_t n, hp_err *e)
{
	const hp_fetch_file *ff = &w->f->files[w->i];
	if (n > ff->size - w->written)
		return hp_fail(e, HP_E_INVALID, "'%s' is longer than the manifest's %" PRIu64 " bytes", ff->path,
			       ff->size);
	const uint8_t *b = p;
	uint64_t off = w->written;
	size_t left = n;
	while (left) {
		ssize_t k = pwrite(w->fd, b, left, (off_t)off);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return hp_fail_errno(e, HP_E_IO, k < 0 ? errno : ENOSPC, "cannot write '%s/%s' (the partial file of '%s')",
					     hp_fetch_partial_dir_shown(w->f), w->name, ff->path);
		b += k;
		off += (uint64_t)k;
		left -= (size_t)k;
	}
	if (!w->random)
		EVP_DigestUpdate(w->sha, p, n);
	w->written += n;
	progress(w->f, (int64_t)n, true);
	return HP_OK;
}

hp_code hp_fetch_out_pwrite(hp_fetch_out *w, uint64_t off, const void *p, size_t n, hp_err *e)
{
	const hp_fetch_file *ff = &w->f->files[w->i];
	if (off > ff->size || n > ff->size - off)
		return hp_fail(e, HP_E_INVALID, "bytes %" PRIu64 "-%" PRIu64 " of '%s' lie past the manifest's %" PRIu64
			       " bytes", off, off + n, ff->path, ff->size);
	w->random = true;
	const uint8_t *b = p;
	while (n) {
		ssize_t k = pwrite(w->fd, b, n, (off_t)off);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return hp_fail_errno(e, HP_E_IO, k < 0 ? errno : ENOSPC, "cannot write '%s/%s' (the partial file of '%s')",
					     hp_fetch_partial_dir_shown(w->f), w->name, ff->path);
		b += k;
		off += (uint64_t)k;
		n -= (size_t)k;
	}
	return HP_OK;
}

hp_code hp_fetch_out_pread(hp_fetch_out *w, uint64_t off, void *p, size_t n, hp_err *e)
{
	const hp_fetch_file *ff = &w->f->files[w->i];
	if (off > w->written || n > w->written - off)
		return hp_fail(e, HP_E_USAGE, "bytes %" PRIu64 "-%" PRIu64 " of '%s' are not written yet", off, off + n,
			       ff->path);
	uint8_t *b = p;
	while (n) {
		ssize_t k = pread(w->fd, b, n, (off_t)off);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return hp_fail_errno(e, HP_E_IO, k < 0 ? errno : EIO, "cannot read '%s/%s' (the partial file of '%s')",
					     hp_fetch_partial_dir_shown(w->f), w->name, ff->path);
		b += k;
		off += (uint64_t)k;
		n -= (size_t)k;
	}
	return HP_OK;
}

hp_code hp_fetch_read_final(hp_fetch *f, size_t i, uint64_t off, void *p, size_t n, hp_err *e)
{
	if (i >= f->nfiles)
		return hp_fail(e, HP_E_USAGE, "no file %zu", i);
	int fd;
	hp_code rc = hp_open_beneath(f->dirfd, f->files[i].path, &fd, NULL, e);
	if (rc)
		return rc;
	uint8_t *b = p;
	while (n) {
		ssize_t k = pread(fd, b, n, (off_t)off);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			rc = hp_fail_errno(e, HP_E_IO, k < 0 ? errno : EIO, "cannot read '%s'", f->files[i].path);
			break;
		}
		b += k;
		off += (uint64_t)k;
		n -= (size_t)k;
	}
	close(fd);
	return rc;
}

/* Size and digest checked: fsync, rename into place, report. Closes fd.
 * counted: the bytes progress counted for it; tmp_id: its hp_tmp
 * registration (0: none), forgotten once the name is gone. */
static hp_code put_in_place(hp_fetch *f, size_t i, int fd, const char *name, uint64_t counted, int tmp_id,
			    hp_err *e)
{
	const hp_fetch_file *ff = &f->files[i];
	hp_code rc = HP_OK;
	if (fsync(fd) < 0)
		rc = hp_fail_errno(e, HP_E_IO, errno, "cannot sync '%s/%s' (the partial file of '%s')",
				   hp_fetch_partial_dir_shown(f), name, ff->path);
	close(fd);
	int parent = -1;
	const char *base = NULL;
	if (!rc)
		rc = open_parent(f->dirfd, ff->path, ff->path_len, true, false, &parent, &base, e);
	if (!rc && renameat(f->pdirfd, name, parent, base) < 0)
		rc = hp_fail_errno(e, disk_code(errno, HP_E_CANTCREAT), errno, "cannot put '%s' in place", ff->path);
	if (!rc && fsync(parent) < 0 && errno != EINVAL)
		rc = hp_fail_errno(e, HP_E_IO, errno, "cannot sync the folder of '%s'", ff->path);
	if (parent >= 0)
		close(parent);
	if (rc)
		unlinkat(f->pdirfd, name, 0);  /* no other source can help: the file fails now */
	hp_tmp_forget(tmp_id);
	if (rc) {
		progress(f, -(int64_t)counted, false);
		unclaim(f, i, e);
		pthread_mutex_lock(&f->mu);
		f->st[i].status = HP_FETCH_FAILED;
		pthread_mutex_unlock(&f->mu);
		return rc;
	}
	pthread_mutex_lock(&f->mu);
	f->inflight -= counted;
	f->st[i].busy = false;
	f->st[i].status = HP_FETCH_FETCHED;
	f->st[i].source = f->cur < f->nsrc ? f->src[f->cur].name : NULL;
	f->done_bytes += ff->size;
	free(f->st[i].err_msg);
	f->st[i].err_msg = NULL;
	emit_file(f, i, NULL);
	emit_progress(f);
	pthread_mutex_unlock(&f->mu);
	return HP_OK;
}

static hp_code check_digest(const hp_fetch_file *ff, const uint8_t md[32], hp_err *e)
{
	if (memcmp(md, ff->sha256, 32) == 0)
		return HP_OK;
	char got[65], want[65];
	hex32(md, got);
	hex32(ff->sha256, want);
	return hp_fail(e, HP_E_INVALID, "'%s' does not match: its SHA-256 is %s, the manifest says %s", ff->path, got,
		       want);
}

hp_code hp_fetch_out_commit(hp_fetch_out *w, hp_err *e)
{
	hp_fetch *f = w->f;
	size_t i = w->i;
	const hp_fetch_file *ff = &f->files[i];
	uint8_t md[32];
	hp_code rc = HP_OK;
	if (w->random) {
		struct stat st;
		if (fstat(w->fd, &st) < 0)
			rc = hp_fail_errno(e, HP_E_IO, errno, "cannot stat the partial file of '%s'", ff->path);
		else if ((uint64_t)st.st_size != ff->size)
			rc = hp_fail(e, HP_E_INVALID, "'%s' has %" PRIu64 " bytes, the manifest says %" PRIu64, ff->path,
				     (uint64_t)st.st_size, ff->size);
		else
			rc = hash_fd(w->fd, ff->size, ff->path, md, e);
	} else if (w->written != ff->size) {
		rc = hp_fail(e, HP_E_INVALID, "'%s' has %" PRIu64 " bytes, the manifest says %" PRIu64, ff->path, w->written,
			     ff->size);
	} else {
		EVP_DigestFinal_ex(w->sha, md, NULL);
	}
	if (!rc)
		rc = check_digest(ff, md, e);
	EVP_MD_CTX_free(w->sha);
	int fd = w->fd;
	uint64_t counted = w->written;
	int tmp_id = w->tmp_id;
	char name[80];
	memcpy(name, w->name, sizeof name);
	free(w);
	if (rc) {
		close(fd);
		unlinkat(f->pdirfd, name, 0);
		hp_tmp_forget(tmp_id);
		progress(f, -(int64_t)counted, false);
		unclaim(f, i, e);
		return rc;
	}
	return put_in_place(f, i, fd, name, counted, tmp_id, e);
}

void hp_fetch_out_abort(hp_fetch_out *w, const hp_err *why)
{
	if (!w)
		return;
	close(w->fd);
	unlinkat(w->f->pdirfd, w->name, 0);
	hp_tmp_forget(w->tmp_id);
	EVP_MD_CTX_free(w->sha);
	progress(w->f, -(int64_t)w->written, false);
	unclaim(w->f, w->i, why);
	free(w);
}

/* Open file i's partial file (named name) and check its size and SHA-256
 * against the manifest; known, when not NULL, is its SHA-256 taken by the
 * source as the bytes came (the file is then not read again). On a match,
 * *fd is left open (fd non-NULL) or closed; on a mismatch the partial file
 * stays (the caller removes it). */
static hp_code verify_partial(hp_fetch *f, size_t i, const char *name, const uint8_t *known, int *fdp, hp_err *e)
{
	const hp_fetch_file *ff = &f->files[i];
	int fd = openat(f->pdirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return hp_fail_errno(e, HP_E_NOINPUT, errno, "cannot open the partial file of '%s'", ff->path);
	struct stat st;
	uint8_t md[32];
	hp_code rc;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
		rc = hp_fail(e, HP_E_INVALID, "the partial file of '%s' is not a regular file", ff->path);
	else if ((uint64_t)st.st_size != ff->size)
		rc = hp_fail(e, HP_E_INVALID, "'%s' has %" PRIu64 " bytes, the manifest says %" PRIu64, ff->path,
			     (uint64_t)st.st_size, ff->size);
	else
		rc = known ? HP_OK : hash_fd(fd, ff->size, ff->path, md, e);
	if (!rc && known)
		memcpy(md, known, sizeof md);
	if (!rc)
		rc = check_digest(ff, md, e);
	if (!rc && fdp)
		*fdp = fd;
	else
		close(fd);
	return rc;
}

hp_code hp_fetch_adopt(hp_fetch *f, size_t i, hp_err *e)
{
	hp_code rc = claim(f, i, e);
	if (rc)
		return rc;
	char name[80];
	hp_fetch_partial_name(f, i, name);
	int fd = -1;
	rc = verify_partial(f, i, name, NULL, &fd, e);
	if (rc) {
		if (rc != HP_E_NOINPUT)
			unlinkat(f->pdirfd, name, 0);
		unclaim(f, i, e);
		return rc;
	}
	return put_in_place(f, i, fd, name, 0, 0, e);
}

/* ---- adopting a batch: one sync for all ---- */

typedef struct adopt_item {
	size_t i;
	const uint8_t *sha256;  /* NULL: read the file */
	bool held;        /* claimed at the start: the source held its bytes */
	bool claimed;     /* still on its way into place */
	hp_code rc;
	const char *dir;  /* the file's folder: path[0..dlen) */
	size_t dlen;
	hp_err err;
} adopt_item;

typedef struct adopt_ctx {
	hp_fetch *f;
	adopt_item *it;
	size_t n;
	atomic_size_t next;
} adopt_ctx;

static void *adopt_worker(void *arg)
{
	adopt_ctx *c = arg;
	for (;;) {
		size_t k = atomic_fetch_add(&c->next, 1);
		if (k >= c->n)
			break;
		adopt_item *a = &c->it[k];
		if (!a->claimed)
			continue;
		char name[80];
		hp_fetch_partial_name(c->f, a->i, name);
		a->rc = verify_partial(c->f, a->i, name, a->sha256, NULL, &a->err);
		if (a->rc == HP_E_INVALID && a->sha256) {  /* the source's digest is a shortcut, never a verdict */
			a->err = (hp_err)HP_ERR_INIT;
			a->rc = verify_partial(c->f, a->i, name, NULL, NULL, &a->err);
		}
	}
	return NULL;
}

/* File a->i was verified but cannot be put in place: it fails for good
 * (as put_in_place). */
static void adopt_fail(hp_fetch *f, adopt_item *a, bool unlink_partial)
{
	if (unlink_partial) {
		char name[80];
		hp_fetch_partial_name(f, a->i, name);
		unlinkat(f->pdirfd, name, 0);
	}
	unclaim(f, a->i, &a->err);
	pthread_mutex_lock(&f->mu);
	f->st[a->i].status = HP_FETCH_FAILED;
	pthread_mutex_unlock(&f->mu);
}

static int dir_cmp(const void *x, const void *y)
{
	const adopt_item *a = *(adopt_item *const *)x, *b = *(adopt_item *const *)y;
	size_t n = a->dlen < b->dlen ? a->dlen : b->dlen;
	int c = memcmp(a->dir, b->dir, n);
	if (c)
		return c;
	return a->dlen < b->dlen ? -1 : a->dlen > b->dlen;
}

hp_code hp_fetch_adopt_batch(hp_fetch *f, const size_t *idx, const uint8_t *const *sha256, size_t n, hp_code *rcs,
			     hp_err *e)
{
	if (!n)
		return HP_OK;
	adopt_item *it = calloc(n, sizeof *it);
	adopt_item **byd = calloc(n, sizeof *byd);
	if (!it || !byd) {
		free(it);
		free(byd);
		return hp_fail_nomem(e);
	}
	for (size_t k = 0; k < n; k++) {
		adopt_item *a = &it[k];
		a->i = idx[k];
		a->sha256 = sha256 ? sha256[k] : NULL;
		a->rc = claim(f, a->i, &a->err);
		a->claimed = a->held = a->rc == HP_OK;
	}

	/* 1. verify every file, on the hashing threads */
	adopt_ctx c = { .f = f, .it = it, .n = n };
	atomic_init(&c.next, 0);
	hp_run_threads(check_threads(f, n), adopt_worker, &c);
	size_t good = 0;
	for (size_t k = 0; k < n; k++) {
		adopt_item *a = &it[k];
		if (!a->claimed)
			continue;
		if (a->rc) {
			if (a->rc != HP_E_NOINPUT) {
				char name[80];
				hp_fetch_partial_name(f, a->i, name);
				unlinkat(f->pdirfd, name, 0);
			}
			unclaim(f, a->i, &a->err);
			a->claimed = false;
		} else {
			good++;
		}
	}

	/* 2. their bytes on disk: one syncfs for the file system, else a
	 * fsync for each */
	if (good && syncfs(f->pdirfd) < 0) {
		for (size_t k = 0; k < n; k++) {
			adopt_item *a = &it[k];
			if (!a->claimed)
				continue;
			char name[80];
			hp_fetch_partial_name(f, a->i, name);
			int fd = openat(f->pdirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
			if (fd < 0 || fsync(fd) < 0) {
				a->rc = hp_fail_errno(&a->err, HP_E_IO, errno, "cannot sync '%s/%s' (the partial file of '%s')",
						      hp_fetch_partial_dir_shown(f), name, f->files[a->i].path);
				adopt_fail(f, a, true);
				a->claimed = false;
			}
			if (fd >= 0)
				close(fd);
		}
	}

	/* 3. rename them all into place */
	size_t nd = 0;
	for (size_t k = 0; k < n; k++) {
		adopt_item *a = &it[k];
		if (!a->claimed)
			continue;
		const hp_fetch_file *ff = &f->files[a->i];
		char name[80];
		hp_fetch_partial_name(f, a->i, name);
		int parent = -1;
		const char *base = NULL;
		a->rc = open_parent(f->dirfd, ff->path, ff->path_len, true, false, &parent, &base, &a->err);
		if (!a->rc && renameat(f->pdirfd, name, parent, base) < 0)
			a->rc = hp_fail_errno(&a->err, disk_code(errno, HP_E_CANTCREAT), errno, "cannot put '%s' in place",
				      ff->path);
		if (parent >= 0)
			close(parent);
		if (a->rc) {
			adopt_fail(f, a, true);
			a->claimed = false;
			continue;
		}
		a->dir = ff->path;
		a->dlen = (size_t)(base - ff->path);
		byd[nd++] = a;
	}

	/* 4. each distinct folder's entries on disk, once */
	qsort(byd, nd, sizeof *byd, dir_cmp);
	for (size_t k = 0; k < nd;) {
		size_t end = k + 1;
		while (end < nd && dir_cmp(&byd[k], &byd[end]) == 0)
			end++;
		const hp_fetch_file *ff = &f->files[byd[k]->i];
		int parent = -1;
		hp_err de = HP_ERR_INIT;
		hp_code drc = open_parent(f->dirfd, ff->path, ff->path_len, false, false, &parent, NULL, &de);
		if (!drc && fsync(parent) < 0 && errno != EINVAL)
			drc = hp_fail_errno(&de, HP_E_IO, errno, "cannot sync the folder of '%s'", ff->path);
		if (parent >= 0)
			close(parent);
		for (size_t j = k; drc && j < end; j++) {
			adopt_item *a = byd[j];
			a->rc = drc;
			a->err = de;
			if (j > k)
				hp_fail(&a->err, drc, "cannot sync the folder of '%s'", f->files[a->i].path);
			adopt_fail(f, a, false);
			a->claimed = false;
		}
		k = end;
	}

	/* 5. report, in the batch's order */
	hp_code worst = HP_OK;
	pthread_mutex_lock(&f->mu);
	for (size_t k = 0; k < n; k++) {
		adopt_item *a = &it[k];
		if (rcs)
			rcs[k] = a->rc;
		if (a->rc == HP_E_IO || a->rc == HP_E_NOMEM || a->rc == HP_E_INTERNAL) {
			if (!worst && e)
				*e = a->err;
			if (!worst)
				worst = a->rc;
		}
		if (!a->held)
			continue;
		const hp_fetch_file *ff = &f->files[a->i];
		f->src_held = f->src_held > ff->size ? f->src_held - ff->size : 0;
		if (!a->claimed)
			continue;
		f->st[a->i].busy = false;
		f->st[a->i].status = HP_FETCH_FETCHED;
		f->st[a->i].source = f->cur < f->nsrc ? f->src[f->cur].name : NULL;
		f->done_bytes += ff->size;
		free(f->st[a->i].err_msg);
		f->st[a->i].err_msg = NULL;
		emit_file(f, a->i, NULL);
	}
	emit_progress(f);
	pthread_mutex_unlock(&f->mu);
	free(it);
	free(byd);
	return worst;
}
