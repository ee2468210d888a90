#!/usr/bin/env bats
# The git registry of hybrid-p2p publish/fetch (lib/hp_git, docs/registry.md):
# real bare repositories over file:// and over smart HTTP through the real
# `git http-backend` (tests/lib/githttp.py) on 127.0.0.1, token auth,
# overwrite and rollback refusals, provenance, push races.

load helpers
load ../lib/registry

setup() {
	registry_setup
}

teardown() {
	githttp_stop
	sshd_stop
}


# the registry's branch tip, or "none"
tip() {
	git --git-dir="$1" rev-parse -q --verify refs/heads/main || echo none
}

# the JSON line of a step in $output
step() {
	jq -c "select(.step == \"$1\")" <<<"$output"
}

@test "publish over file://: the signed manifest, its .torrent and index.json are committed" {
	bare_registry reg
	run --separate-stderr publish 1.0.0 "file://$PWD/srv/reg.git"
	assert_success
	# every stdout line is a JSON object with a step
	jq -e -s 'length >= 4 and all(.[]; type == "object" and (.step | type) == "string")' <<<"$output"
	[ "$(step registry | jq -r .status)" = ok ]
	commit=$(step registry | jq -r .commit)
	[ "$commit" = "$(tip srv/reg.git)" ]
	run git --git-dir=srv/reg.git ls-tree -r --name-only main
	assert_output "index.json
manifests/ds/1.0.0.json
manifests/ds/1.0.0.torrent"
	# the bytes committed are the outputs
	cmp <(git --git-dir=srv/reg.git show main:manifests/ds/1.0.0.json) out/ds-1.0.0.json
	cmp <(git --git-dir=srv/reg.git show main:manifests/ds/1.0.0.torrent) out/ds-1.0.0.torrent
	[ "$(git --git-dir=srv/reg.git show main:index.json)" = '{
  "packages": {
    "ds": {
      "latest": "1.0.0",
      "versions": [
        "1.0.0"
      ]
    }
  },
  "registry_version": 1
}' ]
	[ "$(git --git-dir=srv/reg.git log -1 --format=%s main)" = "Publish ds 1.0.0" ]
	[ "$(git --git-dir=srv/reg.git log -1 --format=%ae main)" = tester@example.org ]
	# signed, trusted, and the distribution matches the torrent and the CAR
	hp-verify --trusted-keys keys/k.pub --content data out/ds-1.0.0.json >/dev/null
	ih=$(hp-mktorrent --show out/ds-1.0.0.torrent | jq -r .infohash_v1)
	[ "$(jq -r .distribution.torrent_infohash out/ds-1.0.0.json)" = "$ih" ]
	[[ $(jq -r .distribution.torrent_magnet out/ds-1.0.0.json) == "magnet:?xt=urn:btih:$ih"* ]]
	[ "$(hp-cid data | tail -n1 | jq -r .cid)" = "$(jq -r .distribution.ipfs_cid out/ds-1.0.0.json)" ]
	[ -s out/ds-1.0.0.car ]
}

@test "an identical re-publish is a no-op: exit 0, no new commit (also from a fresh cache)" {
	bare_registry reg
	publish 1.0.0 "file://$PWD/srv/reg.git" >/dev/null
	before=$(tip srv/reg.git)
	cp out/ds-1.0.0.json first.json
	run --separate-stderr publish 1.0.0 "file://$PWD/srv/reg.git"
	assert_success
	[ "$(step registry | jq -r .status)" = unchanged ]
	[ "$(step manifest | jq -r .status)" = unchanged ]
	[ "$(tip srv/reg.git)" = "$before" ]
	cmp first.json out/ds-1.0.0.json
	# another machine: no output file yet, an empty cache -> the registry's manifest is adopted
	rm -rf out
	run --separate-stderr publish 1.0.0 "file://$PWD/srv/reg.git" --registry-cache "$PWD/cache2"
	assert_success
	[ "$(step registry | jq -r .status)" = unchanged ]
	[ "$(step manifest | jq -r .reused_from)" = registry ]
	[ "$(tip srv/reg.git)" = "$before" ]
	cmp first.json out/ds-1.0.0.json
}

@test "a version already published with other content is refused: exit 1, nothing changed" {
	bare_registry reg
	publish 1.0.0 "file://$PWD/srv/reg.git" >/dev/null
	before=$(tip srv/reg.git)
	cp out/ds-1.0.0.json first.json
	echo changed >data/a.txt
	run_fails 1 publish 1.0.0 "file://$PWD/srv/reg.git"
	[[ $stderr == *"ds 1.0.0 is already in the registry"*"other content"* ]]
	[ "$(tip srv/reg.git)" = "$before" ]
	cmp first.json out/ds-1.0.0.json
	# a new version is fine
	publish 1.0.1 "file://$PWD/srv/reg.git" >/dev/null
	[ "$(git --git-dir=srv/reg.git show main:index.json | jq -c .packages.ds.versions)" = '["1.0.0","1.0.1"]' ]
}

@test "nothing is committed when signing fails" {
	bare_registry reg
	chmod 644 keys/k.pem
	run_fails 77 publish 1.0.0 "file://$PWD/srv/reg.git"
	[ "$(tip srv/reg.git)" = none ]
	[ ! -e out/ds-1.0.0.json ]
	[ "$(step registry)" = "" ]
	# a malformed key
	chmod 600 keys/k.pem
	echo garbage >keys/k.pem
	run_fails 65 publish 1.0.0 "file://$PWD/srv/reg.git"
	[ "$(tip srv/reg.git)" = none ]
}

@test "index.json orders versions semver-like; fetch NAME takes the newest" {
	bare_registry reg
	for v in 1.2.0 1.10.0 1.9.0 1.10.0-rc.1; do
		publish "$v" "file://$PWD/srv/reg.git" >/dev/null
	done
	run git --git-dir=srv/reg.git show main:index.json
	[ "$(jq -c .packages.ds <<<"$output")" = '{"latest":"1.10.0","versions":["1.2.0","1.9.0","1.10.0-rc.1","1.10.0"]}' ]
	[ "$(git --git-dir=srv/reg.git rev-list --count main)" = 4 ]
	# the files are already in got/: the fetch checks them and needs no peer
	cp -r data got
	run --separate-stderr timeout 60 hybrid-p2p fetch ds -O got --registry "file://$PWD/srv/reg.git" \
		--trusted-keys keys/k.pub -m got.json
	assert_success
	[ "$(step registry | jq -r .version)" = 1.10.0 ]
	[ "$(jq -r .version got.json)" = 1.10.0 ]
	[ "$(jq -s -r 'map(select(.summary)) | .[-1].summary.present' <<<"$output")" = 2 ]
}

@test "fetch: a name not in the registry is 66, an empty registry 66, no registry 64" {
	bare_registry reg
	run_fails 66 hybrid-p2p fetch ds -O got --registry "file://$PWD/srv/reg.git" --trusted-keys keys/k.pub
	[[ $stderr == *"is empty"* ]]
	publish 1.0.0 "file://$PWD/srv/reg.git" >/dev/null
	run_fails 66 hybrid-p2p fetch other -O got --registry "file://$PWD/srv/reg.git" --trusted-keys keys/k.pub
	[[ $stderr == *"'other' is not in the registry"* ]]
	run_fails 66 hybrid-p2p fetch ds@9.9.9 -O got --registry "file://$PWD/srv/reg.git" --trusted-keys keys/k.pub
	run_fails 64 hybrid-p2p fetch ds@1.0.0 -O got --trusted-keys keys/k.pub
	run_fails 64 hybrid-p2p fetch 'ds@../x' -O got --registry "file://$PWD/srv/reg.git"
	[ ! -e got ]
}

@test "a rollback is refused: a version older than the state file's, before any content" {
	bare_registry reg
	publish 1.0.0 "file://$PWD/srv/reg.git" >/dev/null
	echo v2 >data/a.txt
	publish 2.0.0 "file://$PWD/srv/reg.git" >/dev/null
	# this client has seen 2.0.0
	hp-verify --trusted-keys keys/k.pub --state state.json out/ds-2.0.0.json >/dev/null
	cp state.json state.before
	run_fails 1 timeout 60 hybrid-p2p fetch ds@1.0.0 -O got --registry "file://$PWD/srv/reg.git" \
		--trusted-keys keys/k.pub --state state.json
	[ "$(step verify | jq -r .status)" = failed ]
	[[ $stderr == *rollback* || $stderr == *older* ]]
	[ "$(step fetch)" = "" ]
	[ ! -e got ]
	cmp state.json state.before
}

@test "a manifest filed under another version in the registry is refused" {
	bare_registry reg
	publish 1.0.0 "file://$PWD/srv/reg.git" >/dev/null
	# someone with push access files the 1.0.0 manifest as 3.0.0
	git clone -q "file://$PWD/srv/reg.git" work
	cp work/manifests/ds/1.0.0.json work/manifests/ds/3.0.0.json
	git -C work add manifests/ds/3.0.0.json
	git -C work commit -q -m replay
	git -C work push -q origin main
	cp -r data got
	run_fails 1 timeout 60 hybrid-p2p fetch ds@3.0.0 -O got --registry "file://$PWD/srv/reg.git" \
		--trusted-keys keys/k.pub
	[[ $stderr == *"signed for ds@1.0.0"* ]]
}

@test "an untrusted signer is refused before any content is fetched" {
	bare_registry reg
	publish 1.0.0 "file://$PWD/srv/reg.git" >/dev/null
	hybrid-p2p keygen -O other -n stranger >/dev/null
	run_fails 1 timeout 60 hybrid-p2p fetch ds@1.0.0 -O got --registry "file://$PWD/srv/reg.git" \
		--trusted-keys other/stranger.pub
	[ "$(step fetch)" = "" ]
	[ ! -e got ]
}

@test "HTTP through git http-backend with a token from the environment; the token is never printed" {
	bare_registry reg
	export SERVER_TOKEN=tok-$RANDOM-secret
	githttp_start SERVER_TOKEN
	url=$GITHTTP_URL/reg.git
	HP_REGISTRY_TOKEN=$SERVER_TOKEN run --separate-stderr publish 1.0.0 "$url"
	assert_success
	[ "$(step registry | jq -r .status)" = ok ]
	[ "$(tip srv/reg.git)" = "$(step registry | jq -r .commit)" ]
	grep -q '^POST /reg.git/git-receive-pack 200 user=x-access-token$' "$GITHTTP_LOG"
	[[ $output != *"$SERVER_TOKEN"* && $stderr != *"$SERVER_TOKEN"* ]]
	# HP_REGISTRY_USER names the user
	HP_REGISTRY_TOKEN=$SERVER_TOKEN HP_REGISTRY_USER=alice run --separate-stderr publish 1.0.1 "$url"
	assert_success
	grep -q '^POST /reg.git/git-receive-pack 200 user=alice$' "$GITHTTP_LOG"
	# and fetch over HTTP (files in place already)
	cp -r data got
	HP_REGISTRY_TOKEN=$SERVER_TOKEN run --separate-stderr timeout 60 hybrid-p2p fetch ds@1.0.0 -O got \
		--registry "$url" --trusted-keys keys/k.pub
	assert_success
	[ "$(step registry | jq -r .version)" = 1.0.0 ]
}

@test "HTTP: a wrong token is 77 and never printed; no token is 77 naming the variable" {
	bare_registry reg
	export SERVER_TOKEN=right-token
	githttp_start SERVER_TOKEN
	url=$GITHTTP_URL/reg.git
	HP_REGISTRY_TOKEN=wrong-token-xyz run_fails 77 publish 1.0.0 "$url"
	[[ $stderr == *"refused the token in \$HP_REGISTRY_TOKEN"* ]]
	[[ $output != *wrong-token-xyz* && $stderr != *wrong-token-xyz* ]]
	[ "$(step registry | jq -r .exit)" = 77 ]
	[ "$(tip srv/reg.git)" = none ]
	run_fails 77 publish 1.0.0 "$url"
	[[ $stderr == *'set $HP_REGISTRY_TOKEN'* ]]
	HP_REGISTRY_TOKEN=wrong-token-xyz run_fails 77 hybrid-p2p fetch ds@1.0.0 -O got --registry "$url" \
		--trusted-keys keys/k.pub
	[ ! -e got ]
}

@test "a token in the registry URL is refused (64): tokens come from the environment" {
	run_fails 64 publish 1.0.0 "https://user:secret@example.org/reg.git"
	[[ $stderr == *HP_REGISTRY_TOKEN* ]]
	[[ $stderr != *secret@* ]]
	run_fails 64 hybrid-p2p fetch ds -O got --registry "https://user:secret@example.org/reg.git"
}

@test "the registry down: its step fails (69), the others are done; a re-run completes it" {
	bare_registry reg
	export SERVER_TOKEN=tok
	githttp_start SERVER_TOKEN
	url=$GITHTTP_URL/reg.git
	githttp_stop
	HP_REGISTRY_TOKEN=tok run_fails 69 publish 1.0.0 "$url"
	[ "$(step registry | jq -r .status)" = failed ]
	[ "$(step manifest | jq -r .status)" = ok ]
	[ -s out/ds-1.0.0.json ] && [ -s out/ds-1.0.0.torrent ] && [ -s out/ds-1.0.0.car ]
	cp out/ds-1.0.0.json first.json
	# the server is back (on another port)
	githttp_start SERVER_TOKEN
	HP_REGISTRY_TOKEN=tok run --separate-stderr publish 1.0.0 "$GITHTTP_URL/reg.git"
	assert_success
	[ "$(step manifest | jq -r .reused_from)" = output ]
	[ "$(step registry | jq -r .status)" = ok ]
	cmp first.json out/ds-1.0.0.json
	cmp <(git --git-dir=srv/reg.git show main:manifests/ds/1.0.0.json) first.json
}

@test "publishers racing on one registry over HTTP all land (fetch and retry on non-fast-forward)" {
	bare_registry reg
	githttp_start
	url=$GITHTTP_URL/reg.git
	publish 0.1.0 "$url" >/dev/null
	# a slow server: every push waits in pre-receive, so the publishers
	# started together all push on the same tip and all but one lose
	printf '#!/bin/sh\ncat >/dev/null\nsleep 1\n' >srv/reg.git/hooks/pre-receive
	chmod +x srv/reg.git/hooks/pre-receive
	pids=()
	for i in 1 2 3 4; do
		timeout 120 hybrid-p2p publish data --name "ds$i" --version 1.0.0 --uploader-id me@example.org \
			--key keys/k.pem --output "out$i/m.json" --registry "$url" --registry-cache "$PWD/cache$i" \
			>"race$i.out" 2>"race$i.err" &
		pids+=($!)
	done
	for i in 0 1 2 3; do
		wait "${pids[$i]}" || {
			cat "race$((i + 1)).err" >&2
			return 1
		}
	done
	[ "$(git --git-dir=srv/reg.git show main:index.json | jq -c '.packages | keys')" = '["ds","ds1","ds2","ds3","ds4"]' ]
	[ "$(git --git-dir=srv/reg.git rev-list --count main)" = 5 ]
	for i in 1 2 3 4; do
		cmp <(git --git-dir=srv/reg.git show "main:manifests/ds$i/1.0.0.json") "out$i/m.json"
	done
	# they raced: some had to fetch and push again
	jq -s -e 'map(select(.step == "registry")) | length == 4 and (map(.attempts) | max) >= 2' race*.out >/dev/null
}

@test "provenance from the work tree; a dirty tree is refused (exit 1) unless --allow-dirty" {
	bare_registry reg
	git init -q -b main proj
	mv data proj/data
	git -C proj add data
	git -C proj commit -q -m data
	head=$(git -C proj rev-parse HEAD)
	cd proj
	run --separate-stderr timeout 60 hybrid-p2p publish data --name ds --version 1.0.0 \
		--uploader-id me@example.org --key ../keys/k.pem --output manifests/ds/1.0.0.json \
		--registry "file://$SCRATCH/srv/reg.git"
	assert_success
	[ "$(jq -r .provenance.git_commit manifests/ds/1.0.0.json)" = "$head" ]
	[ "$(jq -r .provenance.git_ref manifests/ds/1.0.0.json)" = refs/heads/main ]
	# its own outputs (untracked) do not make the tree dirty on a re-run
	run --separate-stderr timeout 60 hybrid-p2p publish data --name ds --version 1.0.0 \
		--uploader-id me@example.org --key ../keys/k.pem --output manifests/ds/1.0.0.json \
		--registry "file://$SCRATCH/srv/reg.git"
	assert_success
	# nor does what a killed run left beside them (an atomic write's temporary name)
	echo x >manifests/ds/1.0.0.json.tmp-Ab12Cd
	run --separate-stderr timeout 60 hybrid-p2p publish data --name ds --version 1.0.0 \
		--uploader-id me@example.org --key ../keys/k.pem --output manifests/ds/1.0.0.json
	assert_success
	rm manifests/ds/1.0.0.json.tmp-Ab12Cd
	# a change is refused
	echo edit >>data/a.txt
	run_fails 1 timeout 60 hybrid-p2p publish data --name ds --version 1.0.1 \
		--uploader-id me@example.org --key ../keys/k.pem --output manifests/ds/1.0.1.json \
		--registry "file://$SCRATCH/srv/reg.git"
	[[ $stderr == *"uncommitted change"*"data/a.txt"*"--allow-dirty"* ]]
	[ ! -e manifests/ds/1.0.1.json ]
	# so is an untracked file
	git checkout -q data/a.txt
	echo new >data/new.txt
	run_fails 1 timeout 60 hybrid-p2p publish data --name ds --version 1.0.1 \
		--uploader-id me@example.org --key ../keys/k.pem --output manifests/ds/1.0.1.json
	run --separate-stderr timeout 60 hybrid-p2p publish data --name ds --version 1.0.1 \
		--uploader-id me@example.org --key ../keys/k.pem --output manifests/ds/1.0.1.json --allow-dirty
	assert_success
	[ "$(jq -r .provenance.git_commit manifests/ds/1.0.1.json)" = "$head" ]
	# --no-git records none
	run --separate-stderr timeout 60 hybrid-p2p publish data --name ds --version 1.0.2 \
		--uploader-id me@example.org --key ../keys/k.pem --output manifests/ds/1.0.2.json --no-git
	assert_success
	[ "$(jq -r '.provenance.git_commit // "none"' manifests/ds/1.0.2.json)" = none ]
}

@test "publish of single files and several inputs: the manifest's layout in the CAR and the torrent" {
	bare_registry reg
	echo one >one.txt
	run --separate-stderr timeout 60 hybrid-p2p publish one.txt --name single --version 1 \
		--uploader-id me@example.org --key keys/k.pem --output out/single.json --registry "file://$PWD/srv/reg.git"
	assert_success
	[ "$(hp-mktorrent --show out/single-1.torrent | jq -r .name)" = one.txt ]
	run --separate-stderr timeout 60 hybrid-p2p publish one.txt data --name multi --version 1 \
		--uploader-id me@example.org --key keys/k.pem --output out/multi.json --registry "file://$PWD/srv/reg.git"
	assert_success
	[ "$(hp-mktorrent --show out/multi-1.torrent | jq -r .name)" = multi ]
	[ "$(hp-mktorrent --show out/multi-1.torrent | jq -r .files)" = 3 ]
	# no staging folder is left behind
	[ -z "$(find out -name '.hp-*')" ]
}

@test "publish and fetch --help: usage on stdout; every option in the man page; bogus options are 64" {
	for sub in publish fetch; do
		run --separate-stderr hybrid-p2p "$sub" --help
		assert_success
		[[ $output == Usage:* ]]
		[ -z "$stderr" ]
		text=$(sed -e 's/\\-/-/g' -e 's/\\[&%]//g' -e 's/\\f[A-Z1-4]//g' "$HP_ROOT/docs/hybrid-p2p.1")
		missing=()
		for opt in $(grep -o -- '--[a-z][a-z-]*' <<<"$output" | sort -u); do
			grep -Eq -- "(^|[^a-z-])${opt}([^a-z-]|$)" <<<"$text" || missing+=("$opt")
		done
		[ ${#missing[@]} -eq 0 ] || {
			echo "docs/hybrid-p2p.1 does not document: ${missing[*]}" >&2
			return 1
		}
		run_fails 64 hybrid-p2p "$sub" --bogus-option
		[ -z "$output" ]
	done
	run_fails 64 hybrid-p2p publish data --name ds
	run_fails 64 hybrid-p2p publish data --name 'bad/name' --version 1 --uploader-id u --key k --output o
}

@test "a local registry that does not exist is 66 naming it (a mistyped path is no new registry); --create-registry makes one (branch main)" {
	run_fails 66 publish 1.0.0 "file://$PWD/new/reg.git"
	[ "$stderr" = "hybrid-p2p publish: registry: $PWD/new/reg.git: no such repository (create it with 'git init --bare $PWD/new/reg.git')" ]
	# checked before any byte is read: nothing written, nothing cached
	[ ! -e new ] && [ ! -e out ] && [ ! -e home/.cache ]
	run_fails 66 publish 1.0.0 "$PWD/new/reg.git"
	run --separate-stderr publish 1.0.0 "file://$PWD/new/reg.git" --create-registry
	assert_success
	[ -z "$stderr" ]
	[ "$(step registry | jq -r .created)" = true ]
	[ "$(git --git-dir=new/reg.git symbolic-ref HEAD)" = refs/heads/main ]
	[ "$(tip new/reg.git)" = "$(step registry | jq -r .commit)" ]
	run --separate-stderr publish 1.0.1 "file://$PWD/new/reg.git" --create-registry
	assert_success
	[ "$(step registry | jq -r .created)" = false ]
	run_fails 66 hybrid-p2p fetch ds -O got --registry "file://$PWD/missing.git" --trusted-keys keys/k.pub
	[[ $stderr == *"$PWD/missing.git: no such repository"* ]]
	[ ! -e missing.git ] && [ ! -e got ]
	# a folder that is not a git repository
	mkdir notgit
	run_fails 66 hybrid-p2p fetch ds -O got --registry "$PWD/notgit" --trusted-keys keys/k.pub
	[[ $stderr == *"$PWD/notgit: not a git repository"* ]]
}

@test "publish and fetch step lines follow schemas/hybrid-p2p.step.schema.json" {
	local checker=$HP_ROOT/.cache/venv/bin/check-jsonschema
	[ -x "$checker" ] || fail "check-jsonschema not installed (scripts/install-deps)"
	bare_registry reg
	publish 1.0.0 "file://$PWD/srv/reg.git" >pub1.out
	publish 1.0.0 "file://$PWD/srv/reg.git" >pub2.out
	echo other >data/a.txt
	publish 1.0.0 "file://$PWD/srv/reg.git" >pub3.out || true
	# the files in place already (the first content), and an untrusted key
	mkdir got
	git --git-dir=srv/reg.git show main:manifests/ds/1.0.0.json >m.json
	cp -r data/sub got/
	echo hello >got/a.txt
	timeout 60 hybrid-p2p fetch ds -O got --registry "file://$PWD/srv/reg.git" --trusted-keys keys/k.pub >fetch1.out
	hybrid-p2p keygen -O other -n s >/dev/null
	timeout 60 hybrid-p2p fetch ds -O got --registry "file://$PWD/srv/reg.git" --trusted-keys other/s.pub >fetch2.out || true
	local i=0
	while IFS= read -r line; do
		printf '%s\n' "$line" >"step$i.json"
		i=$((i + 1))
	done < <(cat pub*.out fetch*.out | jq -c 'select(.step)')
	[ "$i" -ge 10 ]
	"$checker" --schemafile "$HP_ROOT/schemas/hybrid-p2p.step.schema.json" step*.json
	echo '{"step":"registry","status":"failed"}' >bad.json
	run_fails "$checker" --schemafile "$HP_ROOT/schemas/hybrid-p2p.step.schema.json" bad.json
}

@test "a re-run reuses --output only when its signature holds" {
	timeout 60 hybrid-p2p publish data --name ds --version 1.0.0 --uploader-id me@example.org \
		--key keys/k.pem --output out/ds-1.0.0.json >/dev/null
	# a manifest edited after signing is not reused: it is signed again
	jq '.description = "edited"' out/ds-1.0.0.json >edited.json
	mv edited.json out/ds-1.0.0.json
	run --separate-stderr timeout 60 hybrid-p2p publish data --name ds --version 1.0.0 \
		--uploader-id me@example.org --key keys/k.pem --output out/ds-1.0.0.json
	assert_success
	[ "$(step manifest | jq -r .status)" = ok ]
	hp-verify --trusted-keys keys/k.pub out/ds-1.0.0.json >/dev/null
	[ "$(jq -r '.description // "none"' out/ds-1.0.0.json)" = none ]
	# an intact one is
	run --separate-stderr timeout 60 hybrid-p2p publish data --name ds --version 1.0.0 \
		--uploader-id me@example.org --key keys/k.pem --output out/ds-1.0.0.json
	assert_success
	[ "$(step manifest | jq -r .reused_from)" = output ]
}

@test "SSH through a private sshd: a key from \$HP_REGISTRY_SSH_KEY, known_hosts checked; a refused key is 77" {
	sshd_start
	# libgit2 1.5's SSH transport leaks (see the file): ASan builds only
	export LSAN_OPTIONS=${LSAN_OPTIONS:+$LSAN_OPTIONS:}suppressions=$HP_ROOT/tests/lib/lsan-libgit2-ssh.supp
	bare_registry reg
	url="ssh://$SSH_USER@127.0.0.1:$SSHD_PORT$PWD/srv/reg.git"
	unset SSH_AUTH_SOCK
	HP_REGISTRY_SSH_KEY=$SSH_KEY run --separate-stderr publish 1.0.0 "$url"
	assert_success
	[ "$(step registry | jq -r .status)" = ok ]
	[ "$(tip srv/reg.git)" = "$(step registry | jq -r .commit)" ]
	cp -r data got
	HP_REGISTRY_SSH_KEY=$SSH_KEY run --separate-stderr timeout 60 hybrid-p2p fetch ds@1.0.0 -O got \
		--registry "$url" --trusted-keys keys/k.pub --registry-cache "$PWD/c2"
	assert_success
	# a key the server does not accept; no key at all
	HP_REGISTRY_SSH_KEY=$SSH_OTHER_KEY run_fails 77 publish 1.0.1 "$url" --registry-cache "$PWD/c3"
	[[ $stderr == *'refused the SSH key in $HP_REGISTRY_SSH_KEY'* ]]
	run_fails 77 publish 1.0.1 "$url" --registry-cache "$PWD/c4"
	[[ $stderr == *'set $HP_REGISTRY_SSH_KEY or run an ssh-agent'* ]]
	# a server whose host key is not in known_hosts
	rm "$HOME/.ssh/known_hosts"
	HP_REGISTRY_SSH_KEY=$SSH_KEY run_fails 77 publish 1.0.1 "$url" --registry-cache "$PWD/c5"
	[[ $stderr == *known_hosts* ]]
	[ "$(git --git-dir=srv/reg.git rev-list --count main)" = 1 ]
}
