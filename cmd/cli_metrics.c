/* cli_metrics: --metrics, Prometheus metrics over HTTP for the long-running
 * tools (hp-pin watch, hp-seed; see cli.h). */
#include <string.h>

#include "cli.h"
#include "../lib/banned.h"

/* GET /metrics: every family of the registry; GET /healthz: "ok" (the
 * process is there and answers). Called on the server's thread. */
static int serve(void *ud, const char *path, hp_buf *body, const char **type)
{
	if (strcmp(path, "/healthz") == 0) {
		hp_buf_adds(body, "ok\n", NULL);
		return 200;
	}
	if (strcmp(path, "/metrics") != 0)
		return 404;
	*type = HP_METRICS_CONTENT_TYPE;
	return hp_metrics_render(ud, body, NULL) ? 500 : 200;
}

int cli_metrics_start(cli_metrics *cm, const char *addr)
{
	memset(cm, 0, sizeof *cm);
	if (!addr)
		return 0;
	hp_err e = HP_ERR_INIT;
	if (!(cm->m = hp_metrics_new()))
		return cli_error(EXIT_SOFTWARE, "out of memory");
	if (hp_httpd_start(addr, serve, cm->m, &cm->srv, &e)) {
		hp_metrics_free(cm->m);
		cm->m = NULL;
		return cli_fail(&e);
	}
	cm->addr = addr;
	return 0;
}

json_t *cli_metrics_listening(const cli_metrics *cm)
{
	if (!cm->srv)
		return NULL;
	return json_pack("{s:s, s:s, s:i}", "event", "listening", "metrics", cm->addr, "port", hp_httpd_port(cm->srv));
}

void cli_metrics_stop(cli_metrics *cm)
{
	hp_httpd_stop(cm->srv);
	hp_metrics_free(cm->m);
	memset(cm, 0, sizeof *cm);
}
