#!/usr/bin/env bats
# hp-seed: the content is checked against the torrent before seeding (a
# changed byte, a missing file or a wrong size is refused, naming the file),
# then real clients download from it on 127.0.0.1 and get the same bytes:
# aria2c (v1; hp-seed connects out to it with --peer) and python3-libtorrent
# (v1, v2, hybrid). SIGTERM/SIGINT stop it with exit 0, resume data saved on
# request; JSON events on stderr.

load helpers

PY=/usr/bin/python3  # Debian's, where python3-libtorrent lives
LT_DOWNLOAD=$HP_ROOT/tests/lib/lt_download.py

setup() {
	setup_scratch
	SEED_PID=
}

teardown() {
	if [ -n "$SEED_PID" ] && kill -0 "$SEED_PID" 2>/dev/null; then
		kill -KILL "$SEED_PID" 2>/dev/null || true
	fi
}

need() {
	local t
	for t in "$@"; do
		case $t in
		libtorrent)
			"$PY" -c 'import libtorrent' 2>/dev/null || {
				echo "python3-libtorrent is not installed (scripts/install-deps)" >&2
				return 1
			}
			;;
		*)
			command -v "$t" >/dev/null || {
				echo "$t is not installed (scripts/install-deps)" >&2
				return 1
			}
			;;
		esac
	done
}

free_port() {
	"$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# A tree with a file spanning many pieces, small files, an empty one and a
# nested folder: make_tree DIR
make_tree() {
	mkdir -p "$1/sub/deeper"
	head -c 3000000 /dev/urandom >"$1/big.bin"
	echo hello >"$1/sub/a.txt"
	head -c 70001 /dev/urandom >"$1/sub/deeper/c"
	: >"$1/sub/empty"
}

# start_seed ARGS...: hp-seed in the background, events in seed.log; sets
# SEED_PID and SEED_PORT once it listens.
start_seed() {
	hp-seed --listen 127.0.0.1:0 "$@" 2>seed.log >/dev/null 3>&- &
	SEED_PID=$!
	local i
	for i in $(seq 100); do
		SEED_PORT=$(jq -r 'select(.event == "listening") | .port' seed.log 2>/dev/null | head -n1)
		[ -n "$SEED_PORT" ] && return 0
		kill -0 "$SEED_PID" 2>/dev/null || break
		sleep 0.1
	done
	echo "hp-seed did not start listening:" >&2
	cat seed.log >&2
	return 1
}

# stop_seed [SIGNAL]: stop it and require exit 0 and the stopped event.
stop_seed() {
	kill -"${1:-TERM}" "$SEED_PID"
	local rc=0
	wait "$SEED_PID" || rc=$?
	SEED_PID=
	((rc == 0)) || {
		echo "hp-seed exited with $rc" >&2
		cat seed.log >&2
		return 1
	}
	jq -e -s 'map(select(.event == "stopped")) | length == 1' seed.log >/dev/null
}

# Every line of seed.log is a JSON object with an "event".
events_are_json() {
	jq -e -s 'all(.[]; type == "object" and (.event | type) == "string")' seed.log >/dev/null
}

lt_download_from_seed() {
	local torrent=$1 out=$2
	run --separate-stderr "$PY" "$LT_DOWNLOAD" "$torrent" "$out" "127.0.0.1:$SEED_PORT" 60
	[ "$status" -eq 0 ] || {
		echo "lt_download failed: $stderr" >&2
		cat seed.log >&2
		return 1
	}
}

@test "hp-seed → aria2c: a v1 tree over TCP on 127.0.0.1, same bytes" {
	need aria2c
	make_tree src/tree
	hp-mktorrent --v1 --no-date -o t.torrent src/tree >/dev/null
	local aport
	aport=$(free_port)
	aria2c --dir=dl --seed-time=0 --enable-dht=false --enable-dht6=false --bt-enable-lpd=false \
		--enable-peer-exchange=false --listen-port="$aport" --file-allocation=none \
		--summary-interval=0 --console-log-level=warn --bt-stop-timeout=60 t.torrent \
		>aria.log 2>&1 3>&- &
	local apid=$!
	# aria2c learns of no peer without a tracker: hp-seed connects out to it
	start_seed t.torrent --content src --peer "127.0.0.1:$aport"
	local rc=0
	wait "$apid" || rc=$?
	((rc == 0)) || {
		cat aria.log seed.log >&2
		return 1
	}
	diff -r src/tree dl/tree
	sleep 1.2  # one more report interval
	stop_seed
	events_are_json
	jq -e -s 'map(select(.event == "peer" and .peer == "127.0.0.1:'"$aport"'")) | length >= 1' seed.log >/dev/null
	jq -e -s 'map(select(.event == "uploaded")) | last | .bytes >= 3070002' seed.log >/dev/null
	jq -e -s 'map(select(.event == "seeding")) | .[0] | .name == "tree" and .files == 4 and .infohash_v2 == null' \
		seed.log >/dev/null
}

@test "hp-seed → libtorrent: v1, v2 and hybrid torrents of a tree, same bytes" {
	need libtorrent
	make_tree src/tree
	local f
	for f in v1 v2 hybrid; do
		hp-mktorrent --"$f" --no-date -o "$f.torrent" src/tree >/dev/null
		start_seed "$f.torrent" --content src --tracker-off
		lt_download_from_seed "$f.torrent" "dl-$f"
		diff -r src/tree "dl-$f/tree"
		stop_seed INT
		jq -e -s 'map(select(.event == "stopped")) | .[0].signal == "SIGINT"' seed.log >/dev/null
		events_are_json
	done
}

@test "hp-seed → libtorrent: a single-file hybrid torrent" {
	need libtorrent
	mkdir src
	head -c 200000 /dev/urandom >src/one.bin
	hp-mktorrent --no-date -o one.torrent src/one.bin >/dev/null
	start_seed one.torrent --content src
	lt_download_from_seed one.torrent dl
	cmp src/one.bin dl/one.bin
	stop_seed
}

@test "hp-seed: two torrents in one session" {
	need libtorrent
	make_tree src/a
	make_tree src/b
	hp-mktorrent --no-date -o a.torrent src/a >/dev/null
	hp-mktorrent --v1 --no-date -o b.torrent src/b >/dev/null
	start_seed a.torrent b.torrent --content src
	lt_download_from_seed a.torrent dl
	lt_download_from_seed b.torrent dl
	diff -r src dl
	stop_seed
	jq -e -s 'map(select(.event == "seeding")) | length == 2' seed.log >/dev/null
}

@test "hp-seed refuses content that does not match, naming the file (v1, v2, hybrid)" {
	make_tree src/tree
	local f
	for f in v1 v2 hybrid; do
		hp-mktorrent --"$f" --no-date -o "$f.torrent" src/tree >/dev/null
	done
	cp -r src bad
	# one byte changed inside the small file deep down
	flip_byte bad/tree/sub/deeper/c 100
	for f in v2 hybrid; do
		run_fails 1 timeout 60 hp-seed "$f.torrent" --content bad --listen 127.0.0.1:0
		[[ $stderr == *"'tree/sub/deeper/c' in 'bad' does not match the torrent's hashes"* ]]
		[ -z "$output" ]
	done
	# v1 pieces span files: every file of the bad piece is named
	run_fails 1 timeout 60 hp-seed v1.torrent --content bad --listen 127.0.0.1:0
	[[ $stderr == *"tree/sub/deeper/c"* && $stderr == *"does not match the torrent's hashes"* ]]
	# a byte inside the first big file's own pieces: that file alone
	cp -r src bad2
	flip_byte bad2/tree/big.bin 5000
	for f in v1 v2 hybrid; do
		run_fails 1 timeout 60 hp-seed "$f.torrent" --content bad2 --listen 127.0.0.1:0
		[[ $stderr == *"'tree/big.bin' in 'bad2' does not match the torrent's hashes"* ]]
	done
	# a missing file, a file of another size
	rm bad2/tree/sub/a.txt
	run_fails 1 timeout 60 hp-seed hybrid.torrent --content bad2 --listen 127.0.0.1:0
	[[ $stderr == *"'tree/sub/a.txt' in 'bad2' is missing"* ]]
	echo more >>bad/tree/sub/a.txt
	run_fails 1 timeout 60 hp-seed v1.torrent --content bad --listen 127.0.0.1:0
	[[ $stderr == *"'tree/sub/a.txt' in 'bad' does not match: 11 bytes, the torrent says 6"* ]]
	# nothing listened: no events were printed
	[[ $stderr != *'"event"'* ]]
}

@test "hp-seed --resume-dir: resume data saved on stop, loadable by libtorrent" {
	need libtorrent
	make_tree src/tree
	hp-mktorrent --no-date -o t.torrent src/tree >/dev/null
	mkdir resume
	start_seed t.torrent --content src --resume-dir resume
	stop_seed
	local v1
	v1=$(hp-mktorrent --show t.torrent | jq -r .infohash_v1)
	assert_file_exist "resume/$v1.resume"
	jq -e -s 'map(select(.event == "resume-saved")) | length == 1' seed.log >/dev/null
	run "$PY" -c '
import sys, libtorrent as lt
p = lt.read_resume_data(open(sys.argv[1], "rb").read())
print(str(p.info_hashes.v1), p.ti is not None)' "resume/$v1.resume"
	assert_success
	assert_output "$v1 True"
}

@test "hp-seed: usage errors, a bad .torrent, an address in use" {
	run_fails 64 hp-seed --content .
	run_fails 64 hp-seed x.torrent
	run_fails 64 hp-seed x.torrent --content . --listen nocolon
	run_fails 64 hp-seed x.torrent --content . --interval 0
	run_fails 66 hp-seed missing.torrent --content .
	printf 'd4:infoi1ee' >bad.torrent
	run_fails 65 hp-seed bad.torrent --content .
	mkdir -p src
	head -c 100000 /dev/urandom >src/f
	hp-mktorrent --no-date -o f.torrent src/f >/dev/null
	run_fails 64 hp-seed f.torrent --content src --listen 127.0.0.1:0 --peer notanaddress:1
	# a port someone else holds
	start_seed f.torrent --content src
	run_fails 69 timeout 20 hp-seed f.torrent --content src --listen "127.0.0.1:$SEED_PORT"
	[[ $stderr == *"cannot listen on 127.0.0.1:$SEED_PORT"* ]]
	stop_seed
}

@test "hp-seed: --help, --version, man page" {
	run --separate-stderr hp-seed --help
	assert_success
	[[ $output == *Usage:* ]]
	run hp-seed --version
	assert_success
	assert_output --regexp '^hp-seed \(hybrid-p2p\) '
	local page=$HP_ROOT/docs/hp-seed.1 opt missing=()
	assert_file_exist "$page"
	run groff -man -ww -z "$page"
	assert_success
	assert_output ""
	local text
	text=$(sed -e 's/\\-/-/g' -e 's/\\[&%]//g' -e 's/\\f[A-Z1-4]//g' "$page")
	for opt in $(hp-seed --help | grep -o -- '--[a-z][a-z-]*' | sort -u); do
		grep -Eq -- "(^|[^a-z-])${opt}([^a-z-]|$)" <<<"$text" || missing+=("$opt")
	done
	((${#missing[@]} == 0)) || {
		echo "undocumented: ${missing[*]}" >&2
		return 1
	}
}

@test "hp-seed announces to opentracker; aria2c finds it there (v1, no --peer)" {
	need aria2c opentracker
	make_tree src/tree
	local tport
	tport=$(free_port)
	hp-mktorrent --v1 --no-date -t "http://127.0.0.1:$tport/announce" -o t.torrent src/tree >/dev/null
	# Debian's opentracker serves whitelisted hashes only; as root it chroots
	# to -d and drops to nobody, so the list is relative and world-readable
	mkdir -m 755 ot
	hp-mktorrent --show t.torrent | jq -r .infohash_v1 >ot/whitelist
	chmod 644 ot/whitelist
	(cd ot && exec opentracker -i 127.0.0.1 -p "$tport" -P "$tport" -d . -w whitelist) >ot.log 2>&1 3>&- &
	local opid=$! i
	for i in $(seq 50); do
		(exec 4<>"/dev/tcp/127.0.0.1/$tport") 2>/dev/null && break
		sleep 0.1
	done
	start_seed t.torrent --content src
	for i in $(seq 100); do
		jq -e -s 'map(select(.event == "tracker" and .peers != null)) | length > 0' seed.log >/dev/null && break
		sleep 0.1
	done
	local aport rc=0
	aport=$(free_port)
	timeout 90 aria2c --dir=dl --seed-time=0 --enable-dht=false --enable-dht6=false --bt-enable-lpd=false \
		--enable-peer-exchange=false --listen-port="$aport" --file-allocation=none \
		--summary-interval=0 --console-log-level=warn --bt-stop-timeout=60 t.torrent >aria.log 2>&1 || rc=$?
	kill "$opid" 2>/dev/null || true
	wait "$opid" 2>/dev/null || true
	((rc == 0)) || {
		cat aria.log seed.log ot.log >&2
		return 1
	}
	diff -r src/tree dl/tree
	stop_seed
	jq -e -s 'map(select(.event == "tracker")) | .[0].url == "http://127.0.0.1:'"$tport"'/announce"' seed.log >/dev/null
}

# ---- hp-fetch's BitTorrent source (lib/hp_bt_fetch), through hp-fetch --torrent ----

need_fetch_torrent() {
	hp-fetch --help | grep -q -- '--torrent' || fail "hp-fetch has no --torrent"
}

# A signed manifest of src/pkg and a hybrid torrent of it: sign_pkg
sign_pkg() {
	hp-sign keygen -o keys -n pub >/dev/null
	hp-manifest create --name pkg --version 1.0.0 -o m.json src/pkg
	hp-sign manifest keys/pub.pem m.json -o m.json
	hp-mktorrent --no-date -o pkg.torrent src/pkg >/dev/null
}

@test "hp-fetch --torrent: from hp-seed, verified and in place, nothing left in .hp-partial" {
	need_fetch_torrent
	make_tree src/pkg
	sign_pkg
	start_seed pkg.torrent --content src
	run --separate-stderr hp-fetch -k keys/pub.pub --torrent pkg.torrent --peer "127.0.0.1:$SEED_PORT" \
		--bt-listen 127.0.0.1:0 --timeout 20 m.json -o out
	assert_success
	diff -r src/pkg out
	[ ! -e out/.hp-partial ]
	jq -e -s 'map(select(.status == "fetched")) | length == 4' <<<"$output" >/dev/null
	jq -e -s '.[-1].summary.sources[0].source | startswith("bittorrent ")' <<<"$output" >/dev/null
	stop_seed
}

@test "aria2c seeding → hp-fetch --torrent (v1)" {
	need_fetch_torrent
	need aria2c
	make_tree src/pkg
	hp-sign keygen -o keys -n pub >/dev/null
	hp-manifest create --name pkg --version 1.0.0 -o m.json src/pkg
	hp-sign manifest keys/pub.pem m.json -o m.json
	hp-mktorrent --v1 --no-date -o pkg.torrent src/pkg >/dev/null
	local aport
	aport=$(free_port)
	aria2c -V --seed-ratio=0.0 --dir=src --enable-dht=false --enable-dht6=false --bt-enable-lpd=false \
		--enable-peer-exchange=false --listen-port="$aport" --summary-interval=0 \
		--console-log-level=warn --bt-stop-timeout=60 pkg.torrent >aria.log 2>&1 3>&- &
	local apid=$!
	run --separate-stderr hp-fetch -k keys/pub.pub --torrent pkg.torrent --peer "127.0.0.1:$aport" \
		--bt-listen 127.0.0.1:0 --timeout 20 m.json -o out
	kill "$apid" 2>/dev/null || true
	wait "$apid" || true
	[ "$status" -eq 0 ] || {
		echo "$stderr" >&2
		cat aria.log >&2
		return 1
	}
	diff -r src/pkg out
}

@test "hp-seed --manifest: the manifest's canonical torrent from its folder; libtorrent gets the same bytes" {
	need libtorrent
	make_tree src/pkg
	hp-manifest create --name pkg --version 1.0.0 -o m.json src/pkg
	hp-mktorrent --from-manifest m.json --content src/pkg -o m.torrent >/dev/null
	start_seed --manifest m.json --content src/pkg
	# the infohashes are the manifest's (and hp-mktorrent --from-manifest's)
	jq -e -s --slurpfile m m.json 'map(select(.event == "seeding")) | .[0] |
		.torrent == "m.json" and .infohash_v1 == $m[0].distribution.torrent_infohash and
		.infohash_v2 == $m[0].distribution.torrent_infohash_v2 and .files == 4' seed.log >/dev/null
	lt_download_from_seed m.torrent dl
	diff -r src/pkg dl/pkg
	stop_seed
	# a single-file manifest: the torrent is the file
	mkdir -p one
	head -c 200000 /dev/urandom >one/only.bin
	hp-manifest create --name one --version 1.0.0 -o one.json one
	hp-mktorrent --from-manifest one.json --content one -o one.torrent >/dev/null
	start_seed -m one.json -d one
	lt_download_from_seed one.torrent dl1
	cmp one/only.bin dl1/only.bin
	stop_seed
}

@test "hp-seed --manifest refuses content or infohashes that do not match (exit 1), bad usage (64)" {
	make_tree src/pkg
	hp-manifest create --name pkg --version 1.0.0 -o m.json src/pkg
	cp -r src/pkg bad
	flip_byte bad/sub/deeper/c 100
	run_fails 1 timeout 60 hp-seed --manifest m.json --content bad --listen 127.0.0.1:0
	[[ $stderr == *"'sub/deeper/c' does not match"* ]]
	[ -z "$output" ]
	rm bad/sub/a.txt
	run_fails 1 timeout 60 hp-seed --manifest m.json --content bad --listen 127.0.0.1:0
	[[ $stderr == *"sub/a.txt"* ]]
	# the manifest records other infohashes than its content makes
	jq '.distribution.torrent_infohash = "0000000000000000000000000000000000000000"' m.json >other.json
	run_fails 1 timeout 60 hp-seed --manifest other.json --content src/pkg --listen 127.0.0.1:0
	[[ $stderr == *0000000000000000000000000000000000000000* ]]
	[[ $stderr != *'"event"'* ]]
	run_fails 64 hp-seed --manifest m.json x.torrent --content src/pkg
	run_fails 64 hp-seed --manifest m.json --manifest m.json --content src/pkg
	run_fails 66 hp-seed --manifest missing.json --content src/pkg
	printf '{"not": "a manifest"}' >junk.json
	run_fails 65 hp-seed --manifest junk.json --content src/pkg
}
