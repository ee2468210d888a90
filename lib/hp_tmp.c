#include "hp_tmp.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "banned.h"

/* A signal handler may touch atomic objects only when they are lock-free
 * (C17 7.14.1.1). */
_Static_assert(ATOMIC_INT_LOCK_FREE == 2, "atomic int must be lock-free");

enum { FREE = 0, CLAIMED, LIVE };

typedef struct slot {
	atomic_int state;    /* FREE -> CLAIMED (by one owner) -> LIVE -> FREE */
	atomic_uint seq;     /* odd while dirfd, flags, pid or path are being changed */
	int dirfd;
	unsigned flags;
	pid_t pid;           /* the registering process: a forked child removes none of these */
	char path[PATH_MAX];
} slot;

static slot slots[HP_TMP_SLOTS];
static atomic_int dying;

static slot *slot_of(int id)
{
	return id > 0 && id <= HP_TMP_SLOTS ? &slots[id - 1] : NULL;
}

/* Write a slot's contents under its sequence number. Only its owner (the
 * thread that claimed it) calls this. false: the path does not fit. */
static bool slot_set(slot *s, int dirfd, const char *path, unsigned flags)
{
	size_t n = strlen(path);
	char cwd[PATH_MAX];
	size_t cn = 0;
	if (dirfd == AT_FDCWD && path[0] != '/') {
		/* absolute: a chdir() between here and the signal must not change
		 * what is removed */
		if (getcwd(cwd, sizeof cwd)) {
			cn = strlen(cwd);
			if (cn && cwd[cn - 1] != '/')
				cwd[cn++] = '/';
		}
	}
	if (cn + n >= PATH_MAX)
		return false;
	atomic_fetch_add_explicit(&s->seq, 1, memory_order_relaxed);  /* odd */
	atomic_thread_fence(memory_order_release);
	s->dirfd = cn ? AT_FDCWD : dirfd;
	s->flags = flags;
	s->pid = getpid();
	memcpy(s->path, cwd, cn);
	memcpy(s->path + cn, path, n + 1);
	atomic_fetch_add_explicit(&s->seq, 1, memory_order_release);  /* even */
	return true;
}

static int slot_claim(void)
{
	for (int i = 0; i < HP_TMP_SLOTS; i++) {
		int want = FREE;
		if (atomic_load_explicit(&slots[i].state, memory_order_relaxed) == FREE &&
		    atomic_compare_exchange_strong(&slots[i].state, &want, CLAIMED))
			return i + 1;
	}
	return 0;
}

int hp_tmp_add(int dirfd, const char *path, unsigned flags)
{
	int id = slot_claim();
	slot *s = slot_of(id);
	if (!s)
		return 0;
	if (!slot_set(s, dirfd, path, flags)) {
		atomic_store(&s->state, FREE);
		return 0;
	}
	atomic_store_explicit(&s->state, LIVE, memory_order_release);
	return id;
}

void hp_tmp_forget(int id)
{
	slot *s = slot_of(id);
	if (s)
		atomic_store_explicit(&s->state, FREE, memory_order_release);
}

void hp_tmp_remove(int id)
{
	slot *s = slot_of(id);
	if (!s)
		return;
	/* the owner's own slot: nobody else writes it, no sequence check needed */
	unlinkat(s->dirfd, s->path, (s->flags & HP_TMP_DIR) ? AT_REMOVEDIR : 0);
	hp_tmp_forget(id);
}

unsigned hp_tmp_count(void)
{
	unsigned n = 0;
	for (int i = 0; i < HP_TMP_SLOTS; i++)
		n += atomic_load(&slots[i].state) == LIVE;
	return n;
}

/* Fill the trailing "XXXXXX" of name with random letters and digits. */
static int randomize(char *name)
{
	static const char set[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
	size_t n = strlen(name);
	if (n < 6 || strcmp(name + n - 6, "XXXXXX") != 0) {
		errno = EINVAL;
		return -1;
	}
	static atomic_uint_fast64_t counter;
	uint64_t r;
	if (getrandom(&r, sizeof r, GRND_NONBLOCK) != (ssize_t)sizeof r) {
		/* no entropy yet (early boot): O_EXCL still makes the name ours */
		r = (uint64_t)getpid() * 0x9e3779b97f4a7c15u ^ (uint64_t)(uintptr_t)name ^
		    atomic_fetch_add(&counter, 0x632be59bd9b4e019u);
	}
	for (size_t i = n - 6; i < n; i++) {
		name[i] = set[r % (sizeof set - 1)];
		r /= sizeof set - 1;
	}
	return 0;
}

/* Threads between registering a name and checking `dying` after making it
 * (below). The signal handler waits for them, except for its own thread. */
static atomic_int creating;
static _Thread_local bool in_create;  /* libhp is linked statically: no lazy TLS in the handler */

/* Make name (a file opened with flags, or a folder) beneath dirfd, its name
 * registered before it exists: a signal at any moment finds it, or finds a
 * name that does not exist yet, which is harmless. When the handler ran on
 * another thread meanwhile, it may have looked before the file was made:
 * then `dying` is set, and this thread removes the file itself. With
 * random, the trailing XXXXXX is rewritten on each try and O_EXCL used. */
static int make(int dirfd, char *name, bool random, bool dir, int flags, mode_t mode, int *id)
{
	*id = 0;
	if (random && randomize(name) < 0)
		return -1;
	atomic_fetch_add(&creating, 1);  /* before looking at `dying`, which the handler sets before it waits */
	in_create = true;
	if (atomic_load(&dying)) {
		in_create = false;
		atomic_fetch_sub(&creating, 1);
		errno = EINTR;
		return -1;
	}
	int sid = slot_claim(), fd = -1, err = 0;
	slot *s = slot_of(sid);
	unsigned sflags = dir ? HP_TMP_DIR : 0;
	for (int tries = 0; tries < 100; tries++) {
		if (tries && randomize(name) < 0) {
			err = errno;
			break;
		}
		if (s && !slot_set(s, dirfd, name, sflags)) {
			atomic_store(&s->state, FREE);
			s = NULL;
			sid = 0;
		}
		if (s)
			atomic_store_explicit(&s->state, LIVE, memory_order_release);
		if (atomic_load(&dying)) {
			err = EINTR;
			break;
		}
		if (dir)
			fd = mkdirat(dirfd, name, mode);
		else
			fd = openat(dirfd, name, O_CREAT | O_NOFOLLOW | O_CLOEXEC | (random ? O_RDWR | O_EXCL : 0) | flags,
				    mode);
		err = errno;
		if (fd >= 0 && atomic_load(&dying)) {
			if (!dir)
				close(fd);
			unlinkat(dirfd, name, dir ? AT_REMOVEDIR : 0);
			fd = -1;
			err = EINTR;
			break;
		}
		if (fd >= 0 || !random || err != EEXIST)
			break;
	}
	if (fd < 0)
		hp_tmp_forget(sid);
	else
		*id = sid;
	in_create = false;
	atomic_fetch_sub(&creating, 1);
	errno = err;
	return fd;
}

int hp_tmp_open(int dirfd, char *tmpl, int extra_flags, mode_t mode, int *id)
{
	return make(dirfd, tmpl, true, false, extra_flags, mode, id);
}

int hp_tmp_openat(int dirfd, const char *name, int flags, mode_t mode, int *id)
{
	return make(dirfd, (char *)name, false, false, flags, mode, id);
}

char *hp_tmp_mkdtemp(char *tmpl, int *id)
{
	return make(AT_FDCWD, tmpl, true, true, 0, 0700, id) < 0 ? NULL : tmpl;
}

/* Copy slot s into the caller's buffers if it is live, belongs to this
 * process and was not being changed. Async-signal-safe: lock-free atomic
 * loads, getpid(), and a byte loop. */
static bool snapshot(slot *s, pid_t self, int *dirfd, unsigned *flags, char *path)
{
	for (int tries = 0; tries < 3; tries++) {
		if (atomic_load_explicit(&s->state, memory_order_acquire) != LIVE)
			return false;
		unsigned seq = atomic_load_explicit(&s->seq, memory_order_acquire);
		if (seq & 1)
			continue;
		*dirfd = s->dirfd;
		*flags = s->flags;
		pid_t pid = s->pid;
		const volatile char *p = s->path;
		size_t i = 0;
		while (i < PATH_MAX - 1 && (path[i] = p[i]))
			i++;
		path[i] = '\0';
		atomic_thread_fence(memory_order_acquire);
		if (atomic_load_explicit(&s->seq, memory_order_relaxed) != seq)
			continue;
		return pid == self;
	}
	return false;
}

/* Async-signal-safe: getpid(), unlinkat() and poll() are on POSIX's list;
 * the rest is lock-free atomics, a thread-local flag of the static
 * executable and local buffers. errno is saved for the interrupted code. */
/* Has this process a descriptor open on the file? (fstatat and fstat are
 * async-signal-safe; descriptors beyond the first 4096 are not looked at) */
static bool open_here(int dirfd, const char *path)
{
	struct stat want, st;
	if (fstatat(dirfd, path, &want, AT_SYMLINK_NOFOLLOW) < 0)
		return false;
	for (int fd = 0; fd < 4096; fd++)
		if (fstat(fd, &st) == 0 && st.st_dev == want.st_dev && st.st_ino == want.st_ino)
			return true;
	return false;
}

void hp_tmp_remove_all(void)
{
	int saved = errno;
	atomic_store(&dying, 1);
	pid_t self = getpid();
	char path[PATH_MAX];
	int dirfd;
	unsigned flags;
	/* files first, so that the folders they are in are empty */
	for (int i = 0; i < HP_TMP_SLOTS; i++)
		if (snapshot(&slots[i], self, &dirfd, &flags, path) && !(flags & HP_TMP_DIR) &&
		    (!(flags & HP_TMP_IF_OPEN) || open_here(dirfd, path)))
			unlinkat(dirfd, path, 0);
	/* A thread that made its file after the loop looked at its slot sees
	 * `dying` and removes it: let it finish before the process ends. Not
	 * this thread, if the signal came in the middle of its own make() (the
	 * loop found that one). poll() with no descriptors is the
	 * async-signal-safe sleep that lets a preempted thread run; bounded at
	 * a second: never hang a dying process. */
	int self_in = in_create ? 1 : 0;
	for (int spin = 0; spin < 1000 + 1000 && atomic_load(&creating) > self_in; spin++)
		if (spin >= 1000)
			poll(NULL, 0, 1);
	/* then folders, again while one goes: a registered folder inside another */
	for (int round = 0; round < HP_TMP_SLOTS; round++) {
		bool removed = false;
		for (int i = 0; i < HP_TMP_SLOTS; i++)
			if (snapshot(&slots[i], self, &dirfd, &flags, path) && (flags & HP_TMP_DIR) &&
			    unlinkat(dirfd, path, AT_REMOVEDIR) == 0)
				removed = true;
		if (!removed)
			break;
	}
	errno = saved;
}
