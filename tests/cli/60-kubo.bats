#!/usr/bin/env bats
# Smoke tests of the real IPFS components the IPFS tests rely on: kubo
# (scripts/build-kubo), IPFS Cluster (scripts/build-cluster), Debian's ipfs_cid
# and the npm ipfs-unixfs-importer (tests/node), all on 127.0.0.1. They need no
# project binary; they fail (never skip) when a component is missing.

load helpers
load ../lib/kubo
load ../lib/cluster

# kubo's deterministic test bytes: ChaCha20 keystream of key SHA-256(seed)
seeded() { # SIZE SEED
	head -c "$1" /dev/zero |
		openssl enc -chacha20 -K "$(printf %s "$2" | sha256sum | cut -d' ' -f1)" -iv 00000000000000000000000000000000
}

setup_file() {
	# kubo's default profile (unixfs-v0-2015) with a cluster in front of it ...
	kubo_start || return
	export V0_PATH=$IPFS_PATH V0_API=$KUBO_API V0_GATEWAY=$KUBO_GATEWAY V0_PID=$KUBO_PID
	cluster_start || return
	# ... and a second daemon at the same time, unixfs-v1-2025
	kubo_start unixfs-v1-2025 || return
	export V1_PATH=$IPFS_PATH V1_API=$KUBO_API V1_GATEWAY=$KUBO_GATEWAY V1_PID=$KUBO_PID
}

teardown_file() {
	cluster_stop
	kubo_stop
}

setup() {
	setup_scratch
}

@test "kubo: two daemons on 127.0.0.1, own repositories and ports, RPC answers" {
	[[ $V0_API == http://127.0.0.1:* && $V1_API == http://127.0.0.1:* ]]
	[[ $V0_GATEWAY == http://127.0.0.1:* && $V1_GATEWAY == http://127.0.0.1:* ]]
	[ "$V0_API" != "$V1_API" ]
	[ "$V0_PATH" != "$V1_PATH" ]
	run --separate-stderr curl -fsS -X POST "$V0_API/api/v0/version"
	assert_success
	[ "$(jq -r .Version <<<"$output")" = 0.43.1 ]
	run --separate-stderr curl -fsS -X POST "$V1_API/api/v0/id"
	assert_success
	jq -e '.ID | startswith("12D3Koo")' <<<"$output"
	# only POST works on the RPC API
	run curl -sS -o /dev/null -w '%{http_code}' "$V0_API/api/v0/id"
	assert_output 405
	# every listener of both daemons is on loopback
	run ss -Hltnp
	assert_success
	for pid in "$V0_PID" "$V1_PID"; do
		grep -q "pid=$pid," <<<"$output" || fail "no listener of pid $pid"
		if grep "pid=$pid," <<<"$output" | grep -v ' 127\.0\.0\.1:'; then
			fail "kubo listens beyond 127.0.0.1"
		fi
	done
}

@test "kubo: hello world has the IPIP-499 CIDs under both profiles" {
	printf 'hello world' >hw
	IPFS_PATH=$V0_PATH run --separate-stderr ipfs add --only-hash -Q hw
	assert_success
	assert_output Qmf412jQZiuVUtdgnB36FXFX7xg5V6KEbSJ4dpQuhkLyfD
	IPFS_PATH=$V1_PATH run --separate-stderr ipfs add --only-hash -Q hw
	assert_success
	assert_output bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e
	# kubo's plain --cid-version=1: raw leaves too, so the same single block
	IPFS_PATH=$V0_PATH run --separate-stderr ipfs add --only-hash -Q --cid-version=1 hw
	assert_output bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e
}

@test "kubo: 256 KiB and 1 MiB chunk boundaries match the IPIP-499 fixtures" {
	seeded 262145 chunk-v0-seed >c0
	IPFS_PATH=$V0_PATH run --separate-stderr ipfs add --only-hash -Q c0
	assert_output QmYyLxtzZyW22zpoVAtKANLRHpDjZtNeDjQdJrcQNWoRkJ
	seeded 1048577 chunk-v1-seed >c1
	IPFS_PATH=$V1_PATH run --separate-stderr ipfs add --only-hash -Q c1
	assert_output bafybeigmix7t42i6jacydtquhet7srwvgpizfg7gjbq7627d35mjomtu64
}

@test "kubo: the gateway serves raw blocks, CARs and files, and never fetches" {
	printf 'hello world' >hw
	cid=$(IPFS_PATH=$V1_PATH ipfs add -Q hw)
	[ "$cid" = bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e ]
	curl -fsS -o raw "$V1_GATEWAY/ipfs/$cid?format=raw"
	cmp raw hw
	run curl -fsS -D - -o /dev/null -H 'Accept: application/vnd.ipld.car' "$V1_GATEWAY/ipfs/$cid"
	assert_success
	assert_line --partial 'Content-Type: application/vnd.ipld.car; version=1; order=dfs; dups=n'
	# v0: the raw block is the dag-pb node, the plain URL the file
	v0=$(IPFS_PATH=$V0_PATH ipfs add -Q hw)
	curl -fsS -o block "$V0_GATEWAY/ipfs/$v0?format=raw"
	IPFS_PATH=$V0_PATH ipfs block get "$v0" | cmp - block
	curl -fsS "$V0_GATEWAY/ipfs/$v0" | cmp - hw
	# absent content: a quick 404-ish failure, not a network search
	run curl -sS -o /dev/null -w '%{http_code}' --max-time 20 \
		"$V0_GATEWAY/ipfs/bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy?format=raw"
	assert_success
	[[ $output == 4* || $output == 5* ]]
}

@test "kubo: dag export from one daemon imports into the other (offline)" {
	mkdir -p tree/sub && printf 'a' >tree/a && seeded 300000 tree >tree/sub/b
	root=$(IPFS_PATH=$V0_PATH ipfs add -r -Q tree)
	IPFS_PATH=$V0_PATH ipfs dag export "$root" >t.car
	run --separate-stderr curl -fsS -X POST -F "file=@t.car" "$V1_API/api/v0/dag/import"
	assert_success
	[ "$(jq -r .Root.Cid[\"/\"] <<<"$output")" = "$root" ]
	IPFS_PATH=$V1_PATH ipfs cat "$root/sub/b" | cmp - tree/sub/b
	IPFS_PATH=$V1_PATH run --separate-stderr ipfs pin ls --type=recursive "$root"
	assert_success
}

@test "ipfs_cid (Debian ipfs-cid) agrees with kubo on the CIDv0 of a 262145-byte file" {
	command -v ipfs_cid || fail "ipfs_cid not installed (scripts/install-deps)"
	seeded 262145 ipfs-cid-check >f
	IPFS_PATH=$V0_PATH run --separate-stderr ipfs add --only-hash -Q f
	assert_success
	kubo=$output
	run --separate-stderr ipfs_cid f
	assert_success
	[ "$(jq -r .CIDv0 <<<"$output")" = "$kubo" ]
}

@test "cluster: ipfs-cluster-ctl pins a CID on the one-peer cluster in front of kubo" {
	[[ $CLUSTER_API == http://127.0.0.1:* && $CLUSTER_PINSVC == http://127.0.0.1:* ]]
	run --separate-stderr curl -fsS "$CLUSTER_API/id"
	assert_success
	[ "$(jq -r .ipfs.id <<<"$output")" = "$(IPFS_PATH=$V0_PATH ipfs id -f '<id>')" ]
	printf 'cluster pin %s' "$BATS_TEST_NUMBER" >f
	cid=$(IPFS_PATH=$V0_PATH ipfs add -Q --pin=false f)
	run --separate-stderr ipfs-cluster-ctl --host "$CLUSTER_API_MADDR" pin add --wait --wait-timeout 30s "$cid"
	assert_success
	run --separate-stderr ipfs-cluster-ctl --host "$CLUSTER_API_MADDR" --enc=json status "$cid"
	assert_success
	[ "$(jq -r '.peer_map[].status' <<<"$output")" = pinned ]
	IPFS_PATH=$V0_PATH run --separate-stderr ipfs pin ls --type=recursive "$cid"
	assert_success
	assert_output --partial "$cid"
}

@test "cluster: the Pinning Service API wants a bearer token and pins with it" {
	printf 'psa pin %s' "$BATS_TEST_NUMBER" >f
	cid=$(IPFS_PATH=$V0_PATH ipfs add -Q --pin=false f)
	run curl -sS -o /dev/null -w '%{http_code}' "$CLUSTER_PINSVC/pins"
	assert_output 401
	token=$(cluster_pinsvc_token)
	[ -n "$token" ]
	run --separate-stderr curl -fsS -X POST -H "Authorization: Bearer $token" \
		-H 'Content-Type: application/json' -d "{\"cid\":\"$cid\",\"name\":\"smoke\"}" "$CLUSTER_PINSVC/pins"
	assert_success
	[ "$(jq -r .requestid <<<"$output")" = "$cid" ]
	for _ in $(seq 100); do
		status=$(curl -fsS -H "Authorization: Bearer $token" "$CLUSTER_PINSVC/pins/$cid" | jq -r .status)
		[ "$status" = pinned ] && break
		sleep 0.1
	done
	[ "$status" = pinned ]
}

@test "npm ipfs-unixfs-importer computes kubo's CIDs under both profiles and kubo-cid-v1" {
	mkdir -p t/d/e t/empty
	seeded $((3 * 1048576 + 5)) js-parity >t/big
	printf 'hello world' >t/d/hw
	printf 'x' >t/d/e/x
	node=$HP_ROOT/tests/node/unixfs-cid.mjs
	for profile in unixfs-v0-2015 unixfs-v1-2025 kubo-cid-v1; do
		case $profile in
		unixfs-v0-2015) repo=$V0_PATH flags=() ;;
		unixfs-v1-2025) repo=$V1_PATH flags=() ;;
		kubo-cid-v1) repo=$V0_PATH flags=(--cid-version=1) ;;
		esac
		run --separate-stderr node "$node" --profile "$profile" t
		assert_success
		js=$(jq -r '"\(.cid) \(.path)"' <<<"$output" | LC_ALL=C sort)
		kubo=$(IPFS_PATH=$repo ipfs add -r --only-hash "${flags[@]}" t | sed -n 's/^added //p' |
			grep -vx '[^ ]* t/empty' | LC_ALL=C sort)
		# (the importer prints no line for a nested empty directory; its parent covers it)
		[ "$js" = "$kubo" ] || fail "$profile: importer and kubo differ:
$(diff <(echo "$js") <(echo "$kubo"))"
	done
}

@test "kubo_stop: safe twice; the watchdog stops a daemon whose test run was killed" {
	script=$BATS_TEST_TMPDIR/run.sh
	cat >"$script" <<-EOF
		source '$HP_ROOT/tests/lib/kubo.bash'
		export HP_DAEMON_TMPDIR='$BATS_TEST_TMPDIR'
		kubo_start || exit 1
		echo "\$KUBO_PID" >'$BATS_TEST_TMPDIR/pid'
		exec sleep 600
	EOF
	bash "$script" 3>&- &
	owner=$!
	for _ in $(seq 300); do
		[ -s "$BATS_TEST_TMPDIR/pid" ] && break
		sleep 0.1
	done
	pid=$(<"$BATS_TEST_TMPDIR/pid")
	kill -0 "$pid"
	kill -KILL "$owner"
	# gone, or a zombie waiting for init to reap it
	for _ in $(seq 150); do
		state=$(ps -o stat= -p "$pid") || break
		[[ $state == Z* ]] && break
		sleep 0.1
	done
	state=$(ps -o stat= -p "$pid") && [[ $state != Z* ]] && fail "daemon $pid still running ($state)"
	true
	# and in this shell: stopping nothing, twice, is fine
	KUBO_PIDS='' kubo_stop
	KUBO_PIDS='' kubo_stop
}
