#!/usr/bin/env bats
# Terminal and signals, for every tool that writes files or records:
# - on a terminal, a record on stdout never starts after a progress fragment
#   on stderr (script(1) puts both on one pseudo-terminal);
# - SIGINT, SIGTERM (and SIGHUP) end a tool with 128+N and SIGPIPE quietly,
#   and none of them leaves a temporary file or folder in the current
#   folder, the output folder or $TMPDIR.
# No sleep guesses when a tool is busy: a tool is caught while it writes by
# feeding it through a FIFO that stays open, or stopped just before it
# renames a temporary file into place by an LD_PRELOAD shim
# (tests/lib/stop-before-rename.c), and polls are bounded.

load helpers

SHIM=${HP_BUILD:-$HP_ROOT/build}/tests/stop-before-rename.so

setup() {
	setup_scratch
	mkdir out tmp data
	export TMPDIR=$SCRATCH/tmp
	head -c 300000 /dev/urandom >data/a.bin
	printf 'hello\n' >data/b.txt
}

# ---- terminal ----

# tty_fifo_run TOOL ARGS...: run `TOOL ARGS... - <in` under script(1), its
# stdout and stderr on one pseudo-terminal and the typescript in ts; feed it
# zeros through the FIFO until its progress line shows, then end its input.
tty_fifo_run() {
	need script
	local cmd pid rc=0 _
	mkfifo in
	printf -v cmd '%q ' "$@"
	script -qfec "$cmd - <in" ts </dev/null >/dev/null &
	pid=$!
	exec 7>in
	for _ in $(seq 600); do
		head -c 65536 /dev/zero >&7
		grep -q "$1: " ts 2>/dev/null && break
		sleep 0.05
	done
	exec 7>&-
	wait "$pid" || rc=$?
	((rc == 0)) || fail "$1 exited $rc: $(cat ts)"
}

# records_start_lines: each record in ts starts at the start of an empty
# line, after a progress line that was drawn and erased.
records_start_lines() {
	run "$HP_ROOT/tests/lib/tty-records.py" ts
	assert_success
	[ "$(jq .records <<<"$output")" -ge 1 ] || fail "no record: $output"
	[ "$(jq .progress_before <<<"$output")" = true ] || fail "no progress line before the record: $output"
}

@test "hp-hash --progress on a terminal: the record starts on a line of its own, the progress line erased first" {
	tty_fifo_run hp-hash --progress
	records_start_lines
}

@test "hp-cid --progress on a terminal: the record starts on a line of its own, the progress line erased first" {
	tty_fifo_run hp-cid --progress
	records_start_lines
}

@test "hybrid-p2p publish on a terminal: progress while it reads, then each step record on a line of its own" {
	need script
	hybrid-p2p keygen -O keys -n k >/dev/null
	script -qfec "hybrid-p2p publish data --name x --version 1 --uploader-id me --key keys/k.pem -o out/m.json --no-git" \
		ts </dev/null >/dev/null
	records_start_lines
	[ "$(jq .records <<<"$output")" -eq 3 ]
	grep -q 'hybrid-p2p publish: .* of .* (100%)' ts
}

# ---- signals ----

# start [NAME=VALUE...] CMD...: run CMD in the background with SIGHUP,
# SIGINT, SIGTERM and SIGPIPE at their defaults (a script's background job
# would ignore SIGINT), stdin from $STDIN_FROM (else /dev/null), stdout in
# cmd.out and stderr in cmd.err; its pid in PID.
start() {
	env --default-signal=HUP,INT,TERM,PIPE "$@" <"${STDIN_FROM:-/dev/null}" >cmd.out 2>cmd.err &
	PID=$!
}

# state: the state letter of PID (R, S, T, Z...), empty once reaped.
state() {
	local s
	s=$(cat "/proc/$PID/stat" 2>/dev/null) || return 0
	s=${s##*) }
	echo "${s%% *}"
}

# stop_before_rename TEXT CMD...: start CMD with the shim, which stops it
# (SIGSTOP) just before it renames a temporary file whose name has TEXT
# into place; wait until it is stopped, and check the temporary is there.
stop_before_rename() {
	local text=$1 s _
	shift
	[ -f "$SHIM" ] || fail "no $SHIM: run make build-tests"
	start HP_STOP_BEFORE_RENAME="$text" LD_PRELOAD="$SHIM" \
		ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0" "$@"
	for _ in $(seq 600); do
		s=$(state)
		[ "$s" = T ] && break
		[[ -n $s && $s != Z ]] || fail "$1 ended before it renamed a '$text' file: $(cat cmd.err)"
		sleep 0.05
	done
	[ "$s" = T ] || fail "$1 did not reach the rename of a '$text' file in 30 s"
	[ -n "$(find . -name "*$text*")" ] || fail "no '$text' temporary while $1 is stopped before renaming it"
}

# signal_ends SIG: send SIG to PID (and SIGCONT, in case it is stopped); it
# must die of it: exit 128+N, as a shell sees it.
signal_ends() {
	local sig=$1 rc=0 want
	want=$((128 + $(kill -l "$sig")))
	kill -"$sig" "$PID"
	kill -CONT "$PID" 2>/dev/null || true
	wait "$PID" || rc=$?
	((rc == want)) || fail "exit $rc after SIG$sig, not $want: $(cat cmd.err)"
}

# no_temporaries: nothing like a temporary under the current folder (out/
# and $TMPDIR are in it), and $TMPDIR empty.
no_temporaries() {
	local left
	left=$(find . \( -name '*.tmp-*' -o -name 'hp-car-*' -o -name 'spill-*' -o -name '.hp-partial' \) -print)
	[ -z "$left" ] || fail "temporaries left behind: $left"
	left=$(find "$TMPDIR" -mindepth 1 -print)
	[ -z "$left" ] || fail "left in \$TMPDIR: $left"
}

# size_of_temporary GLOB: the size of the file GLOB matches (0 if none).
size_of_temporary() {
	local f
	for f in $1; do
		[ -f "$f" ] && stat -c %s "$f" && return
	done
	echo 0
}

@test "hp-cid --car: SIGINT, SIGTERM while the CAR is being written: exit 130/143, no temporary left" {
	mkfifo in
	local sig _
	for sig in INT TERM; do
		STDIN_FROM=in start hp-cid --car out/x.car -
		exec 7>in
		head -c $((8 << 20)) /dev/urandom >&7
		# blocks are in the temporary CAR, and hp-cid waits for more input
		for _ in $(seq 600); do
			(($(size_of_temporary 'out/x.car.tmp-*') > 0)) && break
			sleep 0.05
		done
		(($(size_of_temporary 'out/x.car.tmp-*') > 0)) || fail "no block written to a temporary CAR: $(cat cmd.err)"
		signal_ends "$sig"
		exec 7>&-
		no_temporaries
		[ ! -e out/x.car ]
	done
}

# many_files: many/f1 ... many/f4000, empty: 4000 records, far more than a
# pipe and one read of head hold, so the tool writes again after head is
# gone, whatever the timing.
many_files() {
	mkdir many
	(cd many && seq -f 'f%.0f' 4000 | xargs touch)
}

@test "hp-cid --car | head -1: SIGPIPE ends it quietly (exit 141), no temporary left" {
	many_files
	run env --default-signal=PIPE bash -c \
		'hp-cid --car out/x.car many 2>cmd.err | head -1; echo "status ${PIPESTATUS[0]}"'
	assert_success
	[[ ${lines[0]} == '{"path":"many/f1"'* ]] || fail "not a record: ${lines[0]}"
	[ "${lines[1]}" = "status 141" ] || fail "${lines[1]}: $(cat cmd.err)"
	[ ! -s cmd.err ] || fail "not quiet: $(cat cmd.err)"
	no_temporaries
	[ ! -e out/x.car ]
}

@test "hp-hash | head -1: SIGPIPE ends it quietly (exit 141), nothing left" {
	many_files
	run env --default-signal=PIPE bash -c 'hp-hash many 2>cmd.err | head -1; echo "status ${PIPESTATUS[0]}"'
	assert_success
	[[ ${lines[0]} == '{"path":"many/f1"'* ]] || fail "not a record: ${lines[0]}"
	[ "${lines[1]}" = "status 141" ] || fail "${lines[1]}: $(cat cmd.err)"
	[ ! -s cmd.err ] || fail "not quiet: $(cat cmd.err)"
	no_temporaries
}

@test "hp-mktorrent -o: SIGINT, SIGTERM, SIGHUP before the rename: exit 130/143/129, no temporary left" {
	local sig
	for sig in INT TERM HUP; do
		stop_before_rename x.torrent.tmp- hp-mktorrent -o out/x.torrent data
		signal_ends "$sig"
		no_temporaries
		[ ! -e out/x.torrent ]
	done
}

@test "hp-sign keygen: SIGINT, SIGTERM before the first key file is renamed: exit 130/143, no temporary left" {
	local sig
	for sig in INT TERM; do
		stop_before_rename .tmp- hp-sign keygen -O out -n k
		# both key files are open as temporaries at this point
		[ "$(find out -name 'k.*.tmp-*' | wc -l)" -eq 2 ] || fail "$(ls -A out)"
		signal_ends "$sig"
		no_temporaries
		[ ! -e out/k.pem ] && [ ! -e out/k.pub ]
	done
}

@test "hp-sign manifest -o: SIGINT, SIGTERM before the rename: exit 130/143, no temporary left" {
	hp-sign keygen -O keys -n k >/dev/null
	hp-manifest create --name x --version 1 --no-cid --no-torrent -o m.json data
	local sig
	for sig in INT TERM; do
		stop_before_rename s.json.tmp- hp-sign manifest keys/k.pem m.json -o out/s.json
		signal_ends "$sig"
		no_temporaries
		[ ! -e out/s.json ]
	done
}

@test "hp-manifest create -o --car --torrent-out: SIGINT, SIGTERM before each rename: exit 130/143, no temporary left" {
	local sig text
	for text in x.car.tmp- x.torrent.tmp- m.json.tmp-; do
		for sig in INT TERM; do
			rm -rf out
			mkdir out
			stop_before_rename "$text" hp-manifest create --name x --version 1 \
				-o out/m.json --car out/x.car --torrent-out out/x.torrent data
			signal_ends "$sig"
			no_temporaries
			[ ! -e "out/${text%.tmp-}" ] || fail "out/${text%.tmp-} was renamed into place"
		done
	done
}

@test "hybrid-p2p publish: SIGINT, SIGTERM before each rename (CAR, .torrent, manifest): exit 130/143, no temporary left" {
	hybrid-p2p keygen -O keys -n k >/dev/null
	local sig text
	for text in x-1.car.tmp- x-1.torrent.tmp- m.json.tmp-; do
		for sig in INT TERM; do
			rm -rf out
			mkdir out
			stop_before_rename "$text" hybrid-p2p publish data --name x --version 1 --uploader-id me \
				--key keys/k.pem -o out/m.json --no-git
			signal_ends "$sig"
			no_temporaries
			[ ! -e "out/${text%.tmp-}" ] || fail "out/${text%.tmp-} was renamed into place"
		done
	done
}

@test "a signal ignored on entry stays ignored (nohup): the tool finishes" {
	hp-sign keygen -O keys -n k >/dev/null
	hp-manifest create --name x --version 1 --no-cid --no-torrent -o m.json data
	[ -f "$SHIM" ] || fail "no $SHIM: run make build-tests"
	# SIGHUP ignored as nohup leaves it; stopped before the rename, sent
	# SIGHUP: it must carry on and write its output
	(
		trap '' HUP
		exec env HP_STOP_BEFORE_RENAME=s.json.tmp- LD_PRELOAD="$SHIM" \
			ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0" \
			hp-sign manifest keys/k.pem m.json -o out/s.json </dev/null >cmd.out 2>cmd.err
	) &
	PID=$!
	local s _
	for _ in $(seq 600); do
		s=$(state)
		[ "$s" = T ] && break
		sleep 0.05
	done
	[ "$s" = T ] || fail "hp-sign did not stop: $(cat cmd.err)"
	local rc=0
	kill -HUP "$PID"
	kill -CONT "$PID"
	wait "$PID" || rc=$?
	((rc == 0)) || fail "exit $rc: $(cat cmd.err)"
	[ -s out/s.json ]
	no_temporaries
}
