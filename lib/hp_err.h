/* hp_err: the one error type of libhp.
 *
 * A function that can fail returns an hp_code and, when given a non-NULL
 * hp_err, fills it with the code and a one-line message that names the
 * subject first ("cannot open 'x.json': No such file or directory").
 * Codes are never renumbered; cmd/ maps them to sysexits exit codes. */
#ifndef HP_ERR_H
#define HP_ERR_H

#include <stddef.h>

typedef enum hp_code {
	HP_OK = 0,
	HP_E_INVALID = 1,      /* checked and not valid: mismatch, bad signature, untrusted, expired, rollback */
	HP_E_USAGE = 2,        /* the caller asked for something impossible */
	HP_E_DATA = 3,         /* malformed input data */
	HP_E_NOINPUT = 4,      /* input missing or unreadable */
	HP_E_UNAVAILABLE = 5,  /* a service is unavailable */
	HP_E_INTERNAL = 6,     /* a bug */
	HP_E_CANTCREAT = 7,    /* cannot create output */
	HP_E_IO = 8,           /* read or write failed */
	HP_E_TEMPFAIL = 9,     /* timeout; retrying may succeed */
	HP_E_PERM = 10,        /* permission problem */
	HP_E_NOMEM = 11,       /* out of memory */
	HP_E_COUNT_
} hp_code;

#define HP_ERR_MSG_MAX 512

typedef struct hp_err {
	hp_code code;
	char msg[HP_ERR_MSG_MAX];
} hp_err;

#define HP_ERR_INIT { HP_OK, { 0 } }

/* A fixed, lower-case description of a code ("malformed input"). */
const char *hp_strerror(hp_code code);

/* Record an error and return its code. e may be NULL. */
hp_code hp_fail(hp_err *e, hp_code code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* As hp_fail, appending ": strerror(errnum)". */
hp_code hp_fail_errno(hp_err *e, hp_code code, int errnum, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Put "context: " in front of the message already recorded. */
hp_code hp_err_prefix(hp_err *e, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

void hp_err_clear(hp_err *e);

/* The usual out-of-memory failure. */
hp_code hp_fail_nomem(hp_err *e);

#endif
