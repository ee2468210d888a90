/* An LD_PRELOAD shim for the signal tests (tests/cli/16-signals.bats).
 *
 * With HP_STOP_BEFORE_RENAME=TEXT in the environment, the first rename(),
 * renameat() or link() whose source path contains TEXT stops the whole
 * process with SIGSTOP before it happens: a temporary file is then complete
 * and not yet renamed into place, for as long as the test likes. The test
 * waits for the stopped state (/proc/PID/stat), sends its signal, then
 * SIGCONT: the signal arrives at exactly that point, on every run, however
 * busy the machine. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void maybe_stop(const char *path)
{
	static atomic_flag done = ATOMIC_FLAG_INIT;
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
