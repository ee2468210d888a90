/* hp_metrics' text exposition (exact bytes: help and label escaping,
 * counters, gauges, histograms with cumulative buckets, numbers) and
 * hp_httpd on 127.0.0.1: /metrics, HEAD, 404, 405, a bad request, a client
 * that sends nothing. `promtool check metrics` reads real output in
 * tests/cli/72-keeper.bats. */
#include <arpa/inet.h>
#include <math.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "hp_httpd.h"
#include "hp_metrics.h"
#include "tap.h"

#include "banned.h"

static void test_render(void)
{
	hp_metrics *m = hp_metrics_new();
	const char *const node[] = { "node", "state", NULL };
	hp_metric *pins = hp_metrics_gauge(m, "hp_keeper_pins", "CIDs by node and state", node);
	hp_metric *repins = hp_metrics_counter(m, "hp_keeper_repins_total", "re-pins done\nsince start \\ ok", NULL);
	double b[] = { 0.1, 1, 10 };
	hp_metric *dur = hp_metrics_histogram(m, "hp_keeper_check_duration_seconds", "how long a check took", NULL, b, 3);
	ok(pins && repins && dur, "three families");
	ok(!hp_metrics_gauge(m, "hp_keeper_pins", "again", NULL), "a name used twice: refused");
	ok(!hp_metrics_gauge(m, "9bad", "x", NULL) && !hp_metrics_gauge(m, "a-b", "x", NULL), "bad names refused");
	const char *const bad_label[] = { "__x", NULL };
	ok(!hp_metrics_gauge(m, "ok_name", "x", bad_label), "a label name starting with __ refused");
	hp_metric_set(pins, (const char *const[]){ "http://127.0.0.1:5001", "pinned" }, 3);
	hp_metric_set(pins, (const char *const[]){ "a \"b\"\\c\nd", "error" }, 1);
	hp_metric_set(pins, (const char *const[]){ "http://127.0.0.1:5001", "pinned" }, 4);
	hp_metric_add(repins, NULL, 2);
	hp_metric_add(repins, NULL, -5);  /* a counter never goes down */
	hp_metric_add(repins, NULL, 0.5);
	hp_metric_observe(dur, NULL, 0.05);
	hp_metric_observe(dur, NULL, 0.1);
	hp_metric_observe(dur, NULL, 5);
	hp_metric_observe(dur, NULL, 100);
	hp_metric_set(NULL, NULL, 1);  /* a family that could not be made: nothing */
	hp_buf b1 = HP_BUF_INIT;
	hp_err e = HP_ERR_INIT;
	is_int(hp_metrics_render(m, &b1, &e), HP_OK, "rendered");
	is_str(b1.data,
	       "# HELP hp_keeper_pins CIDs by node and state\n"
	       "# TYPE hp_keeper_pins gauge\n"
	       "hp_keeper_pins{node=\"http://127.0.0.1:5001\",state=\"pinned\"} 4\n"
	       "hp_keeper_pins{node=\"a \\\"b\\\"\\\\c\\nd\",state=\"error\"} 1\n"
	       "# HELP hp_keeper_repins_total re-pins done\\nsince start \\\\ ok\n"
	       "# TYPE hp_keeper_repins_total counter\n"
	       "hp_keeper_repins_total 2.5\n"
	       "# HELP hp_keeper_check_duration_seconds how long a check took\n"
	       "# TYPE hp_keeper_check_duration_seconds histogram\n"
	       "hp_keeper_check_duration_seconds_bucket{le=\"0.1\"} 2\n"
	       "hp_keeper_check_duration_seconds_bucket{le=\"1\"} 2\n"
	       "hp_keeper_check_duration_seconds_bucket{le=\"10\"} 3\n"
	       "hp_keeper_check_duration_seconds_bucket{le=\"+Inf\"} 4\n"
	       "hp_keeper_check_duration_seconds_sum 105.15\n"
	       "hp_keeper_check_duration_seconds_count 4\n",
	       "the text exposition, byte for byte");
	hp_metric_clear(pins);
	hp_metric_set(hp_metrics_gauge(m, "hp_nan", "x", NULL), NULL, NAN);
	hp_buf_reset(&b1);
	hp_metrics_render(m, &b1, &e);
	ok(strstr(b1.data, "# TYPE hp_keeper_pins gauge\n# HELP") && strstr(b1.data, "hp_nan NaN\n"),
	   "a cleared family keeps its HELP and TYPE; NaN as Prometheus writes it");
	const char *const name[] = { "name", NULL };
	hp_metric *names = hp_metrics_gauge(m, "hp_names", "x", name);
	hp_metric_set(names, (const char *const[]){ "caf\xe9 \xc3\xa9 \xed\xa0\x80 \xe2\x82" }, 1);
	hp_buf_reset(&b1);
	hp_metrics_render(m, &b1, &e);
	ok(strstr(b1.data, "hp_names{name=\"caf\xef\xbf\xbd \xc3\xa9 \xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd "
			   "\xef\xbf\xbd\xef\xbf\xbd\"} 1\n") != NULL,
	   "a label value that is not UTF-8: each bad byte as U+FFFD, good UTF-8 kept");
	hp_buf_release(&b1);
	hp_metrics_free(m);
}

static int handler(void *ud, const char *path, hp_buf *body, const char **type)
{
	(void)ud;
	if (strcmp(path, "/metrics") != 0)
		return 404;
	hp_buf_adds(body, "up 1\n", NULL);
	*type = HP_METRICS_CONTENT_TYPE;
	return 200;
}

/* Send req to 127.0.0.1:port, return the whole answer. */
static char *ask(int port, const char *req)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { 0 };
	a.sin_family = AF_INET;
	a.sin_port = htons((uint16_t)port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) < 0) {
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	if (*req && send(fd, req, strlen(req), 0) < 0) {
		close(fd);
		return NULL;
	}
	shutdown(fd, SHUT_WR);
	hp_buf b = HP_BUF_INIT;
	char buf[4096];
	ssize_t k;
	while ((k = recv(fd, buf, sizeof buf, 0)) > 0)
		hp_buf_add(&b, buf, (size_t)k, NULL);
	close(fd);
	return hp_buf_detach(&b, NULL);
}

static void test_server(void)
{
	hp_httpd *s = NULL;
	hp_err e = HP_ERR_INIT;
	is_int(hp_httpd_start("127.0.0.1:0", handler, NULL, &s, &e), HP_OK, "listening: %s", e.msg);
	if (!s)
		return;
	int port = hp_httpd_port(s);
	ok(port > 0, "on port %d", port);
	char *a = ask(port, "GET /metrics?x=1 HTTP/1.1\r\nHost: x\r\n\r\n");
	ok(a && strncmp(a, "HTTP/1.1 200 OK\r\n", 17) == 0 && strstr(a, "Content-Type: text/plain; version=0.0.4") &&
		   strstr(a, "Content-Length: 5\r\n") && strstr(a, "\r\n\r\nup 1\n"),
	   "GET /metrics: 200 with the body");
	free(a);
	a = ask(port, "HEAD /metrics HTTP/1.0\r\n\r\n");
	ok(a && strncmp(a, "HTTP/1.1 200", 12) == 0 && strstr(a, "\r\n\r\n")[4] == '\0', "HEAD: no body");
	free(a);
	a = ask(port, "GET /nope HTTP/1.1\r\n\r\n");
	ok(a && strncmp(a, "HTTP/1.1 404", 12) == 0, "another path: 404");
	free(a);
	a = ask(port, "DELETE /metrics HTTP/1.1\r\n\r\n");
	ok(a && strncmp(a, "HTTP/1.1 405", 12) == 0, "another method: 405");
	free(a);
	a = ask(port, "garbage\r\n\r\n");
	ok(a && strncmp(a, "HTTP/1.1 400", 12) == 0, "garbage: 400");
	free(a);
	a = ask(port, "");
	ok(a && !*a, "a client that sends nothing gets nothing, and the server goes on");
	free(a);
	a = ask(port, "GET /metrics HTTP/1.1\r\n\r\n");
	ok(a && strncmp(a, "HTTP/1.1 200", 12) == 0, "still serving");
	free(a);
	hp_httpd *t = NULL;
	char addr[32];
	snprintf(addr, sizeof addr, "127.0.0.1:%d", port);
	is_int(hp_httpd_start(addr, handler, NULL, &t, &e), HP_E_UNAVAILABLE, "the same port again: %s", e.msg);
	is_int(hp_httpd_start("127.0.0.1", handler, NULL, &t, &e), HP_E_USAGE, "no port: %s", e.msg);
	hp_httpd_stop(s);
}

int main(void)
{
	test_render();
	test_server();
	return done();
}
