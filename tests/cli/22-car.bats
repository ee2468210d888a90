#!/usr/bin/env bats
# CAR files against the real kubo, both ways: kubo's `ipfs dag export` of
# fresh content is verified by our reader (lib/hp_car) and written again by
# our writer; kubo's `ipfs dag import` takes our CARs, pins their roots and
# gives back the same bytes. The driver is the unit test binary test_car:
# HP_CAR_DIR verifies and rewrites every CAR in a folder, HP_CAR_WRITE_DIR
# writes a CAR of random raw blocks. kubo runs offline without a daemon
# (add, dag export/import, block get and cat work on the repository).

load helpers
# the kubo helpers (tests/lib/kubo.bash) come with scripts/build-kubo
load ../lib/kubo

HP_BUILD=${HP_BUILD:-$HP_ROOT/build}

setup() {
	kubo_find >/dev/null || fail "kubo is not built (scripts/build-kubo)"
	[ -x "$HP_BUILD/tests/test_car" ] || fail "no $HP_BUILD/tests/test_car"
	setup_scratch
}

# a new offline repository in $1 (IPFS_PATH is set for the caller)
new_repo() {
	export IPFS_PATH=$1
	ipfs init --profile=test >/dev/null
}

# export NAME CID: $SCRATCH/cars/NAME.car with .root and .blocks
export_car() {
	ipfs dag export "$2" >"cars/$1.car" 2>/dev/null
	echo "$2" >"cars/$1.root"
	echo $(($(ipfs refs -r --unique "$2" | wc -l) + 1)) >"cars/$1.blocks"
}

# random bytes: random_file NAME SIZE
random_file() {
	head -c "$2" </dev/urandom >"$1"
}

# test_car must pass, not merely exit 0: every TAP line ok
run_test_car() {
	run --separate-stderr "$HP_BUILD/tests/test_car"
	if ((status != 0)) || [[ $output == *"not ok"* ]] || [[ $output != *"1.."* ]]; then
		echo "test_car failed ($status):" >&2
		echo "$output" >&2
		echo "$stderr" >&2
		return 1
	fi
}

@test "kubo's dag export of fresh content: our reader verifies it, our writer rewrites it, kubo imports ours" {
	new_repo "$SCRATCH/repo1"
	mkdir cars content content/tree content/tree/sub content/tree/empty
	random_file content/big $((3 * 1024 * 1024 + 12345))   # 13 leaves of 256 KiB
	random_file content/deep 400000                        # 391 leaves of 1 KiB: two levels
	: >content/empty
	random_file content/tree/a 1000
	random_file content/tree/sub/b 300000
	printf 'same\n' >content/tree/sub/c
	printf 'same\n' >content/tree/d                       # one block, two links

	export_car big-v0 "$(ipfs add -Q content/big)"
	export_car big-v1 "$(ipfs add -Q --cid-version=1 content/big)"
	export_car big-1mib "$(ipfs add -Q --cid-version=1 --chunker=size-1048576 content/big)"
	export_car deep "$(ipfs add -Q --chunker=size-1024 content/deep)"
	export_car empty "$(ipfs add -Q content/empty)"
	export_car tree-v0 "$(ipfs add -Q -r content/tree)"
	export_car tree-v1 "$(ipfs add -Q -r --cid-version=1 content/tree)"
	export_car cbor "$(printf '{"a":[1,2,{"/":"%s"}]}' "$(cat cars/tree-v1.root)" | ipfs dag put)"
	[ "$(cat cars/deep.blocks)" -gt 390 ]

	HP_CAR_DIR=$SCRATCH/cars run_test_car
	local name
	for name in big-v0 big-v1 big-1mib deep empty tree-v0 tree-v1 cbor; do
		[[ $output == *"ok "*" - $name.car: every block verified"* ]]
		[[ $output == *"- $name.car: the root is $(cat "cars/$name.root")"* ]]
		# our writer, given the blocks in kubo's order, writes kubo's bytes
		cmp "cars/$name.car" "cars/$name.ours.car"
	done

	# a second, empty repository imports our CARs and pins their roots
	new_repo "$SCRATCH/repo2"
	for name in big-v0 big-v1 big-1mib deep empty tree-v0 tree-v1; do
		run --separate-stderr ipfs dag import --stats "cars/$name.ours.car"
		assert_success
		assert_line --partial "Pinned root	$(cat "cars/$name.root")	success"
		[[ $output == *"Imported $(cat "cars/$name.blocks") blocks ("* ]]
		ipfs pin ls --type=recursive "$(cat "cars/$name.root")" >/dev/null
	done
	ipfs cat "$(cat cars/big-v0.root)" | cmp - content/big
	ipfs cat "$(cat cars/big-1mib.root)" | cmp - content/big
	ipfs cat "$(cat cars/deep.root)" | cmp - content/deep
	ipfs cat "$(cat cars/tree-v1.root)/sub/b" | cmp - content/tree/sub/b
	ipfs cat "$(cat cars/tree-v0.root)/d" | cmp - content/tree/d
	# the dag-cbor node links into tree-v1, already here
	run --separate-stderr ipfs dag import --stats cars/cbor.ours.car
	assert_success
	assert_line --partial "Pinned root	$(cat cars/cbor.root)	success"
}

@test "a CAR of raw blocks from our writer: kubo imports every block, and pins the raw root" {
	mkdir out
	HP_CAR_WRITE_DIR=$SCRATCH/out run_test_car
	new_repo "$SCRATCH/repo"
	local root
	root=$(cat out/raw.root)
	[[ $root == bafkrei* ]]
	run --separate-stderr ipfs dag import --pin-roots=false --stats out/raw.car
	assert_success
	assert_output "Imported 40 blocks ($(cat out/blocks/* | wc -c) bytes)"
	# every block is in the repository (refs local names raw blocks as CIDv1
	# raw, as ours are) ...
	ls out/blocks | sort >want
	[ "$(wc -l <want)" -eq 40 ]
	ipfs refs local | sort >have
	[ -z "$(comm -23 want have)" ]
	# ... and holds the bytes: the empty one, the 1 MiB one and a few others
	local f
	for f in $(ls -S out/blocks | head -n 3) $(ls -S out/blocks | tail -n 2); do
		ipfs block get "$f" | cmp - "out/blocks/$f"
	done
	run ipfs pin ls --type=recursive "$root"
	assert_failure
	run --separate-stderr ipfs dag import out/raw.car
	assert_success
	assert_output "Pinned root	$root	success"
	ipfs pin ls --type=recursive "$root"
}

@test "a byte changed in kubo's CAR: our reader refuses it, naming the block, its offset and CID" {
	new_repo "$SCRATCH/repo"
	mkdir cars
	random_file file 600000
	export_car file "$(ipfs add -Q --cid-version=1 file)"
	# the last byte is inside the last block's data
	local size
	size=$(stat -c %s cars/file.car)
	local last
	last=$(tail -c 1 cars/file.car | od -An -tu1 | tr -d ' ')
	printf "\\$(printf %03o $((last ^ 1)))" | dd of=cars/file.car bs=1 seek=$((size - 1)) conv=notrunc status=none
	! cmp -s cars/file.car <(ipfs dag export "$(cat cars/file.root)")
	run_fails 1 env HP_CAR_DIR=$SCRATCH/cars "$HP_BUILD/tests/test_car"
	[[ $output == *"not ok "*" - file.car: every block verified"* ]]
	[[ $output =~ block\ [0-9]+\ at\ offset\ [0-9]+:\ bytes\ do\ not\ match\ CID\ bafkrei ]]
	# kubo itself refuses it too
	new_repo "$SCRATCH/repo2"
	run ipfs dag import --pin-roots=false cars/file.car
	assert_failure
}

@test "hp-cid --car: kubo imports it with the root that kubo's own add computes, for both profiles" {
	command -v hp-cid >/dev/null || fail "hp-cid is not built"
	hp-cid --help | grep -q -- --car || fail "hp-cid has no --car"
	mkdir -p tree/sub cars
	random_file tree/a 1500000
	random_file tree/sub/b 5000
	: >tree/empty
	local profile ours
	for profile in unixfs-v0-2015 unixfs-v1-2025; do
		run --separate-stderr hp-cid --profile "$profile" --car "cars/$profile.car" tree
		assert_success
		ours=$(printf '%s\n' "$output" | tail -n 1 | jq -r .cid)
		export IPFS_PATH=$SCRATCH/repo-$profile
		ipfs init --profile="test,$profile" >/dev/null
		[ "$ours" = "$(ipfs add -Q -r --only-hash tree)" ]
		run --separate-stderr ipfs dag import --stats "cars/$profile.car"
		assert_success
		assert_line "Pinned root	$ours	success"
		ipfs cat "$ours/a" | cmp - tree/a
		echo "$ours" >"cars/$profile.root"
		echo $(($(ipfs refs -r --unique "$ours" | wc -l) + 1)) >"cars/$profile.blocks"
	done
	HP_CAR_DIR=$SCRATCH/cars run_test_car
}
