# A throwaway one-peer IPFS Cluster on 127.0.0.1, in front of a kubo started
# with tests/lib/kubo.bash.
#
#   load ../lib/kubo
#   load ../lib/cluster
#   setup_file()    { kubo_start && cluster_start || return; }
#   teardown_file() { cluster_stop; kubo_stop; }
#
# cluster_start exports (for the peer started last):
#   IPFS_CLUSTER_PATH    its configuration and state (under BATS_FILE_TMPDIR)
#   CLUSTER_API          http://127.0.0.1:PORT   REST API (like :9094), no auth
#   CLUSTER_API_MADDR    /ip4/127.0.0.1/tcp/PORT (ipfs-cluster-ctl --host)
#   CLUSTER_PINSVC       http://127.0.0.1:PORT   Pinning Service API (like :9097)
#   CLUSTER_PINSVC_USER, CLUSTER_PINSVC_PASSWORD
#                        basic-auth credentials of the Pinning Service API:
#                        `cluster_pinsvc_token` trades them for a bearer token
#   CLUSTER_PROXY        http://127.0.0.1:PORT   IPFS proxy (like :9095) -> kubo
#   CLUSTER_PEER_ID      the cluster peer's ID
#   CLUSTER_PID, CLUSTER_LOG, CLUSTER_BIN_DIR (put first on PATH)
#
# Every listener is configured as /ip4/127.0.0.1/tcp/0, so the kernel picks a
# free port (no race between parallel test files), and the ports are read from
# the daemon's start-up log, then checked with GET /id. The cluster swarm
# listens on 127.0.0.1 too, without mDNS or relay. cluster_stop is safe to call
# twice; a watchdog kills the daemon when the starting shell goes away.

CLUSTER_VERSION=1.1.6

# the process helpers (_hp_watchdog, _hp_stop_pid) live in kubo.bash
declare -F _hp_watchdog >/dev/null || source "$(dirname "${BASH_SOURCE[0]}")/kubo.bash"

cluster_find() {
	local root=${HP_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)} t v
	if [[ -z ${CLUSTER_BIN_DIR:-} ]]; then
		if [[ -x $root/.cache/bin/ipfs-cluster-service ]]; then
			CLUSTER_BIN_DIR=$root/.cache/bin
		else
			t=$(command -v ipfs-cluster-service) || {
				echo "cluster: no ipfs-cluster-service: run scripts/build-cluster (or set CLUSTER_BIN_DIR)" >&2
				return 1
			}
			CLUSTER_BIN_DIR=${t%/*}
		fi
	fi
	for t in ipfs-cluster-service ipfs-cluster-ctl; do
		v=$("$CLUSTER_BIN_DIR/$t" --version 2>&1)
		if [[ $v != "$t version $CLUSTER_VERSION" ]]; then
			echo "cluster: '$CLUSTER_BIN_DIR/$t --version' says '$v', the tests pin $CLUSTER_VERSION: run scripts/build-cluster" >&2
			return 1
		fi
	done
	export CLUSTER_BIN_DIR
	case ":$PATH:" in
	*":$CLUSTER_BIN_DIR:"*) ;;
	*) export PATH=$CLUSTER_BIN_DIR:$PATH ;;
	esac
}

# cluster_start: init a CRDT one-peer cluster whose connector points at
# $KUBO_API_MADDR, start it and wait until it is READY (at most
# CLUSTER_START_TIMEOUT seconds, default 60).
cluster_start() {
	cluster_find || return
	[[ -n ${KUBO_API_MADDR:-} ]] || {
		echo "cluster: no kubo to stand in front of: call kubo_start first" >&2
		return 1
	}
	local parent=${BATS_FILE_TMPDIR:-${HP_DAEMON_TMPDIR:-${TMPDIR:-/tmp}}} out
	IPFS_CLUSTER_PATH=$(mktemp -d "$parent/cluster.XXXXXX") || return
	export IPFS_CLUSTER_PATH
	out=$("$CLUSTER_BIN_DIR/ipfs-cluster-service" init --consensus crdt 2>&1) || {
		echo "cluster: ipfs-cluster-service init failed: $out" >&2
		return 1
	}
	CLUSTER_PINSVC_USER=hp
	CLUSTER_PINSVC_PASSWORD=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
	export CLUSTER_PINSVC_USER CLUSTER_PINSVC_PASSWORD
	local any=/ip4/127.0.0.1/tcp/0 cfg=$IPFS_CLUSTER_PATH/service.json
	jq --arg any "$any" --arg kubo "$KUBO_API_MADDR" \
		--arg user "$CLUSTER_PINSVC_USER" --arg pass "$CLUSTER_PINSVC_PASSWORD" '
		.cluster.peername = "hp-test"
		| .cluster.listen_multiaddress = [$any]
		| .cluster.mdns_interval = "0s"
		| .cluster.enable_relay_hop = false
		| .api.restapi.http_listen_multiaddress = $any
		| .api.pinsvcapi.http_listen_multiaddress = $any
		| .api.pinsvcapi.basic_auth_credentials = {($user): $pass}
		| .api.ipfsproxy.listen_multiaddress = $any
		| .api.ipfsproxy.node_multiaddress = $kubo
		| .ipfs_connector.ipfshttp.node_multiaddress = $kubo
		' "$cfg" >"$cfg.new" && mv "$cfg.new" "$cfg" || {
		echo "cluster: cannot edit $cfg" >&2
		return 1
	}

	CLUSTER_LOG=$IPFS_CLUSTER_PATH/daemon.log
	"$CLUSTER_BIN_DIR/ipfs-cluster-service" daemon </dev/null >"$CLUSTER_LOG" 2>&1 3>&- &
	CLUSTER_PID=$!
	echo "$CLUSTER_PID" >"$IPFS_CLUSTER_PATH/daemon.pid"
	CLUSTER_PIDS="${CLUSTER_PIDS:-} $CLUSTER_PID"
	export CLUSTER_PID CLUSTER_PIDS CLUSTER_LOG
	_hp_watchdog "$CLUSTER_PID" >"$IPFS_CLUSTER_PATH/watchdog.pid"

	local limit=$((SECONDS + ${CLUSTER_START_TIMEOUT:-60})) rest="" psa="" proxy=""
	while :; do
		if ! kill -0 "$CLUSTER_PID" 2>/dev/null; then
			echo "cluster: ipfs-cluster-service exited during start-up; its log ($CLUSTER_LOG):" >&2
			sed 's/^/  /' "$CLUSTER_LOG" >&2
			cluster_stop
			return 1
		fi
		if grep -q 'IPFS Cluster is READY' "$CLUSTER_LOG"; then
			rest=$(sed -n 's|.*RESTAPI (HTTP[^)]*): /ip4/127\.0\.0\.1/tcp/\([0-9]*\).*|\1|p' "$CLUSTER_LOG" | head -1)
			psa=$(sed -n 's|.*PINSVCAPI (HTTP[^)]*): /ip4/127\.0\.0\.1/tcp/\([0-9]*\).*|\1|p' "$CLUSTER_LOG" | head -1)
			proxy=$(sed -n 's|.*IPFS Proxy: /ip4/127\.0\.0\.1/tcp/\([0-9]*\) .*|\1|p' "$CLUSTER_LOG" | head -1)
			if [[ -n $rest && -n $psa && -n $proxy ]] &&
				CLUSTER_PEER_ID=$(curl -fsS --max-time 5 "http://127.0.0.1:$rest/id" | jq -er .id); then
				break
			fi
		fi
		if ((SECONDS >= limit)); then
			echo "cluster: not ready after ${CLUSTER_START_TIMEOUT:-60} s (REST port '${rest:-?}', pinsvc '${psa:-?}', proxy '${proxy:-?}'); its log ($CLUSTER_LOG):" >&2
			sed 's/^/  /' "$CLUSTER_LOG" >&2
			cluster_stop
			return 1
		fi
		sleep 0.2
	done
	CLUSTER_API=http://127.0.0.1:$rest
	CLUSTER_API_MADDR=/ip4/127.0.0.1/tcp/$rest
	CLUSTER_PINSVC=http://127.0.0.1:$psa
	CLUSTER_PROXY=http://127.0.0.1:$proxy
	export CLUSTER_API CLUSTER_API_MADDR CLUSTER_PINSVC CLUSTER_PROXY CLUSTER_PEER_ID
}

# cluster_ctl ARGS...: ipfs-cluster-ctl against the REST API of the last peer.
cluster_ctl() {
	"$CLUSTER_BIN_DIR/ipfs-cluster-ctl" --host "$CLUSTER_API_MADDR" "$@"
}

# cluster_pinsvc_token: print a bearer token for the Pinning Service API
# (POST /token with the basic-auth credentials).
cluster_pinsvc_token() {
	curl -fsS --max-time 10 -X POST -u "$CLUSTER_PINSVC_USER:$CLUSTER_PINSVC_PASSWORD" \
		"$CLUSTER_PINSVC/token" | jq -er .token
}

# cluster_stop: stop every cluster peer cluster_start started in this shell.
cluster_stop() {
	local pid
	for pid in ${CLUSTER_PIDS:-}; do
		_hp_stop_pid "$pid" ipfs-cluster-service
	done
	CLUSTER_PIDS=
	export CLUSTER_PIDS
}
