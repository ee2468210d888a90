/* hp_buf: a growable byte buffer in the spirit of git's strbuf.
 *
 * data is never NULL and always NUL-terminated (it may also hold NUL bytes);
 * len excludes the terminator. A buffer has a size cap (max): growing past it
 * fails with HP_E_DATA, so a hostile input cannot make us allocate without
 * bound. hp_buf_detach hands the memory over to the caller. */
#ifndef HP_BUF_H
#define HP_BUF_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "hp_err.h"

typedef struct hp_buf {
	char *data;
	size_t len;
	size_t cap;  /* allocated bytes, 0 while data points at the shared empty string */
	size_t max;  /* most bytes it may hold (excluding the terminator) */
} hp_buf;

extern char hp_buf_empty_[1];

#define HP_BUF_INIT { hp_buf_empty_, 0, 0, SIZE_MAX }

void hp_buf_init(hp_buf *b, size_t max);
/* Free the memory and return to the empty state (the cap is kept). */
void hp_buf_release(hp_buf *b);
/* Keep the memory, drop the contents. */
void hp_buf_reset(hp_buf *b);
/* Make room for extra more bytes. */
hp_code hp_buf_grow(hp_buf *b, size_t extra, hp_err *e);
hp_code hp_buf_add(hp_buf *b, const void *p, size_t n, hp_err *e);
hp_code hp_buf_adds(hp_buf *b, const char *s, hp_err *e);
hp_code hp_buf_addch(hp_buf *b, char c, hp_err *e);
hp_code hp_buf_addf(hp_buf *b, hp_err *e, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
hp_code hp_buf_vaddf(hp_buf *b, hp_err *e, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));
/* Shorten to len bytes (len <= b->len). */
void hp_buf_truncate(hp_buf *b, size_t len);
/* Hand over the memory (always malloc'ed, NUL-terminated); the buffer is left empty. */
char *hp_buf_detach(hp_buf *b, size_t *len);

#endif
