/* hp_http: the one HTTP client of libhp (libcurl), for kubo's RPC, IPFS
 * Cluster's REST API, Pinning Service APIs, gateways and web seeds.
 *
 * Errors name the endpoint and say what went wrong in terms of the service:
 *   connection refused / DNS / TLS  -> HP_E_UNAVAILABLE
 *   timeout (connect, total, stalled) -> HP_E_TEMPFAIL
 *   HTTP 5xx                         -> HP_E_UNAVAILABLE (429 and 503 -> HP_E_TEMPFAIL)
 *   HTTP 4xx                         -> HP_E_DATA (the caller may look at the status instead)
 *   a body larger than max_body      -> HP_E_DATA
 * Response bodies are either collected (bounded) or streamed to a callback. */
#ifndef HP_HTTP_H
#define HP_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hp_buf.h"
#include "hp_err.h"

typedef struct hp_http_part {
	const char *name;          /* form field name ("file") */
	const char *filename;      /* NULL: none */
	const char *content_type;  /* NULL: application/octet-stream */
	const char *path;          /* send this file's contents ... */
	const void *data;          /* ... or these bytes */
	size_t len;
} hp_http_part;

typedef struct hp_http_request {
	const char *method;              /* "GET", "POST", "DELETE"... */
	const char *url;
	const char *const *headers;      /* "Name: value" lines, NULL-terminated; may be NULL */
	const char *bearer_token;        /* Authorization: Bearer ...; never logged */
	const char *basic_user;          /* HTTP basic auth; NULL: none */
	const char *basic_password;
	const void *body;                /* request body (e.g. JSON); NULL: none */
	size_t body_len;
	const hp_http_part *parts;       /* multipart/form-data parts; NULL: none */
	size_t nparts;
	long connect_timeout_ms;         /* 0: 10 s */
	long timeout_ms;                 /* whole transfer; 0: none */
	long stall_timeout_ms;           /* fail when no byte arrives for this long; 0: 30 s */
	uint64_t max_body;               /* most response bytes accepted; 0: 64 MiB */
	uint64_t range_from, range_to;   /* Range: bytes=from-to when range_to > 0 (inclusive) */
	bool fail_on_http_error;         /* turn 4xx/5xx into errors (default false: see status) */
} hp_http_request;

/* Streamed response bytes; return non-HP_OK to stop the transfer with that error. */
typedef hp_code hp_http_body_fn(void *ud, const uint8_t *p, size_t n, hp_err *e);

typedef struct hp_http_response {
	long status;
	char content_type[256];
	uint64_t bytes;                  /* response body bytes received */
	hp_buf body;                     /* the body, when no body_fn was given (bounded by max_body) */
} hp_http_response;

/* Global libcurl set-up; idempotent, thread-safe. */
hp_code hp_http_init(hp_err *e);

/* Perform req. body_fn NULL: collect the body into resp->body (caller
 * releases it with hp_buf_release). */
hp_code hp_http_do(const hp_http_request *req, hp_http_body_fn *body_fn, void *ud, hp_http_response *resp,
		   hp_err *e);

#endif
