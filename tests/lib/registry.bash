# Registries for the bats files: bare git repositories served over file://
# and over smart HTTP by the real `git http-backend` (tests/lib/githttp.py)
# on 127.0.0.1.
#
#   load ../lib/registry
#   bare_registry NAME          -> $PWD/srv/NAME.git, an empty bare repository (branch main)
#   githttp_start [TOKEN_VAR]   -> GITHTTP_URL=http://127.0.0.1:PORT (serves ./srv),
#                                  GITHTTP_LOG; with TOKEN_VAR, Basic auth with the
#                                  token in that variable
#   githttp_stop                 stop it (safe to call twice)

bare_registry() {
	mkdir -p srv
	git init -q --bare -b main "srv/$1.git"
}

githttp_start() {
	command -v python3 >/dev/null || {
		echo "python3 is missing: install it with scripts/install-deps" >&2
		return 1
	}
	[ -x /usr/lib/git-core/git-http-backend ] || {
		echo "git http-backend is missing (package git): install it with scripts/install-deps" >&2
		return 1
	}
	mkdir -p srv
	GITHTTP_LOG=$PWD/githttp.log
	: >"$GITHTTP_LOG"
	rm -f githttp.port
	local args=(srv githttp.port --log "$GITHTTP_LOG")
	[ -n "${1:-}" ] && args+=(--token-env "$1")
	python3 "$HP_ROOT/tests/lib/githttp.py" "${args[@]}" 2>githttp.err 3>&- &
	GITHTTP_PID=$!
	local i
	for i in $(seq 100); do
		if [ -s githttp.port ]; then
			GITHTTP_URL=http://127.0.0.1:$(cat githttp.port)
			export GITHTTP_URL GITHTTP_LOG
			return 0
		fi
		kill -0 "$GITHTTP_PID" 2>/dev/null || break
		sleep 0.05
	done
	echo "githttp.py did not start:" >&2
	cat githttp.err >&2
	return 1
}

githttp_stop() {
	if [ -n "${GITHTTP_PID:-}" ]; then
		kill "$GITHTTP_PID" 2>/dev/null || true
		wait "$GITHTTP_PID" 2>/dev/null || true
		GITHTTP_PID=
	fi
}
