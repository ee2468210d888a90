#!/usr/bin/env bats
# Every failure says why (issue 11, item 2): each documented failure path of
# each tool (docs/exit-codes.md's table, each man page's EXIT STATUS) exits
# with its documented code and prints at least one line on stderr, "TOOL: ...".
# The table below is the list; a row is "CODE|COMMAND", run with bash -c in a
# scratch folder holding the fixtures of setup_file.

load helpers

setup_file() {
	local d=$BATS_FILE_TMPDIR/fx
	mkdir -p "$d/data" "$d/other" "$d/emptydir" "$d/reg" || return
	cd "$d" || return
	printf 'hello\n' >data/a.txt
	head -c 70000 /dev/urandom >data/b.bin
	printf 'not this\n' >other/a.txt
	hp-sign keygen -O keys -n k >/dev/null || return
	hp-sign keygen -O keys -n loose >/dev/null || return
	chmod 0644 keys/loose.pem
	HP_PASSPHRASE=right hp-sign keygen -O keys -n enc >/dev/null || return
	hp-manifest create --name x --version 1.0.0 -o u.json data || return
	hp-sign manifest keys/k.pem u.json -o m.json || return
	hp-manifest create --name x --version 0.9.0 --expires 2020-01-01T00:00:00Z -o expired.json data || return
	hp-sign manifest keys/k.pem expired.json -o expired.json || return
	hp-manifest create --name x --version 2.0.0 -o m2.json data || return
	hp-sign manifest keys/k.pem m2.json -o m2.json || return
	hp-verify -k keys/k.pub --state state.json m2.json >/dev/null || return
	hp-mktorrent -o t.torrent data >/dev/null || return
	hp-cid --car other.car other >/dev/null || return
	printf '{"not": "a manifest"' >bad.json
	printf 'not a key\n' >bad.pem
	printf 'not a key either\n' >bad.pub
	printf '{"broken"' >bad-state.json
	: >empty.torrent
	printf 'd4:infod6:lengthi0e4:name2:ed12:piece lengthi16384e6:pieces0:ee' >allempty.torrent
	: >a-file
	git init -q --bare reg/empty.git || return
	export FX=$d
}

setup() {
	setup_scratch
	cp -a "$FX/." .
	unset HP_TRUSTED_KEYS HP_PASSPHRASE HP_KUBO_API HP_CLUSTER_API HP_PSA_URL HP_REGISTRY HP_REGISTRY_TOKEN
	export HOME=$SCRATCH/home
	mkdir -p "$HOME"
	# a port nothing listens on
	CLOSED=http://127.0.0.1:$(free_port)
	export CLOSED
}

teardown() {
	badservers_stop
}

# check_rows: read "CODE|COMMAND" rows on stdin (# comments and blank lines
# skipped), run each, and fail listing every row whose exit code is not CODE,
# that died of a signal, or that printed nothing on stderr, or no line
# "TOOL: ..." ("hybrid-p2p fetch: ..." for a subcommand; hp-seed's JSON events
# may come before it).
check_rows() {
	local line want cmd tool bad=() n=0
	while IFS= read -r line; do
		[[ -z $line || $line == \#* ]] && continue
		want=${line%%|*}
		cmd=${line#*|}
		[[ $cmd =~ (hp-[a-z]+|hybrid-p2p) ]] || fail "no tool in row: $line"
		tool=${BASH_REMATCH[1]}
		n=$((n + 1))
		run --separate-stderr timeout 60 bash -c "$cmd"
		if ((status != want)); then
			bad+=("exit $status, not $want: $cmd${stderr:+ [$stderr]}")
		elif [[ -z $stderr ]]; then
			bad+=("exit $status with nothing on stderr: $cmd")
		elif ! grep -Eq "^$tool( [a-z]+)?: " <<<"$stderr"; then
			bad+=("no line '$tool: ...' on stderr: $cmd [$stderr]")
		fi
	done
	((n > 0)) || fail "no rows"
	((${#bad[@]} == 0)) || {
		printf '%s\n' "${bad[@]}" >&2
		return 1
	}
}

@test "hp-hash: usage, missing and unreadable inputs, a full stdout" {
	check_rows <<'EOF'
64|hp-hash --bogus data
64|hp-hash --algo md4 data
64|hp-hash - - </dev/null
66|hp-hash missing
66|hp-hash -C missing a.txt
74|hp-hash data >/dev/full
EOF
}

@test "hp-cid: usage, a missing input, a CAR that cannot be created, a full stdout" {
	check_rows <<'EOF'
64|hp-cid --bogus data
64|hp-cid --profile nope data
64|hp-cid
66|hp-cid missing
73|hp-cid --car nodir/x.car data
73|hp-cid --car a-file/x.car data
74|hp-cid data >/dev/full
EOF
}

@test "hp-manifest: create, validate, canonical, show" {
	check_rows <<'EOF'
64|hp-manifest
64|hp-manifest frobnicate
64|hp-manifest create data
65|hp-manifest create --name 'bad name' --version 1 data
66|hp-manifest create --name x --version 1 missing
73|hp-manifest create --name x --version 1 -o nodir/m.json data
74|hp-manifest create --name x --version 1 -o /dev/full data
74|hp-manifest create --name x --version 1 data >/dev/full
65|hp-manifest validate bad.json
66|hp-manifest validate missing.json
66|hp-manifest validate bad.json missing.json
65|hp-manifest canonical bad.json
66|hp-manifest canonical missing.json
65|hp-manifest show bad.json
66|hp-manifest show missing.json
74|hp-manifest canonical m.json >/dev/full
EOF
}

@test "hp-sign: keys that exist, malformed, missing, loose or locked; outputs that cannot be made" {
	check_rows <<'EOF'
64|hp-sign
64|hp-sign manifest --bogus keys/k.pem m.json
73|hp-sign keygen -O keys -n k
65|hp-sign manifest bad.pem u.json
66|hp-sign manifest keys/missing.pem u.json
77|hp-sign manifest keys/loose.pem u.json
65|hp-sign manifest keys/k.pem bad.json
66|hp-sign manifest keys/k.pem missing.json
73|hp-sign manifest keys/k.pem u.json -o nodir/s.json
74|hp-sign manifest keys/k.pem u.json -o /dev/full
65|HP_PASSPHRASE=wrong hp-sign manifest keys/enc.pem u.json
64|hp-sign manifest keys/enc.pem u.json </dev/null
66|hp-sign pubkey keys/missing.pem
74|hp-sign pubkey keys/k.pem >/dev/full
EOF
}

@test "hp-verify: invalid, malformed, missing, a state file that cannot be written" {
	check_rows <<'EOF'
64|hp-verify
64|hp-verify --bogus m.json
1|hp-verify m.json
1|hp-verify -k keys/loose.pub m.json
1|hp-verify -k keys/k.pub u.json
1|hp-verify -k keys/k.pub --content other m.json
1|hp-verify -k keys/k.pub expired.json
1|hp-verify -k keys/k.pub --state state.json m.json
65|hp-verify -k keys/k.pub bad.json
65|hp-verify -k bad.pub m.json
65|hp-verify -k keys/k.pub --state bad-state.json m.json
66|hp-verify -k keys/k.pub missing.json
66|hp-verify -k keys/missing.pub m.json
66|hp-verify -k keys/k.pub --content missing m.json
73|hp-verify -k keys/k.pub --state nodir/s.json m.json
74|hp-verify -k keys/k.pub m.json >/dev/full
EOF
}

@test "hp-mktorrent: usage, nothing to share, malformed and missing torrents, outputs, mismatches" {
	check_rows <<'EOF'
64|hp-mktorrent
64|hp-mktorrent --piece-length 7 data
65|hp-mktorrent emptydir
65|hp-mktorrent --show empty.torrent
65|hp-mktorrent --show allempty.torrent
65|hp-mktorrent --show bad.json
66|hp-mktorrent missing
66|hp-mktorrent --show missing.torrent
73|hp-mktorrent -o nodir/t.torrent data
1|hp-mktorrent --from-manifest m.json --content other -o x.torrent
EOF
}

@test "hp-pin: usage, a missing or malformed manifest, a node down or silent, a CAR of other content" {
	badserver hang
	check_rows <<EOF
64|hp-pin
64|hp-pin frobnicate m.json
64|hp-pin add --kubo-token-env HP_UNSET_VARIABLE --kubo $CLOSED m.json
65|hp-pin add --kubo $CLOSED bad.json
66|hp-pin add --kubo $CLOSED missing.json
69|hp-pin add --kubo $CLOSED m.json
69|hp-pin status --kubo $CLOSED m.json
75|hp-pin status --timeout 1 --kubo $BAD m.json
1|hp-pin add --car other.car --kubo $CLOSED m.json
EOF
}

@test "hp-fetch: usage, the manifest, the torrent, the output folder, the sources" {
	badserver hang
	# another hp-fetch's lock on busy/ (held by this shell, on its own fd)
	mkdir busy busy/.hp-partial
	exec 7<busy/.hp-partial
	flock -n 7
	check_rows <<EOF
64|hp-fetch m.json
64|hp-fetch -k keys/k.pub --timeout 0 m.json -O out
64|hp-fetch -k keys/k.pub -g ftp://x m.json -O out
65|hp-fetch -k keys/k.pub bad.json -O out
65|hp-fetch -k bad.pub m.json -O out
66|hp-fetch -k keys/k.pub missing.json -O out
1|hp-fetch m.json -O out
1|hp-fetch -k keys/loose.pub m.json -O out
1|hp-fetch -k keys/k.pub u.json -O out
1|hp-fetch -k keys/k.pub expired.json -O out
1|hp-fetch -k keys/k.pub --state state.json m.json -O out
65|hp-fetch -k keys/k.pub --torrent empty.torrent m.json -O out
65|hp-fetch -k keys/k.pub --torrent allempty.torrent m.json -O out
66|hp-fetch -k keys/k.pub --torrent missing.torrent m.json -O out
73|hp-fetch -k keys/k.pub --no-manifest-gateway -g $CLOSED m.json -O a-file
73|hp-fetch -k keys/k.pub --no-manifest-gateway -g $CLOSED m.json -O nodir/out
69|hp-fetch -k keys/k.pub --no-manifest-gateway -g $CLOSED m.json -O out
69|hp-fetch -k keys/k.pub --no-manifest-gateway m.json -O out
69|hp-fetch -k keys/k.pub --no-manifest-gateway --kubo $CLOSED m.json -O out
75|hp-fetch -k keys/k.pub --no-manifest-gateway -g $CLOSED m.json -O busy
75|hp-fetch -k keys/k.pub --no-manifest-gateway --timeout 1 -g $BAD m.json -O out
EOF
	exec 7<&-
}

@test "hp-seed: usage, malformed or missing torrents and manifests, content that does not match" {
	check_rows <<'EOF'
64|hp-seed
64|hp-seed t.torrent
65|hp-seed --content . empty.torrent
65|hp-seed --content . --manifest bad.json
66|hp-seed --content . missing.torrent
66|hp-seed --content . --manifest missing.json
1|mkdir -p o && cp -r other o/data && hp-seed --content o t.torrent
1|hp-seed --content other --manifest m.json
69|hp-seed --content . --listen 192.0.2.1:1 t.torrent
EOF
}

@test "hybrid-p2p: usage, and each subcommand's failures" {
	badserver hang
	check_rows <<EOF
64|hybrid-p2p
64|hybrid-p2p frobnicate
64|hybrid-p2p fetch --bogus
64|hybrid-p2p publish data
73|hybrid-p2p keygen -O keys -n k
1|hybrid-p2p verify m.json
66|hybrid-p2p verify -k keys/k.pub missing.json
65|hybrid-p2p verify -k keys/k.pub bad.json
1|hybrid-p2p fetch -k keys/loose.pub m.json -O out
66|hybrid-p2p fetch -k keys/k.pub missing.json -O out
65|hybrid-p2p fetch -k keys/k.pub --torrent empty.torrent m.json -O out
69|hybrid-p2p fetch -k keys/k.pub -g $CLOSED m.json -O out
75|hybrid-p2p fetch -k keys/k.pub --timeout 1 -g $BAD m.json -O out
69|hybrid-p2p publish data --name x --version 1 --uploader-id me --no-git -o o.json --key keys/k.pem --kubo $CLOSED
75|hybrid-p2p publish data --name x --version 1 --uploader-id me --no-git -o o.json --key keys/k.pem --timeout 1 --kubo $BAD
66|hybrid-p2p fetch -k keys/k.pub x@1.0.0 -O out --registry $PWD/reg/missing.git
66|hybrid-p2p fetch -k keys/k.pub x@1.0.0 -O out --registry file://$PWD/reg/empty.git
77|hybrid-p2p publish data --name x --version 1 --uploader-id me --no-git -o o.json --key keys/loose.pem
66|hybrid-p2p publish data --name x --version 1 --uploader-id me --no-git -o o.json --key keys/k.pem --registry $PWD/reg/missing
EOF
}

@test "hp-fetch and hybrid-p2p fetch: a run that got as far as the files prints its summary, consistent with the code" {
	# no source at all: every file failed, and the summary says so
	run_fails 69 hp-fetch -k keys/k.pub --no-manifest-gateway -g "$CLOSED" m.json -O out
	[ -n "$stderr" ]
	[ "$(tail -1 <<<"$output" | jq .summary.failed)" = 2 ]
	[ "$(tail -1 <<<"$output" | jq .summary.files)" = 2 ]
	run_fails 69 hybrid-p2p fetch -k keys/k.pub -g "$CLOSED" m.json -O out2
	[ -n "$stderr" ]
	[ "$(jq -s '[.[] | select(.summary)][0].summary.failed' <<<"$output")" = 2 ]
	# a failure before the files (a torrent that cannot be read): its line,
	# and no summary claiming nothing failed
	run_fails 65 hp-fetch -k keys/k.pub --torrent empty.torrent m.json -O out
	[[ $stderr == *"empty.torrent"* ]]
	! grep -q '"summary"' <<<"$output"
	run_fails 66 hp-fetch -k keys/k.pub --torrent missing.torrent m.json -O out
	[[ $stderr == *"missing.torrent"* ]]
	! grep -q '"summary"' <<<"$output"
}
