#!/usr/bin/env bats
# The project's pre-commit hooks (.pre-commit-hooks.yaml, scripts/pre-commit-hook)
# under the real pre-commit framework (PyPI, pinned by scripts/install-deps in
# .cache/venv). The hook repository is a temporary commit of this project's
# hooks file and hook script, cloned by pre-commit from a local path; the
# repository that uses them is a temporary registry. No network: pre-commit's
# cache (PRE_COMMIT_HOME) and git's configuration live in the scratch folder,
# and git may only use the file transport.

load helpers

setup_file() {
	file_keys trusted stranger || return
}

setup() {
	setup_scratch
	PRE_COMMIT=$HP_ROOT/.cache/venv/bin/pre-commit
	[ -x "$PRE_COMMIT" ] || fail "no pre-commit in .cache/venv: run scripts/install-deps"
	[ "$("$PRE_COMMIT" --version)" = "pre-commit 4.7.0" ] ||
		fail "pre-commit is '$("$PRE_COMMIT" --version)', scripts/install-deps pins 4.7.0: run it"
	export PRE_COMMIT_HOME=$SCRATCH/pre-commit-home
	export HOME=$SCRATCH/home XDG_CONFIG_HOME=$SCRATCH/home/.config
	mkdir -p "$HOME"
	export GIT_CONFIG_NOSYSTEM=1 GIT_ALLOW_PROTOCOL=file
	export GIT_AUTHOR_NAME=ci GIT_AUTHOR_EMAIL=ci@example.org GIT_COMMITTER_NAME=ci GIT_COMMITTER_EMAIL=ci@example.org
	# anything that tried the network would hit a closed port
	export http_proxy=http://127.0.0.1:9 https_proxy=http://127.0.0.1:9 no_proxy=
	export PRE_COMMIT_COLOR=never
	hook_repo
	registry
}

# hook_repo: a git repository holding this project's hooks file and the hook
# script, as a hook repository on GitHub would; sets HOOKS and REV.
hook_repo() {
	HOOKS=$SCRATCH/hooks
	mkdir -p "$HOOKS/scripts"
	cp "$HP_ROOT/.pre-commit-hooks.yaml" "$HOOKS/"
	cp -p "$HP_ROOT/scripts/pre-commit-hook" "$HOOKS/scripts/"
	git -C "$HOOKS" init -q -b main
	git -C "$HOOKS" add -A
	git -C "$HOOKS" commit -q -m hooks
	REV=$(git -C "$HOOKS" rev-parse HEAD)
}

# registry: a repository using both hooks, with pre-commit installed as its
# git hook; the current folder.
registry() {
	git init -q -b main "$SCRATCH/registry"
	cd "$SCRATCH/registry"
	mkdir keys
	cp "$KEYS/trusted.pub" keys/trusted.pub
	cat >.pre-commit-config.yaml <<-EOF
		repos:
		  - repo: $HOOKS
		    rev: $REV
		    hooks:
		      - id: hp-manifest-validate
		      - id: hp-verify-signature
		        args: [--trusted-keys, keys/trusted.pub]
	EOF
	git add -A
	git commit -q -m 'registry: hooks' --no-verify
	run "$PRE_COMMIT" install
	[ "$status" -eq 0 ] || fail "pre-commit install: $output"
	[ -x .git/hooks/pre-commit ]
}

# manifest OUT VERSION [KEY|-]: a manifest of ../data for package ds.
manifest() {
	local out=$1 version=$2 key=${3:-$KEYS/trusted.pem}
	if [ ! -d "$SCRATCH/data" ]; then
		mkdir -p "$SCRATCH/data"
		printf 'hello %s\n' "$BATS_TEST_NUMBER" >"$SCRATCH/data/a.txt"
	fi
	mkdir -p "$(dirname "$out")"
	hp-manifest create --name ds --version "$version" --uploader-id ci@example.org \
		--no-progress -o "$out" "$SCRATCH/data" || return
	[ "$key" = - ] || hp-sign manifest "$key" "$out" -o "$out"
}

commits() {
	git rev-list --count HEAD
}

@test "pre-commit: a bad manifest blocks the commit, naming the file; fixed, it commits" {
	mkdir -p manifests/ds
	manifest manifests/ds/1.0.0.json 1.0.0
	jq '.total_size = 1' manifests/ds/1.0.0.json >x.tmp && mv x.tmp manifests/ds/1.0.0.json
	git add manifests
	run_fails 1 git commit -m 'ds 1.0.0'
	[[ $stderr$output == *"hybrid-p2p manifest (schema + semantics)"*Failed* ]] || fail "$stderr$output"
	[[ $stderr$output == *"hp-manifest: manifests/ds/1.0.0.json: "*total_size* ]] || fail "$stderr$output"
	[ "$(commits)" = 1 ]

	manifest manifests/ds/1.0.0.json 1.0.0
	git add manifests
	run --separate-stderr git commit -m 'ds 1.0.0'
	[ "$status" -eq 0 ] || fail "$stderr$output"
	[[ $stderr$output == *"hybrid-p2p manifest (schema + semantics)"*Passed* ]]
	[[ $stderr$output == *"hybrid-p2p manifest signature (trusted keys, expiry)"*Passed* ]]
	[ "$(commits)" = 2 ]
	[ "$(git show HEAD:manifests/ds/1.0.0.json | jq -r .version)" = 1.0.0 ]
}

@test "pre-commit: JSON that does not parse is blocked with its line and column" {
	mkdir -p manifests/ds
	printf '{\n  "name": "ds",\n  oops\n}\n' >manifests/ds/2.0.0.json
	git add manifests
	run_fails 1 git commit -m broken
	[[ $stderr$output =~ manifests/ds/2\.0\.0\.json.*line\ 3 ]] || fail "$stderr$output"
	[ "$(commits)" = 1 ]
}

@test "pre-commit: a manifest signed by an untrusted key is blocked by hp-verify-signature" {
	mkdir -p manifests/ds
	manifest manifests/ds/1.0.0.json 1.0.0 "$KEYS/stranger.pem"
	git add manifests
	run_fails 1 git commit -m 'ds 1.0.0 by a stranger'
	all=$stderr$output
	# well-formed: the validate hook passes, the signature hook fails
	[[ $all == *"hybrid-p2p manifest (schema + semantics)"*Passed* ]] || fail "$all"
	[[ $all == *"hybrid-p2p manifest signature (trusted keys, expiry)"*Failed* ]] || fail "$all"
	sid=$(jq -r .signature.key_id manifests/ds/1.0.0.json)
	[[ $all == *"manifests/ds/1.0.0.json: the manifest is signed by key $sid, which is not among the 1 trusted keys"* ]] || fail "$all"
	[ "$(commits)" = 1 ]

	# an unsigned one too (the signature hook wants one)
	manifest manifests/ds/1.0.0.json 1.0.0 -
	git add manifests
	run_fails 1 git commit -m 'ds 1.0.0 unsigned'
	[[ $stderr$output == *"manifests/ds/1.0.0.json: the manifest is not signed"* ]] || fail "$stderr$output"
	[ "$(commits)" = 1 ]
}

@test "pre-commit: only changed manifests are checked; other JSON and other paths are not" {
	# a bad manifest already in history (committed without the hooks)
	mkdir -p manifests/old conf
	echo '{"broken": true}' >manifests/old/1.json
	git add manifests && git commit -q --no-verify -m 'old, bad'
	# a commit that does not touch it, with JSON that is not a manifest
	echo '{"not": "a manifest"}' >conf/settings.json
	manifest release.manifest.json 1.0.0
	git add conf release.manifest.json
	run --separate-stderr git commit -m 'settings and a release manifest'
	[ "$status" -eq 0 ] || fail "$stderr$output"
	[ "$(commits)" = 3 ]
	# pre-commit run --all-files does look at it
	run --separate-stderr "$PRE_COMMIT" run --all-files
	[ "$status" -eq 1 ]
	[[ $output == *"manifests/old/1.json"* ]] || fail "$output"
	[[ $output != *"conf/settings.json"* ]] || fail "$output"
}

@test "pre-commit: without the tools the hook fails and says how to install them; without keys it says which args" {
	mkdir -p manifests/ds
	manifest manifests/ds/1.0.0.json 1.0.0
	git add manifests
	HP_BIN= PATH=/usr/bin:/bin run_fails 1 git commit -m 'no tools'
	[[ $stderr$output == *"hp-pre-commit: 'hp-manifest' not found: install the hybrid-p2p tools (make && make install), or set HP_BIN"* ]] || fail "$stderr$output"

	sed -i 's/^        args: .*$//' .pre-commit-config.yaml
	git add .pre-commit-config.yaml
	run_fails 1 git commit -m 'no keys'
	[[ $stderr$output == *"no trusted keys: add 'args: [--trusted-keys, FILE]'"* ]] || fail "$stderr$output"
	[ "$(commits)" = 1 ]
}

@test "the hooks file: both hooks, the script language, the manifest pattern action.yml uses" {
	run "$HP_ROOT/.cache/venv/bin/python" - "$HP_ROOT" <<-'EOF'
		import sys, yaml
		root = sys.argv[1]
		hooks = {h["id"]: h for h in yaml.safe_load(open(root + "/.pre-commit-hooks.yaml"))}
		assert set(hooks) == {"hp-manifest-validate", "hp-verify-signature"}, hooks
		action = yaml.safe_load(open(root + "/action.yml"))
		for h in hooks.values():
		    assert h["language"] == "script"
		    assert h["entry"].startswith("scripts/pre-commit-hook ")
		    assert h["files"] == action["inputs"]["manifest-pattern"]["default"]
		print("ok")
	EOF
	[ "$status" -eq 0 ] || fail "$output"
	# pre-commit's own check of a hooks file
	run "$PRE_COMMIT" validate-manifest "$HP_ROOT/.pre-commit-hooks.yaml"
	[ "$status" -eq 0 ] || fail "$output"
}
