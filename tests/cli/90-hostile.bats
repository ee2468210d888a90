#!/usr/bin/env bats
# Hostile and broken inputs across the tools: every case of
# tests/hostile/cases.tsv must fail with its exact exit code, print nothing
# on stdout (or, for hp-verify, only its JSON report), write no file, and put
# one line per problem on stderr, each starting with the tool's name, naming
# the problem, free of control characters.
#
# The big and deep inputs are made at test time by scripts/gen-hostile; keys
# (RSA, EC, X25519, encrypted, truncated...) and trees with hostile file
# names are made here with openssl.

load helpers

CASES=$HP_ROOT/tests/hostile/cases.tsv

setup_file() {
	export H=$HP_ROOT/tests/hostile M=$HP_ROOT/tests/manifests
	export G=$BATS_FILE_TMPDIR/gen K=$BATS_FILE_TMPDIR/keys
	"$HP_ROOT/scripts/gen-hostile" "$G"
	mkdir -p "$K/kdir"
	(
		cd "$K" || exit 1
		umask 077
		cp "$M/rfc8032-test1.pem" k.pem
		head -c 60 k.pem >trunc.pem
		sed 's/MC4CAQAw/MC4CAQBw/' k.pem >corrupt.pem
		printf -- '-----BEGIN PRIVATE KEY-----\n!!!!\n-----END PRIVATE KEY-----\n' >garbage.pem
		openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:1024 -out rsa.pem 2>/dev/null
		openssl pkey -in rsa.pem -pubout -out rsa.pub
		openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out ec.pem 2>/dev/null
		openssl genpkey -algorithm X25519 -out x25519.pem 2>/dev/null
		openssl req -new -x509 -key ec.pem -subj /CN=x -days 1 -out cert.pem 2>/dev/null
		openssl genpkey -algorithm ed25519 -out other.pem
		openssl pkey -in other.pem -pubout -out other.pub
		openssl pkcs8 -topk8 -in k.pem -v2 aes-256-cbc -passout pass:right -out enc.pem
		openssl pkey -in k.pem -pubout -out pub.pem
		head -c 50 pub.pem >trunc.pub
		: >empty.pem
		cat k.pem k.pem >two.pem
		head -c 100000 /dev/zero | tr '\0' A >big.pem
		cp k.pem open.pem
		chmod 644 open.pem
		# trees with names a manifest cannot hold
		mkdir nonutf8 ctrlname
		printf x >nonutf8/$'\xff\xfe.txt'
		printf x >ctrlname/$'a\x1b[31m.txt'
		# content whose files are symbolic links out of the tree
		mkdir links real
		printf 'root:x:0:0:root:/root:/bin/bash\n' >secret
		cp secret real/passwd
		ln -s "$K/secret" links/a.txt
		ln -s "$K/real" links/sub
		python3 - "$(sha256sum secret | cut -c1-64)" <<-'EOF'
			import hashlib, json, sys
			files = [{"path": "a.txt", "size": 32, "sha256": sys.argv[1]},
			         {"path": "sub/passwd", "size": 32, "sha256": sys.argv[1]}]
			cid = hashlib.sha256(json.dumps(files, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
			json.dump({"manifest_version": "1.0", "name": "x", "version": "1", "files": files,
			           "total_size": 64, "content_id": cid}, open("links.json", "w"))
		EOF
	)
}

setup() {
	setup_scratch
}

# check_case NAME CODE STDOUT LINES MESSAGE COMMAND: run one case in an empty
# folder; print what is wrong and return 1, or return 0.
check_case() {
	local name=$1 code=$2 out=$3 nlines=$4 msg=$5 cmd=$6
	local dir=$BATS_TEST_TMPDIR/case-$name
	mkdir "$dir"
	local status=0
	(cd "$dir" && bash -c "$cmd" >"$dir.out" 2>"$dir.err") || status=$?
	local tool why=()
	tool=$(grep -o 'hp-[a-z]*' <<<"$cmd" | tail -n 1)
	msg=${msg//'$H'/$H}
	msg=${msg//'$M'/$M}
	msg=${msg//'$G'/$G}
	msg=${msg//'$K'/$K}
	((status == code)) || why+=("exit $status, want $code")
	case $out in
	-) [ ! -s "$dir.out" ] || why+=("stdout is not empty") ;;
	report)
		[ "$(wc -l <"$dir.out")" = 1 ] && jq -e '.valid == false' "$dir.out" >/dev/null ||
			why+=("stdout is not one JSON report with valid false")
		;;
	esac
	local n
	n=$(wc -l <"$dir.err")
	((n == nlines)) || why+=("$n lines on stderr, want $nlines")
	if grep -v "^$tool: " "$dir.err" | grep -qvxF "Try '$tool --help' for more information."; then
		why+=("a line on stderr does not start with '$tool: '")
	fi
	grep -qF -- "$msg" "$dir.err" || why+=("stderr does not say: $msg")
	[ "$(LC_ALL=C tr -d '\n\040-\176\200-\377' <"$dir.err" | wc -c)" = 0 ] ||
		why+=("control characters on stderr")
	[ -z "$(ls -A "$dir")" ] || why+=("files left behind: $(ls -A "$dir" | tr '\n' ' ')")
	if ((${#why[@]})); then
		printf '%s: %s\n' "$name" "${why[@]}"
		printf '  command: %s\n' "$cmd"
		sed 's/^/  stderr: /' "$dir.err" | cat -v | head -n 5
		sed 's/^/  stdout: /' "$dir.out" | cut -c1-200 | head -n 3
		return 1
	fi
}

# run_cases GLOB: every case whose name matches; known bugs are left out.
run_cases() {
	local glob=$1 n=0 bad=0
	local name code out nlines msg cmd
	while IFS=$'\t' read -r name code out nlines msg cmd; do
		[[ -z $name || $name == '#'* ]] && continue
		# shellcheck disable=SC2053
		[[ $name == $glob ]] || continue
		n=$((n + 1))
		check_case "$name" "$code" "$out" "$nlines" "$msg" "$cmd" || bad=$((bad + 1))
	done <"$CASES"
	echo "$n cases, $bad failed"
	((n > 0 && bad == 0))
}

need_tool() {
	[ -x "$HP_BIN/$1" ] || fail "$1 is not built in $HP_BIN"
}

@test "the table: at least 40 cases, unique names, six columns" {
	local total names
	total=$(grep -vc '^#' "$CASES")
	((total >= 40))
	names=$(grep -v '^#' "$CASES" | cut -f1 | sort | uniq -d)
	assert_equal "$names" ''
	run awk -F'\t' '!/^#/ && NF != 6 { print NR ": " $0 }' "$CASES"
	assert_output ''
}

@test "hp-manifest validate: hostile manifests" {
	run run_cases 'validate-*'
	echo "$output"
	assert_success
}

@test "hp-manifest canonical and show: hostile manifests" {
	run run_cases 'canonical-*'
	echo "$output"
	assert_success
	run run_cases 'show-*'
	echo "$output"
	assert_success
}

@test "hp-manifest create: hostile records and file names" {
	run run_cases 'create-*'
	echo "$output"
	assert_success
	need_tool hp-hash
	run run_cases 'hash-*'
	echo "$output"
	assert_success
}

@test "hp-sign: hostile keys and manifests" {
	need_tool hp-sign
	run run_cases 'sign-*'
	echo "$output"
	assert_success
}

@test "hp-verify: hostile manifests, signatures and key files" {
	need_tool hp-verify
	run run_cases 'verify-*'
	echo "$output"
	assert_success
}

@test "the 64 MiB bound: exactly 64 MiB is read, one byte more is refused" {
	run --separate-stderr timeout 20 hp-manifest validate "$G/limit-exact.json"
	assert_success
	assert_equal "$stderr" ''
	run_fails 65 hp-manifest validate "$G/limit-plus-one.json"
	assert_equal "$stderr" "hp-manifest: '$G/limit-plus-one.json' is larger than the limit of 67108864 bytes"
}

@test "a 60 MB manifest of 15,000 paths 2,000 segments deep validates in seconds" {
	SECONDS=0
	run --separate-stderr timeout 30 hp-manifest validate "$G/deep-paths.json"
	assert_success
	echo "took ${SECONDS}s"
	((SECONDS < 30))
	run --separate-stderr timeout 30 hp-manifest canonical "$G/deep-paths.json"
	assert_success
}

@test "a valid manifest stays valid with CRLF line ends and surrounding whitespace" {
	sed 's/$/\r/' "$M/valid/full-unsigned.json" >crlf.json
	{ printf ' \n\t'; cat "$M/valid/full-unsigned.json"; printf '\n\n  '; } >ws.json
	hp-manifest validate crlf.json ws.json
	hp-manifest canonical "$M/valid/full-unsigned.json" >a
	hp-manifest canonical crlf.json | cmp - a
}

@test "show: control characters from a manifest never reach the terminal" {
	jq '.description = "evil \u001b[2J\u001b]0;pwned\u0007 end\rline"' "$M/valid/minimal.json" >esc.json
	hp-manifest validate esc.json # the schema allows them in a description
	run --separate-stderr hp-manifest show esc.json
	assert_success
	[ "$(LC_ALL=C tr -d '\n\040-\176\200-\377' <<<"$output" | wc -c)" = 0 ]
	assert_output --partial 'evil'
}
