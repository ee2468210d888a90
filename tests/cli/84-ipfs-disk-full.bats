#!/usr/bin/env bats
# A full disk while fetching over IPFS (issue 11, item 3, our writers): the
# partial files of lib/hp_fetch.c and the walk's spill file, on a small tmpfs.
# The failure is reported as what it is (74, naming the file and the errno;
# 73 when the output folder cannot be created), every file not in place has
# its failed record and the summary comes out, nothing but whole verified
# files is left on the disk, and a run with space completes.

load helpers
load ../lib/kubo

setup_file() {
	export PATH=$HP_BIN:$PATH
	local d=$BATS_FILE_TMPDIR
	export TREE=$d/tree
	mkdir -p "$TREE"
	printf 'small\n' >"$TREE/a.txt"
	head -c 3000000 /dev/urandom >"$TREE/big.bin"
	printf 'last\n' >"$TREE/z.txt"
	hp-sign keygen -O "$d/keys" -n pub >/dev/null || return
	export PUB=$d/keys/pub.pub M=$d/m.json
	hp-manifest create --name pkg --version 1.0.0 --profile unixfs-v0-2015 -o "$M" "$TREE" || return
	hp-sign manifest "$d/keys/pub.pem" "$M" -o "$M" || return
	kubo_start || return
	local root
	root=$(ipfs add -r -Q --hidden "$TREE") || return
	[ "$root" = "$(jq -r .distribution.ipfs_cid "$M")" ] || {
		echo "kubo's root $root is not the manifest's" >&2
		return 1
	}
}

teardown_file() {
	kubo_stop
}

setup() {
	setup_scratch
	EVIL_PID=
	MOUNTED=
	mkdir out
}

teardown() {
	evil_stop
	[ -z "$MOUNTED" ] || umount "$MOUNTED" || umount -l "$MOUNTED"
}

# small_disk DIR OPTIONS: a tmpfs on DIR (umounted in teardown).
small_disk() {
	mount -t tmpfs -o "$2" tmpfs "$1" || fail "cannot mount a tmpfs on $1 (these tests run as root)"
	MOUNTED=$PWD/$1
}

# evil_start UPSTREAM ATTACK: tests/lib/evilgateway.py in front of UPSTREAM;
# sets EVIL_URL.
evil_start() {
	local dir
	dir=$(mktemp -d "$BATS_TEST_TMPDIR/evil.XXXXXX")
	python3 "$HP_ROOT/tests/lib/evilgateway.py" --upstream "$1" --attack "$2" \
		--port-file "$dir/port" --log "$dir/log" </dev/null >"$dir/out" 2>&1 3>&- &
	EVIL_PID=$!
	local i
	for ((i = 0; i < 200; i++)); do
		[ -s "$dir/port" ] && break
		sleep 0.05
	done
	[ -s "$dir/port" ] || fail "evilgateway did not start: $(cat "$dir/out")"
	EVIL_URL=http://127.0.0.1:$(<"$dir/port")
}

evil_stop() {
	if [ -n "${EVIL_PID:-}" ]; then
		kill "$EVIL_PID" 2>/dev/null || true
		wait "$EVIL_PID" 2>/dev/null || true
		EVIL_PID=
	fi
	return 0
}

summary() { # jq filter on the last line's summary
	jq -sc "last.summary | $1" <<<"$output"
}

record() { # PATH FIELD: a file record's field
	jq -sr --arg p "$1" "map(select(.path == \$p)) | last | .$2" <<<"$output"
}

# After a failed run on the small disk: nothing but whole, verified files in
# OUT (no .hp-partial, no partial data), every file not in place failed with
# the disk's error, and the summary says so.
released_and_reported() {
	local out=$1 f
	[ ! -e "$out/.hp-partial" ] || fail "partial data left: $(ls -la "$out/.hp-partial")"
	while IFS= read -r -d '' f; do
		cmp -s "$f" "$TREE/${f#"$out"/}" || fail "'$f' is not a whole file of the package"
	done < <(find "$out" -type f -print0)
	[ "$(summary .files)" = 3 ] || fail "no summary, or not of 3 files: $output"
	local failed=0 p
	for p in a.txt big.bin z.txt; do
		if [ -f "$out/$p" ]; then
			continue
		fi
		failed=$((failed + 1))
		[ "$(record "$p" status)" = failed ] || fail "'$p' is not in place and has no failed record: $output"
		[[ $(record "$p" error) == *"No space left on device"* ]] || fail "'$p': $(record "$p" error)"
	done
	[ "$(summary .failed)" = "$failed" ] || fail "the summary says $(summary .failed) failed, $failed are not in place"
	[ "$(summary '.fetched + .present + .failed')" = 3 ]
}

@test "gateway (CARs), a full disk: 74 naming the partial file and the errno, records and summary, nothing partial left; a rerun with space completes" {
	small_disk out size=2m
	run_fails 74 hp-fetch -k "$PUB" -g "$KUBO_GATEWAY" "$M" -O out
	[[ $stderr == "hp-fetch: "*"out/.hp-partial/"*".part"*"big.bin"*": No space left on device"* ]] ||
		fail "stderr: $stderr"
	[ "$(record big.bin status)" = failed ]
	released_and_reported out
	[ "$(df --output=used -k out | tail -1)" -lt 64 ]
	# space again: the same command completes, keeping what is in place
	mount -o remount,size=16m out
	run --separate-stderr hp-fetch -k "$PUB" -g "$KUBO_GATEWAY" "$M" -O out
	assert_success
	diff -r "$TREE" out
	[ "$(record a.txt status)" = present ]
	[ "$(record big.bin status)" = fetched ]
}

@test "kubo (dag/export), each file by its CID, several at a time, a full disk: 74, records and summary; a rerun completes" {
	small_disk out size=2m
	cp "$TREE/a.txt" out/  # not the whole package: each missing file by its own CID
	run_fails 74 hp-fetch -k "$PUB" -j 3 --kubo "$KUBO_API" "$M" -O out
	[[ $stderr == *"hp-fetch: "*"No space left on device"* ]] || fail "stderr: $stderr"
	[[ $stderr == *"out/.hp-partial/"* ]] || fail "the partial file is not named: $stderr"
	released_and_reported out
	mount -o remount,size=16m out
	run --separate-stderr hp-fetch -k "$PUB" --kubo "$KUBO_API" "$M" -O out
	assert_success
	diff -r "$TREE" out
}

@test "the walk's spill file on a full disk (blocks in reverse order, --memory 0): 74 naming it and the errno" {
	small_disk out size=2m
	evil_start "$KUBO_GATEWAY" reorder
	run_fails 74 hp-fetch -k "$PUB" --memory 0 -g "$EVIL_URL" "$M" -O out
	[[ $stderr == "hp-fetch: "*"spill file"*"out/.hp-partial"*": No space left on device"* ]] ||
		fail "stderr: $stderr"
	released_and_reported out
	mount -o remount,size=16m out
	run --separate-stderr hp-fetch -k "$PUB" --memory 0 -g "$EVIL_URL" "$M" -O out
	assert_success
	diff -r "$TREE" out
}

@test "no inode left for a partial file: 74 naming it, not 'cannot create'; a read-only disk: 73" {
	# the root, .hp-partial and a.txt's partial file (renamed into place):
	# big.bin's partial file finds no inode
	small_disk out size=16m,nr_inodes=3
	run_fails 74 hp-fetch -k "$PUB" -g "$KUBO_GATEWAY" "$M" -O out
	[[ $stderr == *"hp-fetch: "*"out/.hp-partial/"*": No space left on device"* ]] || fail "stderr: $stderr"
	released_and_reported out
	umount out
	small_disk out size=2m,ro
	run_fails 73 hp-fetch -k "$PUB" -g "$KUBO_GATEWAY" "$M" -O out
	[[ $stderr == "hp-fetch: "*"out/.hp-partial"*"Read-only file system"* ]] || fail "stderr: $stderr"
}

@test "hybrid-p2p fetch on a full disk: 74 with its line and the summary" {
	small_disk out size=2m
	run_fails 74 hybrid-p2p fetch -k "$PUB" -g "$KUBO_GATEWAY" "$M" -O out
	[[ $stderr == "hybrid-p2p fetch: "*"No space left on device"* ]] || fail "stderr: $stderr"
	released_and_reported out
}
