#!/usr/bin/env bash
# The pin keeper at scale (issue 12, item 5): `hp-pin watch` keeping the
# N manifests (default 1,000) of a git registry (file://) pinned on one kubo
# and one IPFS Cluster peer, both real, on 127.0.0.1. Prints, for one
# check: wall time, CPU time and peak RSS, when everything is pinned and
# when HP_BENCH_LOST (default 100) CIDs were unpinned from kubo behind its
# back; against the same questions asked by the nodes' own tools in the same
# run (`ipfs pin ls` of every CID one by one, `ipfs-cluster-ctl status` of
# every CID one by one), so the figures compare; and the CPU the keeper uses
# while it waits between checks (HP_BENCH_IDLE seconds, default 10).
#
#   HP_BENCH_CIDS=1000  HP_BENCH_LOST=100  HP_BENCH_IDLE=10
#   KUBO_BIN=.cache/bin/ipfs, the cluster binaries from .cache/bin (scripts/build-cluster)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
HP_BIN=${HP_BIN:-$root/build/bin}
[ -x "$HP_BIN/hp-pin" ] || {
	echo "bench/keeper.sh: no $HP_BIN/hp-pin (run make first)" >&2
	exit 1
}
N=${HP_BENCH_CIDS:-1000}
LOST=${HP_BENCH_LOST:-100}
IDLE=${HP_BENCH_IDLE:-10}
export HP_ROOT=$root
tmp=$(mktemp -d "${TMPDIR:-/tmp}/hp-bench-keeper.XXXXXX")
export HP_DAEMON_TMPDIR=$tmp
# shellcheck source=../tests/lib/kubo.bash
. "$root/tests/lib/kubo.bash"
# shellcheck source=../tests/lib/cluster.bash
. "$root/tests/lib/cluster.bash"
cleanup() {
	[ -z "${watch_pid:-}" ] || kill "$watch_pid" 2>/dev/null || true
	cluster_stop 2>/dev/null || true
	kubo_stop 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT
cd "$tmp"

kubo_start >/dev/null
cluster_start >/dev/null

# N packages of one small file each: their manifests in a registry, their
# content on kubo without a pin
mkdir pkgs
python3 - "$N" <<'PY'
import os, sys
for i in range(int(sys.argv[1])):
    os.makedirs("pkgs/p%05d" % i)
    with open("pkgs/p%05d/data.txt" % i, "w") as f:
        f.write("content of package %d %s\n" % (i, os.urandom(8).hex()))
PY
git init -q --bare -b main reg.git
git clone -q "file://$tmp/reg.git" work 2>/dev/null
mkdir -p work/manifests
for d in pkgs/*; do
	n=${d#pkgs/}
	mkdir -p "work/manifests/$n"
	"$HP_BIN/hp-manifest" create --name "$n" --version 1.0.0 --no-torrent --profile unixfs-v0-2015 \
		--timestamp 2026-01-01T00:00:00Z -o "work/manifests/$n/1.0.0.json" -C "$d" .
done
python3 - "$N" >work/index.json <<'PY'
import json, sys
pk = {"p%05d" % i: {"latest": "1.0.0", "versions": ["1.0.0"]} for i in range(int(sys.argv[1]))}
print(json.dumps({"registry_version": 1, "packages": pk}, indent=2, sort_keys=True))
PY
git -C work -c user.email=b@example.org -c user.name=bench add -A
git -C work -c user.email=b@example.org -c user.name=bench commit -q -m "$N packages"
git -C work push -q origin HEAD:main
ipfs add -Q --pin=false -r --cid-version 0 pkgs >/dev/null
jq -r .distribution.ipfs_cid work/manifests/*/1.0.0.json | sort -u >cids.txt
[ "$(wc -l <cids.txt)" -eq "$N" ] || {
	echo "bench/keeper.sh: $(wc -l <cids.txt) CIDs, not $N" >&2
	exit 1
}
REG=file://$tmp/reg.git

# timed NAME CMD...: wall seconds, CPU seconds (user+sys) and peak RSS (MiB)
timed() {
	local name=$1
	shift
	/usr/bin/time -f "%e %U %S %M" -o time.txt "$@" >out.txt 2>&1 || {
		echo "bench/keeper.sh: failed ($name): $(tail -n 3 out.txt)" >&2
		exit 1
	}
	read -r wall user sys rss < <(tail -n 1 time.txt)
	printf '| %s | %.2f s | %.2f s | %d MiB |\n' "$name" "$wall" "$(awk -v a="$user" -v b="$sys" 'BEGIN { print a + b }')" \
		$((rss / 1024))
}

echo "pin keeper benchmark: $N manifests in a registry, one kubo ($(ipfs version)) and one IPFS Cluster peer ($CLUSTER_VERSION), $(nproc) CPUs"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| one check | wall | CPU | peak RSS |"
echo "| --- | --- | --- | --- |"
timed "hp-pin watch --once, nothing pinned yet: $N manifests read, $N x 2 pins made" \
	"$HP_BIN/hp-pin" watch --once --kubo "$KUBO_API" --cluster "$CLUSTER_API" --registry "$REG" --registry-cache "$tmp/cache"
timed "hp-pin watch --once, everything pinned: $N manifests read, $N x 2 statuses" \
	"$HP_BIN/hp-pin" watch --once --kubo "$KUBO_API" --cluster "$CLUSTER_API" --registry "$REG" --registry-cache "$tmp/cache"
head -n "$LOST" cids.txt | while read -r c; do ipfs pin rm "$c" >/dev/null; done
timed "hp-pin watch --once, $LOST unpinned from kubo behind its back" \
	"$HP_BIN/hp-pin" watch --once --kubo "$KUBO_API" --cluster "$CLUSTER_API" --registry "$REG" --registry-cache "$tmp/cache"
timed "reference: \`ipfs pin ls\` of each CID, one by one (kubo alone)" \
	bash -c 'while read -r c; do ipfs pin ls --type=recursive "$c" >/dev/null; done <cids.txt'
timed "reference: \`ipfs-cluster-ctl status\` of each CID, one by one (cluster alone)" \
	bash -c 'while read -r c; do ipfs-cluster-ctl --host "$1" status "$c" >/dev/null; done <cids.txt' _ "$CLUSTER_API_MADDR"

# idle: the CPU the keeper uses between checks (interval longer than the run)
"$HP_BIN/hp-pin" watch --interval 3600 --kubo "$KUBO_API" --cluster "$CLUSTER_API" --registry "$REG" \
	--registry-cache "$tmp/cache" >watch.out 2>&1 &
watch_pid=$!
for _ in $(seq 600); do
	grep -q '"event":"check"' watch.out && break
	sleep 0.1
done
t0=$(awk '{ print $14 + $15 }' "/proc/$watch_pid/stat")
sleep "$IDLE"
t1=$(awk '{ print $14 + $15 }' "/proc/$watch_pid/stat")
rss=$(awk '/VmRSS/ { print int($2 / 1024) }' "/proc/$watch_pid/status")
echo
echo "between checks: $(awk -v a="$t0" -v b="$t1" -v s="$IDLE" -v hz="$(getconf CLK_TCK)" \
	'BEGIN { printf "%.3f%%", 100 * (b - a) / hz / s }') of a CPU over ${IDLE} s, ${rss} MiB resident"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
