/* hp_http: the one HTTP client of libhp (libcurl), for kubo's RPC, IPFS
 * Cluster's REST API, Pinning Service APIs, gateways and web seeds.
 *
 * Errors name the endpoint (the URL without credentials, query or fragment)
 * and say what went wrong in terms of the service:
 *   connection refused / DNS / TLS / not HTTP  -> HP_E_UNAVAILABLE
 *   timeout (connect, total, stalled: a silent  -> HP_E_TEMPFAIL
 *   server, or one slower than min_rate)          "'URL': timed out: no answer for 3 s"
 *   HTTP 5xx                         -> HP_E_UNAVAILABLE (429, 503, 408 and 504 -> HP_E_TEMPFAIL)
 *   HTTP 401 and 403                 -> HP_E_PERM
 *   other HTTP 4xx (and 3xx)         -> HP_E_DATA (the caller may look at the status instead)
 *   a body larger than max_body      -> HP_E_DATA
 *   more than 256 KiB of headers     -> HP_E_DATA
 * Response bodies are either collected (bounded) or streamed to a callback.
 *
 * Every request: only http and https (redirects too), no proxy for loopback
 * hosts, User-Agent "hybrid-p2p/VERSION" (never a browser's: kubo refuses
 * those), no Origin or Referer, no "Expect: 100-continue", no signals (safe
 * in threads; each call has its own handle). */
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

/* One response header or trailer line, split at the first ':' and trimmed
 * (not NUL-terminated). Called for the final response's headers only, then
 * for its trailers. */
typedef void hp_http_header_fn(void *ud, const char *name, size_t name_len, const char *value,
			       size_t value_len);

typedef struct hp_http_request {
	const char *method;              /* "GET", "POST", "DELETE"...; NULL: POST with a body or
					  * parts, else GET */
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
	long stall_timeout_ms;           /* the longest wait on a silent server: fail when fewer
					  * than max(1, min_rate x this) bytes move, sent or
					  * received (headers count), in a span this long, from
					  * the start (connecting, sending, waiting for the
					  * answer, receiving it); 0: 30 s. Checked about once a
					  * second: a stall ends within it + 1 s. */
	uint32_t min_rate;               /* bytes per second a transfer still going must average
					  * over each stall_timeout_ms span (a drip is a stall);
					  * 0: any byte counts (a stream of heartbeats) */
	uint64_t max_body;               /* most response bytes accepted; 0: 64 MiB */
	uint64_t range_from, range_to;   /* Range: bytes=from-to when range_to > 0 (inclusive) */
	bool fail_on_http_error;         /* turn 3xx/4xx/5xx into errors (default false: see status) */
	/* extensions */
	const char *user_agent;          /* NULL: "hybrid-p2p/VERSION" */
	hp_http_header_fn *header_fn;    /* may be NULL */
	void *header_ud;
	int max_redirects;               /* follow up to this many (http/https only); 0: none */
} hp_http_request;

/* Streamed response bytes; return non-HP_OK to stop the transfer with that
 * error. Only the body of a 2xx answer is streamed: the body of any other
 * status is collected into resp->body (at most 64 KiB, silently cut) for the
 * caller's error message. */
typedef hp_code hp_http_body_fn(void *ud, const uint8_t *p, size_t n, hp_err *e);

#define HP_HTTP_STREAM_ERROR_MAX 512

typedef struct hp_http_response {
	long status;
	char content_type[256];
	uint64_t bytes;                  /* response body bytes received */
	hp_buf body;                     /* the body, when no body_fn was given (bounded by max_body) */
	/* extensions */
	uint64_t content_length;         /* Content-Length; UINT64_MAX when not announced */
	long retry_after;                /* Retry-After in seconds (delta form); -1: none */
	char content_range[128];         /* Content-Range; "" when none */
	char stream_error[HP_HTTP_STREAM_ERROR_MAX];  /* X-Stream-Error header or trailer (kubo's
						      * streamed errors); "" when none */
} hp_http_response;

/* A service's base URL and its credentials, as the adapters (hp_kubo,
 * hp_cluster, hp_psa) take them. */
typedef struct hp_http_endpoint {
	const char *url;             /* base URL, as hp_http_base_url makes it */
	const char *bearer_token;    /* NULL: none */
	const char *basic_user;      /* NULL: none */
	const char *basic_password;
	long wait_ms;                /* the longest single wait on it (hp_http_set_limits);
				      * 0: 30 s */
} hp_http_endpoint;

/* The bytes per second below which a bulk transfer (content, a CAR sent
 * or received) counts as stalled: HP_HTTP_MIN_RATE x the wait. */
#define HP_HTTP_MIN_RATE 1024u

/* The limits of one call: no single wait longer than wait_ms (0: 30 s) --
 * connecting, the answer's first byte, a silence while sending or
 * receiving (stall_timeout_ms; connect min(10 s, wait_ms)) -- and, when
 * deadline is not 0, all of it over by deadline (hp_http_now_ms clock;
 * the waits shrink to the time left). HP_E_TEMPFAIL naming url when
 * deadline has passed. */
hp_code hp_http_set_limits(hp_http_request *req, long wait_ms, int64_t deadline, hp_err *e);

/* Finds a service's own message in an error answer's body. */
typedef bool hp_http_errmsg_fn(const char *p, size_t n, char *msg, size_t msgsz);

/* One request to a JSON API: method on url (json_body, if not NULL, sent as
 * application/json), ep's credentials, at most max answer bytes, each wait
 * at most ep->wait_ms, a drip below HP_HTTP_MIN_RATE a stall, over by
 * deadline (0: no limit but the waits). A 2xx answer's body goes to out and its status to *status (may
 * be NULL). Any other status fails with that status's code (above) and
 * "'URL': <the service's message> (HTTP N)" when errmsg finds one, else
 * the status line and the start of the body. */
hp_code hp_http_json_call(const hp_http_endpoint *ep, const char *method, const char *url, const char *json_body,
			  uint64_t max, int64_t deadline, hp_http_errmsg_fn *errmsg, hp_buf *out, long *status,
			  hp_err *e);

/* Global libcurl set-up; idempotent, thread-safe. hp_http_do calls it. */
hp_code hp_http_init(hp_err *e);
/* Undo hp_http_init (for leak checkers); no call may be running. */
void hp_http_cleanup(void);

/* Perform req. resp is always initialised (even on failure); body_fn NULL:
 * collect the body into resp->body. The caller releases resp->body with
 * hp_buf_release (hp_http_response_release does it). A transport failure
 * leaves resp->status 0. */
hp_code hp_http_do(const hp_http_request *req, hp_http_body_fn *body_fn, void *ud, hp_http_response *resp,
		   hp_err *e);
void hp_http_response_release(hp_http_response *resp);

/* The hp_code for an HTTP status (HP_OK for 2xx), as listed above. */
hp_code hp_http_status_code(long status);

/* Fail with the code of resp->status and the message
 * "'URL': HTTP 500 Internal Server Error[: detail]". */
hp_code hp_http_fail_status(const char *url, long status, const char *detail, hp_err *e);

/* The start of an answer's body for a message: whitespace around it
 * dropped, quoted (hp_quote), at most about 200 bytes. */
void hp_http_snippet(const char *p, size_t n, char *out, size_t outsz);

/* url without user name, password, query and fragment, for messages and
 * records: "http://127.0.0.1:5001/api/v0/pin/add". Never fails (cuts). */
void hp_http_redact(const char *url, char *out, size_t outsz);

/* An endpoint's base URL: http(s)://host[:port][/path] with no trailing
 * '/', query, fragment, whitespace or control character; a multiaddr
 * /ip4/A/tcp/P, /ip6/A/tcp/P or /dns[46]/H/tcp/P (optionally followed by
 * /http or /https) becomes http(s)://A:P. HP_E_USAGE when it is neither. */
hp_code hp_http_base_url(const char *in, hp_buf *out, hp_err *e);

/* Append s percent-encoded for a path segment or query value (everything
 * but A-Z a-z 0-9 - . _ ~). */
hp_code hp_http_add_escaped(hp_buf *out, const char *s, hp_err *e);

/* Monotonic milliseconds, and a sleep that never wakes early. */
int64_t hp_http_now_ms(void);
void hp_http_sleep_ms(long ms);

#endif
