#!/usr/bin/env bats
# hp-seed --metrics: Prometheus metrics of the seeder (docs/metrics.md),
# scraped over HTTP while a real libtorrent peer downloads from it on
# 127.0.0.1, checked by promtool: the torrents seeded, a peer connected,
# the bytes it was sent, pieces that failed their check when the content
# changed on disk; /healthz answers.

load helpers
load ../lib/bt

LT_DOWNLOAD=$HP_ROOT/tests/lib/lt_download.py

setup() {
	setup_scratch
	bt_setup
	need promtool curl
	bt_need libtorrent
	LT_PID=
}

teardown() {
	[ -z "${LT_PID:-}" ] || kill "$LT_PID" 2>/dev/null || true
	bt_teardown
}

# scrape: the metrics now, in metrics.txt (and on stdout, for wait_for)
scrape() {
	curl -fsS "http://127.0.0.1:$METRICS_PORT/metrics" >metrics.txt && cat metrics.txt
}

# metric NAME{labels}: its value in metrics.txt
metric() {
	awk -v k="$1" '$1 == k { print $2 }' metrics.txt
}

# metric_at_least NAME{labels} MIN: scrape; prints the value once it is >= MIN
metric_at_least() {
	scrape >/dev/null || return 1
	local v
	v=$(metric "$1")
	[ -n "$v" ] && awk -v v="$v" -v m="$2" 'BEGIN { exit !(v >= m) }' && echo "$v"
}

# metric_is NAME{labels} VALUE: scrape; prints the value once it is VALUE
metric_is() {
	scrape >/dev/null || return 1
	[ "$(metric "$1")" = "$2" ] && echo "$2"
}

# seed_with_metrics ARGS...: bt_seed_start with --metrics on a free port;
# sets METRICS_PORT from its listening event, which must name that port.
seed_with_metrics() {
	local port
	port=$(free_port)
	bt_seed_start "$@" --tracker-off --metrics "127.0.0.1:$port"
	METRICS_PORT=$(jq -r 'select(.event == "listening" and .metrics != null) | .port' seed.log)
	[ "$METRICS_PORT" = "$port" ] || {
		echo "no listening event with \"metrics\" and port $port:" >&2
		cat seed.log >&2
		return 1
	}
	jq -e -s 'map(select(.event == "listening" and .metrics == "127.0.0.1:'"$port"'")) | length == 1' \
		seed.log >/dev/null
}

@test "hp-seed --metrics: promtool accepts the scrape; 1 torrent; peers >= 1 while a peer downloads, then uploaded bytes >= the torrent's size; /healthz answers" {
	bt_make_tree src/tree
	hp-mktorrent --no-date -o t.torrent src/tree >/dev/null
	local ih size start labels
	ih=$(hp-mktorrent --show t.torrent | jq -r .infohash_v1)
	size=$(hp-mktorrent --show t.torrent | jq -r .size)
	labels="{infohash=\"$ih\",name=\"tree\"}"
	start=$(date +%s)
	seed_with_metrics t.torrent --content src

	wait_for "$SEED_PID" 100 metric_is hp_seed_torrents 1 >/dev/null
	promtool check metrics <metrics.txt
	[ "$(metric "hp_seed_peers$labels")" = 0 ]
	[ "$(metric "hp_seed_uploaded_bytes_total$labels")" = 0 ]
	[ "$(metric "hp_seed_upload_rate_bytes$labels")" = 0 ]
	[ "$(metric hp_seed_hash_failures_total)" = 0 ]
	grep -qx '# TYPE hp_seed_torrents gauge' metrics.txt
	grep -qx '# TYPE hp_seed_peers gauge' metrics.txt
	grep -qx '# TYPE hp_seed_uploaded_bytes_total counter' metrics.txt
	grep -qx '# TYPE hp_seed_upload_rate_bytes gauge' metrics.txt
	grep -qx '# TYPE hp_seed_hash_failures_total counter' metrics.txt
	grep -qx '# TYPE hp_seed_last_update_timestamp_seconds gauge' metrics.txt
	local t0
	t0=$(metric hp_seed_last_update_timestamp_seconds)
	((t0 >= start && t0 <= $(date +%s)))
	[ "$(curl -fsS "http://127.0.0.1:$METRICS_PORT/healthz")" = ok ]
	run curl -sS -o /dev/null -w '%{http_code}' "http://127.0.0.1:$METRICS_PORT/nothing"
	[ "$output" = 404 ]

	# a peer held at 16 KiB/s: connected for certain until told to finish
	LT_HOLD=$PWD/go "$BT_PY" "$LT_DOWNLOAD" t.torrent dl "127.0.0.1:$SEED_PORT" 60 >lt.out 2>lt.err 3>&- &
	LT_PID=$!
	wait_for "$SEED_PID" 100 metric_at_least "hp_seed_peers$labels" 1 >/dev/null || {
		cat metrics.txt lt.err seed.log >&2
		return 1
	}
	wait_for "$SEED_PID" 100 metric_at_least "hp_seed_upload_rate_bytes$labels" 1 >/dev/null
	promtool check metrics <metrics.txt
	touch go
	local rc=0
	wait "$LT_PID" || rc=$?
	LT_PID=
	((rc == 0)) || {
		cat lt.err seed.log >&2
		return 1
	}
	diff -r src/tree dl/tree
	wait_for "$SEED_PID" 100 metric_at_least "hp_seed_uploaded_bytes_total$labels" "$size" >/dev/null || {
		cat metrics.txt seed.log >&2
		return 1
	}
	promtool check metrics <metrics.txt
	# refreshed since the first scrape
	(($(metric hp_seed_last_update_timestamp_seconds) > t0))
	[ "$(metric hp_seed_torrents)" = 1 ]
	[ "$(metric hp_seed_hash_failures_total)" = 0 ]
	bt_seed_stop
	events_ok
}

@test "hp-seed --metrics: a v2-only torrent's series carry its v2 infohash; two torrents count 2" {
	bt_make_tree src/a
	mkdir -p src
	head -c 50000 /dev/urandom >src/one.bin
	hp-mktorrent --v2 --no-date -o a.torrent src/a >/dev/null
	hp-mktorrent --v1 --no-date -o one.torrent src/one.bin >/dev/null
	local v2 v1
	v2=$(hp-mktorrent --show a.torrent | jq -r .infohash_v2)
	v1=$(hp-mktorrent --show one.torrent | jq -r .infohash_v1)
	[ ${#v2} = 64 ]
	seed_with_metrics a.torrent one.torrent --content src
	wait_for "$SEED_PID" 100 metric_is hp_seed_torrents 2 >/dev/null
	promtool check metrics <metrics.txt
	[ "$(metric "hp_seed_peers{infohash=\"$v2\",name=\"a\"}")" = 0 ]
	[ "$(metric "hp_seed_uploaded_bytes_total{infohash=\"$v2\",name=\"a\"}")" = 0 ]
	[ "$(metric "hp_seed_upload_rate_bytes{infohash=\"$v1\",name=\"one.bin\"}")" = 0 ]
	[ "$(grep -c '^hp_seed_peers{' metrics.txt)" = 2 ]
	bt_seed_stop
}

@test "hp-seed --metrics: content changed on disk after the check: the piece fails its check on upload, hp_seed_hash_failures_total counts it, hp_seed_torrents drops to 0, an error event" {
	mkdir src
	head -c 300000 /dev/urandom >src/one.bin
	hp-mktorrent --no-date -o one.torrent src/one.bin >/dev/null
	seed_with_metrics one.torrent --content src
	wait_for "$SEED_PID" 100 metric_is hp_seed_torrents 1 >/dev/null
	flip_byte src/one.bin 1000
	# the peer asks for every piece; seed_mode hashes each before its first upload
	"$BT_PY" "$LT_DOWNLOAD" one.torrent dl "127.0.0.1:$SEED_PORT" 60 >lt.out 2>lt.err 3>&- &
	LT_PID=$!
	wait_for "$SEED_PID" 300 metric_at_least hp_seed_hash_failures_total 1 >/dev/null || {
		cat metrics.txt lt.err seed.log >&2
		return 1
	}
	[ "$(metric hp_seed_hash_failures_total)" = 1 ]
	wait_for "$SEED_PID" 100 metric_is hp_seed_torrents 0 >/dev/null
	promtool check metrics <metrics.txt
	kill "$LT_PID"
	LT_PID=
	bt_seed_stop
	jq -e -s 'map(select(.event == "error" and .pieces == 1 and .name == "one.bin")) | length == 1' seed.log >/dev/null
}

@test "hp-seed --metrics: an address that is not one is 64, one in use is 69, each in one line before the content is read" {
	mkdir src
	echo hello >src/a.txt
	hp-mktorrent --no-date -o a.torrent src/a.txt >/dev/null
	# (the content folder 'gone' would be exit 1 once checked)
	run_fails 64 hp-seed a.torrent --content gone --listen 127.0.0.1:0 --metrics nowhere
	[[ $stderr == *"'nowhere' is not HOST:PORT"* ]]
	[ "$(wc -l <<<"$stderr")" -eq 1 ]
	# a port taken by another seeder's metrics
	seed_with_metrics a.torrent --content src
	run_fails 69 timeout 30 hp-seed a.torrent --content gone --listen 127.0.0.1:0 --metrics "127.0.0.1:$METRICS_PORT"
	[[ $stderr == *"127.0.0.1:$METRICS_PORT"* ]]
	[ "$(wc -l <<<"$stderr")" -eq 1 ]
	bt_seed_stop
	# without --metrics: no such event
	bt_seed_start a.torrent --content src --tracker-off
	bt_seed_stop
	jq -e -s 'map(select(.metrics)) | length == 0' seed.log >/dev/null
}

# Every line of seed.log is a JSON event.
events_ok() {
	jq -e -s 'all(.[]; type == "object" and (.event | type) == "string")' seed.log >/dev/null
}
