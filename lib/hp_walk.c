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
	/* mostly the path reported is the path opened: one string for both */
	bool same = w->rep_base == w->open_base && w->rep_base_len == w->open_base_len;
	en.open_path = same ? en.path : join(w->open_base, w->open_base_len, rel, rel_len, &olen);
	if (!en.path || !en.open_path) {
		free(en.path);
		if (!same)
			free(en.open_path);
		return hp_fail_nomem(e);
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
	hp_walk_list *l = w->l;
	hp_code rc = push(l, &en, e);
	if (rc) {
		entry_free(&en);
		return rc;
	}
	if (type == HP_WALK_FILE) {
		l->nfiles++;
		l->total_size += en.size;
	}
	if (l->added)
		l->added(l->added_ud, l->n - 1);
	return HP_OK;
}

/* The entries of one directory, sorted so that a depth-first walk emits
 * whole paths in bytewise order: a directory's contents sort as if its name
 * ended in '/', its own entry (HP_WALK_DIRS) as the bare name. So for "a-",
 * "a.b" and the directory "a": a, a-, a.b, a/... ('-' and '.' < '/'). */
typedef enum child_kind { CHILD_FILE, CHILD_DIR_ENTRY, CHILD_DIR_BODY } child_kind;

typedef struct child {
	char *name;  /* owned by the CHILD_DIR_BODY or CHILD_FILE item; a CHILD_DIR_ENTRY shares it */
	size_t len;
	child_kind kind;
	bool have_st;  /* st is filled in; else the entry is stat'ed when its turn comes */
	struct stat st;
} child;

/* Directories kept open along the path being walked, so that the entries of
 * each are stat'ed as they are emitted (letting readers start at once);
 * deeper directories are stat'ed in one go and closed before going down. */
#define MAX_OPEN_DEPTH 48

static int cmp_child(const void *a, const void *b)
{
	const child *x = a, *y = b;
	size_t n = x->len < y->len ? x->len : y->len;
	int c = memcmp(x->name, y->name, n);
	if (c)
		return c;
	/* one name is a prefix of the other: compare the next byte, a body's
	 * name going on with '/' and any other name ending with nothing (0) */
	unsigned cx = x->len > n ? (unsigned char)x->name[n] : x->kind == CHILD_DIR_BODY ? '/' : 0;
	unsigned cy = y->len > n ? (unsigned char)y->name[n] : y->kind == CHILD_DIR_BODY ? '/' : 0;
	if (cx != cy)
		return cx < cy ? -1 : 1;
	/* the same directory's entry and body: the entry first */
	return (x->kind == CHILD_DIR_BODY) - (y->kind == CHILD_DIR_BODY);
}

static void children_free(child *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (v[i].kind != CHILD_DIR_ENTRY)
			free(v[i].name);
	free(v);
}

static hp_code child_push(child **v, size_t *n, size_t *cap, child c, hp_err *e)
{
	if (*n == *cap) {
		size_t nc = *cap ? *cap * 2 : 16;
		child *nv = reallocarray(*v, nc, sizeof *nv);
		if (!nv)
			return hp_fail_nomem(e);
		*v = nv;
		*cap = nc;
	}
	(*v)[(*n)++] = c;
	return HP_OK;
}

static bool is_ancestor(const walk *w, const struct stat *st)
{
	for (size_t i = 0; i < w->nanc; i++)
		if (w->anc[i].dev == st->st_dev && w->anc[i].ino == st->st_ino)
			return true;
	return false;
}

/* Report a skipped or unreadable entry of directory rel. */
static void report_child(walk *w, const char *rel, size_t rel_len, const char *name, hp_walk_event ev,
			 const char *why, int err)
{
	qpath qb;
	size_t clen, rlen;
	char *crel = join(rel, rel_len, name, strlen(name), &clen);
	char *rp = crel ? join(w->rep_base, w->rep_base_len, crel, clen, &rlen) : NULL;
	const char *shown = rp ? q(&qb, rp, rlen) : "?";
	if (err)
		report(w->l, ev, ev == HP_WALK_ERROR ? HP_E_NOINPUT : HP_OK, "%s '%s': %s", why, shown,
		       strerror(err));
	else
		report(w->l, ev, HP_OK, "%s '%s'", why, shown);
	free(rp);
	free(crel);
}

/* Read the names of directory dfd (rel, status st) into kids, reporting what
 * is skipped. The kind of an entry comes from d_type when the file system
 * gives it; an entry is stat'ed here only when it must be (eager, no
 * d_type, a link to follow). */
static hp_code read_children(walk *w, DIR *d, int dfd, const char *rel, size_t rel_len, const struct stat *st,
			     bool eager, child **kids, size_t *nkids, hp_err *e)
{
	hp_walk_list *l = w->l;
	bool follow = l->flags & HP_WALK_FOLLOW;
	size_t cap = 0;
	for (;;) {
		errno = 0;
		struct dirent *de = readdir(d);
		if (!de) {
			if (errno) {
				qpath qb;
				size_t rlen;
				int err = errno;
				char *rp = join(w->rep_base, w->rep_base_len, rel, rel_len, &rlen);
				report(l, HP_WALK_ERROR, HP_E_IO, "cannot read directory '%s': %s",
				       rp ? q(&qb, rp, rlen) : "?", strerror(err));
				free(rp);
			}
			return HP_OK;
		}
		const char *name = de->d_name;
		if (name[0] == '.' && (name[1] == '\0' || (name[1] == '.' && name[2] == '\0')))
			continue;
		unsigned char t = de->d_type;
		if (t == DT_LNK && !follow) {
			report_child(w, rel, rel_len, name, HP_WALK_SKIP_SYMLINK, "skipping symbolic link", 0);
			continue;
		}
		bool have = eager || t == DT_UNKNOWN || t == DT_LNK;
		if (!have && t != DT_REG && t != DT_DIR) {
			report_child(w, rel, rel_len, name, HP_WALK_SKIP_SPECIAL, "skipping special file", 0);
			continue;
		}
		struct stat cst;
		bool dir = t == DT_DIR;
		if (have) {
			if (fstatat(dfd, name, &cst, AT_SYMLINK_NOFOLLOW) < 0) {
				report_child(w, rel, rel_len, name, HP_WALK_ERROR, "cannot stat", errno);
				continue;
			}
			if (S_ISLNK(cst.st_mode)) {
				if (!follow) {
					report_child(w, rel, rel_len, name, HP_WALK_SKIP_SYMLINK, "skipping symbolic link", 0);
					continue;
				}
				if (fstatat(dfd, name, &cst, 0) < 0) {
					report_child(w, rel, rel_len, name, HP_WALK_SKIP_LOOP, "skipping symbolic link", errno);
					continue;
				}
			}
			dir = S_ISDIR(cst.st_mode);
			if (dir && follow &&
			    (is_ancestor(w, &cst) || (cst.st_dev == st->st_dev && cst.st_ino == st->st_ino))) {
				report_child(w, rel, rel_len, name, HP_WALK_SKIP_LOOP, "skipping directory loop at", 0);
				continue;
			}
			if (!dir && !S_ISREG(cst.st_mode)) {
				report_child(w, rel, rel_len, name, HP_WALK_SKIP_SPECIAL, "skipping special file", 0);
				continue;
			}
		}
		size_t nlen = strlen(name);
		char *copy = malloc(nlen + 1);
		if (!copy)
			return hp_fail_nomem(e);
		memcpy(copy, name, nlen + 1);
		child c = { copy, nlen, dir ? CHILD_DIR_BODY : CHILD_FILE, have, { 0 } };
		if (have)
			c.st = cst;
		hp_code rc = child_push(kids, nkids, &cap, c, e);
		if (rc) {
			free(copy);
			return rc;
		}
		c.kind = CHILD_DIR_ENTRY;
		if (dir && (l->flags & HP_WALK_DIRS) && (rc = child_push(kids, nkids, &cap, c, e)))
			return rc;
	}
}

/* Walk the directory rel, emitting entries in their final order. st is its
 * status when known (NULL: fstat it). At depth 0 a failure to open it is
 * returned; below, it is reported and the walk goes on. Only running out of
 * memory stops a walk part-way. */
static hp_code walk_dir(walk *w, const char *rel, size_t rel_len, const struct stat *st0, uint32_t depth,
			hp_err *e)
{
	hp_walk_list *l = w->l;
	bool follow = l->flags & HP_WALK_FOLLOW;
	size_t plen;
	char *opath = join(w->open_base, w->open_base_len, rel, rel_len, &plen);
	if (!opath)
		return hp_fail_nomem(e);
	int flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOCTTY;
	if (depth > 0 && !follow)
		flags |= O_NOFOLLOW;
	int dfd = openat(l->dirfd, opath, flags);
	struct stat st;
	int err = dfd < 0 ? errno : 0;
	if (dfd >= 0 && !st0 && fstat(dfd, &st) < 0) {
		err = errno;
		close(dfd);
		dfd = -1;
	}
	if (dfd < 0) {
		qpath qb;
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
	if (st0)
		st = *st0;
	DIR *d = fdopendir(dfd);
	if (!d) {
		err = errno;
		close(dfd);
		return hp_fail_errno(e, HP_E_NOMEM, err, "cannot read a directory");
	}

	/* the argument itself comes first; a subdirectory's own entry is placed
	 * among its siblings by its parent */
	hp_code rc = HP_OK;
	if (depth == 0 && (l->flags & HP_WALK_DIRS))
		rc = add(w, "", 0, HP_WALK_DIR, &st, 0, e);
	child *kids = NULL;
	size_t nkids = 0;
	bool eager = depth >= MAX_OPEN_DEPTH;
	if (rc == HP_OK)
		rc = read_children(w, d, dfd, rel, rel_len, &st, eager, &kids, &nkids, e);
	if (eager || rc) {
		closedir(d);
		d = NULL;
	}
	if (rc) {
		children_free(kids, nkids);
		return rc;
	}
	if (nkids > 1)
		qsort(kids, nkids, sizeof *kids, cmp_child);

	bool pushed = false;
	if (follow && nkids) {
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
			w->anc[w->nanc++] = (struct anc){ st.st_dev, st.st_ino };
			pushed = true;
		}
	}
	for (size_t i = 0; rc == HP_OK && i < nkids; i++) {
		child *k = &kids[i];
		if (!k->have_st && k->kind != CHILD_DIR_BODY) {
			/* its turn: stat it now (never a link: links were stat'ed
			 * when read, or skipped) */
			bool changed = fstatat(dfd, k->name, &k->st, AT_SYMLINK_NOFOLLOW) < 0;
			int serr = changed ? errno : 0;
			if (!changed)
				changed = k->kind == CHILD_FILE ? !S_ISREG(k->st.st_mode) : !S_ISDIR(k->st.st_mode);
			if (changed) {
				report_child(w, rel, rel_len, k->name, HP_WALK_ERROR,
					     serr ? "cannot stat" : "changed while being listed, skipping", serr);
				continue;
			}
			k->have_st = true;
		}
		size_t clen;
		char *crel = join(rel, rel_len, k->name, k->len, &clen);
		if (!crel) {
			rc = hp_fail_nomem(e);
			break;
		}
		switch (k->kind) {
		case CHILD_FILE:
			rc = add(w, crel, clen, HP_WALK_FILE, &k->st, depth + 1, e);
			break;
		case CHILD_DIR_ENTRY:
			rc = add(w, crel, clen, HP_WALK_DIR, &k->st, depth + 1, e);
			break;
		case CHILD_DIR_BODY:
			rc = walk_dir(w, crel, clen, k->have_st ? &k->st : NULL, depth + 1, e);
			break;
		}
		free(crel);
	}
	if (pushed)
		w->nanc--;
	children_free(kids, nkids);
	if (d)
		closedir(d);
	return rc;
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

hp_code hp_walk_add(hp_walk_list *l, const char *arg, hp_err *e)
{
	qpath qb;
	size_t alen = strlen(arg);
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
		if (l->added)
			l->added(l->added_ud, l->n - 1);
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
		if (l->added)
			l->added(l->added_ud, l->n - 1);
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
	if (rc)
		return rc;
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
