#!/usr/bin/env bats
# hp-manifest: create (from a directory, from hp-hash records), -o atomic
# output, reproducibility, canonical bytes against an independent JCS,
# validate/show/canonical exit codes and output, usage errors.

load helpers

CORPUS=$HP_ROOT/tests/manifests
TS=2026-01-01T00:00:00Z

setup() {
	setup_scratch
	mkdir -p tree/sub/deeper tree/a-b
	printf 'hello\n' >tree/a.txt
	printf 'Hi there, plain text.\n' >tree/B.txt
	printf 'x' >tree/sub/one.bin
	: >tree/sub/deeper/empty
	head -c 100000 /dev/urandom >tree/a-b/random.bin
	printf 'inside\n' >tree/a-b/c
}

# An independent RFC 8785 serialisation. Python's sorted compact output is
# exactly JCS here because manifests hold only integers (RFC 8785 writes
# numbers as ECMAScript does: 1.0 -> 1, 1e21 -> 1e+21, where Python keeps 1.0
# and 1e+21) and ASCII member names (JCS sorts by UTF-16 code units, Python by
# code points; the two differ only past U+FFFF).
pyjcs() {
	python3 -c '
import json, sys
m = json.load(open(sys.argv[1], encoding="utf-8"))
m.pop("signature", None)
sys.stdout.write(json.dumps(m, sort_keys=True, separators=(",", ":"), ensure_ascii=False))
' "$1"
}

# content_id_ok FILE: its content_id is the SHA-256 of its files' RFC 8785
# form, as Python writes it (pyjcs's caveats above hold)
content_id_ok() {
	local cid
	cid=$(python3 -c '
import json, sys, hashlib
f = json.load(open(sys.argv[1]))["files"]
print(hashlib.sha256(json.dumps(f, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()).hexdigest())' "$1")
	jq -e --arg c "$cid" '.content_id == $c' "$1"
}

@test "create from a directory: relative paths, bytewise order, sizes and sha256 as sha256sum sees them" {
	run --separate-stderr hp-manifest create --name demo --version 1.0 --timestamp "$TS" tree
	assert_success
	assert_equal "$stderr" ''
	echo "$output" >m.json
	# the files under tree/, relative to it, sorted by their bytes
	(cd tree && find . -type f | sed 's|^\./||' | LC_ALL=C sort) >want.paths
	jq -r '.files[].path' m.json >got.paths
	diff want.paths got.paths
	[ "$(head -n 1 got.paths)" = B.txt ] # upper case first, bytewise
	local p
	while IFS= read -r p; do
		jq -e --arg p "$p" --arg sha "$(sha256sum "tree/$p" | cut -d' ' -f1)" \
			--argjson size "$(stat -c %s "tree/$p")" \
			'.files[] | select(.path == $p) | .sha256 == $sha and .size == $size' m.json
	done <want.paths
	jq -e --argjson t "$(cat tree/a.txt tree/B.txt tree/sub/one.bin tree/a-b/random.bin tree/a-b/c | wc -c)" \
		'.total_size == $t' m.json
	jq -e '.manifest_version == "1.0" and .name == "demo" and .version == "1.0"' m.json
	jq -e --arg ts "$TS" '.provenance == {timestamp: $ts}' m.json
	jq -e '(.files[] | select(.path == "a.txt") | .mime_type) == "text/plain"' m.json
	jq -e '(.files[] | select(.path == "B.txt") | .mime_type) == "text/plain"' m.json
	jq -e 'has("signature") | not' m.json
	content_id_ok m.json
	run hp-manifest validate m.json
	assert_success
}

@test "create: names that JSON escapes (a quote) and non-ASCII names: written as jansson writes them, the content id over RFC 8785" {
	mkdir q
	printf 1 >'q/a"b'
	printf 2 >"q/$(printf 'caf\xc3\xa9 x')"
	printf 3 >q/plain
	run --separate-stderr hp-manifest create --name q --version 1 --timestamp "$TS" -o m.json -C q .
	assert_success
	grep -F '"path": "a\"b"' m.json
	grep -F "\"path\": \"$(printf 'caf\xc3\xa9 x')\"" m.json
	# the whole text is jq's own two-space indentation of the same document
	diff <(jq --indent 2 . m.json) m.json
	content_id_ok m.json
	run hp-manifest validate m.json
	assert_success
}

@test "create: -C DIR and files named one by one" {
	run --separate-stderr hp-manifest create --name demo --version 1 --timestamp "$TS" -C tree a.txt sub
	assert_success
	# a file by its name, a directory's files relative to the directory
	assert_equal "$(jq -r '[.files[].path] | join(",")' <<<"$output")" "a.txt,deeper/empty,one.bin"
	run --separate-stderr hp-manifest create --name demo --version 1 --timestamp "$TS" --directory tree .
	assert_success
	assert_equal "$(jq '.files | length' <<<"$output")" 6
}

@test "create: every meta option lands in its member" {
	run --separate-stderr hp-manifest create --name demo --version 2.0.0-rc.1 --description 'A demo.' \
		--uploader-id bot@example.org --timestamp "$TS" --expires 2030-01-01T00:00:00Z \
		--git-commit 0123456789abcdef0123456789abcdef01234567 --git-ref refs/tags/v2 \
		--ipfs-gateway https://ipfs.example.org/ --web-seed https://a.example/ --web-seed http://b.example/ \
		--pinning-node n1 --pinning-node n2 --no-mime tree
	assert_success
	echo "$output" >m.json
	jq -e '.description == "A demo." and .expires == "2030-01-01T00:00:00Z"' m.json
	jq -e '.provenance == {uploader_id: "bot@example.org", timestamp: "2026-01-01T00:00:00Z",
		git_commit: "0123456789abcdef0123456789abcdef01234567", git_ref: "refs/tags/v2"}' m.json
	jq -e '.distribution | del(.ipfs_cid, .torrent_infohash, .torrent_infohash_v2, .torrent_magnet) |
		del(.web_seeds[2]) == {ipfs_gateway: "https://ipfs.example.org/", ipfs_import: "unixfs-v1-2025",
		web_seeds: ["https://a.example/", "http://b.example/"], pinning_nodes: ["n1", "n2"]}' m.json
	# the third web seed is the IPFS one: the gateway, then a wrapper directory
	[[ $(jq -r '.distribution.web_seeds[2]' m.json) == https://ipfs.example.org/ipfs/bafy*/ ]]
	[[ $(jq -r .distribution.torrent_magnet m.json) == "magnet:?xt=urn:btih:$(jq -r .distribution.torrent_infohash m.json)&"* ]]
	[ "$(jq -r .distribution.ipfs_cid m.json)" = "$(hp-cid tree | tail -n 1 | jq -r .cid)" ]
	jq -e '[.files[] | has("mime_type")] | any | not' m.json
	hp-manifest validate m.json
}

@test "create from hp-hash records on stdin gives the files of create from the directory, minus MIME types" {
	hp-hash -C tree . >records
	run --separate-stderr hp-manifest create --name x --version 1 --timestamp "$TS" - <records
	assert_success
	assert_equal "$stderr" ''
	echo "$output" >from-records.json
	hp-manifest create --name x --version 1 --timestamp "$TS" --no-cid tree >from-dir.json
	diff <(jq -S '.files | map(del(.mime_type))' from-dir.json) <(jq -S .files from-records.json)
	jq -e '[.files[] | has("mime_type")] | any | not' from-records.json
	# and byte for byte what --no-mime makes
	hp-manifest create --name x --version 1 --timestamp "$TS" --no-mime --no-cid --no-torrent tree >no-mime.json
	cmp no-mime.json from-records.json
	# records in any order: create sorts them
	tac records | hp-manifest create --name x --version 1 --timestamp "$TS" - >reversed.json
	cmp no-mime.json reversed.json
}

@test "create from records: cid and mime_type are kept, blank lines skipped, bad records refused" {
	printf '%s\n' '{"path":"b","size":1,"sha256":"2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881","mime_type":"text/plain"}' \
		'' '   ' \
		'{"path":"a","size":0,"sha256":"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855","cid":"bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"}' >recs
	run --separate-stderr hp-manifest create --name x --version 1 --timestamp "$TS" - <recs
	assert_success
	jq -e '.files[0].cid == "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku" and
		.files[1].mime_type == "text/plain" and .total_size == 1' <<<"$output"
	run_fails 65 hp-manifest create --name x --version 1 - </dev/null
	assert_output ''
	assert_equal "$stderr" 'hp-manifest: <stdin>: no hp-hash records'
	printf '{"path":"a","size":1}\n' >bad
	run_fails 65 hp-manifest create --name x --version 1 - <bad
	[[ $stderr == "hp-manifest: "*"<stdin>:1"*sha256*missing* ]]
	run_fails 64 hp-manifest create --name x --version 1 - tree
}

@test "create -o writes the file atomically; a failure leaves no file and no temporary" {
	run --separate-stderr hp-manifest create --name x --version 1 --timestamp "$TS" -o out.json tree
	assert_success
	assert_output ''
	hp-manifest create --name x --version 1 --timestamp "$TS" tree >stdout.json
	cmp out.json stdout.json
	run ls -A
	assert_output "$(printf 'out.json\nstdout.json\ntree')"
	[ "$(stat -c %a out.json)" = "$(printf '%o' $((0644 & ~$(umask))))" ]
	# over an existing file: replaced whole
	printf 'old' >old.json
	hp-manifest create --name x --version 2 --timestamp "$TS" -o old.json tree
	jq -e '.version == "2"' old.json
	# failures: missing input, bad input, bad flag -- nothing written
	run_fails 66 hp-manifest create --name x --version 1 -o new.json missing
	assert_equal "$stderr" "hp-manifest: cannot open 'missing': No such file or directory"
	run_fails 65 hp-manifest create --name 'bad name' --version 1 -o new.json tree
	run_fails 64 hp-manifest create --name x --version 1 --expires never -o new.json tree
	run_fails 73 hp-manifest create --name x --version 1 -o no/such/dir/new.json tree
	run_fails 73 hp-manifest create --name x --version 1 -o tree tree
	run ls -A
	assert_output "$(printf 'old.json\nout.json\nstdout.json\ntree')"
	run ls -A tree
	assert_output "$(printf 'B.txt\na-b\na.txt\nsub')"
	# the existing file is untouched by a failed run
	run_fails 65 hp-manifest create --name 'bad name' --version 1 -o old.json tree
	jq -e '.version == "2"' old.json
}

@test "SOURCE_DATE_EPOCH makes the output reproducible byte for byte" {
	SOURCE_DATE_EPOCH=1767225600 hp-manifest create --name x --version 1 tree >a.json
	sleep 1
	touch tree/a.txt
	SOURCE_DATE_EPOCH=1767225600 hp-manifest create --name x --version 1 -j 1 tree >b.json
	cmp a.json b.json
	jq -e '.provenance.timestamp == "2026-01-01T00:00:00Z"' a.json
	# --timestamp wins over it
	SOURCE_DATE_EPOCH=0 hp-manifest create --name x --version 1 --timestamp 2026-05-05T05:05:05Z tree >c.json
	jq -e '.provenance.timestamp == "2026-05-05T05:05:05Z"' c.json
	SOURCE_DATE_EPOCH=0 hp-manifest create --name x --version 1 tree >d.json
	jq -e '.provenance.timestamp == "1970-01-01T00:00:00Z"' d.json
	# without either, now
	hp-manifest create --name x --version 1 tree >e.json
	local now
	now=$(date -u +%s)
	local ts
	ts=$(date -u -d "$(jq -r .provenance.timestamp e.json)" +%s)
	((ts <= now && ts >= now - 60))
	local bad
	for bad in abc 1.5 -1 12abc 253402300800 99999999999999999999; do
		SOURCE_DATE_EPOCH=$bad run_fails 64 hp-manifest create --name x --version 1 tree
		assert_output ''
		[[ $stderr == "hp-manifest: SOURCE_DATE_EPOCH '$bad' "* ]]
	done
}

@test "--expires and --timestamp must be RFC 3339 UTC times" {
	local t
	for t in 2030-01-01T00:00:00Z 2030-01-01T00:00:00.5Z 2028-02-29T23:59:59Z; do
		run --separate-stderr hp-manifest create --name x --version 1 --expires "$t" tree
		assert_success
		jq -e --arg t "$t" '.expires == $t' <<<"$output"
	done
	for t in 2030-01-01 2030-01-01T00:00:00 2030-01-01T00:00:00+01:00 2030-01-01t00:00:00z \
		2030-02-29T00:00:00Z 2030-13-01T00:00:00Z '' tomorrow 1767225600; do
		run_fails 64 hp-manifest create --name x --version 1 --expires "$t" tree
		assert_output ''
		assert_equal "${stderr_lines[0]}" "hp-manifest: '$t' is not an RFC 3339 UTC time such as 2026-01-31T12:00:00Z"
		run_fails 64 hp-manifest create --name x --version 1 --timestamp "$t" tree
	done
}

@test "canonical equals an independent JCS (Python, sorted keys, no whitespace) for every valid manifest" {
	local f
	hp-manifest create --name x --version 1 --description $'Caf\u00e9 "quoted" \\ back\ttab' tree >made.json
	for f in "$CORPUS"/valid/*.json made.json; do
		run --separate-stderr hp-manifest canonical "$f"
		assert_success
		assert_equal "$stderr" ''
		pyjcs "$f" >want
		# ($output drops trailing newlines: compare the real bytes)
		hp-manifest canonical "$f" | cmp - want
	done
	# no trailing newline, no signature
	hp-manifest canonical "$CORPUS/valid/signed.json" >c
	[ "$(tail -c 1 c | od -An -c | tr -d ' ')" = '}' ]
	! grep -q '"signature"' c
	# the signed manifest and its unsigned original have the same canonical bytes
	hp-manifest canonical "$CORPUS/valid/full-unsigned.json" | cmp - c
	# from stdin
	hp-manifest canonical - <"$CORPUS/valid/signed.json" | cmp - c
}

@test "canonical refuses what validate refuses" {
	run_fails 65 hp-manifest canonical "$CORPUS/invalid-semantic/unsorted.json"
	assert_output ''
	[[ $stderr == "hp-manifest: $CORPUS/invalid-semantic/unsorted.json: files[1].path: "* ]]
	run_fails 66 hp-manifest canonical missing.json
	assert_output ''
	run_fails 64 hp-manifest canonical a.json b.json
	run_fails 64 hp-manifest canonical
}

@test "validate: exit 0 quietly, 65 on a bad manifest, 66 on a missing one, the worst wins" {
	local good=$CORPUS/valid/minimal.json bad=$CORPUS/invalid-schema/name-space.json
	run --separate-stderr hp-manifest validate "$good"
	assert_success
	assert_output ''
	assert_equal "$stderr" ''
	run_fails 65 hp-manifest validate "$good" "$bad" "$good"
	assert_output ''
	assert_equal "$stderr" "hp-manifest: $bad: name: 'my demo' is not a name of 1-128 letters, digits, '.', '_' or '-', starting with a letter or digit"
	run_fails 66 hp-manifest validate "$bad" missing.json
	assert_equal "$(printf '%s\n' "$stderr" | wc -l)" 2
	[[ $stderr == *"hp-manifest: cannot open 'missing.json': No such file or directory"* ]]
	run_fails 65 hp-manifest validate - <"$bad"
	[[ $stderr == "hp-manifest: <stdin>: name: "* ]]
	run hp-manifest validate - <"$good"
	assert_success
}

@test "validate --require-signature and --json" {
	run_fails 65 hp-manifest validate --require-signature "$CORPUS/valid/minimal.json"
	assert_equal "$stderr" "hp-manifest: $CORPUS/valid/minimal.json: 'signature' is required"
	run hp-manifest validate --require-signature "$CORPUS/valid/signed.json"
	assert_success
	run --separate-stderr hp-manifest validate --json "$CORPUS/valid/minimal.json" "$CORPUS/invalid-semantic/duplicate.json" missing.json
	assert_equal "$status" 66
	assert_equal "${#lines[@]}" 3
	jq -e '.valid and .problems == [] and (.manifest | endswith("valid/minimal.json"))' <<<"${lines[0]}"
	jq -e '(.valid | not) and .problems == [{where: "files[2].path", message: "duplicate path '"'b'"'"}]' <<<"${lines[1]}"
	jq -e '(.valid | not) and .manifest == "missing.json" and (.problems[0].message | contains("No such file"))' <<<"${lines[2]}"
}

@test "show: a text summary, and --json" {
	run --separate-stderr hp-manifest show "$CORPUS/valid/signed.json"
	assert_success
	assert_equal "$stderr" ''
	assert_line --index 0 'hybrid-demo_1.x 2.1.0-rc.1+build.7'
	assert_line --index 1 '  A small package with every optional member.'
	assert_line --index 2 'content_id  9cd708c88eacf333f35748351b7a335d892d16dbc7fb623bdd339099a1726426'
	assert_line --index 3 'files       3, 7 B (7 bytes)'
	assert_line --index 4 'signed      by key 21fe31dfa154a261 (not verified here: use hp-verify)'
	assert_line --index 5 'expires     2030-12-31T23:59:59Z'
	assert_line --partial 'README.md  text/markdown'
	assert_line --partial 'docs/empty.txt'
	run --separate-stderr hp-manifest show "$CORPUS/valid/minimal.json"
	assert_success
	assert_line 'signed      no'
	run --separate-stderr hp-manifest show "$CORPUS/valid/max-size.json"
	assert_line 'files       1, 8.0 PiB (9007199254740991 bytes)'

	run --separate-stderr hp-manifest show --json "$CORPUS/valid/signed.json"
	assert_success
	assert_equal "${#lines[@]}" 1
	jq -e '.name == "hybrid-demo_1.x" and .version == "2.1.0-rc.1+build.7" and .files == 3 and
		.total_size == 7 and .key_id == "21fe31dfa154a261" and
		.content_id == "9cd708c88eacf333f35748351b7a335d892d16dbc7fb623bdd339099a1726426" and
		.distribution.ipfs_import == "unixfs-v1-2025"' <<<"$output"
	run hp-manifest show --json "$CORPUS/valid/minimal.json"
	jq -e '.key_id == null and .distribution == {}' <<<"$output"
	run_fails 65 hp-manifest show "$CORPUS/invalid-schema/files-empty.json"
	assert_output ''
	run_fails 65 hp-manifest show --json "$CORPUS/invalid-semantic/total-size-mismatch.json"
	assert_output ''
	run_fails 66 hp-manifest show nope.json
	assert_output ''
}

@test "--help and --version print to stdout and exit 0, everywhere" {
	local args sub
	for args in --help -h help 'create --help' 'validate -h' 'canonical --help' 'show --help'; do
		# shellcheck disable=SC2086
		run --separate-stderr hp-manifest $args
		assert_success
		assert_equal "$stderr" ''
		# the tool's help starts with create's usage line, a command's with its own
		sub=${args% *}
		[[ $sub == -* || $sub == help ]] && sub=create
		assert_line --index 0 --partial "Usage: hp-manifest $sub "
		assert_output --partial 'Exit status:'
	done
	run --separate-stderr hp-manifest --version
	assert_success
	assert_output --regexp '^hp-manifest \(hybrid-p2p\) [0-9]+\.[0-9]+'
	run --separate-stderr hp-manifest validate --version
	assert_success
	# create's --version is the package version, not the tool's
	run_fails 64 hp-manifest create --version
}

@test "create: -t is --tracker (a tier per option; the URLs of one option share it)" {
	hp-manifest create --name x --version 1 --timestamp "$TS" --no-cid \
		--tracker http://t1.example/announce,udp://t2.example:6969/announce --tracker http://t3.example/a tree >long.json
	run --separate-stderr hp-manifest create --name x --version 1 --timestamp "$TS" --no-cid \
		-t http://t1.example/announce,udp://t2.example:6969/announce -t http://t3.example/a tree
	assert_success
	assert_equal "$stderr" ''
	assert_equal "$output" "$(cat long.json)"
	jq -e '.distribution.torrent_magnet | contains("t3.example")' long.json >/dev/null
	run_fails 64 hp-manifest create --name x --version 1 -t ftp://t.example/ tree
	[[ $stderr == "hp-manifest: 'ftp://t.example/' is not a tracker URL"* ]]
}

@test "each command's --help lists every option of its table" {
	help_lists_table hp-manifest.c create_options hp-manifest create
	help_lists_table hp-manifest.c validate_options hp-manifest validate
	help_lists_table hp-manifest.c canonical_options hp-manifest canonical
	help_lists_table hp-manifest.c show_options hp-manifest show
	# the tool's own: the commands, and the options common to all of them
	run --separate-stderr hp-manifest --help
	local sub
	for sub in create validate canonical show; do
		assert_line --regexp "^  $sub  "
	done
	assert_line --regexp '^      --json-errors '
}

@test "usage errors exit 64 with the message and a hint on stderr, nothing on stdout" {
	local -a cases=(
		''
		'bogus'
		'Create'
		'create tree'
		'create --name x tree'
		'create --version 1 tree'
		'create --name x --version 1'
		'create --name x --version 1 --bogus tree'
		'create --name x --version 1 -j abc tree'
		'create --name x --version 1 -j -1 tree'
		'create --name x --version 1 -j 1025 tree'
		'create --name x --version 1 tree -o'
		'create --web-seed https://a.example/ --pinning-node n1 --version 1 tree'
		'create --web-seed https://a.example/ --name x --version 1 --expires never tree'
		'create --name x --version 1 - tree'
		'validate'
		'validate --bogus x.json'
		'validate -x x.json'
		'canonical'
		'canonical --json x.json'
		'canonical a b'
		'show'
		'show a b'
		'show --pretty x.json'
	)
	local c
	for c in "${cases[@]}"; do
		# shellcheck disable=SC2086
		run_fails 64 hp-manifest $c
		assert_output ''
		[[ $stderr == "hp-manifest: "* ]] || {
			echo "case '$c': $stderr"
			return 1
		}
		[[ $stderr == *"Try 'hp-manifest --help' for more information." ]]
		assert_equal "$(printf '%s\n' "$stderr" | wc -l)" 2
	done
	run_fails 64 hp-manifest bogus
	assert_equal "$stderr" "hp-manifest: unknown subcommand 'bogus'
Try 'hp-manifest --help' for more information."
}

@test "--json-errors: one JSON object per error on stderr" {
	run_fails 65 hp-manifest validate --json-errors "$CORPUS/invalid-schema/sha256-upper.json"
	assert_output ''
	jq -e '.tool == "hp-manifest" and .level == "error" and .exit_code == 65 and
		(.message | contains("files[0].sha256"))' <<<"$stderr"
}

@test "a full disk: create to /dev/full fails with 74" {
	[ -w /dev/full ] || fail "no /dev/full"
	run_fails 74 bash -c 'hp-manifest create --name x --version 1 tree >/dev/full'
	assert_equal "$stderr" "hp-manifest: cannot write to standard output: No space left on device"
	run_fails 74 bash -c 'hp-manifest canonical "$1" >/dev/full' - "$CORPUS/valid/minimal.json"
	run_fails 74 bash -c 'hp-manifest show "$1" >/dev/full' - "$CORPUS/valid/minimal.json"
	run_fails 74 bash -c 'hp-manifest validate --json "$1" >/dev/full' - "$CORPUS/valid/minimal.json"
}
