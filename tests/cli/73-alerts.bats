#!/usr/bin/env bats
# deploy/: the alert rules for the pin keeper and the seeder, their promtool
# unit tests, the Prometheus and Alertmanager configurations. promtool and
# amtool check every file; every alert has a case where it fires and one
# where it must not; every rule is needed by the tests (with any one rule
# made never to fire, they fail); a real Alertmanager inhibits the per-CID
# alerts of a node that is down, and only those; docs/alerts.md lists every
# alert.

load helpers

PROM=$HP_ROOT/deploy/prometheus
AM_CONFIG=$HP_ROOT/deploy/alertmanager/alertmanager.yml
ALERT_TESTS=$HP_ROOT/tests/lib/alert_tests.py

setup() {
	setup_scratch
	need promtool amtool prometheus-alertmanager jq curl
}

teardown() {
	if [ -n "${AM_PID:-}" ]; then
		kill "$AM_PID" 2>/dev/null || true
		wait "$AM_PID" 2>/dev/null || true
	fi
}

# copy_rules: the rules and their tests in ./p (rule_files is relative).
copy_rules() {
	mkdir p
	cp "$PROM/alerts.yml" "$PROM/alerts.test.yml" p/
}

# edit FILE OLD NEW: replace the one occurrence of OLD in FILE by NEW.
edit() {
	python3 - "$@" <<'PY'
import sys
path, old, new = sys.argv[1:]
text = open(path).read()
if text.count(old) != 1:
    sys.exit(f"edit: {old!r} occurs {text.count(old)} times in {path}")
open(path, "w").write(text.replace(old, new))
PY
}

@test "promtool check rules: alerts.yml is valid, lint-clean, 13 rules" {
	run promtool check rules "$PROM/alerts.yml"
	assert_success
	assert_output --partial "SUCCESS: 13 rules found"
}

@test "promtool test rules: every case of alerts.test.yml passes" {
	run promtool test rules "$PROM/alerts.test.yml"
	assert_success
	assert_output --partial SUCCESS
}

@test "every alert: for:, severity page or ticket, summary and description, a case where it fires and one where it must not" {
	run --separate-stderr python3 "$ALERT_TESTS" check "$PROM/alerts.yml" "$PROM/alerts.test.yml"
	assert_success
	[ -z "$stderr" ]
	run python3 "$ALERT_TESTS" names "$PROM/alerts.yml"
	assert_success
	assert_output "$(printf '%s\n' HpPinFailed HpPinStuck HpPinMissing HpPinNodeDown HpClusterUnderReplicated \
		HpKeeperNotChecking HpRegistryUnreachable HpManifestExpiring HpManifestExpired HpSeederNoPeers)"
}

@test "every rule is needed: with any one rule made never to fire, promtool test rules fails (exit 1)" {
	local n name expr lazy=()
	python3 "$ALERT_TESTS" mutants "$PROM/alerts.yml" "$PROM/alerts.test.yml" m >mutants.txt
	[ "$(wc -l <mutants.txt)" -eq 13 ]
	# the control: the same copies with no rule changed pass
	run promtool test rules m/0/alerts.test.yml
	assert_success
	while IFS=$'\t' read -r n name expr; do
		run promtool test rules "m/$n/alerts.test.yml"
		if ((status != 1)); then
			lazy+=("rule $n, $name: $expr (exit $status)")
		fi
	done <mutants.txt
	((${#lazy[@]} == 0)) || {
		printf 'no case needs %s\n' "${lazy[@]}" >&2
		return 1
	}
}

@test "the checks can fail: a wrong expected annotation, a changed threshold, a slower for:" {
	copy_rules
	edit p/alerts.test.yml 'summary: "CIDs missing on http://127.0.0.1:5001 (3)"' \
		'summary: "CIDs missing on http://127.0.0.1:5001 (4)"'
	run_fails 1 promtool test rules p/alerts.test.yml
	[[ $stderr == *"alertname: HpPinMissing, time: 20m"* ]]

	cp "$PROM/alerts.test.yml" p/
	edit p/alerts.yml '< 7 * 86400 >= 0' '< 6 * 86400 >= 0'
	run_fails 1 promtool test rules p/alerts.test.yml
	[[ $stderr == *"alertname: HpManifestExpiring, time: 1h40m"* ]]

	cp "$PROM/alerts.yml" p/
	edit p/alerts.yml 'expr: hp_keeper_node_up == 0
        for: 5m' 'expr: hp_keeper_node_up == 0
        for: 10m'
	run_fails 1 promtool test rules p/alerts.test.yml
	[[ $stderr == *"alertname: HpPinNodeDown, time: 15m"* ]]
}

@test "the coverage check fails: an alert with no case, a case for an alert that does not exist, a rule with no severity" {
	copy_rules
	cat >>p/alerts.yml <<'EOF'
      - alert: HpSeederStale
        expr: time() - hp_seed_last_update_timestamp_seconds > 600
        for: 5m
        labels:
          severity: ticket
        annotations:
          summary: s
          description: d
EOF
	edit p/alerts.test.yml 'alertname: HpPinStuck
        exp_alerts: []' 'alertname: HpPinStuk
        exp_alerts: []'
	edit p/alerts.yml 'severity: ticket
          cause: repin' 'cause: repin'
	run_fails 1 python3 "$ALERT_TESTS" check p/alerts.yml p/alerts.test.yml
	assert_equal "$stderr" "p/alerts.yml: HpPinFailed has severity None, not page or ticket
p/alerts.test.yml: a case at 25m names 'HpPinStuk', which p/alerts.yml does not define
p/alerts.test.yml: no case where HpPinStuck must not fire
p/alerts.test.yml: no case where HpSeederStale fires
p/alerts.test.yml: no case where HpSeederStale must not fire"
}

@test "promtool check config: prometheus.yml loads alerts.yml and scrapes kubo, ipfs-cluster, hp-keeper, hp-seed" {
	run promtool check config "$PROM/prometheus.yml"
	assert_success
	assert_output --partial "SUCCESS: 1 rule files found"
	assert_output --partial "SUCCESS: 13 rules found"
	run python3 "$ALERT_TESTS" jobs "$PROM/prometheus.yml"
	assert_success
	# the services and ports of deploy/docker-compose.yml (77-deploy checks them there)
	assert_output "kubo /debug/metrics/prometheus kubo:5001
ipfs-cluster /metrics cluster:8888
hp-keeper /metrics keeper:9101
hp-seed /metrics seeder:9102"
	# the rules file is found relative to the configuration: a copy without it fails
	cp "$PROM/prometheus.yml" .
	run_fails promtool check config prometheus.yml
}

@test "amtool check-config: alertmanager.yml is valid; a copy inhibiting on a bad matcher is not" {
	run amtool check-config "$AM_CONFIG"
	assert_success
	assert_output --partial "2 inhibit rules"
	cp "$AM_CONFIG" am.yml
	edit am.yml 'source_matchers: [alertname="HpPinNodeDown", cause="keeper"]' \
		'source_matchers: [alertname=~"HpPinNodeDown(", cause="keeper"]'
	run_fails amtool check-config am.yml
}

# post_alert LABELS_JSON: one firing alert to the Alertmanager at $AM.
post_alert() {
	curl -fsS -H 'Content-Type: application/json' -d "[{\"labels\": $1}]" "$AM/api/v2/alerts" >/dev/null
}

# alert_states: "ALERTNAME NODE-OR-JOB STATE" per alert at $AM, sorted.
alert_states() {
	curl -fsS "$AM/api/v2/alerts" |
		jq -r '.[] | "\(.labels.alertname) \(.labels.node // .labels.job // "-") \(.status.state)"' | LC_ALL=C sort
}

@test "Alertmanager: HpPinNodeDown silences the per-CID alerts of its node only; a down keeper target silences 'no keeper'" {
	local port want
	port=$(free_port)
	AM=http://127.0.0.1:$port
	prometheus-alertmanager --config.file="$AM_CONFIG" --storage.path=am --cluster.listen-address= \
		--web.listen-address="127.0.0.1:$port" >am.log 2>&1 &
	AM_PID=$!
	wait_for "$AM_PID" 100 curl -fsS "$AM/-/ready" >/dev/null || fail "alertmanager did not start: $(cat am.log)"
	local a=http://127.0.0.1:5001 b=http://10.0.0.2:5001
	post_alert "{\"alertname\":\"HpPinNodeDown\",\"cause\":\"keeper\",\"node\":\"$a\",\"severity\":\"page\"}"
	post_alert "{\"alertname\":\"HpPinFailed\",\"cause\":\"failed\",\"node\":\"$a\",\"severity\":\"ticket\"}"
	post_alert "{\"alertname\":\"HpPinMissing\",\"node\":\"$a\",\"severity\":\"ticket\"}"
	post_alert "{\"alertname\":\"HpPinStuck\",\"node\":\"$b\",\"severity\":\"ticket\"}"
	post_alert '{"alertname":"HpManifestExpired","name":"pkg-a","version":"1.0.0","severity":"page"}'
	post_alert '{"alertname":"HpPinNodeDown","cause":"scrape","job":"hp-keeper","instance":"127.0.0.1:9101","severity":"page"}'
	post_alert '{"alertname":"HpKeeperNotChecking","cause":"absent","job":"hp-keeper","severity":"page"}'
	want="HpKeeperNotChecking hp-keeper suppressed
HpManifestExpired - active
HpPinFailed $a suppressed
HpPinMissing $a suppressed
HpPinNodeDown hp-keeper active
HpPinNodeDown $a active
HpPinStuck $b active"
	# the inhibitor sees new alerts asynchronously: wait until it has
	local _
	for _ in $(seq 50); do
		[ "$(alert_states)" = "$want" ] && break
		sleep 0.1
	done
	run alert_states
	assert_output "$want"
}

@test "docs/alerts.md: a row for every alert, and the promtool commands" {
	local name missing=()
	for name in $(python3 "$ALERT_TESTS" names "$PROM/alerts.yml"); do
		grep -q "^| $name |" "$HP_ROOT/docs/alerts.md" || missing+=("$name")
	done
	((${#missing[@]} == 0)) || {
		echo "docs/alerts.md has no row for: ${missing[*]}" >&2
		return 1
	}
	grep -qF 'promtool test rules deploy/prometheus/alerts.test.yml' "$HP_ROOT/docs/alerts.md"
}
