#include "hp_io.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "banned.h"
#include "hp_tmp.h"

hp_code hp_open_regular(const char *path, bool nofollow, int *fd, struct stat *st, hp_err *e)
{
	struct stat s;
	int flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK;
	if (nofollow)
		flags |= O_NOFOLLOW;
	int f = open(path, flags);
	if (f < 0) {
		if (errno == ELOOP && nofollow)
			return hp_fail(e, HP_E_NOINPUT, "cannot open '%s': is a symbolic link", path);
		return hp_fail_errno(e, HP_E_NOINPUT, errno,
				     "cannot open '%s'", path);
	}
	if (fstat(f, &s) < 0) {
		int err = errno;
		close(f);
		return hp_fail_errno(e, HP_E_IO, err, "cannot stat '%s'", path);
	}
	if (S_ISDIR(s.st_mode)) {
		close(f);
		return hp_fail(e, HP_E_NOINPUT, "cannot read '%s': is a directory", path);
	}
	if (!S_ISREG(s.st_mode)) {
		close(f);
		return hp_fail(e, HP_E_NOINPUT, "cannot read '%s': not a regular file", path);
	}
	/* back to blocking reads now that no FIFO can hang the open */
	int fl = fcntl(f, F_GETFL);
	if (fl >= 0)
		fcntl(f, F_SETFL, fl & ~O_NONBLOCK);
	*fd = f;
	if (st)
		*st = s;
	return HP_OK;
}

hp_code hp_open_beneath(int dirfd, const char *relpath, int *fd, struct stat *st, hp_err *e)
{
	char *copy = strdup(relpath);
	if (!copy)
		return hp_fail_nomem(e);
	int cur = dirfd;
	hp_code rc = HP_OK;
	char *seg = copy;
	for (;;) {
		char *slash = strchr(seg, '/');
		if (slash)
			*slash = '\0';
		int flags = O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | (slash ? O_DIRECTORY : O_NONBLOCK);
		int next = openat(cur, seg, flags);
		int err = errno;
		if (cur != dirfd)
			close(cur);
		if (next < 0) {
			if (err == ELOOP || (slash && err == ENOTDIR))
				rc = hp_fail(e, HP_E_NOINPUT, "cannot open '%s': a component is a symbolic link or not a directory", relpath);
			else
				rc = hp_fail_errno(e, HP_E_NOINPUT, err, "cannot open '%s'", relpath);
			break;
		}
		if (!slash) {
			struct stat s;
			if (fstat(next, &s) < 0) {
				rc = hp_fail_errno(e, HP_E_IO, errno, "cannot stat '%s'", relpath);
				close(next);
			} else if (!S_ISREG(s.st_mode)) {
				rc = hp_fail(e, HP_E_NOINPUT, "cannot read '%s': not a regular file", relpath);
				close(next);
			} else {
				int fl = fcntl(next, F_GETFL);
				if (fl >= 0)
					fcntl(next, F_SETFL, fl & ~O_NONBLOCK);
				*fd = next;
				if (st)
					*st = s;
			}
			break;
		}
		cur = next;
		seg = slash + 1;
	}
	free(copy);
	return rc;
}

hp_code hp_read_fd(int fd, const char *what, size_t max, hp_buf *out, hp_err *e)
{
	for (;;) {
		char probe;
		char *dst = &probe;
		size_t room = 1;
		if (out->len < max) {
			room = max - out->len < 65536 ? max - out->len : 65536;
			size_t saved = out->max;
			out->max = SIZE_MAX;
			hp_code rc = hp_buf_grow(out, room, e);
			out->max = saved;
			if (rc)
				return rc;
			dst = out->data + out->len;
		}
		ssize_t n = read(fd, dst, room);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return hp_fail_errno(e, HP_E_IO, errno, "cannot read '%s'", what);
		}
		if (n == 0)
			return HP_OK;
		if (dst == &probe)
			return hp_fail(e, HP_E_DATA, "'%s' is larger than the limit of %zu bytes", what, max);
		out->len += (size_t)n;
		out->data[out->len] = '\0';
	}
}

hp_code hp_read_file(const char *path, size_t max, hp_buf *out, hp_err *e)
{
	if (strcmp(path, "-") == 0)
		return hp_read_fd(STDIN_FILENO, "<stdin>", max, out, e);
	int fd;
	hp_code rc = hp_open_regular(path, false, &fd, NULL, e);
	if (rc)
		return rc;
	rc = hp_read_fd(fd, path, max, out, e);
	close(fd);
	return rc;
}

hp_code hp_write_all(int fd, const void *p, size_t n, const char *what, hp_err *e)
{
	const char *c = p;
	while (n) {
		ssize_t w = write(fd, c, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return hp_fail_errno(e, HP_E_IO, errno, "cannot write '%s'", what);
		}
		c += w;
		n -= (size_t)w;
	}
	return HP_OK;
}

static char *dir_of(const char *path)
{
	char *copy = strdup(path);
	if (!copy)
		return NULL;
	char *d = strdup(dirname(copy));
	free(copy);
	return d;
}

hp_code hp_atomic_open(hp_atomic_file *f, const char *dst, mode_t mode, unsigned flags, hp_err *e)
{
	f->fd = -1;
	f->flags = flags;
	f->tmp_id = 0;
	f->dst = strdup(dst);
	size_t n = strlen(dst) + sizeof ".tmp-XXXXXX";
	f->tmp = malloc(n);
	if (!f->dst || !f->tmp) {
		hp_atomic_abort(f);
		return hp_fail_nomem(e);
	}
	snprintf(f->tmp, n, "%s.tmp-XXXXXX", dst);
	struct stat dst_st;
	if (!(flags & HP_ATOMIC_NOCLOBBER) && stat(dst, &dst_st) == 0 && !S_ISREG(dst_st.st_mode)) {
		/* a device, FIFO or terminal (/dev/stdout, /dev/null): write to it
		 * directly, never rename a file over it */
		if (S_ISDIR(dst_st.st_mode)) {
			hp_atomic_abort(f);
			return hp_fail(e, HP_E_CANTCREAT, "cannot create '%s': is a directory", dst);
		}
		free(f->tmp);
		f->tmp = NULL;
		f->fd = open(dst, O_WRONLY | O_CLOEXEC | O_NOCTTY);
		if (f->fd < 0) {
			int err = errno;
			hp_atomic_abort(f);
			return hp_fail_errno(e, HP_E_CANTCREAT, err, "cannot open '%s'", dst);
		}
		return HP_OK;
	}
	if (flags & HP_ATOMIC_NOCLOBBER) {
		struct stat st;
		if (lstat(dst, &st) == 0) {
			hp_atomic_abort(f);
			return hp_fail(e, HP_E_CANTCREAT, "cannot create '%s': file exists", dst);
		}
	}
	int fd = hp_tmp_open(AT_FDCWD, f->tmp, 0, 0600, &f->tmp_id);
	if (fd < 0) {
		int err = errno;
		free(f->tmp);
		f->tmp = NULL;
		hp_atomic_abort(f);
		return hp_fail_errno(e, HP_E_CANTCREAT, err, "cannot create '%s'", dst);
	}
	f->fd = fd;
	if (fchmod(fd, mode) < 0) {
		int err = errno;
		hp_atomic_abort(f);
		return hp_fail_errno(e, HP_E_CANTCREAT, err, "cannot set the mode of '%s'", dst);
	}
	return HP_OK;
}

hp_code hp_atomic_write(hp_atomic_file *f, const void *p, size_t n, hp_err *e)
{
	hp_code rc = hp_write_all(f->fd, p, n, f->dst, e);
	if (rc)
		hp_atomic_abort(f);
	return rc;
}

hp_code hp_atomic_commit(hp_atomic_file *f, hp_err *e)
{
	hp_code rc = HP_OK;
	if (!f->tmp) {
		/* written in place to a non-regular file */
		int fd = f->fd;
		f->fd = -1;
		if (close(fd) < 0)
			rc = hp_fail_errno(e, HP_E_IO, errno, "cannot write '%s'", f->dst);
		hp_atomic_abort(f);
		return rc;
	}
	if (fsync(f->fd) < 0) {
		rc = hp_fail_errno(e, HP_E_IO, errno, "cannot write '%s'", f->dst);
		goto fail;
	}
	int fd = f->fd;
	f->fd = -1;
	if (close(fd) < 0) {
		rc = hp_fail_errno(e, HP_E_IO, errno, "cannot write '%s'", f->dst);
		goto fail;
	}
	if (f->flags & HP_ATOMIC_NOCLOBBER) {
		/* link() fails if the name was taken meanwhile: no overwrite race */
		if (link(f->tmp, f->dst) < 0) {
			rc = hp_fail_errno(e, HP_E_CANTCREAT, errno, "cannot create '%s'", f->dst);
			goto fail;
		}
		unlink(f->tmp);
	} else if (rename(f->tmp, f->dst) < 0) {
		rc = hp_fail_errno(e, HP_E_CANTCREAT, errno, "cannot create '%s'", f->dst);
		goto fail;
	}
	/* only now: a signal before the rename must still find the name */
	hp_tmp_forget(f->tmp_id);
	f->tmp_id = 0;
	char *dir = dir_of(f->dst);
	if (dir) {
		int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dfd >= 0) {
			fsync(dfd);
			close(dfd);
		}
		free(dir);
	}
	free(f->tmp);
	f->tmp = NULL;
	hp_atomic_abort(f);
	return HP_OK;
fail:
	hp_atomic_abort(f);
	return rc;
}

void hp_atomic_abort(hp_atomic_file *f)
{
	if (f->fd >= 0) {
		close(f->fd);
		f->fd = -1;
	}
	if (f->tmp) {
		unlink(f->tmp);
		free(f->tmp);
		f->tmp = NULL;
	}
	hp_tmp_forget(f->tmp_id);  /* after the unlink, never before */
	f->tmp_id = 0;
	free(f->dst);
	f->dst = NULL;
}

hp_code hp_write_file_atomic(const char *dst, const void *p, size_t n, mode_t mode,
			     unsigned flags, hp_err *e)
{
	if (strcmp(dst, "-") == 0)
		return hp_write_all(STDOUT_FILENO, p, n, "<stdout>", e);
	hp_atomic_file f = HP_ATOMIC_INIT;
	hp_code rc = hp_atomic_open(&f, dst, mode, flags, e);
	if (rc)
		return rc;
	if ((rc = hp_atomic_write(&f, p, n, e)))
		return rc;
	return hp_atomic_commit(&f, e);
}

/* Length of the UTF-8 sequence at p (1..4), or 0 if it is not well-formed. */
size_t hp_utf8_char_len(const unsigned char *p, size_t n)
{
	unsigned c = p[0];
	if (c < 0x80)
		return 1;
	size_t len;
	unsigned min;
	if (c >= 0xc2 && c <= 0xdf) {
		len = 2;
		min = 0x80;
	} else if (c >= 0xe0 && c <= 0xef) {
		len = 3;
		min = 0x800;
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4;
		min = 0x10000;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	unsigned cp = c & (0x7f >> len);
	for (size_t i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

bool hp_utf8_valid(const char *p, size_t n)
{
	const unsigned char *u = (const unsigned char *)p;
	size_t i = 0;
	while (i < n) {
		size_t l = hp_utf8_char_len(u + i, n - i);
		if (!l)
			return false;
		i += l;
	}
	return true;
}

void hp_quote(const char *p, size_t n, char *out, size_t outsz)
{
	const unsigned char *u = (const unsigned char *)p;
	size_t o = 0, i = 0;
	if (!outsz)
		return;
	while (i < n) {
		char tmp[8];
		size_t tl;
		size_t l = hp_utf8_char_len(u + i, n - i);
		if (l == 1 && u[i] >= 0x20 && u[i] != 0x7f && u[i] != '\\') {
			tmp[0] = (char)u[i];
			tl = 1;
		} else if (l > 1) {
			memcpy(tmp, u + i, l);
			tl = l;
		} else {
			tl = (size_t)snprintf(tmp, sizeof tmp, "\\x%02x", u[i]);
			l = 1;
		}
		if (o + tl + 4 > outsz) {
			if (o + 4 <= outsz) {
				memcpy(out + o, "...", 3);
				o += 3;
			}
			break;
		}
		memcpy(out + o, tmp, tl);
		o += tl;
		i += l;
	}
	out[o < outsz ? o : outsz - 1] = '\0';
}

/* What is wrong with the non-empty path p, or NULL. */
static const char *relpath_problem(const char *p, size_t n)
{
	if (n > 4096)
		return "is longer than 4096 bytes";
	if (!hp_utf8_valid(p, n))
		return "is not valid UTF-8";
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];
		if (c == 0)
			return "contains a NUL byte";
		if (c == '\\')
			return "contains a backslash";
		if (c < 0x20 || c == 0x7f)
			return "contains a control character";
	}
	if (p[0] == '/')
		return "is absolute";
	if (p[n - 1] == '/')
		return "ends with '/'";
	size_t start = 0;
	for (size_t i = 0; i <= n; i++) {
		if (i < n && p[i] != '/')
			continue;
		size_t len = i - start;
		const char *seg = p + start;
		if (len == 0)
			return "has an empty segment";
		if (len == 1 && seg[0] == '.')
			return "has a '.' segment";
		if (len == 2 && seg[0] == '.' && seg[1] == '.')
			return "has a '..' segment";
		if (len > 255)
			return "has a segment longer than 255 bytes";
		start = i + 1;
	}
	return NULL;
}

hp_code hp_relpath_check(const char *p, size_t n, hp_err *e)
{
	if (n == 0)
		return hp_fail(e, HP_E_DATA, "path is empty");
	const char *why = relpath_problem(p, n);
	if (!why)
		return HP_OK;
	char q[160];  /* quoted only for the message: this runs for every file */
	hp_quote(p, n, q, sizeof q);
	return hp_fail(e, HP_E_DATA, "path '%s' %s", q, why);
}
