# Registries for the bats files: bare git repositories served over file://
# and over smart HTTP by the real `git http-backend` (tests/lib/githttp.py)
# on 127.0.0.1. Load after helpers.bash (need, free_port, wait_for).
#
#   load ../lib/registry
#   bare_registry NAME          -> $PWD/srv/NAME.git, an empty bare repository (branch main)
#   githttp_start [--tls DIR] [TOKEN_VAR]
#                               -> GITHTTP_URL=http://127.0.0.1:PORT (serves ./srv),
#                                  GITHTTP_LOG; with TOKEN_VAR, Basic auth with the
#                                  token in that variable; with --tls DIR (made by
#                                  tls_make), HTTPS and an https:// GITHTTP_URL
#   githttp_stop                 stop it (safe to call twice)
#   work_registry               -> REG=file://$PWD/srv/reg.git, empty, and its clone ./work
#   commit_manifest FILE        FILE committed at manifests/NAME/VERSION.json with
#                                  index.json updated, and pushed (what a publish
#                                  leaves, nothing signed: for readers that do not verify)
#   tls_make DIR                 -> DIR/ca.pem, a test CA; DIR/server.pem and
#                                  DIR/server.key, its certificate for 127.0.0.1;
#                                  DIR/other-ca.pem, a CA that signed nothing here

bare_registry() {
	mkdir -p srv
	git init -q --bare -b main "srv/$1.git"
}

work_registry() {
	bare_registry reg
	REG=file://$PWD/srv/reg.git
	git clone -q "$REG" work 2>/dev/null
	git -C work config user.email t@example.org
	git -C work config user.name test
	git -C work checkout -q -b main 2>/dev/null || true
}

commit_manifest() { # FILE
	local name version
	name=$(jq -r .name "$1")
	version=$(jq -r .version "$1")
	mkdir -p "work/manifests/$name"
	cp "$1" "work/manifests/$name/$version.json"
	python3 - work "$name" "$version" <<'PY'
import json, os, sys
root, name, version = sys.argv[1:]
p = os.path.join(root, "index.json")
idx = json.load(open(p)) if os.path.exists(p) else {"registry_version": 1, "packages": {}}
pkg = idx["packages"].setdefault(name, {"latest": version, "versions": []})
if version not in pkg["versions"]:
    pkg["versions"].append(version)
pkg["latest"] = version
open(p, "w").write(json.dumps(idx, indent=2, sort_keys=True) + "\n")
PY
	git -C work add -A
	git -C work commit -q -m "publish $name@$version"
	git -C work push -q origin main
}

githttp_start() {
	need python3 || return 1
	[ -x /usr/lib/git-core/git-http-backend ] || {
		echo "git http-backend is missing (package git): install it with scripts/install-deps" >&2
		return 1
	}
	mkdir -p srv
	GITHTTP_LOG=$PWD/githttp.log
	: >"$GITHTTP_LOG"
	rm -f githttp.port
	local args=(srv githttp.port --log "$GITHTTP_LOG") scheme=http
	if [ "${1:-}" = --tls ]; then
		args+=(--tls "$2/server.pem" "$2/server.key")
		scheme=https
		shift 2
	fi
	[ -n "${1:-}" ] && args+=(--token-env "$1")
	python3 "$HP_ROOT/tests/lib/githttp.py" "${args[@]}" 2>githttp.err 3>&- &
	GITHTTP_PID=$!
	local port
	port=$(wait_for "$GITHTTP_PID" 100 cat githttp.port) || {
		echo "githttp.py did not start:" >&2
		cat githttp.err >&2
		return 1
	}
	GITHTTP_URL=$scheme://127.0.0.1:$port
	export GITHTTP_URL GITHTTP_LOG
}

githttp_stop() {
	if [ -n "${GITHTTP_PID:-}" ]; then
		kill "$GITHTTP_PID" 2>/dev/null || true
		wait "$GITHTTP_PID" 2>/dev/null || true
		GITHTTP_PID=
	fi
}

# sshd_start: a private sshd on 127.0.0.1 (a random port) that lets the
# current user in with a fresh key; its host key goes into
# $HOME/.ssh/known_hosts. Sets SSHD_PORT, SSH_USER, SSH_KEY (the user's
# private key) and SSH_OTHER_KEY (a key it does not accept).
sshd_start() {
	[ -x /usr/sbin/sshd ] || {
		echo "sshd is missing (package openssh-server): install it with scripts/install-deps" >&2
		return 1
	}
	local d=$PWD/sshd
	mkdir -p "$d" "$HOME/.ssh"
	ssh-keygen -q -t ed25519 -N '' -f "$d/host" || return
	ssh-keygen -q -t ed25519 -N '' -f "$d/user" || return
	ssh-keygen -q -t ed25519 -N '' -f "$d/other" || return
	cp "$d/user.pub" "$d/authorized_keys"
	chmod 600 "$d/authorized_keys"
	[ "$(id -u)" -ne 0 ] || mkdir -p /run/sshd
	SSHD_PORT=$(free_port)
	cat >"$d/config" <<CONF
Port $SSHD_PORT
ListenAddress 127.0.0.1
HostKey $d/host
AuthorizedKeysFile $d/authorized_keys
PidFile $d/pid
StrictModes no
UsePAM no
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
PubkeyAuthentication yes
LogLevel VERBOSE
CONF
	/usr/sbin/sshd -f "$d/config" -E "$d/log" || {
		cat "$d/log" >&2
		return 1
	}
	local _
	for _ in $(seq 100); do
		[ -s "$d/pid" ] && grep -q 'Server listening' "$d/log" 2>/dev/null && break
		sleep 0.05
	done
	SSHD_PID=$(cat "$d/pid")
	echo "[127.0.0.1]:$SSHD_PORT $(cut -d' ' -f1,2 "$d/host.pub")" >>"$HOME/.ssh/known_hosts"
	SSH_USER=$(id -un)
	SSH_KEY=$d/user
	SSH_OTHER_KEY=$d/other
	export SSHD_PORT SSH_USER SSH_KEY SSH_OTHER_KEY
}

sshd_stop() {
	if [ -n "${SSHD_PID:-}" ]; then
		kill "$SSHD_PID" 2>/dev/null || true
		SSHD_PID=
	fi
}

# tls_make DIR: a test CA and a server certificate for 127.0.0.1 signed by
# it (openssl). The name is in subjectAltName twice: as an IP address (what
# OpenSSL clients match) and as a DNS name (what libgit2's mbedTLS 2.28
# matches a host given as an address against).
tls_make() {
	need openssl || return 1
	local d=$1
	mkdir -p "$d"
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=hp-test-ca \
		-keyout "$d/ca.key" -out "$d/ca.pem" 2>"$d/log" &&
		openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=hp-other-ca \
			-keyout "$d/other-ca.key" -out "$d/other-ca.pem" 2>>"$d/log" &&
		openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=127.0.0.1 \
			-keyout "$d/server.key" -out "$d/server.csr" 2>>"$d/log" &&
		printf '%s\n' 'subjectAltName=IP:127.0.0.1,DNS:127.0.0.1' 'basicConstraints=CA:FALSE' \
			'keyUsage=digitalSignature' 'extendedKeyUsage=serverAuth' >"$d/server.ext" &&
		openssl x509 -req -in "$d/server.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" -CAcreateserial -days 2 \
			-extfile "$d/server.ext" -out "$d/server.pem" 2>>"$d/log" || {
		cat "$d/log" >&2
		return 1
	}
}

# registry_setup: a test's set-up for the registry suites: a scratch folder
# and HOME, no registry or trust variables from outside (nor a CA file), git
# identities, ./data (a.txt, sub/b.bin) and a key pair keys/k.pem, k.pub.
registry_setup() {
	setup_scratch
	export HOME=$SCRATCH/home
	mkdir -p "$HOME"
	unset HP_REGISTRY HP_REGISTRY_TOKEN HP_REGISTRY_CACHE HP_TRUSTED_KEYS XDG_CACHE_HOME SSL_CERT_FILE SSL_CERT_DIR
	export GIT_AUTHOR_NAME=tester GIT_AUTHOR_EMAIL=tester@example.org
	export GIT_COMMITTER_NAME=tester GIT_COMMITTER_EMAIL=tester@example.org
	mkdir -p data/sub
	echo hello >data/a.txt
	head -c 100000 /dev/urandom >data/sub/b.bin
	hybrid-p2p keygen -O keys -n k >/dev/null
}

# publish VERSION URL [ARGS...]: publish ./data as ds@VERSION to URL
publish() {
	local v=$1 url=$2
	shift 2
	timeout 60 hybrid-p2p publish data --name ds --version "$v" --uploader-id me@example.org \
		--key keys/k.pem --output "out/ds-$v.json" --registry "$url" "$@"
}
