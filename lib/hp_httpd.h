/* hp_httpd: the small HTTP server of the long-running tools (hp-pin watch,
 * hp-seed): GET /metrics for Prometheus, GET /healthz for a probe.
 *
 * One thread accepts and answers, one request per connection (HTTP/1.0 or
 * 1.1, "Connection: close"), each bounded: HP_HTTPD_MAX_REQUEST bytes of
 * request head, HP_HTTPD_IO_MS to send it and to take the answer. GET and
 * HEAD only (405 otherwise), no body read, the path's query ignored. It
 * serves operators' scrapers: bind it to loopback or a private address
 * (docs/deploy.md); nothing in it is secret, and it changes nothing. */
#ifndef HP_HTTPD_H
#define HP_HTTPD_H

#include <stddef.h>

#include "hp_buf.h"
#include "hp_err.h"

#define HP_HTTPD_MAX_REQUEST 8192
#define HP_HTTPD_IO_MS 5000

typedef struct hp_httpd_request {
	char method[8];    /* "GET", "HEAD", ... */
	char path[256];    /* without the query */
	int minor;         /* HTTP/1.x */
} hp_httpd_request;

/* Parse a request head (the request line and the header lines, up to the
 * empty line) in data[0..len). HP_E_TEMPFAIL when the head is not complete
 * yet; HP_E_DATA (the message says why) for a malformed one, a method or
 * path too long, a version other than HTTP/1.x. */
hp_code hp_httpd_parse(const char *data, size_t len, hp_httpd_request *out, hp_err *e);

/* The answer to a request for path: fill body, set *content_type and
 * return the HTTP status (200, 404, 500...). Called on the server's thread. */
typedef int hp_httpd_handler(void *ud, const char *path, hp_buf *body, const char **content_type);

typedef struct hp_httpd hp_httpd;

/* Listen on addr ("HOST:PORT", "[V6]:PORT" or ":PORT" for every address;
 * port 0: any free port) and serve on a thread of its own. HP_E_USAGE for
 * an address that is not one, HP_E_UNAVAILABLE when it cannot be bound
 * (the message names it and says why). */
hp_code hp_httpd_start(const char *addr, hp_httpd_handler *h, void *ud, hp_httpd **out, hp_err *e);

/* The port it listens on. */
int hp_httpd_port(const hp_httpd *s);

/* Stop serving (an answer being written is finished first) and free. */
void hp_httpd_stop(hp_httpd *s);

#endif
