/* hp_tmp: the temporary files and folders this process has in progress, so
 * that a signal that ends it can remove them first.
 *
 * A writer registers a temporary *before* it creates it (hp_tmp_open and
 * hp_tmp_mkdtemp do both in one call; hp_tmp_add registers a fixed name that
 * is about to be created) and forgets it once it has renamed it into place
 * or removed it. hp_tmp_remove_all is async-signal-safe: the tool's signal
 * handler (cmd/cli.c, see cli.h) calls it and then lets the signal end the
 * process. A temporary is therefore covered from before it exists until
 * after it is gone: no window in which a signal leaves it behind.
 *
 * The registry is a fixed table of HP_TMP_SLOTS slots. Each slot holds a
 * path (made absolute when it is relative to the current folder) or a name
 * beneath a directory descriptor, and is guarded by a sequence number
 * (a seqlock): the remover copies the path and uses it only if the number
 * did not change meanwhile, so it never acts on a half-written name even
 * when another thread is changing the slot at that moment. Registering
 * takes no lock and allocates nothing.
 *
 * When the table is full or a path is longer than PATH_MAX, the temporary is
 * not covered (id 0): the write still works, it is only not cleaned up by
 * a signal. Every function takes id 0 and does nothing with it. */
#ifndef HP_TMP_H
#define HP_TMP_H

#include <stdbool.h>
#include <sys/types.h>

#define HP_TMP_SLOTS 64

enum {
	HP_TMP_DIR = 1 << 0,  /* a folder: removed with rmdir, after the files (so only when empty) */
	/* a file another library creates and holds open while it is ours (a
	 * git lock file): removed only when a descriptor of this process is
	 * open on it, so never when another process made it */
	HP_TMP_IF_OPEN = 1 << 1,
};

/* Create a new file from tmpl, a path ending in "XXXXXX" that is rewritten
 * with random characters as mkstemp does, beneath dirfd (AT_FDCWD: the
 * current folder), opened O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC
 * | extra_flags with the given mode. *id receives its registration. Returns
 * the descriptor, or -1 with errno set (EINVAL: no "XXXXXX" at the end). */
int hp_tmp_open(int dirfd, char *tmpl, int extra_flags, mode_t mode, int *id);

/* Open (create) a file under a fixed name beneath dirfd: openat(dirfd, name,
 * flags | O_CREAT | O_NOFOLLOW | O_CLOEXEC, mode), registered likewise
 * (an existing file of that name is the caller's to replace, as with
 * O_TRUNC: a signal removes it too). */
int hp_tmp_openat(int dirfd, const char *name, int flags, mode_t mode, int *id);

/* mkdtemp(tmpl), registered with HP_TMP_DIR. Returns tmpl or NULL with errno. */
char *hp_tmp_mkdtemp(char *tmpl, int *id);

/* Register a temporary under a fixed name beneath dirfd (AT_FDCWD: the
 * current folder) that exists or that the caller is about to make by other
 * means: a file written into a temporary folder (hp_write_file_atomic
 * renames its own temporary to that name), a folder. flags: HP_TMP_DIR.
 * Returns its id, 0 when it cannot be covered. Register before making it;
 * only hp_tmp_open, hp_tmp_openat and hp_tmp_mkdtemp also close the tiny
 * window in which a signal handled on another thread looks just before the
 * file appears. A name beneath a descriptor other than AT_FDCWD must be
 * forgotten before that descriptor is closed. */
int hp_tmp_add(int dirfd, const char *path, unsigned flags);

/* The owner renamed the temporary away or removed it: stop covering it.
 * Call it after the rename or unlink, never before. */
void hp_tmp_forget(int id);

/* Remove the temporary (unlink, or rmdir with HP_TMP_DIR), then forget it. */
void hp_tmp_remove(int id);

/* How many temporaries are registered (tests). */
unsigned hp_tmp_count(void);

/* Remove every temporary this process registered: files first, then
 * folders. The registrations stay (a concurrent owner forgets its own).
 * Async-signal-safe, and safe to call from any thread at any time; also
 * safe in a forked child, which removes nothing of its parent's. After it
 * has run, hp_tmp_open removes a file it has just created and fails with
 * EINTR, so that a thread racing the signal handler leaves nothing either. */
void hp_tmp_remove_all(void);

#endif
