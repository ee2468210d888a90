/* cli_net: the options that say how BitTorrent meets the network (see
 * cli.h, CLI_BT_NET_OPTIONS). */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "../lib/banned.h"

/* HOST:PORT, the port 1 to 65535 */
static bool node_ok(const char *v)
{
	const char *colon = strrchr(v, ':');
	if (!colon || colon == v || !colon[1] || strspn(colon + 1, "0123456789") != strlen(colon + 1) ||
	    strlen(colon + 1) > 5 || strchr(v, ',') || strchr(v, ' '))
		return false;
	long port = strtol(colon + 1, NULL, 10);
	return port >= 1 && port <= 65535;
}

bool cli_bt_net_option(cli_bt_net *c, int id, const char *v, int *rc)
{
	*rc = 0;
	switch (id) {
	case CLI_OPT_DHT_BOOTSTRAP:
		if (!node_ok(v))
			*rc = cli_usage("--dht-bootstrap takes HOST:PORT, not '%s'", v);
		else
			cli_strlist_add(&c->boot, v);
		return true;
	case CLI_OPT_NO_DHT: c->net.no_dht = true; return true;
	case CLI_OPT_NO_UTP: c->net.no_utp = true; return true;
	case CLI_OPT_LSD: c->net.lsd = true; return true;
	case CLI_OPT_PORT_MAPPING: c->net.port_mapping = true; return true;
	case CLI_OPT_DHT_STATE: c->net.dht_state = v; return true;
	default: return false;
	}
}

int cli_bt_net_finish(cli_bt_net *c)
{
	const char *no = getenv("HP_NO_DHT");
	if (no && *no && strcmp(no, "0") != 0)
		c->net.no_dht = true;
	const char *env = getenv("HP_DHT_BOOTSTRAP");
	if (!c->boot.n && env && *env) {
		if (!(c->env_boot = strdup(env)))
			return cli_error(EXIT_SOFTWARE, "out of memory");
		for (char *p = c->env_boot, *next; p; p = next) {
			next = strchr(p, ',');
			if (next)
				*next++ = '\0';
			if (!*p)
				continue;
			if (!node_ok(p))
				return cli_error(EXIT_USAGE, "HP_DHT_BOOTSTRAP: '%s' is not HOST:PORT", p);
			cli_strlist_add(&c->boot, p);
		}
	}
	c->net.dht_bootstrap = c->boot.v;
	c->net.ndht_bootstrap = c->boot.n;
	return 0;
}

void cli_bt_net_free(cli_bt_net *c)
{
	cli_strlist_free(&c->boot);
	free(c->env_boot);
	c->env_boot = NULL;
}
