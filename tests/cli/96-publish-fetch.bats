#!/usr/bin/env bats
# hybrid-p2p publish and fetch end to end, all on 127.0.0.1: a bare registry
# served by the real `git http-backend` with a token, a real kubo daemon
# (tests/lib/kubo.bash) and a real one-peer IPFS Cluster in front of it
# (tests/lib/cluster.bash: REST API and Pinning Service API), hp-seed
# seeding from `publish --seed`, and fetches into empty folders over
# BitTorrent and through kubo's gateway.

load helpers
load ../lib/registry
load ../lib/kubo
load ../lib/cluster

setup_file() {
	export PATH=$HP_BIN:$PATH
	kubo_start unixfs-v1-2025 || return
	cluster_start || return
}

teardown_file() {
	cluster_stop
	kubo_stop
}

setup() {
	setup_scratch
	export HOME=$SCRATCH/home
	mkdir -p "$HOME"
	unset HP_REGISTRY HP_REGISTRY_TOKEN HP_REGISTRY_CACHE HP_TRUSTED_KEYS XDG_CACHE_HOME
	mkdir -p data/sub/deeper
	echo hello >data/a.txt
	head -c 2000000 /dev/urandom >data/big.bin
	head -c 70001 /dev/urandom >data/sub/deeper/c.bin
	: >data/sub/empty
	hybrid-p2p keygen -O keys -n k >/dev/null
	PUB_PID=
}

teardown() {
	if [ -n "${PUB_PID:-}" ]; then
		kill "$PUB_PID" 2>/dev/null || true
		wait "$PUB_PID" 2>/dev/null || true
	fi
	githttp_stop
}

step() {
	jq -c "select(.step == \"$1\")" <<<"$output"
}

# publish_seed VERSION URL [ARGS...]: publish --seed in the background;
# sets PUB_PID and SEED_PORT once the seeder listens.
publish_seed() {
	local v=$1 url=$2
	shift 2
	hybrid-p2p publish data --name ds --version "$v" --uploader-id me@example.org \
		--key keys/k.pem --output "out/ds-$v.json" --registry "$url" \
		--seed --listen 127.0.0.1:0 "$@" >publish.out 2>publish.err 3>&- &
	PUB_PID=$!
	SEED_PORT=$(wait_for "$PUB_PID" 300 listening_port) || {
		echo "publish --seed did not start seeding:" >&2
		cat publish.out publish.err >&2
		return 1
	}
}

# the port in the seeder's "listening" event in publish.err
listening_port() {
	grep '^{"event"' publish.err | jq -r 'select(.event == "listening" and .metrics == null) | .port' | head -n1
}

# stop_publish: SIGTERM; publish must exit 0 with the seed step stopped
stop_publish() {
	local pid=$PUB_PID
	PUB_PID=
	stop_ok TERM "$pid" "publish --seed" publish.err &&
		[ "$(jq -r 'select(.step == "seed") | .status' publish.out | tail -n1)" = stopped ]
}

# publish_file [ARGS...]: publish data as ds 1.0.0 to out/ds.json and the
# registry srv/reg.git over file://, within 120 s
publish_file() {
	timeout 120 hybrid-p2p publish data --name ds --version 1.0.0 --uploader-id me@example.org \
		--key keys/k.pem --output out/ds.json --registry "file://$PWD/srv/reg.git" "$@"
}

@test "publish --seed --metrics: the seeder's metrics are served while it seeds (hp_seed_torrents 1, promtool accepts them); --metrics without --seed is a usage error" {
	bare_registry reg
	local mport
	mport=$(free_port)
	publish_seed 1.0.0 "file://$PWD/srv/reg.git" --metrics "127.0.0.1:$mport"
	[ "$(grep '^{"event"' publish.err | jq -r 'select(.event == "listening" and .metrics != null) | .port')" = "$mport" ]
	wait_for "$PUB_PID" 300 bash -c "curl -fsS http://127.0.0.1:$mport/metrics | grep -x 'hp_seed_torrents 1'" >/dev/null
	curl -fsS "http://127.0.0.1:$mport/metrics" | promtool check metrics
	stop_publish
	run --separate-stderr publish_file --metrics "127.0.0.1:$mport"
	[ "$status" -eq 64 ]
	[[ $stderr == *"--metrics goes with --seed"* ]]
}

@test "publish to a bare registry over HTTP, seed; fetch name@version into an empty folder over BitTorrent; verify" {
	bare_registry reg
	export SERVER_TOKEN=tok-$RANDOM
	githttp_start SERVER_TOKEN
	export HP_REGISTRY_TOKEN=$SERVER_TOKEN
	url=$GITHTTP_URL/reg.git
	publish_seed 1.0.0 "$url"
	[ "$(jq -r 'select(.step == "registry") | .status' publish.out)" = ok ]
	[ "$(jq -r 'select(.step == "torrent") | .status' publish.out)" = ok ]
	[ "$(jq -r 'select(.step == "car") | .status' publish.out)" = ok ]
	# another machine: its own cache, an empty folder, the publisher's key trusted
	run --separate-stderr timeout 120 hybrid-p2p fetch ds@1.0.0 -O "$SCRATCH/got" --registry "$url" \
		--registry-cache "$SCRATCH/client-cache" --trusted-keys keys/k.pub --state state.json \
		--peer "127.0.0.1:$SEED_PORT" --listen 127.0.0.1:0 --save-manifest got.json
	assert_success
	[ "$(step registry | jq -r .version)" = 1.0.0 ]
	[ "$(step verify | jq -r .status)" = ok ]
	[ "$(jq -r 'select(.summary) | .summary.fetched' <<<"$output")" = 4 ]
	jq -e -s '[.[] | select(.path and .size > 0)] | length == 3 and all(.source | startswith("bittorrent"))' <<<"$output" >/dev/null
	diff -r data got
	cmp got.json out/ds-1.0.0.json
	run --separate-stderr hybrid-p2p verify got.json got --trusted-keys keys/k.pub
	assert_success
	[ "$(jq -r .valid <<<"$output")" = true ]
	[ "$(jq -r .manifests.ds.version state.json)" = 1.0.0 ]
	stop_publish
}

@test "publish --kubo pins the CAR; fetch by name through kubo's gateway" {
	bare_registry reg
	run --separate-stderr publish_file --kubo "$KUBO_API"
	assert_success
	[ "$(step pin | jq -r .status)" = ok ]
	[ "$(step pin | jq -r '.records[0].status')" = pinned ]
	cid=$(jq -r .distribution.ipfs_cid out/ds.json)
	ipfs pin ls --type=recursive "$cid" >/dev/null
	run --separate-stderr timeout 120 hybrid-p2p fetch ds -O got --registry "file://$PWD/srv/reg.git" \
		--trusted-keys keys/k.pub --gateway "$KUBO_GATEWAY"
	assert_success
	# the gateway named on the command line comes before the registry's swarm (docs/fetch.md)
	[ "$(jq -r '.summary.sources[0].source' <<<"$(jq -c 'select(.summary)' <<<"$output")")" = "gateway $KUBO_GATEWAY" ]
	jq -e -s '[.[] | select(.path)] | length == 4 and all(.status == "fetched" and (.source | test("gateway")))' <<<"$output" >/dev/null
	diff -r data got
}

@test "publish --kubo --cluster --psa: the CAR on kubo, then pinned by IPFS Cluster through its REST API and its Pinning Service API" {
	bare_registry reg
	local token cid
	token=$(cluster_pinsvc_token)
	HP_PSA_TOKEN=$token run --separate-stderr publish_file --kubo "$KUBO_API" --cluster "$CLUSTER_API" \
		--psa "$CLUSTER_PINSVC"
	assert_success
	[ "$(jq -s -c 'map(select(.step == "pin")) | map([.kind, .status])' <<<"$output")" = \
		'[["kubo","ok"],["cluster","ok"],["psa","ok"]]' ]
	cid=$(jq -r .distribution.ipfs_cid out/ds.json)
	[ "$(step pin | jq -s -r '.[1].records[0].cid')" = "$cid" ]
	[ "$(step pin | jq -s -r '.[2].records[0].status')" = pinned ]
	[ "$(step registry | jq -r .status)" = ok ]
	# the cluster says so itself
	run --separate-stderr hp-pin status --cluster "$CLUSTER_API" "$cid"
	assert_success
	[ "$(jq -r .status <<<"$output")" = pinned ]
	[ "$(cluster_ctl status "$cid" | grep -c PINNED)" -ge 1 ]
}

@test "a failing destination gets its own line and status; a re-run completes the rest" {
	bare_registry reg
	run_fails 69 publish_file --kubo http://127.0.0.1:9 --kubo "$KUBO_API"
	[ "$(jq -s -c 'map(select(.step == "pin")) | map(.status)' <<<"$output")" = '["failed","ok"]' ]
	[ "$(jq -s -r 'map(select(.step == "pin"))[0].exit' <<<"$output")" = 69 ]
	[ "$(step registry | jq -r .status)" = ok ]
	commit=$(step registry | jq -r .commit)
	cp out/ds.json first.json
	# the node is fixed: the same command completes, nothing is signed or committed again
	run --separate-stderr publish_file --kubo "$KUBO_API"
	assert_success
	[ "$(step manifest | jq -r .status)" = unchanged ]
	[ "$(step pin | jq -r .status)" = ok ]
	[ "$(step registry | jq -r .status)" = unchanged ]
	[ "$(step registry | jq -r .commit)" = "$commit" ]
	cmp first.json out/ds.json
}

@test "one plan: a BitTorrent peer named on the command line goes first; when it is dead, the gateway delivers" {
	bare_registry reg
	run --separate-stderr publish_file --kubo "$KUBO_API"
	assert_success
	run --separate-stderr timeout 120 hybrid-p2p fetch ds@1.0.0 -O got --registry "file://$PWD/srv/reg.git" \
		--trusted-keys keys/k.pub --gateway "$KUBO_GATEWAY" --peer 127.0.0.1:9 --timeout 3 --listen 127.0.0.1:0
	assert_success
	# one verification, one summary: BitTorrent tried first and failed, the gateway delivered
	[ "$(jq -s -c 'map(select(.step == "verify")) | length' <<<"$output")" = 1 ]
	[ "$(jq -s -c 'map(select(.summary))[0].summary.sources | map(.source | split(" ")[0])' <<<"$output")" = \
		'["bittorrent","gateway"]' ]
	jq -e -s '[.[] | select(.path and .size > 0)] | length == 3 and all(.source | startswith("gateway"))' <<<"$output" >/dev/null
	diff -r data got
}

@test "fetch of a MANIFEST file with --torrent; an untrusted signer gets nothing fetched" {
	bare_registry reg
	publish_seed 1.0.0 "file://$PWD/srv/reg.git"
	run --separate-stderr timeout 120 hybrid-p2p fetch out/ds-1.0.0.json -O got --trusted-keys keys/k.pub \
		--torrent out/ds-1.0.0.torrent --peer "127.0.0.1:$SEED_PORT" --listen 127.0.0.1:0
	assert_success
	[ "$(step registry)" = "" ]
	diff -r data got
	stop_publish
	# a manifest whose signer is not trusted: nothing is fetched
	hybrid-p2p keygen -O other -n s >/dev/null
	run_fails 1 timeout 60 hybrid-p2p fetch out/ds-1.0.0.json -O got2 --trusted-keys other/s.pub \
		--torrent out/ds-1.0.0.torrent --peer 127.0.0.1:9
	[ ! -e got2 ]
}

@test "no peer at all: the BitTorrent pass gets the files from the torrent's HTTP web seed" {
	bare_registry reg
	mkdir www
	ln -s ../data www/ds
	python3 -u -m http.server -b 127.0.0.1 -d www 0 >http.log 2>&1 3>&- &
	HTTP_PID=$!
	port=$(wait_for "$HTTP_PID" 100 sed -n 's/.* port \([0-9]*\) .*/\1/p; T; q' http.log) ||
		fail "python3 -m http.server did not start: $(cat http.log)"
	run --separate-stderr publish_file --web-seed "http://127.0.0.1:$port/"
	assert_success
	[ "$(jq -c .distribution.web_seeds out/ds.json)" = "[\"http://127.0.0.1:$port/\"]" ]
	run --separate-stderr timeout 120 hybrid-p2p fetch ds@1.0.0 -O got --registry "file://$PWD/srv/reg.git" \
		--trusted-keys keys/k.pub --gateway http://127.0.0.1:9 --listen 127.0.0.1:0 --timeout 20
	kill "$HTTP_PID"
	wait "$HTTP_PID" || true
	assert_success
	[ "$(jq -s -r 'map(select(.summary))[-1].summary.fetched' <<<"$output")" = 4 ]
	diff -r data got
	grep -q 'GET /ds/big.bin' http.log
}
