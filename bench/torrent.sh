#!/usr/bin/env bash
# BitTorrent: making torrents and fetching them, against reference tools, on
# one big file and a tree of many small files.
#
# Creation: `hp-mktorrent --v1` against mktorrent (same piece length, every
# core for both) and `hp-mktorrent` (hybrid) against libtorrent's own creation
# (python3-libtorrent: create_torrent + set_piece_hashes). Each pair must give
# the same infohashes, so every ratio compares the same work.
#
# Fetching: one hp-seed serves every torrent on 127.0.0.1 with its defaults
# (uTP accepted, TCP dialled, the DHT on); hp-fetch --torrent, aria2c and a
# python3-libtorrent session (tests/lib/lt_download.py, TCP only, "raw
# libtorrent"; and once more with libtorrent's own defaults, uTP first) download
# the same v1 torrent from it, and hp-fetch and libtorrent also the hybrid one.
# aria2c learns of hp-seed from a one-line tracker (--bt-tracker; the torrent
# is unchanged), the other two are given its address. Every download is
# compared with the source in the first round. hp-fetch's time includes its
# own work besides the transfer (checking the manifest's signature, the
# SHA-256 of every file, moving files into place): it is the tool's time.
#
# Times are whole processes (start-up included) and the median of RUNS
# rounds; a round runs every command once in turn (the order reversed every
# other round), so a change of load hits every tool alike. Source files are
# read from the page cache; outputs are removed (outside the timing) before
# each run. Peak RSS is /usr/bin/time's %M, the largest over the rounds;
# libtorrent maps the files it writes, so for hp-fetch and libtorrent that
# counts the downloaded file's page cache: one more run of each client samples
# its anonymous memory (RssAnon) instead.
# The load average is printed before and after each part. Everything is made
# in a temporary folder (under TMPDIR) and removed.
#
#   HP_BENCH_RUNS=3 (BENCH_RUNS)  HP_BENCH_BIG_MIB=1024 (BENCH_SIZE_MB)
#   HP_BENCH_FILES=10000 (BENCH_FILES)  HP_BENCH_PARTS=create,fetch
#
# Targets (issue 4): v1 creation at least as fast as mktorrent; hybrid
# creation >= 1.8x faster than libtorrent's; hp-fetch >= 0.9x the raw
# libtorrent throughput and at least as fast as aria2c.
# the timings are variables named at run time (rounds sets them with printf -v),
# and PREP/POST are single-quoted on purpose (eval'd later)
# shellcheck disable=SC2154,SC2016
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
HP_BIN=${HP_BIN:-$root/build/bin}
PY=/usr/bin/python3 # Debian's, where python3-libtorrent lives
LT_DOWNLOAD=$root/tests/lib/lt_download.py
RUNS=${HP_BENCH_RUNS:-${BENCH_RUNS:-3}}
BIG_MIB=${HP_BENCH_BIG_MIB:-${BENCH_SIZE_MB:-1024}}
FILES=${HP_BENCH_FILES:-${BENCH_FILES:-10000}}
PARTS=${HP_BENCH_PARTS:-create,fetch}
CPUS=$(nproc)

die() {
	echo "bench/torrent.sh: $*" >&2
	exit 1
}
for t in hp-mktorrent hp-seed hp-fetch hp-manifest hp-sign; do
	[ -x "$HP_BIN/$t" ] || die "no $HP_BIN/$t (run make first)"
done
for t in mktorrent aria2c jq; do
	command -v "$t" >/dev/null || die "no $t (scripts/install-deps)"
done
[ -x /usr/bin/time ] || die "no /usr/bin/time (apt-get install time)"
"$PY" -c 'import libtorrent' 2>/dev/null || die "no python3-libtorrent (scripts/install-deps)"
export PATH=$HP_BIN:$PATH

tmp=$(mktemp -d "${TMPDIR:-/tmp}/hp-bench-torrent.XXXXXX")
pids=()
cleanup() {
	local p
	for p in "${pids[@]}"; do
		kill "$p" 2>/dev/null || true
	done
	wait 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT
cd "$tmp"

loadavg() { cut -d' ' -f1-3 /proc/loadavg; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
secs() { awk -v a="$1" 'BEGIN { printf "%.3f", a }'; }
mib() { awk -v a="$1" 'BEGIN { printf "%.0f", a / 1024 }'; }
mbs() { awk -v s="$1" -v b="$2" 'BEGIN { printf "%.0f", b / s / 1048576 }'; }
median_of() { tr ' ' '\n' | sed '/^$/d' | sort -g | awk '{ v[NR] = $1 } END { m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; printf "%.6f", m }'; }

PREP=:
POST=:
# rounds NAME CMD CHECK ...: RUNS rounds, each running every CMD once in turn
# (reversed every other round) between $PREP and $POST (untimed; they see
# ${names[i]} and t0, the start in ns); CHECK runs after each command of the
# first round. Sets NAME to the median seconds and NAME_rss to
# the peak RSS in KiB (largest over the rounds).
rounds() {
	local -a names=() cmds=() checks=() order
	local -A times=() rss=()
	local i r t0 t1 m
	while (($#)); do
		names+=("$1")
		cmds+=("$2")
		checks+=("$3")
		shift 3
	done
	for ((r = 0; r < RUNS; r++)); do
		order=("${!cmds[@]}")
		if ((r % 2)); then
			order=()
			for ((i = ${#cmds[@]} - 1; i >= 0; i--)); do order+=("$i"); done
		fi
		for i in "${order[@]}"; do
			eval "$PREP"
			t0=$(date +%s%N)
			/usr/bin/time -f %M -o rss.txt bash -c "${cmds[i]}" >cmd.log 2>&1 || {
				tail -n 20 cmd.log >&2
				die "failed: ${cmds[i]}"
			}
			t1=$(date +%s%N)
			times[$i]+="$((t1 - t0)) "
			eval "$POST"
			m=$(tail -n 1 rss.txt)
			((m > ${rss[$i]:-0})) && rss[$i]=$m
			if ((r == 0)); then
				bash -c "${checks[i]}" || die "wrong result: ${cmds[i]}"
			fi
		done
	done
	for i in "${!names[@]}"; do
		printf -v "${names[i]}" '%s' "$(median_of <<<"${times[$i]}" | awk '{ printf "%.6f", $1 / 1e9 }')"
		printf -v "${names[i]}_rss" '%s' "${rss[$i]}"
	done
}

# fast pseudo-random bytes (the generator dies of SIGPIPE when head is done)
random_bytes() {
	{ openssl enc -aes-128-ctr -pass "pass:$1" -nosalt -pbkdf2 </dev/zero 2>/dev/null || true; } | head -c "$2"
}

# the inputs, under src/ (hp-seed's --content): one big file; FILES files of
# 1..16 KiB (mean 8.5 KiB) in 100 folders, as bench/cid.sh makes them
mkdir src
random_bytes hp-bench-torrent $((BIG_MIB << 20)) >src/big.bin
"$PY" - "$FILES" <<'EOF'
import os, random, sys
n = int(sys.argv[1])
rng = random.Random(42)
data = random.Random(7).randbytes(16384 * 64)
for i in range(n):
    d = "src/tree/d%d" % (i % 100)
    os.makedirs(d, exist_ok=True)
    size = 1024 * rng.randint(1, 16)
    off = rng.randrange(0, len(data) - size)
    with open("%s/f%d" % (d, i), "wb") as f:
        f.write(data[off:off + size] + i.to_bytes(4, "big"))
EOF
tree_mib=$(du -sm --apparent-size src/tree | cut -f1)
cat src/big.bin src/tree/*/* >/dev/null

# libtorrent's own creation, as its documentation shows it; prints the
# seconds spent in libtorrent (without Python's start-up) to fd 3
cat >lt_create.py <<'EOF'
import os, sys, time
t0 = time.monotonic()
import libtorrent as lt
t1 = time.monotonic()
path, out = sys.argv[1], sys.argv[2]
flags = lt.create_torrent.no_attributes
fs = lt.file_storage()
lt.add_files(fs, path, flags=flags)
ct = lt.create_torrent(fs, 0, flags)
lt.set_piece_hashes(ct, os.path.dirname(os.path.abspath(path)))
e = ct.generate()
e.pop(b"creation date", None)
with open(out, "wb") as f:
    f.write(lt.bencode(e))
with open(sys.argv[3], "a") as f:
    f.write("%d %d\n" % ((time.monotonic() - t1) * 1e9, (t1 - t0) * 1e9))
EOF

ih() { hp-mktorrent --show "$1" | jq -r '"\(.infohash_v1) \(.infohash_v2)"'; }
echo "hp-mktorrent/hp-fetch benchmark: $CPUS CPUs ($(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1))," \
	"$(mktorrent -h 2>&1 | head -n 1 | cut -d' ' -f1-2), $(aria2c --version | head -n 1)," \
	"libtorrent $("$PY" -c 'import libtorrent as lt; print(lt.__version__)'), median of $RUNS rounds"
echo "inputs: one file of $BIG_MIB MiB; a tree of $FILES files ($tree_mib MiB, 100 folders)"

row() { printf '| %s | %s | %s | %s |\n' "$1" "$2" "$3" "$4"; }

# ---- creation ----
if [[ $PARTS == *create* ]]; then
	load_c0=$(loadavg)
	mkdir -p o
	# each command's own output is removed before it runs
	PREP='rm -f "o/${names[i]}.torrent"'
	for in in big tree; do
		p=src/big.bin
		[ $in = tree ] && p=src/tree
		# the piece length libtorrent picks (hp-mktorrent's auto), for mktorrent too
		plen=$(hp-mktorrent --v1 --quiet --no-date -o o/probe.torrent "$p" | jq -r .piece_length)
		log2=$(awk -v n="$plen" 'BEGIN { print int(log(n) / log(2) + 0.5) }')
		: >"lt-$in.txt"
		rounds \
			"c_${in}_hp1" "hp-mktorrent --v1 --quiet --no-date -o o/c_${in}_hp1.torrent $p" : \
			"c_${in}_mk" "mktorrent -d -l $log2 -o o/c_${in}_mk.torrent $p" : \
			"c_${in}_hph" "hp-mktorrent --quiet --no-date -o o/c_${in}_hph.torrent $p" : \
			"c_${in}_lt" "$PY lt_create.py $p o/c_${in}_lt.torrent lt-$in.txt" :
		# the same work: the same infohashes
		[ "$(ih "o/c_${in}_hp1.torrent")" = "$(ih "o/c_${in}_mk.torrent")" ] ||
			die "$in: the v1 infohashes of hp-mktorrent and mktorrent differ"
		[ "$(ih "o/c_${in}_hph.torrent")" = "$(ih "o/c_${in}_lt.torrent")" ] ||
			die "$in: the hybrid infohashes of hp-mktorrent and libtorrent differ"
		printf -v "c_${in}_plen" '%s' "$plen"
	done
	load_c1=$(loadavg)
	c_big_ltin=$(cut -d' ' -f1 lt-big.txt | median_of | awk '{ printf "%.6f", $1 / 1e9 }')
	c_tree_ltin=$(cut -d' ' -f1 lt-tree.txt | median_of | awk '{ printf "%.6f", $1 / 1e9 }')
	lt_import=$(cut -d' ' -f2 lt-big.txt lt-tree.txt | median_of | awk '{ printf "%.6f", $1 / 1e9 }')
	echo
	echo "creation: ratio = the other tool's time / hp-mktorrent's time (above 1: hp-mktorrent is faster)"
	echo
	row "comparison" "$BIG_MIB MiB file" "$FILES-file tree" "target"
	row "---" "---" "---" "---"
	row "mktorrent / \`hp-mktorrent --v1\` ($CPUS threads each)" \
		"$(ratio "$c_big_mk" "$c_big_hp1")x" "$(ratio "$c_tree_mk" "$c_tree_hp1")x" ">= 1x"
	row "libtorrent creation / \`hp-mktorrent\` (hybrid), whole process" \
		"$(ratio "$c_big_lt" "$c_big_hph")x" "$(ratio "$c_tree_lt" "$c_tree_hph")x" ">= 1.8x"
	row "libtorrent creation without Python's start-up / \`hp-mktorrent\` (hybrid)" \
		"$(ratio "$c_big_ltin" "$c_big_hph")x" "$(ratio "$c_tree_ltin" "$c_tree_hph")x" ""
	echo
	echo "times in seconds (median of $RUNS), piece length $c_big_plen (file), $c_tree_plen (tree):"
	echo "  file: hp-mktorrent --v1 $(secs "$c_big_hp1"), mktorrent $(secs "$c_big_mk");" \
		"hp-mktorrent (hybrid) $(secs "$c_big_hph"), libtorrent $(secs "$c_big_lt") (in libtorrent $(secs "$c_big_ltin"))"
	echo "  tree: hp-mktorrent --v1 $(secs "$c_tree_hp1"), mktorrent $(secs "$c_tree_mk");" \
		"hp-mktorrent (hybrid) $(secs "$c_tree_hph"), libtorrent $(secs "$c_tree_lt") (in libtorrent $(secs "$c_tree_ltin"))"
	echo "  importing libtorrent into Python: $(secs "$lt_import")"
	echo "  peak RSS (MiB): file: hp-mktorrent --v1 $(mib "$c_big_hp1_rss"), mktorrent $(mib "$c_big_mk_rss")," \
		"hp-mktorrent $(mib "$c_big_hph_rss"), libtorrent $(mib "$c_big_lt_rss");" \
		"tree: $(mib "$c_tree_hp1_rss"), $(mib "$c_tree_mk_rss"), $(mib "$c_tree_hph_rss"), $(mib "$c_tree_lt_rss")"
	echo "load average before: $load_c0; after: $load_c1"
	rm -rf o
fi

# ---- fetching ----
if [[ $PARTS == *fetch* ]]; then
	free_port() { "$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
	for in in big tree; do
		p=src/big.bin
		[ $in = tree ] && p=src/tree
		hp-mktorrent --v1 --quiet --no-date -o "$in-v1.torrent" "$p" >/dev/null
		hp-mktorrent --quiet --no-date -o "$in-hybrid.torrent" "$p" >/dev/null
		hp-manifest create --name "$in" --version 1.0.0 --no-torrent -o "$in.json" "$p"  # any torrent of it: no infohash to bind
	done
	hp-sign keygen -O keys -n pub >/dev/null
	for in in big tree; do
		hp-sign manifest keys/pub.pem "$in.json" -o "$in.json"
	done

	hp-seed --listen 127.0.0.1:0 --content src --tracker-off --no-progress \
		big-v1.torrent big-hybrid.torrent tree-v1.torrent tree-hybrid.torrent 2>seed.log >/dev/null 3>&- &
	pids+=($!)
	seed_port=
	for i in $(seq 1200); do
		seed_port=$(jq -r 'select(.event == "listening") | .port' seed.log 2>/dev/null | head -n 1)
		[ -n "$seed_port" ] && break
		kill -0 "${pids[-1]}" 2>/dev/null || break
		sleep 0.1
	done
	[ -n "$seed_port" ] || {
		cat seed.log >&2
		die "hp-seed did not start listening"
	}
	# a tracker that answers every announce with hp-seed's address, for aria2c
	cat >tracker.py <<'EOF'
import http.server, socket, struct, sys
peers = socket.inet_aton("127.0.0.1") + struct.pack(">H", int(sys.argv[1]))
class Tracker(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = b"d8:intervali1800e5:peers6:" + peers + b"e"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
s = http.server.HTTPServer(("127.0.0.1", 0), Tracker)
print(s.server_address[1], flush=True)
s.serve_forever()
EOF
	"$PY" tracker.py "$seed_port" >tracker.port 2>/dev/null 3>&- &
	pids+=($!)
	for i in $(seq 100); do
		[ -s tracker.port ] && break
		sleep 0.1
	done
	tracker_port=$(cat tracker.port)
	[ -n "$tracker_port" ] || die "the tracker did not start"
	aria_port=$(free_port)

	PREP='rm -rf dl; mkdir dl; sync'
	aria() { # TORRENT
		printf '%s' "timeout 900 aria2c --dir=dl --seed-time=0 --enable-dht=false --enable-dht6=false" \
			" --bt-enable-lpd=false --enable-peer-exchange=false --listen-port=$aria_port" \
			" --file-allocation=none --summary-interval=0 --console-log-level=warn --bt-stop-timeout=60" \
			" --bt-tracker=http://127.0.0.1:$tracker_port/announce --log=dl/aria.log --log-level=notice $1"
	}
	# aria2c's event loop ticks once a second: it connects a second after
	# the tracker answers and, once complete, waits a second before its last
	# announce and exit. Its log dates completion ("Seeding is over"): the
	# time to that line is kept too, in aria-NAME.txt.
	POST='[[ ${names[i]} != *_ar ]] || {
		done_at=$(sed -n "s/^\([0-9-]* [0-9:.]*\) \[NOTICE\].*Seeding is over.*/\1/p" dl/aria.log | head -n 1)
		[ -n "$done_at" ] && echo $(($(date -d "$done_at" +%s%N) - t0)) >>"aria-${names[i]}.txt"
	}'

	lt() { printf '%s' "$PY $LT_DOWNLOAD $1 dl 127.0.0.1:$seed_port 900"; }
	# libtorrent as it ships: uTP dialled first, TCP beside it (its defaults)
	ltd() { printf '%s' "LT_DEFAULTS=1 $PY $LT_DOWNLOAD $1 dl 127.0.0.1:$seed_port 900"; }
	hpf() { # TORRENT MANIFEST
		printf '%s' "timeout 900 hp-fetch -k keys/pub.pub --torrent $1 --peer 127.0.0.1:$seed_port" \
			" --listen 127.0.0.1:0 --timeout 60 --no-progress $2 -O dl"
	}
	same_big() { printf '%s' "cmp src/big.bin $1"; }
	same_tree() { printf '%s' "diff -r src/tree $1"; }

	load_f0=$(loadavg)
	rounds \
		f_big_hp "$(hpf big-v1.torrent big.json)" "$(same_big dl/big.bin)" \
		f_big_ar "$(aria big-v1.torrent)" "$(same_big dl/big.bin)" \
		f_big_lt "$(lt big-v1.torrent)" "$(same_big dl/big.bin)" \
		f_big_hpt "$(hpf big-v1.torrent big.json) --no-utp" "$(same_big dl/big.bin)" \
		f_big_ltd "$(ltd big-v1.torrent)" "$(same_big dl/big.bin)" \
		f_bigh_hp "$(hpf big-hybrid.torrent big.json)" "$(same_big dl/big.bin)" \
		f_bigh_lt "$(lt big-hybrid.torrent)" "$(same_big dl/big.bin)"
	load_f1=$(loadavg)
	rounds \
		f_tree_hp "$(hpf tree-v1.torrent tree.json)" "$(same_tree dl)" \
		f_tree_ar "$(aria tree-v1.torrent)" "$(same_tree dl/tree)" \
		f_tree_lt "$(lt tree-v1.torrent)" "$(same_tree dl/tree)" \
		f_treeh_hp "$(hpf tree-hybrid.torrent tree.json)" "$(same_tree dl)" \
		f_treeh_lt "$(lt tree-hybrid.torrent)" "$(same_tree dl/tree)"
	load_f2=$(loadavg)
	# one more untimed run of each client on the v1 torrents, its anonymous
	# memory sampled: libtorrent maps the files it writes, so their page-cache
	# pages count in its RSS (%M) though they are not the process's own memory
	cat >anon.py <<'EOF'
import os, subprocess, sys, time
def tree(pid):
    out = [pid]
    try:
        for t in os.listdir("/proc/%d/task" % pid):
            with open("/proc/%d/task/%s/children" % (pid, t)) as f:
                for c in f.read().split():
                    out += tree(int(c))
    except OSError:
        pass
    return out
p = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
peak = 0
while p.poll() is None:
    total = 0
    for pid in tree(p.pid):
        try:
            with open("/proc/%d/status" % pid) as f:
                for line in f:
                    if line.startswith("RssAnon:"):
                        total += int(line.split()[1])
        except OSError:
            pass
    peak = max(peak, total)
    time.sleep(0.02)
print(peak)
sys.exit(p.returncode)
EOF
	for in in big tree; do
		for c in hp ar lt; do
			eval "$PREP"
			case $c in
			hp) cmd=$(hpf "$in-v1.torrent" "$in.json") ;;
			ar) cmd=$(aria "$in-v1.torrent") ;;
			lt) cmd=$(lt "$in-v1.torrent") ;;
			esac
			v=$("$PY" anon.py bash -c "$cmd") || die "failed: $cmd"
			printf -v "a_${in}_$c" '%s' "$v"
		done
	done
	rm -rf dl
	POST=:
	f_big_ar_done=$(median_of <aria-f_big_ar.txt | awk '{ printf "%.6f", $1 / 1e9 }')
	f_tree_ar_done=$(median_of <aria-f_tree_ar.txt | awk '{ printf "%.6f", $1 / 1e9 }')

	big_bytes=$((BIG_MIB << 20))
	tree_bytes=$(du -sb --apparent-size src/tree | cut -f1)
	echo
	echo "fetching from one hp-seed on 127.0.0.1 (TCP):"
	echo "ratio = the other tool's time / hp-fetch's time (above 1: hp-fetch is faster; for libtorrent,"
	echo "hp-fetch's throughput as a fraction of raw libtorrent's)"
	echo
	row "comparison" "$BIG_MIB MiB file" "$FILES-file tree" "target"
	row "---" "---" "---" "---"
	row "raw libtorrent / hp-fetch, v1 torrent" \
		"$(ratio "$f_big_lt" "$f_big_hp")x" "$(ratio "$f_tree_lt" "$f_tree_hp")x" ">= 0.9x"
	row "raw libtorrent / hp-fetch, hybrid torrent" \
		"$(ratio "$f_bigh_lt" "$f_bigh_hp")x" "$(ratio "$f_treeh_lt" "$f_treeh_hp")x" ">= 0.9x"
	row "hp-fetch --no-utp (TCP only) / hp-fetch (uTP accepted, TCP dialled), v1" \
		"$(ratio "$f_big_hpt" "$f_big_hp")x" "" "~1x: uTP beside TCP costs nothing"
	row "libtorrent's defaults (uTP dialled first) / hp-fetch, v1" \
		"$(ratio "$f_big_ltd" "$f_big_hp")x" "" ""
	row "aria2c / hp-fetch, v1 torrent" \
		"$(ratio "$f_big_ar" "$f_big_hp")x" "$(ratio "$f_tree_ar" "$f_tree_hp")x" ">= 1x"
	row "aria2c until its log says complete (no final second) / hp-fetch, v1 torrent" \
		"$(ratio "$f_big_ar_done" "$f_big_hp")x" "$(ratio "$f_tree_ar_done" "$f_tree_hp")x" ""
	row "peak RSS hp-fetch / aria2c, v1 torrent" \
		"$(ratio "$f_big_hp_rss" "$f_big_ar_rss")x" "$(ratio "$f_tree_hp_rss" "$f_tree_ar_rss")x" ""
	row "peak anonymous memory hp-fetch / aria2c, v1 torrent" \
		"$(ratio "$a_big_hp" "$a_big_ar")x" "$(ratio "$a_tree_hp" "$a_tree_ar")x" ""
	echo
	echo "times in seconds (median of $RUNS), MiB/s in brackets:"
	for in in big tree; do
		b=$big_bytes
		[ $in = tree ] && b=$tree_bytes
		v() { local n="f_${in}$1"; printf '%s (%s)' "$(secs "${!n}")" "$(mbs "${!n}" "$b")"; }
		echo "  $in, v1: hp-fetch $(v _hp), aria2c $(v _ar) (complete after $(v _ar_done)), libtorrent $(v _lt);" \
			"hybrid: hp-fetch $(v h_hp), libtorrent $(v h_lt)"
	done
	echo "peak RSS (MiB):"
	for in in big tree; do
		r() { local n="f_${in}$1_rss"; mib "${!n}"; }
		echo "  $in, v1: hp-fetch $(r _hp), aria2c $(r _ar), libtorrent (Python) $(r _lt);" \
			"hybrid: hp-fetch $(r h_hp), libtorrent $(r h_lt)"
	done
	echo "peak anonymous memory (MiB, RssAnon sampled every 20 ms, one more run):"
	for in in big tree; do
		a() { local n="a_${in}_$1"; mib "${!n}"; }
		echo "  $in, v1: hp-fetch $(a hp), aria2c $(a ar), libtorrent (Python) $(a lt)"
	done
	echo "load average before: $load_f0; between file and tree: $load_f1; after: $load_f2"
fi
