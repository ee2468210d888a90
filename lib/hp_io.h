/* hp_io: safe file I/O.
 *
 * - hp_read_file: a whole file (or stdin for "-") into a buffer, bounded.
 * - hp_atomic_*: outputs go to a temporary name beside the destination and are
 *   renamed over it only when complete and fsynced; an aborted output leaves
 *   nothing behind.
 * - hp_relpath_check: the rules every relative path from data must follow. */
#ifndef HP_IO_H
#define HP_IO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "hp_buf.h"
#include "hp_err.h"

/* Read all of path ("-" = stdin) into out, failing with HP_E_DATA past max
 * bytes. A directory or other non-regular file (except stdin/pipes) is refused. */
hp_code hp_read_file(const char *path, size_t max, hp_buf *out, hp_err *e);

/* Read all of an open descriptor; "what" names it in messages. */
hp_code hp_read_fd(int fd, const char *what, size_t max, hp_buf *out, hp_err *e);

/* Open a file for reading: O_NOFOLLOW when nofollow, refuses directories and
 * anything that is not a regular file. st receives its status (may be NULL). */
hp_code hp_open_regular(const char *path, bool nofollow, int *fd, struct stat *st, hp_err *e);

/* Open relpath (already checked with hp_relpath_check) for reading beneath
 * the directory dirfd, following no symbolic link on the way: a path that
 * tries to leave the directory through a link fails with HP_E_NOINPUT.
 * ENOENT is reported as HP_E_NOINPUT with "No such file or directory". */
hp_code hp_open_beneath(int dirfd, const char *relpath, int *fd, struct stat *st, hp_err *e);

/* Write everything or fail with HP_E_IO. */
hp_code hp_write_all(int fd, const void *p, size_t n, const char *what, hp_err *e);

enum {
	HP_ATOMIC_NOCLOBBER = 1 << 0,  /* fail (HP_E_CANTCREAT) if the destination exists */
};

typedef struct hp_atomic_file {
	int fd;
	char *tmp;
	char *dst;
	unsigned flags;
	int tmp_id;  /* its hp_tmp registration (0: none) */
} hp_atomic_file;

#define HP_ATOMIC_INIT { -1, NULL, NULL, 0, 0 }

/* Create "<dst>.tmp-XXXXXX" beside dst with the given mode. When dst exists
 * and is not a regular file (a device, FIFO or terminal such as /dev/stdout),
 * the output is written to it directly instead. The temporary is registered
 * with hp_tmp from before it exists until commit or abort: a signal handler
 * that calls hp_tmp_remove_all removes it. */
hp_code hp_atomic_open(hp_atomic_file *f, const char *dst, mode_t mode, unsigned flags, hp_err *e);
hp_code hp_atomic_write(hp_atomic_file *f, const void *p, size_t n, hp_err *e);
/* fsync, rename into place, fsync the directory; aborts on failure. */
hp_code hp_atomic_commit(hp_atomic_file *f, hp_err *e);
/* Remove the temporary file; safe to call after commit or twice. */
void hp_atomic_abort(hp_atomic_file *f);

/* One-shot atomic write; dst "-" writes to stdout instead. */
hp_code hp_write_file_atomic(const char *dst, const void *p, size_t n, mode_t mode,
			     unsigned flags, hp_err *e);

/* Length of the UTF-8 sequence starting at p[0] (of n bytes): 1 to 4, or 0
 * when it is not well-formed (overlong, surrogate, > U+10FFFF, truncated). */
size_t hp_utf8_char_len(const unsigned char *p, size_t n);

/* Is p[0..n) well-formed UTF-8 (no overlongs, surrogates or > U+10FFFF)? */
bool hp_utf8_valid(const char *p, size_t n);

/* A relative path as data may carry it: non-empty, at most 4096 bytes, valid
 * UTF-8, '/'-separated, no leading or trailing '/', no empty, "." or ".."
 * segment, no segment over 255 bytes, no NUL, backslash or control character.
 * The message says what is wrong and quotes the path (escaped). */
hp_code hp_relpath_check(const char *p, size_t n, hp_err *e);

/* Quote bytes for a message: printable ASCII and valid UTF-8 as is, the rest
 * as \xNN, truncated with "..." past max bytes of output. */
void hp_quote(const char *p, size_t n, char *out, size_t outsz);

#endif
