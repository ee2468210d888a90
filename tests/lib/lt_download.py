#!/usr/bin/python3
"""Download a torrent with python3-libtorrent from one given peer, on
127.0.0.1 as the tests want it (TCP only, no DHT/LSD/UPnP/NAT-PMP), and exit
0 once every piece is in and checked.

  lt_download.py TORRENT SAVE_DIR PEER_IP:PORT [TIMEOUT_SECONDS]

With LT_UTP_ONLY=1 in the environment it dials over uTP only (no TCP), as
a uTP-only peer would; with LT_DEFAULTS=1 it runs libtorrent's own
transports (uTP dialled first, TCP beside it). With LT_HOLD=FILE it downloads
at most 16 KiB/s until FILE exists, then at full speed: a test can look at
the seed while this peer is certainly connected, then let it finish.

Prints one JSON line: {"infohash_v1", "infohash_v2", "bytes", "seconds"}.
An independent libtorrent peer for hp-seed's tests (v1, v2 and hybrid)."""
import json
import os
import sys
import time

import libtorrent as lt


def main():
    torrent, save, peer = sys.argv[1:4]
    timeout = float(sys.argv[4]) if len(sys.argv) > 4 else 60
    host, port = peer.rsplit(":", 1)
    utp_only = os.environ.get("LT_UTP_ONLY") == "1"
    defaults = os.environ.get("LT_DEFAULTS") == "1"  # libtorrent's transports: uTP first, TCP
    s = lt.session({
        "listen_interfaces": "127.0.0.1:0",
        "enable_dht": False, "enable_lsd": False, "enable_upnp": False, "enable_natpmp": False,
        "enable_outgoing_utp": utp_only or defaults, "enable_incoming_utp": utp_only or defaults,
        "enable_outgoing_tcp": not utp_only, "enable_incoming_tcp": not utp_only,
        "allow_multiple_connections_per_ip": True,
        "alert_mask": lt.alert_category.status | lt.alert_category.error,
    })
    ti = lt.torrent_info(torrent)
    h = s.add_torrent({"ti": ti, "save_path": save})
    hold = os.environ.get("LT_HOLD")
    if hold:
        h.set_download_limit(16384)
    start = time.monotonic()
    last = 0.0
    while True:
        st = h.status()
        if st.is_seeding:
            break
        for a in s.pop_alerts():
            if isinstance(a, (lt.torrent_error_alert, lt.file_error_alert)):
                print("lt_download: " + a.message(), file=sys.stderr)
                return 1
        if hold and os.path.exists(hold):
            h.set_download_limit(-1)
            hold = None
        now = time.monotonic()
        if now - start > timeout:
            print("lt_download: timed out at %.1f%% with %d peers" % (st.progress * 100, st.num_peers),
                  file=sys.stderr)
            return 1
        if st.num_peers == 0 and now - last >= 1 and st.state != lt.torrent_status.checking_files:
            h.connect_peer((host, int(port)))
            last = now
        s.wait_for_alert(100)
    ih = ti.info_hashes()
    print(json.dumps({
        "infohash_v1": str(ih.v1) if ih.has_v1() else None,
        "infohash_v2": str(ih.v2) if ih.has_v2() else None,
        "bytes": h.status().total_wanted_done,
        "seconds": round(time.monotonic() - start, 3),
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
