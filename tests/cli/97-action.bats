#!/usr/bin/env bats
# scripts/action, the script behind action.yml, run the way the GitHub runner
# runs it: INPUT_* variables, a temporary $GITHUB_OUTPUT and
# $GITHUB_STEP_SUMMARY, and a recorded event payload (tests/lib/github-events)
# for a temporary git repository with real base and head commits. Pin mode
# talks to a real kubo, and to the Pinning Service API of a real IPFS Cluster
# (tests/lib/kubo.bash, cluster.bash). The action's and the workflows' YAML is
# checked against GitHub's schemas (check-jsonschema's vendored copies).

load helpers
load ../lib/kubo
load ../lib/cluster

setup_file() {
	kubo_start || return
	cluster_start || return
	file_keys trusted stranger || return
}

teardown_file() {
	cluster_stop
	kubo_stop
}

setup() {
	setup_scratch
	unset HP_KUBO_API HP_CLUSTER_API HP_PSA_URL HP_PSA_TOKEN
	for v in $(compgen -e INPUT_); do unset "$v"; done
	VENV=$HP_ROOT/.cache/venv
	[ -x "$VENV/bin/check-jsonschema" ] || fail "no check-jsonschema in $VENV: run scripts/install-deps"
	"$VENV/bin/python" -c 'import yaml' 2>/dev/null || fail "no PyYAML in $VENV (it comes with pre-commit): run scripts/install-deps"
	need jq
	GH=$SCRATCH/gh
	mkdir -p "$GH"
	: >"$GH/output"
	: >"$GH/summary"
}

# manifest OUT VERSION [KEY|-]: a manifest of ./data (made once) for
# package ds at VERSION, signed by KEY (default: the trusted key; '-': unsigned).
manifest() {
	local out=$1 version=$2 key=${3:-$KEYS/trusted.pem}
	if [ ! -d "$SCRATCH/data" ]; then
		mkdir -p "$SCRATCH/data/sub"
		printf 'hello %s\n' "$BATS_TEST_NUMBER" >"$SCRATCH/data/a.txt"
		head -c 3000 /dev/urandom >"$SCRATCH/data/sub/b.bin"
	fi
	mkdir -p "$(dirname "$out")"
	hp-manifest create --name ds --version "$version" --uploader-id ci@example.org \
		--no-progress -o "$out" "$SCRATCH/data" || return
	[ "$key" = - ] || hp-sign manifest "$key" "$out" -o "$out"
}

# A registry repository: the base commit has two manifests, the head
# commit (a branch) adds a good one, changes a README and deletes one.
# Sets BASE and HEAD. Extra files for the head go in ./head-extra/ first.
make_repo() {
	git init -q -b main repo
	cd repo
	git config user.email ci@example.org
	git config user.name ci
	manifest manifests/ds/1.0.0.json 1.0.0
	manifest manifests/old/1.json 1.0.0
	echo registry >README.md
	git add -A && git commit -q -m base
	BASE=$(git rev-parse HEAD)
	git checkout -q -b ds-1.1.0
	manifest manifests/ds/1.1.0.json 1.1.0
	git rm -q manifests/old/1.json
	echo changed >>README.md
	if [ -d ../head-extra ]; then
		cp -r ../head-extra/. .
	fi
	git add -A && git commit -q -m head
	HEAD=$(git rev-parse HEAD)
	cd ..
}

# event NAME: the recorded payload with this repository's commits.
event() {
	sed -e "s/@BASE@/$BASE/g" -e "s/@HEAD@/$HEAD/g" "$HP_ROOT/tests/lib/github-events/$1.json" >"$GH/event.json"
	export GITHUB_EVENT_NAME=$1 GITHUB_EVENT_PATH=$GH/event.json
}

# run_action [run options] [VAR=VALUE...]: scripts/action as the runner
# starts it, in ./repo (or $WORKSPACE); sets status, output, stderr.
run_action() {
	local opts=()
	while [[ $1 == -* || $1 == '!' ]]; do
		opts+=("$1")
		shift
	done
	run "${opts[@]}" --separate-stderr env GITHUB_ACTIONS=true GITHUB_WORKSPACE="${WORKSPACE:-$SCRATCH/repo}" \
		GITHUB_OUTPUT="$GH/output" GITHUB_STEP_SUMMARY="$GH/summary" RUNNER_TEMP="$GH" \
		HP_BIN="$HP_BIN" "$@" bash "$HP_ROOT/scripts/action"
}

# gh_output NAME: a step output from $GITHUB_OUTPUT (NAME<<DELIM or NAME=VALUE).
gh_output() {
	awk -v name="$1" '
		!inside && index($0, name "<<") == 1 { delim = substr($0, length(name) + 3); inside = 1; next }
		!inside && index($0, name "=") == 1 { print substr($0, length(name) + 2); exit }
		inside && $0 == delim { exit }
		inside { print }' "$GH/output"
}

@test "(recorded event) pull_request: only the manifests the head changed, deleted ones ignored" {
	make_repo
	event pull_request
	run_action INPUT_MODE=validate
	[ "$status" -eq 0 ] || fail "exit $status: $stderr"
	[ "$(gh_output manifests)" = manifests/ds/1.1.0.json ]
	[ "$(gh_output validated)" = 1 ]
	[ "$(gh_output failed)" = 0 ]
	[[ $stderr == *"1 manifest(s) changed between ${BASE:0:12} and ${HEAD:0:12}"* ]]
	grep -qF '| manifests/ds/1.1.0.json | ✅ | valid, signature good' "$GH/summary"
	if grep -q '1.0.0.json\|old/1.json' "$GH/summary"; then fail "unchanged or deleted manifests checked"; fi
	[ -z "$output" ]
}

@test "(recorded event) a bad manifest fails with an ::error annotation naming the file; the good one passes" {
	mkdir -p head-extra/manifests/ds
	echo '{"manifest_version": "1.0", "name": 7}' >head-extra/manifests/ds/2.0.0.json
	make_repo
	event pull_request
	run_action
	[ "$status" -eq 65 ] || fail "exit $status (want 65): $stderr"
	[[ $output == *"::error file=manifests/ds/2.0.0.json,title=invalid manifest::name: must be a string, not an integer"* ]]
	[[ $output == *"::error file=manifests/ds/2.0.0.json,title=invalid manifest::'files' is required"* ]]
	if grep -q '1.1.0' <<<"$output"; then fail "the good manifest annotated: $output"; fi
	[ "$(gh_output manifests | sort | tr '\n' ' ')" = "manifests/ds/1.1.0.json manifests/ds/2.0.0.json " ]
	[ "$(gh_output validated)" = 1 ]
	[ "$(gh_output failed)" = 1 ]
	[ "$(gh_output failed-manifests)" = manifests/ds/2.0.0.json ]
	grep -qF '| manifests/ds/2.0.0.json | ❌ | invalid manifest:' "$GH/summary"
	grep -qF '| manifests/ds/1.1.0.json | ✅ |' "$GH/summary"
}

@test "(recorded event) JSON that does not parse: the annotation carries its line and column" {
	mkdir -p head-extra/manifests/ds
	printf '{\n  "name": "ds",\n  oops\n}\n' >head-extra/manifests/ds/2.0.0.json
	make_repo
	event pull_request
	run_action
	[ "$status" -eq 65 ] || fail "exit $status (want 65): $stderr"
	[[ $output =~ ::error\ file=manifests/ds/2\.0\.0\.json,line=3,col=[0-9]+,title= ]] || fail "no line/col: $output"
}

@test "(recorded event) push: the files between before and after; a new branch (before 000…) checks every manifest" {
	make_repo
	git -C repo checkout -q main
	git -C repo merge -q --ff-only ds-1.1.0
	event push
	run_action
	[ "$status" -eq 0 ] || fail "exit $status: $stderr"
	[ "$(gh_output manifests)" = manifests/ds/1.1.0.json ]

	: >"$GH/output"
	BASE=0000000000000000000000000000000000000000
	event push
	run_action
	[ "$status" -eq 0 ] || fail "exit $status: $stderr"
	[ "$(gh_output manifests | sort | tr '\n' ' ')" = "manifests/ds/1.0.0.json manifests/ds/1.1.0.json " ]
	[ "$(gh_output validated)" = 2 ]
}

@test "(recorded event) manifest-pattern: *.manifest.json anywhere counts, other JSON does not" {
	mkdir -p head-extra/pkg head-extra/conf
	manifest head-extra/pkg/tool.manifest.json 3.0.0
	echo '{"not": "a manifest"}' >head-extra/conf/settings.json
	make_repo
	event pull_request
	run_action
	[ "$status" -eq 0 ] || fail "exit $status: $stderr"
	[ "$(gh_output manifests | sort | tr '\n' ' ')" = "manifests/ds/1.1.0.json pkg/tool.manifest.json " ]

	: >"$GH/output"
	run_action INPUT_MANIFEST_PATTERN='^conf/.*\.json$'
	[ "$status" -eq 65 ]
	[[ $output == *"::error file=conf/settings.json,"* ]]
}

@test "trusted keys: the trusted signer passes, an untrusted signer fails (exit 1) with an annotation" {
	WORKSPACE=$SCRATCH
	manifest good.json 1.0.0
	manifest stranger.json 1.0.1 "$KEYS/stranger.pem"
	run_action INPUT_MANIFESTS=good.json INPUT_TRUSTED_KEYS="$KEYS/trusted.pub"
	[ "$status" -eq 0 ] || fail "exit $status: $stderr"
	key_id=$(jq -r .signature.key_id good.json)
	grep -qF "| good.json | ✅ | valid, signed by trusted key $key_id |" "$GH/summary"

	: >"$GH/output"
	run_action INPUT_MANIFESTS='*.json' INPUT_TRUSTED_KEYS="$KEYS/trusted.pub"
	[ "$status" -eq 1 ] || fail "exit $status (want 1): $stderr"
	sid=$(jq -r .signature.key_id stranger.json)
	[[ $output == "::error file=stranger.json,title=signature::the manifest is signed by key $sid, which is not among the 1 trusted keys" ]]
	[ "$(gh_output validated)" = 1 ]
	[ "$(gh_output failed-manifests)" = stranger.json ]

	# GitHub's own spelling of the input (with '-') is read too
	: >"$GH/output"
	run_action INPUT_MANIFESTS=stranger.json "INPUT_TRUSTED-KEYS=$KEYS/trusted.pub"
	[ "$status" -eq 1 ]
}

@test "signatures: unsigned passes without keys, fails with require-signature or trusted-keys; a forged one always fails" {
	WORKSPACE=$SCRATCH
	manifest unsigned.json 1.0.0 -
	run_action INPUT_MANIFESTS=unsigned.json
	[ "$status" -eq 0 ] || fail "exit $status: $stderr"
	grep -qF '| unsigned.json | ✅ | valid (unsigned) |' "$GH/summary"

	run_action INPUT_MANIFESTS=unsigned.json INPUT_REQUIRE_SIGNATURE=true
	[ "$status" -eq 65 ]
	[[ $output == *"::error file=unsigned.json,title=invalid manifest::"*signature* ]]

	run_action INPUT_MANIFESTS=unsigned.json INPUT_TRUSTED_KEYS="$KEYS/trusted.pub"
	[ "$status" -eq 65 ]

	# a signature over other bytes: bad even though nobody said which key to trust
	manifest forged.json 1.0.0
	jq -c '.description = "changed after signing"' forged.json >f.tmp && mv f.tmp forged.json
	run_action INPUT_MANIFESTS=forged.json
	[ "$status" -eq 1 ] || fail "exit $status (want 1): $stderr"
	[[ $output == "::error file=forged.json,title=signature::"* ]]
}

@test "inputs: a glob that matches nothing is exit 66, an unknown mode 64, pin without a node 64" {
	WORKSPACE=$SCRATCH
	run_action INPUT_MANIFESTS='nothing/*.json'
	[ "$status" -eq 66 ]
	[[ $stderr == "hp-action: no manifest file matches 'nothing/*.json'" ]]
	run_action INPUT_MODE=frobnicate
	[ "$status" -eq 64 ]
	manifest m.json 1.0.0
	run_action INPUT_MODE=pin INPUT_MANIFESTS=m.json
	[ "$status" -eq 64 ]
	[[ $stderr == *"mode pin needs kubo-url, cluster-url or psa-url"* ]]
	run_action INPUT_MANIFESTS=m.json INPUT_REQUIRE_SIGNATURE=maybe
	[ "$status" -eq 64 ]
	# install: only the tools' folder
	run_action INPUT_MODE=install
	[ "$status" -eq 0 ]
	[ "$(gh_output bin-dir)" = "$HP_BIN" ]
	# kubo and cluster tokens: handed to hp-pin in HP_KUBO_TOKEN and HP_CLUSTER_TOKEN, never shown
	argv_recorder "$SCRATCH/rec"
	run_action INPUT_MODE=pin INPUT_MANIFESTS=m.json INPUT_KUBO_URL="$KUBO_API" INPUT_KUBO_TOKEN=s3kr1t-kubo-token \
		INPUT_CLUSTER_URL="$CLUSTER_API" INPUT_CLUSTER_TOKEN=s3kr1t-cluster-token HP_BIN="$SCRATCH/rec"
	[ "$status" -eq 69 ] || fail "exit $status: $stderr" # m.json's content is in no kubo
	grep -q -- '/hp-pin add --kubo [^ ]* --cluster [^ ]* --kubo-token-env HP_KUBO_TOKEN --cluster-token-env HP_CLUSTER_TOKEN ' "$SCRATCH/rec/argv"
	[[ $stderr$(grep -v '^::add-mask::' <<<"$output") != *s3kr1t-* ]]
	if grep -F s3kr1t- "$SCRATCH/rec/argv" "$GH/output" "$GH/summary"; then fail "a token in an argv or an output"; fi
}

# The content of ./data in kubo's blockstore, not pinned: what a publisher's
# node would serve. Prints the root CID.
content_in_kubo() {
	hp-cid --car data.car data >/dev/null
	ipfs dag import --pin-roots=false data.car >/dev/null
	tail -n 1 < <(hp-cid data) | jq -r .cid
}

@test "(recorded event) pin mode: a real kubo pins the changed manifest's CID" {
	make_repo
	event push
	cid=$(jq -r .distribution.ipfs_cid repo/manifests/ds/1.1.0.json)
	[ "$(cd "$SCRATCH" && content_in_kubo)" = "$cid" ]
	run_fails ipfs pin ls --type=recursive "$cid"
	run_action INPUT_MODE=pin INPUT_KUBO_URL="$KUBO_API" INPUT_TRUSTED_KEYS="$KEYS/trusted.pub" INPUT_PIN_TIMEOUT=60
	[ "$status" -eq 0 ] || fail "exit $status: $stderr"
	[ "$(jq -c '[.kind, .status, .cid]' <<<"$output")" = "[\"kubo\",\"pinned\",\"$cid\"]" ]
	run ipfs pin ls --type=recursive "$cid"
	[ "$status" -eq 0 ]
	[ "$output" = "$cid recursive" ]
	[ "$(gh_output pinned-cids)" = "$cid" ]
	grep -qF "pinned $cid on 1 node(s)" "$GH/summary"
	# the pin's name is name@version
	[ "$(kubo_rpc "pin/ls?arg=$cid&names=true" | jq -r ".Keys[\"$cid\"].Name")" = ds@1.1.0 ]
}

@test "pin mode: an untrusted manifest is not pinned" {
	WORKSPACE=$SCRATCH
	manifest m.json 1.0.0 "$KEYS/stranger.pem"
	cid=$(content_in_kubo)
	run_action INPUT_MODE=pin INPUT_MANIFESTS=m.json INPUT_KUBO_URL="$KUBO_API" INPUT_TRUSTED_KEYS="$KEYS/trusted.pub"
	[ "$status" -eq 1 ]
	run_fails ipfs pin ls --type=recursive "$cid"
	[ "$(gh_output pinned-cids)" = "" ]
}

# argv_recorder DIR: DIR holds a wrapper for each tool that writes its
# command line to DIR/argv and HP_PSA_TOKEN's presence to DIR/env, then runs
# the real tool: what the tools are given can be read afterwards.
argv_recorder() {
	local d=$1 t
	mkdir -p "$d"
	for t in "$HP_BIN"/*; do
		printf '#!/bin/sh\nprintf "%%s\\n" "$0 $*" >>%q/argv\n[ -z "$HP_PSA_TOKEN" ] || echo "${0##*/} has HP_PSA_TOKEN" >>%q/env\nexec %q "$@"\n' \
			"$d" "$d" "$t" >"$d/${t##*/}"
		chmod +x "$d/${t##*/}"
	done
}

@test "(recorded event) pin mode with a Pinning Service token: pinned; the token is in no output, log, argv or trace" {
	make_repo
	event pull_request
	cid=$(jq -r .distribution.ipfs_cid repo/manifests/ds/1.1.0.json)
	(cd "$SCRATCH" && content_in_kubo) >/dev/null
	token=$(cluster_pinsvc_token)
	[ ${#token} -gt 20 ]
	argv_recorder "$SCRATCH/rec"
	# SHELLOPTS=xtrace: the step's shell traces, and so would the script
	run_action INPUT_MODE=pin INPUT_PSA_URL="$CLUSTER_PINSVC" INPUT_PSA_TOKEN="$token" \
		HP_BIN="$SCRATCH/rec" SHELLOPTS=xtrace
	[ "$status" -eq 0 ] || fail "exit $status: $stderr"
	[ "$(jq -c '[.kind, .status, .cid]' <<<"$(grep -v '^::' <<<"$output")")" = "[\"psa\",\"pinned\",\"$cid\"]" ]
	cluster_ctl pin ls "$cid" | grep -q "$cid"
	# the runner is asked to mask it, and that line is the only place it is
	[ "$(grep -cF -- "$token" <<<"$output")" = 1 ]
	grep -qxF -- "::add-mask::$token" <<<"$output"
	[[ $stderr != *"$token"* ]] || fail "token in stderr"
	if grep -F -- "$token" "$GH/output" "$GH/summary" "$SCRATCH/rec/argv"; then fail "token in an output or an argv"; fi
	grep -qx 'hp-pin has HP_PSA_TOKEN' "$SCRATCH/rec/env"
	if grep -v '^hp-pin ' "$SCRATCH/rec/env"; then fail "another tool got the token"; fi
	grep -q '^.*/hp-pin add --psa http://127.0.0.1:[0-9]* --psa-token-env HP_PSA_TOKEN --name ds@1.1.0 ' "$SCRATCH/rec/argv"
	# the trace did run (so the check above means something) and stopped early
	[[ $stderr == *"+ set -euo pipefail"* ]]

	# a refused token: exit 77, the node named, the token still nowhere
	run_action INPUT_MODE=pin INPUT_PSA_URL="$CLUSTER_PINSVC" INPUT_PSA_TOKEN="not-$token"
	[ "$status" -eq 77 ] || fail "exit $status (want 77): $stderr"
	[[ $output == *"::error file=manifests/ds/1.1.0.json,title=hp-pin::psa $CLUSTER_PINSVC"* ]]
	[ "$(grep -cF -- "$token" <<<"$output")" = 1 ]
	[[ $stderr != *"$token"* ]]
	if grep -F -- "$token" "$GH/output" "$GH/summary"; then fail "token in an output"; fi
}

@test "publish mode: hybrid-p2p publish with the key as a secret: signed, pinned on a real kubo, committed to a file:// registry; the key and passphrase in no output" {
	git init -q -b main repo
	cd repo
	git config user.email ci@example.org
	git config user.name ci
	mkdir data
	printf 'release notes\n' >data/NOTES.txt
	head -c 5000 /dev/urandom >data/payload.bin
	git add data && git commit -q -m content
	cd ..
	git init -q --bare registry.git
	key=$(<"$KEYS/trusted.pem")
	body=$(sed -n 2p "$KEYS/trusted.pem")
	# an ASan build: libgit2 1.5.1's own leak is not ours (tests/lib/libgit2.lsan.supp)
	export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$HP_ROOT/tests/lib/libgit2.lsan.supp}
	run_action INPUT_MODE=publish INPUT_FILES=data INPUT_NAME=ds INPUT_VERSION=1.0.0 INPUT_UPLOADER_ID=ci@example.org \
		INPUT_SIGNING_KEY="$key" INPUT_REGISTRY="file://$SCRATCH/registry.git" INPUT_KUBO_URL="$KUBO_API" \
		XDG_CACHE_HOME="$SCRATCH/cache"
	[ "$status" -eq 0 ] || fail "exit $status: $stderr"
	aout=$output aerr=$stderr
	m=repo/manifests/ds/1.0.0.json
	[ "$(gh_output manifest)" = manifests/ds/1.0.0.json ]
	cid=$(jq -r .distribution.ipfs_cid "$m")
	[ "$(gh_output cid)" = "$cid" ]
	[ "$(gh_output infohash)" = "$(jq -r .distribution.torrent_infohash "$m")" ]
	[ -s "repo/$(gh_output car)" ] && [ -s "repo/$(gh_output torrent)" ]
	[[ $(gh_output magnet) == magnet:\?* ]]
	# signed by the trusted key, the git provenance of the work tree
	run hp-verify --trusted-keys "$KEYS/trusted.pub" --content repo/data "$m"
	[ "$status" -eq 0 ] || fail "$output"
	[ "$(jq -r .provenance.git_commit "$m")" = "$(git -C repo rev-parse HEAD)" ]
	# in the registry, as the commit the output names
	[ "$(gh_output registry-commit)" = "$(git -C registry.git rev-parse main)" ]
	cmp <(git -C registry.git show main:manifests/ds/1.0.0.json) "$m"
	# pinned on kubo
	run ipfs pin ls --type=recursive "$cid"
	[ "$status" -eq 0 ] && [[ $output == "$cid recursive"* ]]
	grep -qF '| registry file://' "$GH/summary"
	# the key: masked line by line, never printed, its file gone
	grep -qxF -- "::add-mask::$body" <<<"$aout"
	[ "$(grep -cF -- "$body" <<<"$aout")" = 1 ]
	[[ $aerr != *"$body"* ]]
	if grep -F -- "$body" "$GH/output" "$GH/summary"; then fail "key in an output"; fi
	[ -z "$(find "$GH" -name '*.pem')" ]

	# an encrypted key and its passphrase; the work tree is dirty now
	[ "$(HP_PASSPHRASE=correct-horse-battery hp-sign keygen -O "$SCRATCH/enc" -n k | jq .encrypted)" = true ]
	: >"$GH/output"
	run_action INPUT_MODE=publish INPUT_FILES=data INPUT_NAME=ds INPUT_VERSION=1.0.1 INPUT_UPLOADER_ID=ci@example.org \
		INPUT_SIGNING_KEY="$(<"$SCRATCH/enc/k.pem")" INPUT_SIGNING_KEY_PASSPHRASE=correct-horse-battery XDG_CACHE_HOME="$SCRATCH/cache"
	[ "$status" -eq 1 ] || fail "exit $status (want 1, dirty tree): $stderr"
	[[ $output == *"::error file=manifests/ds/1.0.1.json,title=hybrid-p2p publish::"*"uncommitted"* ]] || fail "$output"
	run_action INPUT_MODE=publish INPUT_FILES=data INPUT_NAME=ds INPUT_VERSION=1.0.1 INPUT_UPLOADER_ID=ci@example.org \
		INPUT_SIGNING_KEY="$(<"$SCRATCH/enc/k.pem")" INPUT_SIGNING_KEY_PASSPHRASE=correct-horse-battery \
		INPUT_ALLOW_DIRTY=true XDG_CACHE_HOME="$SCRATCH/cache"
	[ "$status" -eq 0 ] || fail "exit $status: $stderr"
	[ "$(grep -cF correct-horse-battery <<<"$output")" = 1 ] # the ::add-mask:: line
	grep -qxF '::add-mask::correct-horse-battery' <<<"$output"
	[[ $stderr != *correct-horse-battery* ]]
	if grep -F correct-horse-battery "$GH/output" "$GH/summary"; then fail "passphrase in an output"; fi
	run hp-verify --trusted-keys "$SCRATCH/enc/k.pub" repo/manifests/ds/1.0.1.json
	[ "$status" -eq 0 ] || fail "$output"
}

@test "publish mode: missing inputs are exit 64" {
	WORKSPACE=$SCRATCH
	run_action INPUT_MODE=publish INPUT_FILES=data INPUT_NAME=ds
	[ "$status" -eq 64 ]
	[[ $stderr == *"publish needs the inputs name and version"* ]]
	run_action INPUT_MODE=publish INPUT_FILES=data INPUT_NAME=ds INPUT_VERSION=1 INPUT_UPLOADER_ID=me
	[ "$status" -eq 64 ]
	[[ $stderr == *"publish needs the input signing-key (a secret) or signing-key-file"* ]]
}

# run_workflow NAME JOB EVENT-NAME [runner args...]: .github/workflows/NAME.yml's
# JOB run here by tests/lib/run-workflow.py on ./repo, with the event in
# $GH/event.json; sets status and output (the job's masked log).
run_workflow() {
	local wf=$1 job=$2 ev=$3
	shift 3
	run "$VENV/bin/python" "$HP_ROOT/tests/lib/run-workflow.py" --workflow "$HP_ROOT/.github/workflows/$wf.yml" \
		--job "$job" --workspace "$SCRATCH/repo" --action-root "$HP_ROOT" --hp-bin "$HP_BIN" \
		--event-name "$ev" --event "$GH/event.json" "$@"
}

@test "(recorded event) validate-manifests.yml run here: an untrusted manifest in the pull request fails the job, the Report step still runs" {
	mkdir -p head-extra/keys
	cp "$KEYS/trusted.pub" head-extra/keys/trusted.pub
	manifest head-extra/manifests/ds/9.0.0.json 9.0.0 "$KEYS/stranger.pem"
	make_repo
	event pull_request
	run_workflow validate-manifests validate pull_request
	[ "$status" -eq 1 ] || fail "job status $status: $output"
	[[ $output == *"::error file=manifests/ds/9.0.0.json,title=signature::the manifest is signed by key"* ]] || fail "$output"
	[[ $output == *"##[step] Validate the changed manifests: exit 1"* ]]
	[[ $output == *"1 manifest(s) valid, 1 failed"* ]] || fail "$output"
	[[ $output == *"##[step] Report: exit 0"* ]]
	[[ $output == *"| manifests/ds/1.1.0.json | ✅ |"* ]]

	# without the stranger's manifest the job passes
	git -C repo rm -q manifests/ds/9.0.0.json
	git -C repo commit -q -m 'drop 9.0.0'
	HEAD=$(git -C repo rev-parse HEAD)
	event pull_request
	run_workflow validate-manifests validate pull_request
	[ "$status" -eq 0 ] || fail "job status $status: $output"
	[[ $output == *"1 manifest(s) valid, 0 failed"* ]] || fail "$output"
}

@test "(recorded event) pin-on-merge.yml run here: a push to main pins on the real kubo and the cluster's Pinning Service API; the token in no line of the log" {
	mkdir -p head-extra/keys
	cp "$KEYS/trusted.pub" head-extra/keys/trusted.pub
	make_repo
	git -C repo checkout -q main
	git -C repo merge -q --ff-only ds-1.1.0
	event push
	cid=$(jq -r .distribution.ipfs_cid repo/manifests/ds/1.1.0.json)
	(cd "$SCRATCH" && content_in_kubo) >/dev/null
	token=$(cluster_pinsvc_token)
	run_workflow pin-on-merge pin push --var KUBO_API_URL="$KUBO_API" --var PINNING_SERVICE_URL="$CLUSTER_PINSVC" \
		--secret PINNING_SERVICE_TOKEN="$token"
	[ "$status" -eq 0 ] || fail "job status $status: $output"
	[[ $output != *"$token"* ]] || fail "the token is in the log"
	[[ $output == *"pinned $cid"* ]] || fail "$output"
	[ "$(grep -c '"status":"pinned"' <<<"$output")" = 2 ]
	run ipfs pin ls --type=recursive "$cid"
	[ "$status" -eq 0 ]
	cluster_ctl pin ls "$cid" | grep -q "$cid"
}

@test "(mock GitHub API) release-assets.yml run here: the CAR and the manifest's torrent are made, checked and attached with gh" {
	need gh openssl
	git init -q -b main repo
	mkdir -p repo/content/docs repo/keys
	printf 'read me\n' >repo/content/README
	head -c 200000 /dev/urandom >repo/content/docs/data.bin
	cp "$KEYS/trusted.pub" repo/keys/trusted.pub
	hybrid-p2p publish repo/content --name ds --version 1.0.0 --uploader-id ci@example.org --key "$KEYS/trusted.pem" \
		--output repo/manifests/ds/1.0.0.json --car "$SCRATCH/pub.car" --torrent "$SCRATCH/pub.torrent" --no-git >/dev/null
	m=repo/manifests/ds/1.0.0.json
	git -C repo add -A && git -C repo -c user.name=ci -c user.email=ci@example.org commit -q -m 'ds 1.0.0'
	sed -e 's/@TAG@/v1.0.0/g' -e 's/@NAME@/ds/g' "$HP_ROOT/tests/lib/github-events/release.json" >"$GH/event.json"

	# the mock API over HTTPS with a certificate made here
	api=$SCRATCH/api
	mkdir -p "$api/uploads"
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$api/key.pem" \
		-out "$api/cert.pem" -days 1 -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 2>/dev/null
	tok=ghs_releaseassetsmocktoken00000000000
	python3 "$HP_ROOT/tests/lib/github-api.py" --cert "$api/cert.pem" --key "$api/key.pem" --port-file "$api/port" \
		--log "$api/log" --uploads "$api/uploads" --repo octo-org/ds --tag v1.0.0 --token "$tok" \
		--parent $$ --lifetime 120 </dev/null >"$api/out" 2>&1 3>&- &
	port=$(wait_for $! 100 cat "$api/port") || fail "github-api.py did not start: $(cat "$api/out")"
	ghenv=(env GH_HOST="127.0.0.1:$port" GH_ENTERPRISE_TOKEN="$tok" SSL_CERT_FILE="$api/cert.pem"
		GH_NO_UPDATE_NOTIFIER=1 GH_PROMPT_DISABLED=1 HOME="$SCRATCH/home")

	run "${ghenv[@]}" timeout 120 "$VENV/bin/python" "$HP_ROOT/tests/lib/run-workflow.py" \
		--workflow "$HP_ROOT/.github/workflows/release-assets.yml" --job assets --workspace "$SCRATCH/repo" \
		--action-root "$HP_ROOT" --hp-bin "$HP_BIN" --event-name release --event "$GH/event.json" --token "$tok"
	[ "$status" -eq 0 ] || fail "job status $status: $output; API log: $(cat "$api/log")"
	[[ $output != *"$tok"* ]]
	# the uploads are the files the job made, and they are right: the CAR is
	# what hybrid-p2p publish wrote (same root, same blocks), the torrent is
	# the manifest's canonical torrent
	ls "$api/uploads" | sort >names
	[ "$(cat names | tr '\n' ' ')" = "ds-1.0.0.car ds-1.0.0.torrent " ]
	cmp "$api/uploads/ds-1.0.0.car" repo/dist/ds-1.0.0.car
	cmp "$api/uploads/ds-1.0.0.car" "$SCRATCH/pub.car"
	[ "$(hp-mktorrent --show "$api/uploads/ds-1.0.0.torrent" | jq -r .infohash_v1)" = "$(jq -r .distribution.torrent_infohash "$m")" ]
	cmp "$api/uploads/ds-1.0.0.torrent" "$SCRATCH/pub.torrent"
	[ "$(jq -s '[.[] | select(.auth_ok | not)] | length' "$api/log")" = 0 ]
	[ "$(jq -s '[.[] | select(.method == "POST" and (.path | startswith("/api/uploads/")))] | length' "$api/log")" = 2 ]

	# a second run replaces them (--clobber)
	run "${ghenv[@]}" timeout 120 "$VENV/bin/python" "$HP_ROOT/tests/lib/run-workflow.py" \
		--workflow "$HP_ROOT/.github/workflows/release-assets.yml" --job assets --workspace "$SCRATCH/repo" \
		--action-root "$HP_ROOT" --hp-bin "$HP_BIN" --event-name release --event "$GH/event.json" --token "$tok"
	[ "$status" -eq 0 ] || fail "job status $status: $output"
	[ "$(jq -s '[.[] | select(.method == "DELETE")] | length' "$api/log")" = 2 ]

	# content that is not what the manifest says: the job stops before uploading
	flip_byte repo/content/docs/data.bin 1000
	: >"$api/log"
	run "${ghenv[@]}" timeout 120 "$VENV/bin/python" "$HP_ROOT/tests/lib/run-workflow.py" \
		--workflow "$HP_ROOT/.github/workflows/release-assets.yml" --job assets --workspace "$SCRATCH/repo" \
		--action-root "$HP_ROOT" --hp-bin "$HP_BIN" --event-name release --event "$GH/event.json" --token "$tok"
	[ "$status" -eq 1 ]
	[[ $output == *"##[step] Check the content against it: exit 1"* ]] || fail "$output"
	[[ $output == *"##[step] Attach them to the release: skipped"* ]]
	[ ! -s "$api/log" ]
}

@test "action.yml and the workflows are valid against GitHub's schemas, with the expected keys" {
	cd "$HP_ROOT"
	run "$VENV/bin/check-jsonschema" --builtin-schema vendor.github-actions action.yml
	[ "$status" -eq 0 ] || fail "$output"
	run "$VENV/bin/check-jsonschema" --builtin-schema vendor.github-workflows .github/workflows/*.yml
	[ "$status" -eq 0 ] || fail "$output"
	for w in ci validate-manifests pin-on-merge release-assets; do
		[ -f ".github/workflows/$w.yml" ] || fail "no .github/workflows/$w.yml"
	done
	run "$VENV/bin/python" - <<-'EOF'
		import yaml
		a = yaml.safe_load(open("action.yml"))
		assert a["runs"]["using"] == "composite"
		for i in ("mode", "manifests", "trusted-keys", "kubo-url", "kubo-token", "cluster-url",
		          "cluster-token", "psa-url", "psa-token", "signing-key"):
		    assert i in a["inputs"], i
		assert a["inputs"]["mode"]["default"] == "validate"
		steps = a["runs"]["steps"]
		runs = "\n".join(s.get("run", "") for s in steps)
		assert "install-deps\" --build-only" in runs
		assert "scripts/action" in steps[-1]["run"]
		assert any(s.get("uses", "").startswith("actions/cache@") for s in steps)
		# the build is skipped on a cache hit
		build = [s for s in steps if "make -C" in s.get("run", "")][0]
		assert "cache-hit" in build["if"]
		for o in ("validated", "failed", "pinned-cids", "manifest", "cid"):
		    assert o in a["outputs"], o

		def wf(n):
		    w = yaml.safe_load(open(".github/workflows/%s.yml" % n))
		    return w, w[True]  # YAML 1.1 reads the key `on` as true
		w, on = wf("validate-manifests")
		assert "pull_request" in on
		steps = w["jobs"]["validate"]["steps"]
		assert steps[0]["with"]["fetch-depth"] == 0
		assert [s for s in steps if s.get("uses") == "./"][0]["with"]["mode"] == "validate"
		w, on = wf("pin-on-merge")
		assert on["push"]["branches"] == ["main"]
		pin = [s for s in w["jobs"]["pin"]["steps"] if s.get("uses") == "./"][0]["with"]
		assert pin["mode"] == "pin" and pin["psa-token"] == "${{ secrets.PINNING_SERVICE_TOKEN }}"
		w, on = wf("release-assets")
		assert on["release"]["types"] == ["published"]
		assert w["permissions"]["contents"] == "write"
		runs = "\n".join(s.get("run", "") for s in w["jobs"]["assets"]["steps"])
		assert "gh release upload" in runs and "--car" in runs and "hp-mktorrent" in runs
		w, on = wf("ci")
		j = w["jobs"]["test"]
		assert j["container"]["image"] == "debian:12"
		go = [s for s in j["steps"] if s.get("uses", "").startswith("actions/setup-go@")][0]
		assert go["with"]["go-version-file"] == "scripts/kubo/go.mod"
		caches = [s for s in j["steps"] if s.get("uses", "").startswith("actions/cache@")]
		assert any("scripts/*/go.sum" in c["with"]["key"] and c["with"]["path"] == ".cache/bin" for c in caches)
		assert j["steps"][-1]["run"] == "bash .ci/run"
		print("ok")
	EOF
	[ "$status" -eq 0 ] || fail "$output"
	# the Go version setup-go reads is one the kubo and cluster modules accept
	go_line=$(sed -n 's/^go //p' scripts/kubo/go.mod)
	[[ $go_line == 1.26* ]]
	[[ $(sed -n 's/^go //p' scripts/cluster/go.mod) == 1.26* ]]
}

@test "action.yml's cache key is the hash of the sources: the same twice, another after any change" {
	mkdir src
	cp -r "$HP_ROOT/Makefile" "$HP_ROOT/lib" "$HP_ROOT/cmd" "$HP_ROOT/schemas" src/
	"$VENV/bin/python" -c '
import sys, yaml
steps = yaml.safe_load(open(sys.argv[1]))["runs"]["steps"]
print([s for s in steps if s.get("id") == "key"][0]["run"])' "$HP_ROOT/action.yml" >key.sh
	key() {
		: >"$GH/output"
		GITHUB_ACTION_PATH=$SCRATCH/src GITHUB_OUTPUT=$GH/output bash --noprofile --norc -eo pipefail key.sh
		gh_output key
	}
	run grep -c '^key=hybrid-p2p-tools-[0-9a-f]\{32\}$' < <(key >/dev/null; cat "$GH/output")
	[ "$output" = 1 ]
	k1=$(key)
	[ "$(key)" = "$k1" ]
	[ -n "$k1" ]
	[ "$(gh_output bin-dir)" = "$SCRATCH/src/build/bin" ]
	echo '/* changed */' >>src/lib/hp_err.c
	[ "$(key)" != "$k1" ]
}

@test "every input of action.yml reaches scripts/action, under the INPUT_ name it reads" {
	cd "$HP_ROOT"
	run "$VENV/bin/python" - <<-'EOF'
		import re, yaml
		a = yaml.safe_load(open("action.yml"))
		env = a["runs"]["steps"][-1]["env"]
		script = open("scripts/action").read()
		for name, spec in a["inputs"].items():
		    var = "INPUT_" + name.upper().replace("-", "_")
		    assert env.get(var) == "${{ inputs.%s }}" % name, "action.yml does not pass %s as %s" % (name, var)
		    assert re.search(r"\b(input|take_secret) %s\b" % re.escape(name), script), "scripts/action never reads " + name
		    assert var in script, "scripts/action's header does not list " + var
		extra = [v for v in env if v.startswith("INPUT_") and v[6:].lower().replace("_", "-") not in a["inputs"]]
		assert not extra, extra
		# the default pattern is the same in both
		m = re.search(r"pattern=\$\(input manifest-pattern '([^']*)'\)", script)
		assert m and m.group(1) == a["inputs"]["manifest-pattern"]["default"], "manifest-pattern defaults differ"
		# every secret is taken (and masked) by take_secret
		for name in a["inputs"]:
		    if name.endswith("token") or name.startswith("signing-key") and name != "signing-key-file":
		        assert "take_secret " + name in script, name + " is not handled as a secret"
		print("ok")
	EOF
	[ "$status" -eq 0 ] || fail "$output"
}
