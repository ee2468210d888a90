/* hp_httpd: a small HTTP server for /metrics (see hp_httpd.h). */
#include "hp_httpd.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "hp_time.h"
#include "banned.h"

/* ---- the request head ---- */

hp_code hp_httpd_parse(const char *data, size_t len, hp_httpd_request *out, hp_err *e)
{
	memset(out, 0, sizeof *out);
	/* the head ends at an empty line (CRLF CRLF; a bare LF is taken too) */
	size_t end = 0;
	for (size_t i = 0; i < len && !end; i++)
		if (data[i] == '\n' && ((i >= 1 && data[i - 1] == '\n') || (i >= 3 && data[i - 1] == '\r' &&
										 data[i - 2] == '\n' && data[i - 3] == '\r')))
			end = i + 1;
	if (!end)
		return len >= HP_HTTPD_MAX_REQUEST
			       ? hp_fail(e, HP_E_DATA, "request head over %u bytes", HP_HTTPD_MAX_REQUEST)
			       : hp_fail(e, HP_E_TEMPFAIL, "request head not complete");
	const char *p = data, *lim = data + end;
	size_t n = 0;
	while (p < lim && *p >= 'A' && *p <= 'Z' && n < sizeof out->method - 1)
		out->method[n++] = *p++;
	if (!n || p >= lim || *p != ' ')
		return hp_fail(e, HP_E_DATA, "bad request line: no method");
	p++;
	if (p >= lim || *p != '/')
		return hp_fail(e, HP_E_DATA, "bad request line: the target is not a path");
	n = 0;
	bool query = false;
	while (p < lim && *p > 0x20 && *p < 0x7f) {
		if (*p == '?')
			query = true;
		if (!query) {
			if (n == sizeof out->path - 1)
				return hp_fail(e, HP_E_DATA, "bad request line: the path is over %zu bytes",
					       sizeof out->path - 1);
			out->path[n++] = *p;
		}
		p++;
	}
	static const char v[] = " HTTP/1.";
	if ((size_t)(lim - p) < sizeof v || memcmp(p, v, sizeof v - 1) != 0 || (p[sizeof v - 1] != '0' &&
										  p[sizeof v - 1] != '1'))
		return hp_fail(e, HP_E_DATA, "bad request line: not HTTP/1.0 or HTTP/1.1");
	out->minor = p[sizeof v - 1] - '0';
	p += sizeof v;
	if (p < lim && *p == '\r')
		p++;
	if (p >= lim || *p != '\n')
		return hp_fail(e, HP_E_DATA, "bad request line: junk after the version");
	p++;
	/* header lines: "name: value", no control characters but tab */
	while (p < lim && *p != '\r' && *p != '\n') {
		size_t at = (size_t)(p - data), rest = end - at, k = 0;
		while (k < rest && p[k] != '\n')
			k++;
		size_t line = k && p[k - 1] == '\r' ? k - 1 : k;
		const char *colon = memchr(p, ':', line);
		if (k == rest || !colon || colon == p)
			return hp_fail(e, HP_E_DATA, "bad header line");
		for (size_t q = 0; q < line; q++)
			if (((unsigned char)p[q] < 0x20 && p[q] != '\t') || p[q] == 0x7f)
				return hp_fail(e, HP_E_DATA, "bad header line: a control character");
		p += k + 1;
	}
	return HP_OK;
}

/* ---- the server ---- */

struct hp_httpd {
	int fd;
	int stop[2];   /* a pipe: written to stop the thread */
	int port;
	pthread_t tid;
	hp_httpd_handler *h;
	void *ud;
};

static const char *reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 400: return "Bad Request";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 431: return "Request Header Fields Too Large";
	default: return "Internal Server Error";
	}
}

static void send_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t k = send(fd, p, n, MSG_NOSIGNAL);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return;
		p += k;
		n -= (size_t)k;
	}
}

static void answer(int fd, int status, const char *type, const hp_buf *body, bool head)
{
	char h[256];
	int n = snprintf(h, sizeof h,
			 "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\nConnection: close\r\n"
			 "Cache-Control: no-store\r\n\r\n",
			 status, reason(status), type, body->len);
	if (n > 0 && (size_t)n < sizeof h)
		send_all(fd, h, (size_t)n);
	if (!head)
		send_all(fd, body->data, body->len);
}

/* One connection: the head within HP_HTTPD_IO_MS, then the answer. */
static void serve(hp_httpd *s, int fd)
{
	struct timeval tv = { HP_HTTPD_IO_MS / 1000, (HP_HTTPD_IO_MS % 1000) * 1000 };
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	char buf[HP_HTTPD_MAX_REQUEST];
	size_t len = 0;
	int64_t until = hp_time_mono_ms() + HP_HTTPD_IO_MS;
	hp_httpd_request rq;
	hp_err e = HP_ERR_INIT;
	hp_code rc = HP_E_TEMPFAIL;
	hp_buf body = HP_BUF_INIT;
	int status = 400;
	const char *type = "text/plain; charset=utf-8";
	while (rc == HP_E_TEMPFAIL && len < sizeof buf && hp_time_mono_ms() < until) {
		ssize_t k = recv(fd, buf + len, sizeof buf - len, 0);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			break;
		len += (size_t)k;
		rc = hp_httpd_parse(buf, len, &rq, &e);
	}
	if (rc == HP_E_TEMPFAIL) {
		status = len >= sizeof buf ? 431 : 408;
		if (len == 0) {
			close(fd);  /* nothing asked: nothing to answer */
			return;
		}
	} else if (rc) {
		status = 400;
	} else if (strcmp(rq.method, "GET") != 0 && strcmp(rq.method, "HEAD") != 0) {
		status = 405;
	} else {
		const char *t = NULL;
		status = s->h(s->ud, rq.path, &body, &t);
		if (t)
			type = t;
	}
	if (status != 200 && !body.len)
		hp_buf_addf(&body, NULL, "%d %s\n", status, reason(status));
	answer(fd, status, type, &body, !rc && strcmp(rq.method, "HEAD") == 0);
	hp_buf_release(&body);
	shutdown(fd, SHUT_WR);
	close(fd);
}

static void *server_main(void *arg)
{
	hp_httpd *s = arg;
	for (;;) {
		struct pollfd pf[2] = { { s->fd, POLLIN, 0 }, { s->stop[0], POLLIN, 0 } };
		int k = poll(pf, 2, -1);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0 || pf[1].revents)
			return NULL;
		if (!(pf[0].revents & POLLIN))
			continue;
		int c = accept4(s->fd, NULL, NULL, SOCK_CLOEXEC);
		if (c >= 0)
			serve(s, c);
	}
}

/* HOST:PORT, [V6]:PORT, :PORT into host (NULL: every address) and port. */
static hp_code split_addr(const char *addr, char *host, size_t hostsz, char *port, size_t portsz, hp_err *e)
{
	const char *colon = strrchr(addr, ':');
	if (!colon || !colon[1] || strlen(colon + 1) >= portsz || strspn(colon + 1, "0123456789") != strlen(colon + 1) ||
	    atol(colon + 1) > 65535)
		return hp_fail(e, HP_E_USAGE, "'%s' is not HOST:PORT (a port from 0 to 65535)", addr);
	snprintf(port, portsz, "%s", colon + 1);
	const char *h = addr;
	size_t hl = (size_t)(colon - addr);
	if (hl >= 2 && h[0] == '[' && h[hl - 1] == ']') {
		h++;
		hl -= 2;
	}
	if (hl >= hostsz)
		return hp_fail(e, HP_E_USAGE, "'%s': the host is too long", addr);
	memcpy(host, h, hl);
	host[hl] = '\0';
	return HP_OK;
}

hp_code hp_httpd_start(const char *addr, hp_httpd_handler *h, void *ud, hp_httpd **out, hp_err *e)
{
	char host[256], port[8];
	*out = NULL;
	hp_code rc = split_addr(addr, host, sizeof host, port, sizeof port, e);
	if (rc)
		return rc;
	struct addrinfo hints = { 0 }, *res = NULL;
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	int g = getaddrinfo(*host ? host : NULL, port, &hints, &res);
	if (g)
		return hp_fail(e, HP_E_USAGE, "cannot listen on '%s': %s", addr, gai_strerror(g));
	hp_httpd *s = calloc(1, sizeof *s);
	if (!s) {
		freeaddrinfo(res);
		return hp_fail_nomem(e);
	}
	s->fd = -1;
	s->stop[0] = s->stop[1] = -1;
	s->h = h;
	s->ud = ud;
	int err = 0;
	for (struct addrinfo *ai = res; ai && s->fd < 0; ai = ai->ai_next) {
		int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
		int one = 1;
		if (fd >= 0)
			setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
		if (fd >= 0 && bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, 16) == 0) {
			s->fd = fd;
			struct sockaddr_storage ss;
			socklen_t sl = sizeof ss;
			if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0)
				s->port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
									 : ((struct sockaddr_in *)&ss)->sin_port);
		} else {
			err = errno;
			if (fd >= 0)
				close(fd);
		}
	}
	freeaddrinfo(res);
	if (s->fd < 0) {
		free(s);
		return hp_fail_errno(e, HP_E_UNAVAILABLE, err, "cannot listen on '%s'", addr);
	}
	if (pipe2(s->stop, O_CLOEXEC) || pthread_create(&s->tid, NULL, server_main, s)) {
		err = errno;
		close(s->fd);
		if (s->stop[0] >= 0) {
			close(s->stop[0]);
			close(s->stop[1]);
		}
		free(s);
		return hp_fail_errno(e, HP_E_UNAVAILABLE, err, "cannot serve on '%s'", addr);
	}
	*out = s;
	return HP_OK;
}

int hp_httpd_port(const hp_httpd *s)
{
	return s->port;
}

void hp_httpd_stop(hp_httpd *s)
{
	if (!s)
		return;
	ssize_t w;
	do
		w = write(s->stop[1], "x", 1);
	while (w < 0 && errno == EINTR);
	pthread_join(s->tid, NULL);
	close(s->fd);
	close(s->stop[0]);
	close(s->stop[1]);
	free(s);
}
