/* Fuzz the readers of a manifest's torrent_magnet: hp_mkt_magnet_trackers
 * (tr= parameters) and hp_bt_magnet_peers (x.pe= peers: no more than there
 * are "x.pe=" in the link, each a terminated string no longer than its
 * parameter). hp_mkt_magnet_trackers reads the tr=
 * parameters. On success every tracker is a tracker URL
 * (hp_torrent_tracker_url_ok) that lies inside the returned buffer, tiers
 * are 0, 1, 2... in order, and there are no more trackers than "tr="
 * parameters; on failure nothing is returned and the message is one line. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hp_bt_fetch.h"
#include "hp_mkt.h"
#include "hp_torrent.h"

#include "banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	hp_torrent_tracker *t = (hp_torrent_tracker *)1;
	size_t n = 99;
	char *buf = (char *)1;
	hp_err e = HP_ERR_INIT;
	hp_code rc = hp_mkt_magnet_trackers(s, &t, &n, &buf, &e);
	if (rc) {
		if (rc != HP_E_DATA && rc != HP_E_NOMEM)
			abort();
		if (t || buf || n || strchr(e.msg, '\n'))
			abort();
	} else {
		size_t trs = 0, len = strlen(s);
		for (const char *p = strstr(s, "tr="); p; p = strstr(p + 1, "tr="))
			trs++;
		if (n > trs || (n && (!t || !buf)))
			abort();
		for (size_t i = 0; i < n; i++) {
			if (t[i].tier != i || t[i].url < buf || t[i].url >= buf + len + 1 ||
			    !hp_torrent_tracker_url_ok(t[i].url))
				abort();
		}
	}
	if (!rc) {
		free(t);
		free(buf);
	}
	char peers[16][HP_BT_PEER_MAX];
	size_t np = hp_bt_magnet_peers(s, peers, 16), pes = 0;
	for (const char *p = strstr(s, "x.pe="); p; p = strstr(p + 1, "x.pe="))
		pes++;
	if (np > 16 || np > pes)
		abort();
	for (size_t i = 0; i < np; i++)
		if (!memchr(peers[i], '\0', HP_BT_PEER_MAX) || strlen(peers[i]) > strlen(s))
			abort();
	free(s);
	return 0;
}
