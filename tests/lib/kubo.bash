# A throwaway kubo (IPFS) daemon on 127.0.0.1 for bats files and scripts.
#
#   load ../lib/kubo
#   setup_file()    { kubo_start || return; }          # kubo's default profile
#   setup_file()    { kubo_start unixfs-v1-2025 || return; }
#   teardown_file() { kubo_stop; }
#
# kubo_start [PROFILE...] = kubo_init [PROFILE...] && kubo_daemon. Call the two
# halves to change the config in between:
#   kubo_init && ipfs config --json Import.CidVersion 1 && kubo_daemon
#
# After kubo_daemon these are exported (for the daemon started last):
#   IPFS_PATH          the repository (under BATS_FILE_TMPDIR), so `ipfs` talks to it
#   KUBO_API           http://127.0.0.1:PORT   (RPC: POST $KUBO_API/api/v0/...)
#   KUBO_API_MADDR     /ip4/127.0.0.1/tcp/PORT (what ipfs-cluster and `ipfs --api` take)
#   KUBO_GATEWAY       http://127.0.0.1:PORT   (path gateway, trustless responses)
#   KUBO_PID, KUBO_LOG the daemon's pid and its stdout+stderr
#   KUBO_BIN           the ipfs binary; its directory is put first on PATH
#
# The daemon runs with --offline (no libp2p at all: add, cat, pin, dag
# import/export, block and the gateway work; swarm and routing do not). Set
# KUBO_OFFLINE=0 for a networked node: the `test` profile still keeps it on
# 127.0.0.1 with random ports, no bootstrap peers, no mDNS, no NAT mapping.
#
# Several daemons may run at once (each has its own repository and random
# ports). kubo_stop stops every daemon this shell started; it is safe to call
# twice. Each daemon also has a watchdog that kills it when the shell that
# started it (the bats file's process) goes away, so a killed or crashed test
# run never leaves one behind.

KUBO_VERSION=0.43.1

# The ipfs binary: $KUBO_BIN, else .cache/bin/ipfs (scripts/build-kubo), else PATH.
kubo_find() {
	local root=${HP_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
	if [[ -z ${KUBO_BIN:-} ]]; then
		if [[ -x $root/.cache/bin/ipfs ]]; then
			KUBO_BIN=$root/.cache/bin/ipfs
		else
			KUBO_BIN=$(command -v ipfs) || {
				echo "kubo: no ipfs binary: run scripts/build-kubo (or set KUBO_BIN)" >&2
				return 1
			}
		fi
	fi
	local v
	v=$("$KUBO_BIN" version 2>&1) || {
		echo "kubo: '$KUBO_BIN version' failed: $v" >&2
		return 1
	}
	if [[ $v != "ipfs version $KUBO_VERSION" ]]; then
		echo "kubo: '$KUBO_BIN' is '$v', the tests pin $KUBO_VERSION: run scripts/build-kubo" >&2
		return 1
	fi
	export KUBO_BIN
	case ":$PATH:" in
	*":${KUBO_BIN%/*}:"*) ;;
	*) export PATH=${KUBO_BIN%/*}:$PATH ;;
	esac
}

# kubo_init [PROFILE...]: a new repository with `ipfs init --profile=test[,PROFILE...]`.
kubo_init() {
	kubo_find || return
	local parent=${BATS_FILE_TMPDIR:-${HP_DAEMON_TMPDIR:-${TMPDIR:-/tmp}}}
	IPFS_PATH=$(mktemp -d "$parent/kubo.XXXXXX") || return
	export IPFS_PATH
	local profiles=test p out
	for p in "$@"; do
		profiles+=,$p
	done
	out=$("$KUBO_BIN" init --profile="$profiles" 2>&1) || {
		echo "kubo: ipfs init --profile=$profiles failed: $out" >&2
		return 1
	}
	# Serve only what is in the local blockstore; never ask the network.
	# (The test profile already keeps every address on 127.0.0.1.)
	"$KUBO_BIN" config --json Gateway.NoFetch true &&
		"$KUBO_BIN" config --json Provide.Enabled false || {
		echo "kubo: cannot configure $IPFS_PATH" >&2
		return 1
	}
}

# kubo_daemon: start `ipfs daemon` on the repository kubo_init made and wait
# until its RPC API answers (at most KUBO_START_TIMEOUT seconds, default 60).
kubo_daemon() {
	[[ -n ${IPFS_PATH:-} && -f $IPFS_PATH/config ]] || {
		echo "kubo: kubo_daemon needs kubo_init first" >&2
		return 1
	}
	local args=(daemon)
	[[ ${KUBO_OFFLINE:-1} == 0 ]] || args+=(--offline)
	KUBO_LOG=$IPFS_PATH/daemon.log
	# fd 3 is bats' output channel: a background child holding it open makes
	# bats wait for it forever.
	"$KUBO_BIN" "${args[@]}" </dev/null >"$KUBO_LOG" 2>&1 3>&- &
	KUBO_PID=$!
	echo "$KUBO_PID" >"$IPFS_PATH/daemon.pid"
	KUBO_PIDS="${KUBO_PIDS:-} $KUBO_PID"
	export KUBO_LOG KUBO_PID KUBO_PIDS
	_hp_watchdog "$KUBO_PID" >"$IPFS_PATH/watchdog.pid"

	local limit=$((SECONDS + ${KUBO_START_TIMEOUT:-60})) maddr="" port=""
	while :; do
		if ! kill -0 "$KUBO_PID" 2>/dev/null; then
			echo "kubo: daemon exited during start-up; its log ($KUBO_LOG):" >&2
			sed 's/^/  /' "$KUBO_LOG" >&2
			kubo_stop
			return 1
		fi
		if [[ -s $IPFS_PATH/api && -s $IPFS_PATH/gateway ]]; then
			maddr=$(<"$IPFS_PATH/api")
			port=${maddr##*/tcp/}
			port=${port%%/*}
			KUBO_API=http://127.0.0.1:$port
			KUBO_GATEWAY=$(<"$IPFS_PATH/gateway")
			if curl -fsS -o /dev/null --max-time 5 -X POST "$KUBO_API/api/v0/id" 2>/dev/null; then
				break
			fi
		fi
		if ((SECONDS >= limit)); then
			echo "kubo: daemon not ready after ${KUBO_START_TIMEOUT:-60} s (api file: '${maddr:-none}'); its log ($KUBO_LOG):" >&2
			sed 's/^/  /' "$KUBO_LOG" >&2
			kubo_stop
			return 1
		fi
		sleep 0.1
	done
	KUBO_API_MADDR=$maddr
	export KUBO_API KUBO_API_MADDR KUBO_GATEWAY
}

kubo_start() {
	kubo_init "$@" && kubo_daemon
}

# kubo_rpc COMMAND [curl args...]: POST $KUBO_API/api/v0/COMMAND, fail on HTTP errors.
#   kubo_rpc 'pin/ls?arg=CID&type=recursive'
kubo_rpc() {
	local cmd=$1
	shift
	curl -sS --fail-with-body --max-time "${KUBO_RPC_TIMEOUT:-60}" -X POST "$@" "$KUBO_API/api/v0/$cmd"
}

# kubo_stop: stop every daemon kubo_daemon started in this shell (SIGTERM,
# then SIGKILL after 10 s). Safe to call twice and when none is running.
kubo_stop() {
	local pid
	for pid in ${KUBO_PIDS:-}; do
		_hp_stop_pid "$pid" ipfs
	done
	KUBO_PIDS=
	export KUBO_PIDS
}

# The helpers below are shared with cluster.bash.

# _hp_watchdog PID: a background process that kills PID when the current
# shell ($$: the bats file's process, or the script) is gone. Prints its pid.
_hp_watchdog() {
	local target=$1 owner=$$
	(
		trap '' INT
		while kill -0 "$owner" 2>/dev/null && kill -0 "$target" 2>/dev/null; do
			sleep 1
		done
		if kill -0 "$target" 2>/dev/null; then
			kill -TERM "$target" 2>/dev/null
			sleep 5
			kill -KILL "$target" 2>/dev/null
		fi
	) </dev/null >/dev/null 2>&1 3>&- &
	echo $!
}

# _hp_reap PID [TRIES]: wait until PID has exited (a zombie counts), one
# look every 0.1 s, at most TRIES looks (default 100: 10 s), then SIGKILL it;
# reap it if it is our child. Returns 0.
_hp_reap() {
	local pid=$1 i
	for ((i = 0; i < ${2:-100}; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		# a zombie (exited, not yet reaped) counts as stopped
		[[ $(ps -o stat= -p "$pid" 2>/dev/null) == Z* ]] && break
		sleep 0.1
	done
	kill -0 "$pid" 2>/dev/null && [[ $(ps -o stat= -p "$pid" 2>/dev/null) != Z* ]] &&
		kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	return 0
}

# _hp_stop_pid PID NAME: SIGTERM, then _hp_reap. Only signals PID while it
# is still the program NAME (a recycled pid is left alone, only reaped if it
# is our child; comm is NAME cut to 15 characters).
_hp_stop_pid() {
	local pid=$1 name=$2 comm
	[[ -n $pid ]] || return 0
	comm=$(ps -o comm= -p "$pid" 2>/dev/null)
	if [[ -n $comm && $name == "$comm"* ]]; then
		kill -TERM "$pid" 2>/dev/null
		_hp_reap "$pid"
	fi
	wait "$pid" 2>/dev/null
	return 0
}
