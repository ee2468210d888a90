#!/usr/bin/env bats
# One vocabulary (docs/cli-conventions.md): every tool's --help read and checked
# against the others; old spellings work and warn one line; the JSON names.
load helpers

setup() {
	SCRATCH=$(mktemp -d)
	cd "$SCRATCH" || return
}

teardown() {
	rm -rf "$SCRATCH"
}

# help_files: every command's --help into help/NAME.txt, "NAME:FILE" on stdout
help_files() {
	mkdir -p help
	local t s
	for t in hp-hash hp-cid hp-mktorrent hp-verify hp-fetch hp-seed; do
		"$t" --help >"help/$t.txt" || return 1
		echo "$t:help/$t.txt"
	done
	for s in "hp-manifest create" "hp-manifest validate" "hp-manifest canonical" "hp-manifest show" \
		"hp-sign keygen" "hp-sign pubkey" "hp-sign file" "hp-sign manifest" "hp-pin add" "hp-pin status" \
		"hybrid-p2p keygen" "hybrid-p2p publish" "hybrid-p2p fetch" "hybrid-p2p verify"; do
		# shellcheck disable=SC2086
		$s --help >"help/${s// /-}.txt" || return 1
		echo "${s// /-}:help/${s// /-}.txt"
	done
}

@test "every command's --help: one long name per short option, one value name per long option, no old spelling" {
	local files
	files=$(help_files)
	[ "$(wc -l <<<"$files")" -eq 20 ]
	# shellcheck disable=SC2086
	run python3 "$HP_ROOT/tests/lib/help_options.py" $files
	assert_success
	assert_output ""
}

@test "the checker fails on a short option with two meanings, a value named two ways, an old spelling" {
	printf '  -m, --manifest FILE  a\n  -o, --output FILE  b\n' >a.txt
	printf '  -m, --save-manifest FILE  a\n  -o, --output DIR  b\n      --bt-listen IP:PORT  c\n' >b.txt
	run python3 "$HP_ROOT/tests/lib/help_options.py" one:a.txt two:b.txt
	assert_failure 1
	assert_line -- "-m means --manifest (one) and --save-manifest (two)"
	assert_line -- "--output takes 'DIR' (two) and 'FILE' (one)"
	assert_line -- "two: --help lists the old spelling --bt-listen"
}

@test "hybrid-p2p's old spellings work and warn exactly one line naming the new one" {
	run --separate-stderr hybrid-p2p keygen -o keys -n k
	assert_success
	[ -f keys/k.pem ] && [ -f keys/k.pub ]
	[ "$(wc -l <<<"$stderr")" -eq 1 ]
	[ "$stderr" = "hybrid-p2p keygen: warning: '-o' is deprecated: use '--output-dir' (the old spelling goes in a later release)" ]
	# --quiet silences the warning, not the work
	run --separate-stderr hybrid-p2p keygen --quiet -o keys -n k2
	assert_success
	[ -z "$stderr" ] && [ -f keys/k2.pem ]
	# the new spelling: no warning
	run --separate-stderr hybrid-p2p keygen -O keys -n k3
	assert_success
	[ -z "$stderr" ]
	# an old spelling of a value option, then a usage error after it: both said
	run_fails 64 hybrid-p2p fetch m.json -o got --bt-listen 127.0.0.1:0 --frob
	[[ $stderr == *"'--bt-listen' is deprecated: use '--listen'"* ]]
	[[ $stderr == *"unknown option '--frob'"* ]]
}

@test "--help of every hybrid-p2p command lists each option it accepts and none of the old spellings" {
	local s
	for s in keygen publish fetch verify; do
		run --separate-stderr hybrid-p2p "$s" --help
		assert_success
		[ -z "$stderr" ]
		[[ $output == "Usage: hybrid-p2p $s"* ]]
		[[ $output != *--bt-listen* && $output != *--seed-listen* ]]
		[[ $output == *"Common options:"* && $output == *--json-errors* ]]
	done
	run hybrid-p2p fetch --help
	[[ $output == *"-O, --output-dir DIR"* && $output == *"--listen IP:PORT"* && $output == *"--torrent FILE"* ]]
	run hybrid-p2p keygen --help
	[[ $output == *"~/.hybrid_p2p/keys"* && $output != *"default '.'"* ]]
}

@test "long options are written whole: an abbreviation is a usage error (64) naming the whole name" {
	run_fails 64 hp-fetch --output-d got m.json
	[[ $stderr == *"unknown option '--output-d' (write the whole name: '--output-dir')"* ]]
	run_fails 64 hp-hash --jso x
	[[ $stderr == *"'--jso'"*"'--json-errors'"* ]]
	# canonical has no --json; before, getopt took it for --json-errors
	run_fails 64 hp-manifest canonical --json m.json
	[[ $stderr == *"unknown option '--json'"* ]]
	# the whole name, with = or a separate value, works
	echo x >f
	run --separate-stderr hp-hash --algo=sha1 --jobs 1 --json-errors f
	assert_success
}

@test "hp-verify and hybrid-p2p verify share one option table: same options, same report" {
	hybrid-p2p keygen -O keys -n k >/dev/null
	mkdir data && echo hi >data/a.txt
	hp-manifest create --name x --version 1 --no-cid --no-torrent -o m.json data
	hp-sign manifest keys/k.pem m.json -o m.json
	local h1 h2
	h1=$(hp-verify --help | grep -E '^  (-[a-z], |    )--' | grep -v -- '--version')
	h2=$(hybrid-p2p verify --help | grep -E '^  (-[a-z], |    )--' | grep -v -- '--version')
	[ "$h1" = "$h2" ]
	run --separate-stderr hp-verify -k keys/k.pub --no-extra -c data m.json
	assert_success
	local r1=$output
	run --separate-stderr hybrid-p2p verify -k keys/k.pub --no-extra m.json data
	assert_success
	[ "$(jq -S . <<<"$r1")" = "$(jq -S . <<<"$output")" ]
}

@test "every tool's JSON: one type per member name, and an old name only beside its new one" {
	load ../lib/registry
	mkdir -p data j && echo hi >data/a.txt && head -c 70000 /dev/urandom >data/b.bin
	bare_registry reg
	hybrid-p2p keygen -O keys -n k >j/keygen.json
	hp-sign pubkey keys/k.pem >j/pubkey.json
	hp-hash data >j/hash.json
	hp-cid data >j/cid.json
	hp-mktorrent -o t.torrent data >j/mkt.json
	hybrid-p2p publish data --name ds --version 1 --uploader-id me --no-git -o out/ds.json --key keys/k.pem \
		--registry "file://$PWD/srv/reg.git" --registry-cache cache >j/publish.json
	hp-verify -k keys/k.pub -c data out/ds.json >j/verify.json
	hp-manifest validate --json out/ds.json >j/validate.json
	hp-manifest show --json out/ds.json >j/show.json
	hybrid-p2p fetch ds@1 -O got --registry "file://$PWD/srv/reg.git" --registry-cache cache2 -k keys/k.pub \
		--gateway http://127.0.0.1:9 --timeout 1 >j/fetch.json 2>/dev/null || true
	hp-fetch -k keys/k.pub -O got2 --torrent out/ds-1.torrent --timeout 1 out/ds.json >j/hp-fetch.json 2>/dev/null || true
	# every file has records (a tool that printed nothing would prove nothing)
	local f
	for f in j/*.json; do
		[ -s "$f" ] || fail "$f is empty"
	done
	run python3 "$HP_ROOT/tests/lib/json_fields.py" $(for f in j/*.json; do echo "$(basename "$f" .json):$f"; done)
	assert_success
	assert_output ""
	# the checker can fail: a name with two types, an old name alone
	echo '{"size": 3, "infohash": "ab"}' >bad1.json
	echo '{"size": "3"}' >bad2.json
	run python3 "$HP_ROOT/tests/lib/json_fields.py" one:bad1.json two:bad2.json
	assert_failure 1
	assert_line "one: 'infohash' without its new name 'infohash_v1'"
	assert_line "'size' is number (one) and string (two)"
}
