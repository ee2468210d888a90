#include "hp_buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "banned.h"

char hp_buf_empty_[1];

void hp_buf_init(hp_buf *b, size_t max)
{
	b->data = hp_buf_empty_;
	b->len = 0;
	b->cap = 0;
	b->max = max;
}

void hp_buf_release(hp_buf *b)
{
	if (b->cap)
		free(b->data);
	b->data = hp_buf_empty_;
	b->len = 0;
	b->cap = 0;
}

void hp_buf_reset(hp_buf *b)
{
	b->len = 0;
	if (b->cap) /* never write to the shared empty string: threads share it */
		b->data[0] = '\0';
}

hp_code hp_buf_grow(hp_buf *b, size_t extra, hp_err *e)
{
	if (extra > b->max || b->len > b->max - extra)
		return hp_fail(e, HP_E_DATA, "data larger than the limit of %zu bytes", b->max);
	size_t need = b->len + extra + 1;
	if (need <= b->cap)
		return HP_OK;
	size_t cap = b->cap ? b->cap : 64;
	while (cap < need)
		cap = cap > SIZE_MAX / 2 ? need : cap * 2;
	char *p = realloc(b->cap ? b->data : NULL, cap);
	if (!p)
		return hp_fail_nomem(e);
	if (!b->cap)
		p[0] = '\0';
	b->data = p;
	b->cap = cap;
	return HP_OK;
}

hp_code hp_buf_add(hp_buf *b, const void *p, size_t n, hp_err *e)
{
	hp_code rc = hp_buf_grow(b, n, e);
	if (rc)
		return rc;
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return HP_OK;
}

hp_code hp_buf_adds(hp_buf *b, const char *s, hp_err *e)
{
	return hp_buf_add(b, s, strlen(s), e);
}

hp_code hp_buf_addch(hp_buf *b, char c, hp_err *e)
{
	return hp_buf_add(b, &c, 1, e);
}

hp_code hp_buf_vaddf(hp_buf *b, hp_err *e, const char *fmt, va_list ap)
{
	va_list copy;
	va_copy(copy, ap);
	int n = vsnprintf(NULL, 0, fmt, copy);
	va_end(copy);
	if (n < 0)
		return hp_fail(e, HP_E_INTERNAL, "cannot format '%s'", fmt);
	hp_code rc = hp_buf_grow(b, (size_t)n, e);
	if (rc)
		return rc;
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
	return HP_OK;
}

hp_code hp_buf_addf(hp_buf *b, hp_err *e, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	hp_code rc = hp_buf_vaddf(b, e, fmt, ap);
	va_end(ap);
	return rc;
}

void hp_buf_truncate(hp_buf *b, size_t len)
{
	if (len < b->len) {
		b->len = len;
		b->data[len] = '\0';
	}
}

char *hp_buf_detach(hp_buf *b, size_t *len)
{
	char *p;
	if (b->cap) {
		p = b->data;
	} else {
		p = malloc(1);
		if (p)
			p[0] = '\0';
	}
	if (len)
		*len = b->len;
	b->data = hp_buf_empty_;
	b->len = 0;
	b->cap = 0;
	return p;
}
