/* hp_gitlock: git's lock files (refs/heads/main.lock, ...) left behind by a
 * process that died (kill -9, a crash, power loss), found and removed only
 * when they are provably stale; a lock that may be live is waited for with
 * a bound. Used by hp_git for the registry cache and a local registry
 * (docs/registry.md, "Lock files and crashes").
 *
 * git and libgit2 lock a file F by creating F.lock with O_EXCL, writing the
 * new contents into it and renaming it over F. A process that dies between
 * the two leaves F.lock, and every later writer fails on it for ever.
 *
 * Our own lock: hybrid-p2p takes flock() on DIR/hp-registry.lock for as
 * long as it uses DIR, and writes there who it is: its pid, the process's
 * start time, the host name and the kernel's boot id. Whoever takes the
 * flock next reads that record first. A lock file F.lock is stale when we
 * hold the flock (so no hybrid-p2p is inside DIR) and
 *   - the previous holder is gone: it ran on this host and its pid is dead
 *     (or now belongs to a process started at another time), or the host
 *     has rebooted since; F.lock was made during its tenure (not before
 *     it took the flock); and no process this user can see has F.lock
 *     open (/proc/PID/fd): so it is not a `git` running there now; or
 *   - F.lock is older than HP_GITLOCK_STALE_SECS and nobody we can see has
 *     it open (a holder on another host of a network file system, a git
 *     that was killed: no git holds a ref lock for a minute).
 * Anything else may be live: hp_gitlock_settle waits for it to go (or to
 * become provably stale) for at most the timeout, then fails with
 * HP_E_TEMPFAIL naming it; by then it is at most HP_GITLOCK_STALE_SECS
 * from being recovered, so retrying does help. */
#ifndef HP_GITLOCK_H
#define HP_GITLOCK_H

#include <stdbool.h>
#include <stddef.h>

#include "hp_err.h"

#define HP_GITLOCK_FILE "hp-registry.lock"
#define HP_GITLOCK_STALE_SECS 60

typedef struct hp_gitlock hp_gitlock;

enum {
	/* when dir/hp-registry.lock cannot be created (a read-only registry,
	 * one owned by another user), go on without our lock: only the age
	 * rule then proves a lock file stale */
	HP_GITLOCK_OPTIONAL = 1 << 0,
	/* dir is hybrid-p2p's alone (the registry cache: no git works in it):
	 * while we hold our lock, a lock file no process has open is stale */
	HP_GITLOCK_PRIVATE = 1 << 1,
};

/* Take our flock on dir/hp-registry.lock (created 0666 & ~umask), waiting
 * at most timeout_ms for another hybrid-p2p that holds it (then
 * HP_E_TEMPFAIL naming it and its holder); record the previous holder, then
 * write ours. what names dir in messages ("registry cache"). flags:
 * HP_GITLOCK_*. */
hp_code hp_gitlock_take(const char *dir, const char *what, long timeout_ms, unsigned flags, hp_gitlock **out,
			hp_err *e);

/* Release the flock and free (NULL is fine). */
void hp_gitlock_release(hp_gitlock *l);

/* Settle the files names[] of the locked dir: each a path relative to it;
 * a path ending in '/' stands for every "*.lock" beneath that folder, and a
 * last component with '*' for the files of that folder it matches
 * (fnmatch), which are debris (an unfinished pack, a loose object's
 * temporary): removed when stale, never waited for. A stale lock is
 * removed; one that may be live is waited for, at most timeout_ms, then
 * HP_E_TEMPFAIL: "registry: 'F.lock' is held by another process (for 3 s);
 * gave up after 30 s ...". *removed (may be NULL) counts what was removed. */
hp_code hp_gitlock_settle(hp_gitlock *l, const char *const *names, size_t n, long timeout_ms, unsigned *removed,
			  hp_err *e);

/* The path of a lock file named in a libgit2 message ("failed to lock
 * file '/x/refs/heads/main.lock' for writing: "), copied into out; false
 * when the message is about something else. */
bool hp_gitlock_from_message(const char *msg, char *out, size_t size);

#endif
