#!/usr/bin/env bash
# hp-cid against kubo's `ipfs add --only-hash` (an offline temporary
# repository per profile), Debian's ipfs_cid and `openssl dgst -sha256`, on one
# big file and a tree of many small files; and `hp-cid --sha256` (SHA-256 and
# CID from one read) against `openssl dgst -sha256` alone. Prints ratios of
# times measured in the same run: absolute times depend on the machine and its
# load, ratios much less. Each timing is the minimum of HP_BENCH_RUNS rounds,
# a round running every command once in turn so that a change of load hits
# them all alike (files are read from the page cache); the load average is
# printed before and after. Every tool's root CID is checked against hp-cid's, so the ratios
# compare the same work. Everything is made in a temporary folder and removed.
#
#   HP_BENCH_RUNS=3  HP_BENCH_BIG_MIB=1024  HP_BENCH_FILES=10000  KUBO_BIN=.cache/bin/ipfs
#
# Targets (issue 3): hp-cid >= 3x faster than kubo's only-hash; <= 1.15x
# openssl's SHA-256 time on one file; SHA-256 + CID in one read <= 1.2x
# SHA-256 alone on two cores.
# the timings are variables named at run time (printf -v)
# shellcheck disable=SC2154
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
HP_BIN=${HP_BIN:-$root/build/bin}
hp=$HP_BIN/hp-cid
[ -x "$hp" ] || {
	echo "bench/cid.sh: no $hp (run make first)" >&2
	exit 1
}
ipfs=${KUBO_BIN:-$root/.cache/bin/ipfs}
[ -x "$ipfs" ] || ipfs=$(command -v ipfs || true)
[ -n "$ipfs" ] && [ -x "$ipfs" ] || {
	echo "bench/cid.sh: no kubo (scripts/build-kubo)" >&2
	exit 1
}
command -v ipfs_cid >/dev/null || {
	echo "bench/cid.sh: no ipfs_cid (apt-get install ipfs-cid)" >&2
	exit 1
}
command -v jq >/dev/null || {
	echo "bench/cid.sh: no jq" >&2
	exit 1
}
RUNS=${HP_BENCH_RUNS:-3}
BIG_MIB=${HP_BENCH_BIG_MIB:-1024}
FILES=${HP_BENCH_FILES:-10000}
CPUS=$(nproc)

tmp=$(mktemp -d "${TMPDIR:-/tmp}/hp-bench-cid.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"

loadavg() { cut -d' ' -f1-3 /proc/loadavg; }

# rounds NAME CMD NAME CMD ...: RUNS rounds, each running every command once
# in turn (so a change of load hits them all alike); sets the variable NAME
# to the minimum seconds of its command (output discarded)
rounds() {
	local -a names=() cmds=()
	local -A min=()
	local i r t0 t1 dt
	while (($#)); do
		names+=("$1")
		cmds+=("$2")
		shift 2
	done
	for ((r = 0; r < RUNS; r++)); do
		for i in "${!cmds[@]}"; do
			t0=$(date +%s%N)
			bash -c "${cmds[i]}" >/dev/null 2>&1 || {
				echo "bench/cid.sh: failed: ${cmds[i]}" >&2
				exit 1
			}
			t1=$(date +%s%N)
			dt=$((t1 - t0))
			[ -n "${min[$i]:-}" ] && ((min[$i] <= dt)) || min[$i]=$dt
		done
	done
	for i in "${!names[@]}"; do
		printf -v "${names[i]}" '%s' "$(awk -v n="${min[$i]}" 'BEGIN { printf "%.6f", n / 1e9 }')"
	done
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
secs() { awk -v a="$1" 'BEGIN { printf "%.3f", a }'; }

# fast pseudo-random bytes (the generator dies of SIGPIPE when head is done)
random_bytes() {
	{ openssl enc -aes-128-ctr -pass "pass:$1" -nosalt -pbkdf2 </dev/zero 2>/dev/null || true; } | head -c "$2"
}

# the root CID hp-cid gives for PATH under PROFILE
hp_root() { "$hp" --profile "$1" "$2" | tail -n 1 | jq -r .cid; }

same() { # WHAT OURS THEIRS
	[ "$2" = "$3" ] || {
		echo "bench/cid.sh: $1: hp-cid says $2, the reference $3" >&2
		exit 1
	}
}

# kubo: one offline repository per profile; no daemon, so `ipfs add` runs
# in-process. GOMAXPROCS is left at its default (every CPU).
export IPFS_PATH
IPFS_PATH=$tmp/kubo-v0
"$ipfs" init --profile=test >/dev/null 2>&1
IPFS_PATH=$tmp/kubo-v1
"$ipfs" init --profile=test,unixfs-v1-2025 >/dev/null 2>&1
kubo() { # PROFILE ARGS...: the command line, for rounds
	local repo=$tmp/kubo-v0
	[ "$1" = unixfs-v1-2025 ] && repo=$tmp/kubo-v1
	shift
	printf "IPFS_PATH='%s' '%s' add --offline --only-hash -Q --pin=false %s" "$repo" "$ipfs" "$*"
}

load_before=$(loadavg)
echo "hp-cid benchmark: $CPUS CPUs ($(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1))," \
	"$("$ipfs" version), $(openssl version | cut -d' ' -f1-2), minimum of $RUNS rounds"
echo "load average before: $load_before"

# ---- one big file ----
random_bytes hp-bench-cid $((BIG_MIB << 20)) >big
cat big >/dev/null
same "big, unixfs-v0-2015, kubo" "$(hp_root unixfs-v0-2015 big)" "$(bash -c "$(kubo unixfs-v0-2015 big)")"
same "big, unixfs-v1-2025, kubo" "$(hp_root unixfs-v1-2025 big)" "$(bash -c "$(kubo unixfs-v1-2025 big)")"
same "big, ipfs_cid" "$(hp_root unixfs-v0-2015 big)" "$(ipfs_cid big 2>/dev/null | jq -r .CIDv0)"

rounds \
	b_hp0 "'$hp' --profile unixfs-v0-2015 big" \
	b_hp1 "'$hp' --profile unixfs-v1-2025 big" \
	b_hp1s "'$hp' --profile unixfs-v1-2025 --sha256 big" \
	b_hp1j "'$hp' --profile unixfs-v1-2025 --jobs 1 big" \
	b_k0 "$(kubo unixfs-v0-2015 big)" \
	b_k1 "$(kubo unixfs-v1-2025 big)" \
	b_ic "ipfs_cid big" \
	b_os "openssl dgst -sha256 big"
rm -f big

# ---- a tree of many small files ----
# FILES files of 1..16 KiB (mean 8.5 KiB) in 100 folders of ~100 files
mkdir tree
random_bytes hp-bench-cid-tree $((FILES * 16384)) >pool
awk -v n="$FILES" 'BEGIN { srand(42); for (i = 0; i < n; i++) printf "%d %d\n", i, 1024 * (1 + int(rand() * 16)) }' |
	while read -r i size; do
		d=tree/d$((i % 100))
		[ -d "$d" ] || mkdir "$d"
		dd if=pool of="$d/f$i" bs="$size" count=1 skip=$((i % 1000)) status=none
	done
rm -f pool
tree_mib=$(du -sm --apparent-size tree | cut -f1)
cat tree/*/* >/dev/null
same "tree, unixfs-v0-2015, kubo" "$(hp_root unixfs-v0-2015 tree)" "$(bash -c "$(kubo unixfs-v0-2015 -r tree)")"
same "tree, unixfs-v1-2025, kubo" "$(hp_root unixfs-v1-2025 tree)" "$(bash -c "$(kubo unixfs-v1-2025 -r tree)")"

rounds \
	t_hp0 "'$hp' --profile unixfs-v0-2015 tree" \
	t_hp1 "'$hp' --profile unixfs-v1-2025 tree" \
	t_hp1s "'$hp' --profile unixfs-v1-2025 --sha256 tree" \
	t_k0 "$(kubo unixfs-v0-2015 -r tree)" \
	t_k1 "$(kubo unixfs-v1-2025 -r tree)" \
	t_ic "find tree -type f -print0 | xargs -0 -n 1 ipfs_cid" \
	t_os "find tree -type f -print0 | xargs -0 openssl dgst -sha256" \
	t_osp "find tree -type f -print0 | xargs -0 -P $CPUS -n $(((FILES + CPUS - 1) / CPUS)) openssl dgst -sha256"

load_after=$(loadavg)

row() { printf '| %s | %s | %s | %s |\n' "$1" "$2" "$3" "$4"; }
echo
echo "one file of $BIG_MIB MiB; a tree of $FILES files ($tree_mib MiB, 100 folders)."
echo "ratio = the other tool's time / hp-cid's time (above 1: hp-cid is faster),"
echo "except the last rows: hp-cid's time / openssl's (below 1: hp-cid is faster)."
echo
row "comparison" "$BIG_MIB MiB file" "$FILES-file tree" "target"
row "---" "---" "---" "---"
row "kubo \`ipfs add --only-hash\` / hp-cid, unixfs-v0-2015 (kubo's default)" \
	"$(ratio "$b_k0" "$b_hp0")x" "$(ratio "$t_k0" "$t_hp0")x" ">= 3x"
row "kubo \`ipfs add --only-hash\` / hp-cid, unixfs-v1-2025" \
	"$(ratio "$b_k1" "$b_hp1")x" "$(ratio "$t_k1" "$t_hp1")x" ">= 3x"
row "\`ipfs_cid\` / hp-cid, unixfs-v0-2015 (tree: one ipfs_cid per file, no folders)" \
	"$(ratio "$b_ic" "$b_hp0")x" "$(ratio "$t_ic" "$t_hp0")x" ""
row "hp-cid unixfs-v0-2015 / \`openssl dgst -sha256\`" \
	"$(ratio "$b_hp0" "$b_os")x" "$(ratio "$t_hp0" "$t_os")x" "<= 1.15x (file)"
row "hp-cid unixfs-v1-2025 / \`openssl dgst -sha256\`" \
	"$(ratio "$b_hp1" "$b_os")x" "$(ratio "$t_hp1" "$t_os")x" "<= 1.15x (file)"
row "hp-cid unixfs-v1-2025 --jobs 1 / \`openssl dgst -sha256\`" \
	"$(ratio "$b_hp1j" "$b_os")x" "" ""
row "\`hp-cid --sha256\` (SHA-256 + CID, one read) / \`openssl dgst -sha256\`" \
	"$(ratio "$b_hp1s" "$b_os")x" "$(ratio "$t_hp1s" "$t_os")x" "<= 1.2x"
row "\`hp-cid --sha256\` / $CPUS \`openssl dgst -sha256\` processes at once" \
	"" "$(ratio "$t_hp1s" "$t_osp")x" ""
echo
echo "times in seconds (minimum of $RUNS rounds):"
echo "  big:  hp-cid v0 $(secs "$b_hp0"), v1 $(secs "$b_hp1"), v1 --sha256 $(secs "$b_hp1s"), v1 --jobs 1 $(secs "$b_hp1j");" \
	"kubo v0 $(secs "$b_k0"), v1 $(secs "$b_k1"); ipfs_cid $(secs "$b_ic"); openssl $(secs "$b_os")"
echo "  tree: hp-cid v0 $(secs "$t_hp0"), v1 $(secs "$t_hp1"), v1 --sha256 $(secs "$t_hp1s");" \
	"kubo v0 $(secs "$t_k0"), v1 $(secs "$t_k1"); ipfs_cid $(secs "$t_ic"); openssl $(secs "$t_os"), $CPUS at once $(secs "$t_osp")"
echo "load average before: $load_before; after: $load_after"
