#!/usr/bin/env bats
# The canonical torrent of a manifest (docs/torrent-manifest.md): hp-manifest
# create's torrent fields == hp-mktorrent --from-manifest == hp-mktorrent on the
# folder == python3-libtorrent's own creator (hybrid, byte for byte) and
# mktorrent (v1); the IPFS wrapper directory == kubo's; a gateway serves the
# web-seed paths; content that differs from the manifest is refused.

load helpers
load ../lib/kubo

TV=$VECTORS/torrent
LT_CREATE=$TV/lt_create.py
PY=/usr/bin/python3  # Debian's, where python3-libtorrent lives
TS=2026-01-01T00:00:00Z

setup() {
	setup_scratch
	unset SOURCE_DATE_EPOCH
	"$PY" -c 'import libtorrent' 2>/dev/null || fail "python3-libtorrent is not installed (scripts/install-deps)"
	command -v mktorrent >/dev/null || fail "mktorrent is not installed (scripts/install-deps)"
	KUBO=$HP_ROOT/.cache/bin/ipfs
	[ -x "$KUBO" ] || fail "kubo is not built (scripts/build-kubo)"
}

teardown() {
	kubo_stop 2>/dev/null || true
}

# pkg/: sorting traps ("a-" < "a/b" bytewise, "a/b" < "a-" for v2), an empty
# file, sizes around 16 KiB pieces, and a 3 MB file so that the automatic piece
# size is 32 KiB.
make_tree() {
	mkdir -p pkg/a/b pkg/sub
	head -c 40000 /dev/urandom >pkg/a-
	head -c 16384 /dev/urandom >pkg/a/b/c
	printf x >pkg/a.b
	: >pkg/a0
	head -c 16385 /dev/urandom >"pkg/b c"
	head -c 3000000 /dev/urandom >pkg/sub/big.bin
	printf 'caf\xc3\xa9' >"pkg/$(printf '\xc3\xa9')"
}

v1_of() { jq -r '.infohash_v1 // "-"' "$@"; }
v2_of() { jq -r '.infohash_v2 // "-"' "$@"; }
dist() { jq -r ".distribution.$1" m.json; }

# What libtorrent (python) reads from a .torrent: "v1 v2".
lt_ids() {
	"$PY" - "$1" <<'EOF'
import sys, libtorrent as lt
ti = lt.torrent_info(sys.argv[1])
ih = ti.info_hashes()
print(str(ih.v1) if ih.has_v1() else "-", str(ih.v2) if ih.has_v2() else "-")
EOF
}

log2() {
	local n=$1 k=0
	while ((n > 1)); do n=$((n / 2)); k=$((k + 1)); done
	echo "$k"
}

# kubo_wrap PROFILE_INIT CIDVERSION CID NAME [ADD_FLAGS]: kubo adds DIR_OR_FILE
# ($6) to an offline repository and makes the wrapper in MFS; prints its CID.
kubo_wrap() {
	local repo=$PWD/repo-${1:-default} cid
	[ -d "$repo" ] || IPFS_PATH=$repo "$KUBO" init --profile="test${1:+,$1}" >/dev/null 2>&1
	cid=$(IPFS_PATH=$repo "$KUBO" add -Q -r --hidden $5 "$6")
	[ "$cid" = "$3" ] || {
		echo "kubo adds $6 as $cid, hp-manifest says $3" >&2
		return 1
	}
	IPFS_PATH=$repo "$KUBO" files rm -r /w >/dev/null 2>&1 || true
	IPFS_PATH=$repo "$KUBO" files mkdir --cid-version "$2" /w
	IPFS_PATH=$repo "$KUBO" files cp "/ipfs/$3" "/w/$4"
	IPFS_PATH=$repo "$KUBO" files stat --hash /w
}

@test "a folder: hp-manifest create == --from-manifest == hp-mktorrent on the folder == libtorrent (bytes) == mktorrent (v1)" {
	make_tree
	hp-manifest create --name pkg --version 1 --timestamp "$TS" --torrent-out m.torrent -o m.json -C pkg .
	local v1 v2
	v1=$(dist torrent_infohash)
	v2=$(dist torrent_infohash_v2)
	[[ $v1 =~ ^[0-9a-f]{40}$ && $v2 =~ ^[0-9a-f]{64}$ ]]
	[[ $(dist torrent_magnet) == "magnet:?xt=urn:btih:$v1&xt=urn:btmh:1220$v2&dn=pkg"* ]]
	assert_equal "$(lt_ids m.torrent)" "$v1 $v2"

	run --separate-stderr hp-mktorrent --from-manifest m.json --content pkg -o f.torrent
	assert_success
	assert_equal "$(v1_of <<<"$output") $(v2_of <<<"$output")" "$v1 $v2"
	assert_equal "$(jq -r '.canonical, .flavour, .name, .creation_date, .piece_length' <<<"$output" | tr '\n' ' ')" \
		"true hybrid pkg null 32768 "
	cmp m.torrent f.torrent

	run --separate-stderr hp-mktorrent --no-date -o d.torrent pkg
	assert_success
	assert_equal "$(v1_of <<<"$output") $(v2_of <<<"$output")" "$v1 $v2"
	cmp m.torrent d.torrent

	"$PY" "$LT_CREATE" --hybrid pkg lt.torrent >/dev/null
	cmp m.torrent lt.torrent

	# v1: not the canonical torrent, but the same files as mktorrent sees them
	run --separate-stderr hp-mktorrent --from-manifest m.json --content pkg --v1 -o v1.torrent
	assert_success
	assert_equal "$(jq -r .canonical <<<"$output")" false
	mktorrent -d -l "$(log2 "$(jq -r .piece_length <<<"$output")")" -o mk.torrent pkg >/dev/null
	assert_equal "$(v1_of <<<"$output")" "$(lt_ids mk.torrent | cut -d' ' -f1)"
}

@test "many small files: pieces of 16 KiB, not libtorrent's automatic 32 KiB, equal to libtorrent's creator at 16 KiB; a manifest made at the automatic length still rebuilds" {
	# 300 files of 10,000 bytes: 3 MB, libtorrent's automatic length is 32 KiB;
	# every file is padded to a piece either way, so 16 KiB pieces are as
	# many (300) and half the zeros to hash
	mkdir -p pkg/d
	for i in $(seq 1 300); do head -c 10000 /dev/urandom >"pkg/d/f$i.dat"; done
	hp-manifest create --name pkg --version 1 --timestamp "$TS" --torrent-out m.torrent -o m.json -C pkg .
	run --separate-stderr hp-mktorrent --show m.torrent
	assert_success
	assert_equal "$(jq -r .piece_length <<<"$output")" 16384
	"$PY" "$LT_CREATE" --hybrid --piece-size 16384 pkg lt.torrent >/dev/null
	cmp m.torrent lt.torrent
	run --separate-stderr hp-mktorrent --no-date -o d.torrent pkg
	assert_success
	cmp m.torrent d.torrent

	# a manifest whose torrent fields are of the 32 KiB torrent (as
	# hp-manifest made them before 2026-12-08): its canonical torrent is that one
	hp-manifest create --name pkg --version 1 --timestamp "$TS" --no-torrent -o nt.json -C pkg .
	run --separate-stderr hp-mktorrent --no-date -l 32K -o old.torrent pkg
	assert_success
	jq --argjson t "$output" '.distribution.torrent_infohash = $t.infohash_v1 |
		.distribution.torrent_infohash_v2 = $t.infohash_v2 | .distribution.torrent_magnet = $t.magnet' nt.json >old.json
	hp-manifest validate old.json
	run --separate-stderr hp-mktorrent --from-manifest old.json --content pkg -o f.torrent
	assert_success
	assert_equal "$(jq -r '.canonical, .piece_length' <<<"$output" | tr '\n' ' ')" "true 32768 "
	cmp old.torrent f.torrent
	run --separate-stderr hp-mktorrent --from-manifest m.json --content pkg -o g.torrent
	assert_success
	cmp m.torrent g.torrent
}

@test "one file at the top: a single-file torrent named by its path, equal to libtorrent's and mktorrent's" {
	head -c 100000 /dev/urandom >tool-1.0.tar.gz
	hp-manifest create --name tool --version 1.0 --timestamp "$TS" --torrent-out m.torrent -o m.json tool-1.0.tar.gz
	run --separate-stderr hp-mktorrent --show m.torrent
	assert_success
	assert_equal "$(jq -r '.name, (.file_list | length)' <<<"$output" | tr '\n' ' ')" "tool-1.0.tar.gz 1 "
	[[ $(dist torrent_magnet) == *"&dn=tool-1.0.tar.gz"* ]]
	"$PY" "$LT_CREATE" --hybrid tool-1.0.tar.gz lt.torrent >/dev/null
	cmp m.torrent lt.torrent
	mkdir c && mv tool-1.0.tar.gz c/
	run --separate-stderr hp-mktorrent --from-manifest m.json --content c -o f.torrent
	assert_success
	cmp m.torrent f.torrent
	run --separate-stderr hp-mktorrent --from-manifest m.json -C c --v1 -l 32K -o v1.torrent
	assert_success
	mktorrent -d -l 15 -o mk.torrent c/tool-1.0.tar.gz >/dev/null
	assert_equal "$(v1_of <<<"$output")" "$(lt_ids mk.torrent | cut -d' ' -f1)"
}

@test "one file in a folder keeps its path: a multi-file torrent named by the manifest" {
	mkdir -p p/dist
	head -c 5000 /dev/urandom >p/dist/x.bin
	hp-manifest create --name rel --version 1 --timestamp "$TS" --torrent-out m.torrent -o m.json -C p .
	run --separate-stderr hp-mktorrent --show m.torrent
	assert_equal "$(jq -r '.name, .file_list[0].path' <<<"$output" | tr '\n' ' ')" "rel dist/x.bin "
	mv p rel
	"$PY" "$LT_CREATE" --hybrid rel lt.torrent >/dev/null
	cmp m.torrent lt.torrent
}

@test "trackers and web seeds: in the magnet and the .torrent, the same bytes from --from-manifest with the same -t" {
	make_tree
	hp-manifest create --name pkg --version 1 --timestamp "$TS" --tracker http://t1.example/announce,udp://t2.example:6969/announce \
		--tracker http://t3.example/announce --web-seed https://mirror.example/pkg/ --torrent-out m.torrent -o m.json -C pkg .
	plain=$(hp-manifest create --name pkg --version 1 --timestamp "$TS" -C pkg . | jq -r .distribution.torrent_infohash)
	assert_equal "$(dist torrent_infohash)" "$plain"
	[[ $(dist torrent_magnet) == *"&tr=http%3a%2f%2ft1.example%2fannounce"*"&ws=https%3a%2f%2fmirror.example%2fpkg%2f"* ]]
	run --separate-stderr hp-mktorrent --from-manifest m.json --content pkg \
		-t http://t1.example/announce,udp://t2.example:6969/announce -t http://t3.example/announce -o f.torrent
	assert_success
	assert_equal "$(jq -c .trackers <<<"$output")" \
		'[["http://t1.example/announce","udp://t2.example:6969/announce"],["http://t3.example/announce"]]'
	assert_equal "$(jq -c .web_seeds <<<"$output")" '["https://mirror.example/pkg/"]'
	cmp m.torrent f.torrent
	# without -t, the trackers of the manifest's magnet, each its own tier (as libtorrent reads a magnet)
	run --separate-stderr hp-mktorrent --from-manifest m.json --content pkg -o n.torrent
	assert_success
	assert_equal "$(jq -c .trackers <<<"$output")" \
		'[["http://t1.example/announce"],["udp://t2.example:6969/announce"],["http://t3.example/announce"]]'
	hp-manifest create --name pkg --version 1 --timestamp "$TS" --tracker http://t1.example/announce \
		--tracker udp://t2.example:6969/announce --web-seed https://mirror.example/pkg/ --torrent-out tiers.torrent \
		-o tiers.json -C pkg .
	hp-mktorrent --from-manifest tiers.json --content pkg -o n.torrent >/dev/null
	cmp tiers.torrent n.torrent
	# a tracker in the magnet that is not one: malformed
	jq '.distribution.torrent_magnet += "&tr=ftp%3a%2f%2fx%2f"' m.json >bad.json
	run_fails 65 hp-mktorrent --from-manifest bad.json --content pkg -o bad.torrent
	[[ $stderr == *"torrent_magnet has a tracker that is not a tracker URL" ]]
	jq '.distribution.torrent_magnet += "&tr=http%3a%2f%2fx%2f%00evil"' m.json >bad.json
	run_fails 65 hp-mktorrent --from-manifest bad.json --content pkg -o bad.torrent
	[ ! -e bad.torrent ]
	# comment, creator, date: other bytes, the same infohashes
	run --separate-stderr hp-mktorrent --from-manifest m.json --content pkg --comment hi --creator me --date 1700000000 -o g.torrent
	assert_success
	assert_equal "$(jq -r .canonical <<<"$output") $(v1_of <<<"$output")" "true $plain"
	! cmp -s m.torrent g.torrent
}

@test "a changed byte, a changed size, a missing file, a folder in a file's place: refused, nothing written" {
	make_tree
	hp-manifest create --name pkg --version 1 --timestamp "$TS" -o m.json -C pkg .
	cp -r pkg bad
	flip_byte bad/sub/big.bin 2999999
	run_fails 1 hp-mktorrent --from-manifest m.json --content bad -o out.torrent
	[[ $stderr == "hp-mktorrent: 'sub/big.bin' does not match the manifest: SHA-256 "*", expected $(sha256sum pkg/sub/big.bin | cut -c1-64)" ]]
	[ ! -e out.torrent ]
	flip_byte bad/sub/big.bin 2999999
	printf y >>bad/a.b
	run_fails 1 hp-mktorrent --from-manifest m.json --content bad -o out.torrent
	[[ $stderr == "hp-mktorrent: 'a.b' has 2 bytes, the manifest says 1" ]]
	[ ! -e out.torrent ]
	rm bad/a.b
	run_fails 66 hp-mktorrent --from-manifest m.json --content bad -o out.torrent
	[[ $stderr == "hp-mktorrent: 'a.b' of the manifest is missing from 'bad': "* ]]
	mkdir bad/a.b
	run_fails 1 hp-mktorrent --from-manifest m.json --content bad -o out.torrent
	[[ $stderr == *"'a.b' of the manifest is not a regular file in the content folder" ]]
	[ ! -e out.torrent ]
	printf x >bad/a.b/inner  # a folder with one file of the same size
	run_fails 1 hp-mktorrent --from-manifest m.json --content bad -o out.torrent
	[[ $stderr == *"'a.b' of the manifest is not a regular file in the content folder" ]]
	[ ! -e out.torrent ]
	ls -A | grep -v -x -e m.json -e pkg -e bad && return 1
	# the good content still gives the torrent
	hp-mktorrent --from-manifest m.json --content pkg -o out.torrent >/dev/null
}

@test "-c DIR with --from-manifest is --content; a -c that names no folder (an old comment) is a usage error" {
	make_tree
	hp-manifest create --name pkg --version 1 --timestamp "$TS" --torrent-out m.torrent -o m.json -C pkg .
	run --separate-stderr hp-mktorrent --from-manifest m.json -c pkg -o c.torrent
	assert_success
	[ -z "$stderr" ]
	assert_equal "$(jq -r .canonical <<<"$output")" true
	cmp m.torrent c.torrent
	run_fails 64 hp-mktorrent --from-manifest m.json --content pkg -c hi -o x.torrent
	assert_equal "$stderr" "hp-mktorrent: -c is --content: 'hi' is not a folder (a comment is --comment)
Try 'hp-mktorrent --help' for more information."
	[ ! -e x.torrent ]
	mkdir other
	run_fails 64 hp-mktorrent --from-manifest m.json -c pkg -C other -o x.torrent
	[ ! -e x.torrent ]
}

@test "a manifest whose torrent fields are not its content's canonical torrent: exit 1" {
	make_tree
	hp-manifest create --name pkg --version 1 --timestamp "$TS" -o m.json -C pkg .
	jq '.distribution.torrent_infohash = "0000000000000000000000000000000000000000"' m.json >w.json
	run_fails 1 hp-mktorrent --from-manifest w.json --content pkg -o out.torrent
	[[ $stderr == *"its torrent infohashes are $(dist torrent_infohash) / "*", the manifest says 0000000000000000000000000000000000000000 / "* ]]
	[ ! -e out.torrent ]
	# a v1 torrent is not compared with the manifest's (not canonical)
	run --separate-stderr hp-mktorrent --from-manifest w.json --content pkg --v1 -o out.torrent
	assert_success
}

@test "hostile and odd manifests: traversal, no name, bad options" {
	make_tree
	hp-manifest create --name pkg --version 1 --timestamp "$TS" -o m.json -C pkg .
	jq '.files[0].path = "../etc/passwd"' m.json >t.json
	run_fails 65 hp-mktorrent --from-manifest t.json --content pkg -o out.torrent
	[ ! -e out.torrent ]
	printf '{' >broken.json
	run_fails 65 hp-mktorrent --from-manifest broken.json --content pkg
	run_fails 66 hp-mktorrent --from-manifest nope.json --content pkg
	run_fails 64 hp-mktorrent --from-manifest m.json --content pkg -n other
	run_fails 64 hp-mktorrent --from-manifest m.json pkg
	run_fails 64 hp-mktorrent --from-manifest m.json --content pkg -L
	run_fails 64 hp-manifest create --name x --version 1 --torrent-out t.torrent --no-torrent -C pkg .
	run_fails 64 hp-manifest create --name x --version 1 --car c.car --no-cid -C pkg .
	run_fails 64 hp-manifest create --name x --version 1 --tracker ftp://x/ -C pkg .
	run_fails 64 hp-manifest create --name x --version 1 --web-seed 'not a url' -C pkg .
	hp-hash -C pkg . | run_fails 64 hp-manifest create --name x --version 1 --torrent-out t.torrent -
	[ ! -e t.torrent ] && [ ! -e c.car ]
}

@test "only empty files: no torrent fields (a warning), --torrent-out refused" {
	mkdir e
	: >e/a
	: >e/b
	run --separate-stderr hp-manifest create --name e --version 1 --timestamp "$TS" -C e .
	assert_success
	[[ $stderr == *"no torrent fields: every file is empty"* ]]
	assert_equal "$(jq -c '.distribution | has("torrent_infohash")' <<<"$output")" false
	run_fails 65 hp-manifest create --name e --version 1 --torrent-out e.torrent -C e .
	[ ! -e e.torrent ]
	hp-manifest create --name e --version 1 -o e.json -C e . 2>/dev/null
	run_fails 65 hp-mktorrent --from-manifest e.json --content e
	[[ $stderr == "hp-mktorrent: nothing to share: every file of the manifest is empty" ]]
}

# ---- the IPFS web seed ----

check_wrapper() { # PROFILE KUBO_INIT_PROFILE CIDVERSION KUBO_ADD_FLAGS
	local w cid name
	# a folder: {pkg -> the package root}
	hp-manifest create --name pkg --version 1 --timestamp "$TS" --profile "$1" --ipfs-gateway http://gw.example/ \
		-o m.json -C pkg .
	cid=$(dist ipfs_cid)
	w=$(jq -r '.distribution.web_seeds[0]' m.json)
	[[ $w == http://gw.example/ipfs/*/ ]]
	w=${w#http://gw.example/ipfs/}
	w=${w%/}
	assert_equal "$(kubo_wrap "$2" "$3" "$cid" pkg "$4" pkg)" "$w"
	# hp-mktorrent computes the same from the folder, and --ipfs-cid checks
	run --separate-stderr hp-mktorrent --no-date --profile "$1" --ipfs-gateway http://gw.example --ipfs-cid "$cid" \
		-o t.torrent pkg
	assert_success
	assert_equal "$(jq -r '.ipfs_cid, .ipfs_wrapper_cid, .ipfs_web_seed' <<<"$output" | tr '\n' ' ')" \
		"$cid $w http://gw.example/ipfs/$w/ "
	# --from-manifest takes the profile from ipfs_import and finds the same seed
	run --separate-stderr hp-mktorrent --from-manifest m.json --content pkg --ipfs-gateway http://gw.example -o f.torrent
	assert_success
	assert_equal "$(jq -c .web_seeds <<<"$output")" "[\"http://gw.example/ipfs/$w/\"]"

	# a single file: {name -> the file}
	head -c 300000 /dev/urandom >one.bin
	hp-manifest create --name one --version 1 --timestamp "$TS" --profile "$1" --ipfs-gateway http://gw.example \
		-o s.json one.bin
	cid=$(jq -r '.files[0].cid' s.json)
	w=$(jq -r '.distribution.web_seeds[0]' s.json)
	w=${w#http://gw.example/ipfs/}
	w=${w%/}
	assert_equal "$(kubo_wrap "$2" "$3" "$cid" one.bin "$4" one.bin)" "$w"
	# here the wrapper is the package root itself
	assert_equal "$(jq -r .distribution.ipfs_cid s.json)" "$w"
}

@test "the IPFS wrapper directory equals kubo's (ipfs files mkdir + cp): unixfs-v1-2025, folder and single file" {
	make_tree
	check_wrapper unixfs-v1-2025 unixfs-v1-2025 1 ""
}

@test "the IPFS wrapper directory equals kubo's (ipfs files mkdir + cp): unixfs-v0-2015, folder and single file" {
	make_tree
	check_wrapper unixfs-v0-2015 "" 0 ""
}

@test "kubo's gateway serves every file at the web seed + name + path after importing hp-manifest's CAR" {
	make_tree
	kubo_start unixfs-v1-2025
	hp-manifest create --name pkg --version 1 --timestamp "$TS" --ipfs-gateway "$KUBO_GATEWAY" --car pkg.car \
		--torrent-out m.torrent -o m.json -C pkg .
	timeout 60 ipfs dag import pkg.car >import.txt
	grep -c "^Pinned root" import.txt | grep -qx 2
	local ws
	ws=$(jq -r '.distribution.web_seeds[0]' m.json)
	[[ $ws == "$KUBO_GATEWAY/ipfs/"*/ ]]
	run --separate-stderr hp-mktorrent --show m.torrent
	assert_equal "$(jq -c .web_seeds <<<"$output")" "[\"$ws\"]"
	local p n=0
	while IFS= read -r p; do
		# BEP 19: URL + name + "/" + path, each segment percent-encoded
		local url
		url=$ws$(jq -rn --arg p "pkg/$p" '$p | split("/") | map(@uri) | join("/")')
		timeout 30 curl -fsS -o got "$url"
		cmp got "pkg/$p"
		n=$((n + 1))
	done < <(jq -r '.files[].path' m.json)
	((n == 7))
}

@test "--from-manifest --ipfs-gateway on a package with an empty folder: a clear 65 (the wrapper needs the package root)" {
	mkdir -p pe/empty pe/s
	echo a >pe/s/a
	echo b >pe/b
	hp-manifest create --name pe --version 1 --ipfs-gateway http://gw.example -o pe.json -C pe .
	run_fails 65 hp-mktorrent --from-manifest pe.json --content pe --ipfs-gateway http://gw.example -o pe.torrent
	[[ $stderr == *"cannot make the IPFS web seed: distribution.ipfs_cid $(jq -r .distribution.ipfs_cid pe.json) is not the directory of the manifest's files"* ]]
	[ ! -e pe.torrent ]
	# the manifest's own web seed (over the package root) is used without the option
	run --separate-stderr hp-mktorrent --from-manifest pe.json --content pe -o pe.torrent
	assert_success
	assert_equal "$(jq -c .web_seeds <<<"$output")" "$(jq -c .distribution.web_seeds pe.json)"
	assert_equal "$(v1_of <<<"$output")" "$(jq -r .distribution.torrent_infohash pe.json)"
}

@test "--car: the same bytes every time, the package root as the only root without --ipfs-gateway, every block there" {
	make_tree
	hp-manifest create --name pkg --version 1 --timestamp "$TS" --car a.car -o a.json -C pkg .
	hp-manifest create --name pkg --version 1 --timestamp "$TS" --car b.car -j 4 -o b.json -C pkg .
	cmp a.car b.car
	cmp a.json b.json
	local repo=$PWD/repo
	IPFS_PATH=$repo "$KUBO" init --profile=test,unixfs-v1-2025 >/dev/null 2>&1
	IPFS_PATH=$repo timeout 60 "$KUBO" dag import a.car >import.txt
	assert_equal "$(grep '^Pinned root' import.txt | awk '{print $3}')" "$(jq -r .distribution.ipfs_cid a.json)"
	# every file comes back out of the imported blocks, offline
	local p
	while IFS= read -r p; do
		IPFS_PATH=$repo timeout 30 "$KUBO" cat --offline "$(jq -r .distribution.ipfs_cid a.json)/$p" | cmp - "pkg/$p"
	done < <(jq -r '.files[].path' a.json)
}
