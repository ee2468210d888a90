#!/usr/bin/env bats
# hp-fetch over IPFS, against two real kubo daemons (unixfs-v0-2015 and
# unixfs-v1-2025) and a lying gateway in front of them (tests/lib/evilgateway.py):
# what arrives is checked block by block and file by file, nothing unverified
# ever reaches a final path, the bytes accepted stay bounded, an interrupted
# fetch resumes without fetching verified files again.

load helpers
load ../lib/kubo

seeded() { # SIZE SEED: kubo's deterministic test bytes
	head -c "$1" /dev/zero |
		openssl enc -chacha20 -K "$(printf %s "$2" | sha256sum | cut -d' ' -f1)" -iv 00000000000000000000000000000000
}

setup_file() {
	export PATH=$HP_BIN:$PATH
	local d=$BATS_FILE_TMPDIR
	# the package: nested folders, empty folders, an empty file, a hidden
	# file, a name with a space and UTF-8, a file of more than two chunks in
	# both profiles, a file of repeated identical chunks
	export TREE=$d/tree
	mkdir -p "$TREE/dir/sub" "$TREE/dir/emptier" "$TREE/emptydir"
	printf x >"$TREE/.hidden"
	printf 'hello world\n' >"$TREE/a.txt"
	seeded $((2621440 + 1)) big >"$TREE/big.bin"
	: >"$TREE/empty.dat"
	head -c 3145728 /dev/zero >"$TREE/zeros.bin"
	printf deep >"$TREE/dir/sub/deep.txt"
	seeded 300000 more >"$TREE/dir/sub/more.bin"
	printf unicode >"$TREE/dir/name with space & ü.txt"

	hp-sign keygen -O "$d/keys" -n pub >/dev/null || return
	hp-sign keygen -O "$d/keys" -n other >/dev/null || return
	export KEY=$d/keys/pub.pem PUB=$d/keys/pub.pub OTHER=$d/keys/other.pem
	local p
	for p in unixfs-v0-2015 unixfs-v1-2025; do
		hp-manifest create --name pkg --version 1.0.0 --profile "$p" -o "$d/$p.json" "$TREE" || return
		hp-sign manifest "$KEY" "$d/$p.json" -o "$d/$p.json" || return
	done
	export M0=$d/unixfs-v0-2015.json M1=$d/unixfs-v1-2025.json

	# kubo's default profile is unixfs-v0-2015: the tree goes in with ipfs add
	kubo_start || return
	export V0_PATH=$IPFS_PATH V0_API=$KUBO_API V0_GATEWAY=$KUBO_GATEWAY
	local root
	root=$(ipfs add -r -Q --hidden "$TREE") || return
	[ "$root" = "$(jq -r .distribution.ipfs_cid "$M0")" ] || {
		echo "kubo's root $root is not the manifest's" >&2
		return 1
	}
	# unixfs-v1-2025: the tree goes in as the CAR hp-cid writes
	kubo_start unixfs-v1-2025 || return
	export V1_PATH=$IPFS_PATH V1_API=$KUBO_API V1_GATEWAY=$KUBO_GATEWAY
	hp-cid --profile unixfs-v1-2025 --car "$d/v1.car" "$TREE" >/dev/null || return
	root=$(ipfs dag import "$d/v1.car" | awk '/^Pinned root/ {print $3}') || return
	[ "$root" = "$(jq -r .distribution.ipfs_cid "$M1")" ] || {
		echo "kubo imported the root '$root', not the manifest's" >&2
		return 1
	}
	TOTAL0=$(jq .total_size "$M0")
	export TOTAL0
}

teardown_file() {
	kubo_stop
}

setup() {
	setup_scratch
	EVIL_PID=
}

teardown() {
	evil_stop
}

# ---- helpers ----------------------------------------------------------------

# evil_start UPSTREAM ATTACK [evilgateway options]: sets EVIL_URL and EVIL_LOG
evil_start() {
	local up=$1 attack=$2
	shift 2
	local dir
	dir=$(mktemp -d "$BATS_TEST_TMPDIR/evil.XXXXXX")
	python3 "$HP_ROOT/tests/lib/evilgateway.py" --upstream "$up" --attack "$attack" \
		--port-file "$dir/port" --log "$dir/log" "$@" </dev/null >"$dir/out" 2>&1 3>&- &
	EVIL_PID=$!
	local i
	for ((i = 0; i < 200; i++)); do
		[ -s "$dir/port" ] && break
		kill -0 "$EVIL_PID" 2>/dev/null || {
			cat "$dir/out" >&2
			return 1
		}
		sleep 0.05
	done
	[ -s "$dir/port" ] || return 1
	EVIL_URL=http://127.0.0.1:$(<"$dir/port")
	EVIL_LOG=$dir/log
}

evil_stop() {
	if [ -n "${EVIL_PID:-}" ]; then
		kill "$EVIL_PID" 2>/dev/null || true
		wait "$EVIL_PID" 2>/dev/null || true
		EVIL_PID=
	fi
	return 0
}

evil_requests() { # the number of requests the gateway answered
	wc -l <"$EVIL_LOG" | tr -d ' '
}

# Every file of the package in OUT is byte for byte the original, the
# folders are the same, and nothing else is there.
fetched_all() {
	diff -r "$TREE" "$1" || fail "the fetched tree differs from the original"
	[ ! -e "$1/.hp-partial" ] || fail ".hp-partial was left behind: $(ls -A "$1/.hp-partial")"
}

# Nothing unverified at a final path: every regular file under OUT is one of
# the package's, identical to the original; no partial file is left.
nothing_unverified() {
	local out=$1 f rel
	while IFS= read -r -d '' f; do
		rel=${f#"$out"/}
		case $rel in .hp-partial/*) fail "a partial file was left: $rel" ;; esac
		[ -f "$TREE/$rel" ] || fail "'$rel' is not a file of the package"
		cmp -s "$f" "$TREE/$rel" || fail "'$rel' differs from the original"
	done < <(find "$out" -type f -print0)
}

# The JSON lines of a run: one per file, then the summary.
records_ok() { # STATUS-OF-EVERY-FILE
	local n
	n=$(jq -s 'map(select(has("path"))) | length' <<<"$output")
	[ "$n" = "$(jq '.files | length' "$M0")" ] || fail "$n file records"
	jq -se --arg s "$1" 'map(select(has("path"))) | all(.status == $s)' <<<"$output" >/dev/null ||
		fail "not every file is $1: $output"
	jq -se 'last | has("summary")' <<<"$output" >/dev/null || fail "no summary last"
}

summary() { # jq filter on the summary
	jq -sc "last.summary | $1" <<<"$output"
}

# ---- fetching through kubo ----------------------------------------------------

@test "gateway, unixfs-v0-2015: the package into an empty folder, byte for byte, every block checked" {
	run --separate-stderr hp-fetch -k "$PUB" -g "$V0_GATEWAY" "$M0" -O out
	assert_success
	fetched_all out
	records_ok fetched
	jq -se --arg g "gateway $V0_GATEWAY" 'map(select(has("path"))) | all(.source == $g)' <<<"$output"
	[ "$(summary .fetched)" = 8 ]
	[ "$(summary .bytes)" = "$TOTAL0" ]
	[ "$(summary '.sources[0].mode')" = '"car"' ]
	[ "$(summary '.sources[0].requests')" = 1 ]
	# the zeros repeat: the CAR (dups=n) holds the chunk once, the walk used it 12 times
	[ "$(summary '.sources[0].rebuilt_blocks')" -gt 5 ]
	[[ $(summary '.sources[0].content_type') == *order=dfs* ]]
	# the empty folders of the DAG are there, empty
	[ -d out/emptydir ] && [ -z "$(ls -A out/emptydir)" ]
	[ -d out/dir/emptier ]
}

@test "gateway, unixfs-v1-2025 (a CAR from hp-cid imported into kubo)" {
	run --separate-stderr hp-fetch -k "$PUB" -g "$V1_GATEWAY" "$M1" -O out
	assert_success
	fetched_all out
	records_ok fetched
}

@test "kubo RPC dag/export, both profiles" {
	run --separate-stderr hp-fetch -k "$PUB" --kubo "$V0_API" "$M0" -O out0
	assert_success
	fetched_all out0
	[ "$(summary '.sources[0].mode')" = '"dag/export"' ]
	jq -se --arg k "kubo $V0_API" 'map(select(has("path"))) | all(.source == $k)' <<<"$output"
	# a multiaddr works too
	port=${V1_API##*:}
	run --separate-stderr hp-fetch -k "$PUB" --kubo "/ip4/127.0.0.1/tcp/$port" "$M1" -O out1
	assert_success
	fetched_all out1
}

@test "block by block (?format=raw), and when a gateway refuses CARs" {
	run --separate-stderr hp-fetch -k "$PUB" --raw-blocks -g "$V1_GATEWAY" "$M1" -O out
	assert_success
	fetched_all out
	[ "$(summary '.sources[0].mode')" = '"raw"' ]
	[ "$(summary '.sources[0].requests')" -gt 5 ]
	# a gateway that answers 406 to CARs: blocks are asked one by one
	evil_start "$V0_GATEWAY" nocar
	run --separate-stderr hp-fetch -k "$PUB" -g "$EVIL_URL" "$M0" -O out2
	assert_success
	fetched_all out2
	[ "$(jq -s 'map(select(.kind == "car")) | length' "$EVIL_LOG")" = 1 ]
	[ "$(jq -s 'map(select(.kind == "raw")) | length' "$EVIL_LOG")" -gt 5 ]
}

@test "a second run finds every file in place and asks nothing; a wrong file is replaced" {
	hp-fetch -k "$PUB" -g "$V0_GATEWAY" "$M0" -O out >/dev/null
	evil_start "$V0_GATEWAY" honest
	run --separate-stderr hp-fetch -k "$PUB" -g "$EVIL_URL" "$M0" -O out
	assert_success
	records_ok present
	[ "$(evil_requests)" = 0 ]
	# no source at all is fine when nothing is missing
	run --separate-stderr hp-fetch -k "$PUB" "$M0" -O out
	assert_success
	# same size, other bytes: hashed, found wrong, fetched again by its own CID
	printf 'HELLO WORLD\n' >out/a.txt
	run --separate-stderr hp-fetch -k "$PUB" -g "$EVIL_URL" "$M0" -O out
	assert_success
	fetched_all out
	[ "$(jq -sc 'map(select(.status == "fetched")) | map(.path)' <<<"$output")" = '["a.txt"]' ]
	[ "$(jq -s 'map(select(.kind == "car")) | length' "$EVIL_LOG")" = 1 ]
	grep -q "/ipfs/$(jq -r '.files[] | select(.path == "a.txt") | .cid' "$M0")?" "$EVIL_LOG"
}

# ---- the manifest first -----------------------------------------------------

@test "an untrusted, forged, expired or rolled-back manifest: exit 1 before any request" {
	evil_start "$V0_GATEWAY" honest
	# signed by a key that is not trusted
	hp-sign manifest "$OTHER" "$M0" -o other.json
	run_fails 1 hp-fetch -k "$PUB" -g "$EVIL_URL" other.json -O out
	[[ $stderr == *"not among the 1 trusted keys"* ]]
	# no trusted key at all
	run_fails 1 env -u HP_TRUSTED_KEYS hp-fetch -g "$EVIL_URL" "$M0" -O out
	[[ $stderr == *"no trusted keys were given"* ]]
	# a field changed after signing
	jq '.distribution.ipfs_cid = "bafybeiczsscdsbs7ffqz55asqdf3smv6klcw3gofszvwlyarci47bgf354"' "$M0" >forged.json
	run_fails 1 hp-fetch -k "$PUB" -g "$EVIL_URL" forged.json -O out
	# expired
	hp-manifest create --name pkg --version 1.0.0 --profile unixfs-v0-2015 --expires 2020-01-01T00:00:00Z \
		-o exp.json "$TREE"
	hp-sign manifest "$KEY" exp.json -o exp.json
	run_fails 1 hp-fetch -k "$PUB" -g "$EVIL_URL" exp.json -O out
	[[ $stderr == *expired* ]]
	# a rollback: version 2 seen, then 1.0.0
	hp-manifest create --name pkg --version 2.0.0 --profile unixfs-v0-2015 -o v2.json "$TREE"
	hp-sign manifest "$KEY" v2.json -o v2.json
	hp-verify -k "$PUB" --state state.json v2.json >/dev/null
	run_fails 1 hp-fetch -k "$PUB" --state state.json -g "$EVIL_URL" "$M0" -O out
	[[ $stderr == *2.0.0* ]]
	[ "$(evil_requests)" = 0 ]
	[ ! -e out ] || [ -z "$(find out -type f)" ]
	# --allow-untrusted accepts a good signature by another key
	run --separate-stderr hp-fetch --allow-untrusted -g "$EVIL_URL" other.json -O out
	assert_success
	fetched_all out
}

@test "a malformed manifest is 65, a missing one 66, usage errors 64" {
	printf '{"manifest_version": "1.0"' >bad.json
	run_fails 65 hp-fetch -k "$PUB" -g "$V0_GATEWAY" bad.json -O out
	run_fails 66 hp-fetch -k "$PUB" -g "$V0_GATEWAY" nope.json -O out
	run_fails 64 hp-fetch -k "$PUB" "$M0"
	[[ $stderr == *"-O DIR"* ]]
	run_fails 64 hp-fetch -k "$PUB" -g "ftp://x" "$M0" -O out
	run_fails 64 hp-fetch -k "$PUB" --timeout 0 "$M0" -O out
	[ ! -e out ]
}

# ---- sources that are not there -----------------------------------------------

@test "no source reachable: 69; a source that never answers: 75; the next source is tried" {
	# a port nothing listens on
	port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
	run_fails 69 hp-fetch -k "$PUB" -g "http://127.0.0.1:$port" "$M0" -O out
	[[ $stderr == *"127.0.0.1:$port"* ]]
	nothing_unverified out
	# a gateway that answers 500
	evil_start "$V0_GATEWAY" status500
	run_fails 69 hp-fetch -k "$PUB" -g "$EVIL_URL" "$M0" -O out
	[[ $stderr == *"HTTP 500"* ]]
	evil_stop
	# a gateway that sends nothing for longer than --timeout
	evil_start "$V0_GATEWAY" slow --delay 30
	SECONDS=0
	run_fails 75 hp-fetch -k "$PUB" --timeout 1 -g "$EVIL_URL" "$M0" -O out
	((SECONDS < 15))
	[[ $stderr == *"timed out"* ]]
	nothing_unverified out
	# the dead and the silent one first, then kubo: kubo has the rest
	run --separate-stderr hp-fetch -k "$PUB" --timeout 1 -g "http://127.0.0.1:$port" -g "$EVIL_URL" \
		--kubo "$V0_API" "$M0" -O out2
	assert_success
	fetched_all out2
	jq -se --arg k "kubo $V0_API" 'map(select(.path == "zeros.bin")) | all(.source == $k)' <<<"$output"
	[[ $stderr == *"warning: gateway http://127.0.0.1:$port"* ]]
	[ "$(summary '[.sources[].status]')" = '["failed","failed","ok"]' ]
}

# ---- the lying gateway ----------------------------------------------------------

# attack UPSTREAM MANIFEST CODE ATTACK [evilgateway options]: hp-fetch through
# the lying gateway fails with CODE, and nothing unverified is in place
attack_fails() {
	local up=$1 m=$2 code=$3
	shift 3
	evil_start "$up" "$@"
	run_fails "$code" hp-fetch -k "$PUB" -g "$EVIL_URL" "$m" -O out
	nothing_unverified out
	[ "$(jq -s 'map(select(has("path") and .status == "failed")) | length' <<<"$output")" -gt 0 ]
	jq -se 'last | has("summary")' <<<"$output" >/dev/null
}

@test "attack: a flipped byte in a block is caught at that block, nothing after it is used" {
	attack_fails "$V0_GATEWAY" "$M0" 1 flip
	[[ $stderr == *"bytes do not match CID"* ]]
	# the files complete before the bad block are verified and in place
	[ "$(jq -s 'map(select(.status == "fetched")) | length' <<<"$output")" -ge 1 ]
	evil_stop
	attack_fails "$V1_GATEWAY" "$M1" 1 flip --block 2
	[[ $stderr == *"bytes do not match CID"* ]]
}

@test "attack: a dropped block, or an unrelated block in its place, is a missing block of a named file" {
	attack_fails "$V0_GATEWAY" "$M0" 1 drop
	[[ $stderr =~ block\ [^\ ]+\ of\ \'[^\']+\'\ is\ missing\ from\ the\ response ]]
	evil_stop
	attack_fails "$V1_GATEWAY" "$M1" 1 substitute
	[[ $stderr == *"is missing from the response"* ]]
	[ "$(summary '.sources[0].ignored_blocks')" -ge 1 ]
}

@test "attack: a CAR cut in the middle of a block" {
	attack_fails "$V0_GATEWAY" "$M0" 1 truncate
	[[ $stderr == *"truncated after"* ]]
}

@test "attack: a block over 2 MiB is refused at its length, before it is read" {
	attack_fails "$V0_GATEWAY" "$M0" 1 bigblock
	[[ $stderr == *"over the block limit"* ]]
	(($(summary '.sources[0].bytes_received') < 3145728))
}

@test "attack: a CAR under a Content-Type that is not a CAR's is refused, raw blocks too" {
	attack_fails "$V0_GATEWAY" "$M0" 1 ctype
	[[ $stderr == *"Content-Type is 'text/html; charset=utf-8', not application/vnd.ipld.car"* ]]
	[ "$(summary '.sources[0].blocks')" = 0 ]
	run_fails 1 hp-fetch -k "$PUB" --raw-blocks -g "$EVIL_URL" "$M0" -O out2
	[[ $stderr == *"not application/vnd.ipld.raw"* ]]
	nothing_unverified out2
}

@test "attack: raw blocks with a flipped byte" {
	evil_start "$V1_GATEWAY" flip --only-raw
	run_fails 1 hp-fetch -k "$PUB" --raw-blocks -g "$EVIL_URL" "$M1" -O out
	[[ $stderr == *"the block's bytes do not match its CID"* ]]
	nothing_unverified out
}

@test "attack: an endless stream after the real blocks stops as soon as the walk is done" {
	evil_start "$V0_GATEWAY" endless --endless-seconds 60
	SECONDS=0
	run --separate-stderr hp-fetch -k "$PUB" -g "$EVIL_URL" "$M0" -O out
	assert_success
	((SECONDS < 30))
	fetched_all out
	evil_stop
	# what the gateway managed to send: the package, and no more than what
	# the sockets' buffers hold
	sent=$(jq -s 'map(.bytes_sent) | add' "$EVIL_LOG")
	echo "sent $sent for $TOTAL0" >&2
	((sent < TOTAL0 + 4194304))
	(($(summary '.sources[0].bytes_received') < TOTAL0 + 1048576))
}

@test "attack: an endless flood of unrelated blocks is cut at the manifest's size plus a small overhead" {
	attack_fails "$V0_GATEWAY" "$M0" 1 flood --endless-seconds 60
	[[ $stderr == *"past the limit of"* ]]
	limit=$(grep -o 'past the limit of [0-9]*' <<<"$stderr" | head -n 1 | grep -o '[0-9]*$')
	echo "limit $limit for $TOTAL0 bytes" >&2
	((limit > TOTAL0 && limit < TOTAL0 + TOTAL0 / 20 + 131072))
	(($(summary '.sources[0].bytes_received') <= limit))
	evil_stop
	sent=$(jq -s 'map(.bytes_sent) | add' "$EVIL_LOG")
	((sent < limit + 4194304))
	# held on disk (a spill file) while they came, gone now
	run_fails 1 hp-fetch -k "$PUB" --memory 1 -g "$EVIL_URL" "$M0" -O out2 || true
	[ ! -e out2/.hp-partial ] || [ -z "$(ls -A out2/.hp-partial)" ]
}

@test "tolerated, every block still checked: an extra unrelated block, a block twice, any order, order=dfs that lies" {
	for attack in extra dup reorder order-lie; do
		evil_start "$V0_GATEWAY" "$attack"
		run --separate-stderr hp-fetch -k "$PUB" --memory 1 -g "$EVIL_URL" "$M0" -O "out-$attack"
		assert_success
		fetched_all "out-$attack"
		case $attack in
		extra) [ "$(summary '.sources[0].ignored_blocks')" = 1 ] ;;
		dup) [ "$(summary '.sources[0].duplicate_blocks')" = 1 ] ;;
		*) (($(summary '.sources[0].spilled_bytes') > 1048576)) ;;  # held until needed, on disk past --memory
		esac
		evil_stop
	done
}

@test "a lying gateway first, an honest one next: every file from the honest one, the lie reported" {
	for attack in flip drop truncate ctype flood; do
		evil_start "$V0_GATEWAY" "$attack"
		run --separate-stderr hp-fetch -k "$PUB" -g "$EVIL_URL" -g "$V0_GATEWAY" "$M0" -O "out-$attack"
		assert_success
		fetched_all "out-$attack"
		[[ $stderr == *"warning: gateway $EVIL_URL"* ]]
		[ "$(summary '[.sources[].status]')" = '["failed","ok"]' ]
		evil_stop
	done
}

# ---- the manifest and the DAG disagree ---------------------------------------

@test "the DAG has an entry the manifest does not list: never written" {
	cp -a "$TREE" tree2
	printf 'not in the manifest' >tree2/extra.txt
	mkdir tree2/dir/notlisted
	printf zz >tree2/dir/notlisted/z
	hp-manifest create --name pkg --version 1.0.0 --profile unixfs-v0-2015 -o full.json tree2
	IPFS_PATH=$V0_PATH ipfs add -r -Q --hidden tree2 >/dev/null
	# the same manifest without those two files (content_id and total_size redone)
	python3 - full.json sub.json <<-'EOF'
		import hashlib, json, sys
		m = json.load(open(sys.argv[1]))
		m["files"] = [f for f in m["files"] if f["path"] not in ("extra.txt", "dir/notlisted/z")]
		m["total_size"] = sum(f["size"] for f in m["files"])
		jcs = json.dumps(m["files"], sort_keys=True, separators=(",", ":"), ensure_ascii=False)
		m["content_id"] = hashlib.sha256(jcs.encode()).hexdigest()
		json.dump(m, open(sys.argv[2], "w"))
	EOF
	hp-sign manifest "$KEY" sub.json -o sub.json
	run --separate-stderr hp-fetch -k "$PUB" -g "$V0_GATEWAY" sub.json -O out
	assert_success
	[ ! -e out/extra.txt ]
	[ ! -e out/dir/notlisted/z ]
	fetched_all out
	(($(summary '.sources[0].unlisted_entries') >= 2))
}

@test "a file whose SHA-256 in the manifest is wrong fails alone, the others are fetched" {
	jq '(.files[] | select(.path == "dir/sub/more.bin") | .sha256) |= "0000000000000000000000000000000000000000000000000000000000000000"' \
		"$M0" >wrong.json
	python3 - wrong.json <<-'EOF'
		import hashlib, json, sys
		m = json.load(open(sys.argv[1]))
		jcs = json.dumps(m["files"], sort_keys=True, separators=(",", ":"), ensure_ascii=False)
		m["content_id"] = hashlib.sha256(jcs.encode()).hexdigest()
		json.dump(m, open(sys.argv[1], "w"))
	EOF
	hp-sign manifest "$KEY" wrong.json -o wrong.json
	run_fails 1 hp-fetch -k "$PUB" -g "$V0_GATEWAY" --kubo "$V0_API" wrong.json -O out
	[[ $stderr == *"'dir/sub/more.bin' does not match: its SHA-256 is"* ]]
	[ ! -e out/dir/sub/more.bin ]
	nothing_unverified out
	[ "$(jq -sc 'map(select(.status == "failed")) | map(.path)' <<<"$output")" = '["dir/sub/more.bin"]' ]
	[ "$(summary .fetched)" = 7 ]
}

@test "links in the output folder are never followed" {
	mkdir -p out elsewhere
	printf victim >victim
	ln -s "$PWD/victim" out/a.txt
	ln -s "$PWD/elsewhere" out/dir
	run_fails 73 hp-fetch -k "$PUB" -g "$V0_GATEWAY" "$M0" -O out
	[ "$(cat victim)" = victim ]
	[ -z "$(ls -A elsewhere)" ]
	# a.txt: the link was replaced by the verified file, not written through
	[ -f out/a.txt ] && [ ! -L out/a.txt ]
	cmp out/a.txt "$TREE/a.txt"
	[[ $stderr == *"'dir' is a symbolic link or not a folder"* ]]
}

# ---- resume -----------------------------------------------------------------------

@test "resume: killed in the middle, run again: verified files are not fetched again" {
	evil_start "$V0_GATEWAY" slow --delay 0.05
	hp-fetch -k "$PUB" -g "$EVIL_URL" "$M0" -O out >run1.jsonl 2>run1.err 3>&- &
	pid=$!
	# .hidden and a.txt come first (depth first, by name); big.bin takes seconds
	for ((i = 0; i < 300; i++)); do
		[ -f out/a.txt ] && break
		sleep 0.05
	done
	[ -f out/a.txt ]
	kill -KILL "$pid"
	wait "$pid" || true
	[ ! -e out/big.bin ]
	[ -n "$(ls -A out/.hp-partial)" ]  # the partial big.bin, left by the kill
	nothing_unverified_but_partial() {
		find out -type f ! -path 'out/.hp-partial/*' -print0 | while IFS= read -r -d '' f; do
			cmp -s "$f" "$TREE/${f#out/}" || return 1
		done
	}
	nothing_unverified_but_partial
	evil_stop
	# again, through a counting gateway
	evil_start "$V0_GATEWAY" honest
	run --separate-stderr hp-fetch -k "$PUB" -j 3 -g "$EVIL_URL" "$M0" -O out
	assert_success
	fetched_all out
	[ "$(jq -sc 'map(select(.status == "present")) | map(.path)' <<<"$output")" = '[".hidden","a.txt"]' ]
	# one CAR per missing file, by its own CID; the folders block by block:
	# the root, dir, dir/sub and the empty folder (dir/emptier and emptydir
	# are the same block, asked once), and the empty ones are made; nothing
	# for the files in place
	[ "$(jq -s 'map(select(.kind == "car")) | length' "$EVIL_LOG")" = 6 ]
	[ "$(jq -s 'map(select(.kind == "raw")) | length' "$EVIL_LOG")" = 4 ]
	for p in .hidden a.txt; do
		cid=$(jq -r --arg p "$p" '.files[] | select(.path == $p) | .cid' "$M0")
		! grep -q "/ipfs/$cid?" "$EVIL_LOG"
	done
	! grep -q "/ipfs/$(jq -r .distribution.ipfs_cid "$M0")?format=car" "$EVIL_LOG"
}

@test "two hp-fetch into one folder at once: the second is refused (75)" {
	evil_start "$V0_GATEWAY" slow --delay 0.05
	hp-fetch -k "$PUB" -g "$EVIL_URL" "$M0" -O out >/dev/null 2>&1 3>&- &
	pid=$!
	for ((i = 0; i < 200; i++)); do
		[ -d out/.hp-partial ] && break
		sleep 0.05
	done
	sleep 0.2
	run_fails 75 hp-fetch -k "$PUB" -g "$V0_GATEWAY" "$M0" -O out
	[[ $stderr == *"being written by another hp-fetch"* ]]
	kill "$pid"
	wait "$pid" || true
}

# ---- the tool ---------------------------------------------------------------------

@test "hp-fetch --help, --version, man page" {
	run --separate-stderr hp-fetch --help
	assert_success
	[[ $output == Usage:* ]]
	run --separate-stderr hp-fetch --version
	assert_output "hp-fetch (hybrid-p2p) $(sed -n 's/^VERSION[[:space:]]*:=[[:space:]]*//p' "$HP_ROOT/Makefile")"
	run groff -man -ww -z "$HP_ROOT/docs/hp-fetch.1"
	assert_success
	assert_output ""
	# every long option of --help is in the man page
	for opt in $(hp-fetch --help | grep -O -- '--[a-z][a-z-]*' | sort -u); do
		sed -e 's/\\-/-/g' -e 's/\\f[A-Z]//g' "$HP_ROOT/docs/hp-fetch.1" | grep -q -- "$opt" ||
			fail "docs/hp-fetch.1 does not document $opt"
	done
}

@test "hp-fetch --help lists every option of its table, and no old spelling" {
	help_lists_table hp-fetch.c fetch_options hp-fetch
}

@test "old spellings: -o and --output still fetch into DIR, each with one warning naming --output-dir" {
	local old
	for old in -o --output; do
		run --separate-stderr hp-fetch -k "$PUB" -g "$V0_GATEWAY" "$M0" "$old" "out$old"
		assert_success
		fetched_all "out$old"
		warns_once hp-fetch "$old" --output-dir
		[ "$(wc -l <<<"$stderr")" = 1 ] || fail "more than the warning on stderr: $stderr"
	done
	# the warning comes before anything else, and --quiet silences it
	run_fails 66 hp-fetch -k "$PUB" nope.json -o out
	warns_once hp-fetch -o --output-dir
	run_fails 66 hp-fetch --quiet -k "$PUB" nope.json --output out
	[[ $stderr != *deprecated* ]] || fail "--quiet and still a warning: $stderr"
	# -t and --bt-listen (fetches over BitTorrent with them: 56-hp-fetch-bt)
	run_fails 66 hp-fetch -k "$PUB" -t nope.torrent --bt-listen 127.0.0.1:0 nope.json -O out
	warns_once hp-fetch -t --torrent
	warns_once hp-fetch --bt-listen --listen
}

@test "the records follow schemas/hp-fetch.record.schema.json" {
	run --separate-stderr hp-fetch -k "$PUB" -g "$V0_GATEWAY" "$M0" -O out
	assert_success
	local checker=$HP_ROOT/.cache/venv/bin/check-jsonschema
	[ -x "$checker" ] || fail "check-jsonschema not installed (scripts/install-deps)"
	i=0
	while IFS= read -r line; do
		printf '%s\n' "$line" >"rec$i.json"
		i=$((i + 1))
	done <<<"$output"
	"$checker" --schemafile "$HP_ROOT/schemas/hp-fetch.record.schema.json" rec*.json
}
