#!/usr/bin/env bash
# hp-hash against `openssl dgst -sha256` and `sha256sum`: one big file on one
# thread, many small files on every core, peak RSS on a 10 GiB file, start-up.
# Everything is made in a temporary folder and removed afterwards. Timings are
# hyperfine medians when hyperfine is installed (apt-get install hyperfine),
# else the median of a plain loop; files are read from the page cache.
#
#   HP_BENCH_RUNS=5  HP_BENCH_BIG_MIB=1024  HP_BENCH_SMALL=10000  HP_BENCH_RSS_GIB=10
set -euo pipefail

HP_BIN=${HP_BIN:-$(cd "$(dirname "$0")/.." && pwd)/build/bin}
hp=$HP_BIN/hp-hash
[ -x "$hp" ] || {
	echo "bench/hash.sh: no $hp (run make first)" >&2
	exit 1
}
RUNS=${HP_BENCH_RUNS:-5}
BIG_MIB=${HP_BENCH_BIG_MIB:-1024}
SMALL=${HP_BENCH_SMALL:-10000}
RSS_GIB=${HP_BENCH_RSS_GIB:-10}
CPUS=$(nproc)

tmp=$(mktemp -d "${TMPDIR:-/tmp}/hp-bench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"

have_hyperfine=false
command -v hyperfine >/dev/null && command -v jq >/dev/null && have_hyperfine=true

# median seconds of a command (output discarded); a command without shell
# syntax (no pipe, '&', ';') runs without a shell
median() {
	local cmd=$1 runs=${2:-$RUNS} shell=()
	[[ $cmd == *[\|\&\;]* ]] || shell=(-N)
	if $have_hyperfine; then
		hyperfine "${shell[@]}" --style none --warmup 1 --runs "$runs" --export-json h.json "$cmd" >/dev/null 2>&1
		jq '.results[0].median' h.json
	else
		local i t0 t1
		bash -c "$cmd" >/dev/null 2>&1
		for ((i = 0; i < runs; i++)); do
			t0=$(date +%s%N)
			bash -c "$cmd" >/dev/null 2>&1
			t1=$(date +%s%N)
			echo $(((t1 - t0)))
		done | sort -n | awk '{v[NR] = $1} END {printf "%.6f\n", v[int((NR + 1) / 2)] / 1e9}'
	fi
}

# peak RSS in KiB of a command
peak_rss() {
	if [ -x /usr/bin/time ]; then
		/usr/bin/time -f %M -o rss.txt "$@" >/dev/null 2>&1 || true
		tail -1 rss.txt
	else
		echo "?"
	fi
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
ms() { awk -v a="$1" 'BEGIN { printf "%.2f", a * 1000 }'; }
secs() { awk -v a="$1" 'BEGIN { printf "%.3f", a }'; }
mib() { awk -v a="$1" 'BEGIN { printf "%.1f", a / 1024 }'; }

echo "hp-hash benchmark: $CPUS CPUs, $(openssl version | cut -d' ' -f1-2)," \
	"$($have_hyperfine && echo "hyperfine medians of $RUNS runs" || echo "medians of $RUNS runs (no hyperfine)")"

# ---- one big file, one thread ----
# fast pseudo-random bytes (the generator dies of SIGPIPE when head is done)
random_bytes() {
	{ openssl enc -aes-128-ctr -pass "pass:$1" -nosalt -pbkdf2 </dev/zero 2>/dev/null || true; } | head -c "$2"
}

random_bytes hp-bench $((BIG_MIB << 20)) >big
cat big >/dev/null
t_hp=$(median "'$hp' --jobs 1 big")
t_ossl=$(median "openssl dgst -sha256 big")
t_sum=$(median "sha256sum big")
gbs=$(awk -v s="$t_hp" -v m="$BIG_MIB" 'BEGIN { printf "%.2f", m * 1048576 / s / 1e9 }')
echo "big file, $BIG_MIB MiB, one thread:"
echo "  hp-hash --jobs 1       $(secs "$t_hp") s  ($gbs GB/s)"
echo "  openssl dgst -sha256   $(secs "$t_ossl") s  ratio openssl/hp-hash = $(ratio "$t_ossl" "$t_hp")x (want >= 0.95)"
echo "  sha256sum              $(secs "$t_sum") s  ratio sha256sum/hp-hash = $(ratio "$t_sum" "$t_hp")x"

# ---- many small files, every core ----
# 8 KiB each, in 100 folders (a tree, as data sets are) and then all in one
mkdir small
random_bytes hp-bench-small $((SMALL * 8192)) | split -b 8192 -a 6 -d - small/f
per=$(((SMALL + 99) / 100))
for ((i = 0; i < 100; i++)); do
	mkdir "small/d$i"
	# files f<i*per> .. f<(i+1)*per - 1>
	seq -f "small/f%06.0f" $((i * per)) $(((i + 1) * per - 1)) | while read -r f; do
		[ -e "$f" ] && printf '%s\0' "$f"
	done | xargs -0 -r mv -t "small/d$i"
done
cat small/*/* >/dev/null
# what this machine allows: $CPUS openssl processes at once against one
head -c $((256 << 20)) big >quarter
t_p1=$(median "openssl dgst -sha256 quarter" 3)
par=$(printf 'openssl dgst -sha256 quarter & %.0s' $(seq "$CPUS"))
t_pn=$(median "$par wait" 3)
ceiling=$(awk -v a="$t_p1" -v b="$t_pn" -v n="$CPUS" 'BEGIN { printf "%.2f", n * a / b }')
rm -f quarter
for layout in tree flat; do
	if [ "$layout" = flat ]; then
		mv small/d*/* small/
		rmdir small/d*
	fi
	t_one=$(median "'$hp' --jobs 1 small")
	t_all=$(median "'$hp' small")
	t_xsum=$(median "find small -type f -print0 | xargs -0 sha256sum")
	t_xossl=$(median "find small -type f -print0 | xargs -0 openssl dgst -sha256")
	if [ "$layout" = tree ]; then
		echo "$SMALL small files of 8 KiB in 100 folders:"
	else
		echo "the same $SMALL files in one folder:"
	fi
	echo "  hp-hash --jobs 1       $(secs "$t_one") s"
	echo "  hp-hash ($CPUS jobs)       $(secs "$t_all") s  speed-up over one thread = $(ratio "$t_one" "$t_all")x (want >= 1.8 with 2+ cores)"
	echo "  sha256sum (xargs)      $(secs "$t_xsum") s  ratio sha256sum/hp-hash = $(ratio "$t_xsum" "$t_all")x"
	echo "  openssl dgst (xargs)   $(secs "$t_xossl") s  ratio openssl/hp-hash = $(ratio "$t_xossl" "$t_all")x"
done
echo "  machine ceiling: $CPUS openssl processes at once hash $ceiling times as fast as one"
rm -rf small

# ---- memory ----
rss_big=$(peak_rss "$hp" big)
rm -f big
truncate -s "${RSS_GIB}G" sparse
rss_huge=$(peak_rss "$hp" -a sha256,sha1 sparse)
rm -f sparse
echo "peak RSS:"
echo "  hp-hash, $BIG_MIB MiB file: $(mib "$rss_big") MiB"
echo "  hp-hash -a sha256,sha1, ${RSS_GIB} GiB (sparse) file: $(mib "$rss_huge") MiB (want < 16 MiB)"

# ---- start-up ----
: >empty
t_ver=$(median "'$hp' --version" 50)
t_empty=$(median "'$hp' empty" 50)
t_true=$(median "/bin/true" 50)
t_esum=$(median "sha256sum empty" 50)
echo "start-up (whole process):"
echo "  hp-hash --version $(ms "$t_ver") ms, hp-hash on an empty file $(ms "$t_empty") ms (want < 5 ms)"
echo "  for scale: /bin/true $(ms "$t_true") ms, sha256sum on an empty file $(ms "$t_esum") ms"
