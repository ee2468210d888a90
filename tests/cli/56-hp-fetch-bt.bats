#!/usr/bin/env bats
# hp-fetch's BitTorrent source (lib/hp_bt_fetch) through hp-fetch --torrent:
# an interrupted fetch (SIGTERM, and SIGKILL) resumes with the pieces it had
# verified, made deterministic by hp-seed --upload-rate and by polling the
# resume data on disk (tests/lib/bt_resume.py), never by sleeping; progress
# with --progress; web seeds (BEP 19) with no peer at all: an HTTP server
# with Range support (tests/lib/rangeserver.py) and kubo's gateway; a lying
# web seed never gets a byte into the output. Every check compares bytes.

load helpers
load ../lib/bt
load ../lib/kubo

BT_RESUME=$HP_ROOT/tests/lib/bt_resume.py
RANGESERVER=$HP_ROOT/tests/lib/rangeserver.py

setup() {
	setup_scratch
	bt_setup
	FETCH_PID=
	KUBO_STARTED=
	MOUNTED=
	BAD_PIDS=()
}

teardown() {
	if [ -n "$FETCH_PID" ] && kill -0 "$FETCH_PID" 2>/dev/null; then
		kill -KILL "$FETCH_PID" 2>/dev/null || true
	fi
	bt_teardown
	if [ -n "$KUBO_STARTED" ]; then
		kubo_stop
	fi
	[ -z "$MOUNTED" ] || umount "$MOUNTED" || umount -l "$MOUNTED"
	badservers_stop
}

# A package src/pkg (a file of SIZE bytes spanning many pieces, a small
# one), its signed manifest m.json and a torrent pkg.torrent of FLAVOUR
# (--v1, --v2, --hybrid) with any more hp-mktorrent options:
# make_pkg SIZE FLAVOUR [MKTORRENT OPTIONS...]
make_pkg() {
	local size=$1 flavour=$2
	shift 2
	mkdir -p src/pkg
	head -c "$size" /dev/urandom >src/pkg/big.bin
	echo small >src/pkg/small
	bt_sign_pkg src/pkg pkg --profile unixfs-v0-2015
	hp-mktorrent "$flavour" --no-date "$@" -o pkg.torrent src/pkg >/dev/null
}

# fetch_in_background [HP-FETCH OPTIONS...]: hp-fetch of pkg.torrent from
# hp-seed into out/, in the background (stdout f1.out, stderr f1.err); sets
# FETCH_PID.
fetch_in_background() {
	# (a simple command, so $! is hp-fetch itself, not a subshell)
	hp-fetch -k keys/pub.pub --torrent pkg.torrent --listen 127.0.0.1:0 --peer "127.0.0.1:$SEED_PORT" \
		"$@" --timeout 60 m.json -O out >f1.out 2>f1.err 3>&- &
	FETCH_PID=$!
}

# The resume data hp-fetch keeps for pkg.torrent in out/.hp-partial.
resume_file() {
	local ih
	ih=$(hp-mktorrent --show pkg.torrent | jq -r '.infohash_v1 // .infohash_v2')
	echo "out/.hp-partial/bt-$ih.resume"
}

# wait_verified MIN_BYTES: wait until hp-fetch ($FETCH_PID) has saved resume
# data listing at least MIN_BYTES of verified pieces; sets VERIFIED to what
# it lists then. Fails if hp-fetch exits first or after 180 s.
wait_verified() {
	local min=$1 rf i j
	rf=$(resume_file)
	for i in $(seq 1800); do
		if [ -s "$rf" ] && j=$("$BT_PY" "$BT_RESUME" "$rf" 2>/dev/null); then
			VERIFIED=$(jq .have_bytes <<<"$j")
			((VERIFIED >= min)) && return 0
		fi
		kill -0 "$FETCH_PID" 2>/dev/null || fail "hp-fetch ended before $min bytes were verified: $(cat f1.err f1.out)"
		sleep 0.1
	done
	fail "no resume data with $min verified bytes after 180 s"
}

# The n-th source's member of the summary in FILE: summary FILE N MEMBER
summary() {
	jq -e -s ".[-1].summary.sources[$2].$3" "$1"
}

# Nothing unverified at a final path: out holds no big.bin, no .part file.
nothing_half_written() {
	[ ! -e out/big.bin ] || fail "out/big.bin exists after an interrupted fetch"
	! compgen -G 'out/.hp-partial/*.part' >/dev/null || fail "a partial file was left"
}

# interrupt_and_resume SIGNAL: the fetch from a throttled seeder is stopped
# by SIGNAL once 1 MiB of verified pieces is in its resume data; a second run
# from an unthrottled seeder finishes, with the same bytes, having kept them.
interrupt_and_resume() {
	local sig=$1 total=3000006
	bt_need libtorrent
	make_pkg 3000000 --hybrid
	bt_seed_start pkg.torrent --content src --upload-rate 256
	fetch_in_background
	wait_verified 1048576
	local at_signal=$VERIFIED rc=0
	kill -"$sig" "$FETCH_PID"
	local i
	for i in $(seq 600); do
		kill -0 "$FETCH_PID" 2>/dev/null || break
		sleep 0.1
	done
	! kill -0 "$FETCH_PID" 2>/dev/null || fail "hp-fetch still runs 60 s after SIG$sig"
	wait "$FETCH_PID" || rc=$?
	FETCH_PID=
	nothing_half_written
	local kept
	kept=$("$BT_PY" "$BT_RESUME" "$(resume_file)" | jq .have_bytes)
	((kept >= at_signal)) || fail "the resume data lists $kept verified bytes, $at_signal before the signal"
	if [ "$sig" = TERM ]; then
		# a clean stop: exit 75, resume data saved, the JSON summary says so
		((rc == 75)) || fail "hp-fetch exited $rc on SIGTERM: $(cat f1.err)"
		summary f1.out 0 interrupted >/dev/null
		[[ $(summary f1.out 0 status) == '"failed"' ]]
		grep -q 'interrupted with' f1.err
		# its records, BitTorrent's counters included, follow the schema
		local checker=$HP_ROOT/.cache/venv/bin/check-jsonschema
		[ -x "$checker" ] || fail "check-jsonschema not installed (scripts/install-deps)"
		split -l1 --additional-suffix=.json f1.out rec.
		"$checker" --schemafile "$HP_ROOT/schemas/hp-fetch.record.schema.json" rec.*.json
	else
		((rc == 137)) || fail "hp-fetch exited $rc on SIGKILL"
	fi
	bt_seed_stop
	bt_seed_start pkg.torrent --content src
	run --separate-stderr timeout 120 hp-fetch -k keys/pub.pub --torrent pkg.torrent --listen 127.0.0.1:0 \
		--peer "127.0.0.1:$SEED_PORT" --timeout 30 m.json -O out
	[ "$status" -eq 0 ] || fail "the second run exited $status: $stderr"
	cmp src/pkg/big.bin out/big.bin
	cmp src/pkg/small out/small
	[ "$(sha256sum <out/big.bin)" = "$(sha256sum <src/pkg/big.bin)" ]
	[ ! -e out/.hp-partial ]
	local resumed received
	resumed=$(jq -s '.[-1].summary.sources[0].bytes_resumed' <<<"$output")
	received=$(jq -s '.[-1].summary.sources[0].bytes_received' <<<"$output")
	# it kept what it had verified, and did not receive it again
	((resumed >= kept)) || fail "the second run resumed $resumed bytes, the resume data listed $kept"
	((received <= total - resumed + 524288)) || fail "the second run received $received bytes after resuming $resumed"
	((received < total)) || fail "the second run received everything again ($received bytes)"
	bt_seed_stop
}

@test "hp-fetch --torrent: SIGTERM saves resume data (exit 75); the next run keeps the verified pieces" {
	interrupt_and_resume TERM
}

@test "hp-fetch --torrent: after SIGKILL the next run keeps the pieces of the last periodic resume data" {
	interrupt_and_resume KILL
}

@test "hp-fetch --piece-order: in-order asks for pieces in order (files hashed as they come); rarest-first fetches the same bytes" {
	bt_need libtorrent
	make_pkg 6000000 --v1 --piece-size 16384
	bt_seed_start pkg.torrent --content src --upload-rate 1024
	fetch_in_background --piece-order in-order
	wait_verified 1048576
	local j have first last
	j=$("$BT_PY" "$BT_RESUME" "$(resume_file)")
	have=$(jq .have <<<"$j")
	first=$(jq .first_have <<<"$j")
	last=$(jq .last_have <<<"$j")
	# in order: the verified pieces are (nearly) a prefix; rarest-first
	# scatters them over the file
	((first == 0 && last < have + 32)) || fail "pieces not in order: $have verified, from $first to $last"
	wait "$FETCH_PID" || fail "hp-fetch exited $?: $(cat f1.err)"
	FETCH_PID=
	cmp src/pkg/big.bin out/big.bin
	cmp src/pkg/small out/small
	bt_seed_stop
	bt_seed_start pkg.torrent --content src
	run --separate-stderr timeout 120 hp-fetch -k keys/pub.pub --torrent pkg.torrent --listen 127.0.0.1:0 \
		--peer "127.0.0.1:$SEED_PORT" --piece-order rarest-first --timeout 30 m.json -O out2
	[ "$status" -eq 0 ] || fail "rarest-first: exit $status: $stderr"
	cmp src/pkg/big.bin out2/big.bin
	cmp src/pkg/small out2/small
	[ ! -e out2/.hp-partial ]
	run --separate-stderr hp-fetch -k keys/pub.pub --torrent pkg.torrent --piece-order random m.json -O out3
	[ "$status" -eq 64 ] && [[ $stderr == *"--piece-order takes auto, in-order or rarest-first, not 'random'"* ]] ||
		fail "a bad --piece-order: exit $status: $stderr"
	[ ! -e out3 ]
}

@test "hp-fetch --torrent: a verified piece changed on disk between runs never reaches the output (v1)" {
	bt_need libtorrent
	make_pkg 3000000 --v1
	bt_seed_start pkg.torrent --content src --upload-rate 256
	fetch_in_background
	wait_verified 262144
	kill -KILL "$FETCH_PID"
	wait "$FETCH_PID" || true
	FETCH_PID=
	bt_seed_stop
	# a byte of a piece the resume data lists as verified (a v1 torrent's
	# resume data is trusted by libtorrent: it does not hash it again)
	local rf j off
	rf=$(resume_file)
	j=$("$BT_PY" "$BT_RESUME" "$rf")
	off=$(jq '.first_have * .piece_length + 100' <<<"$j")
	flip_byte out/.hp-partial/bt-*/pkg/big.bin "$off"
	bt_seed_start pkg.torrent --content src
	run_fails 1 timeout 120 hp-fetch -k keys/pub.pub --torrent pkg.torrent --listen 127.0.0.1:0 \
		--peer "127.0.0.1:$SEED_PORT" --timeout 30 m.json -O out
	[[ $stderr == *"'big.bin' does not match: its SHA-256 is"* ]]
	[ ! -e out/big.bin ]
	[ ! -e "$rf" ] # that resume data is not trusted again
	cmp src/pkg/small out/small
	# the next run starts big.bin over and gets it right
	run --separate-stderr timeout 120 hp-fetch -k keys/pub.pub --torrent pkg.torrent --listen 127.0.0.1:0 \
		--peer "127.0.0.1:$SEED_PORT" --timeout 30 m.json -O out
	[ "$status" -eq 0 ] || fail "exit $status: $stderr"
	cmp src/pkg/big.bin out/big.bin
	jq -e -s '.[-1].summary.sources[0].bytes_resumed == 0' <<<"$output" >/dev/null
	bt_seed_stop
}

@test "hp-fetch --torrent --progress: a progress line on stderr; without it, none" {
	make_pkg 1000000 --hybrid
	bt_seed_start pkg.torrent --content src
	run --separate-stderr timeout 60 hp-fetch -k keys/pub.pub --torrent pkg.torrent --listen 127.0.0.1:0 \
		--peer "127.0.0.1:$SEED_PORT" --timeout 30 --progress m.json -O out
	assert_success
	[[ $stderr =~ hp-fetch:\ [0-9.]+\ [KMG]?i?B\ of\ 976\.6\ KiB\ \([0-9]+% ]] || fail "no progress line: $stderr"
	# BitTorrent's lines carry the rate and the connections
	[[ $stderr =~ \([0-9]+%,\ [0-9.]+\ [KMG]?i?B/s,\ [0-9]+\ peers?\) ]] || fail "no rate/peers: $stderr"
	[[ $stderr == *"of 976.6 KiB (100%"* ]]
	rm -r out
	run --separate-stderr timeout 60 hp-fetch -k keys/pub.pub --torrent pkg.torrent --listen 127.0.0.1:0 \
		--peer "127.0.0.1:$SEED_PORT" --timeout 30 m.json -O out
	assert_success
	[ -z "$stderr" ] || fail "stderr without --progress: $stderr"
	cmp src/pkg/big.bin out/big.bin
	bt_seed_stop
}

@test "old spellings: -t and --bt-listen still fetch over BitTorrent, each with one warning naming the new one" {
	make_pkg 300000 --hybrid
	bt_seed_start pkg.torrent --content src
	run --separate-stderr timeout 60 hp-fetch -k keys/pub.pub -t pkg.torrent --bt-listen 127.0.0.1:0 \
		--peer "127.0.0.1:$SEED_PORT" --timeout 30 m.json -O out
	assert_success
	cmp src/pkg/big.bin out/big.bin
	cmp src/pkg/small out/small
	jq -e -s '.[-1].summary.sources[0].source | startswith("bittorrent ")' <<<"$output" >/dev/null
	warns_once hp-fetch -t --torrent
	warns_once hp-fetch --bt-listen --listen
	[ "$(wc -l <<<"$stderr")" = 2 ] || fail "more than the two warnings on stderr: $stderr"
	bt_seed_stop
}

# rangeserver ROOT [ARGS...]: tests/lib/rangeserver.py serving ROOT; sets
# WS_URL (http://127.0.0.1:PORT/) and WS_LOG.
rangeserver() {
	local root=$1 n=${WS_N:-0}
	shift
	WS_N=$((n + 1))
	WS_LOG=$PWD/ws$n.log
	: >"$WS_LOG"
	python3 "$RANGESERVER" --root "$root" --port-file "ws$n.port" --log "$WS_LOG" --parent $$ --lifetime 300 "$@" \
		>/dev/null 2>"ws$n.err" 3>&- &
	local pid=$! port
	BT_PIDS+=("$pid")
	port=$(wait_for "$pid" 100 cat "ws$n.port") || fail "rangeserver did not start: $(cat "ws$n.err")"
	WS_URL=http://127.0.0.1:$port/
}

@test "rangeserver: Range requests answered as RFC 9110 says (the web seed tests' server)" {
	mkdir www
	printf 0123456789 >www/f
	rangeserver www
	[ "$(curl -sf -r 2-4 "${WS_URL}f")" = 234 ]
	[ "$(curl -sf -r 7- "${WS_URL}f")" = 789 ]
	[ "$(curl -sf -r -3 "${WS_URL}f")" = 789 ]
	[ "$(curl -sf "${WS_URL}f")" = 0123456789 ]
	[ "$(curl -s -o /dev/null -w '%{http_code}' -r 20-30 "${WS_URL}f")" = 416 ]
	[ "$(curl -s -o /dev/null -w '%{http_code}' "${WS_URL}../etc/passwd")" = 404 ]
	[ "$(curl -s -o /dev/null -w '%{http_code}' "${WS_URL}")" = 404 ]
	jq -e -s 'map(.status) == [206, 206, 206, 200, 416, 404, 404]' "$WS_LOG" >/dev/null
}

@test "web seed alone (no peer): an HTTP server with Range, multi-file v1, v2 and hybrid torrents" {
	mkdir -p src/pkg/sub
	head -c 1500000 /dev/urandom >src/pkg/big.bin
	echo hello >src/pkg/sub/a.txt
	head -c 70001 /dev/urandom >src/pkg/sub/c
	bt_sign_pkg src/pkg
	rangeserver src
	local f
	for f in v1 v2 hybrid; do
		hp-mktorrent --"$f" --no-date -w "$WS_URL" -o "$f.torrent" src/pkg >/dev/null
		: >"$WS_LOG"
		run --separate-stderr timeout 60 hp-fetch -k keys/pub.pub --torrent "$f.torrent" --listen 127.0.0.1:0 \
			--timeout 20 m.json -O "out-$f"
		[ "$status" -eq 0 ] || fail "$f: exit $status: $stderr"
		diff -r src/pkg "out-$f"
		# the client asked for URL + name + / + path, by ranges
		jq -e -s 'map(select(.status == 206)) | length > 0' "$WS_LOG" >/dev/null
		jq -e -s 'all(.[]; .path | startswith("/pkg/"))' "$WS_LOG" >/dev/null
		jq -e -s 'map(.path) | index("/pkg/sub/c") != null' "$WS_LOG" >/dev/null
		jq -e -s '.[-1].summary.sources[0].hash_failures == 0' <<<"$output" >/dev/null
	done
}

@test "web seed alone (no peer): single-file v1 and hybrid torrents (URL + name)" {
	mkdir -p src/one
	head -c 300000 /dev/urandom >src/one/one.bin
	bt_sign_pkg src/one one
	rangeserver src/one
	local f
	for f in v1 hybrid; do
		hp-mktorrent --"$f" --no-date -w "$WS_URL" -o "$f.torrent" src/one/one.bin >/dev/null
		: >"$WS_LOG"
		run --separate-stderr timeout 60 hp-fetch -k keys/pub.pub --torrent "$f.torrent" --listen 127.0.0.1:0 \
			--timeout 20 m.json -O "out-$f"
		[ "$status" -eq 0 ] || fail "$f: exit $status: $stderr"
		cmp src/one/one.bin "out-$f/one.bin"
		jq -e -s 'all(.[]; .path == "/one.bin")' "$WS_LOG" >/dev/null
	done
}

@test "web seed: kubo's gateway through a one-entry wrapper directory (multi-file hybrid and v1, single-file)" {
	kubo_start || fail "kubo did not start (scripts/build-kubo)"
	KUBO_STARTED=1
	make_pkg 1500000 --hybrid
	local cid w
	cid=$(ipfs add -r -Q src/pkg)
	[ "$cid" = "$(jq -r .distribution.ipfs_cid m.json)" ] || fail "kubo's CID $cid is not the manifest's"
	# the wrapper: a directory whose one entry, named the torrent's name, is the package
	ipfs files mkdir /w
	ipfs files cp "/ipfs/$cid" /w/pkg
	w=$(ipfs files stat --hash /w)
	local url=$KUBO_GATEWAY/ipfs/$w/
	[ "$(curl -sf -r 0-9 "${url}pkg/big.bin" | od -An -tx1)" = "$(head -c 10 src/pkg/big.bin | od -An -tx1)" ]
	local f
	for f in hybrid v1; do
		hp-mktorrent --"$f" --no-date -w "$url" -o "$f.torrent" src/pkg >/dev/null
		run --separate-stderr timeout 60 hp-fetch -k keys/pub.pub --torrent "$f.torrent" --listen 127.0.0.1:0 \
			--timeout 20 m.json -O "out-$f"
		[ "$status" -eq 0 ] || fail "$f: exit $status: $stderr"
		diff -r src/pkg "out-$f"
		jq -e -s '.[-1].summary.sources[0] | .status == "ok" and .connections >= 1' <<<"$output" >/dev/null
	done
	# one file: the wrapper's entry is the file, named as the torrent
	local fcid w1
	fcid=$(ipfs add -Q src/pkg/big.bin)
	ipfs files mkdir /w1
	ipfs files cp "/ipfs/$fcid" /w1/big.bin
	w1=$(ipfs files stat --hash /w1)
	mkdir -p one
	cp src/pkg/big.bin one/
	hp-manifest create --name one --version 1.0.0 --no-torrent -o one.json one
	hp-sign manifest keys/pub.pem one.json -o one.json
	hp-mktorrent --no-date -w "$KUBO_GATEWAY/ipfs/$w1/" -o one.torrent one/big.bin >/dev/null
	run --separate-stderr timeout 60 hp-fetch -k keys/pub.pub --torrent one.torrent --listen 127.0.0.1:0 \
		--timeout 20 one.json -O out-one
	[ "$status" -eq 0 ] || fail "single file: exit $status: $stderr"
	cmp src/pkg/big.bin out-one/big.bin
}

@test "a lying web seed (every byte flipped) never gets its data into the output; falling back to IPFS fixes it" {
	kubo_start || fail "kubo did not start (scripts/build-kubo)"
	KUBO_STARTED=1
	make_pkg 1000000 --hybrid
	local cid
	cid=$(ipfs add -r -Q src/pkg)
	[ "$cid" = "$(jq -r .distribution.ipfs_cid m.json)" ] || fail "kubo's CID $cid is not the manifest's"
	rangeserver src --flip
	local f
	for f in hybrid v1; do
		hp-mktorrent --"$f" --no-date -w "$WS_URL" -o "$f.torrent" src/pkg >/dev/null
		# alone: no verified byte ever, the source times out; nothing in place
		run_fails 75 timeout 60 hp-fetch -k keys/pub.pub --torrent "$f.torrent" --listen 127.0.0.1:0 \
			--timeout 3 --no-manifest-gateway m.json -O "out-$f"
		[ ! -e "out-$f/big.bin" ]
		[ ! -e "out-$f/small" ]
		jq -e -s '.[-1].summary.sources[0].hash_failures >= 1' <<<"$output" >/dev/null
		jq -e -s 'map(select(.status == "fetched")) | length == 0' <<<"$output" >/dev/null
		# with kubo's gateway after it: everything arrives, verified
		run --separate-stderr timeout 60 hp-fetch -k keys/pub.pub --torrent "$f.torrent" --listen 127.0.0.1:0 \
			--timeout 3 --no-manifest-gateway -g "$KUBO_GATEWAY" m.json -O "out-$f"
		[ "$status" -eq 0 ] || fail "$f with fallback: exit $status: $stderr"
		diff -r src/pkg "out-$f"
		jq -e -s '.[-1].summary.sources | map(.status) == ["failed", "ok"]' <<<"$output" >/dev/null
		[[ $stderr == *"warning: bittorrent "* ]]
	done
	# the liar was asked, and answered
	jq -e -s 'map(select(.status == 206)) | length > 0' "$WS_LOG" >/dev/null
}

@test "hp-fetch --download-rate: the throttle on the fetching side; SIGINT half-way, then resumed" {
	bt_need libtorrent
	make_pkg 2000000 --hybrid
	bt_seed_start pkg.torrent --content src
	# without the limit the whole download beats the first resume save
	fetch_in_background --download-rate 200
	wait_verified 524288
	local at_signal=$VERIFIED rc=0
	kill -INT "$FETCH_PID"
	wait "$FETCH_PID" || rc=$?
	FETCH_PID=
	((rc == 75)) || fail "hp-fetch exited $rc on SIGINT: $(cat f1.err)"
	nothing_half_written
	run --separate-stderr timeout 120 hp-fetch -k keys/pub.pub --torrent pkg.torrent --listen 127.0.0.1:0 \
		--peer "127.0.0.1:$SEED_PORT" --timeout 30 m.json -O out
	[ "$status" -eq 0 ] || fail "the second run exited $status: $stderr"
	cmp src/pkg/big.bin out/big.bin
	cmp src/pkg/small out/small
	local resumed received
	resumed=$(jq -s '.[-1].summary.sources[0].bytes_resumed' <<<"$output")
	received=$(jq -s '.[-1].summary.sources[0].bytes_received' <<<"$output")
	((resumed >= at_signal)) || fail "resumed $resumed bytes, $at_signal were verified before the signal"
	((received <= 2000006 - resumed + 524288)) || fail "received $received bytes after resuming $resumed"
	bt_seed_stop
}

@test "--upload-rate and --download-rate: values checked, exit 64" {
	run_fails 64 hp-seed x.torrent --content . --upload-rate -1
	run_fails 64 hp-seed x.torrent --content . --upload-rate 1k
	run_fails 64 hp-seed x.torrent --content . --upload-rate 2097152
	printf '{}' >m.json
	run_fails 64 hp-fetch --download-rate abc m.json -O out
	run_fails 64 hp-fetch --download-rate -5 m.json -O out
	[[ $stderr == *"--download-rate takes KiB/s"* ]]
	[ ! -e out ]
}

@test "the manifest's signed infohashes bind the torrent: another torrent of the same files is refused (1) before any peer is asked; a manifest without them binds nothing" {
	bt_make_tree src/pkg
	bt_sign_pkg src/pkg pkg --canonical-torrent
	hp-mktorrent --v1 --no-date -o v1.torrent src/pkg >/dev/null
	hp-mktorrent --v2 --no-date -o v2.torrent src/pkg >/dev/null
	# a v1 torrent: its v1 infohash is not the hybrid's the manifest signs
	bt_seed_start v1.torrent --content src
	run_fails 1 timeout 60 hp-fetch -k keys/pub.pub --torrent v1.torrent --peer "127.0.0.1:$SEED_PORT" \
		--listen 127.0.0.1:0 --timeout 10 m.json -O out
	[[ $stderr == *"v1.torrent: its v1 infohash "*" is not the manifest's signed torrent_infohash "*": refused"* ]]
	[ ! -e out/big.bin ]
	# no peer was contacted: the seeder saw nobody
	! grep -q '"event":"peer"' seed.log
	bt_seed_stop
	run_fails 1 hp-fetch -k keys/pub.pub --torrent v2.torrent --timeout 2 m.json -O out
	[[ $stderr == *"v2.torrent: its v2 infohash "*" is not the manifest's signed torrent_infohash_v2 "*": refused"* ]]
	# a magnet of another torrent: refused the same way, before any lookup
	run_fails 1 hp-fetch -k keys/pub.pub --timeout 2 \
		--torrent "magnet:?xt=urn:btih:$(hp-mktorrent --show v1.torrent | jq -r .infohash_v1)" m.json -O out
	[[ $stderr == *"the magnet link: its v1 infohash "* ]]
	# the manifest's own (canonical) torrent is fine; so is any torrent when the manifest records none
	hp-mktorrent --from-manifest m.json -c src/pkg -o canon.torrent >/dev/null
	bt_seed_start canon.torrent --content src
	run --separate-stderr timeout 60 hp-fetch -k keys/pub.pub --torrent canon.torrent --peer "127.0.0.1:$SEED_PORT" \
		--listen 127.0.0.1:0 --timeout 20 m.json -O got
	[ "$status" -eq 0 ] || fail "canonical: exit $status: $stderr"
	bt_same src/pkg got
	bt_seed_stop
	hp-manifest create --name pkg --version 1.0.0 --no-torrent -o m.json src/pkg
	hp-sign manifest keys/pub.pem m.json -o m.json
	bt_seed_start v1.torrent --content src
	run --separate-stderr timeout 60 hp-fetch -k keys/pub.pub --torrent v1.torrent --peer "127.0.0.1:$SEED_PORT" \
		--listen 127.0.0.1:0 --timeout 20 m.json -O got1
	[ "$status" -eq 0 ] || fail "no infohash in the manifest: exit $status: $stderr"
	bt_seed_stop
}

@test "a full disk during a BitTorrent fetch: 74 naming the folder and the space (not a timeout); the partial data is released; a rerun with room completes" {
	make_pkg 3000000 --hybrid
	bt_seed_start pkg.torrent --content src
	mkdir disk
	mount -t tmpfs -o size=2m tmpfs disk || fail "cannot mount a tmpfs (these tests run as root)"
	MOUNTED=$PWD/disk
	run_fails 74 timeout 60 hp-fetch -k keys/pub.pub --torrent pkg.torrent --peer "127.0.0.1:$SEED_PORT" \
		--listen 127.0.0.1:0 --timeout 20 m.json -O disk/out
	[[ $stderr == *"cannot write the BitTorrent download in 'disk/out/.hp-partial': No space left on device ("* ]] ||
		fail "$stderr"
	[[ $stderr != *"without new data"* ]]
	jq -e -s '.[-1].summary.failed >= 1' <<<"$output" >/dev/null
	# nothing of it is left to fill the disk
	[ -z "$(find disk/out -type f)" ]
	[ "$(df --output=used -B1 disk | tail -n1 | tr -d ' ')" -lt 65536 ]
	# more room, the same command: every file verified in place
	mount -o remount,size=16m disk
	run --separate-stderr timeout 60 hp-fetch -k keys/pub.pub --torrent pkg.torrent --peer "127.0.0.1:$SEED_PORT" \
		--listen 127.0.0.1:0 --timeout 20 m.json -O disk/out
	[ "$status" -eq 0 ] || fail "rerun: exit $status: $stderr"
	diff -r src/pkg disk/out
	bt_seed_stop
}

@test "a source that drips is dropped for the next one: --min-rate over each --timeout span, --deadline in all; the verified pieces are kept" {
	kubo_start || fail "kubo did not start (scripts/build-kubo)"
	KUBO_STARTED=1
	# 16 KiB pieces: at 16 KiB/s a piece is verified about every second, so
	# the source is not silent for --timeout (5 s), only slow
	make_pkg 3000000 --hybrid -l 16K
	[ "$(ipfs add -r -Q src/pkg)" = "$(jq -r .distribution.ipfs_cid m.json)" ]
	# a swarm of one peer sending 16 KiB/s: 3 MB would take three minutes
	bt_seed_start pkg.torrent --content src --upload-rate 16
	local t0 ms
	t0=$(date +%s%N)
	run --separate-stderr timeout 60 hp-fetch -k keys/pub.pub --torrent pkg.torrent --peer "127.0.0.1:$SEED_PORT" \
		--listen 127.0.0.1:0 --timeout 5 --min-rate 64 --no-manifest-gateway -g "$KUBO_GATEWAY" m.json -O out
	ms=$((($(date +%s%N) - t0) / 1000000))
	[ "$status" -eq 0 ] || fail "min-rate: exit $status: $stderr"
	diff -r src/pkg out
	jq -e -s '.[-1].summary.sources | map(.status) == ["failed", "ok"]' <<<"$output" >/dev/null
	[[ $stderr == *"less than the minimum rate of 65536 bytes/s"* ]] || fail "$stderr"
	((ms < 20000)) || fail "took $ms ms"
	# --deadline: the same swarm passes the default minimum, the deadline drops it
	rm -rf out
	t0=$(date +%s%N)
	run --separate-stderr timeout 60 hp-fetch -k keys/pub.pub --torrent pkg.torrent --peer "127.0.0.1:$SEED_PORT" \
		--listen 127.0.0.1:0 --timeout 10 --deadline 4 --no-manifest-gateway -g "$KUBO_GATEWAY" m.json -O out
	ms=$((($(date +%s%N) - t0) / 1000000))
	[ "$status" -eq 0 ] || fail "deadline: exit $status: $stderr"
	diff -r src/pkg out
	[[ $stderr == *"over the deadline of 4 s with "*" bytes verified (kept for the next run)"* ]] || fail "$stderr"
	((ms < 20000)) || fail "took $ms ms"
	# alone, the slow swarm is 75 and keeps what it verified
	run_fails 75 timeout 60 hp-fetch -k keys/pub.pub --torrent pkg.torrent --peer "127.0.0.1:$SEED_PORT" \
		--listen 127.0.0.1:0 --timeout 5 --min-rate 64 --no-manifest-gateway m.json -O alone
	jq -e -s '.[-1].summary.sources[0].bytes_received > 0' <<<"$output" >/dev/null
	[ -n "$(find alone/.hp-partial -name '*.resume')" ]
	bt_seed_stop
	# a gateway that drips above nothing but below any use: --deadline drops
	# it within its seconds, though its --timeout spans are long
	badserver drip
	rm -rf out
	t0=$(date +%s%N)
	run --separate-stderr timeout 60 hp-fetch -k keys/pub.pub --timeout 30 --deadline 3 --no-manifest-gateway \
		-g "$BAD" -g "$KUBO_GATEWAY" m.json -O out
	ms=$((($(date +%s%N) - t0) / 1000000))
	[ "$status" -eq 0 ] || fail "gateway deadline: exit $status: $stderr"
	diff -r src/pkg out
	((ms < 12000)) || fail "gateway deadline: took $ms ms"
}
