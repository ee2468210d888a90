#!/usr/bin/env bats
# hp-seed: the content is checked against the torrent before seeding (a
# changed byte, a missing file or a wrong size is refused, naming the file),
# then real clients download from it on 127.0.0.1 and get the same bytes:
# aria2c (v1; hp-seed connects out to it with --peer) and python3-libtorrent
# (v1, v2, hybrid). SIGTERM/SIGINT stop it with exit 0, resume data saved on
# request; JSON events on stderr.

load helpers
load ../lib/bt

LT_DOWNLOAD=$HP_ROOT/tests/lib/lt_download.py

setup() {
	setup_scratch
	bt_setup
}

teardown() {
	bt_teardown
}

# Every line of seed.log is a JSON object with an "event".
events_are_json() {
	jq -e -s 'all(.[]; type == "object" and (.event | type) == "string")' seed.log >/dev/null
}

lt_download_from_seed() {
	local torrent=$1 out=$2
	run --separate-stderr "$BT_PY" "$LT_DOWNLOAD" "$torrent" "$out" "127.0.0.1:$SEED_PORT" 60
	[ "$status" -eq 0 ] || {
		echo "lt_download failed: $stderr" >&2
		cat seed.log >&2
		return 1
	}
}

@test "hp-seed → aria2c: a v1 tree over TCP on 127.0.0.1, same bytes" {
	bt_need aria2c
	bt_make_tree src/tree
	hp-mktorrent --v1 --no-date -o t.torrent src/tree >/dev/null
	local aport
	aport=$(free_port)
	aria2c --dir=dl --seed-time=0 --enable-dht=false --enable-dht6=false --bt-enable-lpd=false \
		--enable-peer-exchange=false --listen-port="$aport" --file-allocation=none \
		--summary-interval=0 --console-log-level=warn --bt-stop-timeout=60 t.torrent \
		>aria.log 2>&1 3>&- &
	local apid=$!
	# aria2c learns of no peer without a tracker: hp-seed connects out to it
	bt_seed_start t.torrent --content src --peer "127.0.0.1:$aport"
	local rc=0
	wait "$apid" || rc=$?
	((rc == 0)) || {
		cat aria.log seed.log >&2
		return 1
	}
	diff -r src/tree dl/tree
	sleep 1.2  # one more report interval
	bt_seed_stop
	events_are_json
	jq -e -s 'map(select(.event == "peer" and .peer == "127.0.0.1:'"$aport"'")) | length >= 1' seed.log >/dev/null
	jq -e -s 'map(select(.event == "uploaded")) | last | .bytes >= 3070002' seed.log >/dev/null
	jq -e -s 'map(select(.event == "seeding")) | .[0] | .name == "tree" and .files == 4 and .infohash_v2 == null' \
		seed.log >/dev/null
}

@test "hp-seed → libtorrent: v1, v2 and hybrid torrents of a tree, same bytes" {
	bt_need libtorrent
	bt_make_tree src/tree
	local f
	for f in v1 v2 hybrid; do
		hp-mktorrent --"$f" --no-date -o "$f.torrent" src/tree >/dev/null
		bt_seed_start "$f.torrent" --content src --tracker-off
		lt_download_from_seed "$f.torrent" "dl-$f"
		diff -r src/tree "dl-$f/tree"
		bt_seed_stop INT
		jq -e -s 'map(select(.event == "stopped")) | .[0].signal == "SIGINT"' seed.log >/dev/null
		events_are_json
	done
}

@test "hp-seed → libtorrent: a single-file hybrid torrent" {
	bt_need libtorrent
	mkdir src
	head -c 200000 /dev/urandom >src/one.bin
	hp-mktorrent --no-date -o one.torrent src/one.bin >/dev/null
	bt_seed_start one.torrent --content src
	lt_download_from_seed one.torrent dl
	cmp src/one.bin dl/one.bin
	bt_seed_stop
}

@test "hp-seed: two torrents in one session" {
	bt_need libtorrent
	bt_make_tree src/a
	bt_make_tree src/b
	hp-mktorrent --no-date -o a.torrent src/a >/dev/null
	hp-mktorrent --v1 --no-date -o b.torrent src/b >/dev/null
	bt_seed_start a.torrent b.torrent --content src
	lt_download_from_seed a.torrent dl
	lt_download_from_seed b.torrent dl
	diff -r src dl
	bt_seed_stop
	jq -e -s 'map(select(.event == "seeding")) | length == 2' seed.log >/dev/null
}

@test "hp-seed refuses content that does not match, naming the file (v1, v2, hybrid)" {
	bt_make_tree src/tree
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
	bt_need libtorrent
	bt_make_tree src/tree
	hp-mktorrent --no-date -o t.torrent src/tree >/dev/null
	mkdir resume
	bt_seed_start t.torrent --content src --resume-dir resume
	bt_seed_stop
	local v1
	v1=$(hp-mktorrent --show t.torrent | jq -r .infohash_v1)
	assert_file_exist "resume/$v1.resume"
	jq -e -s 'map(select(.event == "resume-saved")) | length == 1' seed.log >/dev/null
	run "$BT_PY" -c '
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
	bt_seed_start f.torrent --content src
	run_fails 69 timeout 20 hp-seed f.torrent --content src --listen "127.0.0.1:$SEED_PORT"
	[[ $stderr == *"cannot listen on 127.0.0.1:$SEED_PORT"* ]]
	bt_seed_stop
}

@test "hp-seed: the old -d, -l and -p still work and warn exactly one line each naming the new one" {
	mkdir -p src bad
	head -c 100000 /dev/urandom >src/f
	head -c 100000 /dev/urandom >bad/f
	hp-mktorrent --no-date -o f.torrent src/f >/dev/null
	# -d names the folder that is checked: the warning, then the refusal
	run_fails 1 timeout 60 hp-seed f.torrent -d bad --listen 127.0.0.1:0
	local -a lines
	mapfile -t lines <<<"$stderr"
	((${#lines[@]} == 2)) || fail "stderr: $stderr"
	[ "${lines[0]}" = "hp-seed: warning: '-d' is deprecated: use '--content' (the old spelling goes in a later release)" ]
	[[ ${lines[1]} == *"'f' in 'bad' does not match the torrent's hashes"* ]]
	# -l and -p: one warning each, then a bad value is refused as before
	run_fails 64 hp-seed f.torrent -c src -l nocolon
	[ "$stderr" = "hp-seed: warning: '-l' is deprecated: use '--listen' (the old spelling goes in a later release)"$'\n'"hp-seed: --listen 'nocolon' is not IP:PORT"$'\n'"Try 'hp-seed --help' for more information." ]
	run_fails 64 hp-seed f.torrent -c src -p 127.0.0.1:1 --interval 0
	[ "$(grep -c deprecated <<<"$stderr")" = 1 ]
	[[ ${stderr%%$'\n'*} == "hp-seed: warning: '-p' is deprecated: use '--peer' (the old spelling goes in a later release)" ]]
	# and it seeds from -d, listening where -l says (--quiet: the events alone on stderr)
	bt_seed_start f.torrent --quiet -d src -l 127.0.0.1:0
	jq -e -s 'map(select(.event == "seeding")) | length == 1' seed.log >/dev/null
	bt_seed_stop
	# --help shows -c, --content, and no -d, -l or -p
	run hp-seed --help
	[[ $output == *"-c, --content DIR"* && $output != *"-d,"* && $output != *"-l,"* && $output != *"-p,"* ]]
}

@test "hp-seed: --help, --version, man page" {
	run --separate-stderr hp-seed --help
	assert_success
	[[ $output == *Usage:* ]]
	help_lists_table hp-seed.c options hp-seed
	run hp-seed --version
	assert_success
	assert_output --regexp '^hp-seed \(hybrid-p2p\) '
	man_page_ok hp-seed
}

@test "hp-seed announces to opentracker; aria2c finds it there (v1, no --peer)" {
	bt_need aria2c opentracker
	bt_make_tree src/tree
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
	wait_port "$tport" 100
	bt_seed_start t.torrent --content src
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
	bt_seed_stop
	jq -e -s 'map(select(.event == "tracker")) | .[0].url == "http://127.0.0.1:'"$tport"'/announce"' seed.log >/dev/null
}

# ---- hp-fetch's BitTorrent source (lib/hp_bt_fetch), through hp-fetch --torrent ----

need_fetch_torrent() {
	hp-fetch --help | grep -q -- '--torrent' || fail "hp-fetch has no --torrent"
}

@test "hp-fetch --torrent: from hp-seed, verified and in place, nothing left in .hp-partial" {
	need_fetch_torrent
	bt_make_tree src/pkg
	bt_sign_pkg src/pkg
	hp-mktorrent --no-date -o pkg.torrent src/pkg >/dev/null
	bt_seed_start pkg.torrent --content src
	run --separate-stderr hp-fetch -k keys/pub.pub --torrent pkg.torrent --peer "127.0.0.1:$SEED_PORT" \
		--listen 127.0.0.1:0 --timeout 20 m.json -O out
	assert_success
	diff -r src/pkg out
	[ ! -e out/.hp-partial ]
	jq -e -s 'map(select(.status == "fetched")) | length == 4' <<<"$output" >/dev/null
	jq -e -s '.[-1].summary.sources[0].source | startswith("bittorrent ")' <<<"$output" >/dev/null
	bt_seed_stop
}

@test "aria2c seeding → hp-fetch --torrent (v1)" {
	need_fetch_torrent
	bt_need aria2c
	bt_make_tree src/pkg
	bt_sign_pkg src/pkg
	hp-mktorrent --v1 --no-date -o pkg.torrent src/pkg >/dev/null
	local aport
	aport=$(free_port)
	aria2c -V --seed-ratio=0.0 --dir=src --enable-dht=false --enable-dht6=false --bt-enable-lpd=false \
		--enable-peer-exchange=false --listen-port="$aport" --summary-interval=0 \
		--console-log-level=warn --bt-stop-timeout=60 pkg.torrent >aria.log 2>&1 3>&- &
	local apid=$!
	run --separate-stderr hp-fetch -k keys/pub.pub --torrent pkg.torrent --peer "127.0.0.1:$aport" \
		--listen 127.0.0.1:0 --timeout 20 m.json -O out
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
	bt_need libtorrent
	bt_make_tree src/pkg
	hp-manifest create --name pkg --version 1.0.0 -o m.json src/pkg
	hp-mktorrent --from-manifest m.json --content src/pkg -o m.torrent >/dev/null
	bt_seed_start --manifest m.json --content src/pkg
	# the infohashes are the manifest's (and hp-mktorrent --from-manifest's)
	jq -e -s --slurpfile m m.json 'map(select(.event == "seeding")) | .[0] |
		.torrent == "m.json" and .infohash_v1 == $m[0].distribution.torrent_infohash and
		.infohash_v2 == $m[0].distribution.torrent_infohash_v2 and .files == 4' seed.log >/dev/null
	lt_download_from_seed m.torrent dl
	diff -r src/pkg dl/pkg
	bt_seed_stop
	# a single-file manifest: the torrent is the file
	mkdir -p one
	head -c 200000 /dev/urandom >one/only.bin
	hp-manifest create --name one --version 1.0.0 -o one.json one
	hp-mktorrent --from-manifest one.json --content one -o one.torrent >/dev/null
	bt_seed_start -m one.json -c one
	lt_download_from_seed one.torrent dl1
	cmp one/only.bin dl1/only.bin
	bt_seed_stop
}

@test "hp-seed --manifest refuses content or infohashes that do not match (exit 1), bad usage (64)" {
	bt_make_tree src/pkg
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

@test "one torrent validator: a path listed twice, a file that is a folder, a v2 piece layer of zeros are refused with 65 by hp-mktorrent --show, hp-seed and hp-fetch alike" {
	bt_need libtorrent
	bt_make_tree src/pkg
	bt_sign_pkg src/pkg
	hp-mktorrent --v1 --no-date -o v1.torrent src/pkg >/dev/null
	hp-mktorrent --hybrid --no-date -o hy.torrent src/pkg >/dev/null
	"$BT_PY" - <<'PY'
import libtorrent as lt
def load(p): return lt.bdecode(open(p, "rb").read())
def save(d, p): open(p, "wb").write(lt.bencode(d))
d = load("v1.torrent")
files = d[b"info"][b"files"]
files[1][b"path"] = files[0][b"path"]
save(d, "dup.torrent")
d = load("v1.torrent")
files = d[b"info"][b"files"]
files[1][b"path"] = files[0][b"path"] + [b"inner"]
save(d, "clash.torrent")
d = load("hy.torrent")
layers = d[b"piece layers"]
for k in layers:
    layers[k] = b"\0" * len(layers[k])
save(d, "zeros.torrent")
PY
	local t what
	for t in dup clash zeros; do
		case $t in
		dup) what="is listed twice" ;;
		clash) what="is a file and a folder" ;;
		zeros) what="does not hash to its pieces root" ;;
		esac
		run_fails 65 hp-mktorrent --show "$t.torrent"
		[[ $stderr == *"$t.torrent: "*"$what"* ]] || fail "--show $t: $stderr"
		run_fails 65 hp-seed --content src "$t.torrent"
		[[ $stderr == *"$what"* ]] || fail "hp-seed $t: $stderr"
		run_fails 65 hp-fetch -k keys/pub.pub --torrent "$t.torrent" --timeout 2 m.json -O "out-$t"
		[[ $stderr == *"$what"* ]] || fail "hp-fetch $t: $stderr"
		[ ! -e "out-$t/big.bin" ]
	done
	# the untouched torrents still read
	hp-mktorrent --show hy.torrent >/dev/null
	hp-mktorrent --show v1.torrent >/dev/null
}
