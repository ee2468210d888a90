#!/usr/bin/env bash
# The pin keeper at scale (issue 12, item 5): `hp-pin watch` keeping N CIDs
# (default 1,000, each the root of a small manifest's content) pinned on one
# kubo and one IPFS Cluster peer, both real, on 127.0.0.1. Prints, for one
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

# N small files, each its own CID, added to kubo without a pin
mkdir files
python3 - "$N" <<'PY'
import os, sys
for i in range(int(sys.argv[1])):
    with open("files/f%05d" % i, "w") as f:
        f.write("content of package %d %s\n" % (i, os.urandom(8).hex()))
PY
ipfs add -Q --pin=false -r files >/dev/null
ipfs add -q --pin=false files/* | sort -u >cids.txt
[ "$(wc -l <cids.txt)" -eq "$N" ] || {
	echo "bench/keeper.sh: $(wc -l <cids.txt) CIDs, not $N" >&2
	exit 1
}
mapfile -t cids <cids.txt

# timed NAME CMD...: wall seconds, CPU seconds (user+sys) and peak RSS (MiB)
timed() {
	local name=$1
	shift
	/usr/bin/time -f "%e %U %S %M" -o time.txt "$@" >/dev/null 2>&1 || true
	read -r wall user sys rss <time.txt
	printf '| %s | %.2f s | %.2f s | %d MiB |\n' "$name" "$wall" "$(awk -v a="$user" -v b="$sys" 'BEGIN { print a + b }')" \
		$((rss / 1024))
}

echo "pin keeper benchmark: $N CIDs, one kubo ($(ipfs version)) and one IPFS Cluster peer ($CLUSTER_VERSION), $(nproc) CPUs"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| one check | wall | CPU | peak RSS |"
echo "| --- | --- | --- | --- |"
timed "hp-pin watch --once, nothing pinned yet ($N x 2 pins made)" \
	"$HP_BIN/hp-pin" watch --once --kubo "$KUBO_API" --cluster "$CLUSTER_API" "${cids[@]}"
timed "hp-pin watch --once, everything pinned ($N x 2 statuses)" \
	"$HP_BIN/hp-pin" watch --once --kubo "$KUBO_API" --cluster "$CLUSTER_API" "${cids[@]}"
for c in "${cids[@]:0:$LOST}"; do
	ipfs pin rm "$c" >/dev/null
done
timed "hp-pin watch --once, $LOST unpinned from kubo behind its back" \
	"$HP_BIN/hp-pin" watch --once --kubo "$KUBO_API" --cluster "$CLUSTER_API" "${cids[@]}"
timed "reference: \`ipfs pin ls\` of each CID, one by one (kubo alone)" \
	bash -c 'while read -r c; do ipfs pin ls --type=recursive "$c" >/dev/null; done <cids.txt'
timed "reference: \`ipfs-cluster-ctl status\` of each CID, one by one (cluster alone)" \
	bash -c 'while read -r c; do ipfs-cluster-ctl --host "$1" status "$c" >/dev/null; done <cids.txt' _ "$CLUSTER_API_MADDR"

# idle: the CPU the keeper uses between checks (interval longer than the run)
"$HP_BIN/hp-pin" watch --interval 3600 --kubo "$KUBO_API" --cluster "$CLUSTER_API" "${cids[@]}" >watch.out 2>&1 &
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
