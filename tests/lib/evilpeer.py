#!/usr/bin/python3
"""A malicious BitTorrent peer for the interop tests: python3-libtorrent
seeding whatever bytes are under SAVE_DIR for TORRENT without ever checking
them, so a corrupted copy is served as if it were good.

  evilpeer.py TORRENT SAVE_DIR [--peer IP:PORT]...

Two libtorrent settings make it lie: the torrent is added in seed_mode (no
check of the files when it starts) and the session has disable_hash_checks
(seed_mode would otherwise hash each piece before its first upload and stop
serving a bad one). It listens on 127.0.0.1 (TCP only, no DHT/LSD/UPnP/
NAT-PMP), prints {"port": N} on stdout once listening, connects out to each
--peer (retrying while it has none), prints {"disconnected": "IP:PORT",
"reason": TEXT} each time a peer drops it (the downloader banned it, or
started over), and runs until SIGTERM/SIGINT, when it prints {"uploaded":
BYTES, "peers_seen": N} on stdout and exits 0."""
import json
import signal
import sys
import time

import libtorrent as lt

stop = False


def on_signal(signum, frame):
    global stop
    stop = True


def main():
    args = sys.argv[1:]
    peers = []
    pos = []
    i = 0
    while i < len(args):
        if args[i] == "--peer" and i + 1 < len(args):
            host, port = args[i + 1].rsplit(":", 1)
            peers.append((host, int(port)))
            i += 2
        else:
            pos.append(args[i])
            i += 1
    if len(pos) != 2:
        print(__doc__, file=sys.stderr)
        return 64
    torrent, save = pos
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    s = lt.session({
        "listen_interfaces": "127.0.0.1:0",
        "enable_dht": False, "enable_lsd": False, "enable_upnp": False, "enable_natpmp": False,
        "enable_outgoing_utp": False, "enable_incoming_utp": False,
        "allow_multiple_connections_per_ip": True,
        "disable_hash_checks": True,
        "alert_mask": lt.alert_category.status | lt.alert_category.error | lt.alert_category.peer
        | lt.alert_category.connect,
    })
    h = s.add_torrent({
        "ti": lt.torrent_info(torrent),
        "save_path": save,
        "flags": lt.torrent_flags.seed_mode,
    })
    port = 0
    for _ in range(100):
        port = s.listen_port()
        if port:
            break
        time.sleep(0.05)
    print(json.dumps({"port": port}), flush=True)
    seen = set()
    last = 0.0
    while not stop:
        for a in s.pop_alerts():
            if isinstance(a, lt.peer_connect_alert) or isinstance(a, lt.incoming_connection_alert):
                try:
                    seen.add(str(a.endpoint if hasattr(a, "endpoint") else a.ip))
                except Exception:
                    pass
            if isinstance(a, lt.peer_disconnected_alert):
                print(json.dumps({"disconnected": "%s:%d" % tuple(a.endpoint), "reason": a.error.message()}),
                      flush=True)
            if isinstance(a, (lt.torrent_error_alert, lt.file_error_alert)):
                print("evilpeer: " + a.message(), file=sys.stderr, flush=True)
        st = h.status()
        now = time.monotonic()
        if peers and st.num_peers == 0 and now - last >= 1:
            for p in peers:
                h.connect_peer(p)
            last = now
        s.wait_for_alert(100)
    st = h.status()
    print(json.dumps({"uploaded": st.all_time_upload, "peers_seen": len(seen)}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
