#include "hp_err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "banned.h"

static const char *const descriptions[HP_E_COUNT_] = {
	[HP_OK] = "success",
	[HP_E_INVALID] = "verification failed",
	[HP_E_USAGE] = "usage error",
	[HP_E_DATA] = "malformed input",
	[HP_E_NOINPUT] = "input missing or unreadable",
	[HP_E_UNAVAILABLE] = "service unavailable",
	[HP_E_INTERNAL] = "internal error",
	[HP_E_CANTCREAT] = "cannot create output",
	[HP_E_IO] = "input/output error",
	[HP_E_TEMPFAIL] = "temporary failure",
	[HP_E_PERM] = "permission problem",
	[HP_E_NOMEM] = "out of memory",
};

const char *hp_strerror(hp_code code)
{
	if ((unsigned)code >= HP_E_COUNT_)
		return "unknown error";
	return descriptions[code];
}

/* Append ": " and s to the message of which used bytes are filled, cutting
 * it at the buffer's end. */
static void append_msg(char *buf, size_t size, size_t used, const char *s)
{
	const char *parts[2] = { ": ", s };
	for (int k = 0; k < 2 && used + 1 < size; k++) {
		size_t len = strlen(parts[k]);
		if (len > size - 1 - used)
			len = size - 1 - used;
		memcpy(buf + used, parts[k], len);
		used += len;
	}
	buf[used < size ? used : size - 1] = '\0';
}

hp_code hp_fail(hp_err *e, hp_code code, const char *fmt, ...)
{
	if (e) {
		va_list ap;
		va_start(ap, fmt);
		e->code = code;
		vsnprintf(e->msg, sizeof e->msg, fmt, ap);
		va_end(ap);
	}
	return code;
}

hp_code hp_fail_errno(hp_err *e, hp_code code, int errnum, const char *fmt, ...)
{
	if (e) {
		va_list ap;
		va_start(ap, fmt);
		e->code = code;
		int n = vsnprintf(e->msg, sizeof e->msg, fmt, ap);
		va_end(ap);
		if (n >= 0 && (size_t)n < sizeof e->msg)
			append_msg(e->msg, sizeof e->msg, (size_t)n, strerror(errnum));
	}
	return code;
}

hp_code hp_err_prefix(hp_err *e, const char *fmt, ...)
{
	if (!e)
		return HP_OK;
	char old[HP_ERR_MSG_MAX];
	memcpy(old, e->msg, sizeof old);
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(e->msg, sizeof e->msg, fmt, ap);
	va_end(ap);
	if (n >= 0 && (size_t)n < sizeof e->msg)
		append_msg(e->msg, sizeof e->msg, (size_t)n, old);
	return e->code;
}

void hp_err_clear(hp_err *e)
{
	if (e) {
		e->code = HP_OK;
		e->msg[0] = '\0';
	}
}

hp_code hp_fail_nomem(hp_err *e)
{
	return hp_fail(e, HP_E_NOMEM, "out of memory");
}
