#!/usr/bin/env bats
# hp-pin watch, the pin keeper, against a real kubo and a real one-peer IPFS
# Cluster on 127.0.0.1: it pins what is missing (manifests, CIDs, a git
# registry's manifests as the registry moves), pins again what is unpinned
# behind its back, keeps going when a node is down, serves Prometheus
# metrics that promtool accepts, and stops cleanly on SIGTERM.

load helpers
load ../lib/kubo
load ../lib/cluster
load ../lib/registry

setup_file() {
	kubo_start || return
	cluster_start || return
}

teardown_file() {
	cluster_stop 2>/dev/null || true
	kubo_stop
}

setup() {
	setup_scratch
	command -v promtool >/dev/null || fail "promtool is not installed (scripts/install-deps)"
}

teardown() {
	[ -z "${WATCH_PID:-}" ] || kill "$WATCH_PID" 2>/dev/null || true
	badservers_stop
}

# A package folder pkgN/ and its unsigned manifest mN.json (CIDs with kubo's
# default profile, so that the CID kubo holds is the manifest's).
package() { # N
	mkdir -p "pkg$1"
	printf 'content %s %s\n' "$1" "$RANDOM$RANDOM" >"pkg$1/data.txt"
	hp-manifest create --name "pkg$1" --version 1.0.0 --no-torrent --profile unixfs-v0-2015 \
		-o "m$1.json" -C "pkg$1" . >/dev/null
	jq -r .distribution.ipfs_cid "m$1.json"
}

# pinned CID: is CID pinned (recursively) on the test kubo?
pinned() {
	ipfs pin ls --type=recursive "$1" >/dev/null 2>&1
}

# The blocks on kubo, unpinned: the keeper pins them back from kubo itself.
add_unpinned() { # DIR
	ipfs add -Q -r --pin=false --cid-version 0 "$1" >/dev/null
}

metric() { # NAME{labels} from the scrape in metrics.txt: its value
	awk -v k="$1" '$1 == k { print $2 }' metrics.txt
}

@test "watch --once: every manifest and CID pinned on kubo and on the cluster, one repin line each, exit 0" {
	local c1 c2
	c1=$(package 1)
	c2=$(package 2)
	add_unpinned pkg1
	add_unpinned pkg2
	! pinned "$c1"
	run --separate-stderr hp-pin watch --once --kubo "$KUBO_API" --cluster "$CLUSTER_API" m1.json "$c2"
	assert_success
	pinned "$c1"
	pinned "$c2"
	[ "$(grep -c '"event":"repin"' <<<"$output")" -ge 2 ]
	jq -e 'select(.event == "check") | .manifests == 2 and .cids == 2 and .pinned == 4 and .missing == 0' <<<"$output"
	# again: nothing to do, a quiet check line only for the first check
	run --separate-stderr hp-pin watch --once --kubo "$KUBO_API" m1.json "$c2"
	assert_success
	[ "$(grep -c '"event":"repin"' <<<"$output")" -eq 0 ]
	jq -e 'select(.event == "check") | .pinned == 2 and .repinned == 0' <<<"$output"
}

@test "watch: a CID unpinned behind its back is pinned again, the metrics move, promtool accepts them; SIGTERM stops it with 0" {
	local c1 port
	c1=$(package 1)
	add_unpinned pkg1
	port=$(free_port)
	hp-pin watch --interval 0.3 --metrics "127.0.0.1:$port" --kubo "$KUBO_API" m1.json >watch.out 2>watch.err &
	WATCH_PID=$!
	wait_port "$port"
	wait_for "$WATCH_PID" 300 bash -c "ipfs pin ls --type=recursive $c1 2>/dev/null"
	curl -fsS "http://127.0.0.1:$port/metrics" >metrics.txt
	promtool check metrics <metrics.txt
	local before
	before=$(metric "hp_keeper_repins_total{node=\"$KUBO_API\",kind=\"kubo\"}")
	[ "$before" -ge 1 ]
	[ "$(metric "hp_keeper_pins{node=\"$KUBO_API\",kind=\"kubo\",state=\"pinned\"}")" = 1 ]
	[ "$(metric "hp_keeper_node_up{node=\"$KUBO_API\",kind=\"kubo\"}")" = 1 ]
	[ "$(metric hp_keeper_manifests)" = 1 ]

	# behind its back
	ipfs pin rm "$c1" >/dev/null
	! pinned "$c1"
	wait_for "$WATCH_PID" 300 bash -c "ipfs pin ls --type=recursive $c1 2>/dev/null"
	local after=$before _
	for _ in $(seq 50); do
		curl -fsS "http://127.0.0.1:$port/metrics" >metrics.txt
		after=$(metric "hp_keeper_repins_total{node=\"$KUBO_API\",kind=\"kubo\"}")
		((after > before)) && break
		sleep 0.1
	done
	((after > before))
	[ "$(curl -fsS "http://127.0.0.1:$port/healthz")" = ok ]
	stop_ok TERM "$WATCH_PID" "hp-pin watch" watch.err
	WATCH_PID=
	[ "$(jq -r 'select(.event == "listening") | .port' watch.out)" = "$port" ]
	[ "$(jq -s '[.[] | select(.event == "repin" and .status == "pinned")] | length' watch.out)" -ge 2 ]
}

@test "watch --car-dir: a CID whose blocks kubo does not have is pinned from DIR/CID.car" {
	local c1
	c1=$(package 1)
	mkdir cars
	hp-cid --profile unixfs-v0-2015 --car "cars/$c1.car" -C pkg1 . >/dev/null
	! ipfs block stat "$c1" --offline >/dev/null 2>&1
	run --separate-stderr hp-pin watch --once --timeout 10 --car-dir cars --kubo "$KUBO_API" m1.json
	assert_success
	pinned "$c1"
	# the same without the CAR: kubo has no way to the blocks (offline), so a
	# short timeout ends it, and the pin is not there
	local c2
	c2=$(package 2)
	run --separate-stderr hp-pin watch --once --timeout 2 --car-dir cars --kubo "$KUBO_API" m2.json
	assert_failure
	! pinned "$c2"
}

@test "watch: a node that is down: one error line naming it, exit 69, the other node still kept" {
	local c1 dead port
	c1=$(package 1)
	add_unpinned pkg1
	dead=$(free_port)
	port=$(free_port)
	run --separate-stderr hp-pin watch --once --timeout 5 --metrics "127.0.0.1:$port" \
		--kubo "http://127.0.0.1:$dead" --kubo "$KUBO_API" m1.json
	[ "$status" -eq 69 ]
	pinned "$c1"
	[[ $stderr == *"127.0.0.1:$dead"* ]]
	jq -e 'select(.event == "check") | .pinned == 1 and .errors == 1' <<<"$output"
}

@test "watch: follows a git registry as it moves (a new manifest is pinned at the next check)" {
	work_registry
	local c1 c2
	c1=$(package 1)
	c2=$(package 2)
	add_unpinned pkg1
	add_unpinned pkg2
	commit_manifest m1.json
	run --separate-stderr hp-pin watch --once --kubo "$KUBO_API" --registry "$REG"
	assert_success
	pinned "$c1"
	jq -se '[.[] | select(.event == "registry")][0].head | test("^[0-9a-f]{40}$")' <<<"$output"
	jq -e 'select(.event == "check") | .manifests == 1' <<<"$output"
	commit_manifest m2.json
	HP_REGISTRY=$REG run --separate-stderr hp-pin watch --once --kubo "$KUBO_API"
	assert_success
	pinned "$c2"
	jq -e 'select(.event == "check") | .manifests == 2 and .pinned == 2' <<<"$output"
}

@test "watch: a node that hangs and one that answers 500 cost their own timeout only; the kubo beside them is kept" {
	local c1 hang err t0 t1
	c1=$(package 1)
	add_unpinned pkg1
	badserver hang
	hang=$BAD
	badserver kubo-error
	err=$BAD
	t0=$(date +%s)
	run --separate-stderr hp-pin watch --once --timeout 3 --kubo "$hang" --kubo "$err" --kubo "$KUBO_API" m1.json
	t1=$(date +%s)
	[ "$status" -eq 75 ] || [ "$status" -eq 69 ]
	pinned "$c1"
	# the three nodes are asked at once: one timeout, not three after each other
	((t1 - t0 < 8))
	[[ $stderr == *"127.0.0.1:${hang##*:}"* && $stderr == *"127.0.0.1:${err##*:}"* ]]
	jq -e 'select(.event == "check") | .pinned == 1 and .errors == 2' <<<"$output"
}

@test "watch: a registry that goes back (a newest version older than one seen) is refused, the list it had is kept" {
	work_registry
	local c1 c2
	c1=$(package 1)
	add_unpinned pkg1
	commit_manifest m1.json
	local first
	first=$(git -C work rev-parse HEAD)
	# version 2.0.0 of pkg1, other content
	mkdir pkg2b && printf 'two\n' >pkg2b/data.txt
	hp-manifest create --name pkg1 --version 2.0.0 --no-torrent --profile unixfs-v0-2015 -o m1v2.json -C pkg2b . >/dev/null
	add_unpinned pkg2b
	c2=$(jq -r .distribution.ipfs_cid m1v2.json)
	commit_manifest m1v2.json
	run --separate-stderr hp-pin watch --once --state st.json --kubo "$KUBO_API" --registry "$REG"
	assert_success
	pinned "$c2"
	jq -e '.manifests.pkg1.version == "2.0.0"' st.json
	# the registry is rewound to its first commit (a force push)
	git -C work reset -q --hard "$first"
	git -C work push -q -f origin main
	run --separate-stderr hp-pin watch --once --state st.json --kubo "$KUBO_API" --registry "$REG"
	[ "$status" -eq 1 ]
	[[ $stderr == *"registry: commit ${first:0:12} refused:"* ]]
	jq -e '.manifests.pkg1.version == "2.0.0"' st.json
	# in one process: the registry forward again, then back while it runs;
	# the list it had is kept, and still pinned
	ipfs pin rm "$c2" >/dev/null
	local second port
	second=$(git -C work rev-parse ORIG_HEAD)
	git -C work reset -q --hard "$second"
	git -C work push -q -f origin main
	rm st.json
	port=$(free_port)
	hp-pin watch --interval 0.3 --metrics "127.0.0.1:$port" --kubo "$KUBO_API" --registry "$REG" >w.out 2>w.err &
	WATCH_PID=$!
	wait_for "$WATCH_PID" 300 bash -c "ipfs pin ls --type=recursive $c2 2>/dev/null"
	git -C work reset -q --hard "$first"
	git -C work push -q -f origin main
	wait_for "$WATCH_PID" 300 grep -F "refused" w.err
	ipfs pin rm "$c2" >/dev/null
	wait_for "$WATCH_PID" 300 bash -c "ipfs pin ls --type=recursive $c2 2>/dev/null"
	curl -fsS "http://127.0.0.1:$port/metrics" >metrics.txt
	[ "$(metric hp_keeper_registry_errors_total)" -ge 1 ]
	stop_ok TERM "$WATCH_PID" "hp-pin watch" w.err
	WATCH_PID=
}

@test "watch: usage errors (no node, nothing to watch, bad interval, bad metrics address) are 64 with one line" {
	run --separate-stderr hp-pin watch --kubo "$KUBO_API"
	[ "$status" -eq 64 ]
	[[ $stderr == *"nothing to watch"* ]]
	run --separate-stderr hp-pin watch --kubo "$KUBO_API" --interval 0 m.json
	[ "$status" -eq 64 ]
	[[ $stderr == *"--interval"* ]]
	run --separate-stderr hp-pin watch --kubo "$KUBO_API" --metrics nowhere m.json
	[ "$status" -eq 64 ]
	[[ $stderr == *"'nowhere' is not HOST:PORT"* ]]
	[ "$(wc -l <<<"$stderr")" -eq 1 ]
}
