/* hp_gitlock: stale git lock files found and recovered (see hp_gitlock.h). */
#include "hp_gitlock.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "banned.h"

typedef struct holder {
	bool known;
	long pid;
	unsigned long long start;  /* /proc/PID/stat field 22: clock ticks after boot */
	long long since;           /* when it took the flock (epoch seconds) */
	char host[256];
	char boot[64];
} holder;

struct hp_gitlock {
	char dir[PATH_MAX];
	char what[64];
	int fd;                    /* the flock, or -1 (optional and not possible) */
	bool private_dir;          /* HP_GITLOCK_PRIVATE */
	holder prev;               /* who held it before us */
	holder self;
};

static long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void nap_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

static void read_line(const char *path, char *out, size_t size)
{
	out[0] = '\0';
	FILE *f = fopen(path, "re");
	if (!f)
		return;
	if (fgets(out, (int)size, f))
		out[strcspn(out, "\n")] = '\0';
	fclose(f);
}

/* The start time of a process (ticks after boot), 0 when unknown. */
static unsigned long long start_of(long pid)
{
	char path[64], buf[1024];
	snprintf(path, sizeof path, "/proc/%ld/stat", pid);
	read_line(path, buf, sizeof buf);
	const char *p = strrchr(buf, ')');  /* the command name may hold spaces */
	if (!p)
		return 0;
	/* after ") ": field 3 onwards; the start time is field 22 */
	for (int field = 2; field < 22 && p; field++)
		p = strchr(p + 1, ' ');
	return p ? strtoull(p + 1, NULL, 10) : 0;
}

static void whoami(holder *h)
{
	memset(h, 0, sizeof *h);
	h->known = true;
	h->pid = (long)getpid();
	h->start = start_of(h->pid);
	h->since = (long long)time(NULL);
	if (gethostname(h->host, sizeof h->host - 1) < 0 || !h->host[0])
		snprintf(h->host, sizeof h->host, "?");
	h->host[strcspn(h->host, " \n")] = '\0';
	read_line("/proc/sys/kernel/random/boot_id", h->boot, sizeof h->boot);
	if (!h->boot[0])
		snprintf(h->boot, sizeof h->boot, "?");
}

static void parse_holder(const char *s, holder *h)
{
	memset(h, 0, sizeof *h);
	h->known = sscanf(s, "pid=%ld start=%llu since=%lld host=%255s boot=%63s", &h->pid, &h->start, &h->since,
			  h->host, h->boot) == 5 &&
		   h->pid > 0;
}

static void read_holder(int fd, holder *h)
{
	char buf[512];
	ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
	buf[n > 0 ? n : 0] = '\0';
	parse_holder(buf, h);
}

static void write_holder(int fd, const holder *h)
{
	char buf[512];
	int n = snprintf(buf, sizeof buf, "pid=%ld start=%llu since=%lld host=%s boot=%s\n", h->pid, h->start,
			 h->since, h->host, h->boot);
	/* a record is a hint for the next holder: a failure to write it only
	 * leaves it to the age rule */
	if (ftruncate(fd, 0) == 0 && pwrite(fd, buf, (size_t)n, 0) != n)
		(void)ftruncate(fd, 0);
}

/* Is the previous holder provably gone? */
static bool holder_gone(const hp_gitlock *l)
{
	const holder *p = &l->prev, *me = &l->self;
	if (!p->known || strcmp(p->host, me->host) != 0)
		return false;
	if (strcmp(p->boot, "?") != 0 && strcmp(me->boot, "?") != 0 && strcmp(p->boot, me->boot) != 0)
		return true;  /* the host rebooted since */
	if (p->pid == me->pid)
		return true;  /* this process, earlier: its git calls have returned */
	if (kill((pid_t)p->pid, 0) < 0 && errno == ESRCH)
		return true;
	unsigned long long st = start_of(p->pid);
	return st && p->start && st != p->start;  /* the pid was reused */
}

/* Does a process this user can see have the file open? */
static bool open_anywhere(const struct stat *want)
{
	DIR *proc = opendir("/proc");
	if (!proc)
		return false;
	bool found = false;
	struct dirent *de;
	while (!found && (de = readdir(proc))) {
		if (de->d_name[0] < '1' || de->d_name[0] > '9')
			continue;
		char path[300];
		snprintf(path, sizeof path, "/proc/%s/fd", de->d_name);
		DIR *fds = opendir(path);
		if (!fds)
			continue;
		struct dirent *fe;
		while (!found && (fe = readdir(fds))) {
			if (fe->d_name[0] == '.')
				continue;
			char fp[600];
			struct stat st;
			snprintf(fp, sizeof fp, "%s/%s", path, fe->d_name);
			if (stat(fp, &st) == 0 && st.st_dev == want->st_dev && st.st_ino == want->st_ino)
				found = true;
		}
		closedir(fds);
	}
	closedir(proc);
	return found;
}

hp_code hp_gitlock_take(const char *dir, const char *what, long timeout_ms, unsigned flags, hp_gitlock **out,
			hp_err *e)
{
	*out = NULL;
	hp_gitlock *l = calloc(1, sizeof *l);
	if (!l)
		return hp_fail_nomem(e);
	l->fd = -1;
	l->private_dir = flags & HP_GITLOCK_PRIVATE;
	snprintf(l->dir, sizeof l->dir, "%s", dir);
	snprintf(l->what, sizeof l->what, "%s", what);
	whoami(&l->self);
	char path[PATH_MAX + 32];
	snprintf(path, sizeof path, "%s/%s", dir, HP_GITLOCK_FILE);
	l->fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0666);
	if (l->fd < 0) {
		if (flags & HP_GITLOCK_OPTIONAL) {
			*out = l;
			return HP_OK;
		}
		hp_code rc = hp_fail_errno(e, errno == EACCES ? HP_E_PERM : HP_E_CANTCREAT, errno, "%s: cannot open '%s'",
					   what, path);
		free(l);
		return rc;
	}
	long t0 = now_ms();
	for (;;) {
		if (flock(l->fd, LOCK_EX | LOCK_NB) == 0)
			break;
		if (errno != EWOULDBLOCK && errno != EINTR) {
			hp_code rc = hp_fail_errno(e, HP_E_IO, errno, "%s: cannot lock '%s'", what, path);
			hp_gitlock_release(l);
			return rc;
		}
		if (now_ms() - t0 >= timeout_ms) {
			holder h;
			read_holder(l->fd, &h);
			char who[400] = "";
			if (h.known)
				snprintf(who, sizeof who, " (pid %ld on %s)", h.pid, h.host);
			hp_code rc = hp_fail(e, HP_E_TEMPFAIL, "%s: '%s' is in use by another hybrid-p2p%s: gave up after %ld s",
					     what, dir, who, (timeout_ms + 999) / 1000);
			hp_gitlock_release(l);
			return rc;
		}
		nap_ms(50);
	}
	read_holder(l->fd, &l->prev);
	write_holder(l->fd, &l->self);
	*out = l;
	return HP_OK;
}

void hp_gitlock_release(hp_gitlock *l)
{
	if (!l)
		return;
	if (l->fd >= 0)
		close(l->fd);  /* ends the flock; the record stays for the next holder */
	free(l);
}

typedef struct scan {
	hp_gitlock *l;
	unsigned removed;
	char live[PATH_MAX];       /* the first lock that may be live */
	long long live_age;
	int err;                   /* a removal that failed (errno) */
	char err_path[PATH_MAX];
} scan;

/* One file: remove it when stale; note it when it may be live (locks
 * only: debris never blocks anything). */
static void consider(scan *s, const char *path, bool is_lock)
{
	struct stat st;
	if (lstat(path, &st) < 0 || !S_ISREG(st.st_mode))
		return;
	long long age = (long long)time(NULL) - (long long)st.st_mtime;
	hp_gitlock *l = s->l;
	bool ours = l->fd >= 0;  /* we hold the flock: no hybrid-p2p is in there */
	bool stale = false;
	if (ours && l->private_dir)
		stale = !open_anywhere(&st);
	else if (ours && holder_gone(l) && (long long)st.st_mtime >= l->prev.since - 1)
		stale = !open_anywhere(&st);
	if (!stale && age >= HP_GITLOCK_STALE_SECS)
		stale = !open_anywhere(&st);
	if (stale) {
		if (unlink(path) == 0 || errno == ENOENT)
			s->removed++;
		else if (!s->err) {
			s->err = errno;
			snprintf(s->err_path, sizeof s->err_path, "%s", path);
		}
		return;
	}
	if (is_lock && !s->live[0]) {
		snprintf(s->live, sizeof s->live, "%s", path);
		s->live_age = age;
	}
}

static void walk_locks(scan *s, const char *dir, int depth)
{
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.' && (!de->d_name[1] || (de->d_name[1] == '.' && !de->d_name[2])))
			continue;
		char path[PATH_MAX];
		if (snprintf(path, sizeof path, "%s/%s", dir, de->d_name) >= (int)sizeof path)
			continue;
		struct stat st;
		if (lstat(path, &st) < 0)
			continue;
		size_t n = strlen(de->d_name);
		if (S_ISDIR(st.st_mode) && depth < 16)
			walk_locks(s, path, depth + 1);
		else if (S_ISREG(st.st_mode) && n > 5 && strcmp(de->d_name + n - 5, ".lock") == 0)
			consider(s, path, true);
	}
	closedir(d);
}

static void glob_files(scan *s, const char *dir, const char *pattern)
{
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (fnmatch(pattern, de->d_name, FNM_PERIOD) != 0)
			continue;
		char path[PATH_MAX];
		if (snprintf(path, sizeof path, "%s/%s", dir, de->d_name) < (int)sizeof path)
			consider(s, path, false);
	}
	closedir(d);
}

hp_code hp_gitlock_settle(hp_gitlock *l, const char *const *names, size_t n, long timeout_ms, unsigned *removed,
			  hp_err *e)
{
	long t0 = now_ms();
	scan s = { .l = l };
	for (;;) {
		s.live[0] = '\0';
		for (size_t i = 0; i < n; i++) {
			char path[PATH_MAX];
			if (snprintf(path, sizeof path, "%s/%s", l->dir, names[i]) >= (int)sizeof path)
				continue;
			size_t len = strlen(path);
			char *slash = strrchr(path, '/');
			if (path[len - 1] == '/') {
				path[len - 1] = '\0';
				walk_locks(&s, path, 0);
			} else if (strchr(slash + 1, '*')) {
				*slash = '\0';
				glob_files(&s, path, slash + 1);
			} else {
				consider(&s, path, true);
			}
		}
		if (removed)
			*removed = s.removed;
		if (s.err)
			return hp_fail_errno(e, s.err == EACCES || s.err == EPERM ? HP_E_PERM : HP_E_IO, s.err,
					     "%s: cannot remove the stale lock '%s'", l->what, s.err_path);
		if (!s.live[0])
			return HP_OK;
		long waited = now_ms() - t0;
		if (waited >= timeout_ms)
			return hp_fail(e, HP_E_TEMPFAIL,
				       "%s: '%s' is held by another process (for %lld s): gave up after %ld s (a lock "
				       "no process holds is removed once it is %d s old)",
				       l->what, s.live, s.live_age, (waited + 500) / 1000, HP_GITLOCK_STALE_SECS);
		nap_ms(100);
	}
}

bool hp_gitlock_from_message(const char *msg, char *out, size_t size)
{
	const char *p = msg ? strstr(msg, "failed to lock file '") : NULL;
	if (!p)
		return false;
	p += strlen("failed to lock file '");
	const char *q = strchr(p, '\'');
	if (!q)
		return false;
	snprintf(out, size, "%.*s", (int)(q - p), p);
	return true;
}
