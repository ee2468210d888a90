/* hp_gitnet: every network wait of libgit2 bounded (used by hp_git only).
 *
 * libgit2 1.5 has no network timeout (GIT_OPT_SET_SERVER_TIMEOUT came in
 * 1.7): a server that accepts a connection and never answers hangs a fetch
 * or a push for ever. hp_gitnet registers libgit2's standard socket stream
 * (git_stream_register, GIT_STREAM_STANDARD), which every transport opens
 * through git_socket_stream_new: plain HTTP, HTTPS (libgit2's TLS stream,
 * mbedTLS on Debian, reads and writes through it) and SSH. Its connect, read
 * and write wait with poll() for at most the operation's timeout:
 *
 *   connect            the connection accepted within the timeout;
 *   read               some bytes within the timeout ("no answer" when
 *                      nothing came since the last write, else "no new
 *                      data");
 *   write              the server takes some bytes within the timeout.
 *
 * SSH: libssh2 reads and writes the socket itself (libgit2's SSH transport
 * takes the socket out of the stream as a git_socket_stream, whose layout
 * this stream keeps), so no read of ours sees its waits. For an operation
 * begun with watch_socket, a watchdog thread reads the kernel's byte
 * counters of that socket (TCP_INFO: bytes received, bytes acknowledged)
 * every 100 ms, and when neither moved for the timeout it shuts the socket
 * down, which ends libssh2's wait with an error.
 *
 * The timeout is per wait, never a total: a server that keeps sending
 * keeps the operation going. Name resolution (getaddrinfo) is the system
 * resolver's and is not bounded here. */
#ifndef HP_GITNET_H
#define HP_GITNET_H

#include <stdbool.h>
#include <stddef.h>

#include "hp_err.h"

/* Register the stream with libgit2 (after git_libgit2_init). Once per
 * process; later calls return the first result. */
hp_code hp_gitnet_install(hp_err *e);

typedef struct hp_gitnet_op hp_gitnet_op;

/* Begin a network operation on this thread: the streams libgit2 opens on
 * it until hp_gitnet_end wait at most timeout_ms (<= 0: no limit). what
 * names the step in messages ("registry: fetch from"); watch_socket starts
 * the watchdog (SSH). NULL when out of memory or no thread could start
 * (e is set). */
hp_gitnet_op *hp_gitnet_begin(const char *what, long timeout_ms, bool watch_socket, hp_err *e);

/* The "host:port" of the last stream the operation opened, or NULL. */
const char *hp_gitnet_where(const hp_gitnet_op *op);

/* Did a wait of the operation run out? Then its message, one line:
 * "registry: fetch from 127.0.0.1:4242: no answer for 3 s". */
const char *hp_gitnet_timed_out(hp_gitnet_op *op);

/* End the operation (after every stream it opened is freed: after
 * git_remote_free) and free it. */
void hp_gitnet_end(hp_gitnet_op *op);

#endif
