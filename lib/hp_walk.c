#include "hp_walk.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hp_io.h"

#include "banned.h"

/* Quoted path for messages: non-UTF-8 bytes as \xNN. */
typedef struct qpath {
	char s[256];
} qpath;

static const char *q(qpath *b, const char *p, size_t n)
{
	hp_quote(p, n, b->s, sizeof b->s);
	return b->s;
}

/* One directory being walked: where it is, and what it reports as. */
typedef struct walk {
	hp_walk_list *l;
	uint32_t arg;
	const char *open_base;  /* the argument without trailing slashes */
	size_t open_base_len;
	const char *rep_base;   /* "" for "." and in relative mode, else open_base */
	size_t rep_base_len;
	struct anc {
		dev_t dev;
		ino_t ino;
	} *anc;                 /* the directories above, for loop checks (HP_WALK_FOLLOW) */
	size_t nanc, capanc;
} walk;

static void report(const hp_walk_list *l, hp_walk_event ev, hp_code code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void report(const hp_walk_list *l, hp_walk_event ev, hp_code code, const char *fmt, ...)
{
	if (!l->report)
		return;
	hp_err e = HP_ERR_INIT;
	va_list ap;
	va_start(ap, fmt);
	e.code = code;
	vsnprintf(e.msg, sizeof e.msg, fmt, ap);
	va_end(ap);
	l->report(l->ud, ev, &e);
}

/* a + "/" + b, without doubling a slash when a is "/" and without one at
 * all when either side is empty. */
static char *join(const char *a, size_t alen, const char *b, size_t blen, size_t *outlen)
{
	bool slash = alen && blen && a[alen - 1] != '/';
	size_t n = alen + slash + blen;
	char *s = malloc(n + 1);
	if (!s)
		return NULL;
	memcpy(s, a, alen);
	if (slash)
		s[alen] = '/';
	memcpy(s + alen + slash, b, blen);
	s[n] = '\0';
	*outlen = n;
	return s;
}

static void entry_free(hp_walk_entry *en)
{
	if (en->open_path != en->path)
		free(en->open_path);
	free(en->path);
	en->path = en->open_path = NULL;
}

static hp_code push(hp_walk_list *l, const hp_walk_entry *en, hp_err *e)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 64;
		hp_walk_entry *v = reallocarray(l->v, cap, sizeof *v);
		if (!v)
			return hp_fail_nomem(e);
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = *en;
	return HP_OK;
}

/* Add an entry for rel (relative to the argument) with status st. */
static hp_code add(walk *w, const char *rel, size_t rel_len, hp_walk_type type, const struct stat *st,
		   uint32_t depth, hp_err *e)
{
	hp_walk_entry en = { 0 };
	size_t olen;
	en.path = join(w->rep_base, w->rep_base_len, rel, rel_len, &en.path_len);
	en.open_path = join(w->open_base, w->open_base_len, rel, rel_len, &olen);
	if (!en.path || !en.open_path) {
		free(en.path);
		free(en.open_path);
		return hp_fail_nomem(e);
	}
	if (olen == en.path_len && memcmp(en.open_path, en.path, olen) == 0) {
		free(en.open_path);
		en.open_path = en.path;
	}
	if (type == HP_WALK_DIR && en.path_len == 0 && !(w->l->flags & HP_WALK_RELATIVE)) {
		/* the argument "." itself */
		free(en.path);
		if (!(en.path = strdup("."))) {
			if (en.open_path != en.path)
				free(en.open_path);
			return hp_fail_nomem(e);
		}
		en.path_len = 1;
	}
	en.type = type;
	en.size = type == HP_WALK_FILE ? (uint64_t)st->st_size : 0;
	en.mode = st->st_mode;
	en.mtime = st->st_mtim;
	en.nofollow = depth > 0 && !(w->l->flags & HP_WALK_FOLLOW);
	en.arg = w->arg;
	en.depth = depth;
	hp_code rc = push(w->l, &en, e);
	if (rc)
		entry_free(&en);
	return rc;
}

typedef struct subdir {
	char *rel;
	size_t len;
	struct stat st;
} subdir;

static void subdirs_free(subdir *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i].rel);
	free(v);
}

static bool is_ancestor(const walk *w, const struct stat *st)
{
	for (size_t i = 0; i < w->nanc; i++)
		if (w->anc[i].dev == st->st_dev && w->anc[i].ino == st->st_ino)
			return true;
	return false;
}

/* Walk the directory rel (st is its status). At depth 0 a failure to open it
 * is returned; below, it is reported and the walk goes on. Only running out
 * of memory stops a walk part-way. */
static hp_code walk_dir(walk *w, const char *rel, size_t rel_len, const struct stat *st, uint32_t depth,
			hp_err *e)
{
	hp_walk_list *l = w->l;
	bool follow = l->flags & HP_WALK_FOLLOW;
	qpath qb;
	size_t plen;
	char *opath = join(w->open_base, w->open_base_len, rel, rel_len, &plen);
	if (!opath)
		return hp_fail_nomem(e);
	int flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOCTTY;
	if (depth > 0 && !follow)
		flags |= O_NOFOLLOW;
	int dfd = openat(l->dirfd, opath, flags);
	if (dfd < 0) {
		int err = errno;
		size_t rlen;
		char *rp = join(w->rep_base, w->rep_base_len, rel, rel_len, &rlen);
		const char *shown = rp ? q(&qb, rp, rlen) : "?";
		hp_code code = err == EACCES || err == ENOENT || err == EPERM ? HP_E_NOINPUT : HP_E_IO;
		if (depth == 0)
			hp_fail_errno(e, code, err, "cannot open directory '%s'", shown);
		else
			report(l, HP_WALK_ERROR, code, "cannot open directory '%s': %s", shown, strerror(err));
		free(rp);
		free(opath);
		return depth == 0 ? code : HP_OK;
	}
	free(opath);
	DIR *d = fdopendir(dfd);
	if (!d) {
		int err = errno;
		close(dfd);
		return hp_fail_errno(e, HP_E_NOMEM, err, "cannot read a directory");
	}

	hp_code rc = HP_OK;
	if (l->flags & HP_WALK_DIRS)
		rc = add(w, rel, rel_len, HP_WALK_DIR, st, depth, e);

	subdir *subs = NULL;
	size_t nsubs = 0, capsubs = 0;
	while (rc == HP_OK) {
		errno = 0;
		struct dirent *de = readdir(d);
		if (!de) {
			if (errno) {
				size_t rlen;
				char *rp = join(w->rep_base, w->rep_base_len, rel, rel_len, &rlen);
				report(l, HP_WALK_ERROR, HP_E_IO, "cannot read directory '%s': %s",
				       rp ? q(&qb, rp, rlen) : "?", strerror(errno));
				free(rp);
			}
			break;
		}
		const char *name = de->d_name;
		if (name[0] == '.' && (name[1] == '\0' || (name[1] == '.' && name[2] == '\0')))
			continue;
		size_t clen;
		char *crel = join(rel, rel_len, name, strlen(name), &clen);
		if (!crel) {
			rc = hp_fail_nomem(e);
			break;
		}
		struct stat cst;
		size_t rlen;
		char *rp = NULL;
		hp_walk_event skip = HP_WALK_ERROR;
		const char *why = NULL;
		int err = 0;
		if (fstatat(dfd, name, &cst, AT_SYMLINK_NOFOLLOW) < 0) {
			err = errno;
			why = "cannot stat";
		} else if (S_ISLNK(cst.st_mode)) {
			if (!follow) {
				skip = HP_WALK_SKIP_SYMLINK;
				why = "skipping symbolic link";
			} else if (fstatat(dfd, name, &cst, 0) < 0) {
				err = errno;
				skip = HP_WALK_SKIP_LOOP;
				why = "skipping symbolic link";
			}
		}
		if (!why && S_ISDIR(cst.st_mode)) {
			if (follow && (is_ancestor(w, &cst) || (cst.st_dev == st->st_dev && cst.st_ino == st->st_ino))) {
				skip = HP_WALK_SKIP_LOOP;
				why = "skipping directory loop at";
			} else {
				if (nsubs == capsubs) {
					size_t cap = capsubs ? capsubs * 2 : 16;
					subdir *v = reallocarray(subs, cap, sizeof *v);
					if (!v) {
						free(crel);
						rc = hp_fail_nomem(e);
						break;
					}
					subs = v;
					capsubs = cap;
				}
				subs[nsubs++] = (subdir){ crel, clen, cst };
				continue;
			}
		} else if (!why && S_ISREG(cst.st_mode)) {
			rc = add(w, crel, clen, HP_WALK_FILE, &cst, depth + 1, e);
			free(crel);
			continue;
		} else if (!why) {
			skip = HP_WALK_SKIP_SPECIAL;
			why = "skipping special file";
		}
		rp = join(w->rep_base, w->rep_base_len, crel, clen, &rlen);
		const char *shown = rp ? q(&qb, rp, rlen) : "?";
		if (err)
			report(l, skip, skip == HP_WALK_ERROR ? HP_E_NOINPUT : HP_OK, "%s '%s': %s", why, shown,
			       strerror(err));
		else
			report(l, skip, HP_OK, "%s '%s'", why, shown);
		free(rp);
		free(crel);
	}
	closedir(d);

	bool pushed = false;
	if (rc == HP_OK && nsubs && follow) {
		if (w->nanc == w->capanc) {
			size_t cap = w->capanc ? w->capanc * 2 : 16;
			struct anc *v = reallocarray(w->anc, cap, sizeof *v);
			if (!v)
				rc = hp_fail_nomem(e);
			else {
				w->anc = v;
				w->capanc = cap;
			}
		}
		if (rc == HP_OK) {
			w->anc[w->nanc++] = (struct anc){ st->st_dev, st->st_ino };
			pushed = true;
		}
	}
	for (size_t i = 0; rc == HP_OK && i < nsubs; i++)
		rc = walk_dir(w, subs[i].rel, subs[i].len, &subs[i].st, depth + 1, e);
	if (pushed)
		w->nanc--;
	subdirs_free(subs, nsubs);
	return rc;
}

static int cmp_path(const void *a, const void *b)
{
	const hp_walk_entry *x = a, *y = b;
	/* names cannot hold NUL, and strcmp compares as unsigned char: bytewise */
	return strcmp(x->path, y->path);
}

hp_code hp_walk_init(hp_walk_list *l, const hp_walk_opts *o, hp_err *e)
{
	*l = (hp_walk_list)HP_WALK_LIST_INIT;
	if (!o)
		return HP_OK;
	l->flags = o->flags;
	l->report = o->report;
	l->ud = o->ud;
	if (o->dir) {
		int fd = open(o->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOCTTY);
		if (fd < 0) {
			qpath qb;
			int err = errno;
			return hp_fail_errno(e, err == ENOENT || err == EACCES || err == ENOTDIR ? HP_E_NOINPUT : HP_E_IO,
					     err, "cannot open directory '%s'", q(&qb, o->dir, strlen(o->dir)));
		}
		l->dirfd = fd;
	}
	return HP_OK;
}

void hp_walk_free(hp_walk_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		entry_free(&l->v[i]);
	free(l->v);
	if (l->dirfd >= 0)
		close(l->dirfd);
	unsigned flags = l->flags;
	hp_walk_report_fn *r = l->report;
	void *ud = l->ud;
	*l = (hp_walk_list)HP_WALK_LIST_INIT;
	l->flags = flags;
	l->report = r;
	l->ud = ud;
}

static void rollback(hp_walk_list *l, size_t start)
{
	while (l->n > start)
		entry_free(&l->v[--l->n]);
}

hp_code hp_walk_add(hp_walk_list *l, const char *arg, hp_err *e)
{
	qpath qb;
	size_t alen = strlen(arg);
	size_t start = l->n;
	uint32_t argno = l->nargs;
	hp_code rc;
	if (alen == 0)
		return hp_fail(e, HP_E_NOINPUT, "cannot open '': No such file or directory");
	if (strcmp(arg, "-") == 0) {
		if (!(l->flags & HP_WALK_ALLOW_STDIN))
			return hp_fail(e, HP_E_USAGE, "standard input ('-') is not accepted here");
		hp_walk_entry en = { 0 };
		if (!(en.path = strdup("-")))
			return hp_fail_nomem(e);
		en.path_len = 1;
		en.type = HP_WALK_STDIN;
		en.arg = argno;
		if ((rc = push(l, &en, e))) {
			entry_free(&en);
			return rc;
		}
		l->nfiles++;
		l->nargs++;
		return HP_OK;
	}

	struct stat st;
	if (fstatat(l->dirfd, arg, &st, 0) < 0) {
		int err = errno;
		return hp_fail_errno(e, err == EIO || err == ENOMEM ? HP_E_IO : HP_E_NOINPUT, err, "cannot open '%s'",
				     q(&qb, arg, alen));
	}
	if (S_ISREG(st.st_mode) || S_ISFIFO(st.st_mode)) {
		hp_walk_entry en = { 0 };
		const char *rep = arg;
		if (l->flags & HP_WALK_RELATIVE) {
			const char *slash = strrchr(arg, '/');
			if (slash)
				rep = slash + 1;
		}
		en.path = strdup(rep);
		en.open_path = strdup(arg);
		if (!en.path || !en.open_path) {
			entry_free(&en);
			return hp_fail_nomem(e);
		}
		en.path_len = strlen(rep);
		en.type = S_ISREG(st.st_mode) ? HP_WALK_FILE : HP_WALK_STREAM;
		en.size = S_ISREG(st.st_mode) ? (uint64_t)st.st_size : 0;
		en.mode = st.st_mode;
		en.mtime = st.st_mtim;
		en.arg = argno;
		if ((rc = push(l, &en, e))) {
			entry_free(&en);
			return rc;
		}
		l->nfiles++;
		l->total_size += en.size;
		l->nargs++;
		return HP_OK;
	}
	if (!S_ISDIR(st.st_mode))
		return hp_fail(e, HP_E_NOINPUT, "cannot read '%s': not a regular file or directory",
			       q(&qb, arg, alen));

	size_t blen = alen;
	while (blen > 1 && arg[blen - 1] == '/')
		blen--;
	walk w = { 0 };
	w.l = l;
	w.arg = argno;
	w.open_base = arg;
	w.open_base_len = blen;
	w.rep_base = arg;
	w.rep_base_len = blen;
	bool dot = blen == 1 && arg[0] == '.';
	if (dot || (l->flags & HP_WALK_RELATIVE)) {
		w.rep_base = "";
		w.rep_base_len = 0;
	}
	rc = walk_dir(&w, "", 0, &st, 0, e);
	free(w.anc);
	if (rc) {
		rollback(l, start);
		return rc;
	}
	qsort(l->v + start, l->n - start, sizeof *l->v, cmp_path);
	/* the argument "." reports itself as "." yet comes first, like any
	 * other directory before its contents */
	if (dot && (l->flags & HP_WALK_DIRS) && !(l->flags & HP_WALK_RELATIVE)) {
		for (size_t i = start; i < l->n; i++) {
			if (l->v[i].depth == 0) {
				hp_walk_entry root = l->v[i];
				memmove(l->v + start + 1, l->v + start, (i - start) * sizeof *l->v);
				l->v[start] = root;
				break;
			}
		}
	}
	for (size_t i = start; i < l->n; i++) {
		if (l->v[i].type == HP_WALK_FILE) {
			l->nfiles++;
			l->total_size += l->v[i].size;
		}
	}
	l->nargs++;
	return HP_OK;
}

hp_code hp_walk_open(const hp_walk_list *l, const hp_walk_entry *en, int *fd, struct stat *st, hp_err *e)
{
	qpath qb;
	struct stat s;
	if (en->type == HP_WALK_STDIN) {
		*fd = STDIN_FILENO;
		if (st && fstat(STDIN_FILENO, st) < 0)
			return hp_fail_errno(e, HP_E_IO, errno, "cannot stat standard input");
		return HP_OK;
	}
	if (en->type == HP_WALK_DIR || !en->open_path)
		return hp_fail(e, HP_E_NOINPUT, "cannot read '%s': is a directory", q(&qb, en->path, en->path_len));
	/* non-blocking, so that a file swapped for a FIFO cannot hang the open;
	 * a FIFO named as an argument is waited for, as the user asked */
	int flags = O_RDONLY | O_CLOEXEC | O_NOCTTY;
	if (en->type == HP_WALK_FILE)
		flags |= O_NONBLOCK;
	if (en->nofollow)
		flags |= O_NOFOLLOW;
	int f = openat(l->dirfd, en->open_path, flags);
	if (f < 0) {
		int err = errno;
		if (err == ELOOP && en->nofollow)
			return hp_fail(e, HP_E_NOINPUT, "cannot open '%s': is now a symbolic link",
				       q(&qb, en->path, en->path_len));
		hp_code code = err == ENOENT || err == EACCES || err == EPERM || err == ENOTDIR ? HP_E_NOINPUT : HP_E_IO;
		return hp_fail_errno(e, code, err, "cannot open '%s'", q(&qb, en->path, en->path_len));
	}
	if (fstat(f, &s) < 0) {
		int err = errno;
		close(f);
		return hp_fail_errno(e, HP_E_IO, err, "cannot stat '%s'", q(&qb, en->path, en->path_len));
	}
	bool okt = en->type == HP_WALK_FILE ? S_ISREG(s.st_mode) : (S_ISFIFO(s.st_mode) || S_ISREG(s.st_mode));
	if (!okt) {
		close(f);
		return hp_fail(e, HP_E_NOINPUT, "cannot read '%s': no longer a regular file",
			       q(&qb, en->path, en->path_len));
	}
	/* O_NONBLOCK means nothing to a regular file: leave it (and save two
	 * system calls per file) unless this is a FIFO */
	if (!S_ISREG(s.st_mode)) {
		int fl = fcntl(f, F_GETFL);
		if (fl >= 0 && (fl & O_NONBLOCK))
			fcntl(f, F_SETFL, fl & ~O_NONBLOCK);
	}
	*fd = f;
	if (st)
		*st = s;
	return HP_OK;
}
