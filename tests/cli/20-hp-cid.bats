#!/usr/bin/env bats
# hp-cid: kubo's CIDs for files and trees, every profile.
#
# Known answers here are kubo's (hello world, the empty file and directory,
# IPIP-499's threshold directories). When tests/vectors/unixfs/<profile>.jsonl
# exist (scripts/record-unixfs-vectors), the corpus is regenerated with
# tests/lib/gen-unixfs-corpus and every record is compared; when a kubo binary
# is in .cache/bin (scripts/build-kubo), trees are also compared live with
# `ipfs add --only-hash -r` on a repository initialised per profile.

load helpers

PROFILES=(unixfs-v0-2015 unixfs-v1-2025 kubo-cid-v1)
KUBO=$HP_ROOT/.cache/bin/ipfs

setup() {
	setup_scratch
}

# The CID of the last record (the argument's root).
root_cid() {
	hp-cid "$@" | tail -n 1 | jq -r .cid
}

# The IPIP-499 threshold directory: nfiles files holding "x", named from the
# ChaCha20 keystream of seed (kubo's createDeterministicFiles).
ipip_dir() {
	local dir=$1 seed=$2 nfiles=$3 len=$4 last=$5
	mkdir -p "$dir"
	python3 - "$dir" "$seed" "$nfiles" "$len" "$last" <<'EOF'
import hashlib, os, subprocess, sys
d, seed, n, ln, last = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
key = hashlib.sha256(seed.encode()).hexdigest()
need = (n - 1) * ln + last
p = subprocess.Popen(["openssl", "enc", "-chacha20", "-K", key, "-iv", "0" * 32, "-in", "/dev/zero"],
                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
raw = b""
while len(raw) < need:
    raw += p.stdout.read(need - len(raw))
p.kill()
alpha = "abcdefghijklmnopqrstuvwxyz01234567890-_"
off = 0
for i in range(n):
    k = last if i == n - 1 else ln
    name = "".join(alpha[b % len(alpha)] for b in raw[off:off + k])
    off += k
    with open(os.path.join(d, name), "w") as f:
        f.write("x")
EOF
}

# ---- the tool's contract ----------------------------------------------------

@test "hp-cid --help: usage on stdout, exit 0; --version" {
	run --separate-stderr hp-cid --help
	assert_success
	[[ $output == *Usage:* ]]
	[ -z "$stderr" ]
	run --separate-stderr hp-cid --version
	assert_success
	assert_output --regexp '^hp-cid \(hybrid-p2p\) [0-9.]+$'
}

@test "hp-cid: an unknown option or profile is a usage error, exit 64" {
	run_fails 64 hp-cid --bogus-option x
	[ -z "$output" ]
	[[ ${stderr} == "hp-cid: unknown option '--bogus-option'"* ]]
	[[ ${stderr} == *"Try 'hp-cid --help' for more information." ]]
	run_fails 64 hp-cid --profile unixfs-v2-2030 x
	[[ $stderr == *"unknown profile 'unixfs-v2-2030'"* ]]
	run_fails 64 hp-cid
	run_fails 64 hp-cid - -
	run_fails 64 hp-cid --jobs 2000 x
}

@test "hp-cid --help: every option of the table in cmd/hp-cid.c, and the common ones" {
	help_lists_table hp-cid.c cid_options hp-cid
}

@test "hp-cid: docs/hp-cid.1 renders without warnings and documents every option" {
	run groff -man -ww -z "$HP_ROOT/docs/hp-cid.1"
	assert_success
	assert_output ""
	local text opt missing=()
	text=$(sed -e 's/\\-/-/g' -e 's/\\[&%]//g' -e 's/\\f[A-Z1-4]//g' "$HP_ROOT/docs/hp-cid.1")
	for opt in $(hp-cid --help | grep -o -- '--[a-z][a-z0-9-]*' | sort -u); do
		grep -Eq -- "(^|[^a-z-])${opt}([^a-z-]|$)" <<<"$text" || missing+=("$opt")
	done
	[ ${#missing[@]} -eq 0 ] || {
		echo "docs/hp-cid.1 does not document: ${missing[*]}" >&2
		return 1
	}
}

# ---- known answers ------------------------------------------------------------

@test "hello world, the empty file and the empty directory: kubo's CIDs in every profile" {
	printf 'hello world' >hw
	: >empty
	mkdir dir
	[ "$(root_cid -p unixfs-v0-2015 hw)" = Qmf412jQZiuVUtdgnB36FXFX7xg5V6KEbSJ4dpQuhkLyfD ]
	[ "$(root_cid -p unixfs-v1-2025 hw)" = bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e ]
	[ "$(root_cid -p kubo-cid-v1 hw)" = bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e ]
	[ "$(root_cid hw)" = bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e ]
	[ "$(root_cid -p unixfs-v0-2015 empty)" = QmbFMke1KXqnYyBBWxB74N4c5SBnJMVAiMNRcGu6x1AwQH ]
	[ "$(root_cid -p unixfs-v1-2025 empty)" = bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku ]
	[ "$(root_cid -p kubo-cid-v1 empty)" = bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku ]
	[ "$(root_cid -p unixfs-v0-2015 dir)" = QmUNLLsPACCz1vLxQVkXqqLX5R1X345qqfHbsf67hvA3Nn ]
	[ "$(root_cid -p unixfs-v1-2025 dir)" = bafybeiczsscdsbs7ffqz55asqdf3smv6klcw3gofszvwlyarci47bgf354 ]
	[ "$(root_cid -p kubo-cid-v1 dir)" = bafybeiczsscdsbs7ffqz55asqdf3smv6klcw3gofszvwlyarci47bgf354 ]
	printf 'hello world' | hp-cid --profile unixfs-v0-2015 - >out
	[ "$(jq -r .path out)" = - ]
	[ "$(jq -r .cid out)" = Qmf412jQZiuVUtdgnB36FXFX7xg5V6KEbSJ4dpQuhkLyfD ]
}

@test "IPIP-499's threshold directories: basic at the threshold, a HAMT one byte over (links and block estimation)" {
	ipip_dir v0-at hamt-unixfs-v0-2015 4096 30 30
	ipip_dir v0-over hamt-unixfs-v0-2015 4033 31 31
	ipip_dir v1-at hamt-unixfs-v1-2025 4766 11 21
	ipip_dir v1-over hamt-unixfs-v1-2025 4766 11 22
	[ "$(root_cid -p unixfs-v0-2015 v0-at)" = QmX5GtRk3TSSEHtdrykgqm4eqMEn3n2XhfkFAis5fjyZmN ]
	[ "$(root_cid -p unixfs-v0-2015 v0-over)" = QmeMiJzmhpJAUgynAcxTQYek5PPKgdv3qEvFsdV3XpVnvP ]
	[ "$(root_cid -p unixfs-v1-2025 v1-at)" = bafybeic3h7rwruealwxkacabdy45jivq2crwz6bufb5ljwupn36gicplx4 ]
	[ "$(root_cid -p unixfs-v1-2025 v1-over)" = bafybeiegvuterwurhdtkikfhbxcldohmxp566vpjdofhzmnhv6o4freidu ]
}

# ---- records -------------------------------------------------------------------

@test "records: files first in path order, then directories children-first, the argument last" {
	mkdir -p t/a/b t/e
	printf 1 >t/a/b/c
	printf 22 >t/a-
	printf 333 >t/a/d
	run --separate-stderr hp-cid t
	assert_success
	local got
	got=$(jq -r '"\(.type) \(.path) \(.size)"' <<<"$output" | paste -sd,)
	[ "$got" = "file t/a- 2,file t/a/b/c 1,file t/a/d 3,directory t/a/b 1,directory t/a 4,directory t/e 0,directory t 6" ] || {
		echo "$got" >&2
		return 1
	}
	# -C DIR . reports paths relative to DIR and the root as "."
	run --separate-stderr hp-cid -C t .
	assert_success
	[ "$(tail -n 1 <<<"$output" | jq -r .path)" = . ]
	[ "$(tail -n 1 <<<"$output" | jq -r .cid)" = "$(root_cid t)" ]
	# several arguments: each one's records in turn
	run --separate-stderr hp-cid t/a t/e
	assert_success
	[ "$(jq -r .path <<<"$output" | paste -sd,)" = "t/a/b/c,t/a/d,t/a/b,t/a,t/e" ]
}

@test "records: --sha256 from the same read, dag_size, and the schema's members" {
	mkdir t
	head -c 3000000 /dev/urandom >t/big
	printf 'x' >t/small
	run --separate-stderr hp-cid --sha256 --profile unixfs-v1-2025 t
	assert_success
	[ "$(jq -r 'select(.path=="t/big").sha256' <<<"$output")" = "$(sha256sum t/big | cut -c1-64)" ]
	[ "$(jq -r 'select(.path=="t/small").sha256' <<<"$output")" = "$(sha256sum t/small | cut -c1-64)" ]
	[ "$(jq -r 'select(.type=="directory") | has("sha256")' <<<"$output")" = false ]
	# 3 raw leaves and a file node: dag_size is a little over the size
	jq -e -s '.[] | select(.path=="t/big") | .size == 3000000 and .dag_size > 3000000 and .dag_size < 3000300' <<<"$output"
	jq -e -s '.[] | select(.path=="t/small") | .size == 1 and .dag_size == 1' <<<"$output"
	jq -e -s '.[] | select(.path=="t") | .size == 3000001' <<<"$output"
	jq -e -s 'all(.[]; (keys - ["path","type","cid","size","dag_size","sha256"]) == [])' <<<"$output"
	if command -v check-jsonschema >/dev/null; then
		local i=0
		while IFS= read -r line; do
			printf '%s\n' "$line" >"rec$i.json"
			i=$((i + 1))
		done <<<"$output"
		check-jsonschema --schemafile "$HP_ROOT/schemas/hp-cid.record.schema.json" rec*.json
	fi
}

@test "records: a name that is not UTF-8 is {\"bytes\": base64}; the CID is still computed" {
	mkdir t
	printf 'x' >"t/$(printf 'caf\xe9')"
	run --separate-stderr hp-cid t
	assert_success
	[ "$(head -n 1 <<<"$output" | jq -r .path.bytes)" = "$(printf 't/caf\xe9' | base64)" ]
	[ "$(tail -n 1 <<<"$output" | jq -r .path)" = t ]
}

@test "a missing input is exit 66; the other arguments still get their records" {
	printf 'hello world' >hw
	run_fails 66 hp-cid --profile unixfs-v0-2015 hw nothere
	[[ $stderr == *"cannot open 'nothere'"* ]]
	[ "$(jq -r .cid <<<"$output")" = Qmf412jQZiuVUtdgnB36FXFX7xg5V6KEbSJ4dpQuhkLyfD ]
}

@test "a symbolic link inside a directory is skipped with a warning" {
	mkdir t
	printf x >t/f
	ln -s f t/link
	run --separate-stderr hp-cid t
	assert_success
	[[ $stderr == *"t/link"* ]]
	[ "$(jq -r .path <<<"$output" | paste -sd,)" = "t/f,t" ]
}

@test "standard output on a full disk is exit 74" {
	printf x >f
	run_fails 74 bash -c 'hp-cid f > /dev/full'
	[[ $stderr == *"hp-cid: "*"No space left on device"* ]]
}

@test "--car: a CARv1 with the roots, the same bytes every run, nothing left on failure" {
	hp-cid --help | grep -q -- --car
	mkdir -p t/d
	head -c 700000 /dev/urandom >t/d/big
	printf x >t/x
	run --separate-stderr hp-cid --car a.car t
	assert_success
	local root
	root=$(tail -n 1 <<<"$output" | jq -r .cid)
	hp-cid --car b.car -j 4 t >/dev/null
	cmp a.car b.car
	hp-cid --car - t >c.car
	cmp a.car c.car
	# the header holds the root CID: {"roots": [CID], "version": 1}
	python3 - a.car "$root" <<'EOF'
import sys, base64
car, root = sys.argv[1], sys.argv[2]
b = open(car, "rb").read()
raw = base64.b32decode(root[1:].upper() + "=" * (-len(root[1:]) % 8))
assert b[1:8] == b"\xa2eroots", b[:16]
assert raw in b[:b[0] + 1], "root not in the header"
EOF
	run_fails 66 hp-cid --car d.car t nothere
	[ ! -e d.car ]
	[ -z "$(ls -A | grep tmp- || true)" ]
	run_fails 64 hp-cid --car - -
}

# ---- against kubo ----------------------------------------------------------------

@test "every record of the UnixFS corpus equals kubo's recorded vectors (tests/vectors/unixfs), every profile" {
	local v=$HP_ROOT/tests/vectors/unixfs
	[ -e "$v/unixfs-v0-2015.jsonl" ] || fail "no recorded vectors (scripts/record-unixfs-vectors)"
	"$HP_ROOT/tests/lib/gen-unixfs-corpus" corpus >/dev/null
	local big items=() p profile
	big=$("$HP_ROOT/tests/lib/gen-unixfs-corpus" --list-big)
	while IFS= read -r -d '' p; do
		p=${p#./}
		grep -qxF -- "$p" <<<"$big" || items+=("$p")
	done < <(cd corpus && LC_ALL=C find . -mindepth 1 -maxdepth 1 -print0 | LC_ALL=C sort -z)
	for profile in "${PROFILES[@]}"; do
		[ -e "$v/$profile.jsonl" ] || continue
		(cd corpus && hp-cid --profile "$profile" "${items[@]}") >"$profile.out"
		jq -c '{path, cid}' "$profile.out" | jq -s -c 'sort_by(.path) | .[]' >"$profile.jsonl"
		if ! cmp -s "$profile.jsonl" "$v/$profile.jsonl"; then
			echo "$profile: differs from kubo's vectors:" >&2
			diff "$profile.jsonl" "$v/$profile.jsonl" | head -n 20 >&2
			return 1
		fi
	done
	# the directories kubo sharded are those whose size passed the threshold
	if [ -e "$v/hamt.jsonl" ]; then
		[ "$(jq -r .path "$v/hamt.jsonl" | grep -c .)" -gt 0 ]
	fi
}

# kubo, offline and without a daemon: the root CID of each tree per profile.
kubo_root() {
	local profile=$1 dir=$2 flags=()
	export IPFS_PATH=$SCRATCH/repo-$profile
	if [ ! -d "$IPFS_PATH" ]; then
		case $profile in
		kubo-cid-v1) "$KUBO" init --profile=test >/dev/null ;;
		*) "$KUBO" init --profile="test,$profile" >/dev/null ;;
		esac
	fi
	[ "$profile" = kubo-cid-v1 ] && flags=(--cid-version=1)
	"$KUBO" add --only-hash -r -Q --hidden "${flags[@]}" "$dir"
}

@test "live: hp-cid equals 'ipfs add --only-hash -r' of the real kubo, every profile" {
	[ -x "$KUBO" ] || fail "no kubo in .cache/bin (scripts/build-kubo)"
	mkdir -p tree/sub/deeper tree/empty tree/.hidden
	printf 'hello world' >tree/hw
	: >tree/sub/zero
	head -c 262145 /dev/urandom >tree/sub/chunk+1
	head -c 1048577 /dev/urandom >tree/sub/deeper/mib+1
	head -c $((174 * 262144 + 1)) /dev/urandom >tree/wide
	printf 'dot' >tree/.hidden/f
	printf 'sorted' >"tree/B"
	printf 'sorted' >"tree/a-b"
	mkdir tree/many
	python3 -c "
import os
for i in range(4100):
    open('tree/many/entry-%05d-with-a-name-long-enough-to-shard' % i, 'w').write(str(i))
"
	local profile mine theirs
	for profile in "${PROFILES[@]}"; do
		mine=$(root_cid -p "$profile" tree)
		theirs=$(kubo_root "$profile" tree)
		[ "$mine" = "$theirs" ] || {
			echo "$profile: hp-cid $mine, kubo $theirs" >&2
			return 1
		}
		mine=$(root_cid -p "$profile" tree/wide)
		theirs=$(kubo_root "$profile" tree/wide)
		[ "$mine" = "$theirs" ] || {
			echo "$profile tree/wide: hp-cid $mine, kubo $theirs" >&2
			return 1
		}
	done
}
