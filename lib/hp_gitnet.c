/* hp_gitnet: libgit2's socket stream with bounded waits (see hp_gitnet.h). */
#include "hp_gitnet.h"

#include <errno.h>
#include <git2.h>
#include <git2/sys/stream.h>
#include <linux/tcp.h> /* struct tcp_info with the byte counters (glibc's lacks them) */
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "banned.h"

#define WHERE_MAX 300
#define MSG_MAX 400
#define WATCH_EVERY_MS 100

struct hp_gitnet_op {
	char what[64];
	long timeout_ms;
	char where[WHERE_MAX];       /* the last stream's host:port */
	pthread_mutex_t mu;          /* guards what follows */
	pthread_cond_t cv;
	pthread_t thread;
	bool thread_on, stopping;
	int fd;                      /* the socket the watchdog watches, or -1 */
	char fd_where[WHERE_MAX];
	uint64_t rx, tx;             /* its counters when they last moved */
	long last_ms;                /* and when */
	bool timed_out;
	char msg[MSG_MAX];
};

/* The operation begun on this thread (libgit2 runs a fetch or a push on
 * the caller's thread and opens its streams there). */
static _Thread_local hp_gitnet_op *current;

typedef struct net_stream {
	/* libgit2 1.5's SSH transport takes the socket out of the stream that
	 * git_socket_stream_new gave it by casting it to its own
	 * git_socket_stream (src/libgit2/streams/socket.h, _git_ssh_session_create):
	 * these four members are that struct's, in its order. */
	git_stream parent;
	char *host;
	char *port;
	int s;
	/* ours */
	hp_gitnet_op *op;
	char where[WHERE_MAX];
	size_t read_since_write;     /* bytes received since the last write */
} net_stream;

static long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void format_secs(long ms, char *out, size_t size)
{
	if (ms % 1000 == 0)
		snprintf(out, size, "%ld", ms / 1000);
	else
		snprintf(out, size, "%.1f", (double)ms / 1000);
}

/* Record the operation's first timeout (op->mu held). */
static void note_timeout(hp_gitnet_op *op, const char *where, const char *why)
{
	if (op->timed_out)
		return;
	char secs[32];
	format_secs(op->timeout_ms, secs, sizeof secs);
	snprintf(op->msg, sizeof op->msg, "%s %s: %s for %s s", op->what, where, why, secs);
	op->timed_out = true;
}

/* A wait of the stream ran out: the operation's message, as libgit2's error. */
static int timed_out(net_stream *st, const char *why)
{
	hp_gitnet_op *op = st->op;
	pthread_mutex_lock(&op->mu);
	note_timeout(op, st->where, why);
	git_error_set_str(GIT_ERROR_NET, op->msg);
	pthread_mutex_unlock(&op->mu);
	return -1;
}

static long deadline_of(const net_stream *st)
{
	return st->op && st->op->timeout_ms > 0 ? now_ms() + st->op->timeout_ms : -1;
}

/* Wait for events on fd until deadline (-1: for ever): 1 ready, 0 ran out,
 * -1 error (errno). */
static int wait_fd(int fd, short events, long deadline)
{
	for (;;) {
		int ms = -1;
		if (deadline >= 0) {
			long left = deadline - now_ms();
			ms = left > 0 ? (int)(left > INT32_MAX ? INT32_MAX : left) : 0;
		}
		struct pollfd p = { fd, events, 0 };
		int n = poll(&p, 1, ms);
		if (n > 0)
			return 1;
		if (n == 0)
			return 0;
		if (errno != EINTR)
			return -1;
	}
}

/* The socket of an SSH operation goes to the watchdog. */
static void watch(net_stream *st)
{
	hp_gitnet_op *op = st->op;
	if (!op || !op->thread_on)
		return;
	pthread_mutex_lock(&op->mu);
	if (op->fd < 0) {
		op->fd = st->s;
		snprintf(op->fd_where, sizeof op->fd_where, "%s", st->where);
		op->rx = op->tx = 0;
		op->last_ms = now_ms();
	}
	pthread_mutex_unlock(&op->mu);
}

static void unwatch(net_stream *st)
{
	hp_gitnet_op *op = st->op;
	if (!op || !op->thread_on)
		return;
	pthread_mutex_lock(&op->mu);
	if (op->fd == st->s)
		op->fd = -1;
	pthread_mutex_unlock(&op->mu);
}

static int st_connect(git_stream *gs)
{
	net_stream *st = (net_stream *)gs;
	struct addrinfo hints, *info = NULL;
	memset(&hints, 0, sizeof hints);
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_family = AF_UNSPEC;
	int rc = getaddrinfo(st->host, st->port, &hints, &info);
	if (rc) {
		git_error_set(GIT_ERROR_NET, "cannot resolve '%s': %s", st->host, gai_strerror(rc));
		return -1;
	}
	/* one deadline for every address of the host */
	long deadline = deadline_of(st);
	int err = 0;
	bool ran_out = false;
	for (const struct addrinfo *p = info; p && st->s < 0 && !ran_out; p = p->ai_next) {
		int s = socket(p->ai_family, p->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, p->ai_protocol);
		if (s < 0) {
			err = errno;
			continue;
		}
		if (connect(s, p->ai_addr, p->ai_addrlen) == 0) {
			st->s = s;
			break;
		}
		err = errno;
		if (err == EINPROGRESS || err == EINTR) {
			int w = wait_fd(s, POLLOUT, deadline);
			socklen_t len = sizeof err;
			if (w == 0)
				ran_out = true;
			else if (w < 0)
				err = errno;
			else if (getsockopt(s, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
				err = errno;
			else if (err == 0) {
				st->s = s;
				break;
			}
		}
		close(s);
	}
	freeaddrinfo(info);
	if (st->s >= 0) {
		watch(st);
		return 0;
	}
	if (ran_out)
		return timed_out(st, "no answer to the connection");
	git_error_set(GIT_ERROR_NET, "cannot connect: %s", strerror(err ? err : ECONNREFUSED));
	return -1;
}

static ssize_t st_read(git_stream *gs, void *buf, size_t len)
{
	net_stream *st = (net_stream *)gs;
	long deadline = deadline_of(st);
	for (;;) {
		ssize_t n = recv(st->s, buf, len, 0);
		if (n >= 0) {
			st->read_since_write += (size_t)n;
			return n;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK) {
			git_error_set(GIT_ERROR_NET, "cannot read: %s", strerror(errno));
			return -1;
		}
		int w = wait_fd(st->s, POLLIN, deadline);
		if (w == 0)
			return timed_out(st, st->read_since_write ? "no new data" : "no answer");
		if (w < 0) {
			git_error_set(GIT_ERROR_NET, "cannot read: %s", strerror(errno));
			return -1;
		}
	}
}

static ssize_t st_write(git_stream *gs, const char *data, size_t len, int flags)
{
	net_stream *st = (net_stream *)gs;
	long deadline = deadline_of(st);
	for (;;) {
		/* MSG_NOSIGNAL: a server gone is an error, never a SIGPIPE */
		ssize_t n = send(st->s, data, len, flags | MSG_NOSIGNAL);
		if (n >= 0) {
			st->read_since_write = 0;
			return n;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK) {
			git_error_set(GIT_ERROR_NET, "cannot send: %s", strerror(errno));
			return -1;
		}
		int w = wait_fd(st->s, POLLOUT, deadline);
		if (w == 0)
			return timed_out(st, "no data taken");
		if (w < 0) {
			git_error_set(GIT_ERROR_NET, "cannot send: %s", strerror(errno));
			return -1;
		}
	}
}

static int st_close(git_stream *gs)
{
	net_stream *st = (net_stream *)gs;
	if (st->s < 0)
		return 0;
	unwatch(st);
	int rc = close(st->s);
	st->s = -1;
	return rc;
}

static void st_free(git_stream *gs)
{
	net_stream *st = (net_stream *)gs;
	if (st->s >= 0)
		st_close(gs);
	free(st->host);
	free(st->port);
	free(st);
}

static int st_new(git_stream **out, const char *host, const char *port)
{
	*out = NULL;
	net_stream *st = calloc(1, sizeof *st);
	if (!st || !(st->host = strdup(host)) || !(st->port = strdup(port ? port : ""))) {
		if (st)
			free(st->host);
		free(st);
		git_error_set_oom();
		return -1;
	}
	st->parent.version = GIT_STREAM_VERSION;
	st->parent.connect = st_connect;
	st->parent.read = st_read;
	st->parent.write = st_write;
	st->parent.close = st_close;
	st->parent.free = st_free;
	st->s = -1;
	st->op = current;
	snprintf(st->where, sizeof st->where, strchr(host, ':') ? "[%s]:%s" : "%s:%s", host, st->port);
	if (st->op)
		snprintf(st->op->where, sizeof st->op->where, "%s", st->where);
	*out = &st->parent;
	return 0;
}

static pthread_once_t install_once = PTHREAD_ONCE_INIT;
static int install_rc;
static char install_msg[200];

static void install(void)
{
	static git_stream_registration reg = { GIT_STREAM_VERSION, st_new, NULL };
	install_rc = git_stream_register(GIT_STREAM_STANDARD, &reg);
	if (install_rc < 0) {
		const git_error *ge = git_error_last();
		snprintf(install_msg, sizeof install_msg, "%s", ge && ge->message ? ge->message : "unknown error");
	}
}

hp_code hp_gitnet_install(hp_err *e)
{
	pthread_once(&install_once, install);
	if (install_rc < 0)
		return hp_fail(e, HP_E_INTERNAL, "cannot register libgit2's socket stream: %s", install_msg);
	return HP_OK;
}

/* The watchdog of an SSH operation: shuts its socket down when the kernel
 * counted no byte received or acknowledged for the timeout. */
static void *watchdog(void *arg)
{
	hp_gitnet_op *op = arg;
	pthread_mutex_lock(&op->mu);
	while (!op->stopping) {
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_nsec += WATCH_EVERY_MS * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&op->cv, &op->mu, &ts);
		if (op->stopping || op->fd < 0 || op->timed_out)
			continue;
		struct tcp_info ti;
		socklen_t n = sizeof ti;
		memset(&ti, 0, sizeof ti);
		uint64_t rx = 0, tx = 0;
		if (getsockopt(op->fd, IPPROTO_TCP, TCP_INFO, &ti, &n) == 0 &&
		    n >= offsetof(struct tcp_info, tcpi_bytes_received) + sizeof ti.tcpi_bytes_received) {
			rx = ti.tcpi_bytes_received;
			tx = ti.tcpi_bytes_acked;
		}
		long now = now_ms();
		if (rx != op->rx || tx != op->tx) {
			op->rx = rx;
			op->tx = tx;
			op->last_ms = now;
		} else if (now - op->last_ms >= op->timeout_ms) {
			note_timeout(op, op->fd_where, rx ? "no new data" : "no answer");
			/* libssh2's poll() sees the end of the stream: its wait ends
			 * with an error. The descriptor stays open (the stream
			 * closes it, after unwatch under this lock). */
			shutdown(op->fd, SHUT_RDWR);
		}
	}
	pthread_mutex_unlock(&op->mu);
	return NULL;
}

hp_gitnet_op *hp_gitnet_begin(const char *what, long timeout_ms, bool watch_socket, hp_err *e)
{
	hp_gitnet_op *op = calloc(1, sizeof *op);
	if (!op) {
		hp_fail_nomem(e);
		return NULL;
	}
	snprintf(op->what, sizeof op->what, "%s", what);
	op->timeout_ms = timeout_ms > 0 ? timeout_ms : 0;
	op->fd = -1;
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_mutex_init(&op->mu, NULL);
	pthread_cond_init(&op->cv, &ca);
	pthread_condattr_destroy(&ca);
	if (watch_socket && op->timeout_ms > 0) {
		int err = pthread_create(&op->thread, NULL, watchdog, op);
		if (err) {
			hp_fail_errno(e, HP_E_INTERNAL, err, "cannot start the network watchdog");
			pthread_cond_destroy(&op->cv);
			pthread_mutex_destroy(&op->mu);
			free(op);
			return NULL;
		}
		op->thread_on = true;
	}
	current = op;
	return op;
}

const char *hp_gitnet_where(const hp_gitnet_op *op)
{
	return op && op->where[0] ? op->where : NULL;
}

const char *hp_gitnet_timed_out(hp_gitnet_op *op)
{
	if (!op)
		return NULL;
	pthread_mutex_lock(&op->mu);
	bool t = op->timed_out;
	pthread_mutex_unlock(&op->mu);
	return t ? op->msg : NULL;
}

void hp_gitnet_end(hp_gitnet_op *op)
{
	if (!op)
		return;
	if (current == op)
		current = NULL;
	if (op->thread_on) {
		pthread_mutex_lock(&op->mu);
		op->stopping = true;
		pthread_cond_signal(&op->cv);
		pthread_mutex_unlock(&op->mu);
		pthread_join(op->thread, NULL);
	}
	pthread_cond_destroy(&op->cv);
	pthread_mutex_destroy(&op->mu);
	free(op);
}
