#!/usr/bin/env bats
# hp-pin against a real kubo, a real one-peer IPFS Cluster and the cluster's
# Pinning Service API (tests/lib/kubo.bash, cluster.bash), and against
# tests/lib/badserver.py for every way a node can fail: refused, hanging,
# 5xx, 429, garbage, endless answers. Everything on 127.0.0.1.
#
# Two more real nodes want a token: a kubo whose API.Authorizations has a
# "bearer:" secret (AUTH_KUBO_API, AUTH_KUBO_TOKEN) and a cluster peer whose
# REST API has basic_auth_credentials, so it takes the JWTs its POST /token
# makes (AUTH_CLUSTER_API, AUTH_CLUSTER_USER, AUTH_CLUSTER_PASSWORD). They
# are started first, so KUBO_API, CLUSTER_API & co. are the open ones.

load helpers
load ../lib/kubo
load ../lib/cluster

setup_file() {
	auth_kubo_start || return
	kubo_start || return
	auth_cluster_start || return
	cluster_start || return
}

# A secret for a test daemon, printed.
random_secret() {
	od -An -N16 -tx1 /dev/urandom | tr -d ' \n'
}

# The start-up probes of kubo.bash and cluster.bash are plain curl calls: a
# .curlrc in $CURL_HOME gives them the credentials these daemons want.
curl_home_with() { # DIR LINE: DIR/.curlrc holding LINE
	mkdir -p "$1" && printf '%s\n' "$2" >"$1/.curlrc"
}

auth_kubo_start() {
	AUTH_KUBO_TOKEN=$(random_secret)
	kubo_init || return
	ipfs config --json API.Authorizations \
		"{\"ci\": {\"AuthSecret\": \"bearer:$AUTH_KUBO_TOKEN\", \"AllowedPaths\": [\"/api/v0\"]},
		  \"idonly\": {\"AuthSecret\": \"bearer:id-$AUTH_KUBO_TOKEN\", \"AllowedPaths\": [\"/api/v0/id\"]}}" || return
	local CURL_HOME=$BATS_FILE_TMPDIR/curl-kubo
	export CURL_HOME
	curl_home_with "$CURL_HOME" "header = \"Authorization: Bearer $AUTH_KUBO_TOKEN\"" || return
	kubo_daemon || return
	AUTH_KUBO_API=$KUBO_API
	AUTH_IPFS_PATH=$IPFS_PATH
	export AUTH_KUBO_TOKEN AUTH_KUBO_API AUTH_IPFS_PATH
}

# In front of the kubo started last (the open one). IPFS Cluster reads
# CLUSTER_RESTAPI_BASICAUTHCREDENTIALS (user:password) over its service.json.
auth_cluster_start() {
	AUTH_CLUSTER_USER=hp-rest
	AUTH_CLUSTER_PASSWORD=$(random_secret)
	local CLUSTER_RESTAPI_BASICAUTHCREDENTIALS=$AUTH_CLUSTER_USER:$AUTH_CLUSTER_PASSWORD
	local CURL_HOME=$BATS_FILE_TMPDIR/curl-cluster
	export CLUSTER_RESTAPI_BASICAUTHCREDENTIALS CURL_HOME
	curl_home_with "$CURL_HOME" "user = \"$AUTH_CLUSTER_USER:$AUTH_CLUSTER_PASSWORD\"" || return
	cluster_start || return
	AUTH_CLUSTER_API=$CLUSTER_API
	export AUTH_CLUSTER_USER AUTH_CLUSTER_PASSWORD AUTH_CLUSTER_API
}

# ipfs against the kubo that wants a token
auth_ipfs() {
	IPFS_PATH=$AUTH_IPFS_PATH ipfs --api-auth "bearer:$AUTH_KUBO_TOKEN" "$@"
}

# a JWT from the cluster that wants one (POST /token with basic auth)
auth_cluster_jwt() {
	curl -fsS --max-time 10 -X POST -u "$AUTH_CLUSTER_USER:$AUTH_CLUSTER_PASSWORD" "$AUTH_CLUSTER_API/token" |
		jq -er .token
}

teardown_file() {
	cluster_stop
	kubo_stop
}

setup() {
	setup_scratch
	unset HP_KUBO_API HP_CLUSTER_API HP_PSA_URL HP_PSA_TOKEN HP_KUBO_TOKEN HP_CLUSTER_TOKEN
	BAD_PIDS=()
}

teardown() {
	badservers_stop
}

# A file added to kubo without a pin: its blocks are there, nothing pins it.
unpinned_cid() {
	printf '%s\n' "${1:-$BATS_TEST_NAME $RANDOM}" >content.txt
	ipfs add -Q --pin=false content.txt
}

# The records of $output, one JSON object per line, each checked against the schema.
check_records() {
	local checker=$HP_ROOT/.cache/venv/bin/check-jsonschema
	[ -x "$checker" ] || fail "check-jsonschema not installed (scripts/install-deps)"
	local i=0 line
	while IFS= read -r line; do
		[ -n "$line" ] || continue
		printf '%s\n' "$line" >"rec$i.json"
		i=$((i + 1))
	done <<<"$output"
	((i > 0)) || fail "no records"
	"$checker" --schemafile "$HP_ROOT/schemas/hp-pin.record.schema.json" rec*.json
}

recursively_pinned() { # CID: kubo has a recursive pin of it
	local out
	out=$(ipfs pin ls --type=recursive "$1" 2>/dev/null) && [[ $out == "$1 recursive"* ]]
}

not_pinned_in_kubo() { # CID: kubo has no recursive pin of it
	if recursively_pinned "$1"; then
		fail "$1 is pinned in kubo"
	fi
}

# a package: its manifest, and a CAR of its DAG from hp-cid
make_package() {
	mkdir -p data/sub
	printf 'hello world' >data/hello.txt
	head -c 300000 /dev/zero | tr '\0' 'p' >data/sub/big.bin
	printf '%s' "$BATS_TEST_NAME" >data/sub/name.txt
	hp-manifest create --name t --version 1 -o m.json data
	hp-cid --car pkg.car -C data . >cid.jsonl
	ROOT=$(jq -r .distribution.ipfs_cid m.json)
	[ "$ROOT" = "$(tail -n 1 cid.jsonl | jq -r .cid)" ]
}

# ---- the tool's surface -----------------------------------------------------

@test "--help, --version, a bogus option; the man page renders and documents every option" {
	run --separate-stderr hp-pin --help
	assert_success
	[[ $output == Usage:* ]]
	[ -z "$stderr" ]
	run --separate-stderr hp-pin --version
	assert_output "hp-pin (hybrid-p2p) $(sed -n 's/^VERSION[[:space:]]*:=[[:space:]]*//p' "$HP_ROOT/Makefile")"
	for sub in "" add status; do
		run_fails 64 hp-pin $sub --bogus-option
		[ -z "$output" ]
		[[ $stderr == "hp-pin: "*$'\n'"Try 'hp-pin --help' for more information." ]]
	done
	run groff -man -ww -z "$HP_ROOT/docs/hp-pin.1"
	assert_success
	assert_output ""
	local text opt
	text=$(sed -e 's/\\-/-/g' -e 's/\\[&%]//g' -e 's/\\f[A-Z1-4]//g' "$HP_ROOT/docs/hp-pin.1")
	for opt in $(hp-pin --help | grep -o -- '--[a-z][a-z-]*' | sort -u); do
		grep -Eq -- "(^|[^a-z-])${opt}([^a-z-]|$)" <<<"$text" || fail "docs/hp-pin.1 lacks $opt"
	done
}

@test "usage errors: no node, no argument, bad URL, bad numbers, --car misuse" {
	run_fails 64 hp-pin add QmZULkCELmmk5XNfCgTnCyFgAVxBRBXyDHGGMVoLFLiXEN
	[[ $stderr == *"no node to talk to"* ]]
	run_fails 64 hp-pin status --kubo "$KUBO_API"
	run_fails 64 hp-pin add --kubo ftp://127.0.0.1:1 QmZULkCELmmk5XNfCgTnCyFgAVxBRBXyDHGGMVoLFLiXEN
	[[ $stderr == *"'ftp://127.0.0.1:1' is not an http(s) URL"* ]]
	run_fails 64 hp-pin add --kubo "$KUBO_API/?x=1" QmZULkCELmmk5XNfCgTnCyFgAVxBRBXyDHGGMVoLFLiXEN
	run_fails 64 hp-pin add --cluster "$CLUSTER_API" --replication-min 0 QmZULkCELmmk5XNfCgTnCyFgAVxBRBXyDHGGMVoLFLiXEN
	run_fails 64 hp-pin add --cluster "$CLUSTER_API" --replication-min 3 --replication-max 2 QmZULkCELmmk5XNfCgTnCyFgAVxBRBXyDHGGMVoLFLiXEN
	run_fails 64 hp-pin add --kubo "$KUBO_API" --timeout 0 QmZULkCELmmk5XNfCgTnCyFgAVxBRBXyDHGGMVoLFLiXEN
	run_fails 64 hp-pin add --kubo "$KUBO_API" --timeout soon QmZULkCELmmk5XNfCgTnCyFgAVxBRBXyDHGGMVoLFLiXEN
	run_fails 64 hp-pin status --kubo "$KUBO_API" --car x.car QmZULkCELmmk5XNfCgTnCyFgAVxBRBXyDHGGMVoLFLiXEN
	run_fails 64 hp-pin add --kubo "$KUBO_API" --car x.car QmZULkCELmmk5XNfCgTnCyFgAVxBRBXyDHGGMVoLFLiXEN \
		QmQhYUvRFkxysZxgJDeVnaxFLdFgee89xbMqj6vHgTNacU
	run_fails 64 hp-pin add --kubo "$KUBO_API" --car - QmZULkCELmmk5XNfCgTnCyFgAVxBRBXyDHGGMVoLFLiXEN
	run_fails 64 hp-pin add --psa "$CLUSTER_PINSVC" --psa-token-env 'BAD-NAME' QmZULkCELmmk5XNfCgTnCyFgAVxBRBXyDHGGMVoLFLiXEN
	run_fails 64 hp-pin add --kubo "$KUBO_API" --kubo-token-env '1X' QmZULkCELmmk5XNfCgTnCyFgAVxBRBXyDHGGMVoLFLiXEN
	[[ $stderr == *"--kubo-token-env takes the name of an environment variable, not '1X'"* ]]
	run_fails 64 hp-pin add --cluster-token-env 'A=B' --cluster "$CLUSTER_API" QmZULkCELmmk5XNfCgTnCyFgAVxBRBXyDHGGMVoLFLiXEN
	run_fails 64 hp-pin frobnicate
	run_fails 64 hp-pin
}

@test "inputs: a missing manifest is 66, one without ipfs_cid 65, a broken one 65" {
	run_fails 66 hp-pin add --kubo "$KUBO_API" nope.json
	[[ $stderr == *"nope.json"* ]]
	mkdir data && printf x >data/x
	hp-manifest create --name t --version 1 --no-cid -o nocid.json data
	run_fails 65 hp-pin add --kubo "$KUBO_API" nocid.json
	[[ $stderr == *"nocid.json: the manifest has no distribution.ipfs_cid"* ]]
	printf '{"manifest_version":' >broken.json
	run_fails 65 hp-pin status --kubo "$KUBO_API" broken.json
	[ -z "$output" ]
}

# ---- kubo --------------------------------------------------------------------

@test "kubo: a manifest's content from hp-cid --car is imported and recursively pinned" {
	make_package
	not_pinned_in_kubo "$ROOT"
	run --separate-stderr hp-pin add --kubo "$KUBO_API" --car pkg.car m.json
	assert_success
	[ -z "$stderr" ]
	[ "$(jq -r .status <<<"$output")" = pinned ]
	[ "$(jq -r .cid <<<"$output")" = "$ROOT" ]
	[ "$(jq -r .node <<<"$output")" = "$KUBO_API" ]
	[ "$(jq -r .kind <<<"$output")" = kubo ]
	check_records
	recursively_pinned "$ROOT"
	# every file of the package is in kubo now, byte for byte
	[ "$(ipfs cat "$ROOT/hello.txt")" = "hello world" ]
	cmp <(ipfs cat "$ROOT/sub/big.bin") data/sub/big.bin
	# and status agrees
	run --separate-stderr hp-pin status --kubo "$KUBO_API_MADDR" m.json
	assert_success
	[ "$(jq -r .status <<<"$output")" = pinned ]
}

@test "kubo: a CAR whose root is not the manifest's ipfs_cid is exit 1 and nothing is pinned" {
	make_package
	mkdir other && printf 'something else' >other/f
	hp-cid --car other.car -C other . >other.jsonl
	local other_root
	other_root=$(tail -n 1 other.jsonl | jq -r .cid)
	run_fails 1 hp-pin add --kubo "$KUBO_API" --car other.car m.json
	[ -z "$output" ]
	[[ $stderr == *"CAR 'other.car' is rooted at $other_root, not at $ROOT"* ]]
	not_pinned_in_kubo "$other_root"
	not_pinned_in_kubo "$ROOT"
	# nor is it accepted when the node, not the CAR, names another root
	badserver wrong-root
	run_fails 1 hp-pin add --kubo "$BAD" --car pkg.car m.json
	[ "$(jq -r .status <<<"$output")" = failed ]
	[[ $(jq -r .error <<<"$output") == *"kubo reports the root bafkqaaa, not $ROOT"* ]]
	check_records
	# a CAR that is not one: 65, and a truncated one fails too
	printf 'not a car' >junk.car
	run_fails 65 hp-pin add --kubo "$KUBO_API" --car junk.car m.json
	head -c 200 pkg.car >cut.car
	run_fails hp-pin add --kubo "$KUBO_API" --car cut.car m.json
	[ -z "$output" ]
}

@test "kubo: a CID whose blocks kubo has is pinned with pin/add, under its name" {
	local cid
	cid=$(unpinned_cid)
	run --separate-stderr hp-pin add --kubo "$KUBO_API" --name "my pin+name" "$cid"
	assert_success
	[ "$(jq -r .status <<<"$output")" = pinned ]
	run ipfs pin ls --type=recursive --names "$cid"
	assert_success
	assert_output "$cid recursive my pin+name"
}

@test "kubo: content that is nowhere: the pin fails (kubo's message), exit 69" {
	local cid
	cid=$(printf 'never added %s' "$RANDOM" | ipfs add -Q --only-hash)
	run_fails 69 hp-pin add --kubo "$KUBO_API" --timeout 20 "$cid"
	[ "$(jq -r .status <<<"$output")" = failed ]
	[[ $stderr == *"'$KUBO_API/api/v0/pin/add': "*"not found locally"* ]]
	check_records
}

@test "status: one node down among two: a record for each, exit 69 naming the endpoint" {
	local cid port
	cid=$(unpinned_cid)
	ipfs pin add "$cid" >/dev/null
	port=$(free_port)
	run_fails 69 hp-pin status --kubo "$KUBO_API" --kubo "http://127.0.0.1:$port" "$cid"
	[ "${#lines[@]}" -eq 2 ]
	[ "$(jq -sc 'map([.node, .status])' <<<"$output")" = "[[\"$KUBO_API\",\"pinned\"],[\"http://127.0.0.1:$port\",\"error\"]]" ]
	[[ $stderr == "hp-pin: 'http://127.0.0.1:$port/api/v0/pin/ls': cannot connect: Connection refused" ]]
	check_records
}

@test "status: not pinned is exit 1 with a record; pinned everywhere is 0" {
	local cid
	cid=$(unpinned_cid)
	run_fails 1 hp-pin status --kubo "$KUBO_API" "$cid"
	[ "$(jq -r .status <<<"$output")" = unpinned ]
	[[ $stderr == *"$cid is not pinned"* ]]
	check_records
	ipfs pin add "$cid" >/dev/null
	HP_KUBO_API=$KUBO_API run --separate-stderr hp-pin status "$cid"
	assert_success
	[ "$(jq -r .status <<<"$output")" = pinned ]
}

# ---- IPFS Cluster ------------------------------------------------------------

@test "cluster: pinned with replication 1, and ipfs-cluster-ctl agrees" {
	local cid
	cid=$(unpinned_cid)
	run --separate-stderr hp-pin add --cluster "$CLUSTER_API" --replication-min 1 --replication-max 1 \
		--name cluster-pin --timeout 60 "$cid"
	assert_success
	[ "$(jq -c '[.kind, .status, .peers, .peers_pinned]' <<<"$output")" = '["cluster","pinned",1,1]' ]
	check_records
	run cluster_ctl --enc=json status "$cid"
	assert_success
	[ "$(jq -r '.peer_map[].status' <<<"$output")" = pinned ]
	run cluster_ctl --enc=json pin ls "$cid"
	assert_success
	[ "$(jq -c '[.replication_factor_min, .replication_factor_max, .name]' <<<"$output")" = '[1,1,"cluster-pin"]' ]
	# the cluster pinned it in its kubo
	recursively_pinned "$cid"
	run --separate-stderr hp-pin status --cluster "$CLUSTER_API" "$cid"
	assert_success
	[ "$(jq -r .status <<<"$output")" = pinned ]
}

@test "cluster: a CID nobody has fails (the cluster's error), exit 69; status says failed" {
	local cid
	cid=$(printf 'cluster never %s' "$RANDOM" | ipfs add -Q --only-hash)
	run_fails 69 hp-pin add --cluster "$CLUSTER_API" --timeout 30 "$cid"
	[ "$(jq -r .status <<<"$output")" = failed ]
	[[ $stderr == *"the cluster could not pin it"* ]]
	run_fails 1 hp-pin status --cluster "$CLUSTER_API" "$cid"
	[ "$(jq -r .status <<<"$output")" = failed ]
	check_records
}

# ---- Pinning Service API (the cluster's pinsvcapi) ----------------------------

@test "psa: bearer token from HP_PSA_TOKEN, pinned; --psa-token-env names another variable" {
	local cid token
	cid=$(unpinned_cid)
	token=$(cluster_pinsvc_token)
	HP_PSA_TOKEN=$token run --separate-stderr hp-pin add --psa "$CLUSTER_PINSVC" --name via-psa --timeout 60 "$cid"
	assert_success
	[ "$(jq -c '[.kind, .status, .requestid]' <<<"$output")" = "[\"psa\",\"pinned\",\"$cid\"]" ]
	check_records
	[[ $output != *"$token"* && $stderr != *"$token"* ]]
	recursively_pinned "$cid"
	run cluster_ctl --enc=json pin ls "$cid"
	[ "$(jq -r .name <<<"$output")" = via-psa ]
	# status, with the token in a variable of our choosing
	MY_PSA_SECRET=$token run --separate-stderr hp-pin status --psa "$CLUSTER_PINSVC" --psa-token-env MY_PSA_SECRET "$cid"
	assert_success
	[ "$(jq -r .status <<<"$output")" = pinned ]
	# a variable named but not set is a usage error, before any request
	run_fails 64 hp-pin status --psa "$CLUSTER_PINSVC" --psa-token-env NOT_SET_ANYWHERE "$cid"
	[[ $stderr == *"\$NOT_SET_ANYWHERE, which is not set"* ]]
}

@test "psa: a wrong token is a clear 401, exit 77; no token at all too" {
	local cid
	cid=$(unpinned_cid)
	HP_PSA_TOKEN=not-the-token run_fails 77 hp-pin add --psa "$CLUSTER_PINSVC" "$cid"
	[ "$(jq -r .status <<<"$output")" = error ]
	[[ $stderr == "hp-pin: '$CLUSTER_PINSVC/pins': unauthorized: invalid token (HTTP 401); the service refused the token in \$HP_PSA_TOKEN" ]]
	[[ $stderr != *not-the-token* ]]
	check_records
	run_fails 77 hp-pin status --psa "$CLUSTER_PINSVC" "$cid"
	[[ $stderr == *"no token for '$CLUSTER_PINSVC'"* ]]
	[[ $stderr == *"(HTTP 401); no token was sent (set \$HP_PSA_TOKEN)"* ]]
}

# ---- kubo and cluster nodes that want a token --------------------------------

# no_secret_in SECRET...: neither $output nor $stderr holds any of them
no_secret_in() {
	local t
	for t; do
		[[ $output != *"$t"* && $stderr != *"$t"* ]] || fail "a token is in the output: $output $stderr"
	done
}

@test "kubo with API.Authorizations: the right token from HP_KUBO_TOKEN pins (a CAR, pin/add); status agrees" {
	make_package
	HP_KUBO_TOKEN=$AUTH_KUBO_TOKEN run --separate-stderr hp-pin add --kubo "$AUTH_KUBO_API" --car pkg.car m.json
	assert_success
	[ -z "$stderr" ]
	[ "$(jq -c '[.node, .kind, .status, .cid]' <<<"$output")" = "[\"$AUTH_KUBO_API\",\"kubo\",\"pinned\",\"$ROOT\"]" ]
	check_records
	no_secret_in "$AUTH_KUBO_TOKEN"
	# that kubo holds every byte and pins the root; the open one has nothing
	[ "$(auth_ipfs pin ls --type=recursive "$ROOT")" = "$ROOT recursive" ]
	cmp <(auth_ipfs cat "$ROOT/sub/big.bin") data/sub/big.bin
	not_pinned_in_kubo "$ROOT"
	# pin/add of blocks it has, the token in a variable of our choosing
	# (given before any --kubo: for every one)
	local cid
	printf 'auth kubo %s\n' "$RANDOM" >c.txt
	cid=$(auth_ipfs add -Q --pin=false c.txt)
	MY_KUBO_SECRET=$AUTH_KUBO_TOKEN run --separate-stderr hp-pin add --kubo-token-env MY_KUBO_SECRET \
		--kubo "$AUTH_KUBO_API" --name authed "$cid"
	assert_success
	[ "$(jq -r .status <<<"$output")" = pinned ]
	[ "$(auth_ipfs pin ls --type=recursive --names "$cid")" = "$cid recursive authed" ]
	HP_KUBO_TOKEN=$AUTH_KUBO_TOKEN HP_KUBO_API=$AUTH_KUBO_API run --separate-stderr hp-pin status m.json "$cid"
	assert_success
	[ "$(jq -sc 'map(.status)' <<<"$output")" = '["pinned","pinned"]' ]
}

@test "kubo with API.Authorizations: a wrong, missing or not-allowed token is 77, and no token is ever shown" {
	local cid wrong=wrong-$RANDOM-token
	printf 'auth kubo refused %s\n' "$RANDOM" >c.txt
	cid=$(auth_ipfs add -Q --pin=false c.txt)
	HP_KUBO_TOKEN=$wrong run_fails 77 hp-pin add --kubo "$AUTH_KUBO_API" "$cid" QmQhYUvRFkxysZxgJDeVnaxFLdFgee89xbMqj6vHgTNacU
	[ "$(jq -sc 'map(.status)' <<<"$output")" = '["error","error"]' ]
	[[ $stderr == "hp-pin: '$AUTH_KUBO_API/api/v0/pin/add': HTTP 403 Forbidden: "*"Kubo RPC Access Denied"*"; kubo refused the token in \$HP_KUBO_TOKEN"$'\n'* ]]
	no_secret_in "$wrong"
	check_records
	# none at all: no warning first (a kubo mostly wants none), then the 403
	run_fails 77 hp-pin status --kubo "$AUTH_KUBO_API" "$cid"
	[[ $stderr == "hp-pin: '$AUTH_KUBO_API/api/v0/pin/ls': HTTP 403 Forbidden: "*"; no token was sent (set \$HP_KUBO_TOKEN)" ]]
	# a secret kubo knows, but not for pin/: 403 too
	K=id-$AUTH_KUBO_TOKEN run_fails 77 hp-pin add --kubo "$AUTH_KUBO_API" --kubo-token-env K "$cid"
	[[ $stderr == *"; kubo refused the token in \$K" ]]
	no_secret_in "$AUTH_KUBO_TOKEN"
	# and nothing was pinned
	run auth_ipfs pin ls --type=recursive "$cid"
	assert_failure
	# a variable named but not set: 64 before any request
	run_fails 64 hp-pin add --kubo "$AUTH_KUBO_API" --kubo-token-env NOT_SET_ANYWHERE "$cid"
	[[ $stderr == *"the token for '$AUTH_KUBO_API' comes from \$NOT_SET_ANYWHERE, which is not set or empty"* ]]
	NOT_SET_ANYWHERE= run_fails 64 hp-pin add --kubo-token-env NOT_SET_ANYWHERE --kubo "$AUTH_KUBO_API" "$cid"
}

@test "cluster with basic_auth_credentials: a JWT from its POST /token in HP_CLUSTER_TOKEN pins" {
	local cid jwt
	cid=$(unpinned_cid)
	jwt=$(auth_cluster_jwt)
	HP_CLUSTER_TOKEN=$jwt run --separate-stderr hp-pin add --cluster "$AUTH_CLUSTER_API" --replication-min 1 \
		--replication-max 1 --name jwt-pin --timeout 60 "$cid"
	assert_success
	[ -z "$stderr" ]
	[ "$(jq -c '[.node, .kind, .status, .peers, .peers_pinned]' <<<"$output")" = "[\"$AUTH_CLUSTER_API\",\"cluster\",\"pinned\",1,1]" ]
	check_records
	no_secret_in "$jwt" "$AUTH_CLUSTER_PASSWORD"
	# the cluster itself says so (asked with basic auth), and pinned it in its kubo
	run curl -fsS --max-time 10 -u "$AUTH_CLUSTER_USER:$AUTH_CLUSTER_PASSWORD" "$AUTH_CLUSTER_API/allocations/$cid"
	assert_success
	[ "$(jq -c '[.name, .replication_factor_min]' <<<"$output")" = '["jwt-pin",1]' ]
	recursively_pinned "$cid"
	# the open cluster does not know it
	run cluster_ctl --enc=json pin ls "$cid"
	refute_output --partial jwt-pin
	# status, the token named after the --cluster (for that one only)
	MY_JWT=$jwt run --separate-stderr hp-pin status --cluster "$AUTH_CLUSTER_API" --cluster-token-env MY_JWT "$cid"
	assert_success
	[ "$(jq -r .status <<<"$output")" = pinned ]
}

@test "cluster with basic_auth_credentials: a wrong or missing token is 77 naming the variable, not the token" {
	local cid jwt
	cid=$(unpinned_cid)
	jwt=$(auth_cluster_jwt)
	HP_CLUSTER_TOKEN=x$jwt run_fails 77 hp-pin add --cluster "$AUTH_CLUSTER_API" --timeout 20 "$cid"
	[ "$(jq -r .status <<<"$output")" = error ]
	[[ $stderr == "hp-pin: '$AUTH_CLUSTER_API/pins/$cid': unauthorized: invalid token (HTTP 401); the cluster refused the token in \$HP_CLUSTER_TOKEN" ]]
	no_secret_in "$jwt" "$AUTH_CLUSTER_PASSWORD"
	check_records
	run_fails 77 hp-pin status --cluster "$AUTH_CLUSTER_API" "$cid"
	[[ $stderr == "hp-pin: '$AUTH_CLUSTER_API/pins/$cid': unauthorized: no auth provided (HTTP 401); no token was sent (set \$HP_CLUSTER_TOKEN)" ]]
	# the token of another cluster's variable is not sent to this one
	T=$jwt run_fails 77 hp-pin status --cluster "$CLUSTER_API" --cluster-token-env T --cluster "$AUTH_CLUSTER_API" "$cid"
	[ "$(jq -sc 'map([.node, .status])' <<<"$output")" = "[[\"$CLUSTER_API\",\"unpinned\"],[\"$AUTH_CLUSTER_API\",\"error\"]]" ]
	# nothing was pinned by the refused add
	run curl -sS --max-time 10 -o /dev/null -w '%{http_code}' -u "$AUTH_CLUSTER_USER:$AUTH_CLUSTER_PASSWORD" \
		"$AUTH_CLUSTER_API/allocations/$cid"
	assert_output 404
}

@test "each token goes to the nodes of its kind that its option names, in an Authorization header" {
	local cid=QmZULkCELmmk5XNfCgTnCyFgAVxBRBXyDHGGMVoLFLiXEN a b c
	badserver ok
	a=$BAD_LOG
	local bad_a=$BAD
	badserver ok
	b=$BAD_LOG
	local bad_b=$BAD
	badserver ok
	c=$BAD_LOG
	# before any --kubo: every kubo; after a --cluster: that cluster only
	K=k-secret C=c-secret P=p-secret run_fails 65 hp-pin status --kubo-token-env K --kubo "$bad_a" \
		--cluster "$BAD" --cluster-token-env C --cluster "$bad_b" --psa-token-env P "$cid"
	[ "$(jq -r .headers.authorization "$a")" = "Bearer k-secret" ]
	[ "$(jq -r .headers.authorization "$c")" = "Bearer c-secret" ]
	[ "$(jq -r '.headers.authorization // "none"' "$b")" = none ]
	no_secret_in k-secret c-secret p-secret
	# the default variables, used when set; an unset default sends nothing
	HP_KUBO_TOKEN=hk HP_CLUSTER_TOKEN=hc run_fails 65 hp-pin status --kubo "$bad_a" --cluster "$bad_b" "$cid"
	[ "$(jq -sr 'map(.headers.authorization) | last' "$a")" = "Bearer hk" ]
	[ "$(jq -sr 'map(.headers.authorization) | last' "$b")" = "Bearer hc" ]
	HP_CLUSTER_TOKEN=hc run_fails 65 hp-pin status --kubo "$bad_a" "$cid"
	[ "$(jq -sr 'map(.headers.authorization // "none") | last' "$a")" = none ]
}

@test "all three kinds for one manifest: kubo first, then cluster, then psa; exit 0" {
	make_package
	HP_PSA_TOKEN=$(cluster_pinsvc_token) run --separate-stderr hp-pin add --psa "$CLUSTER_PINSVC" \
		--cluster "$CLUSTER_API" --replication-min 1 --replication-max 1 --kubo "$KUBO_API" \
		--car pkg.car --timeout 60 m.json
	assert_success
	[ "$(jq -sc 'map([.kind, .status])' <<<"$output")" = '[["kubo","pinned"],["cluster","pinned"],["psa","pinned"]]' ]
	check_records
	HP_PSA_TOKEN=$(cluster_pinsvc_token) run --separate-stderr hp-pin status --psa "$CLUSTER_PINSVC" \
		--cluster "$CLUSTER_API" --kubo "$KUBO_API" m.json
	assert_success
	[ "$(jq -sc 'map(.status) | unique' <<<"$output")" = '["pinned"]' ]
}

@test "several failures: a record per node and CID, the exit code is the worst" {
	local cid port
	cid=$(unpinned_cid)
	port=$(free_port)
	HP_PSA_TOKEN=wrong run_fails 77 hp-pin status --kubo "$KUBO_API" --kubo "http://127.0.0.1:$port" \
		--psa "$CLUSTER_PINSVC" "$cid" QmQhYUvRFkxysZxgJDeVnaxFLdFgee89xbMqj6vHgTNacU
	[ "${#lines[@]}" -eq 6 ]
	[ "$(jq -sc 'map(.status)' <<<"$output")" = '["unpinned","unpinned","error","error","error","error"]' ]
	check_records
}

# ---- what goes over the wire -------------------------------------------------

@test "kubo is asked with POST, our User-Agent, no Origin or Referer; the token goes in a header" {
	badserver ok
	run_fails 65 hp-pin status --kubo "$BAD" QmZULkCELmmk5XNfCgTnCyFgAVxBRBXyDHGGMVoLFLiXEN
	run jq -c '[.method, .path, (.headers["user-agent"] | startswith("hybrid-p2p/")), (.headers | has("origin") or has("referer") or has("expect"))]' "$BAD_LOG"
	assert_output '["POST","/api/v0/pin/ls?arg=QmZULkCELmmk5XNfCgTnCyFgAVxBRBXyDHGGMVoLFLiXEN&type=recursive",true,false]'
	badserver ok
	HP_PSA_TOKEN=s3cret run_fails 65 hp-pin add --psa "$BAD" --name 'a b' --origin /ip4/127.0.0.1/tcp/4001 \
		QmZULkCELmmk5XNfCgTnCyFgAVxBRBXyDHGGMVoLFLiXEN
	run jq -c '[.method, .path, .headers.authorization, .headers["content-type"]]' "$BAD_LOG"
	assert_output '["POST","/pins","Bearer s3cret","application/json"]'
}

# ---- a node that misbehaves (tests/lib/badserver.py) -------------------------

# bad_case MODE KIND EXIT [TIMEOUT]: hp-pin add against a badserver node
bad_case() {
	local mode=$1 kind=$2 want=$3 timeout=${4:-5} start took
	badserver "$mode"
	start=$SECONDS
	HP_PSA_TOKEN=t run_fails "$want" hp-pin add --"$kind" "$BAD" --timeout "$timeout" \
		QmZULkCELmmk5XNfCgTnCyFgAVxBRBXyDHGGMVoLFLiXEN
	took=$((SECONDS - start))
	# one record, status error, and a one-line message naming the endpoint
	[ "${#lines[@]}" -eq 1 ] || fail "expected one record: $output"
	[ "$(jq -r .status <<<"$output")" = error ] || [ "$(jq -r .status <<<"$output")" = failed ]
	[[ $stderr == "hp-pin: '$BAD/"* ]] || fail "stderr does not name the endpoint: $stderr"
	[ "$(wc -l <<<"$stderr")" -eq 1 ] || fail "more than one line: $stderr"
	check_records
	((took <= timeout + 3)) || fail "took $took s with --timeout $timeout"
}

@test "a node refusing connections: 69" {
	local port
	port=$(free_port)
	run_fails 69 hp-pin add --kubo "http://127.0.0.1:$port" --cluster "http://127.0.0.1:$port" \
		QmZULkCELmmk5XNfCgTnCyFgAVxBRBXyDHGGMVoLFLiXEN
	[ "$(jq -sc 'map(.status)' <<<"$output")" = '["error","error"]' ]
	[[ $stderr == *"cannot connect: Connection refused"* ]]
}

@test "a node that never answers: 75 within the timeout given" {
	bad_case hang kubo 75 2
	[[ $stderr == *"timed out"* ]]
	bad_case hang cluster 75 2
	bad_case hang psa 75 2
}

@test "a node that drips one byte at a time: 75 at the timeout" {
	bad_case drip kubo 75 2
	[[ $stderr == *"timed out"* ]]
}

@test "a node down for several CIDs is asked once, not once per CID" {
	badserver hang
	local start=$SECONDS
	run_fails 75 hp-pin status --kubo "$BAD" --timeout 2 QmZULkCELmmk5XNfCgTnCyFgAVxBRBXyDHGGMVoLFLiXEN \
		QmQhYUvRFkxysZxgJDeVnaxFLdFgee89xbMqj6vHgTNacU bafkqaaa
	[ "${#lines[@]}" -eq 3 ]
	((SECONDS - start <= 5))
	[ "$(wc -l <"$BAD_LOG")" -eq 1 ]
}

@test "HTTP 500, 502 and kubo's own error object: 69" {
	bad_case 500 kubo 69
	[[ $stderr == *"HTTP 500 Internal Server Error: internal error" ]]
	bad_case 502 cluster 69
	bad_case 500 psa 69
	bad_case kubo-error kubo 69
	[[ $stderr == *"pin: block was not found locally (offline) (HTTP 500)" ]]
}

@test "HTTP 429 and 503: asked again until the timeout, then 75" {
	bad_case 429 kubo 75 2
	[[ $stderr == *"HTTP 429 Too Many Requests"* ]]
	(($(wc -l <"$BAD_LOG") >= 2)) || fail "asked only once"
	bad_case 503 psa 75 2
	bad_case 429 cluster 75 2
}

@test "garbage and wrong-shaped JSON: 65 naming the endpoint" {
	bad_case garbage-json kubo 65
	[[ $stderr == "hp-pin: '$BAD/api/v0/pin/add': answer line 1: parse error: "* ]]
	bad_case wrong-json kubo 65
	bad_case garbage-json cluster 65
	bad_case garbage-json psa 65
	bad_case wrong-json psa 65
}

@test "an endless body or endless headers: bounded, 65, quickly" {
	bad_case endless kubo 65 30
	[[ $stderr == *"larger than the limit"* ]]
	bad_case endless psa 65 30
	bad_case endless-headers cluster 65 30
	[[ $stderr == *"bytes of response headers"* ]]
}

@test "not HTTP, a closed connection, a streamed error: 69" {
	bad_case not-http kubo 69
	[[ $stderr == *"not an HTTP answer"* ]]
	bad_case close cluster 69
	bad_case stream-error kubo 69
	[[ $stderr == *"context deadline exceeded (an error after the answer began)" ]]
}

@test "a 401 from a node: 77" {
	bad_case 401 psa 77
	[[ $stderr == *"UNAUTHORIZED: bad token (HTTP 401)"* ]]
	bad_case 401 kubo 77
}
