#!/usr/bin/env bash
# The small-file path (issue 11, item 7): a package of many small files
# (default 100,000 files of 1-4 KiB in 1,000 folders, names with extensions
# the MIME table knows) through hp-manifest create (SHA-256, CIDs, MIME
# types, the hybrid torrent, one read), then hp-sign manifest,
# hp-manifest validate and hp-verify of the signed manifest; against
# `find | xargs -P CPUS openssl dgst -sha256`, hp-hash and kubo's
# `ipfs add -r --only-hash` (an offline temporary repository, the
# unixfs-v1-2025 profile that hp-manifest uses by default) on the same files,
# in the same run. Prints ratios of times (the minimum of HP_BENCH_RUNS rounds;
# a round runs every command once in turn) and each command's peak RSS.
# kubo's root CID is checked against the manifest's ipfs_cid first, so the
# ratios compare the same work. Everything is made in a temporary folder and
# removed.
#
#   HP_BENCH_RUNS=3  HP_BENCH_FILES=100000  HP_BENCH_DIRS=1000  KUBO_BIN=.cache/bin/ipfs
#
# Targets (issue 11): create (CIDs and the hybrid torrent) <= 2x openssl;
# MIME types <= 1.10x create without them; create, sign, validate and
# verify within 128 MiB each; sign, validate and verify under 0.5 s each.
# the timings are variables named at run time (printf -v)
# shellcheck disable=SC2154
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
HP_BIN=${HP_BIN:-$root/build/bin}
for t in hp-manifest hp-hash hp-sign hp-verify; do
	[ -x "$HP_BIN/$t" ] || {
		echo "bench/scale.sh: no $HP_BIN/$t (run make first)" >&2
		exit 1
	}
done
ipfs=${KUBO_BIN:-$root/.cache/bin/ipfs}
[ -x "$ipfs" ] || ipfs=$(command -v ipfs || true)
if [ -z "$ipfs" ] || [ ! -x "$ipfs" ]; then
	echo "bench/scale.sh: no kubo (scripts/build-kubo)" >&2
	exit 1
fi
for t in jq python3 /usr/bin/time; do
	command -v "$t" >/dev/null || {
		echo "bench/scale.sh: no $t" >&2
		exit 1
	}
done
RUNS=${HP_BENCH_RUNS:-3}
FILES=${HP_BENCH_FILES:-100000}
DIRS=${HP_BENCH_DIRS:-1000}
CPUS=$(nproc)
hp=$HP_BIN

tmp=$(mktemp -d "${TMPDIR:-/tmp}/hp-bench-scale.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"

loadavg() { cut -d' ' -f1-3 /proc/loadavg; }

# rounds NAME CMD NAME CMD ...: as in bench/cid.sh; also sets NAME_rss to
# the peak RSS in KiB of CMD's last run (the command's own process: CMD is
# run by /usr/bin/time without a shell when it has no pipe)
rounds() {
	local -a names=() cmds=()
	local -A min=() rss=()
	local i r t0 t1 dt
	while (($#)); do
		names+=("$1")
		cmds+=("$2")
		shift 2
	done
	for ((r = 0; r < RUNS; r++)); do
		for i in "${!cmds[@]}"; do
			t0=$(date +%s%N)
			if [[ ${cmds[i]} == *\|* ]]; then
				bash -c "${cmds[i]}" >/dev/null 2>&1 || {
					echo "bench/scale.sh: failed: ${cmds[i]}" >&2
					exit 1
				}
				rss[$i]=0
			else
				bash -c "/usr/bin/time -f %M -o rss.txt ${cmds[i]}" >/dev/null 2>&1 || {
					echo "bench/scale.sh: failed: ${cmds[i]}" >&2
					exit 1
				}
				rss[$i]=$(tail -n 1 rss.txt)
			fi
			t1=$(date +%s%N)
			dt=$((t1 - t0))
			[ -n "${min[$i]:-}" ] && ((min[$i] <= dt)) || min[$i]=$dt
		done
	done
	for i in "${!names[@]}"; do
		printf -v "${names[i]}" '%s' "$(awk -v n="${min[$i]}" 'BEGIN { printf "%.6f", n / 1e9 }')"
		printf -v "${names[i]}_rss" '%s' "${rss[$i]}"
	done
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
secs() { awk -v a="$1" 'BEGIN { printf "%.3f", a }'; }
mib() { awk -v a="$1" 'BEGIN { printf "%.0f", a / 1024 }'; }

# FILES files of 1-4 KiB (random bytes) in DIRS folders; extensions that
# data sets use, all in the MIME table (a name it does not know costs one
# libmagic call, about 0.25 ms of CPU: docs/manifest.md)
python3 - "$FILES" "$DIRS" <<'PY'
import os, random, sys
n, dirs = int(sys.argv[1]), int(sys.argv[2])
rnd = random.Random(42)
exts = [".txt", ".json", ".csv", ".bin", ".png", ".html", ".xml", ".jpg"]
pool = rnd.randbytes(1 << 20)
for d in range(min(n, dirs)):
    os.makedirs("tree/d%04d" % d)
for i in range(n):
    size = 1024 * rnd.randint(1, 4)
    off = rnd.randrange(len(pool) - size)
    with open("tree/d%04d/f%06d%s" % (i % dirs, i, exts[i % len(exts)]), "wb") as f:
        f.write(pool[off:off + size])
PY
tree_mib=$(du -sm --apparent-size tree | cut -f1)
find tree -type f -print0 | xargs -0 cat >/dev/null

export IPFS_PATH=$tmp/kubo
"$ipfs" init --profile=test,unixfs-v1-2025 >/dev/null 2>&1
kubo="'$ipfs' add --offline --only-hash -Q --pin=false -r tree"
"$hp/hp-sign" keygen -n k -O . >/dev/null
create="'$hp/hp-manifest' create --name scale --version 1.0.0 --timestamp 2026-01-01T00:00:00Z"
bash -c "$create -o m.json tree"
"$hp/hp-sign" manifest k.pem m.json -o signed.json
cid=$(jq -r .distribution.ipfs_cid m.json)
kcid=$(bash -c "$kubo")
[ "$cid" = "$kcid" ] || {
	echo "bench/scale.sh: the manifest's ipfs_cid is $cid, kubo says $kcid" >&2
	exit 1
}
if [ "$(jq '.files | length' m.json)" != "$FILES" ] || [ "$(jq -r .distribution.torrent_infohash_v2 m.json)" = null ]; then
	echo "bench/scale.sh: the manifest has not $FILES files and a hybrid torrent" >&2
	exit 1
fi
manifest_mb=$(awk -v b="$(stat -c %s signed.json)" 'BEGIN { printf "%.1f", b / 1e6 }')

load_before=$(loadavg)
echo "small-file benchmark: $CPUS CPUs ($(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1))," \
	"$("$ipfs" version), $(openssl version | cut -d' ' -f1-2), minimum of $RUNS rounds"
echo "load average before: $load_before"

rounds \
	t_os "find tree -type f -print0 | xargs -0 -P $CPUS -n $(((FILES + CPUS - 1) / CPUS)) openssl dgst -sha256" \
	t_hash "'$hp/hp-hash' tree" \
	t_kubo "$kubo" \
	t_create "$create -o out.json tree" \
	t_nomime "$create --no-mime -o out.json tree" \
	t_notor "$create --no-torrent -o out.json tree" \
	t_sign "'$hp/hp-sign' manifest k.pem m.json -o out.json" \
	t_valid "'$hp/hp-manifest' validate signed.json" \
	t_verify "'$hp/hp-verify' -k k.pub signed.json"
load_after=$(loadavg)

row() { printf '| %s | %s | %s |\n' "$1" "$2" "$3"; }
echo
echo "$FILES files of 1-4 KiB ($tree_mib MiB) in $DIRS folders; the signed manifest: $manifest_mb MB."
echo
row "comparison" "ratio" "target"
row "---" "---" "---"
row "hp-manifest create (SHA-256, CIDs, MIME, hybrid torrent) / \`openssl dgst -sha256\` ($CPUS at once)" \
	"$(ratio "$t_create" "$t_os")x" "<= 2x"
row "hp-manifest create --no-mime / openssl" "$(ratio "$t_nomime" "$t_os")x" "<= 2x"
row "hp-manifest create / create --no-mime (the cost of MIME types)" "$(ratio "$t_create" "$t_nomime")x" "<= 1.10x"
row "hp-manifest create / create --no-torrent (the cost of the hybrid torrent)" "$(ratio "$t_create" "$t_notor")x" ""
row "kubo \`ipfs add -r --only-hash\` / hp-manifest create" "$(ratio "$t_kubo" "$t_create")x" ""
row "hp-hash / openssl" "$(ratio "$t_hash" "$t_os")x" ""
row "hp-sign manifest / openssl" "$(ratio "$t_sign" "$t_os")x" "< 0.5 s"
row "hp-manifest validate / openssl" "$(ratio "$t_valid" "$t_os")x" "< 0.5 s"
row "hp-verify (signature, no content) / openssl" "$(ratio "$t_verify" "$t_os")x" "< 0.5 s"
echo
echo "seconds (minimum of $RUNS rounds) and peak RSS:"
for v in t_os t_hash t_kubo t_create t_nomime t_notor t_sign t_valid t_verify; do
	r=${v}_rss
	printf '  %-9s %7s s' "${v#t_}" "$(secs "${!v}")"
	if [ "${!r}" != 0 ]; then printf '  %5s MiB\n' "$(mib "${!r}")"; else echo; fi
done
echo "load average before: $load_before; after: $load_after"
