# qbittorrent-nox (Debian 12: 4.5.2, WebAPI 2.8.19) driven through its Web
# API on 127.0.0.1, for bats files. Load after tests/lib/bt.bash.
#
#   qbt_start NAME       (QBT_DHT=1: with its DHT on) a private profile NAME/prof with a pre-written
#                        qBittorrent.conf, Web UI on QBT_WEBUI_PORT, BitTorrent
#                        on QBT_PORT (both random, 127.0.0.1), logged in
#   qbt_api PATH [CURL ARGS...]  GET (or POST with -d/-F) /api/v2/PATH
#   qbt_add TORRENT DIR  add it, saving into DIR; prints its id (the `hash`
#                        qBittorrent uses: the v1 infohash, or for v2 and
#                        hybrid torrents the first 40 hex digits of the v2 one)
#   qbt_wait_done ID [SECS]  until progress is 1 and it is seeding
#   qbt_info ID          the torrent's /torrents/info object
#   qbt_stop             app/shutdown, then SIGKILL if it lingers
#
# The config (keys checked against 4.5.2; the test reads them back through
# /app/preferences):
#   [LegalNotice] Accepted=true          else it asks on the terminal and exits
#   [BitTorrent] Session\Port, Session\Interface=lo,
#     Session\InterfaceAddress=127.0.0.1 listen on loopback only
#   Session\DHTEnabled/LSDEnabled/PeXEnabled=false, [Network]
#     PortForwardingEnabled=false        (UPnP/NAT-PMP)
#   Session\BTProtocol=TCP               no uTP (slow on loopback)
#   Session\MultiConnectionsPerIp=true   several peers on 127.0.0.1
#   Session\QueueingSystemEnabled=false  no torrent waits in a queue
#   [Preferences] WebUI\Address=127.0.0.1, WebUI\Port, WebUI\Username and
#     WebUI\Password_PBKDF2="@ByteArray(SALT:KEY)": base64 of a 16-byte salt
#     and of PBKDF2-HMAC-SHA512(password, salt, 100000 rounds, 64 bytes)
#   WebUI\LocalHostAuth stays true: the login is exercised, and a cookie
#     (SID) goes with every call.

QBT_USER=hp
QBT_PASS=hp-interop-test

qbt_start() {
	bt_need qbittorrent-nox curl || return 1
	QBT_DIR=$PWD/$1
	local conf=$QBT_DIR/prof/qBittorrent/config
	mkdir -p "$conf" "$QBT_DIR/dl"
	QBT_WEBUI_PORT=$(free_port)
	QBT_PORT=$(free_port)
	local pbkdf2 dht=false
	[ "${QBT_DHT:-}" = 1 ] && dht=true
	pbkdf2=$("$BT_PY" -c '
import base64, hashlib, os, sys
salt = os.urandom(16)
key = hashlib.pbkdf2_hmac("sha512", sys.argv[1].encode(), salt, 100000, 64)
print(base64.b64encode(salt).decode() + ":" + base64.b64encode(key).decode())' "$QBT_PASS") || return 1
	cat >"$conf/qBittorrent.conf" <<EOF
[LegalNotice]
Accepted=true

[BitTorrent]
Session\\Port=$QBT_PORT
Session\\Interface=lo
Session\\InterfaceName=lo
Session\\InterfaceAddress=127.0.0.1
Session\\DHTEnabled=$dht
Session\\LSDEnabled=false
Session\\PeXEnabled=false
Session\\BTProtocol=TCP
Session\\MultiConnectionsPerIp=true
Session\\QueueingSystemEnabled=false
Session\\DefaultSavePath=$QBT_DIR/dl
Session\\AddTorrentPaused=false

[Network]
PortForwardingEnabled=false

[Preferences]
Connection\\UPnP=false
General\\Locale=en
WebUI\\Enabled=true
WebUI\\Address=127.0.0.1
WebUI\\Port=$QBT_WEBUI_PORT
WebUI\\Username=$QBT_USER
WebUI\\Password_PBKDF2="@ByteArray($pbkdf2)"
WebUI\\LocalHostAuth=true
WebUI\\HostHeaderValidation=true
WebUI\\CSRFProtection=true
EOF
	qbittorrent-nox --profile="$QBT_DIR/prof" >"$QBT_DIR/out" 2>&1 3>&- &
	QBT_PID=$!
	BT_PIDS+=("$QBT_PID")
	_hp_watchdog "$QBT_PID" >/dev/null
	wait_port "$QBT_WEBUI_PORT" 150 || {
		echo "qbittorrent-nox did not start:" >&2
		cat "$QBT_DIR/out" >&2
		return 1
	}
	# the login: form fields, and a Referer/Origin of the Web UI itself
	# (CSRF protection refuses a foreign one)
	local r
	r=$(curl -s -c "$QBT_DIR/cookies" -H "Referer: http://127.0.0.1:$QBT_WEBUI_PORT" \
		--data-urlencode "username=$QBT_USER" --data-urlencode "password=$QBT_PASS" \
		"http://127.0.0.1:$QBT_WEBUI_PORT/api/v2/auth/login")
	[ "$r" = "Ok." ] || {
		echo "qbittorrent-nox refused the login: '$r'" >&2
		cat "$QBT_DIR/out" >&2
		return 1
	}
	local v
	v=$(qbt_api app/version) || return 1
	[[ $v == v4.* ]] || {
		echo "qbittorrent-nox is '$v', the tests know 4.5.2" >&2
		return 1
	}
	# the config took: nothing but TCP on 127.0.0.1
	qbt_api app/preferences | jq -e --argjson port "$QBT_PORT" --argjson dht "$dht" '
		.dht == $dht and .lsd == false and .pex == false and .upnp == false
		and .bittorrent_protocol == 1 and .listen_port == $port
		and .current_interface_address == "127.0.0.1"
		and .enable_multi_connections_from_same_ip == true
		and .queueing_enabled == false' >/dev/null || {
		echo "qbittorrent-nox did not take the config:" >&2
		qbt_api app/preferences >&2
		return 1
	}
	wait_port "$QBT_PORT" 100
}

qbt_api() {
	local path=$1
	shift
	curl -sf -b "$QBT_DIR/cookies" -H "Referer: http://127.0.0.1:$QBT_WEBUI_PORT" "$@" \
		"http://127.0.0.1:$QBT_WEBUI_PORT/api/v2/$path"
}

qbt_add() {
	local torrent=$1 dir=$2 id r _
	id=$(hp-mktorrent --show "$torrent" | jq -r 'if .infohash_v2 then .infohash_v2[0:40] else .infohash_v1 end') ||
		return 1
	r=$(qbt_api torrents/add -F "torrents=@$torrent" -F "savepath=$dir" -F paused=false) || {
		echo "qbittorrent-nox: torrents/add failed for $torrent" >&2
		return 1
	}
	[ "$r" = "Ok." ] || {
		echo "qbittorrent-nox did not add $torrent: '$r'" >&2
		return 1
	}
	for _ in $(seq 100); do
		[ "$(qbt_api "torrents/info?hashes=$id" | jq length)" = 1 ] && {
			echo "$id"
			return 0
		}
		sleep 0.1
	done
	echo "qbittorrent-nox lists no torrent $id after adding $torrent" >&2
	qbt_api torrents/info >&2
	return 1
}

qbt_info() {
	qbt_api "torrents/info?hashes=$1" | jq -e '.[0]'
}

qbt_wait_done() {
	local id=$1 secs=${2:-120} r _
	for _ in $(seq $((secs * 4))); do
		r=$(qbt_info "$id") || return 1
		case $(jq -r .state <<<"$r") in
		error | missingFiles)
			echo "qbittorrent-nox: $id failed: $r" >&2
			return 1
			;;
		uploading | stalledUP | forcedUP | queuedUP)
			jq -e '.progress == 1' <<<"$r" >/dev/null && return 0
			;;
		esac
		sleep 0.25
	done
	echo "qbittorrent-nox: $id not complete after $secs s: $r" >&2
	return 1
}

qbt_stop() {
	[ -n "${QBT_PID:-}" ] || return 0
	qbt_api app/shutdown -X POST >/dev/null 2>&1 || kill -TERM "$QBT_PID" 2>/dev/null || true
	_hp_reap "$QBT_PID"
	QBT_PID=
}
