#!/usr/bin/env bats
# Every HTTP wait bounded (issue 10, item 4): a gateway and kubo as fetch
# sources, kubo, an IPFS Cluster and a Pinning Service API as pinning nodes
# (hp-pin and hybrid-p2p publish), each played by tests/lib/badserver.py
# stalling one way:
#   hang       accepts, reads the request, never answers
#   silent     accepts, never reads (a CAR upload stalls once the socket
#              buffers are full)
#   drip       200, then one byte every 0.5 s: below the 1 KiB/s floor, a stall
#   close-mid  200 announcing more than it sends, then closes
# With --timeout 2 every stall ends within twice that with 75, a close in
# the middle of an answer at once with 69; each line on stderr names the
# host:port and the step (the URL's path) and says which wait failed; and
# nothing is half-written (docs/cli-conventions.md, "Timeouts").

load helpers

T=2

setup_file() {
	local d=$BATS_FILE_TMPDIR
	mkdir -p "$d/tree/sub" "$d/big"
	printf 'hello\n' >"$d/tree/a.txt"
	head -c 300000 /dev/urandom >"$d/tree/sub/b.bin"
	# a CAR larger than what loopback's socket buffers take in
	head -c 16000000 /dev/urandom >"$d/big/x.bin"
	hp-sign keygen -O "$d/keys" -n k >/dev/null || return
	hp-manifest create --name p --version 1 --car "$d/p.car" -o "$d/p.json" "$d/tree" || return
	hp-sign manifest "$d/keys/k.pem" "$d/p.json" -o "$d/p.json" || return
	hp-manifest create --name big --version 1 --car "$d/big.car" -o "$d/big.json" "$d/big" || return
	CID=$(jq -r .distribution.ipfs_cid "$d/p.json")
	export PKG=$d/p.json CAR=$d/p.car BIGM=$d/big.json BIGCAR=$d/big.car KEY=$d/keys/k.pem PUB=$d/keys/k.pub
	export TREE=$d/tree CID
}

setup() {
	setup_scratch
	unset HP_KUBO_TOKEN HP_CLUSTER_TOKEN HP_REGISTRY
	export HP_PSA_TOKEN=t
	BAD_PIDS=()
}

teardown() {
	badservers_stop
}

# client KIND: CMD, the command that talks to $BAD as KIND with --timeout $T
client() {
	case $1 in
	gateway) CMD=(hp-fetch -k "$PUB" --timeout $T -g "$BAD" "$PKG" -O out) ;;
	fetch-gateway) CMD=(hybrid-p2p fetch "$PKG" -O out -k "$PUB" --timeout $T -g "$BAD") ;;
	fetch-kubo) CMD=(hp-fetch -k "$PUB" --timeout $T --kubo "$BAD" "$PKG" -O out) ;;
	pin-kubo) CMD=(hp-pin add --kubo "$BAD" --timeout $T "$CID") ;;
	pin-car) CMD=(hp-pin add --kubo "$BAD" --timeout $T --car "$CAR" "$PKG") ;;
	pin-bigcar) CMD=(hp-pin add --kubo "$BAD" --timeout $T --car "$BIGCAR" "$BIGM") ;;
	pin-cluster) CMD=(hp-pin add --cluster "$BAD" --timeout $T "$CID") ;;
	pin-psa) CMD=(hp-pin add --psa "$BAD" --timeout $T "$CID") ;;
	publish-*)
		CMD=(hybrid-p2p publish "$TREE" --name p --version 1 --uploader-id me@example.org
			--key "$KEY" --output pub/p.json --no-git "--${1#publish-}" "$BAD" --timeout $T)
		;;
	*) fail "no client $1" ;;
	esac
}

# nothing_half_written KIND: no partial file anywhere, no temporary file
nothing_half_written() {
	case $1 in
	gateway | fetch-*)
		[ ! -e out/.hp-partial ] || fail "out/.hp-partial was left: $(find out/.hp-partial)"
		[ -z "$(find out -type f)" ] || fail "files in out: $(find out -type f)"
		;;
	pin-*)
		# one record, and it says error
		[ "${#lines[@]}" -eq 1 ] || fail "expected one record: $output"
		[ "$(jq -r .status <<<"$output")" = error ] || fail "not an error record: $output"
		;;
	publish-*)
		# the manifest, the CAR and the .torrent whole, and nothing else
		[ "$(ls -A pub | tr '\n' ' ')" = "p-1.car p-1.torrent p.json " ] || fail "in pub: $(ls -A pub)"
		hp-verify -k "$PUB" --content "$TREE" pub/p.json >/dev/null 2>&1 ||
			hp-manifest validate pub/p.json || fail "pub/p.json is not a whole manifest"
		cmp -s pub/p-1.car "$CAR" || fail "pub/p-1.car is not the package's CAR"
		[ "$(jq -r 'select(.step == "pin") | .status' <<<"$output")" = failed ] ||
			fail "no failed pin step: $output"
		;;
	esac
	[ -z "$(find . -name '*.tmp*' -o -name '*.part')" ] || fail "temporary files: $(find . -name '*.tmp*' -o -name '*.part')"
}

# stalled KIND STEP ROWS: ROWS are "MODE CODE REASON" lines; for each, KIND
# against badserver MODE ends with CODE within 2 x $T, every line on stderr
# naming '$BAD/STEP' and REASON, nothing half-written
stalled() {
	local kind=$1 step=$2 mode code reason start took line body=() CMD=()
	while read -r mode code reason; do
		[ -n "$mode" ] || continue
		rm -rf out pub
		body=()
		# a fetch source's answer must be a CAR to get as far as the transfer
		case $kind in gateway | fetch-*) body=(--body "$CAR" --content-type application/vnd.ipld.car) ;; esac
		badserver "$mode" "${body[@]}"
		client "$kind"
		start=$(date +%s%N)
		# (timeout: a wait that is not bounded fails here, 124, not for ever)
		run_fails "$code" timeout $((10 * T)) "${CMD[@]}"
		took=$((($(date +%s%N) - start) / 1000000))
		((took < 2 * T * 1000)) || fail "$kind $mode: took $took ms with --timeout $T"
		[ -n "$stderr" ] || fail "$kind $mode: nothing on stderr"
		while IFS= read -r line; do
			[[ $line == *"'$BAD/$step': $reason"* ]] ||
				fail "$kind $mode: a line on stderr without '$BAD/$step': $reason: $line"
		done <<<"$stderr"
		nothing_half_written "$kind"
		badservers_stop
	done <<<"$3"
}

# what each mode gives, most kinds
STALLS="hang 75 timed out: no answer for $T s
silent 75 timed out: no answer for $T s
drip 75 timed out: less than 1024 bytes/s for $T s
close-mid 69 the answer was cut short"

@test "a gateway that stalls: 75 within 2 x --timeout, 69 on a close, nothing half-written (hp-fetch, hybrid-p2p fetch)" {
	stalled gateway "ipfs/$CID" "$STALLS"
	stalled fetch-gateway "ipfs/$CID" "$STALLS"
}

@test "kubo as a fetch source that stalls (dag/export): 75 within 2 x --timeout, 69 on a close" {
	stalled fetch-kubo api/v0/dag/export "$STALLS"
}

@test "kubo as a pinning node that stalls (pin/add, dag/import): 75 within 2 x --timeout, 69 on a close" {
	# pin/add's progress lines are heartbeats: a drip ends at the pin's total
	stalled pin-kubo api/v0/pin/add "hang 75 timed out: no answer for $T s
silent 75 timed out: no answer for $T s
drip 75 timed out: no complete answer after $T s
close-mid 69 the answer was cut short"
	stalled pin-car api/v0/dag/import "$STALLS"
}

@test "kubo that never reads a CAR upload (dag/import): 75 within 2 x --timeout, naming the upload" {
	stalled pin-bigcar api/v0/dag/import "silent 75 timed out: the server took nothing of the upload for $T s (sent
drip 75 timed out: less than 1024 bytes/s for $T s"
}

@test "a cluster and a pinning service that stall: 75 within 2 x --timeout, 69 on a close" {
	stalled pin-cluster "pins/$CID" "$STALLS"
	stalled pin-psa pins "$STALLS"
}

@test "publish to a kubo, a cluster, a pinning service that stall: 75 within 2 x --timeout, the manifest, CAR and torrent whole" {
	stalled publish-kubo api/v0/dag/import "$STALLS"
	stalled publish-cluster "pins/$CID" "$STALLS"
	stalled publish-psa pins "$STALLS"
}
