#!/usr/bin/env bats
# The registry on real networks (lib/hp_gitnet, lib/hp_git, docs/registry.md):
# every wait on a registry server bounded by --timeout (a server that
# accepts and never answers, over HTTP and SSH), HTTPS with a test CA
# (tests/lib/githttp.py --tls), and registries made by a plain
# `git init --bare`.

load helpers
load ../lib/registry

setup() {
	registry_setup
}

teardown() {
	badservers_stop
	githttp_stop
	sshd_stop
}


# the JSON line of a step in $output
step() {
	jq -c "select(.step == \"$1\")" <<<"$output"
}

# timed CODE CMD...: run_fails CODE CMD..., and the time it took in ms in $ms
timed() {
	local want=$1 t0
	shift
	t0=$(date +%s%N)
	run_fails "$want" "$@"
	ms=$((($(date +%s%N) - t0) / 1000000))
}

# gave_up_in_time WHAT: took less than twice --timeout 3, and not less than it
gave_up_in_time() {
	((ms >= 2900 && ms < 6000)) || {
		echo "$1 took $ms ms (--timeout 3)" >&2
		return 1
	}
}

# one_line_naming HOSTPORT STEP: stderr is one line naming both
one_line_naming() {
	[ "$(wc -l <<<"$stderr")" = 1 ] && [[ $stderr == *"$1"* && $stderr == *"$2"* ]] || {
		echo "expected one line naming '$1' and '$2', got:" >&2
		printf '%s\n' "$stderr" >&2
		return 1
	}
}

# a publish that failed in its registry step only: the outputs complete and
# signed, no temporary file left
outputs_whole() {
	hp-verify --trusted-keys keys/k.pub --content data out/ds-1.0.0.json >/dev/null
	[ -s out/ds-1.0.0.torrent ] && [ -s out/ds-1.0.0.car ]
	[ -z "$(find out -name '*.tmp*')" ]
}

# the cache in ./cache is usable: a publish through it to a good registry
cache_usable() {
	bare_registry good
	run --separate-stderr publish 1.0.0 "file://$PWD/srv/good.git" --registry-cache "$PWD/cache"
	assert_success
	[ "$(step registry | jq -r .status)" = ok ]
}

@test "HTTP registry that never answers (hang, silent): fetch and publish give up after --timeout, 75, one line naming host:port and step" {
	for mode in hang silent; do
		badserver "$mode"
		url=http://127.0.0.1:$BAD_PORT/reg.git
		timed 75 timeout 30 hybrid-p2p fetch ds@1.0.0 -O got --registry "$url" --trusted-keys keys/k.pub \
			--save-manifest saved.json --timeout 3 --registry-cache "$PWD/cache"
		gave_up_in_time "fetch ($mode)"
		one_line_naming "127.0.0.1:$BAD_PORT" "fetch from"
		[[ $stderr == *"no answer for 3 s"* ]]
		[ "$(step registry | jq -r .exit)" = 75 ]
		[ ! -e got ] && [ ! -e saved.json ]
		timed 75 publish 1.0.0 "$url" --timeout 3 --registry-cache "$PWD/cache"
		gave_up_in_time "publish ($mode)"
		one_line_naming "127.0.0.1:$BAD_PORT" "fetch from"
		[ "$(step registry | jq -r .status)" = failed ]
		[ "$(step registry | jq -r .exit)" = 75 ]
		outputs_whole
		rm -rf out
	done
	cache_usable
}

@test "HTTP registry that stops mid-answer (close-mid) or drips a wrong answer (drip): 69 at once, naming host:port" {
	for mode in close-mid drip; do
		badserver "$mode"
		url=http://127.0.0.1:$BAD_PORT/reg.git
		timed 69 timeout 30 hybrid-p2p fetch ds@1.0.0 -O got --registry "$url" --trusted-keys keys/k.pub --timeout 3 \
			--registry-cache "$PWD/cache"
		((ms < 3000)) || fail "fetch ($mode) took $ms ms"
		one_line_naming "127.0.0.1:$BAD_PORT" "fetch from"
		[ ! -e got ]
		timed 69 publish 1.0.0 "$url" --timeout 3 --registry-cache "$PWD/cache"
		((ms < 6000)) || fail "publish ($mode) took $ms ms"
		one_line_naming "127.0.0.1:$BAD_PORT" "fetch from"
		[ "$(step registry | jq -r .exit)" = 69 ]
		outputs_whole
		rm -rf out
	done
	cache_usable
}

@test "SSH registry that never answers (silent: no banner): fetch and publish give up after --timeout, 75, naming host:port" {
	# libgit2 1.5's SSH transport leaks (see the file): ASan builds only
	export LSAN_OPTIONS=${LSAN_OPTIONS:+$LSAN_OPTIONS:}suppressions=$HP_ROOT/tests/lib/lsan-libgit2-ssh.supp:print_suppressions=0
	badserver silent
	url=ssh://git@127.0.0.1:$BAD_PORT/reg.git
	export HP_REGISTRY_SSH_KEY=$PWD/nokey
	timed 75 timeout 30 hybrid-p2p fetch ds@1.0.0 -O got --registry "$url" --trusted-keys keys/k.pub --timeout 3 \
		--registry-cache "$PWD/cache"
	gave_up_in_time "fetch over ssh"
	one_line_naming "127.0.0.1:$BAD_PORT" "fetch from"
	[[ $stderr == *"no answer for 3 s"* ]]
	[ ! -e got ]
	timed 75 publish 1.0.0 "$url" --timeout 3 --registry-cache "$PWD/cache"
	gave_up_in_time "publish over ssh"
	one_line_naming "127.0.0.1:$BAD_PORT" "fetch from"
	[ "$(step registry | jq -r .exit)" = 75 ]
	outputs_whole
	cache_usable
}

@test "--timeout bounds the push too: a server that answers the fetch and then hangs in receive-pack" {
	bare_registry reg
	githttp_start
	# the server reads the push and never answers (a pre-receive hook that sleeps)
	printf '#!/bin/sh\ncat >/dev/null\nsleep 20\nexit 1\n' >srv/reg.git/hooks/pre-receive
	chmod +x srv/reg.git/hooks/pre-receive
	timed 75 publish 1.0.0 "$GITHTTP_URL/reg.git" --timeout 3
	gave_up_in_time "push"
	one_line_naming "${GITHTTP_URL#http://}" "push to"
	[ "$(step registry | jq -r .exit)" = 75 ]
	outputs_whole
	[ -z "$(git --git-dir=srv/reg.git rev-parse -q --verify refs/heads/main)" ]
}

@test "HTTPS with a test CA in \$SSL_CERT_FILE and a token: publish and fetch, stderr empty, the token never printed" {
	tls_make tls
	bare_registry reg
	export SERVER_TOKEN=tok-$RANDOM-secret
	githttp_start --tls tls SERVER_TOKEN
	url=$GITHTTP_URL/reg.git
	[[ $url == https://127.0.0.1:* ]]
	export SSL_CERT_FILE=$PWD/tls/ca.pem
	HP_REGISTRY_TOKEN=$SERVER_TOKEN run --separate-stderr publish 1.0.0 "$url"
	assert_success
	[ -z "$stderr" ]
	[ "$(step registry | jq -r .status)" = ok ]
	[ "$(git --git-dir=srv/reg.git rev-parse main)" = "$(step registry | jq -r .commit)" ]
	grep -q '^POST /reg.git/git-receive-pack 200 user=x-access-token$' "$GITHTTP_LOG"
	[[ $output != *"$SERVER_TOKEN"* ]]
	cp -r data got
	HP_REGISTRY_TOKEN=$SERVER_TOKEN run --separate-stderr timeout 60 hybrid-p2p fetch ds -O got --registry "$url" \
		--trusted-keys keys/k.pub --registry-cache "$PWD/c2"
	assert_success
	[ -z "$stderr" ]
	[ "$(step registry | jq -r .version)" = 1.0.0 ]
	[[ $output != *"$SERVER_TOKEN"* ]]
	# a wrong token over HTTPS is 77 as over HTTP
	HP_REGISTRY_TOKEN=wrong-token-xyz run_fails 77 timeout 60 hybrid-p2p fetch ds -O got2 --registry "$url" \
		--trusted-keys keys/k.pub --registry-cache "$PWD/c3"
	[[ $stderr == *'refused the token in $HP_REGISTRY_TOKEN'* && $stderr != *wrong-token-xyz* ]]
	# a mistyped repository name: HTTP 404 is 66, as a missing local registry
	HP_REGISTRY_TOKEN=$SERVER_TOKEN run_fails 66 timeout 60 hybrid-p2p fetch ds -O got2 --registry "$GITHTTP_URL/rge.git" \
		--trusted-keys keys/k.pub --registry-cache "$PWD/c4"
	[[ $stderr == *"no such repository at '$GITHTTP_URL/rge.git'"* ]]
}

@test "HTTPS: a certificate no trusted CA signed is refused (77, one line naming host:port), nothing published; a CA file that cannot be loaded is 66" {
	tls_make tls
	bare_registry reg
	githttp_start --tls tls
	url=$GITHTTP_URL/reg.git
	hostport=${GITHTTP_URL#https://}
	# the system's CAs only
	run_fails 77 timeout 60 hybrid-p2p fetch ds -O got --registry "$url" --trusted-keys keys/k.pub
	one_line_naming "$hostport" "fetch from"
	[[ $stderr == *"TLS certificate is not trusted"*SSL_CERT_FILE* ]]
	[ ! -e got ]
	run_fails 77 publish 1.0.0 "$url"
	one_line_naming "$hostport" "fetch from"
	[ "$(step registry | jq -r .exit)" = 77 ]
	# another CA
	SSL_CERT_FILE=$PWD/tls/other-ca.pem run_fails 77 publish 1.0.0 "$url"
	[[ $stderr == *"TLS certificate is not trusted"* ]]
	[ -z "$(git --git-dir=srv/reg.git rev-parse -q --verify refs/heads/main)" ]
	! grep -q 'git-receive-pack' "$GITHTTP_LOG"
	SSL_CERT_FILE=$PWD/nothing.pem run_fails 66 timeout 60 hybrid-p2p fetch ds -O got --registry "$url" \
		--trusted-keys keys/k.pub
	[[ $stderr == *"SSL_CERT_FILE '$PWD/nothing.pem'"* ]]
}

@test "a registry made by a plain 'git init --bare' (HEAD on master): publish and fetch over file://, HTTP and SSH, stderr empty" {
	# libgit2 1.5's SSH transport leaks (see the file): ASan builds only
	export LSAN_OPTIONS=${LSAN_OPTIONS:+$LSAN_OPTIONS:}suppressions=$HP_ROOT/tests/lib/lsan-libgit2-ssh.supp:print_suppressions=0
	mkdir srv
	# git's own "hint: Using 'master' as the name for the initial branch" is
	# git's business: none of it reaches publish or fetch
	git init --bare srv/reg.git >init.out 2>&1
	[ "$(git --git-dir=srv/reg.git symbolic-ref HEAD)" = refs/heads/master ]
	cp -r data got
	githttp_start
	sshd_start
	unset SSH_AUTH_SOCK
	export HP_REGISTRY_SSH_KEY=$SSH_KEY
	v=0
	for url in "file://$PWD/srv/reg.git" "$GITHTTP_URL/reg.git" "ssh://$SSH_USER@127.0.0.1:$SSHD_PORT$PWD/srv/reg.git"; do
		v=$((v + 1))
		echo "$v" >data/a.txt
		run --separate-stderr publish "1.0.$v" "$url" --registry-cache "$PWD/pc$v"
		assert_success
		[ -z "$stderr" ] || fail "publish to $url: $stderr"
		[ "$(step registry | jq -r .status)" = ok ]
		echo "$v" >got/a.txt
		run --separate-stderr timeout 60 hybrid-p2p fetch ds -O got --registry "$url" --trusted-keys keys/k.pub \
			--registry-cache "$PWD/fc$v"
		assert_success
		[ -z "$stderr" ] || fail "fetch from $url: $stderr"
		[ "$(step registry | jq -r .version)" = "1.0.$v" ]
	done
	# the registry's HEAD is left as it was; its branch main has the three
	[ "$(git --git-dir=srv/reg.git symbolic-ref HEAD)" = refs/heads/master ]
	[ "$(git --git-dir=srv/reg.git show main:index.json | jq -c .packages.ds.versions)" = '["1.0.1","1.0.2","1.0.3"]' ]
}
