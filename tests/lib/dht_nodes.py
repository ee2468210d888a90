#!/usr/bin/python3
"""A private BitTorrent DHT (BEP 5) on 127.0.0.1, for the discovery tests:
N libtorrent sessions (python3-libtorrent) whose DHT nodes bootstrap from
one another, with no torrent of their own.

    dht_nodes.py --nodes N --port-file FILE [--parent PID] [--lifetime SECS]

Each node listens on 127.0.0.1 on a port the kernel picks (UDP for the DHT,
TCP beside it). Node 0 starts alone; each other node bootstraps from the
nodes before it. Once every node has at least one other in its routing
table, the ports are written to --port-file (atomically), one per line: a
client bootstraps from any of them (HP_DHT_BOOTSTRAP=127.0.0.1:PORT).

All nodes share one IP, so libtorrent's rules meant for the internet (one
node per IP in a routing table and a lookup, node ids derived from the IP,
BEP 42) are off, as hybrid-p2p turns them off for a bootstrap node on
loopback. The script ends when --parent is gone or after --lifetime
seconds (default 600), so a killed test never leaves it behind."""
import argparse
import os
import sys
import time

import libtorrent as lt

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from serverutil import start_watchdog, write_port_file  # noqa: E402


def node(bootstrap):
    return lt.session({
        "listen_interfaces": "127.0.0.1:0",
        "enable_dht": True,
        "dht_bootstrap_nodes": ",".join("127.0.0.1:%d" % p for p in bootstrap),
        "dht_restrict_routing_ips": False,
        "dht_restrict_search_ips": False,
        "dht_enforce_node_id": False,
        "dht_prefer_verified_node_ids": False,
        "dht_ignore_dark_internet": False,
        "enable_lsd": False, "enable_upnp": False, "enable_natpmp": False,
        "alert_mask": lt.alert_category.dht,
    })


def bootstrapped(s):
    """Has the node's DHT bootstrap ended (found nodes or not)?"""
    return any(isinstance(a, lt.dht_bootstrap_alert) for a in s.pop_alerts())


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--nodes", type=int, default=3)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--parent", type=int, default=0)
    ap.add_argument("--lifetime", type=float, default=600)
    a = ap.parse_args()
    start_watchdog(a.parent, a.lifetime)
    sessions, ports = [], []
    for _ in range(a.nodes):
        s = node(ports)
        end = time.monotonic() + 10
        while not s.listen_port() and time.monotonic() < end:
            time.sleep(0.05)
        if not s.listen_port():
            print("dht_nodes: a node did not listen", file=sys.stderr)
            return 1
        sessions.append(s)
        ports.append(s.listen_port())
    # the first node learns of the others when they ask it; tell it of
    # them too, then wait until every other node's bootstrap has ended
    # (through the nodes before it)
    for p in ports[1:]:
        sessions[0].add_dht_node(("127.0.0.1", p))
    waiting = set(range(1, len(sessions)))
    end = time.monotonic() + 30
    while waiting and time.monotonic() < end:
        waiting = {i for i in waiting if not bootstrapped(sessions[i])}
        time.sleep(0.05)
    if waiting:
        print("dht_nodes: nodes %s did not bootstrap in 30 s" % sorted(waiting), file=sys.stderr)
        return 1
    tmp = a.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("".join("%d\n" % p for p in ports))
    os.rename(tmp, a.port_file)
    while True:
        time.sleep(1)


if __name__ == "__main__":
    sys.exit(main())
