#!/usr/bin/env bats
# hp-hash: digests checked against sha256sum, sha1sum and openssl; order,
# paths (-C, non-UTF-8), stdin, errors and exit codes, threads.

load helpers

setup() {
	setup_scratch
}

# field NAME < one JSON record
field() {
	jq -r ".$1"
}

# Random bytes, reproducibly: random_file NAME SIZE
random_file() {
	head -c "$2" </dev/urandom >"$1"
}

@test "digests of edge sizes match sha256sum, sha1sum and openssl sha512" {
	: >empty
	printf x >one
	random_file mib $((1 << 20))
	random_file mib+1 $(((1 << 20) + 1))
	random_file mib-1 $(((1 << 20) - 1))
	random_file few $((3 * (1 << 20) + 4321))
	run --separate-stderr hp-hash --algo sha256,sha1,sha512 empty one mib mib+1 mib-1 few
	assert_success
	[ -z "$stderr" ]
	local -a lines
	mapfile -t lines <<<"$output"
	[ "${#lines[@]}" -eq 6 ]
	local i=0 f
	for f in empty one mib mib+1 mib-1 few; do
		local rec=${lines[i]}
		i=$((i + 1))
		[ "$(field path <<<"$rec")" = "$f" ]
		[ "$(field size <<<"$rec")" = "$(stat -c %s "$f")" ]
		[ "$(field sha256 <<<"$rec")" = "$(sha256sum "$f" | cut -d' ' -f1)" ]
		[ "$(field sha1 <<<"$rec")" = "$(sha1sum "$f" | cut -d' ' -f1)" ]
		[ "$(field sha512 <<<"$rec")" = "$(openssl dgst -sha512 -r "$f" | cut -d' ' -f1)" ]
	done
}

@test "the default is sha256 only; members are path, size, sha256" {
	printf 'hello\n' >f
	run --separate-stderr hp-hash f
	assert_success
	assert_output '{"path":"f","size":6,"sha256":"5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03"}'
}

@test "several algorithms in one run equal separate runs" {
	random_file a 100000
	random_file b 2000000
	hp-hash -a sha256,sha1,sha512 a b >all
	for algo in sha256 sha1 sha512; do
		hp-hash --algo "$algo" a b | jq -r ".$algo" >"one.$algo"
		jq -r ".$algo" all >"all.$algo"
		cmp "one.$algo" "all.$algo"
	done
	# the order of --algo does not matter, repeats neither
	hp-hash -a sha1,sha256,sha1,sha512 a b | cmp - all
}

@test "a directory is walked in bytewise order of whole paths" {
	mkdir -p t/a/c t/e
	for f in t/a/b t/a.b t/a- t/A t/b- t/a/c/d t/_ t/Z "t/b$(printf '\xc3\xa9')" t/a0; do
		printf '%s' "$f" >"$f"
	done
	run --separate-stderr hp-hash t
	assert_success
	# "a-" and "a.b" come before "a/b" ('-' 0x2d, '.' 0x2e < '/' 0x2f) although
	# sorting each directory's names would put the directory "a" first
	local want
	want=$(printf '%s\n' t/A t/Z t/_ t/a- t/a.b t/a/b t/a/c/d t/a0 t/b- "t/b$(printf '\xc3\xa9')")
	assert_equal "$(jq -r .path <<<"$output")" "$want"
	# and that is what `LC_ALL=C sort` says
	assert_equal "$(find t -type f | LC_ALL=C sort)" "$want"
	# each file's digest is its own
	while read -r p h; do
		[ "$(sha256sum "$p" | cut -d' ' -f1)" = "$h" ]
	done < <(jq -r '"\(.path) \(.sha256)"' <<<"$output")
}

@test "a name that is not UTF-8 is carried as base64 of its bytes" {
	mkdir d
	local name
	name=$(printf 'caf\xe9-\xff')
	printf 'latin1' >"d/$name"
	printf 'ok' >d/plain
	run --separate-stderr hp-hash d
	assert_success
	local -a lines
	mapfile -t lines <<<"$output"
	[ "${#lines[@]}" -eq 2 ]
	assert_equal "$(field path <<<"${lines[1]}")" "d/plain"
	# the path is {"bytes": base64} and decodes to the real name's bytes
	assert_equal "$(jq -r '.path | type' <<<"${lines[0]}")" "object"
	jq -r .path.bytes <<<"${lines[0]}" | base64 -d >got
	printf '%s' "d/$name" >want
	cmp got want
	assert_equal "$(field sha256 <<<"${lines[0]}")" "$(sha256sum "d/$name" | cut -d' ' -f1)"
}

@test "paths with quotes, backslashes and control characters are valid JSON" {
	mkdir d
	printf 1 >'d/a"b'
	printf 2 >'d/back\slash'
	printf 3 >"d/tab$(printf '\t')nl$(printf '\n.')"
	run --separate-stderr hp-hash d
	assert_success
	jq -e . <<<"$output" >/dev/null
	assert_equal "$(jq -r .path <<<"$output" | head -2)" "$(printf '%s\n' 'd/a"b' 'd/back\slash')"
	assert_equal "$(jq -r '.path' <<<"$output" | tail -2)" "$(printf 'd/tab\tnl\n.')"
}

@test "-C DIR . reports paths relative to DIR; -C DIR sub reports sub/..." {
	mkdir -p top/sub/deeper
	printf 1 >top/x
	printf 2 >top/sub/y
	printf 3 >top/sub/deeper/z
	run --separate-stderr hp-hash -C top .
	assert_success
	assert_equal "$(jq -r .path <<<"$output")" "$(printf '%s\n' sub/deeper/z sub/y x)"
	run --separate-stderr hp-hash --directory top sub x
	assert_success
	assert_equal "$(jq -r .path <<<"$output")" "$(printf '%s\n' sub/deeper/z sub/y x)"
	# hashes are those of the files under top
	assert_equal "$(jq -r .sha256 <<<"$output" | tail -1)" "$(sha256sum top/x | cut -d' ' -f1)"
	# a relative -C resolves from here, an absolute argument ignores -C
	run --separate-stderr hp-hash -C top "$PWD/top/x"
	assert_success
	assert_equal "$(jq -r .path <<<"$output")" "$PWD/top/x"
	run_fails 66 hp-hash -C nowhere .
	[[ $stderr == *"'nowhere'"* ]]
}

@test "'-' hashes standard input" {
	random_file in 300000
	run --separate-stderr hp-hash - <in
	assert_success
	assert_equal "$(field path <<<"$output")" "-"
	assert_equal "$(field size <<<"$output")" 300000
	assert_equal "$(field sha256 <<<"$output")" "$(sha256sum <in | cut -d' ' -f1)"
	# from a pipe too, between files, in argument order
	printf a >a
	run --separate-stderr bash -c 'cat in | hp-hash a - a'
	assert_success
	assert_equal "$(jq -r .path <<<"$output")" "$(printf '%s\n' a - a)"
	assert_equal "$(jq -r .sha256 <<<"$output" | sed -n 2p)" "$(sha256sum <in | cut -d' ' -f1)"
	run_fails 64 hp-hash - -
	[[ $stderr == *"more than once"* ]]
}

@test "a FIFO named as an argument is read as a stream" {
	run --separate-stderr bash -c 'hp-hash <(printf abc)'
	assert_success
	assert_equal "$(field sha256 <<<"$output")" "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
}

@test "a missing file: exit 66, the message names it, the other files are still hashed" {
	printf 1 >a
	printf 2 >b
	run_fails 66 hp-hash a missing-file b
	assert_equal "$(jq -r .path <<<"$output")" "$(printf '%s\n' a b)"
	assert_equal "$stderr" "hp-hash: cannot open 'missing-file': No such file or directory"
}

@test "a read error: exit 74" {
	# reading /proc/self/mem at offset 0 fails with EIO
	run_fails 74 hp-hash /proc/self/mem
	[[ $stderr == *"cannot read '/proc/self/mem'"* ]]
	[ -z "$output" ]
	# a pseudo-file whose listed size is wrong is not hashed as empty
	run_fails 74 hp-hash /proc/self/status
	[[ $stderr == *"'/proc/self/status' changed while being read"* ]]
}

@test "an unreadable file: exit 66" {
	# as an unprivileged user, since root reads every file
	local d
	d=$(mktemp -d /tmp/hp-perm.XXXXXX)
	chmod 755 "$d"
	printf secret >"$d/s"
	chmod 000 "$d/s"
	run_fails 66 setpriv --reuid=nobody --regid=nogroup --clear-groups "$HP_BIN/hp-hash" "$d/s"
	rm -rf "$d"
	[[ $stderr == *"cannot open '$d/s': Permission denied"* ]]
}

@test "an unreadable directory inside a tree: the rest is hashed, exit 66" {
	local d
	d=$(mktemp -d /tmp/hp-perm.XXXXXX)
	chmod 755 "$d"
	mkdir -p "$d/t/locked" "$d/t/ok"
	printf x >"$d/t/locked/x"
	printf y >"$d/t/ok/y"
	chmod 0 "$d/t/locked"
	run_fails 66 setpriv --reuid=nobody --regid=nogroup --clear-groups "$HP_BIN/hp-hash" "$d/t"
	rm -rf "$d"
	[[ $stderr == "hp-hash: cannot open directory '$d/t/locked': Permission denied" ]]
	[ "$(jq -r .path <<<"$output")" = "$d/t/ok/y" ]
}

@test "the first failure in output order decides the exit code" {
	run_fails 66 hp-hash missing /proc/self/mem
	run_fails 74 hp-hash /proc/self/mem /proc/self/mem
	# diagnostics come in the order of the arguments, whatever the threads do
	for j in 1 2 4; do
		run_fails 74 hp-hash --jobs "$j" /proc/self/mem missing
		assert_equal "$stderr" "$(printf '%s\n' "hp-hash: cannot read '/proc/self/mem': Input/output error" \
			"hp-hash: cannot open 'missing': No such file or directory")"
	done
	mkdir d
	printf 1 >d/a
	ln -s a d/b
	printf 2 >d/c
	run_fails 66 hp-hash --jobs 2 d missing d
	assert_equal "$stderr" "$(printf '%s\n' "hp-hash: warning: skipping symbolic link 'd/b'" \
		"hp-hash: cannot open 'missing': No such file or directory" \
		"hp-hash: warning: skipping symbolic link 'd/b'")"
	assert_equal "$(jq -r .path <<<"$output")" "$(printf '%s\n' d/a d/c d/a d/c)"
}

@test "no arguments, an unknown algorithm, bad --jobs: usage errors (64)" {
	run_fails 64 hp-hash
	[[ $stderr == *"no input files"* ]]
	run_fails 64 hp-hash --algo sha256,md5 x
	[[ $stderr == *"'md5'"* ]]
	[ -z "$output" ]
	run_fails 64 hp-hash --algo '' x
	run_fails 64 hp-hash --jobs -1 x
	run_fails 64 hp-hash --jobs many x
	run_fails 64 hp-hash --algo
}

@test "--help: every option of the table in cmd/hp-hash.c, and the common ones" {
	help_lists_table hp-hash.c hash_options hp-hash
}

@test "symbolic links inside a directory are skipped with a warning; --follow follows them" {
	mkdir -p d/sub
	printf 1 >d/f
	printf 2 >d/sub/g
	ln -s f d/link
	ln -s sub d/dirlink
	run --separate-stderr hp-hash d
	assert_success
	assert_equal "$(jq -r .path <<<"$output")" "$(printf '%s\n' d/f d/sub/g)"
	[[ $stderr == *"warning: skipping symbolic link 'd/link'"* ]]
	[[ $stderr == *"warning: skipping symbolic link 'd/dirlink'"* ]]
	run --separate-stderr hp-hash --quiet d
	assert_success
	[ -z "$stderr" ]
	run --separate-stderr hp-hash --follow d
	assert_success
	assert_equal "$(jq -r .path <<<"$output")" "$(printf '%s\n' d/dirlink/g d/f d/link d/sub/g)"
	[ -z "$stderr" ]
	# a link named on the command line is followed
	run --separate-stderr hp-hash d/link
	assert_success
	assert_equal "$(field sha256 <<<"$output")" "$(sha256sum d/f | cut -d' ' -f1)"
}

@test "special files inside a directory are skipped with a warning; empty directories print nothing" {
	mkdir -p d/empty/emptier
	mkfifo d/fifo
	printf 1 >d/f
	run --separate-stderr hp-hash d
	assert_success
	assert_equal "$(jq -r .path <<<"$output")" "d/f"
	[[ $stderr == *"warning: skipping special file 'd/fifo'"* ]]
}

@test "parallel results are identical to --jobs 1" {
	mkdir many
	for i in $(seq 1 300); do
		head -c $((i * 37)) </dev/urandom >"many/f$i"
	done
	random_file many/big 3000000
	hp-hash --jobs 1 -a sha256,sha1 many >one
	for j in 2 3 8; do
		hp-hash --jobs "$j" -a sha256,sha1 many >par
		cmp one par
	done
	hp-hash -a sha256,sha1 many | cmp - one
	[ "$(wc -l <one)" -eq 301 ]
}

@test "progress: never when stderr is not a TTY; --progress prints it on stderr" {
	random_file f 3000000
	run --separate-stderr hp-hash f
	[ -z "$stderr" ]
	run --separate-stderr hp-hash --progress f
	assert_success
	[[ $stderr == *"hp-hash: "*" of 2.9 MiB (100%)"* ]]
	# stdout is untouched
	assert_equal "$(field sha256 <<<"$output")" "$(sha256sum f | cut -d' ' -f1)"
	run --separate-stderr hp-hash --progress --quiet f
	[ -z "$stderr" ]
}

@test "records follow schemas/hp-hash.record.schema.json" {
	local checker=$HP_ROOT/.cache/venv/bin/check-jsonschema
	[ -x "$checker" ] || fail "check-jsonschema not installed (scripts/install-deps)"
	mkdir d
	printf 1 >d/a
	printf 2 >"d/$(printf '\xff')"
	hp-hash -a sha256,sha1,sha512 d - </dev/null >recs
	local i=0
	while IFS= read -r line; do
		printf '%s\n' "$line" >"rec$i.json"
		i=$((i + 1))
	done <recs
	[ "$i" -eq 3 ]
	"$checker" --schemafile "$HP_ROOT/schemas/hp-hash.record.schema.json" rec*.json
	# and the schema rejects a record without sha256 or with a bad digest
	echo '{"path":"x","size":1}' >bad1.json
	echo '{"path":"x","size":1,"sha256":"ABC"}' >bad2.json
	run_fails "$checker" --schemafile "$HP_ROOT/schemas/hp-hash.record.schema.json" bad1.json
	run_fails "$checker" --schemafile "$HP_ROOT/schemas/hp-hash.record.schema.json" bad2.json
}

@test "a full stdout is an error (74)" {
	[ -w /dev/full ] || fail "no /dev/full"
	printf 1 >a
	run_fails 74 bash -c 'hp-hash a >/dev/full'
	[[ $stderr == *"cannot write to standard output"* ]]
}
