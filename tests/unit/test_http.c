/* hp_http against a tiny scripted HTTP server on 127.0.0.1 (a thread of
 * this test): what is sent (method, User-Agent, no Origin/Referer/Expect,
 * auth, multipart), bodies collected and streamed, the bounds (max_body,
 * headers), every timeout, every status mapping, trailers, and the pure
 * helpers (redaction, base URLs, escaping). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "hp_http.h"
#include "tap.h"

#include "banned.h"

/* ---- the server ---- */

static int listen_fd = -1;
static int port;
static volatile int stop_server;
static const char *mode = "ok";
static char last_request[65536];
static size_t last_request_len;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static void send_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
		if (w <= 0)
			return;
		p += w;
		n -= (size_t)w;
	}
}

static void send_str(int fd, const char *s)
{
	send_all(fd, s, strlen(s));
}

/* Wait up to ms for stop; true when stopping. */
static bool nap(int ms)
{
	for (int i = 0; i < ms / 10; i++) {
		if (stop_server)
			return true;
		usleep(10000);
	}
	return stop_server;
}

static bool peer_gone(int fd)
{
	struct pollfd p = { fd, POLLIN, 0 };
	char c;
	return poll(&p, 1, 0) == 1 && recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT) <= 0;
}

/* Read one request: the headers, then Content-Length bytes of body. */
static void read_request(int fd)
{
	size_t n = 0;
	char *buf = last_request;
	size_t cap = sizeof last_request - 1;
	long want = -1;
	size_t head = 0;
	for (;;) {
		struct pollfd p = { fd, POLLIN, 0 };
		if (poll(&p, 1, 5000) != 1)
			break;
		ssize_t r = recv(fd, buf + n, cap - n, 0);
		if (r <= 0)
			break;
		n += (size_t)r;
		buf[n] = '\0';
		if (!head) {
			char *end = strstr(buf, "\r\n\r\n");
			if (!end)
				continue;
			head = (size_t)(end - buf) + 4;
			char *cl = strcasestr(buf, "\r\nContent-Length:");
			want = cl && cl < end ? strtol(cl + 17, NULL, 10) : 0;
		}
		if (head && n >= head + (size_t)want)
			break;
		if (n == cap)
			break;
	}
	pthread_mutex_lock(&lock);
	last_request_len = n;
	pthread_mutex_unlock(&lock);
}

static void serve(int fd)
{
	read_request(fd);
	if (strcmp(mode, "ok") == 0) {
		send_str(fd, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello");
	} else if (strcmp(mode, "echo") == 0) {
		char h[128];
		snprintf(h, sizeof h, "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\n\r\n", last_request_len);
		send_str(fd, h);
		send_all(fd, last_request, last_request_len);
	} else if (strcmp(mode, "big") == 0) {
		send_str(fd, "HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n");
		static char x[1000];
		memset(x, 'x', sizeof x);
		for (int i = 0; i < 1000 && !stop_server; i++)
			send_all(fd, x, sizeof x);
	} else if (strcmp(mode, "endless") == 0) {
		send_str(fd, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n");
		static char x[4096];
		memset(x, '[', sizeof x);
		while (!stop_server && !peer_gone(fd)) {
			ssize_t w = send(fd, x, sizeof x, MSG_NOSIGNAL);
			if (w <= 0)
				break;
		}
	} else if (strcmp(mode, "hang") == 0) {
		while (!nap(100) && !peer_gone(fd))
			;
	} else if (strcmp(mode, "drip") == 0) {
		send_str(fd, "HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n");
		while (!nap(300) && !peer_gone(fd))
			send_str(fd, "x");
	} else if (strcmp(mode, "500") == 0) {
		send_str(fd, "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 11\r\n\r\nit broke\n\x01x");
	} else if (strcmp(mode, "429") == 0) {
		send_str(fd, "HTTP/1.1 429 Too Many Requests\r\nRetry-After: 7\r\nContent-Length: 0\r\n\r\n");
	} else if (strcmp(mode, "401") == 0) {
		send_str(fd, "HTTP/1.1 401 Unauthorized\r\nContent-Length: 2\r\n\r\nno");
	} else if (strcmp(mode, "404") == 0) {
		send_str(fd, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
	} else if (strcmp(mode, "trailer") == 0) {
		send_str(fd, "HTTP/1.1 200 OK\r\nTrailer: X-Stream-Error\r\nTransfer-Encoding: chunked\r\n\r\n"
			     "6\r\n{\"a\":1\r\n2\r\n}\n\r\n0\r\nX-Stream-Error: context canceled\r\n\r\n");
	} else if (strcmp(mode, "garbage") == 0) {
		send_str(fd, "this is not HTTP at all\r\n\r\n");
	} else if (strcmp(mode, "close") == 0) {
		/* nothing */
	} else if (strcmp(mode, "headers") == 0) {
		send_str(fd, "HTTP/1.1 200 OK\r\n");
		char line[1024];
		memset(line, 'a', sizeof line);
		memcpy(line, "X-Junk: ", 8);
		line[sizeof line - 2] = '\r';
		line[sizeof line - 1] = '\n';
		for (int i = 0; i < 2000 && !stop_server && !peer_gone(fd); i++)
			send_all(fd, line, sizeof line);
	} else if (strcmp(mode, "redirect") == 0) {
		char h[200];
		snprintf(h, sizeof h, "HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1:%d/x\r\nContent-Length: 0\r\n\r\n", port);
		send_str(fd, h);
		mode = "ok";
	}
}

static void *server_main(void *arg)
{
	(void)arg;
	while (!stop_server) {
		struct pollfd p = { listen_fd, POLLIN, 0 };
		if (poll(&p, 1, 50) != 1)
			continue;
		int fd = accept(listen_fd, NULL, NULL);
		if (fd < 0)
			continue;
		serve(fd);
		shutdown(fd, SHUT_RDWR);
		close(fd);
	}
	return NULL;
}

static int free_port(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { 0 };
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	socklen_t l = sizeof a;
	if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || getsockname(fd, (struct sockaddr *)&a, &l) != 0)
		return -1;
	int p = ntohs(a.sin_port);
	close(fd);
	return p;
}

static void start_server(void)
{
	listen_fd = socket(AF_INET, SOCK_STREAM, 0);
	int one = 1;
	setsockopt(listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	struct sockaddr_in a = { 0 };
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	socklen_t l = sizeof a;
	if (bind(listen_fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(listen_fd, 16) != 0 ||
	    getsockname(listen_fd, (struct sockaddr *)&a, &l) != 0) {
		perror("test server");
		exit(2);
	}
	port = ntohs(a.sin_port);
}

/* ---- the tests ---- */

static char url[256];

static void set_url(const char *path)
{
	snprintf(url, sizeof url, "http://127.0.0.1:%d%s", port, path);
}

static hp_code get(const char *m, hp_http_request *req, hp_http_response *resp, hp_err *e)
{
	mode = m;
	set_url("/api/v0/thing?arg=secret");
	req->url = url;
	return hp_http_do(req, NULL, NULL, resp, e);
}

static bool has(const char *hay, const char *needle)
{
	return strstr(hay, needle) != NULL;
}

static void test_basic(void)
{
	hp_http_request req = { 0 };
	hp_http_response resp;
	hp_err e = HP_ERR_INIT;
	hp_code rc = get("ok", &req, &resp, &e);
	is_int(rc, HP_OK, "GET: ok (%s)", e.msg);
	is_int(resp.status, 200, "GET: status 200");
	is_str(resp.body.data, "hello", "GET: the body is collected");
	is_int(resp.bytes, 5, "GET: bytes counted");
	is_str(resp.content_type, "text/plain", "GET: Content-Type kept");
	is_int(resp.content_length, 5, "GET: Content-Length kept");
	hp_http_response_release(&resp);

	/* what is sent */
	req.method = "POST";
	req.body = "{\"x\":1}";
	req.body_len = 7;
	const char *hdrs[] = { "Content-Type: application/json", NULL };
	req.headers = hdrs;
	rc = get("echo", &req, &resp, &e);
	is_int(rc, HP_OK, "POST echo: ok (%s)", e.msg);
	ok(has(resp.body.data, "POST /api/v0/thing?arg=secret HTTP/1.1\r\n"), "POST: method and path");
	ok(has(resp.body.data, "\r\nUser-Agent: hybrid-p2p/"), "POST: our User-Agent");
	ok(!has(resp.body.data, "Mozilla"), "POST: never a browser's User-Agent");
	ok(!strcasestr(resp.body.data, "\r\nOrigin:") && !strcasestr(resp.body.data, "\r\nReferer:"),
	   "POST: no Origin, no Referer");
	ok(!strcasestr(resp.body.data, "\r\nExpect:"), "POST: no Expect: 100-continue");
	ok(has(resp.body.data, "\r\nContent-Length: 7\r\n"), "POST: the body's length");
	ok(has(resp.body.data, "\r\n\r\n{\"x\":1}"), "POST: the body");
	hp_http_response_release(&resp);

	/* an empty POST still says Content-Length: 0 (kubo wants POST) */
	memset(&req, 0, sizeof req);
	req.method = "POST";
	rc = get("echo", &req, &resp, &e);
	ok(rc == HP_OK && has(resp.body.data, "POST ") && has(resp.body.data, "\r\nContent-Length: 0\r\n"),
	   "empty POST: Content-Length 0");
	hp_http_response_release(&resp);

	/* bearer and basic auth */
	memset(&req, 0, sizeof req);
	req.bearer_token = "tok3n";
	rc = get("echo", &req, &resp, &e);
	ok(rc == HP_OK && has(resp.body.data, "\r\nAuthorization: Bearer tok3n\r\n"), "bearer token sent at once");
	hp_http_response_release(&resp);
	memset(&req, 0, sizeof req);
	req.basic_user = "hp";
	req.basic_password = "pw";
	rc = get("echo", &req, &resp, &e);
	ok(rc == HP_OK && has(resp.body.data, "\r\nAuthorization: Basic aHA6cHc=\r\n"), "basic auth sent");
	hp_http_response_release(&resp);

	/* refused: header injection */
	memset(&req, 0, sizeof req);
	req.bearer_token = "a\r\nX-Evil: 1";
	rc = get("echo", &req, &resp, &e);
	is_int(rc, HP_E_USAGE, "a line break in a token is refused");
	ok(!has(e.msg, "X-Evil") && !has(e.msg, "secret"), "the message shows neither the token nor the query");
	hp_http_response_release(&resp);
	memset(&req, 0, sizeof req);
	const char *bad[] = { "X-A: 1\r\nX-B: 2", NULL };
	req.headers = bad;
	is_int(get("echo", &req, &resp, &e), HP_E_USAGE, "a header with a line break is refused");
	hp_http_response_release(&resp);
	memset(&req, 0, sizeof req);
	req.url = "ftp://127.0.0.1/x";
	is_int(hp_http_do(&req, NULL, NULL, &resp, &e), HP_E_USAGE, "ftp:// is refused");
	hp_http_response_release(&resp);

	/* range */
	memset(&req, 0, sizeof req);
	req.range_from = 10;
	req.range_to = 19;
	rc = get("echo", &req, &resp, &e);
	ok(rc == HP_OK && has(resp.body.data, "\r\nRange: bytes=10-19\r\n"), "Range header");
	hp_http_response_release(&resp);
}

static void test_multipart(void)
{
	char path[] = "/tmp/hp-http-test.XXXXXX";
	int fd = mkstemp(path);
	ok(fd >= 0, "temporary file");
	if (write(fd, "CARBYTES", 8) != 8)
		perror("write");
	close(fd);
	hp_http_part parts[2] = {
		{ "file", "x.car", "application/vnd.ipld.car", path, NULL, 0 },
		{ "meta", NULL, NULL, NULL, "m", 1 },
	};
	hp_http_request req = { 0 };
	req.parts = parts;
	req.nparts = 2;
	hp_http_response resp;
	hp_err e = HP_ERR_INIT;
	hp_code rc = get("echo", &req, &resp, &e);
	is_int(rc, HP_OK, "multipart: ok (%s)", e.msg);
	ok(has(resp.body.data, "POST "), "multipart: POST");
	ok(has(resp.body.data, "Content-Type: multipart/form-data; boundary="), "multipart: form data");
	ok(has(resp.body.data, "name=\"file\"; filename=\"x.car\"\r\nContent-Type: application/vnd.ipld.car\r\n\r\nCARBYTES\r\n"),
	   "multipart: the file part");
	ok(has(resp.body.data, "name=\"meta\"\r\nContent-Type: application/octet-stream\r\n\r\nm\r\n"),
	   "multipart: the bytes part");
	hp_http_response_release(&resp);
	unlink(path);
	rc = get("echo", &req, &resp, &e);
	is_int(rc, HP_E_NOINPUT, "multipart: a missing file is HP_E_NOINPUT");
	ok(has(e.msg, path), "multipart: the message names the file (%s)", e.msg);
	hp_http_response_release(&resp);
}

typedef struct sink {
	size_t n;
	int calls;
	int stop_after;
} sink;

static hp_code to_sink(void *ud, const uint8_t *p, size_t n, hp_err *e)
{
	(void)p;
	sink *s = ud;
	s->n += n;
	if (++s->calls == s->stop_after)
		return hp_fail(e, HP_E_INVALID, "block 3 does not match its CID");
	return HP_OK;
}

static void test_bounds(void)
{
	hp_http_request req = { 0 };
	hp_http_response resp;
	hp_err e = HP_ERR_INIT;

	req.max_body = 4;
	hp_code rc = get("ok", &req, &resp, &e);
	is_int(rc, HP_E_DATA, "Content-Length over max_body: HP_E_DATA");
	ok(has(e.msg, "/api/v0/thing'") && has(e.msg, "limit"), "... the message names the endpoint (%s)", e.msg);
	ok(!has(e.msg, "secret"), "... but not the query");
	hp_http_response_release(&resp);

	req.max_body = 100000;
	int64_t t0 = hp_http_now_ms();
	rc = get("endless", &req, &resp, &e);
	is_int(rc, HP_E_DATA, "an endless body stops at max_body: HP_E_DATA (%s)", e.msg);
	ok(resp.body.len <= 100000, "... no more than max_body kept (%zu)", resp.body.len);
	ok(hp_http_now_ms() - t0 < 5000, "... quickly");
	hp_http_response_release(&resp);

	/* streamed */
	memset(&req, 0, sizeof req);
	sink s = { 0, 0, 0 };
	mode = "big";
	set_url("/big");
	req.url = url;
	rc = hp_http_do(&req, to_sink, &s, &resp, &e);
	is_int(rc, HP_OK, "streamed: ok (%s)", e.msg);
	is_int(s.n, 1000000, "streamed: every byte to the callback");
	is_int(resp.body.len, 0, "streamed: nothing collected");
	hp_http_response_release(&resp);
	sink s2 = { 0, 0, 2 };
	rc = hp_http_do(&req, to_sink, &s2, &resp, &e);
	is_int(rc, HP_E_INVALID, "streamed: the callback's error stops the transfer");
	ok(has(e.msg, "block 3 does not match") && has(e.msg, "/big"), "... with its message and the endpoint (%s)", e.msg);
	hp_http_response_release(&resp);
	/* a 500's body never reaches the callback */
	sink s3 = { 0, 0, 0 };
	mode = "500";
	rc = hp_http_do(&req, to_sink, &s3, &resp, &e);
	ok(rc == HP_OK && resp.status == 500 && s3.n == 0 && has(resp.body.data, "it broke"),
	   "streamed: an error status's body is collected, not streamed");
	hp_http_response_release(&resp);

	memset(&req, 0, sizeof req);
	rc = get("headers", &req, &resp, &e);
	is_int(rc, HP_E_DATA, "endless headers: HP_E_DATA (%s)", e.msg);
	hp_http_response_release(&resp);
}

static void test_failures(void)
{
	hp_http_request req = { 0 };
	hp_http_response resp;
	hp_err e = HP_ERR_INIT;
	hp_code rc;

	int p = free_port();
	char u[100];
	snprintf(u, sizeof u, "http://127.0.0.1:%d/api/v0/id", p);
	req.url = u;
	rc = hp_http_do(&req, NULL, NULL, &resp, &e);
	is_int(rc, HP_E_UNAVAILABLE, "connection refused: HP_E_UNAVAILABLE");
	ok(has(e.msg, u) && has(e.msg, "cannot connect"), "... naming the endpoint (%s)", e.msg);
	is_int(resp.status, 0, "... no status");
	hp_http_response_release(&resp);

	memset(&req, 0, sizeof req);
	req.timeout_ms = 1500;
	int64_t t0 = hp_http_now_ms();
	rc = get("hang", &req, &resp, &e);
	int64_t took = hp_http_now_ms() - t0;
	is_int(rc, HP_E_TEMPFAIL, "a server that never answers: HP_E_TEMPFAIL (%s)", e.msg);
	ok(took >= 1400 && took < 4000, "... after the total timeout (%lld ms)", (long long)took);
	hp_http_response_release(&resp);

	memset(&req, 0, sizeof req);
	req.stall_timeout_ms = 1000;
	t0 = hp_http_now_ms();
	rc = get("hang", &req, &resp, &e);
	took = hp_http_now_ms() - t0;
	is_int(rc, HP_E_TEMPFAIL, "stalled: HP_E_TEMPFAIL (%s)", e.msg);
	ok(has(e.msg, "timed out: no answer for 1 s"), "... says which wait");
	ok(took >= 900 && took < 4000, "... after the stall timeout (%lld ms)", (long long)took);
	hp_http_response_release(&resp);

	/* without min_rate a drip keeps the stall timer happy; the total timeout ends it */
	memset(&req, 0, sizeof req);
	req.stall_timeout_ms = 2000;
	req.timeout_ms = 2500;
	t0 = hp_http_now_ms();
	rc = get("drip", &req, &resp, &e);
	took = hp_http_now_ms() - t0;
	is_int(rc, HP_E_TEMPFAIL, "slow drip: HP_E_TEMPFAIL at the total timeout (%s)", e.msg);
	ok(took >= 2400 && took < 5000, "... (%lld ms)", (long long)took);
	hp_http_response_release(&resp);

	/* with min_rate, a drip is a stall: no total needed */
	memset(&req, 0, sizeof req);
	req.stall_timeout_ms = 1500;
	req.min_rate = HP_HTTP_MIN_RATE;
	t0 = hp_http_now_ms();
	rc = get("drip", &req, &resp, &e);
	took = hp_http_now_ms() - t0;
	is_int(rc, HP_E_TEMPFAIL, "a drip below min_rate: HP_E_TEMPFAIL (%s)", e.msg);
	ok(has(e.msg, "timed out: less than 1024 bytes/s for 1.5 s"), "... says so");
	ok(took >= 1400 && took < 3500, "... within the stall timeout and a second (%lld ms)", (long long)took);
	hp_http_response_release(&resp);

	/* hp_http_set_limits: waits of wait_ms, no total without a deadline */
	memset(&req, 0, sizeof req);
	req.url = u;
	is_int(hp_http_set_limits(&req, 1500, 0, &e), HP_OK, "set_limits without a deadline");
	ok(req.stall_timeout_ms == 1500 && req.connect_timeout_ms == 1500 && req.timeout_ms == 0,
	   "... each wait 1.5 s, no total");
	is_int(hp_http_set_limits(&req, 5000, hp_http_now_ms() + 1000, &e), HP_OK, "set_limits with a deadline");
	ok(req.stall_timeout_ms <= 1000 && req.timeout_ms <= 1000 && req.timeout_ms > 900,
	   "... the waits shrink to the time left");
	is_int(hp_http_set_limits(&req, 5000, hp_http_now_ms() - 1, &e), HP_E_TEMPFAIL, "... none left: HP_E_TEMPFAIL");

	memset(&req, 0, sizeof req);
	rc = get("garbage", &req, &resp, &e);
	is_int(rc, HP_E_UNAVAILABLE, "not HTTP: HP_E_UNAVAILABLE (%s)", e.msg);
	hp_http_response_release(&resp);
	rc = get("close", &req, &resp, &e);
	is_int(rc, HP_E_UNAVAILABLE, "closed without answering: HP_E_UNAVAILABLE (%s)", e.msg);
	hp_http_response_release(&resp);

	/* statuses: seen by the caller, or errors on request */
	rc = get("500", &req, &resp, &e);
	ok(rc == HP_OK && resp.status == 500, "500 without fail_on_http_error: HP_OK, status 500");
	hp_http_response_release(&resp);
	req.fail_on_http_error = true;
	rc = get("500", &req, &resp, &e);
	is_int(rc, HP_E_UNAVAILABLE, "500: HP_E_UNAVAILABLE");
	ok(has(e.msg, "HTTP 500 Internal Server Error: it broke\\x0a\\x01x"), "... with the body, quoted (%s)", e.msg);
	hp_http_response_release(&resp);
	rc = get("429", &req, &resp, &e);
	is_int(rc, HP_E_TEMPFAIL, "429: HP_E_TEMPFAIL");
	is_int(resp.retry_after, 7, "429: Retry-After kept");
	hp_http_response_release(&resp);
	rc = get("401", &req, &resp, &e);
	is_int(rc, HP_E_PERM, "401: HP_E_PERM (%s)", e.msg);
	hp_http_response_release(&resp);
	rc = get("404", &req, &resp, &e);
	is_int(rc, HP_E_DATA, "404: HP_E_DATA");
	hp_http_response_release(&resp);
	rc = get("redirect", &req, &resp, &e);
	ok(rc == HP_E_DATA && resp.status == 302, "a redirect is not followed by default");
	hp_http_response_release(&resp);
	req.max_redirects = 2;
	rc = get("redirect", &req, &resp, &e);
	ok(rc == HP_OK && resp.status == 200 && strcmp(resp.body.data, "hello") == 0, "... and followed on request");
	hp_http_response_release(&resp);

	memset(&req, 0, sizeof req);
	rc = get("trailer", &req, &resp, &e);
	is_int(rc, HP_OK, "chunked with a trailer: ok");
	is_str(resp.body.data, "{\"a\":1}\n", "... the body");
	is_str(resp.stream_error, "context canceled", "... X-Stream-Error from the trailer");
	hp_http_response_release(&resp);
}

static void test_helpers(void)
{
	char o[256];
	hp_http_redact("http://user:pw@127.0.0.1:5001/api/v0/pin/add?arg=x#f", o, sizeof o);
	is_str(o, "http://127.0.0.1:5001/api/v0/pin/add", "redact: no credentials, query or fragment");
	hp_http_redact("https://a@b@host/p", o, sizeof o);
	is_str(o, "https://host/p", "redact: the last '@' ends the user part");
	hp_http_redact("http://h/a\nb", o, sizeof o);
	is_str(o, "http://h/a?b", "redact: control characters replaced");
	hp_http_redact("http://example.com/path", o, 10);
	is_str(o, "http://ex", "redact: cut to the buffer");

	hp_buf b = HP_BUF_INIT;
	hp_err e = HP_ERR_INIT;
	ok(hp_http_base_url("http://127.0.0.1:5001/", &b, &e) == HP_OK && strcmp(b.data, "http://127.0.0.1:5001") == 0,
	   "base URL: trailing '/' dropped");
	ok(hp_http_base_url("https://api.pinata.cloud/psa", &b, &e) == HP_OK && strcmp(b.data, "https://api.pinata.cloud/psa") == 0,
	   "base URL: a path kept");
	ok(hp_http_base_url("/ip4/127.0.0.1/tcp/5001", &b, &e) == HP_OK && strcmp(b.data, "http://127.0.0.1:5001") == 0,
	   "base URL: an /ip4 multiaddr");
	ok(hp_http_base_url("/ip6/::1/tcp/9094", &b, &e) == HP_OK && strcmp(b.data, "http://[::1]:9094") == 0,
	   "base URL: an /ip6 multiaddr");
	ok(hp_http_base_url("/dns/node.example/tcp/443/https", &b, &e) == HP_OK &&
	   strcmp(b.data, "https://node.example:443") == 0, "base URL: /dns with /https");
	is_int(hp_http_base_url("/ip4/127.0.0.1/udp/5001", &b, &e), HP_E_USAGE, "base URL: udp refused");
	is_int(hp_http_base_url("/ip4/127.0.0.1/tcp/99999", &b, &e), HP_E_USAGE, "base URL: bad port refused");
	is_int(hp_http_base_url("ftp://x", &b, &e), HP_E_USAGE, "base URL: ftp refused");
	is_int(hp_http_base_url("http://", &b, &e), HP_E_USAGE, "base URL: no host refused");
	is_int(hp_http_base_url("http://h/?a=1", &b, &e), HP_E_USAGE, "base URL: query refused");
	is_int(hp_http_base_url("http://h/a b", &b, &e), HP_E_USAGE, "base URL: space refused");
	hp_buf_reset(&b);
	ok(hp_http_add_escaped(&b, "a b/c+d~é", &e) == HP_OK && strcmp(b.data, "a%20b%2Fc%2Bd~%C3%A9") == 0,
	   "escape: %s", b.data);
	hp_buf_release(&b);

	is_int(hp_http_status_code(200), HP_OK, "status 200");
	is_int(hp_http_status_code(204), HP_OK, "status 204");
	is_int(hp_http_status_code(503), HP_E_TEMPFAIL, "status 503");
	is_int(hp_http_status_code(504), HP_E_TEMPFAIL, "status 504");
	is_int(hp_http_status_code(502), HP_E_UNAVAILABLE, "status 502");
	is_int(hp_http_status_code(403), HP_E_PERM, "status 403");
	is_int(hp_http_status_code(400), HP_E_DATA, "status 400");
	is_int(hp_http_status_code(301), HP_E_DATA, "status 301");
	hp_http_fail_status("http://u:p@h:1/pins?x=y", 401, "bad token", &e);
	is_str(e.msg, "'http://h:1/pins': HTTP 401 Unauthorized: bad token", "fail_status message");
}

int main(void)
{
	start_server();
	pthread_t th;
	pthread_create(&th, NULL, server_main, NULL);
	test_helpers();
	test_basic();
	test_multipart();
	test_bounds();
	test_failures();
	stop_server = 1;
	pthread_join(th, NULL);
	close(listen_fd);
	hp_http_cleanup();
	return done();
}
