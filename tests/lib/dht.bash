# A private BitTorrent DHT on 127.0.0.1 for bats files (tests/lib/dht_nodes.py:
# python3-libtorrent nodes bootstrapping from one another).
#
#   dht_start [N]   N nodes (default 3); DHT_PORTS holds their ports; the
#                   tools' lab setting HP_NO_DHT (helpers.bash) is unset and
#                   HP_DHT_BOOTSTRAP names the first node, so every hp-fetch,
#                   hp-seed and hybrid-p2p started after it joins this DHT
#   dht_stop        end the nodes (teardown)

dht_start() {
	bt_need libtorrent || return 1
	local n=${1:-3} i
	DHT_DIR=$(mktemp -d "$SCRATCH/dht.XXXXXX")
	/usr/bin/python3 "$HP_ROOT/tests/lib/dht_nodes.py" --nodes "$n" --port-file "$DHT_DIR/ports" \
		--parent $$ --lifetime 600 </dev/null >"$DHT_DIR/log" 2>&1 3>&- &
	DHT_PID=$!
	for ((i = 0; i < 600; i++)); do
		[ -s "$DHT_DIR/ports" ] && break
		kill -0 "$DHT_PID" 2>/dev/null || break
		sleep 0.05
	done
	[ -s "$DHT_DIR/ports" ] || {
		echo "the private DHT did not start: $(cat "$DHT_DIR/log")" >&2
		return 1
	}
	mapfile -t DHT_PORTS <"$DHT_DIR/ports"
	unset HP_NO_DHT
	export HP_DHT_BOOTSTRAP=127.0.0.1:${DHT_PORTS[0]}
}

dht_stop() {
	[ -n "${DHT_PID:-}" ] || return 0
	kill "$DHT_PID" 2>/dev/null
	wait "$DHT_PID" 2>/dev/null
	DHT_PID=
	return 0
}
