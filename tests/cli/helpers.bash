# Shared set-up for the bats files: load with `load helpers`.
# (status, output and stderr are set by bats' run)
# shellcheck disable=SC2154
bats_require_minimum_version 1.5.0
load '/usr/lib/bats/bats-support/load'
load '/usr/lib/bats/bats-assert/load'
load '/usr/lib/bats/bats-file/load'

HP_ROOT=${HP_ROOT:-$(cd "$BATS_TEST_DIRNAME/../.." && pwd)}
HP_BIN=${HP_BIN:-$HP_ROOT/build/bin}
PATH=$HP_BIN:$PATH
VECTORS=$HP_ROOT/tests/vectors
export HP_ROOT HP_BIN PATH VECTORS

# Lab settings: BitTorrent sessions run no DHT unless a test asks for one
# (tests/lib/dht.bash: a private DHT on loopback). The tools' default is the
# internet's DHT, which a test on 127.0.0.1 cannot reach; uTP stays on, as
# users run it.
export HP_NO_DHT=1
unset HP_DHT_BOOTSTRAP

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

# need CMD...: fail (never skip) naming scripts/install-deps when a command
# is missing.
need() {
	local t
	for t in "$@"; do
		command -v "$t" >/dev/null || {
			echo "$t is not installed: run scripts/install-deps" >&2
			return 1
		}
	done
}

# free_port: a free TCP port on 127.0.0.1.
free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# wait_port PORT [TRIES]: until something accepts on 127.0.0.1:PORT, one try
# every 0.1 s (default 100 tries).
wait_port() {
	local _
	for _ in $(seq "${2:-100}"); do
		(exec 4<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
		sleep 0.1
	done
	echo "nothing listens on 127.0.0.1:$1" >&2
	return 1
}

# wait_for PID TRIES CMD...: run CMD every 0.1 s until it prints something
# (printed here: `PORT=$(wait_for "$PID" 300 cat x.port)`); fails once PID
# has exited or after TRIES tries. CMD's stderr is dropped.
wait_for() {
	local pid=$1 tries=$2 out _
	shift 2
	for _ in $(seq "$tries"); do
		out=$("$@" 2>/dev/null) && [ -n "$out" ] && {
			echo "$out"
			return 0
		}
		kill -0 "$pid" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

# stop_ok SIGNAL PID WHAT [LOG...]: send SIGNAL (TERM, INT...) to PID and
# reap it; it must exit 0, else "WHAT exited with N" and the LOGs on stderr.
stop_ok() {
	local sig=$1 pid=$2 what=$3 rc=0
	shift 3
	kill -"$sig" "$pid"
	wait "$pid" || rc=$?
	((rc == 0)) || {
		echo "$what exited with $rc" >&2
		(($# == 0)) || cat "$@" >&2
		return 1
	}
}

# file_keys NAME...: hp-sign key pairs NAME in $BATS_FILE_TMPDIR/keys, for a
# setup_file; exports KEYS (that folder).
file_keys() {
	local k=$BATS_FILE_TMPDIR/keys n
	for n in "$@"; do
		hp-sign keygen -O "$k" -n "$n" >/dev/null || return
	done
	export KEYS=$k
}

# man_page_ok TOOL: docs/TOOL.1 renders without a warning and names every
# --option that `TOOL --help` lists. (Uses `run`.)
man_page_ok() {
	local tool=$1 page=$HP_ROOT/docs/$1.1 text opt missing=()
	assert_file_exist "$page"
	run groff -man -ww -z "$page"
	assert_success
	assert_output ""
	text=$(sed -e 's/\\-/-/g' -e 's/\\[&%]//g' -e 's/\\f[A-Z1-4]//g' "$page")
	for opt in $("$tool" --help | grep -o -- '--[a-z][a-z0-9-]*' | sort -u); do
		grep -Eq -- "(^|[^a-z-])${opt}([^a-z-]|$)" <<<"$text" || missing+=("$opt")
	done
	((${#missing[@]} == 0)) || {
		echo "docs/$tool.1 does not document: ${missing[*]}" >&2
		return 1
	}
}

# cli_table SOURCE TABLE: the entries of `static const cli_option TABLE[]` in
# cmd/SOURCE, one per line: "LONG SHORT KIND" with "-" for no long or short
# name (--output-dir -O current, --bt-listen - old, ...); KIND is current,
# old (an old spelling, which warns) or hidden (left out of --help).
cli_table() {
	python3 - "$HP_ROOT/cmd/$1" "$2" <<'PY'
import re, sys
src = open(sys.argv[1]).read()
table = re.search(r'cli_option ' + re.escape(sys.argv[2]) + r'\[\] = \{(.*?)\n\};', src, re.S)
if not table:
    sys.exit(f"no cli_option {sys.argv[2]}[] in {sys.argv[1]}")
string = r'"(?:[^"\\]|\\.)*"'
entry = re.compile(r"\{\s*[^,{}]+,\s*('.'|0),\s*(\"[^\"]*\"|NULL),\s*(\"[^\"]*\"|NULL),\s*"
                   r"((?:" + string + r"\s*)+|NULL),\s*(\"[^\"]*\"|NULL)\s*\}")
n = 0
for m in entry.finditer(table.group(1)):
    short, long_, _, help_, old = m.groups()
    if long_ == 'NULL' and short == '0':
        continue
    n += 1
    print('--' + long_[1:-1] if long_ != 'NULL' else '-', '-' + short[1] if short != '0' else '-',
          'old' if old != 'NULL' else 'hidden' if help_ == 'NULL' else 'current')
if not n:
    sys.exit(f"cli_option {sys.argv[2]}[] has no entry")
PY
}

# help_lists_table SOURCE TABLE TOOL...: `TOOL... --help` lists every current
# option of the table as the table spells it ("  -O, --output-dir",
# "      --listen"), the common options, and no old or hidden spelling.
help_lists_table() {
	local source=$1 table=$2 help long short kind spec entries
	shift 2
	help=$("$@" --help) || return
	entries=$(cli_table "$source" "$table") || return
	for spec in "  -h, --help" "      --quiet" "      --json-errors" "      --progress" "      --no-progress"; do
		grep -Eq -- "^${spec}( |$)" <<<"$help" || {
			echo "$* --help does not list the common option '$spec'" >&2
			return 1
		}
	done
	while read -r long short kind; do
		if [ "$kind" = current ]; then
			if [ "$long" = - ]; then
				spec="  $short"
			elif [ "$short" = - ]; then
				spec="      $long"
			else
				spec="  $short, $long"
			fi
			grep -Eq -- "^${spec}( |$)" <<<"$help" || {
				echo "$* --help does not list '$spec'" >&2
				return 1
			}
			continue
		fi
		for spec in "$long" "$short"; do
			[ "$spec" != - ] || continue
			# a letter whose old meaning is deprecated may be a current one too
			! grep -Eq -- "(^${spec} [^ ]+|^[^ ]+ ${spec}) current$" <<<"$entries" || continue
			! grep -Eq -- "(^|[ ,])${spec}([ ,=]|$)" <<<"$help" || {
				echo "$* --help shows $spec, which is $kind" >&2
				return 1
			}
		done
	done <<<"$entries"
}

# warns_once TOOL OLD NEW: on $stderr (from bats' run --separate-stderr),
# exactly one line names OLD: the deprecation warning that names NEW.
warns_once() {
	local want="$1: warning: '$2' is deprecated: use '$3' (the old spelling goes in a later release)"
	[ "$(grep -cF -- "'$2'" <<<"$stderr")" = 1 ] && grep -qxF -- "$want" <<<"$stderr" || {
		echo "expected one line '$want' on stderr, got:" >&2
		printf '%s\n' "$stderr" >&2
		return 1
	}
}

# badserver MODE [OPTION...]: start tests/lib/badserver.py (modes and options
# in its header: hang, silent, drip, close-mid, ...; --body FILE,
# --content-type TYPE); sets BAD (its URL), BAD_PORT and BAD_LOG.
# shellcheck disable=SC2034 # BAD, BAD_LOG: for the caller
# badservers_stop (in teardown) ends them all.
badserver() {
	local dir
	dir=$(mktemp -d "$SCRATCH/bad.XXXXXX")
	python3 "$HP_ROOT/tests/lib/badserver.py" --mode "$1" --port-file "$dir/port" --log "$dir/log" \
		--parent $$ --lifetime 300 "${@:2}" </dev/null >"$dir/out" 2>&1 3>&- &
	BAD_PIDS+=($!)
	local i
	for ((i = 0; i < 100; i++)); do
		[ -s "$dir/port" ] && break
		sleep 0.05
	done
	[ -s "$dir/port" ] || fail "badserver $1 did not start: $(cat "$dir/out")"
	BAD_PORT=$(<"$dir/port")
	BAD=http://127.0.0.1:$BAD_PORT
	BAD_LOG=$dir/log
}

badservers_stop() {
	local pid
	for pid in "${BAD_PIDS[@]}"; do
		kill "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true  # (a test may call it: errexit)
	done
	BAD_PIDS=()
	return 0
}
