#!/usr/bin/env bats
# End to end, for real, on 127.0.0.1 (issue 12, item 3): Prometheus (Debian's)
# scrapes a real kubo (/debug/metrics/prometheus), a real IPFS Cluster peer
# (its Prometheus endpoint), the pin keeper and a seeder (hp-seed), and evaluates
# deploy/prometheus/alerts.yml; Alertmanager (Debian's) routes with
# deploy/alertmanager/alertmanager.yml to a webhook receiver. The deployed
# files are used as they are, with the test's addresses and short intervals
# (tests/lib/promconf.py). A CID unpinned behind the keeper's back is pinned
# again and Prometheus sees the re-pin; the cluster peer stopped, the
# HpPinNodeDown alert reaches the webhook; every query of the Grafana
# dashboard parses and returns data.

load helpers
load ../lib/kubo
load ../lib/cluster
load ../lib/monitoring
load ../lib/registry

# Two kubo daemons: the cluster peer's (A), and the one the keeper keeps
# alone (B, the last started: KUBO_API, IPFS_PATH). A pin removed from B is
# put back by the keeper only; on A the cluster would race it.
setup_file() {
	kubo_start || return
	KUBO_A_PATH=$IPFS_PATH
	export KUBO_A_PATH
	CLUSTER_METRICS_PORT=$(free_port)
	CLUSTER_METRICS_ENABLESTATS=true
	CLUSTER_METRICS_PROMETHEUSENDPOINT=/ip4/127.0.0.1/tcp/$CLUSTER_METRICS_PORT
	export CLUSTER_METRICS_PORT CLUSTER_METRICS_ENABLESTATS CLUSTER_METRICS_PROMETHEUSENDPOINT
	cluster_start || return
	kubo_start || return
}

teardown_file() {
	cluster_stop 2>/dev/null || true
	kubo_stop
}

setup() {
	setup_scratch
	for t in prometheus prometheus-alertmanager promtool; do
		command -v "$t" >/dev/null || fail "$t is not installed (scripts/install-deps)"
	done
}

teardown() {
	[ -z "${WATCH_PID:-}" ] || kill "$WATCH_PID" 2>/dev/null || true
	[ -z "${SEED_PID:-}" ] || kill "$SEED_PID" 2>/dev/null || true
	monitoring_stop
}

# until EXPR (a PromQL instant query) gives a value that CHECK (an awk
# condition on v) accepts, for at most TRIES tenths of a second
prom_until() { # EXPR CHECK TRIES
	local v _
	for _ in $(seq "$3"); do
		v=$(prom_value "$1")
		[ -n "$v" ] && awk -v v="$v" "BEGIN { exit !($2) }" && return 0
		sleep 0.1
	done
	echo "Prometheus: '$1' is '${v:-no data}', wanted $2" >&2
	return 1
}

@test "Prometheus scrapes kubo, the cluster, the keeper and a seeder; a re-pin shows; the cluster down, HpPinNodeDown reaches the webhook; the dashboard's queries answer" {
	# a package, unpinned on kubo, kept by the keeper on kubo and the cluster
	mkdir pkg && printf 'monitored %s\n' "$RANDOM$RANDOM" >pkg/data.txt
	hp-manifest create --name mon --version 1.0.0 --no-torrent --profile unixfs-v0-2015 \
		--expires 2099-01-01T00:00:00Z -o m.json -C pkg . >/dev/null
	local cid
	cid=$(jq -r .distribution.ipfs_cid m.json)
	ipfs add -Q -r --pin=false --cid-version 0 pkg >/dev/null
	IPFS_PATH=$KUBO_A_PATH ipfs add -Q -r --pin=false --cid-version 0 pkg >/dev/null
	work_registry
	commit_manifest m.json
	local kport
	kport=$(free_port)
	hp-pin watch --interval 0.5 --timeout 2 --metrics "127.0.0.1:$kport" \
		--kubo "$KUBO_API" --cluster "$CLUSTER_API" --registry "$REG" >watch.out 2>watch.err &
	WATCH_PID=$!
	wait_port "$kport"
	# the package seeded too, with its metrics
	hp-mktorrent --no-date -o pkg.torrent pkg >/dev/null
	local sport
	sport=$(free_port)
	hp-seed --listen 127.0.0.1:0 --tracker-off --metrics "127.0.0.1:$sport" pkg.torrent --content . \
		>/dev/null 2>seed.log &
	SEED_PID=$!
	wait_port "$sport"

	webhook_start
	python3 "$HP_ROOT/tests/lib/promconf.py" alertmanager "$HP_ROOT/deploy" am.yml "$WEBHOOK_URL"
	amtool check-config am.yml >/dev/null
	alertmanager_start am.yml
	mkdir prom
	python3 "$HP_ROOT/tests/lib/promconf.py" prometheus "$HP_ROOT/deploy" prom "${AM_URL#http://}" \
		"kubo=${KUBO_API#http://}" "ipfs-cluster=127.0.0.1:$CLUSTER_METRICS_PORT" "hp-keeper=127.0.0.1:$kport" \
		"hp-seed=127.0.0.1:$sport"
	promtool check config prom/prometheus.yml >/dev/null
	prometheus_start prom/prometheus.yml

	# every target up, and real metrics from each
	prom_until 'count(up{job=~"kubo|ipfs-cluster|hp-keeper|hp-seed"} == 1)' 'v == 4' 300
	prom_until 'count({job="kubo", __name__=~"ipfs_.*|go_.*"})' 'v > 0' 100
	prom_until 'count({job="ipfs-cluster", __name__=~"cluster_.*|pins_.*|go_.*"})' 'v > 0' 100
	prom_until "hp_keeper_pins{state=\"pinned\", kind=\"kubo\"}" 'v == 1' 300
	prom_until 'hp_seed_torrents' 'v == 1' 300

	# behind the keeper's back (on B, which only the keeper keeps): pinned
	# again, and Prometheus sees the re-pin
	local before
	before=$(prom_value 'sum(hp_keeper_repins_total{kind="kubo"})')
	ipfs pin rm "$cid" >/dev/null
	wait_for "$WATCH_PID" 300 bash -c "ipfs pin ls --type=recursive $cid 2>/dev/null"
	prom_until 'sum(hp_keeper_repins_total{kind="kubo"})' "v > $before" 100

	# every query of the dashboard parses and returns data
	local expr bad=0
	while IFS= read -r expr; do
		local r
		r=$(curl -fsS "$PROM_URL/api/v1/query" --data-urlencode "query=$expr" | jq -r '.status + " " + (.data.result | length | tostring)')
		if [[ $r != "success "[1-9]* ]]; then
			echo "dashboard query '$expr': $r" >&2
			bad=1
		fi
	done < <(jq -r '.panels[].targets[].expr' "$HP_ROOT/deploy/grafana/dashboards/hybrid-p2p.json")
	[ "$bad" -eq 0 ]

	# the cluster peer stops (started by setup_file's shell: not a child to
	# wait for here): the keeper and Prometheus see it, the alert arrives
	kill "$CLUSTER_PID"
	local _
	for _ in $(seq 100); do
		kill -0 "$CLUSTER_PID" 2>/dev/null || break
		sleep 0.1
	done
	prom_until "hp_keeper_node_up{kind=\"cluster\"}" 'v == 0' 300
	for _ in $(seq 600); do
		grep -q '"alertname": "HpPinNodeDown"' "$WEBHOOK_OUT" && break
		sleep 0.1
	done
	jq -se '[.[].alerts[] | select(.labels.alertname == "HpPinNodeDown" and .status == "firing")] | length > 0' \
		"$WEBHOOK_OUT"
	stop_ok TERM "$WATCH_PID" "hp-pin watch" watch.err
	WATCH_PID=
	stop_ok TERM "$SEED_PID" hp-seed seed.log
	SEED_PID=
}
