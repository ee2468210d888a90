# Prometheus, Alertmanager (Debian's packages) and a webhook receiver for the
# bats files, on 127.0.0.1 at free ports. Load after helpers.bash.
#
#   webhook_start              -> WEBHOOK_URL (POST bodies go to $WEBHOOK_OUT, one JSON line each)
#   alertmanager_start CONFIG  -> AM_URL (http://127.0.0.1:PORT)
#   prometheus_start CONFIG    -> PROM_URL (the config's rule files are read relative to it)
#   prom_value EXPR            the value of an instant query (the first series), or nothing
#   monitoring_stop            stop what these started (safe to call twice)
#
# The configurations come from deploy/ through tests/lib/promconf.py, which
# points the scrape jobs at the test's daemons and shortens every interval
# and `for:`, so that the files under test are the ones deployed.

MONITORING_PIDS=()

_mon_ready() { # URL NAME LOG: until URL/-/ready answers (30 s), while the daemon started last lives
	local _
	for _ in $(seq 300); do
		curl -fsS --max-time 2 "$1/-/ready" >/dev/null 2>&1 && return 0
		kill -0 "${MONITORING_PIDS[-1]}" 2>/dev/null || break
		sleep 0.1
	done
	echo "$2 did not start:" >&2
	sed 's/^/  /' "$3" >&2
	return 1
}

webhook_start() {
	WEBHOOK_OUT=$PWD/webhook.jsonl
	: >"$WEBHOOK_OUT"
	rm -f webhook.port
	python3 "$HP_ROOT/tests/lib/webhook.py" "$WEBHOOK_OUT" webhook.port --parent $$ </dev/null >webhook.log 2>&1 3>&- &
	MONITORING_PIDS+=($!)
	local port
	port=$(wait_for "$!" 100 cat webhook.port) || {
		echo "webhook.py did not start: $(cat webhook.log)" >&2
		return 1
	}
	WEBHOOK_URL=http://127.0.0.1:$port/alerts
	export WEBHOOK_URL WEBHOOK_OUT
}

alertmanager_start() { # CONFIG
	local port
	port=$(free_port)
	mkdir -p am-data
	prometheus-alertmanager --config.file="$1" --storage.path="$PWD/am-data" \
		--web.listen-address="127.0.0.1:$port" --cluster.listen-address="" \
		--log.level=info </dev/null >am.log 2>&1 3>&- &
	MONITORING_PIDS+=($!)
	AM_URL=http://127.0.0.1:$port
	_mon_ready "$AM_URL" alertmanager am.log || return
	export AM_URL
}

prometheus_start() { # CONFIG
	local port
	port=$(free_port)
	mkdir -p prom-data
	prometheus --config.file="$1" --storage.tsdb.path="$PWD/prom-data" \
		--web.listen-address="127.0.0.1:$port" --web.enable-lifecycle \
		</dev/null >prom.log 2>&1 3>&- &
	MONITORING_PIDS+=($!)
	PROM_URL=http://127.0.0.1:$port
	_mon_ready "$PROM_URL" prometheus prom.log || return
	export PROM_URL
}

prom_value() { # EXPR
	curl -fsS --max-time 5 "$PROM_URL/api/v1/query" --data-urlencode "query=$1" |
		jq -r '.data.result[0].value[1] // empty'
}

monitoring_stop() {
	local pid
	for pid in "${MONITORING_PIDS[@]}"; do
		kill "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	MONITORING_PIDS=()
}
