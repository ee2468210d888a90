#!/usr/bin/env bats
# hybrid-p2p in one process (issue 9): each symptom of the old fork/exec glue,
# as a user meets it, with the behaviour that replaced it.

load helpers
load ../lib/registry

setup() {
	setup_scratch
	export HOME=$SCRATCH/home
	mkdir -p "$HOME"
	unset HP_REGISTRY HP_REGISTRY_TOKEN HP_REGISTRY_CACHE HP_TRUSTED_KEYS XDG_CACHE_HOME HP_PASSPHRASE
	mkdir data
	echo hello >data/a.txt
	head -c 300000 /dev/urandom >data/b.bin
	hybrid-p2p keygen -O keys -n k >/dev/null
}

# strace_run OUT ARGS...: strace -f ARGS into OUT (LeakSanitizer cannot run
# under ptrace: leak checks off for this run in the ASan build)
strace_run() {
	local out=$1
	shift
	ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" strace -f -o "$out" "$@"
}

# publish_ds ARGS...: publish ./data as ds@1 to out/ds.json
publish_ds() {
	timeout 60 hybrid-p2p publish data --name ds --version 1 --uploader-id me --no-git -o out/ds.json "$@"
}

@test "a public key given as the signing key: refused at once (65), nothing read or written" {
	run_fails 65 publish_ds --key keys/k.pub --registry "file://$PWD/srv/reg.git"
	[[ $stderr == *"keys/k.pub"* ]]
	# no step ran: no record, no CAR, no .torrent, no manifest, no registry
	[ -z "$output" ]
	[ ! -e out ] || [ -z "$(ls -A out)" ]
	[ ! -e srv/reg.git ]
}

@test "a key readable by others: 77 before anything is read; an encrypted key without its passphrase: 64" {
	chmod 0644 keys/k.pem
	run_fails 77 publish_ds --key keys/k.pem
	[[ $stderr == *"0644"* ]]
	[ -z "$output" ]
	chmod 0600 keys/k.pem
	printf 'secret\n' >pass
	hybrid-p2p keygen -O keys -n enc --passphrase-file pass >/dev/null
	run_fails 64 publish_ds --key keys/enc.pem </dev/null
	[[ $stderr == *"passphrase"* ]]
	[ -z "$output" ]
	run --separate-stderr publish_ds --key keys/enc.pem --passphrase-file pass
	assert_success
	[ "$(jq -r 'select(.step == "manifest") | .status' <<<"$output")" = ok ]
}

@test "a destination URL that cannot be one, a registry URL with a password: refused before the read" {
	run_fails 64 publish_ds --key keys/k.pem --kubo 'ftp://x'
	[[ $stderr == *"--kubo"* ]]
	[ -z "$output" ]
	run_fails 64 publish_ds --key keys/k.pem --registry 'https://u:secret@example.org/r.git'
	[[ $stderr == *"password"* ]]
	[ -z "$output" ]
}

@test "--seed with files from two folders: refused before the read, naming both" {
	mkdir other && echo x >other/c.txt
	run_fails 64 timeout 60 hybrid-p2p publish data/a.txt other/c.txt --name ds --version 1 --uploader-id me \
		--no-git -o out/ds.json --key keys/k.pem --seed
	[[ $stderr == *"data/a.txt"*"other/c.txt"* ]]
	[ -z "$output" ]
}

@test "--no-car: no CAR made, the car step says skipped; pinning on kubo then is refused as a usage error" {
	run --separate-stderr publish_ds --key keys/k.pem --no-car
	assert_success
	[ "$(jq -r 'select(.step == "car") | .status' <<<"$output")" = skipped ]
	[ ! -e out/ds-1.car ] && [ -f out/ds-1.torrent ] && [ -f out/ds.json ]
	run_fails 64 publish_ds --key keys/k.pem --no-car --kubo http://127.0.0.1:9
	[[ $stderr == *"--no-car"* ]]
}

@test "--json-errors reaches every step: a failed pin is one JSON error object, not text" {
	run_fails 69 publish_ds --key keys/k.pem --kubo http://127.0.0.1:9 --json-errors
	local line
	while IFS= read -r line; do
		jq -e 'type == "object" and .tool == "hybrid-p2p publish" and .level == "error" and (.exit_code | type) == "number"' \
			<<<"$line" >/dev/null || fail "not a JSON error: $line"
	done <<<"$stderr"
	[ "$(jq -s -r 'map(select(.step == "pin"))[0].exit' <<<"$output")" = 69 ]
}

@test "--version and --help work for every command; each help has its own real defaults" {
	local s
	# (publish's --version is the package's, as hp-manifest create's; its --help says so)
	run hybrid-p2p publish --help
	[[ $output == *"--version here is the package's"* ]]
	for s in keygen fetch verify; do
		run --separate-stderr hybrid-p2p "$s" --version
		assert_success
		assert_output --regexp "^hybrid-p2p $s \\(hybrid-p2p\\) [0-9]"
	done
	run hybrid-p2p keygen --help
	[[ $output == *"~/.hybrid_p2p/keys"* && $output == *"mykey"* && $output != *"hp-sign"* ]]
	run hybrid-p2p verify --help
	[[ $output == *"~/.hybrid_p2p/trusted_keys"* && $output == "Usage: hybrid-p2p verify"* ]]
}

@test "a verification failure exits with the library's code and says why once; the fetch reads the manifest once" {
	publish_ds --key keys/k.pem >/dev/null
	hybrid-p2p keygen -O keys -n other >/dev/null
	run_fails 1 hybrid-p2p fetch out/ds.json -O got -k keys/other.pub --gateway http://127.0.0.1:9
	[ "$stderr" = "hybrid-p2p fetch: out/ds.json: $(jq -r .problems[0].message <<<"$(jq -c 'select(.step == "verify") | .report' <<<"$output")")" ]
	[[ $stderr == *"not among the 1 trusted keys"* ]]
	[ "$(jq -r 'select(.step == "verify") | .status' <<<"$output")" = failed ]
	[ ! -e got ]
	# strace: the manifest is opened once (it was three times: hp-verify, then two hp-fetch passes)
	need strace
	strace_run trace.txt -e trace=openat hybrid-p2p fetch out/ds.json -O got2 -k keys/k.pub \
		--gateway http://127.0.0.1:9 --timeout 1 >/dev/null 2>&1 || true
	[ "$(grep -c '"out/ds.json"' trace.txt)" -eq 1 ]
}

@test "no fork/exec anywhere: publish and fetch run no other program" {
	need strace
	strace_run trace.txt -e trace=execve hybrid-p2p publish data --name ds --version 1 --uploader-id me --no-git \
		-o out/ds.json --key keys/k.pem --registry "file://$PWD/srv/reg.git" --create-registry >/dev/null
	[ "$(grep -c 'execve(' trace.txt)" -eq 1 ]
	strace_run trace2.txt -e trace=execve hybrid-p2p fetch ds@1 -O got --registry "file://$PWD/srv/reg.git" \
		-k keys/k.pub --gateway http://127.0.0.1:9 --timeout 1 >/dev/null 2>&1 || true
	[ "$(grep -c 'execve(' trace2.txt)" -eq 1 ]
}
