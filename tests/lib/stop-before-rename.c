/* An LD_PRELOAD shim for the signal tests (tests/cli/16-signals.bats).
 *
 * With HP_STOP_BEFORE_RENAME=TEXT in the environment, the first rename(),
 * renameat() or link() whose source path contains TEXT stops the whole
 * process with SIGSTOP before it happens: a temporary file is then complete
 * and not yet renamed into place, for as long as the test likes. The test
 * waits for the stopped state (/proc/PID/stat), sends its signal, then
 * SIGCONT: the signal arrives at exactly that point, on every run, however
 * busy the machine.
 *
 * The same for git's lock files (tests/cli/95-registry-locks.bats), each
 * variable naming a TEXT the path must contain:
 *   HP_STOP_AFTER_CREATE   after the first open() with O_CREAT | O_EXCL
 *                          succeeded (libgit2 holds a new lock file, empty)
 *   HP_STOP_BEFORE_UNLINK  before the first unlink() (libgit2 has linked a
 *                          new ref into place and not yet removed its lock)
 * (HP_STOP_BEFORE_RENAME stops before the link() or rename() that puts a
 * written lock file in place.) */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <stdarg.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static atomic_flag done = ATOMIC_FLAG_INIT;

static void stop_for(const char *var, const char *path)
{
	const char *want = getenv(var);
	if (!want || !*want || !path || !strstr(path, want) || atomic_flag_test_and_set(&done))
		return;
	kill(getpid(), SIGSTOP);
}

int open(const char *path, int flags, ...)
{
	mode_t mode = 0;
	if (flags & (O_CREAT | O_TMPFILE)) {
		va_list ap;
		va_start(ap, flags);
		mode = (mode_t)va_arg(ap, int);
		va_end(ap);
	}
	int (*real)(const char *, int, ...);
	*(void **)&real = dlsym(RTLD_NEXT, "open");
	int fd = real(path, flags, mode);
	if (fd >= 0 && (flags & O_CREAT) && (flags & O_EXCL))
		stop_for("HP_STOP_AFTER_CREATE", path);
	return fd;
}

int unlink(const char *path)
{
	stop_for("HP_STOP_BEFORE_UNLINK", path);
	int (*real)(const char *);
	*(void **)&real = dlsym(RTLD_NEXT, "unlink");
	return real(path);
}

static void maybe_stop(const char *path)
{
	const char *want = getenv("HP_STOP_BEFORE_RENAME");
	if (!want || !*want || !path || !strstr(path, want) || atomic_flag_test_and_set(&done))
		return;
	kill(getpid(), SIGSTOP);
}

int rename(const char *from, const char *to)
{
	maybe_stop(from);
	int (*real)(const char *, const char *);
	*(void **)&real = dlsym(RTLD_NEXT, "rename");  /* POSIX's way round ISO C's rule */
	return real(from, to);
}

int renameat(int fromfd, const char *from, int tofd, const char *to)
{
	maybe_stop(from);
	int (*real)(int, const char *, int, const char *);
	*(void **)&real = dlsym(RTLD_NEXT, "renameat");
	return real(fromfd, from, tofd, to);
}

int link(const char *from, const char *to)
{
	maybe_stop(from);
	int (*real)(const char *, const char *);
	*(void **)&real = dlsym(RTLD_NEXT, "link");
	return real(from, to);
}
