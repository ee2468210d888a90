#!/usr/bin/env bats
# hp-cid against two reference implementations that share no code with it or
# with kubo: Debian's ipfs_cid (Rust; CIDv0 of single files) and the npm
# ipfs-unixfs-importer (JavaScript; both IPIP-499 profiles, trees).
# A missing reference tool is a failure, never a skip: scripts/install-deps
# installs both.

load helpers

NODE_SCRIPT=$HP_ROOT/tests/node/unixfs-cid.mjs

setup() {
	setup_scratch
}

# SIZE SEED: deterministic pseudo-random bytes (kubo's ChaCha20 keystream).
seeded() {
	head -c "$1" /dev/zero |
		openssl enc -chacha20 -K "$(printf %s "$2" | sha256sum | cut -d' ' -f1)" -iv 00000000000000000000000000000000
}

need_ipfs_cid() {
	command -v ipfs_cid >/dev/null ||
		fail "ipfs_cid is not installed (Debian package ipfs-cid; scripts/install-deps)"
}

need_node_importer() {
	command -v node >/dev/null || fail "node is not installed (scripts/install-deps)"
	[ -f "$NODE_SCRIPT" ] || fail "no $NODE_SCRIPT"
	[ -d "${HP_NODE_DIR:-$HP_ROOT/.cache/node}/node_modules/ipfs-unixfs-importer" ] ||
		fail "ipfs-unixfs-importer is not installed in .cache/node (scripts/install-deps)"
}

# FILE: hp-cid --profile unixfs-v0-2015 and ipfs_cid give the same CIDv0.
same_as_ipfs_cid() {
	local f=$1 ref ours
	run --separate-stderr ipfs_cid "$f"
	assert_success
	ref=$(jq -r .CIDv0 <<<"$output")
	[[ $ref == Qm* ]] || fail "ipfs_cid $f: no CIDv0 in: $output"
	run --separate-stderr hp-cid --profile unixfs-v0-2015 "$f"
	assert_success
	ours=$(jq -r .cid <<<"$output")
	[ "$ours" = "$ref" ] || fail "$f ($(stat -c %s "$f") bytes): hp-cid $ours, ipfs_cid $ref"
}

@test "ipfs_cid: the empty file" {
	need_ipfs_cid
	: >empty
	same_as_ipfs_cid empty
	# and both say what kubo says
	[ "$(hp-cid --profile unixfs-v0-2015 empty | jq -r .cid)" = QmbFMke1KXqnYyBBWxB74N4c5SBnJMVAiMNRcGu6x1AwQH ]
}

@test "ipfs_cid: a 1-byte file" {
	need_ipfs_cid
	printf x >one
	same_as_ipfs_cid one
}

@test "ipfs_cid: exactly one chunk, 262144 bytes" {
	need_ipfs_cid
	seeded 262144 ref-262144 >f
	same_as_ipfs_cid f
}

@test "ipfs_cid: one chunk and one byte, 262145 bytes" {
	need_ipfs_cid
	seeded 262145 ref-262145 >f
	same_as_ipfs_cid f
}

@test "ipfs_cid: 174 x 262144 + 1 bytes, where the root gains a level" {
	need_ipfs_cid
	seeded $((174 * 262144 + 1)) ref-width >f
	same_as_ipfs_cid f
}

@test "ipfs_cid: random content of random sizes (and all-zero content)" {
	need_ipfs_cid
	local i size
	for i in 1 2 3 4 5; do
		size=$(((RANDOM << 8 | RANDOM & 255) % (3 << 20) + 1))
		head -c "$size" /dev/urandom >"r$i"
		same_as_ipfs_cid "r$i"
	done
	head -c $((2 * 262144 + 17)) /dev/zero >zeros
	same_as_ipfs_cid zeros
}

# A small tree: nested directories, empty directories (at the top, nested,
# and a directory holding only an empty directory), an empty file, a
# multi-chunk file under both profiles, names whose bytewise order differs
# from locale order.
make_tree() {
	mkdir -p t/a/b/c t/empty t/a/hollow/inner t/Z t/a/b/c/void
	: >t/a/zero
	printf 'hello world' >t/a/b/hw
	printf x >t/a/b/c/x
	seeded $((2 * 1048576 + 3)) tree-big >t/big
	seeded 262145 tree-mid >t/a/mid
	printf 1 >t/Z/upper
	printf 2 >t/_under
	printf 3 >t/-dash
	printf 4 >'t/a b'
	printf 5 >t/é
}

# PROFILE: every path the importer reports has hp-cid's CID; hp-cid reports
# nothing else but the empty directories the importer folds into its parent.
same_as_importer() {
	local profile=$1 js ours extra
	run --separate-stderr node "$NODE_SCRIPT" --profile "$profile" t
	assert_success
	js=$(jq -r '"\(.path) \(.cid)"' <<<"$output" | LC_ALL=C sort)
	[ -n "$js" ] || fail "$profile: the importer printed nothing"
	run --separate-stderr hp-cid --profile "$profile" t
	assert_success
	ours=$(jq -r '"\(.path) \(.cid)"' <<<"$output" | LC_ALL=C sort)
	# the root must be there and agree
	grep -qx "t $(hp-cid --profile "$profile" t | tail -n 1 | jq -r .cid)" <<<"$js" ||
		fail "$profile: root CIDs differ: importer $(grep '^t ' <<<"$js"), hp-cid $(grep '^t ' <<<"$ours")"
	# every importer line appears in hp-cid's output
	missing=$(LC_ALL=C comm -23 <(echo "$js") <(echo "$ours"))
	[ -z "$missing" ] || fail "$profile: the importer says, hp-cid does not:
$missing
hp-cid:
$ours"
	# hp-cid's extra lines are only directories without files
	extra=$(LC_ALL=C comm -13 <(echo "$js") <(echo "$ours") | cut -d' ' -f1)
	local p
	for p in $extra; do
		[ -d "$p" ] && [ -z "$(find "$p" -type f)" ] ||
			fail "$profile: hp-cid reports $p, the importer does not"
	done
}

@test "ipfs-unixfs-importer: unixfs-v0-2015 on a tree with nested and empty directories" {
	need_node_importer
	make_tree
	same_as_importer unixfs-v0-2015
	# (CIDv0 everywhere)
	! hp-cid --profile unixfs-v0-2015 t | jq -r .cid | grep -qv '^Qm'
}

@test "ipfs-unixfs-importer: unixfs-v1-2025 on a tree with nested and empty directories" {
	need_node_importer
	make_tree
	same_as_importer unixfs-v1-2025
	# (CIDv1 everywhere: dag-pb for directories and multi-chunk files, raw leaves)
	! hp-cid --profile unixfs-v1-2025 t | jq -r .cid | grep -qv '^baf[yk]'
}

@test "ipfs-unixfs-importer: an empty directory alone, both profiles" {
	need_node_importer
	mkdir t
	local profile
	for profile in unixfs-v0-2015 unixfs-v1-2025; do
		run --separate-stderr node "$NODE_SCRIPT" --profile "$profile" t
		assert_success
		[ "$(tail -n 1 <<<"$output" | jq -r .cid)" = "$(hp-cid --profile "$profile" t | tail -n 1 | jq -r .cid)" ] ||
			fail "$profile: the empty directory differs"
	done
}
