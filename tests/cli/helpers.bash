# Shared set-up for the bats files: load with `load helpers`.
bats_require_minimum_version 1.5.0
load '/usr/lib/bats/bats-support/load'
load '/usr/lib/bats/bats-assert/load'
load '/usr/lib/bats/bats-file/load'

HP_ROOT=${HP_ROOT:-$(cd "$BATS_TEST_DIRNAME/../.." && pwd)}
HP_BIN=${HP_BIN:-$HP_ROOT/build/bin}
PATH=$HP_BIN:$PATH
VECTORS=$HP_ROOT/tests/vectors
export HP_ROOT HP_BIN PATH VECTORS

# git's test_must_fail: the command must fail with a code below 126, so a
# crash (signal) or a sanitizer abort never counts as the expected failure.
# Usage: run_fails [CODE] cmd args...   (sets $status/$output like `run`)
run_fails() {
	local want=
	if [[ $1 =~ ^[0-9]+$ ]]; then
		want=$1
		shift
	fi
	run --separate-stderr "$@"
	if ((status == 0)); then
		echo "expected failure, got success: $*" >&2
		return 1
	fi
	if ((status >= 126)); then
		echo "died with $status (signal or sanitizer): $*" >&2
		echo "$stderr" >&2
		return 1
	fi
	if [[ -n $want ]] && ((status != want)); then
		echo "expected exit $want, got $status: $*" >&2
		echo "$stderr" >&2
		return 1
	fi
}

# flip_byte FILE OFFSET: invert every bit of one byte in place, so the file
# changes for certain (writing a fixed byte into random data would leave it
# unchanged one time in 256).
flip_byte() {
	local b
	b=$(od -An -tu1 -j "$2" -N1 "$1" | tr -d ' ')
	[ -n "$b" ] || {
		echo "flip_byte: $1 has no byte at offset $2" >&2
		return 1
	}
	printf "\\$(printf %03o $((b ^ 255)))" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}

# Each test gets a private scratch folder.
setup_scratch() {
	SCRATCH=$(mktemp -d "${BATS_TEST_TMPDIR:-/tmp}/hp.XXXXXX")
	cd "$SCRATCH" || return 1
}
