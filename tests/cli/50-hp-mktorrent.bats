#!/usr/bin/env bats
# hp-mktorrent: parity with the independent creators (v1 infohashes equal
# mktorrent's, v2 and hybrid torrents byte for byte libtorrent's own), recorded
# vectors, loading in libtorrent and transmission-show, magnets, hostile
# .torrent files, reproducibility, options and errors.

load helpers
load ../lib/bt

TV=$VECTORS/torrent
LT_CREATE=$TV/lt_create.py

setup() {
	setup_scratch
	export SOURCE_DATE_EPOCH=
	unset SOURCE_DATE_EPOCH
}

# case_path CASE: build tests/vectors/torrent/cases/CASE.tree under ./trees
# and print what to make a torrent of (the file of a one-file case without a
# directory, else the folder named CASE). As tests/vectors/torrent/record does.
case_path() {
	local c=$1 dir=$SCRATCH/trees/$1 tree=$TV/cases/$1.tree
	if [ ! -d "$dir" ]; then
		mkdir -p "$dir"
		"$TV/mktree" "$tree" "$dir"
	fi
	if [ "$(grep -cv '^\s*\(#\|$\)' "$tree")" -eq 1 ] && ! grep -v '^\s*#' "$tree" | grep -q /; then
		echo "$dir/$(ls "$dir")"
	else
		echo "$dir"
	fi
}

# What libtorrent (python) reads from a .torrent: "v1 v2 files pieces".
lt_ids() {
	"$BT_PY" - "$1" <<'EOF'
import sys, libtorrent as lt
ti = lt.torrent_info(sys.argv[1])
ih = ti.info_hashes()
print(str(ih.v1) if ih.has_v1() else "-", str(ih.v2) if ih.has_v2() else "-", ti.num_files(), ti.num_pieces())
EOF
}

v1_of() { jq -r '.infohash_v1 // "-"' "$@"; }
v2_of() { jq -r '.infohash_v2 // "-"' "$@"; }

log2() {
	local n=$1 k=0
	while ((n > 1)); do n=$((n / 2)); k=$((k + 1)); done
	echo "$k"
}

# A random tree with sorting traps and sizes around pieces: random_tree DIR SEED
random_tree() {
	"$BT_PY" - "$1" "$2" <<'EOF'
import os, random, sys
root, seed = sys.argv[1], int(sys.argv[2])
r = random.Random(seed)
names = ["a", "a-", "a.b", "a0", "A", "_", "b c", "\u00e9", "z", "Z", "x.y", "x-y", "x"]
made = set()
for i in range(r.randrange(2, 25)):
    depth = r.randrange(0, 3)
    parts = [r.choice(names) for _ in range(depth)] + [r.choice(names) + str(i % 3)]
    # a name must not be both a file and a directory
    if any("/".join(parts[:k]) in made for k in range(1, len(parts))) or any(m.startswith("/".join(parts) + "/") for m in made):
        continue
    p = "/".join(parts)
    if p in made:
        continue
    made.add(p)
    os.makedirs(os.path.join(root, *parts[:-1]), exist_ok=True)
    size = r.choice([0, 1, r.randrange(1, 70000), 16384 * r.randrange(1, 5) + r.choice([-1, 0, 1])])
    with open(os.path.join(root, *parts), "wb") as f:
        f.write(os.urandom(size))
if not made or all(os.path.getsize(os.path.join(root, p)) == 0 for p in made):
    with open(os.path.join(root, "nonempty"), "wb") as f:
        f.write(b"x" * 1000)
EOF
}

# ---- parity with the independent tools ----

@test "recorded vectors: every case, flavour and piece size gives the recorded infohashes and libtorrent's bytes" {
	local c flavour piece v1 v2 sum src n=0
	while IFS=$'\t' read -r c flavour piece v1 v2 sum src; do
		[[ $c == \#* ]] && continue
		local p
		p=$(case_path "$c")
		run --separate-stderr hp-mktorrent "--$flavour" -l "$piece" --no-date -o out.torrent "$p"
		assert_success
		assert_equal "$(v1_of <<<"$output") $(v2_of <<<"$output")" "$v1 $v2"
		assert_equal "$(sha256sum out.torrent | cut -d' ' -f1)" "$sum"
		n=$((n + 1))
	done <"$TV/expect.tsv"
	((n >= 63))
}

@test "v1: the same infohash as mktorrent, with sorting traps, for every piece size mktorrent allows" {
	bt_need mktorrent libtorrent
	local p
	p=$(case_path traps)
	for l in 15 16 18 20; do
		rm -f m.torrent
		mktorrent -d -l "$l" -o m.torrent "$p" >/dev/null
		run --separate-stderr hp-mktorrent --v1 -l $((1 << l)) --no-date -o h.torrent "$p"
		assert_success
		assert_equal "$(v1_of <<<"$output")" "$(lt_ids m.torrent | cut -d' ' -f1)"
	done
}

@test "v1: mktorrent parity on random trees, trackers and private flag included" {
	bt_need mktorrent libtorrent
	for seed in 1 2 3 4 5 6; do
		rm -rf "t$seed" m.torrent
		mkdir "t$seed"
		random_tree "t$seed" "$seed"
		mktorrent -d -p -l 15 -a http://127.0.0.1:6969/announce -o m.torrent "t$seed" >/dev/null
		run --separate-stderr hp-mktorrent --v1 --private -l 32K -t http://127.0.0.1:6969/announce --no-date -o h.torrent "t$seed"
		assert_success
		assert_equal "$(v1_of <<<"$output")" "$(lt_ids m.torrent | cut -d' ' -f1)"
	done
}

@test "v2 and hybrid: byte for byte libtorrent's create_torrent + set_piece_hashes on random trees" {
	bt_need libtorrent
	for seed in 11 12 13 14 15; do
		rm -rf "t$seed"
		mkdir "t$seed"
		random_tree "t$seed" "$seed"
		for flavour in v2 hybrid v1; do
			for piece in 16384 65536; do
				"$BT_PY" "$LT_CREATE" "--$flavour" --piece-size "$piece" "t$seed" lt.torrent >/dev/null
				hp-mktorrent "--$flavour" -l "$piece" --no-date -o h.torrent "t$seed" >/dev/null
				cmp lt.torrent h.torrent || {
					echo "seed $seed, $flavour, $piece: differs from libtorrent's" >&2
					return 1
				}
			done
		done
	done
}

@test "hybrid with trackers in tiers, web seeds, private, comment and creator equals libtorrent's" {
	bt_need libtorrent
	local p
	p=$(case_path edges)
	"$BT_PY" "$LT_CREATE" --hybrid -t http://a.example/announce,udp://b.example:6969/announce \
		-t https://c.example/announce -w https://ws.example/x/ -w http://ws2.example/ \
		--private --comment 'hé there' --creator me "$p" lt.torrent >/dev/null
	run --separate-stderr hp-mktorrent -t http://a.example/announce,udp://b.example:6969/announce \
		-t https://c.example/announce -w https://ws.example/x/ -w http://ws2.example/ \
		-p -c 'hé there' --creator me --no-date -o h.torrent "$p"
	assert_success
	cmp lt.torrent h.torrent
	assert_equal "$(jq -c .trackers <<<"$output")" \
		'[["http://a.example/announce","udp://b.example:6969/announce"],["https://c.example/announce"]]'
	assert_equal "$(jq -c '[.web_seeds, .private, .comment, .creator, .creation_date]' <<<"$output")" \
		'[["https://ws.example/x/","http://ws2.example/"],true,"hé there","me",null]'
}

@test "the automatic piece size is libtorrent's" {
	bt_need libtorrent
	head -c 3000000 /dev/urandom >big.bin
	"$BT_PY" "$LT_CREATE" --hybrid big.bin lt.torrent >/dev/null
	run --separate-stderr hp-mktorrent --no-date -o h.torrent big.bin
	assert_success
	assert_equal "$(jq .piece_length <<<"$output")" 32768
	cmp lt.torrent h.torrent
}

# ---- what clients read ----

@test "libtorrent loads each flavour; the record matches what it reads" {
	bt_need libtorrent
	local p
	p=$(case_path many)
	for flavour in v1 v2 hybrid; do
		run --separate-stderr hp-mktorrent "--$flavour" --no-date -o "$flavour.torrent" "$p"
		assert_success
		local rec=$output lt
		lt=$(lt_ids "$flavour.torrent")
		read -r v1 v2 nfiles npieces <<<"$lt"
		assert_equal "$(v1_of <<<"$rec") $(v2_of <<<"$rec")" "$v1 $v2"
		assert_equal "$(jq .pieces <<<"$rec")" "$npieces"
		assert_equal "$(jq .files <<<"$rec")" 150
		assert_equal "$(jq .flavour <<<"$rec")" "\"$flavour\""
		assert_equal "$(jq .size <<<"$rec")" "$(find "$p" -type f -printf '%s\n' | paste -sd+ | bc)"
	done
}

@test "transmission-show reads v1 torrents with the same hash and files" {
	bt_need transmission-show
	local p
	p=$(case_path traps)
	run --separate-stderr hp-mktorrent --v1 --no-date -l 32K -t http://127.0.0.1:6969/announce -o v1.torrent "$p"
	assert_success
	local v1
	v1=$(v1_of <<<"$output")
	run transmission-show v1.torrent
	assert_success
	assert_line --partial "Hash: $v1"
	assert_line --partial "Piece Size: 32.00 KiB"
	assert_line --partial "http://127.0.0.1:6969/announce"
	# every file, under the torrent's name
	for f in A Z _ a- a.b a/b a/c/d a0 'a b' é empty z/last; do
		assert_line --partial "traps/$f ("
	done
}

@test "magnets: btih and btmh 1220 + the full v2 hash, dn, tr and ws, as libtorrent parses them" {
	bt_need libtorrent
	local p
	p=$(case_path edges)
	run --separate-stderr hp-mktorrent --no-date -t http://127.0.0.1:6969/announce -w https://gw.example/ipfs/x/ -o h.torrent "$p"
	assert_success
	local m v1 v2
	m=$(jq -r .magnet <<<"$output")
	v1=$(v1_of <<<"$output")
	v2=$(v2_of <<<"$output")
	[[ $m == "magnet:?xt=urn:btih:$v1&xt=urn:btmh:1220$v2&dn=edges&tr="* ]]
	[[ $m == *"&ws=https%3a%2f%2fgw.example%2fipfs%2fx%2f" ]]
	run "$BT_PY" -c '
import sys, libtorrent as lt
p = lt.parse_magnet_uri(sys.argv[1])
print(p.info_hashes.v1, p.info_hashes.v2, p.name, ",".join(p.trackers), ",".join(p.url_seeds))' "$m"
	assert_success
	assert_output "$v1 $v2 edges http://127.0.0.1:6969/announce https://gw.example/ipfs/x/"
	# --magnet prints just the link; v1 and v2 magnets carry one hash each
	run --separate-stderr hp-mktorrent --magnet --no-date -o h2.torrent "$p"
	assert_output "$(jq -r .magnet <<<"$(hp-mktorrent --show h2.torrent)")"
	run --separate-stderr hp-mktorrent --v1 --magnet --no-date -o v1.torrent "$p"
	[[ $output == magnet:?xt=urn:btih:*"&dn=edges" && $output != *btmh* ]]
	run --separate-stderr hp-mktorrent --v2 --magnet --no-date -o v2.torrent "$p"
	[[ $output == magnet:?xt=urn:btmh:1220*"&dn=edges" && $output != *btih* ]]
}

# ---- reproducibility and metadata ----

@test "reproducible: --no-date gives the same bytes twice; --date and SOURCE_DATE_EPOCH set the date" {
	local p
	p=$(case_path traps)
	hp-mktorrent --no-date -o a.torrent "$p" >/dev/null
	hp-mktorrent --no-date -j 1 -o b.torrent "$p" >/dev/null
	cmp a.torrent b.torrent
	! grep -q 'creation date' a.torrent
	run --separate-stderr hp-mktorrent --date 1700000000 -o c.torrent "$p"
	assert_equal "$(jq .creation_date <<<"$output")" 1700000000
	grep -q '13:creation datei1700000000e' c.torrent
	SOURCE_DATE_EPOCH=1600000000 run --separate-stderr hp-mktorrent -o d.torrent "$p"
	assert_equal "$(jq .creation_date <<<"$output")" 1600000000
	# the date is outside the info dictionary: same infohashes
	assert_equal "$(hp-mktorrent --show a.torrent | jq -c '[.infohash_v1, .infohash_v2]')" \
		"$(hp-mktorrent --show d.torrent | jq -c '[.infohash_v1, .infohash_v2]')"
	# without any of them, now
	local before
	before=$(date +%s)
	run --separate-stderr hp-mktorrent -o e.torrent "$p"
	(($(jq .creation_date <<<"$output") >= before))
	SOURCE_DATE_EPOCH=soon run_fails 64 hp-mktorrent -o f.torrent "$p"
	run_fails 64 hp-mktorrent --date -5 -o f.torrent "$p"
}

@test "the executable bit is not recorded unless -x; with -x, attr x as libtorrent reads it" {
	bt_need libtorrent
	mkdir t
	head -c 5000 /dev/urandom >t/run.sh
	head -c 5000 /dev/urandom >t/data
	chmod 755 t/run.sh
	local plain
	plain=$(hp-mktorrent --no-date -o a.torrent t | jq -c '[.infohash_v1, .infohash_v2]')
	chmod 644 t/run.sh
	assert_equal "$(hp-mktorrent --no-date -o b.torrent t | jq -c '[.infohash_v1, .infohash_v2]')" "$plain"
	chmod 755 t/run.sh
	run --separate-stderr hp-mktorrent --attributes --no-date -o x.torrent t
	assert_success
	[ "$(jq -c '[.infohash_v1, .infohash_v2]' <<<"$output")" != "$plain" ]
	run "$BT_PY" -c '
import sys, libtorrent as lt
fs = lt.torrent_info(sys.argv[1]).files()
print([(fs.file_path(i), bool(fs.file_flags(i) & lt.file_storage.flag_executable)) for i in range(fs.num_files()) if not fs.file_flags(i) & lt.file_storage.flag_pad_file])' x.torrent
	assert_output "[('t/data', False), ('t/run.sh', True)]"
	assert_equal "$(hp-mktorrent --show x.torrent | jq -c '.file_list')" \
		'[{"path":"data","size":5000},{"path":"run.sh","size":5000,"executable":true}]'
}

@test "names: the base name by default, --name, -C DIR ., a single file" {
	mkdir -p d/pkg
	echo hello >d/pkg/f
	run --separate-stderr hp-mktorrent --no-date d/pkg/
	assert_success
	assert_equal "$(jq -r '.name + " " + .torrent' <<<"$output")" "pkg pkg.torrent"
	assert_file_exist pkg.torrent
	run --separate-stderr hp-mktorrent --no-date -C d/pkg -o x.torrent .
	assert_equal "$(jq -r .name <<<"$output")" pkg
	assert_equal "$(hp-mktorrent --show x.torrent | jq -c .file_list)" '[{"path":"f","size":6}]'
	run --separate-stderr hp-mktorrent --no-date -n other -o y.torrent d/pkg
	assert_equal "$(jq -r .name <<<"$output")" other
	run --separate-stderr hp-mktorrent --no-date d/pkg/f
	assert_equal "$(jq -r '.name + " " + .torrent' <<<"$output")" "f f.torrent"
	assert_equal "$(hp-mktorrent --show f.torrent | jq -c '.file_list')" '[{"path":"f","size":6}]'
	run_fails 64 hp-mktorrent --no-date -n 'a/b' -o z.torrent d/pkg
	[[ $stderr == *"torrent name 'a/b' is not a valid file name"* ]]
}

@test "--show prints the record and the file list, in the torrent's order" {
	local p
	p=$(case_path traps)
	run --separate-stderr hp-mktorrent --no-date -l 32K -o h.torrent "$p"
	local made=$output
	run --separate-stderr hp-mktorrent --show h.torrent
	assert_success
	assert_equal "$(jq -c 'del(.file_list)' <<<"$output")" "$(jq -c . <<<"$made")"
	# hybrid: libtorrent's component order (the directory "a" before "a-")
	assert_equal "$(jq -r '.file_list[].path' <<<"$output" | paste -sd' ')" "A Z _ a/b a/c/d a b a- a.b a0 empty z/last é"
	hp-mktorrent --v1 --no-date -l 32K -o v1.torrent "$p" >/dev/null
	# v1: whole-path bytewise order, as mktorrent
	assert_equal "$(hp-mktorrent --show v1.torrent | jq -r '.file_list[].path' | paste -sd' ')" \
		"A Z _ a b a- a.b a/b a/c/d a0 empty z/last é"
	# from standard input
	assert_equal "$(hp-mktorrent --show - <h.torrent | jq -r .infohash_v2)" "$(jq -r .infohash_v2 <<<"$made")"
}

@test "-o - writes the torrent to standard output and no record" {
	local p
	p=$(case_path single)
	hp-mktorrent --no-date -o - "$p" >out.torrent
	hp-mktorrent --no-date -o file.torrent "$p" >/dev/null
	cmp out.torrent file.torrent
}

# ---- hostile and broken .torrent files ----

@test "hostile .torrent files: exit 65 and one line naming the problem" {
	local f want n=0
	while IFS=$'\t' read -r f want; do
		[[ $f == \#* ]] && continue
		run_fails 65 hp-mktorrent --show "$TV/hostile/$f"
		[ -z "$output" ]
		local -a lines
		mapfile -t lines <<<"$stderr"
		((${#lines[@]} == 1)) || {
			echo "$f: ${#lines[@]} lines on stderr: $stderr" >&2
			return 1
		}
		[[ ${lines[0]} == "hp-mktorrent: $TV/hostile/$f: "*"$want"* ]] || {
			echo "$f: got '${lines[0]}', want '$want'" >&2
			return 1
		}
		n=$((n + 1))
	done <"$TV/hostile.tsv"
	((n >= 30))
}

@test "a .torrent over 64 MiB is refused before parsing; missing is 66; a directory 66" {
	truncate -s $((64 * 1024 * 1024 + 1)) big.torrent
	run_fails 65 hp-mktorrent --show big.torrent
	assert_equal "$stderr" "hp-mktorrent: big.torrent: larger than 64 MiB, too big for a .torrent"
	run_fails 66 hp-mktorrent --show missing.torrent
	mkdir dir.torrent
	run_fails hp-mktorrent --show dir.torrent
	((status == 66 || status == 65))
}

@test "--json-errors: a hostile file gives one JSON error object" {
	run_fails 65 hp-mktorrent --json-errors --show "$TV/hostile/dotdot-path.torrent"
	assert_equal "$(jq -r '.exit_code, .level' <<<"$stderr" | paste -sd' ')" "65 error"
	[[ $(jq -r .message <<<"$stderr") == *"file path '../etc/passwd' has a '..' segment" ]]
}

# ---- making: errors and options ----

@test "usage errors: exit 64, one line and the hint" {
	mkdir t
	echo x >t/f
	for args in "--v1 --v2 t" "-l 1000 t" "-l 8K t" "-l 256M t" "-l 3K t" "-t ftp://x/ t" "-t http://a/,, t" \
		"-w udp://x/ t" "-w http://127.0.0.1:/ t" "-w http://h:99999/ t" "-t http://h:0/announce t" "-w 'not a url' t" "" "t t" "- " "--ipfs-gateway ftp://gw.example t" \
		"--ipfs-cid bafyabc t" "--profile nope t" "--from-manifest m.json t" "--from-manifest m.json -n x" \
		"--content a -C b t" "--show x.torrent t" "--magnet -o - t" "-j 9999 t" "--date soon t"; do
		eval "run_fails 64 hp-mktorrent $args"
		[ -z "$output" ]
		[[ ${stderr} == "hp-mktorrent: "*$'\n'"Try 'hp-mktorrent --help' for more information." ]] || {
			echo "hp-mktorrent $args: $stderr" >&2
			return 1
		}
	done
}

@test "--ipfs-cid is checked against the content's CID computed in the same read: exit 1, nothing written" {
	mkdir t
	echo x >t/f
	run_fails 1 hp-mktorrent --ipfs-gateway https://gw.example --ipfs-cid bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi t
	[[ $stderr == *"the content's CID is "*" under unixfs-v1-2025, not bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi" ]]
	[ ! -e t.torrent ]
	run --separate-stderr hp-mktorrent --no-date --ipfs-gateway https://gw.example/ t
	[ "$status" -eq 0 ]
	cid=$(jq -r .ipfs_cid <<<"$output")
	wrapper=$(jq -r .ipfs_wrapper_cid <<<"$output")
	[ "$(jq -r .ipfs_web_seed <<<"$output")" = "https://gw.example/ipfs/$wrapper/" ]
	[ "$(jq -r '.web_seeds[0]' <<<"$output")" = "https://gw.example/ipfs/$wrapper/" ]
	run --separate-stderr hp-mktorrent --no-date -o u.torrent --ipfs-gateway https://gw.example --ipfs-cid "$cid" t
	[ "$status" -eq 0 ]
	cmp t.torrent u.torrent
}

@test "nothing to share: an empty directory, only empty files (65); a missing path (66)" {
	mkdir empty zeros
	: >zeros/a
	: >zeros/b
	run_fails 65 hp-mktorrent empty
	[[ $stderr == "hp-mktorrent: 'empty' holds no files" ]]
	run_fails 65 hp-mktorrent zeros
	[[ $stderr == *"nothing to share"* ]]
	run_fails 66 hp-mktorrent missing
	[ ! -e missing.torrent ] && [ ! -e empty.torrent ] && [ ! -e zeros.torrent ]
}

@test "a file name that cannot go in a torrent is exit 65 naming it" {
	mkdir t
	echo x >t/ok
	echo y >"t/bad$(printf '\xff')"
	run_fails 65 hp-mktorrent t
	[[ $stderr == *"cannot put this file in a torrent: path 'bad\\xff' is not valid UTF-8" ]]
	rm t/bad*
	echo z >"t/ctl$(printf '\001')"
	run_fails 65 hp-mktorrent t
	[[ $stderr == *"contains a control character" ]]
}

@test "the output is written atomically: no partial file, 73 when it cannot be created" {
	local p
	p=$(case_path single)
	run_fails 73 hp-mktorrent --no-date -o nodir/x.torrent "$p"
	[ ! -e nodir ]
	echo old >keep.torrent
	hp-mktorrent --no-date -o keep.torrent "$p" >/dev/null
	hp-mktorrent --show keep.torrent >/dev/null
	[ -z "$(ls -A | grep tmp)" ]
}

@test "a file unreadable or changing while read is an error, and no torrent is written" {
	mkdir t
	echo x >t/a
	# a pseudo-file: listed as 0 bytes, then it has some (a change while read)
	ln -s /proc/self/status t/s
	run_fails 74 hp-mktorrent -L t
	[[ $stderr == *"'s' changed while being read"* ]]
	[ ! -e t.torrent ]
	rm t/s
	if [ "$(id -u)" -ne 0 ]; then  # root reads any file
		echo y >t/b
		chmod 000 t/b
		run_fails 66 hp-mktorrent t
		[ ! -e t.torrent ]
	fi
}

@test "threads and block splits do not change the result" {
	local p
	p=$(case_path many)
	hp-mktorrent --v1 --no-date -j 1 -o a.torrent "$p" >/dev/null
	for j in 2 3 8; do
		hp-mktorrent --v1 --no-date -j "$j" -o b.torrent "$p" >/dev/null
		cmp a.torrent b.torrent
		hp-mktorrent --no-date -j "$j" -o h$j.torrent "$p" >/dev/null
	done
	cmp h2.torrent h8.torrent
}

@test "v1 lanes (a file of 64 MiB or more: one v1 sink per job): mktorrent's infohash with -j 1 to 4" {
	bt_need mktorrent libtorrent
	# a big file that starts and ends inside pieces, between small files,
	# and the big file alone
	mkdir -p lanes
	head -c 1000 /dev/urandom >lanes/a
	head -c $((64 * 1048576 + 12345)) /dev/urandom >lanes/big
	head -c 70000 /dev/urandom >lanes/c
	local p l j want
	for p in lanes lanes/big; do
		for l in 16 20; do
			rm -f m.torrent
			mktorrent -d -l "$l" -o m.torrent "$p" >/dev/null
			want=$(lt_ids m.torrent | cut -d' ' -f1)
			for j in 1 2 3 4; do
				run --separate-stderr hp-mktorrent --v1 -j "$j" -l $((1 << l)) --no-date -o h.torrent "$p"
				assert_success
				[ "$(v1_of <<<"$output")" = "$want" ] || fail "$p, 2^$l pieces, -j $j: $(v1_of <<<"$output"), mktorrent $want"
			done
		done
	done
}

@test "piece counts clients refuse are refused before reading (more than 2^21 pieces)" {
	truncate -s $((16384 * 2097152 + 1)) sparse
	run_fails 64 hp-mktorrent -l 16K sparse
	[[ $stderr == *"use a larger --piece-size"* ]]
}

@test "records follow schemas/hp-mktorrent.record.schema.json" {
	local checker=$HP_ROOT/.cache/venv/bin/check-jsonschema
	[ -x "$checker" ] || {
		echo "check-jsonschema is not installed (scripts/install-deps)" >&2
		return 1
	}
	local p
	p=$(case_path traps)
	hp-mktorrent --no-date -o h.torrent "$p" >rec1.json
	hp-mktorrent --v1 -t http://a.example/announce -w https://w.example/ --private --comment hi --creator me --date 5 \
		-o v1.torrent "$p" >rec2.json
	hp-mktorrent --v2 --no-date -o v2.torrent "$p" >rec3.json
	hp-mktorrent --show h.torrent >rec4.json
	"$checker" --schemafile "$HP_ROOT/schemas/hp-mktorrent.record.schema.json" rec*.json
	jq '.infohash_v1 = "ABC"' rec1.json >bad.json
	run_fails "$checker" --schemafile "$HP_ROOT/schemas/hp-mktorrent.record.schema.json" bad.json
}

# ---- the usual tool checks (as tests/cli/05-docs.bats does for the others) ----

@test "--help, --version, an unknown option; the man page renders and documents every option" {
	run --separate-stderr hp-mktorrent --help
	assert_success
	[[ $output == *Usage:* ]] && [ -z "$stderr" ]
	local version
	version=$(sed -n 's/^VERSION[[:space:]]*:=[[:space:]]*//p' "$HP_ROOT/Makefile")
	run --separate-stderr hp-mktorrent --version
	assert_output "hp-mktorrent (hybrid-p2p) $version"
	run_fails 64 hp-mktorrent --bogus-option
	man_page_ok hp-mktorrent
}

@test "--help: every option of the table in cmd/hp-mktorrent.c, and the common ones; -c is --content" {
	help_lists_table hp-mktorrent.c mkt_options hp-mktorrent
	run hp-mktorrent --help
	[[ $output == *$'\n'"  -c, --content DIR "* && $output == *$'\n'"      --comment TEXT "* ]]
}

@test "-c TEXT, the old comment: still the comment without --from-manifest, one warning naming --comment" {
	mkdir t
	echo x >t/f
	hp-mktorrent --no-date --comment hi -o new.torrent t >new.json
	run --separate-stderr hp-mktorrent --no-date -c hi -o old.torrent t
	assert_success
	assert_equal "$stderr" \
		"hp-mktorrent: warning: '-c' is deprecated: use '--comment' (the old spelling goes in a later release)"
	assert_equal "$(jq -r .comment <<<"$output")" hi
	cmp new.torrent old.torrent
	# the last comment given wins, whichever spelling
	run --separate-stderr hp-mktorrent --no-date -c hi --comment there -o both.torrent t
	assert_success
	assert_equal "$(jq -r .comment <<<"$output")" there
	[ "$(grep -c . <<<"$stderr")" -eq 1 ]
	run --separate-stderr hp-mktorrent --no-date --comment there -c hi -o both.torrent t
	assert_equal "$(jq -r .comment <<<"$output")" hi
	run --separate-stderr hp-mktorrent --quiet --no-date -c hi -o quiet.torrent t
	assert_success
	[ -z "$stderr" ]
}
