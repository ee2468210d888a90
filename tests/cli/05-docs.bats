#!/usr/bin/env bats
# Every tool: --help, --version and a usage error behave as the README says,
# and its man page exists, renders without a groff warning and documents
# every long option that --help shows.

load helpers

setup() {
	setup_scratch
	VERSION=$(sed -n 's/^VERSION[[:space:]]*:=[[:space:]]*//p' "$HP_ROOT/Makefile")
	[ -n "$VERSION" ] || {
		echo "cannot read VERSION from the Makefile" >&2
		return 1
	}
}

# `TOOL --help`: exit 0, a "Usage:" line on stdout, nothing on stderr.
check_help() {
	local tool=$1
	run --separate-stderr "$tool" --help
	assert_success
	[[ $output == *Usage:* ]] || {
		echo "$tool --help: no 'Usage:' on stdout" >&2
		return 1
	}
	[ -z "$stderr" ] || {
		echo "$tool --help wrote to stderr: $stderr" >&2
		return 1
	}
}

# `TOOL --version`: exactly "TOOL (hybrid-p2p) VERSION", nothing on stderr.
check_version() {
	local tool=$1
	run --separate-stderr "$tool" --version
	assert_success
	assert_output "$tool (hybrid-p2p) $VERSION"
	[ -z "$stderr" ] || {
		echo "$tool --version wrote to stderr: $stderr" >&2
		return 1
	}
}

# `TOOL [SUBCOMMAND] --bogus-option`: exit 64, nothing on stdout, and on
# stderr exactly one "TOOL: ..." line and the "Try 'TOOL --help'" hint.
check_bogus_option() {
	local tool=$1
	shift
	run_fails 64 "$tool" "$@" --bogus-option
	[ -z "$output" ] || {
		echo "$tool ${*:+$* }--bogus-option wrote to stdout: $output" >&2
		return 1
	}
	local -a lines
	mapfile -t lines <<<"$stderr"
	if ((${#lines[@]} != 2)) || [[ ${lines[0]} != "$tool: "?* ]] ||
		[[ ${lines[1]} != "Try '$tool --help' for more information." ]]; then
		echo "$tool ${*:+$* }--bogus-option: expected one '$tool: ...' line and the" \
			"'Try '$tool --help' for more information.' hint on stderr, got:" >&2
		printf '%s\n' "$stderr" >&2
		return 1
	fi
}

man_page() {
	echo "$HP_ROOT/docs/$1.1"
}

# docs/TOOL.1 exists and `groff -man -ww -z` says nothing about it.
check_man_renders() {
	local page
	page=$(man_page "$1")
	[ -f "$page" ] || {
		echo "no man page $page" >&2
		return 1
	}
	command -v groff >/dev/null || {
		echo "groff is not installed (Debian package groff-base)" >&2
		return 1
	}
	run groff -man -ww -z "$page"
	assert_success
	assert_output ""
}

# The roff source as plain text: \- is '-', font changes and the
# zero-width escapes \& and \% removed.
man_text() {
	sed -e 's/\\-/-/g' -e 's/\\[&%]//g' -e 's/\\f[A-Z1-4]//g' \
		-e 's/\\f(..//g' -e 's/\\f\[[^]]*\]//g' "$1"
}

# Every long option in `TOOL [COMMAND] --help` appears in docs/TOOL.1.
check_man_options() {
	local tool=$1 page text opt missing=()
	shift
	page=$(man_page "$tool")
	[ -f "$page" ] || {
		echo "no man page $page" >&2
		return 1
	}
	run --separate-stderr "$tool" "$@" --help
	assert_success
	local -a opts
	mapfile -t opts < <(grep -o -- '--[a-z][a-z-]*' <<<"$output" | sort -u)
	((${#opts[@]} > 0)) || {
		echo "$tool ${*:+$* }--help shows no long option" >&2
		return 1
	}
	text=$(man_text "$page")
	for opt in "${opts[@]}"; do
		grep -Eq -- "(^|[^a-z-])${opt}([^a-z-]|$)" <<<"$text" || missing+=("$opt")
	done
	if ((${#missing[@]})); then
		echo "$page does not document: ${missing[*]}" >&2
		return 1
	fi
}

# ---- hp-hash ----------------------------------------------------------------
@test "hp-hash --help: usage on stdout, exit 0" { check_help hp-hash; }
@test "hp-hash --version" { check_version hp-hash; }
@test "hp-hash: an unknown option is a one-line usage error, exit 64" { check_bogus_option hp-hash; }
@test "hp-hash: docs/hp-hash.1 renders without warnings" { check_man_renders hp-hash; }
@test "hp-hash: the man page documents every option of --help" { check_man_options hp-hash; }

# ---- hp-manifest ------------------------------------------------------------
@test "hp-manifest --help: usage on stdout, exit 0" { check_help hp-manifest; }
@test "hp-manifest --version" { check_version hp-manifest; }
@test "hp-manifest: an unknown option is a one-line usage error, exit 64" { check_bogus_option hp-manifest; }
@test "hp-manifest: an unknown option of each subcommand is a one-line usage error" {
	for sub in create validate canonical show; do
		check_bogus_option hp-manifest "$sub"
	done
}
@test "hp-manifest: docs/hp-manifest.1 renders without warnings" { check_man_renders hp-manifest; }
@test "hp-manifest: the man page documents every option of --help" { check_man_options hp-manifest; }
@test "hp-manifest: the man page documents every option of each command's --help" {
	for sub in create validate canonical show; do
		check_man_options hp-manifest "$sub"
	done
}

# ---- hp-sign ----------------------------------------------------------------
@test "hp-sign --help: usage on stdout, exit 0" { check_help hp-sign; }
@test "hp-sign --version" { check_version hp-sign; }
@test "hp-sign: an unknown option is a one-line usage error, exit 64" { check_bogus_option hp-sign; }
@test "hp-sign: an unknown option of each subcommand is a one-line usage error" {
	for sub in keygen pubkey manifest file; do
		check_bogus_option hp-sign "$sub"
	done
}
@test "hp-sign: docs/hp-sign.1 renders without warnings" { check_man_renders hp-sign; }
@test "hp-sign: the man page documents every option of --help" { check_man_options hp-sign; }

# ---- hp-verify --------------------------------------------------------------
@test "hp-verify --help: usage on stdout, exit 0" { check_help hp-verify; }
@test "hp-verify --version" { check_version hp-verify; }
@test "hp-verify: an unknown option is a one-line usage error, exit 64" { check_bogus_option hp-verify; }
@test "hp-verify: docs/hp-verify.1 renders without warnings" { check_man_renders hp-verify; }
@test "hp-verify: the man page documents every option of --help" { check_man_options hp-verify; }

# ---- hybrid-p2p -------------------------------------------------------------
@test "hybrid-p2p --help: usage on stdout, exit 0" { check_help hybrid-p2p; }
@test "hybrid-p2p --version" { check_version hybrid-p2p; }
@test "hybrid-p2p: an unknown option is a one-line usage error, exit 64" { check_bogus_option hybrid-p2p; }
@test "hybrid-p2p: docs/hybrid-p2p.1 renders without warnings" { check_man_renders hybrid-p2p; }
@test "hybrid-p2p: the man page documents every option of --help" { check_man_options hybrid-p2p; }

# ---- hp-cid -----------------------------------------------------------------
@test "hp-cid --help: usage on stdout, exit 0" { check_help hp-cid; }
@test "hp-cid --version" { check_version hp-cid; }
@test "hp-cid: an unknown option is a one-line usage error, exit 64" { check_bogus_option hp-cid; }
@test "hp-cid: docs/hp-cid.1 renders without warnings" { check_man_renders hp-cid; }
@test "hp-cid: the man page documents every option of --help" { check_man_options hp-cid; }

# ---- hp-pin -----------------------------------------------------------------
@test "hp-pin --help: usage on stdout, exit 0" { check_help hp-pin; }
@test "hp-pin --version" { check_version hp-pin; }
@test "hp-pin: an unknown option is a one-line usage error, exit 64" { check_bogus_option hp-pin; }
@test "hp-pin: an unknown option of each subcommand is a one-line usage error" {
	for sub in add status; do
		check_bogus_option hp-pin "$sub"
	done
}
@test "hp-pin: docs/hp-pin.1 renders without warnings" { check_man_renders hp-pin; }
@test "hp-pin: the man page documents every option of --help" { check_man_options hp-pin; }

# ---- hp-fetch ---------------------------------------------------------------
@test "hp-fetch --help: usage on stdout, exit 0" { check_help hp-fetch; }
@test "hp-fetch --version" { check_version hp-fetch; }
@test "hp-fetch: an unknown option is a one-line usage error, exit 64" { check_bogus_option hp-fetch; }
@test "hp-fetch: docs/hp-fetch.1 renders without warnings" { check_man_renders hp-fetch; }
@test "hp-fetch: the man page documents every option of --help" { check_man_options hp-fetch; }

# ---- hp-mktorrent -----------------------------------------------------------
@test "hp-mktorrent --help: usage on stdout, exit 0" { check_help hp-mktorrent; }
@test "hp-mktorrent --version" { check_version hp-mktorrent; }
@test "hp-mktorrent: an unknown option is a one-line usage error, exit 64" { check_bogus_option hp-mktorrent; }
@test "hp-mktorrent: docs/hp-mktorrent.1 renders without warnings" { check_man_renders hp-mktorrent; }
@test "hp-mktorrent: the man page documents every option of --help" { check_man_options hp-mktorrent; }

# ---- every other tool that is built ------------------------------------------
# A tool in the bin folder without its own block above (a new one) still gets
# every check, so it cannot ship without --help, --version and a man page.
@test "docs: every other tool in the bin folder passes the same checks" {
	local tool
	[ -d "$HP_BIN" ] || fail "no $HP_BIN (run make)"
	for tool in "$HP_BIN"/*; do
		[ -f "$tool" ] && [ -x "$tool" ] || continue
		tool=${tool##*/}
		grep -q "{ check_man_options $tool; }" "$BATS_TEST_FILENAME" && continue
		check_help "$tool"
		check_version "$tool"
		check_bogus_option "$tool"
		check_man_renders "$tool"
		check_man_options "$tool"
	done
}

# ---- the other documents ----------------------------------------------------
@test "docs: manifest.md and exit-codes.md exist; every exit code in cli.h is documented" {
	assert_file_exist "$HP_ROOT/docs/manifest.md"
	assert_file_exist "$HP_ROOT/docs/exit-codes.md"
	local code missing=()
	for code in $(sed -n 's/^[[:space:]]*EXIT_[A-Z]* = \([0-9]*\),.*/\1/p' "$HP_ROOT/cmd/cli.h"); do
		grep -q "^| $code |" "$HP_ROOT/docs/exit-codes.md" || missing+=("$code")
	done
	if ((${#missing[@]})); then
		echo "docs/exit-codes.md lacks the codes: ${missing[*]}" >&2
		return 1
	fi
}
