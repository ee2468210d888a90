#!/usr/bin/env bats
# BitTorrent interop with real clients, on 127.0.0.1 only, TCP only, random
# ports, every daemon in a private folder: Transmission 3.00 (v1 only) and
# qBittorrent 4.5.2 (v1, v2, hybrid) both downloading from hp-seed and
# seeding to hp-fetch --torrent, and a malicious peer (tests/lib/evilpeer.py)
# whose bad bytes must never reach hp-fetch's output. Each check compares the
# downloaded bytes with the originals. docs/interop.md has the table and the
# traps.

load helpers
load ../lib/bt
load ../lib/qbt
load ../lib/kubo

setup() {
	setup_scratch
	bt_setup
	QBT_PID=
}

teardown() {
	qbt_stop
	tr_stop
	bt_teardown
	kubo_stop
}

# fetch_from PEER... : hp-fetch m.json into out/ over BitTorrent from the
# given peers only (torrent in $TORRENT), within 120 s.
fetch_from() {
	local peers=() p
	for p in "$@"; do
		peers+=(--peer "$p")
	done
	run --separate-stderr timeout 120 hp-fetch -k keys/pub.pub --torrent "$TORRENT" "${peers[@]}" \
		--listen 127.0.0.1:0 --timeout "${FETCH_TIMEOUT:-30}" m.json -O out
}

# the fetch succeeded, every file of src/pkg is in out/ with the same bytes
fetched_in_place() {
	[ "$status" -eq 0 ] || {
		echo "hp-fetch exited with $status: $stderr" >&2
		echo "$output" >&2
		return 1
	}
	bt_same src/pkg out
	[ ! -e out/.hp-partial ]
}

# fetched_in_place, and BitTorrent delivered the files
fetched_all() {
	fetched_in_place
	# each file fetched (or, on a rerun, already in place from the run before)
	jq -e -s 'map(select(.status == "fetched" or .status == "present")) | length == 4' <<<"$output" >/dev/null
	jq -e -s 'map(select(.status == "fetched" and .size > 0)) | length >= 1' <<<"$output" >/dev/null
	jq -e -s '.[-1].summary.sources[0] | (.source | startswith("bittorrent ")) and .status == "ok"' \
		<<<"$output" >/dev/null
}

@test "the clients are there: qbittorrent-nox 4.5, Transmission 3.00 (daemon, remote, create)" {
	bt_need qbittorrent-nox transmission-daemon transmission-remote transmission-create transmission-cli curl \
		libtorrent
	run qbittorrent-nox --version
	assert_success
	assert_output --regexp '^qBittorrent v4\.5\.'
	run transmission-daemon --version
	assert_output --regexp '^transmission-daemon 3\.00 '
	run transmission-remote --version
	assert_output --regexp '^transmission-remote 3\.00 '
	run transmission-create --version
	assert_output --regexp '^transmission-create 3\.00 '
	run "$BT_PY" -c 'import libtorrent; print(libtorrent.__version__)'
	assert_output --regexp '^2\.0\.'
}

# ---- Transmission 3.00: v1 only ----

@test "hp-seed → transmission-daemon: a v1 tree, hp-seed connecting out, same bytes" {
	bt_make_tree src/tree
	hp-mktorrent --v1 --no-date -o t.torrent src/tree >/dev/null
	tr_start tr
	local hash
	hash=$(tr_add t.torrent)
	[ "$hash" = "$(hp-mktorrent --show t.torrent | jq -r .infohash_v1)" ]
	# Transmission drops loopback peers it hears of from trackers or PEX
	# but takes incoming connections: hp-seed dials its peer port
	bt_seed_start t.torrent --content src --tracker-off --peer "127.0.0.1:$TR_PEER_PORT"
	tr_wait_done "$hash" 120
	# Transmission 3.00 never creates empty files: the empty one may be
	# missing, every other byte must be there
	bt_same src/tree "$TR_DIR/dl/tree" --no-empty
	[ ! -e "$TR_DIR/dl/tree/big.bin.part" ]
	sleep 1.2  # one more upload report
	bt_seed_stop
	jq -e -s 'map(select(.event == "peer" and .peer == "127.0.0.1:'"$TR_PEER_PORT"'")) | length >= 1' \
		seed.log >/dev/null
	jq -e -s 'map(select(.event == "uploaded")) | last | .bytes >= 3070007' seed.log >/dev/null
}

@test "hp-seed → transmission-cli: a v1 tree, hp-seed connecting out, same bytes" {
	bt_need transmission-cli
	bt_make_tree src/tree
	hp-mktorrent --v1 --no-date -o t.torrent src/tree >/dev/null
	local port
	port=$(free_port)
	mkdir -p tc/cfg tc/dl
	# transmission-cli reads settings.json from its -g folder: what its
	# options cannot say (no LPD/PEX/uTP, loopback only) goes there
	jq -n --argjson peer "$port" '{
		"peer-port": $peer, "peer-port-random-on-start": false,
		"bind-address-ipv4": "127.0.0.1", "bind-address-ipv6": "::1",
		"dht-enabled": false, "lpd-enabled": false, "pex-enabled": false,
		"utp-enabled": false, "port-forwarding-enabled": false,
		"blocklist-enabled": false, "rpc-enabled": false
	}' >tc/cfg/settings.json
	# it never exits on its own: the finish script leaves a mark
	printf '#!/bin/sh\necho "$TR_TORRENT_HASH" >"%s/tc/done"\n' "$PWD" >tc/done.sh
	chmod +x tc/done.sh
	transmission-cli -g tc/cfg -w "$PWD/tc/dl" -p "$port" -M -D -U -f "$PWD/tc/done.sh" t.torrent \
		>tc/out 2>&1 3>&- &
	BT_PIDS+=($!)
	_hp_watchdog $! >/dev/null
	wait_port "$port"
	bt_seed_start t.torrent --content src --tracker-off --peer "127.0.0.1:$port"
	local _
	for _ in $(seq 480); do
		[ -s tc/done ] && break
		sleep 0.25
	done
	[ "$(cat tc/done)" = "$(hp-mktorrent --show t.torrent | jq -r .infohash_v1)" ] || {
		echo "transmission-cli did not finish:" >&2
		tail -c 2000 tc/out >&2
		cat seed.log >&2
		return 1
	}
	bt_same src/tree tc/dl/tree --no-empty
	bt_seed_stop
}

@test "transmission-daemon refuses v2 and hybrid torrents (Transmission 3.00 reads v1 only)" {
	bt_make_tree src/tree
	tr_start tr
	local f r
	for f in v2 hybrid; do
		hp-mktorrent --"$f" --no-date -o "$f.torrent" src/tree >/dev/null
		r=$(tr_rpc "$(jq -n --arg m "$(base64 -w0 "$f.torrent")" '{method: "torrent-add", arguments: {metainfo: $m}}')")
		jq -e '.result == "invalid or corrupt torrent file"' <<<"$r" >/dev/null || {
			echo "$f: $r" >&2
			return 1
		}
	done
}

@test "transmission-daemon seeding an hp-mktorrent --v1 torrent → hp-fetch --torrent, verified" {
	bt_make_tree src/pkg
	bt_sign_pkg src/pkg
	hp-mktorrent --v1 --no-date -o pkg.torrent src/pkg >/dev/null
	tr_start tr
	local hash
	hash=$(tr_add pkg.torrent "$PWD/src")
	tr_wait_done "$hash" 60  # it checks the files it finds, then seeds
	TORRENT=pkg.torrent fetch_from "127.0.0.1:$TR_PEER_PORT"
	fetched_all
}

@test "transmission-create's v1 torrent (it leaves out empty files), seeded by transmission → hp-fetch, verified" {
	bt_make_tree src/pkg
	bt_sign_pkg src/pkg
	transmission-create -o pkg.torrent src/pkg >/dev/null
	# transmission-create lists no empty file: the torrent has 3 files, the
	# manifest 4; hp-fetch must still place sub/empty (it needs no source)
	hp-mktorrent --show pkg.torrent | jq -e '.flavour == "v1" and .files == 3' >/dev/null
	tr_start tr
	local hash
	hash=$(tr_add pkg.torrent "$PWD/src")
	tr_wait_done "$hash" 60
	TORRENT=pkg.torrent fetch_from "127.0.0.1:$TR_PEER_PORT"
	fetched_all
}

# ---- qBittorrent 4.5.2: v1, v2, hybrid ----

@test "hp-seed → qbittorrent-nox (Web API): v2, hybrid and v1 trees, same bytes, same infohashes" {
	bt_make_tree src/tree
	qbt_start qb
	local f id info
	for f in v2 hybrid v1; do
		hp-mktorrent --"$f" --no-date -o "$f.torrent" src/tree >/dev/null
		mkdir "qb-$f"
		id=$(qbt_add "$f.torrent" "$PWD/qb-$f")
		bt_seed_start "$f.torrent" --content src --tracker-off --peer "127.0.0.1:$QBT_PORT"
		qbt_wait_done "$id" 120
		bt_same src/tree "qb-$f/tree"
		# qBittorrent read the flavour as we wrote it
		info=$(qbt_info "$id")
		hp-mktorrent --show "$f.torrent" | jq -e --argjson q "$info" \
			'(.infohash_v1 // "") == $q.infohash_v1 and (.infohash_v2 // "") == $q.infohash_v2' >/dev/null || {
			echo "$f: qBittorrent says $info" >&2
			return 1
		}
		bt_seed_stop
		jq -e -s 'map(select(.event == "peer" and .peer == "127.0.0.1:'"$QBT_PORT"'")) | length >= 1' \
			seed.log >/dev/null
	done
}

@test "qbittorrent-nox seeding v2, hybrid and v1 torrents → hp-fetch --torrent, verified" {
	bt_make_tree src/pkg
	bt_sign_pkg src/pkg
	qbt_start qb
	local f id
	for f in v2 hybrid v1; do
		hp-mktorrent --"$f" --no-date -o "$f.torrent" src/pkg >/dev/null
		id=$(qbt_add "$f.torrent" "$PWD/src")
		qbt_wait_done "$id" 60  # checks the files it finds, then seeds
		rm -rf out
		TORRENT=$f.torrent fetch_from "127.0.0.1:$QBT_PORT"
		fetched_all
		qbt_api torrents/delete -d "hashes=$id" -d deleteFiles=false >/dev/null
	done
	# qBittorrent seeded, it did not touch the originals
	[ -z "$(find src -name '*.!qB' -o -name '.pad' | head -n1)" ]
}

# ---- magnets: the clients get the info dict from hp-seed ----

@test "hp-mktorrent's magnets: qbittorrent-nox (v1, v2, hybrid) and transmission-daemon (v1) get the metadata from hp-seed" {
	bt_make_tree src/tree
	qbt_start qb
	local f mag id
	for f in hybrid v2 v1; do
		hp-mktorrent --"$f" --no-date -o "$f.torrent" src/tree >/dev/null
		# btih for v1 and hybrid, btmh (the full SHA-256) for v2 and hybrid
		mag=$(hp-mktorrent --show "$f.torrent" | jq -r .magnet)
		id=$(hp-mktorrent --show "$f.torrent" | jq -r 'if .infohash_v2 then .infohash_v2[0:40] else .infohash_v1 end')
		mkdir "qb-$f"
		[ "$(qbt_api torrents/add -F "urls=$mag" -F "savepath=$PWD/qb-$f")" = "Ok." ]
		bt_seed_start "$f.torrent" --content src --tracker-off --peer "127.0.0.1:$QBT_PORT"
		qbt_wait_done "$id" 120
		bt_same src/tree "qb-$f/tree"
		bt_seed_stop
	done
	qbt_stop
	tr_start tr
	mag=$(hp-mktorrent --show v1.torrent | jq -r .magnet)
	local r hash
	r=$(tr_rpc "$(jq -n --arg m "$mag" '{method: "torrent-add", arguments: {filename: $m}}')")
	hash=$(jq -r '.arguments["torrent-added"].hashString' <<<"$r")
	[ "$hash" = "$(hp-mktorrent --show v1.torrent | jq -r .infohash_v1)" ]
	bt_seed_start v1.torrent --content src --tracker-off --peer "127.0.0.1:$TR_PEER_PORT"
	tr_wait_done "$hash" 120
	bt_same src/tree "$TR_DIR/dl/tree" --no-empty
	bt_seed_stop
}

# ---- a malicious peer ----

# src/pkg, its manifest, and bad/pkg: the same tree with one byte changed in
# the big file's middle and one in the small file deep down
make_bad_copy() {
	bt_make_tree src/pkg
	bt_sign_pkg src/pkg
	mkdir bad
	cp -r src/pkg bad/pkg
	flip_byte bad/pkg/big.bin 1500000
	flip_byte bad/pkg/sub/deeper/c 100
}

# nothing outside out/.hp-partial differs from the original, and the two
# corrupted files are not in place
no_bad_bytes_placed() {
	local f
	while IFS= read -r -d '' f; do
		cmp "$f" "src/pkg/${f#out/}" || {
			echo "hp-fetch placed $f with bytes that are not the original's" >&2
			return 1
		}
	done < <(find out -path out/.hp-partial -prune -o -type f -print0)
	[ ! -e out/big.bin ]
	[ ! -e out/sub/deeper/c ]
}

# evil_round FLAVOUR: no out/, a FLAVOUR.torrent of src/pkg, and the evil
# peer serving bad/ for it
evil_round() {
	rm -rf out
	hp-mktorrent --"$1" --no-date -o "$1.torrent" src/pkg >/dev/null
	evil_start "$1.torrent" bad
}

@test "an evil peer serving corrupted pieces (v1, v2, hybrid): hp-fetch fails, no bad byte in place, a rerun from a good peer completes" {
	make_bad_copy
	local f
	for f in v1 v2 hybrid; do
		evil_round "$f"
		TORRENT=$f.torrent FETCH_TIMEOUT=5 fetch_from "127.0.0.1:$EVIL_PORT"
		# a failure (a timeout once libtorrent stops taking its data), not a
		# crash, and not success
		((status != 0 && status < 126)) || {
			echo "$f: hp-fetch exited with $status: $stderr" >&2
			return 1
		}
		evil_stop
		# the peer did send data, and libtorrent caught a bad piece
		jq -e -s 'last | .uploaded > 0' evil.out >/dev/null
		jq -e -s '.[-1].summary.sources[0].hash_failures >= 1' <<<"$output" >/dev/null || {
			echo "$f: $output" >&2
			return 1
		}
		jq -e -s 'map(select(.path == "big.bin")) | .[0].status == "failed"' <<<"$output" >/dev/null
		no_bad_bytes_placed
		# what the failed run kept (.hp-partial, resume data) holds no bad
		# piece taken as good: from an honest seed it ends verified
		bt_seed_start "$f.torrent" --content src --tracker-off
		TORRENT=$f.torrent fetch_from "127.0.0.1:$SEED_PORT"
		fetched_all
		bt_seed_stop
	done
}

@test "an evil peer beside an honest one (v1, v2, hybrid): hp-fetch gets the right bytes" {
	make_bad_copy
	local f
	for f in v1 v2 hybrid; do
		evil_round "$f"
		bt_seed_start "$f.torrent" --content src --tracker-off
		TORRENT=$f.torrent fetch_from "127.0.0.1:$EVIL_PORT" "127.0.0.1:$SEED_PORT"
		fetched_all
		evil_stop
		bt_seed_stop
	done
}

# libtorrent bans a peer for a bad piece, and 2.0's trust points (a 4-bit
# field counted up to 8, which wraps to -8) also ban an honest peer that sent
# 8 to 11 good pieces when it shares a bad one: a session never dials a
# banned peer again, so hp-fetch starts a new one from its resume data once
# no peer is left after a hash failure. Here the banned --peer's port is
# taken over by an honest seed: without the new session nothing would dial it.
@test "a --peer banned for a bad piece is dialled again by a new session: the honest seed now on its port completes the fetch" {
	make_bad_copy
	evil_round hybrid
	local port=$EVIL_PORT rc=0
	timeout 120 hp-fetch -k keys/pub.pub --torrent hybrid.torrent --peer "127.0.0.1:$port" \
		--bt-listen 127.0.0.1:0 m.json -o out >fetch.out 2>fetch.err 3>&- &
	local pid=$!
	BT_PIDS+=("$pid")
	_hp_watchdog "$pid" >/dev/null
	# hp-fetch dropped the evil peer: it banned it for its bad piece
	wait_for "$pid" 600 jq -r 'select(.disconnected) | .reason' evil.out >/dev/null || {
		echo "hp-fetch never dropped the evil peer:" >&2
		cat evil.out fetch.out fetch.err >&2
		return 1
	}
	evil_stop
	bt_seed_start hybrid.torrent --content src --tracker-off --listen "127.0.0.1:$port"
	wait "$pid" || rc=$?
	status=$rc output=$(cat fetch.out) stderr=$(cat fetch.err)
	fetched_all
	jq -e -s '.[-1].summary.sources[0] | .hash_failures >= 1 and .restarts >= 1' <<<"$output" >/dev/null || {
		echo "$output" >&2
		return 1
	}
	bt_seed_stop
}

@test "an evil peer, then an IPFS gateway (kubo): hp-fetch falls back and places the right bytes" {
	make_bad_copy
	# the manifest in the unixfs-v1-2025 profile, the tree in kubo as the
	# CAR hp-cid writes
	hp-manifest create --name pkg --version 1.0.0 --profile unixfs-v1-2025 -o m.json src/pkg
	hp-sign manifest keys/pub.pem m.json -o m.json
	kubo_start unixfs-v1-2025
	hp-cid --profile unixfs-v1-2025 --car pkg.car src/pkg >/dev/null
	local root
	root=$(ipfs dag import pkg.car | awk '/^Pinned root/ {print $3}')
	[ "$root" = "$(jq -r .distribution.ipfs_cid m.json)" ]
	hp-mktorrent --no-date -o pkg.torrent src/pkg >/dev/null
	evil_start pkg.torrent bad
	run --separate-stderr timeout 120 hp-fetch -k keys/pub.pub --torrent pkg.torrent --peer "127.0.0.1:$EVIL_PORT" \
		--listen 127.0.0.1:0 --timeout 5 --gateway "$KUBO_GATEWAY" --no-manifest-gateway m.json -O out
	evil_stop
	fetched_in_place
	# BitTorrent caught the bad piece and gave up; the gateway delivered
	jq -e -s '.[-1].summary.sources | (.[0].source | startswith("bittorrent ")) and .[0].status == "failed"
		and .[0].hash_failures >= 1 and .[1].status == "ok"' <<<"$output" >/dev/null || {
		echo "$output" >&2
		return 1
	}
	jq -e -s 'map(select(.path == "big.bin")) | .[0].status == "fetched" and (.[0].source | startswith("bittorrent") | not)' \
		<<<"$output" >/dev/null
}
