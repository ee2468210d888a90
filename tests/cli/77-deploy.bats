#!/usr/bin/env bats
# deploy/: the compose file (docker-compose config, Debian's docker-compose),
# every file and folder it mounts, its ports against the tools' --metrics
# and Prometheus's targets, the images' packages, the systemd units
# (systemd-analyze verify, their command lines accepted by the tools), and
# the Grafana provisioning and dashboard. The dashboard's queries run against
# a live Prometheus in 76-monitoring.bats.

load helpers

D=$HP_ROOT/deploy

setup() {
	setup_scratch
	command -v docker-compose >/dev/null || fail "docker-compose is not installed (scripts/install-deps)"
	command -v systemd-analyze >/dev/null || fail "systemd-analyze is missing (package systemd)"
}

compose_config() { # the effective compose file, as YAML
	(cd "$D" && HP_REGISTRY=https://github.com/me/registry.git GRAFANA_ADMIN_PASSWORD=x docker-compose config)
}

@test "docker-compose config accepts the compose file; without HP_REGISTRY it says what to set" {
	run compose_config
	assert_success
	for s in kubo cluster keeper seeder prometheus alertmanager grafana; do
		grep -q "^  $s:$" <<<"$output" || fail "no service $s"
	done
	run bash -c "cd '$D' && GRAFANA_ADMIN_PASSWORD=x docker-compose config 2>&1"
	assert_failure
	[[ $output == *"set HP_REGISTRY"* ]]
}

@test "every file and folder the compose file mounts exists, and the build context holds the Dockerfile" {
	compose_config >compose.yml
	python3 - compose.yml "$D" <<'PY'
import os, sys, yaml
c = yaml.safe_load(open(sys.argv[1]))
bad = []
n = 0
for name, svc in c["services"].items():
    for v in svc.get("volumes", []):
        # long syntax (a dict) or short ("SRC:DST[:MODE]", SRC a path for a bind)
        src = v.get("source") if isinstance(v, dict) and v.get("type") == "bind" else None
        if isinstance(v, str) and v.split(":", 1)[0].startswith("/"):
            src = v.split(":", 1)[0]
        if src:
            n += 1
            if not os.path.exists(src):
                bad.append("%s: %s" % (name, src))
    b = svc.get("build")
    if b:
        df = os.path.join(b["context"], b.get("dockerfile", "Dockerfile"))
        if not os.path.isfile(df):
            bad.append("%s: no %s" % (name, df))
if bad:
    sys.exit("missing: " + ", ".join(bad))
if n < 6:
    sys.exit("only %d bind mounts found" % n)
PY
}

@test "the keeper's and the seeder's published metrics ports are the ports of their --metrics" {
	compose_config >compose.yml
	python3 - compose.yml <<'PY'
import sys, yaml
c = yaml.safe_load(open(sys.argv[1]))
for name in ("keeper", "seeder"):
    s = c["services"][name]
    args = s["command"]
    port = args[args.index("--metrics") + 1].rsplit(":", 1)[1]
    published = [str(p["target"]) if isinstance(p, dict) else p.split("/")[0].rsplit(":", 1)[-1]
                 for p in s.get("ports", [])]
    if port not in published:
        sys.exit("%s: --metrics on %s but ports %s" % (name, port, published))
PY
}

@test "Prometheus's targets are the compose services on the ports they serve, and its Alertmanager is the compose one" {
	compose_config >compose.yml
	python3 - compose.yml "$D/prometheus/prometheus.yml" <<'PY'
import sys, yaml
c = yaml.safe_load(open(sys.argv[1]))
p = yaml.safe_load(open(sys.argv[2]))
svc = c["services"]
# the port each service serves: from its command (--metrics :PORT), else its image's known port
serves = {"kubo": {"5001", "8080"}, "cluster": {"9094", "8888"}, "alertmanager": {"9093"}, "prometheus": {"9090"}}
for name in ("keeper", "seeder"):
    args = svc[name]["command"]
    serves[name] = {args[args.index("--metrics") + 1].rsplit(":", 1)[1]}
if svc["cluster"]["environment"].get("CLUSTER_METRICS_PROMETHEUSENDPOINT", "").rsplit("/", 1)[-1] != "8888":
    sys.exit("cluster: its Prometheus endpoint is not on 8888")
targets = [t for j in p["scrape_configs"] for s in j["static_configs"] for t in s["targets"]]
targets += [t for a in p["alerting"]["alertmanagers"] for s in a["static_configs"] for t in s["targets"]]
for t in targets:
    host, port = t.rsplit(":", 1)
    if host not in svc or port not in serves.get(host, set()):
        sys.exit("prometheus.yml: target %s is not a compose service on a port it serves" % t)
if len(targets) != 5:
    sys.exit("prometheus.yml: %d targets, want 5" % len(targets))
PY
}

@test "the image's runtime packages exist in Debian 12, and the tools' install lands in the image's PATH" {
	local pkgs
	pkgs=$(sed -n '/^FROM debian:12$/,$p' "$D/Dockerfile" | sed -n 's/.*--no-install-recommends//p;/^\t[a-z]/p' |
		tr -d '\\' | tr ' \t' '\n\n' | grep -E '^[a-z0-9][a-z0-9.+-]+$' | grep -v -E '^(rm|apt|useradd|lists)$' || true)
	[ -n "$pkgs" ]
	local p
	for p in $pkgs; do
		[ "$p" = "&&" ] && continue
		apt-cache show "$p" >/dev/null 2>&1 || fail "Dockerfile: no Debian package '$p'"
	done
	grep -q 'make install PREFIX=/opt/hybrid-p2p' "$D/Dockerfile"
	grep -q 'COPY --from=build /opt/hybrid-p2p /usr/local' "$D/Dockerfile"
}

@test "systemd-analyze verify: both units, clean; their command lines are accepted by the tools" {
	# the tools under test and their man pages where `make install` puts them
	# (not make itself: under `make asan` it would rebuild what other tests run)
	mkdir -p prefix/bin prefix/share/man/man1
	cp "$HP_BIN"/hp-* "$HP_BIN"/hybrid-p2p prefix/bin/
	cp "$HP_ROOT"/docs/*.1 prefix/share/man/man1/
	mkdir units
	for u in hp-pin-watch.service hp-seed@.service; do
		sed "s|/usr/local/bin/|$PWD/prefix/bin/|" "$D/systemd/$u" >"units/$u"
	done
	cp units/hp-seed@.service units/hp-seed@pkg.service
	run --separate-stderr env MANPATH="$PWD/prefix/share/man" systemd-analyze verify units/hp-pin-watch.service units/hp-seed@pkg.service
	assert_success
	assert_equal "$stderr" ""
	# each ExecStart with --help: every option it names is known
	local cmd
	cmd=$(sed -n 's/^ExecStart=//p' units/hp-pin-watch.service)
	run --separate-stderr bash -c "$cmd --help"
	assert_success
	cmd=$(sed -n 's/^ExecStart=//p' units/hp-seed@pkg.service | sed 's/%i/pkg/g; s/\${HP_SEED_LISTEN}/0.0.0.0:6881/; s/\${HP_SEED_METRICS}/127.0.0.1:9102/')
	run --separate-stderr bash -c "$cmd --help"
	assert_success
	# a unit with a mistake is caught
	sed 's/^SystemCallFilter=@system-service/SystemCallFilter=@no-such-group/' units/hp-pin-watch.service >units/bad.service
	run --separate-stderr env MANPATH="$PWD/prefix/share/man" systemd-analyze verify units/bad.service
	[[ $stderr == *"no-such-group"* ]]
}

@test "Grafana: the provisioning points at the dashboards' folder; the dashboard is JSON with a query in every panel" {
	grep -q 'path: /var/lib/grafana/dashboards' "$D/grafana/provisioning/dashboards/hybrid-p2p.yml"
	grep -q 'url: http://prometheus:9090' "$D/grafana/provisioning/datasources/prometheus.yml"
	compose_config | grep -q '/var/lib/grafana/dashboards'
	jq -e '.uid == "hybrid-p2p" and (.panels | length) >= 10 and
		all(.panels[]; (.targets | length) >= 1 and all(.targets[]; (.expr | length) > 0))' \
		"$D/grafana/dashboards/hybrid-p2p.json"
}
