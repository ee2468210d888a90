#include "hp_http.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "hp_io.h"

#include "banned.h"

#ifndef HP_VERSION
#define HP_VERSION "0"
#endif

#define DEFAULT_CONNECT_MS 10000L
#define DEFAULT_STALL_MS 30000L
#define DEFAULT_MAX_BODY (64u << 20)
#define ERROR_BODY_MAX (64u << 10)
#define MAX_HEADER_BYTES (256u << 10)

/* ---- global set-up ---- */

static pthread_mutex_t init_lock = PTHREAD_MUTEX_INITIALIZER;
static bool initialised;

hp_code hp_http_init(hp_err *e)
{
	hp_code rc = HP_OK;
	pthread_mutex_lock(&init_lock);
	if (!initialised) {
		CURLcode c = curl_global_init(CURL_GLOBAL_DEFAULT);
		if (c == CURLE_OK)
			initialised = true;
		else
			rc = hp_fail(e, c == CURLE_OUT_OF_MEMORY ? HP_E_NOMEM : HP_E_INTERNAL,
				     "cannot initialise libcurl: %s", curl_easy_strerror(c));
	}
	pthread_mutex_unlock(&init_lock);
	return rc;
}

void hp_http_cleanup(void)
{
	pthread_mutex_lock(&init_lock);
	if (initialised) {
		curl_global_cleanup();
		initialised = false;
	}
	pthread_mutex_unlock(&init_lock);
}

/* ---- small helpers ---- */

int64_t hp_http_now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

void hp_http_sleep_ms(long ms)
{
	if (ms <= 0)
		return;
	struct timespec t = { ms / 1000, (ms % 1000) * 1000000L };
	while (nanosleep(&t, &t) != 0 && errno == EINTR)
		;
}

void hp_http_redact(const char *url, char *out, size_t outsz)
{
	if (!outsz)
		return;
	size_t o = 0;
	const char *p = url ? url : "";
	const char *scheme_end = strstr(p, "://");
	if (scheme_end) {
		size_t n = (size_t)(scheme_end - p) + 3;
		for (size_t i = 0; i < n && o + 1 < outsz; i++)
			out[o++] = p[i];
		p = scheme_end + 3;
		/* drop user[:password]@ of the authority */
		size_t auth = strcspn(p, "/?#");
		const char *at = memchr(p, '@', auth);
		if (at) {
			/* the last '@' in the authority ends the user information */
			const char *q = at;
			while ((q = memchr(q + 1, '@', auth - (size_t)(q + 1 - p))) != NULL)
				at = q;
			p = at + 1;
		}
	}
	for (; *p && *p != '?' && *p != '#' && o + 1 < outsz; p++) {
		unsigned char c = (unsigned char)*p;
		out[o++] = c < 0x20 || c == 0x7f ? '?' : (char)c;
	}
	out[o] = '\0';
}

void hp_http_snippet(const char *p, size_t n, char *out, size_t outsz)
{
	while (n && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')) {
		p++;
		n--;
	}
	while (n && (p[n - 1] == ' ' || p[n - 1] == '\t' || p[n - 1] == '\r' || p[n - 1] == '\n'))
		n--;
	if (n > 200)
		n = 200;
	hp_quote(p, n, out, outsz);
}

hp_code hp_http_add_escaped(hp_buf *out, const char *s, hp_err *e)
{
	static const char hex[] = "0123456789ABCDEF";
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		unsigned char c = *p;
		hp_code rc;
		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
		    c == '.' || c == '_' || c == '~') {
			rc = hp_buf_addch(out, (char)c, e);
		} else {
			char t[3] = { '%', hex[c >> 4], hex[c & 15] };
			rc = hp_buf_add(out, t, 3, e);
		}
		if (rc)
			return rc;
	}
	return HP_OK;
}

static bool all_digits(const char *s, size_t n)
{
	if (n == 0 || n > 5)
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

/* /ip4/A/tcp/P[/http|/https] and friends. */
static hp_code base_from_maddr(const char *in, hp_buf *out, hp_err *e)
{
	char q[200];
	hp_quote(in, strlen(in), q, sizeof q);
	const char *seg[6];
	size_t len[6];
	size_t n = 0;
	const char *p = in;
	while (*p == '/' && n < 6) {
		p++;
		seg[n] = p;
		len[n] = strcspn(p, "/");
		p += len[n];
		n++;
	}
	if (*p || (n != 4 && n != 5))
		return hp_fail(e, HP_E_USAGE, "'%s' is not an http(s) URL nor a /ip4|ip6|dns/HOST/tcp/PORT multiaddr", q);
#define SEG_IS(i, s) (len[i] == strlen(s) && memcmp(seg[i], s, len[i]) == 0)
	bool v6 = SEG_IS(0, "ip6");
	if (!(SEG_IS(0, "ip4") || v6 || SEG_IS(0, "dns") || SEG_IS(0, "dns4") || SEG_IS(0, "dns6")) ||
	    !SEG_IS(2, "tcp") || !all_digits(seg[3], len[3]) || len[1] == 0 ||
	    (n == 5 && !SEG_IS(4, "http") && !SEG_IS(4, "https")))
		return hp_fail(e, HP_E_USAGE, "'%s' is not an http(s) URL nor a /ip4|ip6|dns/HOST/tcp/PORT multiaddr", q);
	long port = strtol(seg[3], NULL, 10);
	if (port < 1 || port > 65535)
		return hp_fail(e, HP_E_USAGE, "'%s': port out of range", q);
	for (size_t i = 0; i < len[1]; i++) {
		char c = seg[1][i];
		bool ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '.' ||
			  c == '-' || (v6 && c == ':');
		if (!ok)
			return hp_fail(e, HP_E_USAGE, "'%s': bad host", q);
	}
	bool tls = n == 5 && SEG_IS(4, "https");
#undef SEG_IS
	hp_buf_reset(out);
	return hp_buf_addf(out, e, "%s://%s%.*s%s:%ld", tls ? "https" : "http", v6 ? "[" : "", (int)len[1], seg[1],
			   v6 ? "]" : "", port);
}

hp_code hp_http_base_url(const char *in, hp_buf *out, hp_err *e)
{
	char q[200];
	size_t n = strlen(in);
	hp_quote(in, n, q, sizeof q);
	if (in[0] == '/')
		return base_from_maddr(in, out, e);
	size_t sl;
	if (strncmp(in, "http://", 7) == 0)
		sl = 7;
	else if (strncmp(in, "https://", 8) == 0)
		sl = 8;
	else
		return hp_fail(e, HP_E_USAGE, "'%s' is not an http(s) URL nor a /ip4|ip6|dns/HOST/tcp/PORT multiaddr", q);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)in[i];
		if (c <= 0x20 || c == 0x7f)
			return hp_fail(e, HP_E_USAGE, "URL '%s' contains a space or a control character", q);
		if (c == '?' || c == '#')
			return hp_fail(e, HP_E_USAGE, "URL '%s' must not have a query or a fragment", q);
	}
	if (n == sl || in[sl] == '/')
		return hp_fail(e, HP_E_USAGE, "URL '%s' has no host", q);
	while (n > sl && in[n - 1] == '/')
		n--;
	hp_buf_reset(out);
	return hp_buf_add(out, in, n, e);
}

static const char *reason_phrase(long status)
{
	switch (status) {
	case 300: return "Multiple Choices";
	case 301: return "Moved Permanently";
	case 302: return "Found";
	case 303: return "See Other";
	case 304: return "Not Modified";
	case 307: return "Temporary Redirect";
	case 308: return "Permanent Redirect";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 406: return "Not Acceptable";
	case 408: return "Request Timeout";
	case 409: return "Conflict";
	case 410: return "Gone";
	case 411: return "Length Required";
	case 413: return "Content Too Large";
	case 415: return "Unsupported Media Type";
	case 416: return "Range Not Satisfiable";
	case 422: return "Unprocessable Content";
	case 429: return "Too Many Requests";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	default: return "";
	}
}

hp_code hp_http_status_code(long status)
{
	if (status >= 200 && status <= 299)
		return HP_OK;
	switch (status) {
	case 408:
	case 429:
	case 503:
	case 504:
		return HP_E_TEMPFAIL;
	case 401:
	case 403:
		return HP_E_PERM;
	default:
		break;
	}
	if (status >= 500)
		return HP_E_UNAVAILABLE;
	return HP_E_DATA;
}

hp_code hp_http_fail_status(const char *url, long status, const char *detail, hp_err *e)
{
	char where[256];
	hp_http_redact(url, where, sizeof where);
	const char *phrase = reason_phrase(status);
	hp_code code = hp_http_status_code(status);
	if (code == HP_OK)
		code = HP_E_DATA;  /* a 2xx the caller did not expect */
	return hp_fail(e, code, "'%s': HTTP %ld%s%s%s%s", where, status, *phrase ? " " : "", phrase,
		       detail && *detail ? ": " : "", detail ? detail : "");
}

hp_code hp_http_set_limits(hp_http_request *req, long wait_ms, int64_t deadline, hp_err *e)
{
	int64_t wait = wait_ms > 0 ? wait_ms : DEFAULT_STALL_MS;
	req->timeout_ms = 0;
	if (deadline) {
		int64_t left = deadline - hp_http_now_ms();
		if (left <= 0) {
			char where[256];
			hp_http_redact(req->url, where, sizeof where);
			return hp_fail(e, HP_E_TEMPFAIL, "'%s': timed out before it could be asked", where);
		}
		if (left > 0x7fffffff)
			left = 0x7fffffff;
		if (wait > left)
			wait = left;
		req->timeout_ms = (long)left;
	}
	req->connect_timeout_ms = (long)wait;
	req->stall_timeout_ms = (long)wait;
	return HP_OK;
}

void hp_http_response_release(hp_http_response *resp)
{
	if (resp)
		hp_buf_release(&resp->body);
}

/* ---- one transfer ---- */

typedef struct xfer {
	const hp_http_request *req;
	hp_http_body_fn *body_fn;
	void *ud;
	hp_http_response *resp;
	CURL *curl;
	uint64_t max_body;
	long stall_ms;
	/* progress: the span that began at win_start must move `need` bytes
	 * (received, sent, header bytes) before stall_ms is over */
	int64_t win_start;
	curl_off_t win_moved;   /* the count of bytes moved when the span began */
	curl_off_t need;
	bool quota_met;         /* some span moved its bytes */
	bool stalled;
	/* the last counts seen (when it stalled: then), for the message */
	curl_off_t st_ul, st_ultotal, st_dl, st_moved;
	uint64_t st_headers;
	/* headers */
	uint64_t header_bytes;
	bool headers_too_big;
	bool in_final;        /* the headers seen belong to the final response */
	bool body_started;    /* trailers come after the body */
	/* the body */
	hp_code cb_code;      /* why a callback stopped the transfer */
	hp_err cb_err;
} xfer;

static void trim(const char **p, size_t *n)
{
	while (*n && (**p == ' ' || **p == '\t')) {
		(*p)++;
		(*n)--;
	}
	while (*n && ((*p)[*n - 1] == ' ' || (*p)[*n - 1] == '\t' || (*p)[*n - 1] == '\r' || (*p)[*n - 1] == '\n'))
		(*n)--;
}

static void copy_value(char *dst, size_t dstsz, const char *v, size_t n)
{
	if (n >= dstsz)
		n = dstsz - 1;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)v[i];
		dst[i] = c < 0x20 || c == 0x7f ? '?' : (char)c;
	}
	dst[n] = '\0';
}

static bool name_is(const char *name, size_t n, const char *want)
{
	return n == strlen(want) && strncasecmp(name, want, n) == 0;
}

static size_t on_header(char *buf, size_t size, size_t nitems, void *arg)
{
	xfer *x = arg;
	size_t n = size * nitems;
	x->header_bytes += n;
	if (x->header_bytes > MAX_HEADER_BYTES) {
		x->headers_too_big = true;
		return 0;
	}
	hp_http_response *r = x->resp;
	if (!x->body_started && n >= 5 && memcmp(buf, "HTTP/", 5) == 0) {
		/* a new response (after 1xx or a redirect): forget the last one's headers */
		x->in_final = true;
		r->content_type[0] = '\0';
		r->content_range[0] = '\0';
		r->stream_error[0] = '\0';
		r->content_length = UINT64_MAX;
		r->retry_after = -1;
		return n;
	}
	const char *colon = memchr(buf, ':', n);
	if (!colon)
		return n;  /* the empty line ending the headers, or junk */
	const char *name = buf, *value = colon + 1;
	size_t name_len = (size_t)(colon - buf), value_len = n - name_len - 1;
	trim(&name, &name_len);
	trim(&value, &value_len);
	if (name_is(name, name_len, "Content-Type")) {
		copy_value(r->content_type, sizeof r->content_type, value, value_len);
	} else if (name_is(name, name_len, "Content-Range")) {
		copy_value(r->content_range, sizeof r->content_range, value, value_len);
	} else if (name_is(name, name_len, "X-Stream-Error")) {
		copy_value(r->stream_error, sizeof r->stream_error, value, value_len);
	} else if (name_is(name, name_len, "Content-Length")) {
		uint64_t v = 0;
		size_t i = 0;
		for (; i < value_len && value[i] >= '0' && value[i] <= '9' && v < UINT64_MAX / 10; i++)
			v = v * 10 + (uint64_t)(value[i] - '0');
		if (i && i == value_len)
			r->content_length = v;
	} else if (name_is(name, name_len, "Retry-After")) {
		long v = 0;
		size_t i = 0;
		for (; i < value_len && value[i] >= '0' && value[i] <= '9' && v < 100000000; i++)
			v = v * 10 + (value[i] - '0');
		if (i && i == value_len)
			r->retry_after = v;
	}
	if (x->req->header_fn)
		x->req->header_fn(x->req->header_ud, name, name_len, value, value_len);
	return n;
}

static long current_status(xfer *x)
{
	long status = 0;
	curl_easy_getinfo(x->curl, CURLINFO_RESPONSE_CODE, &status);
	return status;
}

static size_t on_body(char *buf, size_t size, size_t nmemb, void *arg)
{
	xfer *x = arg;
	size_t n = size * nmemb;
	hp_http_response *r = x->resp;
	long status = current_status(x);
	if (!x->body_started) {
		x->body_started = true;
		r->status = status;
		if (status >= 200 && status <= 299 && r->content_length != UINT64_MAX &&
		    r->content_length > x->max_body) {
			x->cb_code = hp_fail(&x->cb_err, HP_E_DATA,
					     "the answer announces %llu bytes, more than the limit of %llu",
					     (unsigned long long)r->content_length, (unsigned long long)x->max_body);
			return 0;
		}
	}
	if (status < 200 || status > 299) {
		/* an error's body: keep the start of it for the message */
		size_t room = r->body.len < ERROR_BODY_MAX ? ERROR_BODY_MAX - r->body.len : 0;
		if (room)
			hp_buf_add(&r->body, buf, n < room ? n : room, NULL);
		r->bytes += n;
		return n;
	}
	if (n > x->max_body - r->bytes || r->bytes > x->max_body) {
		x->cb_code = hp_fail(&x->cb_err, HP_E_DATA, "the answer is larger than the limit of %llu bytes",
				     (unsigned long long)x->max_body);
		return 0;
	}
	r->bytes += n;
	hp_code rc;
	if (x->body_fn)
		rc = x->body_fn(x->ud, (const uint8_t *)buf, n, &x->cb_err);
	else
		rc = hp_buf_add(&r->body, buf, n, &x->cb_err);
	if (rc) {
		x->cb_code = rc;
		return 0;
	}
	return n;
}

static int on_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow)
{
	(void)dltotal;
	xfer *x = arg;
	int64_t now = hp_http_now_ms();
	curl_off_t moved = dlnow + ulnow + (curl_off_t)x->header_bytes;
	x->st_ul = ulnow;
	x->st_ultotal = ultotal;
	x->st_dl = dlnow;
	x->st_headers = x->header_bytes;
	if (moved - x->win_moved >= x->need) {
		x->win_start = now;
		x->win_moved = moved;
		x->quota_met = true;
	}
	x->st_moved = moved - x->win_moved;
	if (now - x->win_start >= x->stall_ms) {
		x->stalled = true;
		return 1;
	}
	return 0;
}

/* A file part: read from our own descriptor (opened and checked first). */
typedef struct file_part {
	int fd;
} file_part;

static size_t part_read(char *buf, size_t size, size_t nitems, void *arg)
{
	file_part *f = arg;
	for (;;) {
		ssize_t n = read(f->fd, buf, size * nitems);
		if (n >= 0)
			return (size_t)n;
		if (errno != EINTR)
			return CURL_READFUNC_ABORT;
	}
}

static int part_seek(void *arg, curl_off_t offset, int origin)
{
	file_part *f = arg;
	return lseek(f->fd, (off_t)offset, origin) < 0 ? CURL_SEEKFUNC_FAIL : CURL_SEEKFUNC_OK;
}

static void part_free(void *arg)
{
	file_part *f = arg;
	if (f) {
		close(f->fd);
		free(f);
	}
}

static bool has_crlf(const char *s)
{
	return s && strpbrk(s, "\r\n") != NULL;
}

static hp_code add_parts(xfer *x, curl_mime **mimep, const char *where, hp_err *e)
{
	const hp_http_request *req = x->req;
	curl_mime *mime = curl_mime_init(x->curl);
	if (!mime)
		return hp_fail_nomem(e);
	*mimep = mime;
	for (size_t i = 0; i < req->nparts; i++) {
		const hp_http_part *p = &req->parts[i];
		curl_mimepart *mp = curl_mime_addpart(mime);
		if (!mp)
			return hp_fail_nomem(e);
		if (has_crlf(p->name) || has_crlf(p->filename) || has_crlf(p->content_type))
			return hp_fail(e, HP_E_USAGE, "'%s': a form part's name or type has a line break", where);
		if (curl_mime_name(mp, p->name ? p->name : "file") != CURLE_OK ||
		    (p->filename && curl_mime_filename(mp, p->filename) != CURLE_OK) ||
		    curl_mime_type(mp, p->content_type ? p->content_type : "application/octet-stream") != CURLE_OK)
			return hp_fail_nomem(e);
		if (p->path) {
			int fd;
			struct stat st;
			hp_code rc = hp_open_regular(p->path, false, &fd, &st, e);
			if (rc)
				return rc;
			file_part *f = malloc(sizeof *f);
			if (!f) {
				close(fd);
				return hp_fail_nomem(e);
			}
			f->fd = fd;
			if (curl_mime_data_cb(mp, (curl_off_t)st.st_size, part_read, part_seek, part_free, f) !=
			    CURLE_OK) {
				part_free(f);
				return hp_fail_nomem(e);
			}
		} else if (curl_mime_data(mp, p->data ? p->data : "", p->data ? p->len : 0) != CURLE_OK) {
			return hp_fail_nomem(e);
		}
	}
	return curl_easy_setopt(x->curl, CURLOPT_MIMEPOST, mime) == CURLE_OK ? HP_OK : hp_fail_nomem(e);
}

static bool loopback_host(const char *url)
{
	bool loop = false;
	CURLU *u = curl_url();
	char *host = NULL;
	if (u && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK && host) {
		loop = strcmp(host, "localhost") == 0 || strncmp(host, "127.", 4) == 0 || strcmp(host, "[::1]") == 0;
	}
	curl_free(host);
	curl_url_cleanup(u);
	return loop;
}

#define SET(opt, val) \
	do { \
		if (curl_easy_setopt(x->curl, opt, val) != CURLE_OK) { \
			rc = hp_fail(e, HP_E_INTERNAL, "'%s': libcurl refused option %s", where, #opt); \
			goto out; \
		} \
	} while (0)

/* Seconds for a message, to a tenth: "3", "2.5" (a wait cut to the
 * 1999 ms left of a deadline reads "2"). */
static void secs_text(long ms, char *out, size_t outsz)
{
	long tenths = (ms + 50) / 100;
	if (tenths % 10)
		snprintf(out, outsz, "%ld.%ld", tenths / 10, tenths % 10);
	else
		snprintf(out, outsz, "%ld", tenths / 10);
}

/* A stall (on_progress): what the server failed to do, in its terms. */
static hp_code stall_error(const xfer *x, bool connected, long wait_ms, const char *where, hp_err *e)
{
	char secs[32];
	secs_text(wait_ms, secs, sizeof secs);
	if (!connected)
		return hp_fail(e, HP_E_TEMPFAIL, "'%s': timed out: no connection after %s s", where, secs);
	if (x->st_headers == 0 && x->st_ultotal > 0 && x->st_ul < x->st_ultotal) {
		if (x->st_moved == 0)
			return hp_fail(e, HP_E_TEMPFAIL,
				       "'%s': timed out: the server took nothing of the upload for %s s (sent %lld of %lld bytes)",
				       where, secs, (long long)x->st_ul, (long long)x->st_ultotal);
		return hp_fail(e, HP_E_TEMPFAIL,
			       "'%s': timed out: the server took the upload at less than %u bytes/s for %s s (sent %lld of %lld bytes)",
			       where, x->req->min_rate, secs, (long long)x->st_ul, (long long)x->st_ultotal);
	}
	if (x->st_headers == 0)
		return hp_fail(e, HP_E_TEMPFAIL, "'%s': timed out: no answer for %s s", where, secs);
	if (x->st_moved == 0)
		return hp_fail(e, HP_E_TEMPFAIL, "'%s': timed out: no data for %s s (%lld bytes of the answer so far)",
			       where, secs, (long long)x->st_dl);
	return hp_fail(e, HP_E_TEMPFAIL,
		       "'%s': timed out: less than %u bytes/s for %s s (%lld bytes of the answer so far)", where,
		       x->req->min_rate, secs, (long long)x->st_dl);
}

/* The message and code for a failed transfer. */
static hp_code transfer_error(xfer *x, CURLcode c, const char *where, const char *errbuf, hp_err *e)
{
	const hp_http_request *req = x->req;
	long os_errno = 0;
	curl_easy_getinfo(x->curl, CURLINFO_OS_ERRNO, &os_errno);
	const char *detail = errbuf[0] ? errbuf : curl_easy_strerror(c);
	if (x->headers_too_big)
		return hp_fail(e, HP_E_DATA, "'%s': more than %u bytes of response headers", where, MAX_HEADER_BYTES);
	if (x->cb_code) {
		hp_code code = x->cb_code;
		if (e) {
			*e = x->cb_err;
			e->code = code;
		}
		return hp_err_prefix(e, "'%s'", where);
	}
	curl_off_t connected = 0;
	curl_easy_getinfo(x->curl, CURLINFO_CONNECT_TIME_T, &connected);
	if (x->stalled)
		return stall_error(x, connected != 0, x->stall_ms, where, e);
	switch (c) {
	case CURLE_OPERATION_TIMEDOUT: {
		char secs[32];
		if (connected == 0) {
			secs_text(req->connect_timeout_ms > 0 ? req->connect_timeout_ms : DEFAULT_CONNECT_MS, secs,
				  sizeof secs);
			return hp_fail(e, HP_E_TEMPFAIL, "'%s': timed out: no connection after %s s", where, secs);
		}
		/* a total no longer than the wait (a deadline cut it) that ran
		 * out before any span moved its bytes: that wait failed (the
		 * stall check, once a second, may come just after) */
		if (req->timeout_ms > 0 && req->timeout_ms <= x->stall_ms && !x->quota_met)
			return stall_error(x, true, req->timeout_ms, where, e);
		secs_text(req->timeout_ms, secs, sizeof secs);
		return hp_fail(e, HP_E_TEMPFAIL, "'%s': timed out: no complete answer after %s s", where, secs);
	}
	case CURLE_COULDNT_CONNECT:
		if (os_errno)
			return hp_fail(e, HP_E_UNAVAILABLE, "'%s': cannot connect: %s", where, strerror((int)os_errno));
		return hp_fail(e, HP_E_UNAVAILABLE, "'%s': cannot connect: %s", where, detail);
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
		return hp_fail(e, HP_E_UNAVAILABLE, "'%s': cannot resolve the host name: %s", where, detail);
	case CURLE_GOT_NOTHING:
		return hp_fail(e, HP_E_UNAVAILABLE, "'%s': the server closed the connection without answering", where);
	case CURLE_WEIRD_SERVER_REPLY:
	case CURLE_UNSUPPORTED_PROTOCOL:  /* HTTP/0.9, or a redirect to another scheme */
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
		return hp_fail(e, HP_E_UNAVAILABLE, "'%s': not an HTTP answer: %s", where, detail);
	case CURLE_PARTIAL_FILE:
		return hp_fail(e, HP_E_UNAVAILABLE, "'%s': the answer was cut short: %s", where, detail);
	case CURLE_TOO_MANY_REDIRECTS:
		return hp_fail(e, HP_E_DATA, "'%s': too many redirects", where);
	case CURLE_OUT_OF_MEMORY:
		return hp_fail_nomem(e);
	case CURLE_URL_MALFORMAT:
		return hp_fail(e, HP_E_USAGE, "'%s': malformed URL", where);
	case CURLE_READ_ERROR:
	case CURLE_ABORTED_BY_CALLBACK:
		return hp_fail(e, HP_E_IO, "'%s': cannot read what is to be sent: %s", where, detail);
	case CURLE_BAD_CONTENT_ENCODING:
		return hp_fail(e, HP_E_DATA, "'%s': %s", where, detail);
	default:
		return hp_fail(e, HP_E_UNAVAILABLE, "'%s': %s", where, detail);
	}
}

hp_code hp_http_do(const hp_http_request *req, hp_http_body_fn *body_fn, void *ud, hp_http_response *resp,
		   hp_err *e)
{
	memset(resp, 0, sizeof *resp);
	hp_buf_init(&resp->body, SIZE_MAX);
	resp->content_length = UINT64_MAX;
	resp->retry_after = -1;

	char where[256];
	hp_http_redact(req->url, where, sizeof where);
	if (!req->url || (strncmp(req->url, "http://", 7) != 0 && strncmp(req->url, "https://", 8) != 0))
		return hp_fail(e, HP_E_USAGE, "'%s': only http:// and https:// URLs are supported", where);
	if (has_crlf(req->url) || has_crlf(req->method) || has_crlf(req->bearer_token) ||
	    has_crlf(req->basic_user) || has_crlf(req->basic_password) || has_crlf(req->user_agent))
		return hp_fail(e, HP_E_USAGE, "'%s': a line break in the URL, method, user agent or credentials",
			       where);
	if (req->basic_user && strchr(req->basic_user, ':'))
		return hp_fail(e, HP_E_USAGE, "'%s': a basic-auth user name cannot contain ':'", where);
	hp_code rc = hp_http_init(e);
	if (rc)
		return rc;

	xfer xs;
	memset(&xs, 0, sizeof xs);
	xfer *x = &xs;
	x->req = req;
	x->body_fn = body_fn;
	x->ud = ud;
	x->resp = resp;
	x->max_body = req->max_body ? req->max_body : DEFAULT_MAX_BODY;
	x->stall_ms = req->stall_timeout_ms > 0 ? req->stall_timeout_ms : DEFAULT_STALL_MS;
	x->win_start = hp_http_now_ms();
	x->need = (curl_off_t)((double)req->min_rate * (double)x->stall_ms / 1000);
	if (x->need < 1)
		x->need = 1;
	resp->body.max = body_fn ? ERROR_BODY_MAX : (size_t)(x->max_body < SIZE_MAX ? x->max_body : SIZE_MAX);

	struct curl_slist *headers = NULL;
	curl_mime *mime = NULL;
	char errbuf[CURL_ERROR_SIZE];
	errbuf[0] = '\0';
	char *userpwd = NULL;
	char ua[128];
	char range[64];

	x->curl = curl_easy_init();
	if (!x->curl)
		return hp_fail_nomem(e);

	SET(CURLOPT_URL, req->url);
	SET(CURLOPT_NOSIGNAL, 1L);
	SET(CURLOPT_ERRORBUFFER, errbuf);
	SET(CURLOPT_PROTOCOLS_STR, "http,https");
	SET(CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	if (req->max_redirects > 0) {
		SET(CURLOPT_FOLLOWLOCATION, 1L);
		SET(CURLOPT_MAXREDIRS, (long)req->max_redirects);
	}
	if (loopback_host(req->url))
		SET(CURLOPT_PROXY, "");
	snprintf(ua, sizeof ua, "%s", req->user_agent ? req->user_agent : "hybrid-p2p/" HP_VERSION);
	SET(CURLOPT_USERAGENT, ua);
	SET(CURLOPT_CONNECTTIMEOUT_MS, req->connect_timeout_ms > 0 ? req->connect_timeout_ms : DEFAULT_CONNECT_MS);
	if (req->timeout_ms > 0)
		SET(CURLOPT_TIMEOUT_MS, req->timeout_ms);
	SET(CURLOPT_NOPROGRESS, 0L);
	SET(CURLOPT_XFERINFOFUNCTION, on_progress);
	SET(CURLOPT_XFERINFODATA, x);
	SET(CURLOPT_HEADERFUNCTION, on_header);
	SET(CURLOPT_HEADERDATA, x);
	SET(CURLOPT_WRITEFUNCTION, on_body);
	SET(CURLOPT_WRITEDATA, x);
	/* the raw bytes: what max_body counts is what arrives */
	SET(CURLOPT_HTTP_CONTENT_DECODING, 0L);

	for (const char *const *h = req->headers; h && *h; h++) {
		if (has_crlf(*h) || !strchr(*h, ':')) {
			rc = hp_fail(e, HP_E_USAGE, "'%s': malformed request header", where);
			goto out;
		}
		struct curl_slist *t = curl_slist_append(headers, *h);
		if (!t) {
			rc = hp_fail_nomem(e);
			goto out;
		}
		headers = t;
	}
	{
		struct curl_slist *t = curl_slist_append(headers, "Expect:");
		if (!t) {
			rc = hp_fail_nomem(e);
			goto out;
		}
		headers = t;
	}
	SET(CURLOPT_HTTPHEADER, headers);

	if (req->bearer_token) {
		SET(CURLOPT_HTTPAUTH, (long)CURLAUTH_BEARER);
		SET(CURLOPT_XOAUTH2_BEARER, req->bearer_token);
	} else if (req->basic_user) {
		size_t ul = strlen(req->basic_user), pl = req->basic_password ? strlen(req->basic_password) : 0;
		userpwd = malloc(ul + pl + 2);
		if (!userpwd) {
			rc = hp_fail_nomem(e);
			goto out;
		}
		memcpy(userpwd, req->basic_user, ul);
		userpwd[ul] = ':';
		memcpy(userpwd + ul + 1, req->basic_password ? req->basic_password : "", pl);
		userpwd[ul + 1 + pl] = '\0';
		SET(CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
		SET(CURLOPT_USERPWD, userpwd);
	}

	if (req->range_to > 0) {
		if (req->range_from > req->range_to) {
			rc = hp_fail(e, HP_E_USAGE, "'%s': empty byte range", where);
			goto out;
		}
		snprintf(range, sizeof range, "%llu-%llu", (unsigned long long)req->range_from,
			 (unsigned long long)req->range_to);
		SET(CURLOPT_RANGE, range);
	}

	const char *method = req->method;
	if (!method)
		method = req->body || req->parts ? "POST" : "GET";
	if (req->parts && req->nparts) {
		if ((rc = add_parts(x, &mime, where, e)))
			goto out;
		if (strcmp(method, "POST") != 0)
			SET(CURLOPT_CUSTOMREQUEST, method);
	} else if (strcmp(method, "GET") == 0) {
		SET(CURLOPT_HTTPGET, 1L);
	} else if (strcmp(method, "HEAD") == 0) {
		SET(CURLOPT_NOBODY, 1L);
	} else {
		/* POST, PUT, DELETE...: a body (maybe empty) with its length */
		SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(req->body ? req->body_len : 0));
		SET(CURLOPT_POSTFIELDS, req->body ? req->body : "");
		if (strcmp(method, "POST") != 0)
			SET(CURLOPT_CUSTOMREQUEST, method);
	}

	CURLcode c = curl_easy_perform(x->curl);
	long status = current_status(x);
	resp->status = status;
	if (c != CURLE_OK) {
		rc = transfer_error(x, c, where, errbuf, e);
		goto out;
	}
	if (req->fail_on_http_error && hp_http_status_code(status) != HP_OK) {
		char snippet[240];
		hp_http_snippet(resp->body.data, resp->body.len, snippet, sizeof snippet);
		rc = hp_http_fail_status(req->url, status, snippet, e);
		goto out;
	}
	rc = HP_OK;
out:
	curl_easy_cleanup(x->curl);
	curl_mime_free(mime);
	curl_slist_free_all(headers);
	if (userpwd) {
		memset(userpwd, 0, strlen(userpwd));
		free(userpwd);
	}
	return rc;
}

hp_code hp_http_json_call(const hp_http_endpoint *ep, const char *method, const char *url, const char *json_body,
			  uint64_t max, int64_t deadline, hp_http_errmsg_fn *errmsg, hp_buf *out, long *status,
			  hp_err *e)
{
	static const char *const json_headers[] = { "Content-Type: application/json", "Accept: application/json",
						    NULL };
	static const char *const accept_json[] = { "Accept: application/json", NULL };
	if (status)
		*status = 0;
	hp_http_request req = { 0 };
	req.method = method;
	req.url = url;
	req.headers = json_body ? json_headers : accept_json;
	req.body = json_body;
	req.body_len = json_body ? strlen(json_body) : 0;
	req.max_body = max;
	req.bearer_token = ep ? ep->bearer_token : NULL;
	req.basic_user = ep ? ep->basic_user : NULL;
	req.basic_password = ep ? ep->basic_password : NULL;
	req.min_rate = HP_HTTP_MIN_RATE;
	hp_code rc = hp_http_set_limits(&req, ep ? ep->wait_ms : 0, deadline, e);
	if (rc)
		return rc;
	hp_http_response resp;
	rc = hp_http_do(&req, NULL, NULL, &resp, e);
	if (status)
		*status = resp.status;
	if (rc == HP_OK && hp_http_status_code(resp.status) != HP_OK) {
		char msg[512];
		if (errmsg && errmsg(resp.body.data, resp.body.len, msg, sizeof msg)) {
			char where[256];
			hp_http_redact(url, where, sizeof where);
			rc = hp_fail(e, hp_http_status_code(resp.status), "'%s': %s (HTTP %ld)", where, msg, resp.status);
		} else {
			char snippet[240];
			hp_http_snippet(resp.body.data, resp.body.len, snippet, sizeof snippet);
			rc = hp_http_fail_status(url, resp.status, snippet, e);
		}
	} else if (rc == HP_OK) {
		hp_buf_release(out);
		*out = resp.body;
		hp_buf_init(&resp.body, SIZE_MAX);
	}
	hp_http_response_release(&resp);
	return rc;
}
