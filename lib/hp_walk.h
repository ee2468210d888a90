/* hp_walk: turn command-line paths into a sorted list of files (and,
 * on request, directories) to read.
 *
 * Each argument adds entries to the list in the order the arguments are
 * added; within one argument the entries are sorted bytewise (strcmp) by
 * their reported path. The order is over whole paths, not per directory, so
 * "a-" comes before "a/b" (0x2d < 0x2f) even though "a" sorts before "a-".
 * Entries are appended in that final order as the walk goes (each directory's
 * names are sorted with a directory's contents keyed as "name/"), so a reader
 * can start on the first files before the walk ends (l->added). With
 * HP_WALK_DIRS the argument directory itself comes first, even for ".".
 *
 * Reported paths:
 *   - a file argument reports the argument as given ("./x" stays "./x");
 *   - a directory argument D reports "D/<rel>" (trailing slashes of D are
 *     dropped first), except that D = "." reports plain "<rel>": with -C DIR,
 *     "." therefore reports paths relative to DIR;
 *   - with HP_WALK_RELATIVE (hp-manifest's mode) a directory argument reports
 *     "<rel>" and a file argument its basename.
 * Paths are bytes: a name that is not valid UTF-8 is kept as it is.
 *
 * Inside a directory, symbolic links are not followed (HP_WALK_FOLLOW follows
 * them, refusing loops) and special files (FIFOs, sockets, devices) are
 * skipped; both are reported to the report callback. A symbolic link named on
 * the command line is followed (as tar -h / find -H would). An argument that
 * is a FIFO (e.g. bash's <(cmd)) becomes a one-shot stream.
 *
 * The library never prints: problems below an argument go to the report
 * callback and the walk carries on; a problem with the argument itself is
 * the return value of hp_walk_add. */
#ifndef HP_WALK_H
#define HP_WALK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>

#include "hp_err.h"

enum {
	HP_WALK_FOLLOW = 1u << 0,    /* follow symbolic links met inside directories */
	HP_WALK_RELATIVE = 1u << 1,  /* report paths relative to each argument (hp-manifest) */
	HP_WALK_DIRS = 1u << 2,      /* also list directories, the argument itself and empty ones included */
	HP_WALK_ALLOW_STDIN = 1u << 3,    /* the argument "-" means standard input */
};

typedef enum hp_walk_type {
	HP_WALK_FILE = 0,  /* a regular file */
	HP_WALK_DIR,       /* a directory (only with HP_WALK_DIRS) */
	HP_WALK_STDIN,     /* "-": standard input, read once */
	HP_WALK_STREAM,    /* a FIFO named as an argument, read once */
} hp_walk_type;

typedef struct hp_walk_entry {
	char *path;          /* reported path: bytes, NUL-terminated, maybe not UTF-8 */
	size_t path_len;
	char *open_path;     /* what to open, relative to the list's dirfd; NULL for stdin */
	uint64_t size;       /* st_size when listed (0 for directories and streams) */
	hp_walk_type type;
	bool nofollow;       /* found inside a directory without HP_WALK_FOLLOW: open with O_NOFOLLOW */
	mode_t mode;         /* st_mode when listed */
	struct timespec mtime;
	uint32_t arg;        /* which hp_walk_add call (0-based) the entry came from */
	uint32_t depth;      /* 0 for the argument itself, 1 for its children, ... */
} hp_walk_entry;

/* What the report callback is told about. */
typedef enum hp_walk_event {
	HP_WALK_SKIP_SYMLINK,  /* a symbolic link inside a directory, not followed */
	HP_WALK_SKIP_SPECIAL,  /* a FIFO, socket or device inside a directory */
	HP_WALK_SKIP_LOOP,     /* with HP_WALK_FOLLOW: a link back to an ancestor, or a dangling link */
	HP_WALK_ERROR,         /* an unreadable directory or entry: e->code says what (HP_E_NOINPUT, HP_E_IO) */
} hp_walk_event;

/* e->msg names the path ("skipping symbolic link 'a/l'", "cannot open
 * directory 'a/b': Permission denied"). */
typedef void hp_walk_report_fn(void *ud, hp_walk_event ev, const hp_err *e);

typedef struct hp_walk_opts {
	const char *dir;            /* -C DIR: arguments are relative to it (NULL: the current directory) */
	unsigned flags;             /* HP_WALK_* */
	hp_walk_report_fn *report;  /* may be NULL: problems are then silently skipped */
	void *ud;
} hp_walk_opts;

typedef struct hp_walk_list {
	hp_walk_entry *v;
	size_t n, cap;
	size_t nfiles;        /* entries of type FILE, STDIN or STREAM */
	uint64_t total_size;  /* sum of the sizes of FILE entries */
	int dirfd;            /* AT_FDCWD, or the -C directory */
	unsigned flags;
	uint32_t nargs;
	hp_walk_report_fn *report;
	void *ud;
	/* Called after each entry is appended, with its index (hp_digest_begin
	 * uses it to start reading files while the walk goes on). */
	void (*added)(void *added_ud, size_t index);
	void *added_ud;
} hp_walk_list;

#define HP_WALK_LIST_INIT { NULL, 0, 0, 0, 0, AT_FDCWD, 0, 0, NULL, NULL, NULL, NULL }

/* Start an empty list; opens o->dir if given (HP_E_NOINPUT when it cannot). */
hp_code hp_walk_init(hp_walk_list *l, const hp_walk_opts *o, hp_err *e);

/* Add the entries for one argument. Fails, adding nothing, when the
 * argument is missing, unreadable or of a type that cannot be read
 * (HP_E_NOINPUT), or when "-" is given without HP_WALK_ALLOW_STDIN
 * (HP_E_USAGE). Out of memory (HP_E_NOMEM) may leave the entries added so far. */
hp_code hp_walk_add(hp_walk_list *l, const char *arg, hp_err *e);

/* Free the entries and close the -C directory. The list is left empty. */
void hp_walk_free(hp_walk_list *l);

/* Open an entry for reading: regular files are opened O_NOFOLLOW when the
 * entry says so, and refused if they are no longer regular files; stdin
 * gives STDIN_FILENO (which the caller must not close). st may be NULL.
 * EACCES and ENOENT give HP_E_NOINPUT, anything else HP_E_IO. */
hp_code hp_walk_open(const hp_walk_list *l, const hp_walk_entry *en, int *fd, struct stat *st,
		     hp_err *e);

#endif
