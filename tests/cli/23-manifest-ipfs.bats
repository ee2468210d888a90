#!/usr/bin/env bats
# hp-manifest create fills files[].cid, distribution.ipfs_cid and ipfs_import
# from the same single read as the SHA-256, equal to what kubo computes.

load helpers

setup() {
	setup_scratch
	KUBO=$HP_ROOT/.cache/bin/ipfs
	[ -x "$KUBO" ] || fail "kubo is not built (scripts/build-kubo)"
	mkdir -p data/sub data/empty
	printf 'hello world' > data/hello.txt
	head -c 3000000 /dev/zero | tr '\0' 'z' > data/sub/big.bin
	printf 'x' > data/sub/.hidden
}

kubo_hash() { # PROFILE DIR -> root CID and per-path CIDs as "cid path" lines
	local repo=$PWD/repo-$1
	[ -d "$repo" ] || IPFS_PATH=$repo "$KUBO" init --profile="test${2:+,$2}" >/dev/null 2>&1
	IPFS_PATH=$repo "$KUBO" add -r --hidden --only-hash ${3:-} data | awk '{print $2, $3}'
}

check_profile() { # PROFILE KUBO_INIT_PROFILE [KUBO_ADD_FLAGS]
	hp-manifest create --name t --version 1 --profile "$1" -o m.json data
	[ "$(jq -r .distribution.ipfs_import m.json)" = "$1" ]
	kubo_hash "$1" "$2" "$3" > kubo.txt
	[ "$(jq -r .distribution.ipfs_cid m.json)" = "$(awk '$2 == "data" {print $1}' kubo.txt)" ]
	local path cid
	while read -r path cid; do
		[ "$cid" = "$(awk -v p="data/$path" '$2 == p {print $1}' kubo.txt)" ] || {
			echo "$path: ours $cid, kubo's $(grep " data/$path\$" kubo.txt)"
			return 1
		}
	done < <(jq -r '.files[] | "\(.path) \(.cid)"' m.json)
}

@test "unixfs-v1-2025 (the default): every CID and the root equal kubo's" {
	check_profile unixfs-v1-2025 unixfs-v1-2025
	hp-manifest create --name t --version 1 -o default.json data
	cmp <(jq .distribution m.json) <(jq .distribution default.json)
}

@test "unixfs-v0-2015: every CID and the root equal kubo's default" {
	check_profile unixfs-v0-2015 ""
	[[ $(jq -r .distribution.ipfs_cid m.json) == Qm* ]]
}

@test "kubo-cid-v1: every CID and the root equal kubo's --cid-version=1" {
	check_profile kubo-cid-v1 "" --cid-version=1
}

@test "the manifest's CIDs equal hp-cid's for the same tree" {
	hp-manifest create --name t --version 1 -o m.json data
	hp-cid -C data . > cid.jsonl
	[ "$(jq -r .distribution.ipfs_cid m.json)" = "$(tail -n 1 cid.jsonl | jq -r .cid)" ]
	[ "$(jq -r '.files[] | select(.path == "sub/big.bin") | .cid' m.json)" = \
	  "$(jq -r 'select(.path == "sub/big.bin") | .cid' cid.jsonl)" ]
}

@test "--no-cid leaves the CIDs out; an unknown profile is a usage error" {
	hp-manifest create --name t --version 1 --no-cid -o m.json data
	[ "$(jq '[.files[] | has("cid")] | any' m.json)" = false ]
	[ "$(jq '.distribution | keys' -c m.json)" = '["torrent_infohash","torrent_infohash_v2","torrent_magnet"]' ]
	hp-manifest create --name t --version 1 --no-cid --no-torrent -o m.json data
	[ "$(jq 'has("distribution")' m.json)" = false ]
	run_fails 64 hp-manifest create --name t --version 1 --profile nope data
	[[ $stderr == *"unknown UnixFS profile 'nope'"* ]]
}

@test "a signed manifest with CIDs verifies, and its CIDs are covered by the signature" {
	hp-sign keygen -O keys -n k >/dev/null
	hp-manifest create --name t --version 1 -o m.json data
	hp-sign manifest keys/k.pem m.json -o m.json
	hp-verify -k keys/k.pub --content data m.json >/dev/null
	jq '.distribution.ipfs_cid = "bafybeiczsscdsbs7ffqz55asqdf3smv6klcw3gofszvwlyarci47bgf354"' m.json > forged.json
	run_fails 1 hp-verify -k keys/k.pub forged.json
}
