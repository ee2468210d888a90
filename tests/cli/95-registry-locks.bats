#!/usr/bin/env bats
# Lock files and crashes (lib/hp_gitlock, docs/registry.md "Lock files and
# crashes"): publish and fetch killed (SIGKILL, SIGTERM) at each step where
# libgit2 holds a lock file, in the registry cache and in a file://
# registry; the next run completes. A lock held by a live process is waited
# for (--timeout), then 75 naming it; a server's lock that never goes is 69.
#
# Where they stop: the LD_PRELOAD shim tests/lib/stop-before-rename.c stops
# the process (SIGSTOP) right after it created a lock file
# (HP_STOP_AFTER_CREATE), before the link() or rename() that puts it in
# place (HP_STOP_BEFORE_RENAME) or before the unlink() of a lock already
# linked into place (HP_STOP_BEFORE_UNLINK); the test waits for the stopped
# state and sends its signal there: the same point on every run.

load helpers
load ../lib/registry

SHIM=${HP_BUILD:-$HP_ROOT/build}/tests/stop-before-rename.so

setup() {
	setup_scratch
	export HOME=$SCRATCH/home
	mkdir -p "$HOME"
	unset HP_REGISTRY HP_REGISTRY_TOKEN HP_REGISTRY_CACHE HP_TRUSTED_KEYS XDG_CACHE_HOME
	export GIT_AUTHOR_NAME=tester GIT_AUTHOR_EMAIL=tester@example.org
	export GIT_COMMITTER_NAME=tester GIT_COMMITTER_EMAIL=tester@example.org
	mkdir -p data
	echo hello >data/a.txt
	hybrid-p2p keygen -O keys -n k >/dev/null
	bare_registry reg
	REG=file://$PWD/srv/reg.git
}

teardown() {
	githttp_stop
	[ -z "${HOLDER:-}" ] || kill "$HOLDER" 2>/dev/null || true
	[ -z "${PID:-}" ] || kill -KILL "$PID" 2>/dev/null || true
}

# publish VERSION CACHE [ARGS...]: publish ./data (with a file of VERSION)
# as ds@VERSION to the file:// registry through CACHE
publish() {
	local v=$1 cache=$2
	shift 2
	echo "$v" >data/version
	timeout 60 hybrid-p2p publish data --name ds --version "$v" --uploader-id me@example.org \
		--key keys/k.pem --output "out/ds-$v.json" --registry "$REG" --registry-cache "$cache" "$@"
}

# fetch VERSION CACHE: fetch ds@VERSION into got/ (its files there already:
# no peer needed) through CACHE
fetch() {
	timeout 60 hybrid-p2p fetch "ds@$1" -O got --registry "$REG" --registry-cache "$2" --trusted-keys keys/k.pub
}

# state: the state letter of PID (R, S, T, Z...), empty once reaped.
state() {
	local s
	s=$(cat "/proc/$PID/stat" 2>/dev/null) || return 0
	s=${s##*) }
	echo "${s%% *}"
}

# stopped_at VAR TEXT CMD...: start CMD with the shim stopping it at VAR
# (HP_STOP_AFTER_CREATE...) for a path with TEXT; wait until it is stopped.
stopped_at() {
	local var=$1 text=$2 s _
	shift 2
	[ -f "$SHIM" ] || fail "no $SHIM: run make build-tests"
	env "$var=$text" LD_PRELOAD="$SHIM" ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0" \
		"$@" >cmd.out 2>cmd.err 3>&- &
	PID=$!
	for _ in $(seq 600); do
		s=$(state)
		[ "$s" = T ] && return 0
		[[ -n $s && $s != Z ]] || fail "$* ended before $var=$text: $(cat cmd.err)"
		sleep 0.05
	done
	fail "$* did not reach $var=$text in 30 s"
}

# kill_stopped SIG: send SIG to the stopped PID, then SIGCONT; it must die
# of it (128+N).
kill_stopped() {
	local rc=0 want
	want=$((128 + $(kill -l "$1")))
	kill -"$1" "$PID"
	kill -CONT "$PID" 2>/dev/null || true
	wait "$PID" || rc=$?
	PID=
	((rc == want)) || fail "exit $rc after SIG$1, not $want: $(cat cmd.err)"
}

# no_locks DIR...: no *.lock left under DIR (our hp-registry.lock aside)
no_locks() {
	local left
	left=$(find "$@" -name '*.lock' ! -name hp-registry.lock)
	[ -z "$left" ] || fail "lock files left: $left"
}

# The steps of publish (a cache behind the registry: its fetch moves
# refs/hp/fetched/main, it writes refs/hp/publish, it pushes
# refs/heads/main into the registry) and of fetch. "warm": a cache that has
# the ref already (libgit2 renames the lock over it); "fresh": a new cache
# (libgit2 links the lock to the ref's name, then unlinks the lock).
PUBLISH_POINTS=(
	"HP_STOP_AFTER_CREATE fetched/main.lock warm"
	"HP_STOP_BEFORE_RENAME fetched/main.lock warm"
	"HP_STOP_AFTER_CREATE fetched/main.lock fresh"
	"HP_STOP_BEFORE_UNLINK fetched/main.lock fresh"
	"HP_STOP_AFTER_CREATE hp/publish.lock warm"
	"HP_STOP_BEFORE_RENAME hp/publish.lock warm"
	"HP_STOP_BEFORE_UNLINK hp/publish.lock fresh"
	"HP_STOP_AFTER_CREATE heads/main.lock warm"
	"HP_STOP_BEFORE_RENAME heads/main.lock warm"
	"HP_STOP_BEFORE_RENAME pack_git2_ warm"
)
FETCH_POINTS=(
	"HP_STOP_AFTER_CREATE fetched/main.lock warm"
	"HP_STOP_BEFORE_RENAME fetched/main.lock warm"
	"HP_STOP_AFTER_CREATE fetched/main.lock fresh"
	"HP_STOP_BEFORE_UNLINK fetched/main.lock fresh"
	"HP_STOP_BEFORE_RENAME pack_git2_ warm"
)

# killed_publish_reruns SIG: for each step, a publish killed there by SIG;
# the next publish through the same cache completes at once.
killed_publish_reruns() {
	local sig=$1 n=0 point var text kind cache t0
	publish 0.0.1 "$PWD/cache" >/dev/null
	publish 0.0.2 "$PWD/cache" >/dev/null
	for point in "${PUBLISH_POINTS[@]}"; do
		read -r var text kind <<<"$point"
		n=$((n + 1))
		cache=$PWD/cache
		[ "$kind" = warm ] || cache=$PWD/fresh$n
		# the registry one version ahead of this cache
		publish "0.$n.0" "$PWD/other" >/dev/null
		stopped_at "$var" "$text" hybrid-p2p publish data --name ds --version "1.$n.0" \
			--uploader-id me@example.org --key keys/k.pem --output "out/ds-1.$n.0.json" \
			--registry "$REG" --registry-cache "$cache" --timeout 10
		kill_stopped "$sig"
		if [ "$sig" = TERM ] && [ "$var" = HP_STOP_AFTER_CREATE ]; then
			# it held the lock open: its signal handler removed it
			no_locks "$cache" srv/reg.git
		fi
		t0=$SECONDS
		run --separate-stderr publish "1.$n.0" "$cache" --timeout 10
		[ "$status" -eq 0 ] || fail "publish after SIG$sig at $var=$text ($kind): exit $status: $stderr"
		((SECONDS - t0 < 8)) || fail "publish after SIG$sig at $var=$text ($kind) waited $((SECONDS - t0)) s"
		[ "$(jq -r 'select(.step == "registry") | .status' <<<"$output")" = ok ] ||
			fail "$var=$text ($kind): $output"
		no_locks "$cache" srv/reg.git
		git --git-dir=srv/reg.git cat-file -e "main:manifests/ds/1.$n.0.json"
		git --git-dir=srv/reg.git fsck --no-progress 2>&1 | { ! grep -E 'error|fatal'; }
	done
}

killed_fetch_reruns() {
	local sig=$1 n=0 point var text kind cache
	publish 0.0.1 "$PWD/other" >/dev/null
	cp -r data got
	fetch 0.0.1 "$PWD/fcache" >/dev/null
	for point in "${FETCH_POINTS[@]}"; do
		read -r var text kind <<<"$point"
		n=$((n + 1))
		cache=$PWD/fcache
		[ "$kind" = warm ] || cache=$PWD/fresh$n
		publish "2.$n.0" "$PWD/other" >/dev/null
		cp data/version got/version
		stopped_at "$var" "$text" hybrid-p2p fetch "ds@2.$n.0" -O got --registry "$REG" \
			--registry-cache "$cache" --trusted-keys keys/k.pub --timeout 10
		kill_stopped "$sig"
		if [ "$sig" = TERM ] && [ "$var" = HP_STOP_AFTER_CREATE ]; then
			no_locks "$cache"
		fi
		run --separate-stderr fetch "2.$n.0" "$cache"
		[ "$status" -eq 0 ] || fail "fetch after SIG$sig at $var=$text ($kind): exit $status: $stderr"
		[ "$(jq -r 'select(.step == "registry") | .version' <<<"$output")" = "2.$n.0" ]
		no_locks "$cache"
	done
}

@test "publish killed (SIGKILL) at each lock step of libgit2: the next publish completes" {
	killed_publish_reruns KILL
}

@test "publish killed (SIGTERM) at each lock step: it dies of the signal, the lock it held open is gone, the next publish completes" {
	killed_publish_reruns TERM
}

@test "fetch killed (SIGKILL) at each lock step of libgit2: the next fetch completes" {
	killed_fetch_reruns KILL
}

@test "fetch killed (SIGTERM) at each lock step: the next fetch completes" {
	killed_fetch_reruns TERM
}

@test "a registry lock held by a live process: waited for (--timeout), then 75 naming it; once it goes, publish completes" {
	publish 1.0.0 "$PWD/cache" >/dev/null
	# a process that holds refs/heads/main.lock open, as git does
	(exec 3>srv/reg.git/refs/heads/main.lock && exec sleep 60) &
	HOLDER=$!
	sleep 0.2
	SECONDS=0
	run_fails 75 publish 1.0.1 "$PWD/cache" --timeout 2
	((SECONDS >= 2 && SECONDS < 10))
	[ "$(jq -r 'select(.step == "registry") | .exit' <<<"$output")" = 75 ]
	[[ $stderr == *"'$PWD/srv/reg.git/refs/heads/main.lock' is held by another process"* ]]
	[ "$(grep -c . <<<"$stderr")" = 1 ]
	# it dies and leaves its lock behind: a dead holder's lock is stale
	kill "$HOLDER"
	wait "$HOLDER" 2>/dev/null || true
	HOLDER=
	[ -e srv/reg.git/refs/heads/main.lock ]
	run --separate-stderr publish 1.0.1 "$PWD/cache" --timeout 2
	assert_success
	no_locks srv/reg.git
	# a live holder that finishes while publish waits
	(exec 3>srv/reg.git/refs/heads/main.lock && sleep 1 && rm srv/reg.git/refs/heads/main.lock) &
	HOLDER=$!
	sleep 0.2
	run --separate-stderr publish 1.0.2 "$PWD/cache" --timeout 20
	assert_success
	[ "$(jq -r 'select(.step == "registry") | .status' <<<"$output")" = ok ]
}

@test "a registry lock nobody can be shown to have left: waited for while young, removed once 60 s old" {
	publish 1.0.0 "$PWD/cache" >/dev/null
	# the last holder on record is alive (pid 1), so only age proves it stale
	printf 'pid=1 start=0 since=0 host=%s boot=%s\n' "$(hostname)" "$(cat /proc/sys/kernel/random/boot_id)" \
		>srv/reg.git/hp-registry.lock
	touch srv/reg.git/refs/heads/main.lock
	run_fails 75 publish 1.0.1 "$PWD/cache" --timeout 1
	[[ $stderr == *"refs/heads/main.lock' is held by another process"*"60 s old"* ]]
	touch -d '-61 seconds' srv/reg.git/refs/heads/main.lock
	run --separate-stderr publish 1.0.1 "$PWD/cache" --timeout 1
	assert_success
	no_locks srv/reg.git
}

@test "the cache in use by another hybrid-p2p: waited for (--timeout), then 75 naming it" {
	need flock
	publish 1.0.0 "$PWD/cache" >/dev/null
	cp -r data got
	(exec 9>>cache/hp-registry.lock && flock 9 && exec sleep 60) &
	HOLDER=$!
	sleep 0.2
	run_fails 75 timeout 60 hybrid-p2p fetch ds@1.0.0 -O got --registry "$REG" --registry-cache "$PWD/cache" \
		--trusted-keys keys/k.pub --timeout 1
	[[ $stderr == *"registry cache: '$PWD/cache' is in use by another hybrid-p2p"* ]]
	kill "$HOLDER"
	wait "$HOLDER" 2>/dev/null || true
	HOLDER=
	run --separate-stderr fetch 1.0.0 "$PWD/cache"
	assert_success
}

@test "a stale lock on an HTTP registry's server: 69 naming it after --timeout, not 'the branch kept moving'" {
	githttp_start
	REG=$GITHTTP_URL/reg.git
	publish 1.0.0 "$PWD/cache" >/dev/null
	touch srv/reg.git/refs/heads/main.lock
	run_fails 69 publish 1.0.1 "$PWD/cache" --timeout 2
	[[ $stderr == *"refused every push for 2 s"*"refs/heads/main.lock"*"administrator must remove"* ]]
	[[ $stderr != *"kept moving"* ]]
	rm srv/reg.git/refs/heads/main.lock
	run --separate-stderr publish 1.0.1 "$PWD/cache" --timeout 2
	assert_success
}
