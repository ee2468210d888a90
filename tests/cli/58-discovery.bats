#!/usr/bin/env bats
# Finding peers without hand-holding (docs/bittorrent.md, "Discovery"): a
# private DHT of three libtorrent nodes on 127.0.0.1 (tests/lib/dht.bash), a
# publisher's address travelling in the signed magnet (x.pe), and what a
# fetch says when it finds nobody. No --peer anywhere below unless a test
# says so; HP_NO_DHT=1 (helpers.bash) is the lab default that dht_start
# lifts.

load helpers
load ../lib/bt
load ../lib/dht
load ../lib/qbt
load ../lib/registry

LT_DOWNLOAD=$HP_ROOT/tests/lib/lt_download.py

setup() {
	setup_scratch
	bt_setup
	BAD_PIDS=()
	export HOME=$SCRATCH/home
	mkdir -p "$HOME"
	unset HP_REGISTRY HP_REGISTRY_TOKEN HP_REGISTRY_CACHE HP_TRUSTED_KEYS XDG_CACHE_HOME
}

teardown() {
	if [ -n "${PUB_PID:-}" ]; then
		kill "$PUB_PID" 2>/dev/null || true
		wait "$PUB_PID" 2>/dev/null || true
	fi
	bt_teardown
	dht_stop
	badservers_stop
}

# elapsed_ms START_NS: milliseconds since START_NS (date +%s%N)
elapsed_ms() {
	echo $((($(date +%s%N) - $1) / 1000000))
}

@test "a private DHT: hp-seed announces, hp-fetch with only the .torrent (no tracker, no --peer) finds it; without the DHT it is 69 saying what to give" {
	bt_make_tree src/tree
	bt_sign_pkg src/tree tree
	hp-mktorrent --hybrid --no-date -o t.torrent src/tree >/dev/null
	# without a DHT nobody can be found: 69, one hint naming what to give
	run_fails 69 timeout 60 hp-fetch -k keys/pub.pub --torrent t.torrent --timeout 2 m.json -O none
	[[ $stderr == *"no peer found in 2 s (DHT off; no tracker)"* ]]
	[[ $stderr == *"--peer IP:PORT, --tracker URL, --dht-bootstrap HOST:PORT or an IPFS --gateway"* ]]
	[ ! -e none/big.bin ]
	dht_start 3
	bt_seed_start t.torrent --content src
	# the default listen address (0.0.0.0:0) and the default DHT settings,
	# but for the bootstrap node (HP_DHT_BOOTSTRAP)
	run --separate-stderr timeout 60 hp-fetch -k keys/pub.pub --torrent t.torrent --timeout 20 m.json -O got
	[ "$status" -eq 0 ] || fail "exit $status: $stderr $(cat seed.log)"
	bt_same src/tree got
	jq -e -s '.[-1].summary.sources[0] | .status == "ok" and .connections >= 1' <<<"$output" >/dev/null
	grep -q '"event":"dht","state":"bootstrapped"' seed.log
	bt_seed_stop
}

@test "--no-dht wins over HP_DHT_BOOTSTRAP; a bootstrap node on loopback that is down: 69 saying the DHT had no answer" {
	bt_make_tree src/tree
	bt_sign_pkg src/tree tree
	hp-mktorrent --v2 --no-date -o t.torrent src/tree >/dev/null
	dht_start 3
	bt_seed_start t.torrent --content src
	run_fails 69 timeout 60 hp-fetch -k keys/pub.pub --torrent t.torrent --timeout 3 --no-dht m.json -O a
	[[ $stderr == *"(DHT off; no tracker)"* ]]
	run_fails 69 env HP_DHT_BOOTSTRAP="127.0.0.1:$(free_port)" timeout 60 hp-fetch -k keys/pub.pub \
		--torrent t.torrent --timeout 3 m.json -O b
	[[ $stderr == *"(DHT: no node answered; no tracker)"* ]]
	bt_seed_stop
}

@test "publish --announce-addr: the seeder's address travels in the signed magnet (x.pe); fetch NAME@VERSION finds it with no DHT, tracker or --peer" {
	mkdir -p data/sub
	head -c 1500000 /dev/urandom >data/big.bin
	echo hi >data/sub/a.txt
	hybrid-p2p keygen -O keys -n k >/dev/null
	bare_registry reg
	port=$(free_port)
	hybrid-p2p publish data --name ds --version 1.0.0 --uploader-id me@example.org --key keys/k.pem \
		--output out/ds.json --registry "file://$PWD/srv/reg.git" --no-git \
		--seed --listen "127.0.0.1:$port" --announce-addr "127.0.0.1:$port" --announce-addr "localhost:$port" \
		>publish.out 2>publish.err 3>&- &
	PUB_PID=$!
	wait_for "$PUB_PID" 300 grep -m1 '"event":"listening"' publish.err >/dev/null || fail "no seeder: $(cat publish.err)"
	magnet=$(jq -r .distribution.torrent_magnet out/ds.json)
	[[ $magnet == *"&x.pe=127.0.0.1:$port&x.pe=localhost:$port" ]] || fail "magnet: $magnet"
	hp-verify -k keys/k.pub out/ds.json >/dev/null
	run --separate-stderr timeout 60 hybrid-p2p fetch ds@1.0.0 -O got --registry "file://$PWD/srv/reg.git" \
		--trusted-keys keys/k.pub --timeout 20
	[ "$status" -eq 0 ] || fail "exit $status: $stderr"
	diff -r data got
	jq -e -s '.[-1].summary.sources | map(select(.status == "ok")) | .[0].source | startswith("bittorrent")' \
		<<<"$output" >/dev/null
	# an address that is not HOST:PORT is refused before anything is read
	run_fails 64 hybrid-p2p publish data --name ds --version 2.0.0 --uploader-id me@example.org \
		--key keys/k.pem --output out/ds2.json --no-git --announce-addr "127.0.0.1"
	[[ $stderr == *"'127.0.0.1' is not HOST:PORT"* ]]
	[ ! -e out/ds2.json ]
}

@test "a tracker that never answers, drips or closes mid-answer: the fetch ends within twice --timeout with 69, naming the tracker" {
	bt_make_tree src/tree
	bt_sign_pkg src/tree tree
	hp-mktorrent --v1 --no-date -o t.torrent src/tree >/dev/null
	local mode t0 ms
	for mode in hang silent drip close-mid; do
		badserver "$mode"
		t0=$(date +%s%N)
		run_fails 69 timeout 60 hp-fetch -k keys/pub.pub --torrent t.torrent --timeout 3 \
			--tracker "$BAD/announce" m.json -O "out-$mode"
		ms=$(elapsed_ms "$t0")
		((ms < 6000)) || fail "$mode: $ms ms"
		[[ $stderr == *"tracker $BAD/announce: "* ]] || fail "$mode: $output"
		[ ! -e "out-$mode/big.bin" ]
		# no partial file left under a final name
		[ -z "$(find "out-$mode" -type f ! -path '*/.hp-partial/*' 2>/dev/null)" ]
	done
}

@test "the DHT's nodes are kept in --dht-state between runs; bad bootstrap nodes are usage errors" {
	bt_make_tree src/tree
	bt_sign_pkg src/tree tree
	hp-mktorrent --hybrid --no-date -o t.torrent src/tree >/dev/null
	dht_start 3
	bt_seed_start t.torrent --content src --dht-state seed.dht
	run --separate-stderr timeout 60 hp-fetch -k keys/pub.pub --torrent t.torrent --timeout 20 \
		--dht-state fetch.dht m.json -O got
	[ "$status" -eq 0 ] || fail "exit $status: $stderr"
	# libtorrent's bencoded state: its node id and the nodes it knew
	grep -q 'node-id' fetch.dht
	grep -q 'nodes' fetch.dht
	[ "$(stat -c %a fetch.dht)" = 600 ]
	bt_seed_stop
	grep -q 'node-id' seed.dht
	# hp-seed --resume-dir keeps it there by default
	mkdir rd
	bt_seed_start t.torrent --content src --resume-dir rd
	bt_seed_stop
	grep -q 'node-id' rd/dht.state
	run_fails 64 hp-fetch -k keys/pub.pub --torrent t.torrent --dht-bootstrap nonsense m.json -O x
	[[ $stderr == *"--dht-bootstrap takes HOST:PORT, not 'nonsense'"* ]]
	run_fails 64 env HP_DHT_BOOTSTRAP=127.0.0.1:99999 hp-seed --content src t.torrent
	[[ $stderr == *"HP_DHT_BOOTSTRAP: '127.0.0.1:99999' is not HOST:PORT"* ]]
}

@test "uTP beside TCP: a peer that dials only uTP gets the bytes from hp-seed; with --no-utp it cannot connect" {
	bt_need libtorrent
	bt_make_tree src/tree
	hp-mktorrent --hybrid --no-date -o t.torrent src/tree >/dev/null
	bt_seed_start t.torrent --content src
	run --separate-stderr env LT_UTP_ONLY=1 "$BT_PY" "$LT_DOWNLOAD" t.torrent got "127.0.0.1:$SEED_PORT" 60
	[ "$status" -eq 0 ] || fail "uTP download: $stderr $(cat seed.log)"
	bt_same src/tree got/tree
	bt_seed_stop
	bt_seed_start t.torrent --content src --no-utp
	run_fails env LT_UTP_ONLY=1 "$BT_PY" "$LT_DOWNLOAD" t.torrent none "127.0.0.1:$SEED_PORT" 4
	[[ $stderr == *"timed out at 0.0% with 0 peers"* ]]
	bt_seed_stop
}

@test "a magnet link alone (no .torrent, no tracker, no --peer): the info dictionary from the seeder found in the DHT, then verified bytes" {
	bt_make_tree src/tree
	bt_sign_pkg src/tree tree --canonical-torrent
	magnet=$(jq -r .distribution.torrent_magnet m.json)
	[[ $magnet == magnet:\?xt=urn:btih:* ]]
	dht_start 3
	bt_seed_start -m m.json --content src/tree
	run --separate-stderr timeout 60 hp-fetch -k keys/pub.pub --torrent "$magnet" --timeout 20 m.json -O got
	[ "$status" -eq 0 ] || fail "exit $status: $stderr $(cat seed.log)"
	bt_same src/tree got
	jq -e -s '.[-1].summary.sources[0] | .status == "ok" and (.source | startswith("bittorrent "))' <<<"$output" >/dev/null
	bt_seed_stop
	# nobody seeding: 69 after the timeout, the hint said once
	run_fails 69 timeout 60 hp-fetch -k keys/pub.pub --torrent "$magnet" --timeout 2 m.json -O none
	[[ $stderr == *"no peer found in 2 s (DHT: "* ]]
	[ "$(grep -c 'no peer found' <<<"$stderr")" -le 2 ]
	run_fails 64 hp-fetch -k keys/pub.pub --torrent "magnet:?dn=x" m.json -O none
	[[ $stderr == *"names no infohash"* ]]
}

@test "qbittorrent-nox and hp-seed/hp-fetch find each other through the private DHT (a BEP 5 nodes key names a loopback node)" {
	bt_make_tree src/tree
	bt_sign_pkg src/tree tree
	hp-mktorrent --v1 --no-date -o t.torrent src/tree >/dev/null
	dht_start 3
	# qBittorrent 4.5 has no setting for its DHT's bootstrap nodes: a
	# trackerless torrent's "nodes" (BEP 5, outside the info dictionary)
	# are added to the DHT of the client that loads it
	"$BT_PY" -c 'import libtorrent as lt, sys
d = lt.bdecode(open(sys.argv[1], "rb").read())
d[b"nodes"] = [[b"127.0.0.1", int(p)] for p in sys.argv[3:]]
open(sys.argv[2], "wb").write(lt.bencode(d))' t.torrent tn.torrent "${DHT_PORTS[@]}"
	[ "$(hp-mktorrent --show tn.torrent | jq -r .infohash_v1)" = "$(hp-mktorrent --show t.torrent | jq -r .infohash_v1)" ]
	bt_seed_start tn.torrent --content src
	QBT_DHT=1 qbt_start q
	id=$(qbt_add tn.torrent "$QBT_DIR/dl")
	qbt_wait_done "$id" 90 || fail "qBittorrent did not find hp-seed: $(qbt_info "$id") $(cat seed.log)"
	bt_same src/tree "$QBT_DIR/dl/tree"
	bt_seed_stop
	# the reverse: qBittorrent seeds, hp-fetch (no --peer, no tracker) finds it in the DHT
	run --separate-stderr timeout 120 hp-fetch -k keys/pub.pub --torrent tn.torrent --timeout 60 m.json -O got
	[ "$status" -eq 0 ] || fail "exit $status: $stderr"
	bt_same src/tree got
}
