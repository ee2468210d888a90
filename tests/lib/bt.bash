# Shared BitTorrent helpers for bats files: real clients on 127.0.0.1 with
# random ports, each in a private folder of the test's scratch directory.
#
#   load helpers
#   load ../lib/bt
#   setup()    { setup_scratch; bt_setup; }
#   teardown() { bt_teardown; }
#
# bt_need TOOL...      fail (never skip) naming scripts/install-deps when a
#                      tool is missing: a command (helpers.bash's need), or
#                      "libtorrent" for Debian's python3-libtorrent
# bt_make_tree DIR     a file spanning many pieces (3 MB), small files, an
#                      empty one, nested folders
# bt_same SRC DST      the two trees hold the same files with the same bytes
# bt_sign_pkg DIR [NAME [HP-MANIFEST OPTIONS...]]  keys/ (key pub) and
#                      m.json, a signed manifest of DIR (name NAME, default
#                      pkg; version 1.0.0) with no torrent fields, so that any
#                      torrent of DIR may be used with it (a manifest's signed
#                      infohashes bind the torrent); --canonical-torrent
#                      among the options keeps them (the canonical torrent's)
# bt_seed_start ARGS...  hp-seed --listen 127.0.0.1:0 ARGS... in the
#                      background, events in seed.log; sets SEED_PID, SEED_PORT
#                      (BitTorrent's port, not the one of --metrics)
# bt_seed_stop [SIGNAL]  SIGTERM (or SIGNAL), and require exit 0 and the
#                      stopped event
# Transmission 3.00 (transmission-daemon driven over its RPC with curl):
#   tr_start NAME      a daemon with its own config dir NAME/, download dir
#                      NAME/dl, peer port TR_PEER_PORT, RPC port TR_RPC_PORT
#   tr_rpc JSON        one RPC call (the X-Transmission-Session-Id handshake
#                      included); prints the answer
#   tr_add TORRENT [DIR]  add it (downloading into DIR, else NAME/dl); prints
#                      the hashString
#   tr_wait_done HASH [SECS]  until percentDone is 1 (and it is not checking);
#                      fails on a torrent error or at the deadline
#   tr_stop            stop the daemon (also done by bt_teardown)
# The evil peer (tests/lib/evilpeer.py, python3-libtorrent serving whatever
# bytes it has, unchecked):
#   evil_start TORRENT SAVE_DIR [--peer IP:PORT]...  sets EVIL_PID, EVIL_PORT
#   evil_stop          SIGTERM; its last line (uploaded bytes) in evil.out,
#                      after a {"disconnected": ...} line for each peer that
#                      dropped it
#
# Every daemon started here gets a watchdog (kubo.bash's _hp_watchdog) that
# kills it if the bats process goes away, and bt_teardown kills whatever is
# still running. helpers.bash has need, free_port, wait_port, wait_for and
# stop_ok.

BT_PY=/usr/bin/python3  # Debian's, where python3-libtorrent lives
BT_LIB=${HP_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}/tests/lib

# the process helpers (_hp_watchdog, _hp_reap) live in kubo.bash
# shellcheck source=tests/lib/kubo.bash
declare -F _hp_reap >/dev/null || source "$BT_LIB/kubo.bash"

bt_setup() {
	BT_PIDS=()
	SEED_PID=
	EVIL_PID=
	TR_PID=
}

bt_teardown() {
	local p
	for p in ${SEED_PID:-} ${EVIL_PID:-} ${TR_PID:-} "${BT_PIDS[@]}"; do
		[ -n "$p" ] || continue
		kill -TERM "$p" 2>/dev/null || continue
	done
	for p in ${SEED_PID:-} ${EVIL_PID:-} ${TR_PID:-} "${BT_PIDS[@]}"; do
		[ -n "$p" ] && _hp_reap "$p" 50
	done
	SEED_PID='' EVIL_PID='' TR_PID=''
	BT_PIDS=()
}

bt_need() {
	local t
	for t in "$@"; do
		if [ "$t" = libtorrent ]; then
			"$BT_PY" -c 'import libtorrent' 2>/dev/null || {
				echo "python3-libtorrent is not installed: run scripts/install-deps" >&2
				return 1
			}
		else
			need "$t" || return 1
		fi
	done
}

bt_make_tree() {
	mkdir -p "$1/sub/deeper"
	head -c 3000000 /dev/urandom >"$1/big.bin"
	echo hello >"$1/sub/a.txt"
	head -c 70001 /dev/urandom >"$1/sub/deeper/c"
	: >"$1/sub/empty"
}

# bt_same SRC DST [--no-empty]: same paths, same bytes. With --no-empty,
# empty files of SRC may be missing from DST (Transmission 3.00 never
# creates them) but nothing else may differ.
bt_same() {
	local src=$1 dst=$2 opt=${3:-} out
	if out=$(diff -r "$src" "$dst" 2>&1); then
		return 0
	fi
	if [ "$opt" = --no-empty ]; then
		local line rest f bad=0
		while IFS= read -r line; do
			if [[ $line == "Only in $src"* && $line == *": "* ]]; then
				rest=${line#Only in }
				f="${rest%%: *}/${rest#*: }"
				[ -f "$f" ] && [ ! -s "$f" ] && continue
			fi
			bad=1
		done <<<"$out"
		((bad == 0)) && return 0
	fi
	echo "$src and $dst differ:" >&2
	echo "$out" >&2
	return 1
}

bt_sign_pkg() {
	local dir=$1 name=${2:-pkg} torrent=--no-torrent a
	shift $(($# < 2 ? $# : 2))
	local args=()
	for a in "$@"; do
		if [ "$a" = --canonical-torrent ]; then torrent=; else args+=("$a"); fi
	done
	hp-sign keygen -O keys -n pub >/dev/null
	hp-manifest create --name "$name" --version 1.0.0 ${torrent:+"$torrent"} "${args[@]}" -o m.json "$dir"
	hp-sign manifest keys/pub.pem m.json -o m.json
}

# _bt_first FILE JQ-FILTER: the first line jq prints for FILE.
_bt_first() {
	jq -r "$2" "$1" | head -n1
}

# ---- hp-seed ----

bt_seed_start() {
	: >seed.log # not the last run's port
	hp-seed --listen 127.0.0.1:0 "$@" 2>seed.log >/dev/null 3>&- &
	SEED_PID=$!
	_hp_watchdog "$SEED_PID" >/dev/null
	# shellcheck disable=SC2034 # for the bats file
	SEED_PORT=$(wait_for "$SEED_PID" 300 _bt_first seed.log 'select(.event == "listening" and .metrics == null) | .port') || {
		echo "hp-seed did not start listening:" >&2
		cat seed.log >&2
		return 1
	}
}

bt_seed_stop() {
	local pid=$SEED_PID
	SEED_PID=
	stop_ok "${1:-TERM}" "$pid" hp-seed seed.log &&
		jq -e -s 'map(select(.event == "stopped")) | length == 1' seed.log >/dev/null
}

# ---- Transmission 3.00 ----

tr_start() {
	bt_need transmission-daemon transmission-remote curl || return 1
	TR_DIR=$PWD/$1
	mkdir -p "$TR_DIR/cfg" "$TR_DIR/dl"
	TR_RPC_PORT=$(free_port)
	TR_PEER_PORT=$(free_port)
	# Loopback only, no DHT/LPD/PEX/uTP/port mapping, no limits, no auth on
	# 127.0.0.1; everything it downloads goes straight to dl/ (no
	# incomplete dir, .part names while incomplete).
	jq -n --argjson rpc "$TR_RPC_PORT" --argjson peer "$TR_PEER_PORT" --arg dl "$TR_DIR/dl" '{
		"rpc-enabled": true, "rpc-port": $rpc, "rpc-bind-address": "127.0.0.1",
		"rpc-authentication-required": false,
		"rpc-whitelist-enabled": true, "rpc-whitelist": "127.0.0.1",
		"rpc-host-whitelist-enabled": false,
		"peer-port": $peer, "peer-port-random-on-start": false,
		"bind-address-ipv4": "127.0.0.1", "bind-address-ipv6": "::1",
		"dht-enabled": false, "lpd-enabled": false, "pex-enabled": false,
		"utp-enabled": false, "port-forwarding-enabled": false,
		"download-dir": $dl, "incomplete-dir-enabled": false, "watch-dir-enabled": false,
		"encryption": 1, "blocklist-enabled": false,
		"ratio-limit-enabled": false, "idle-seeding-limit-enabled": false,
		"speed-limit-down-enabled": false, "speed-limit-up-enabled": false,
		"alt-speed-enabled": false, "queue-stalled-enabled": false,
		"download-queue-enabled": false, "seed-queue-enabled": false,
		"start-added-torrents": true, "rename-partial-files": true,
		"message-level": 2
	}' >"$TR_DIR/cfg/settings.json"
	transmission-daemon -f -g "$TR_DIR/cfg" --logfile "$TR_DIR/log" >"$TR_DIR/out" 2>&1 3>&- &
	TR_PID=$!
	_hp_watchdog "$TR_PID" >/dev/null
	if ! { wait_port "$TR_RPC_PORT" 100 && wait_port "$TR_PEER_PORT" 100; }; then
		echo "transmission-daemon did not start:" >&2
		cat "$TR_DIR/out" "$TR_DIR/log" >&2
		return 1
	fi
	local v
	v=$(tr_rpc '{"method":"session-get"}' | jq -r .arguments.version)
	[[ $v == 3.* ]] || {
		echo "transmission-daemon is '$v', the tests know 3.00" >&2
		return 1
	}
}

tr_rpc() {
	local url="http://127.0.0.1:$TR_RPC_PORT/transmission/rpc" sid
	sid=$(curl -s -D - -o /dev/null "$url" | tr -d '\r' | sed -n 's/^X-Transmission-Session-Id: //Ip')
	[ -n "$sid" ] || {
		echo "transmission-daemon's RPC gave no session id" >&2
		return 1
	}
	curl -sf -H "X-Transmission-Session-Id: $sid" --data-binary "$1" "$url"
}

tr_add() {
	local args r
	args=$(jq -n --arg m "$(base64 -w0 "$1")" --arg d "${2:-$TR_DIR/dl}" \
		'{method: "torrent-add", arguments: {metainfo: $m, "download-dir": $d}}')
	r=$(tr_rpc "$args") || return 1
	jq -e -r '.arguments["torrent-added"].hashString // empty' <<<"$r" || {
		echo "transmission did not add $1: $r" >&2
		return 1
	}
}

# status: 0 stopped, 1 check-wait, 2 checking, 3 download-wait, 4 downloading,
# 5 seed-wait, 6 seeding
tr_wait_done() {
	local hash=$1 secs=${2:-120} r _
	for _ in $(seq $((secs * 4))); do
		r=$(tr_rpc "$(jq -nc --arg h "$hash" '{method: "torrent-get",
			arguments: {ids: [$h], fields: ["percentDone", "status", "error", "errorString", "hashString"]}}')") ||
			return 1
		if jq -e '.arguments.torrents[0].error != 0' <<<"$r" >/dev/null; then
			echo "transmission: torrent error: $r" >&2
			return 1
		fi
		jq -e '.arguments.torrents[0] | .percentDone == 1 and .status != 1 and .status != 2' \
			<<<"$r" >/dev/null && return 0
		sleep 0.25
	done
	echo "transmission: $hash not complete after $secs s: $r" >&2
	return 1
}

tr_stop() {
	[ -n "${TR_PID:-}" ] || return 0
	kill -TERM "$TR_PID" 2>/dev/null || true
	_hp_reap "$TR_PID"
	TR_PID=
}

# ---- the evil peer ----

evil_start() {
	bt_need libtorrent || return 1
	: >evil.out
	"$BT_PY" "$BT_LIB/evilpeer.py" "$@" >evil.out 2>evil.err 3>&- &
	EVIL_PID=$!
	_hp_watchdog "$EVIL_PID" >/dev/null
	# shellcheck disable=SC2034 # for the bats file
	EVIL_PORT=$(wait_for "$EVIL_PID" 100 _bt_first evil.out 'select(.port and .port != 0) | .port') || {
		echo "the evil peer did not start:" >&2
		cat evil.out evil.err >&2
		return 1
	}
}

evil_stop() {
	local pid=$EVIL_PID
	EVIL_PID=
	stop_ok TERM "$pid" "the evil peer" evil.err
}
