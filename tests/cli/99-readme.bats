#!/usr/bin/env bats
# The README is a test: the fenced ```sh blocks of its "Quick start" (with
# "The same by hand") and "Pipelines" sections run here exactly as written,
# snippet by snippet (a snippet is a run of lines between blank lines), in a
# private HOME and folder with the inputs they name prepared. The only
# changes are the rows of SUBSTITUTIONS below, each of which must match its
# snippet exactly once. A new snippet, a removed one or a ```block in another
# language in these sections fails the test; so does any snippet that exits
# non-zero (run with `bash -e -o pipefail`, so a failure inside a pipeline
# counts). Servers run for real on 127.0.0.1: a bare git registry (file://),
# the publisher's seeder, kubo (tests/lib/kubo.bash).
# HP_README=FILE runs another README (an old one: see each of its errors caught).

load helpers
load ../lib/registry
load ../lib/kubo
load ../lib/bt
load ../lib/dht

README=${HP_README:-$HP_ROOT/README.md}

# What the test runs instead of the README's text, and nothing else.
# snippet (SECTION:N) | README text | what runs; @NAME@ is the variable NAME.
SUBSTITUTIONS='
Quick start:2 | https://github.com/me/registry.git | file://@REGISTRY@
Quick start:2 | --seed | --seed --listen 127.0.0.1:0
Quick start:2 | hybrid-p2p publish | exec hybrid-p2p publish
Quick start:3 | https://github.com/me/registry.git | file://@REGISTRY@
Pipelines:2   | http://127.0.0.1:5001 | @KUBO_API@
Pipelines:3   | https://ipfs.example.org | @KUBO_GATEWAY@
'
# Why each row:
# - the registry: a local bare repository instead of GitHub (no network, no token);
# - --listen: a free port on loopback (publish --seed listens on
#   0.0.0.0:6881 by default), read back from the seeder's "listening" event;
# - exec: publish --seed runs until SIGTERM, in the background here; exec makes
#   the background pid the publisher's own;
# - (no row) the fetch from "anywhere else" finds the seeder through the DHT, as
#   on the internet: here a private DHT of three nodes on loopback
#   (tests/lib/dht.bash), which both sides join through HP_DHT_BOOTSTRAP, the
#   environment's lab setting, not a change to the commands;
# - kubo's RPC API and gateway: the real kubo started below, on its own ports.

setup_file() {
	kubo_start || return
	local s
	mkdir -p "$BATS_FILE_TMPDIR/readme" || return
	for s in "Quick start" Pipelines; do
		python3 "$HP_ROOT/tests/lib/readme_snippets.py" "$README" "$s" \
			"$BATS_FILE_TMPDIR/readme/$s" >"$BATS_FILE_TMPDIR/readme/$s.list" || return
	done
}

teardown_file() {
	kubo_stop
}

setup() {
	setup_scratch
	unset HP_REGISTRY HP_REGISTRY_TOKEN HP_REGISTRY_CACHE HP_TRUSTED_KEYS HP_PASSPHRASE XDG_CACHE_HOME
	export HOME=$SCRATCH/home
	mkdir -p "$HOME"
	PUB_PID=
}

teardown() {
	if [ -n "${PUB_PID:-}" ]; then
		kill "$PUB_PID" 2>/dev/null || true
		wait "$PUB_PID" 2>/dev/null || true
	fi
	dht_stop
}

# snippets SECTION COUNT HEAD...: the section has COUNT snippets, and the
# first line of snippet N starts with the Nth HEAD (so a README that moves,
# adds or drops a snippet fails here by name, not by a puzzling step later).
snippets() {
	local section=$1 count=$2 list=$BATS_FILE_TMPDIR/readme/$1.list n=0 head line
	shift 2
	[ "$(wc -l <"$list")" -eq "$count" ] || {
		echo "README '$section' has $(wc -l <"$list") snippets, this test runs $count: update tests/cli/99-readme.bats" >&2
		cat "$list" >&2
		return 1
	}
	for head in "$@"; do
		n=$((n + 1))
		line=$(sed -n "${n}p" "$list" | cut -f2-)
		[[ $line == "$head"* ]] || {
			echo "README '$section' snippet $n is '$line', this test expects '$head...'" >&2
			return 1
		}
	done
}

# script SECTION N: the path of snippet N of SECTION with its SUBSTITUTIONS
# rows applied; each row must match exactly once.
script() {
	local key="$1:$2" text row k from to rest var
	text=$(<"$BATS_FILE_TMPDIR/readme/$1/$2.sh")
	while IFS= read -r row; do
		[ -n "$row" ] || continue
		k=$(trim "${row%%|*}")
		[ "$k" = "$key" ] || continue
		row=${row#*|}
		from=$(trim "${row%%|*}")
		to=$(trim "${row#*|}")
		rest=${text#*"$from"}
		if [ "$rest" = "$text" ] || [[ $rest == *"$from"* ]]; then
			echo "README '$1' snippet $2: '$from' must occur exactly once (SUBSTITUTIONS):" >&2
			echo "$text" >&2
			return 1
		fi
		while [[ $to =~ @([A-Z_]+)@ ]]; do
			var=${BASH_REMATCH[1]}
			[ -n "${!var:-}" ] || {
				echo "SUBSTITUTIONS: @$var@ is not set" >&2
				return 1
			}
			to=${to//"@$var@"/${!var}}
		done
		text=${text/"$from"/$to}
	done <<<"$SUBSTITUTIONS"
	mkdir -p "$SCRATCH/snippets"
	printf '%s\n' "$text" >"$SCRATCH/snippets/$1-$2.sh"
	echo "$SCRATCH/snippets/$1-$2.sh"
}

trim() {
	local s=$1
	s=${s#"${s%%[![:space:]]*}"}
	echo "${s%"${s##*[![:space:]]}"}"
}

# readme SECTION N: run snippet N of SECTION (as `run`: status, output, stderr)
readme() {
	local f
	f=$(script "$1" "$2") || return
	run --separate-stderr timeout 120 bash -e -o pipefail "$f"
}

# readme_ok SECTION N: readme, which must exit 0 and use no old spelling of
# an option (docs/cli-conventions.md: each use warns)
readme_ok() {
	readme "$@" || return
	((status == 0)) || {
		echo "README '$1' snippet $2 exited $status:" >&2
		cat "$SCRATCH/snippets/$1-$2.sh" >&2
		echo "$output" >&2
		echo "$stderr" >&2
		return 1
	}
	[[ $stderr != *"' is deprecated: use '"* ]] || {
		echo "README '$1' snippet $2 uses an old spelling: $stderr" >&2
		return 1
	}
}

sample_data() {
	mkdir -p data/sub/deeper
	echo hello >data/a.txt
	printf 'id,value\n1,3.14\n' >data/table.csv
	head -c 1500000 /dev/urandom >data/sub/big.bin
	head -c 70001 /dev/urandom >data/sub/deeper/c.bin
}

@test "README Quick start: keygen, publish to a git registry and seed; elsewhere trust the key, fetch by name over BitTorrent, verify" {
	snippets "Quick start" 4 "hybrid-p2p keygen" "# publish:" "# anywhere else" "hp-manifest create"
	sample_data
	bare_registry registry
	REGISTRY=$SCRATCH/srv/registry.git
	publisher_home=$HOME
	dht_start 3

	readme_ok "Quick start" 1
	[ "$(jq -r .private_key <<<"$output")" = "$HOME/.hybrid_p2p/keys/mykey.pem" ]
	[ "$(stat -c %a "$HOME/.hybrid_p2p/keys/mykey.pem")" = 600 ]
	grep -q 'BEGIN PUBLIC KEY' "$HOME/.hybrid_p2p/keys/mykey.pub"

	# publish --seed: in the background until the fetch is done
	f=$(script "Quick start" 2)
	bash -e -o pipefail "$f" >publish.out 2>publish.err 3>&- &
	PUB_PID=$!
	SEED_PORT=$(wait_for "$PUB_PID" 300 seeder_port) || {
		echo "the README's publish --seed did not start seeding:" >&2
		cat publish.out publish.err >&2
		return 1
	}
	[ "$(jq -r 'select(.step == "registry") | .status' publish.out)" = ok ]
	git --git-dir="$REGISTRY" show main:manifests/my-dataset/1.0.0.json | cmp - manifests/my-dataset/1.0.0.json

	# another machine: a new HOME and folder; only the publisher's public key
	# is carried over, to where the README says it is
	mkdir -p elsewhere/home/.hybrid_p2p/keys
	cp "$publisher_home/.hybrid_p2p/keys/mykey.pub" elsewhere/home/.hybrid_p2p/keys/
	export HOME=$SCRATCH/elsewhere/home
	cd elsewhere || return
	readme_ok "Quick start" 3
	[ "$(jq -r 'select(.step == "verify") | .status' <<<"$output")" = ok ]
	jq -e -s '[.[] | select(.path and .size > 0)] | length > 0 and all(.source | startswith("bittorrent"))' <<<"$output" >/dev/null
	[ "$(jq -r 'select(.summary) | .summary.fetched' <<<"$output")" = 4 ]
	[ "$(jq -r 'select(.valid != null) | .valid' <<<"$output")" = true ]
	[ "$(jq -r 'select(.valid != null) | .signature.trusted' <<<"$output")" = true ]
	diff -r "$SCRATCH/data" data
	cmp manifest.json "$SCRATCH/manifests/my-dataset/1.0.0.json"
	[ "$(jq -r '.manifests["my-dataset"].version' "$HOME/.hybrid_p2p/state.json")" = 1.0.0 ]
	# the DHT's state kept for the next run, in the folder keygen made
	grep -q node-id "$HOME/.hybrid_p2p/dht.state"

	cd "$SCRATCH" || return
	pid=$PUB_PID
	PUB_PID=
	stop_ok TERM "$pid" "the README's publish --seed" publish.err
	[ "$(jq -r 'select(.step == "seed") | .status' publish.out | tail -n1)" = stopped ]
}

# the port in the seeder's "listening" event in publish.err
seeder_port() {
	grep '^{"event"' publish.err | jq -r 'select(.event == "listening") | .port' | head -n1
}

@test "README, the same by hand: hp-manifest create, hp-sign manifest, hybrid-p2p verify" {
	snippets "Quick start" 4 "hybrid-p2p keygen" "# publish:" "# anywhere else" "hp-manifest create"
	sample_data
	readme_ok "Quick start" 1
	key_id=$(jq -r .key_id <<<"$output")
	readme_ok "Quick start" 4
	[ "$(jq -r .valid <<<"$output")" = true ]
	[ "$(jq -r .signature.trusted <<<"$output")" = true ]
	[ "$(jq -r .content.ok <<<"$output")" = 4 ]
	[ "$(jq -r .signature.key_id manifest.json)" = "$key_id" ]
	# the CAR and .torrent it names are the ones the manifest describes
	# (kubo imports the CAR and names its root; hp-mktorrent reads the .torrent back)
	[ "$(ipfs dag import --pin-roots my-dataset.car | awk '$1 == "Pinned" {print $3}')" = \
		"$(jq -r .distribution.ipfs_cid manifest.json)" ]
	[ "$(hp-mktorrent --show my-dataset.torrent | jq -r .infohash_v1)" = \
		"$(jq -r .distribution.torrent_infohash manifest.json)" ]
}

@test "README Pipelines: every snippet, in order, on real files, kubo on 127.0.0.1 and the real openssl and minisign" {
	need openssl minisign jq sha1sum
	snippets Pipelines 9 "# a key pair" "# publish over IPFS" "# fetch it anywhere" "# hash a tree" \
		"# several digests" "# the exact bytes" "# which files changed?" "# a detached signature" \
		"# validate manifests"
	sample_data
	head -c 3000000 /dev/urandom >big.iso
	printf 'release\n' >release.tar.gz
	mkdir manifests
	hp-manifest create --name a --version 1 -o manifests/a.json data/a.txt
	hp-manifest create --name b --version 1 -o manifests/b.json data/table.csv

	# a key pair
	readme_ok Pipelines 1
	[ "$(stat -c %a mykey.pem)" = 600 ]
	grep -q 'BEGIN PUBLIC KEY' mykey.pub

	# publish over IPFS: signed, pinned on kubo; kubo itself says so
	readme_ok Pipelines 2
	cid=$(jq -r .distribution.ipfs_cid manifest.json)
	[ "$(jq -r .signature.key_id manifest.json)" = "$(hp-sign pubkey mykey.pub | jq -r .key_id)" ]
	[ "$(jq -r .status <<<"$output")" = pinned ]
	[ "$(jq -r .cid <<<"$output")" = "$cid" ]
	ipfs pin ls --type=recursive "$cid" >/dev/null

	# fetch it through kubo's gateway: byte-identical
	readme_ok Pipelines 3
	jq -e -s '[.[] | select(.path)] | length == 4 and all(.status == "fetched" and (.source | startswith("gateway")))' \
		<<<"$output" >/dev/null
	diff -r data out

	# hash a tree, then a manifest from the records: the same files, paths relative to data
	readme_ok Pipelines 4
	hp-manifest validate manifest-2.0.json
	[ "$(jq -r .version manifest-2.0.json)" = 2.0 ]
	[ "$(jq -c '[.files[] | [.path, .size, .sha256]]' manifest-2.0.json)" = \
		"$(jq -c '[.files[] | [.path, .size, .sha256]]' manifest.json)" ]

	# several digests, checked by coreutils
	readme_ok Pipelines 5
	[ "$(jq -r .sha256 <<<"$output")" = "$(sha256sum big.iso | cut -d' ' -f1)" ]
	[ "$(jq -r .sha1 <<<"$output")" = "$(sha1sum big.iso | cut -d' ' -f1)" ]

	# openssl verifies the signed bytes; a tampered manifest fails
	readme_ok Pipelines 6
	assert_output "Signature Verified Successfully"
	cp manifest.json signed.json
	jq '.description = "tampered"' signed.json >manifest.json
	readme Pipelines 6
	[ "$status" -eq 1 ]
	assert_output "Signature Verification Failure"
	cp signed.json manifest.json

	# which files changed: none, then one with other bytes, one of another size, one missing
	readme_ok Pipelines 7
	assert_output ""
	flip_byte data/sub/big.bin 1000
	echo longer >>data/table.csv
	rm data/sub/deeper/c.bin
	readme Pipelines 7
	[ "$status" -eq 1 ] # hp-verify: content mismatch (the snippet runs with pipefail)
	[ "$(sort <<<"$output" | paste -sd' ')" = "sub/big.bin sub/deeper/c.bin table.csv" ]

	# minisign checks the detached signature; a changed file fails
	readme_ok Pipelines 8
	assert_output --partial "Signature and comment signature verified"
	[ -s release.tar.gz.minisig ]
	echo more >>release.tar.gz
	run_fails minisign -Vm release.tar.gz -p mykey.minisign.pub

	# validate: quiet on success; one line per problem, naming the file
	readme_ok Pipelines 9
	assert_output ""
	[ -z "$stderr" ]
	jq '.total_size += 1' manifests/a.json >manifests/bad.json
	readme Pipelines 9
	[ "$status" -eq 65 ]
	[ -z "$output" ]
	[ -n "$stderr" ]
	while IFS= read -r line; do
		[[ $line == "hp-manifest: manifests/bad.json: "* ]] || {
			echo "not a line about bad.json: $line" >&2
			return 1
		}
	done <<<"$stderr"
}

@test "the README extractor fails on a section it cannot run: a block in another language, no section, an open fence" {
	printf '## Pipelines\n\n```sh\necho ok\n```\n\n```bash\necho not run\n```\n' >a.md
	run_fails 1 python3 "$HP_ROOT/tests/lib/readme_snippets.py" a.md Pipelines out
	[[ $stderr == *"a.md:7: a \`\`\`bash block in section 'Pipelines'"* ]]
	run_fails 1 python3 "$HP_ROOT/tests/lib/readme_snippets.py" a.md "Quick start" out
	printf '## Pipelines\n\n```sh\necho ok\n' >b.md
	run_fails 1 python3 "$HP_ROOT/tests/lib/readme_snippets.py" b.md Pipelines out
	printf '## Pipelines\n\n```sh\n# one\necho 1 \\\n  2\n\n# two\necho 2\n```\n## Next\n```sh\necho 3\n```\n' >c.md
	run --separate-stderr python3 "$HP_ROOT/tests/lib/readme_snippets.py" c.md Pipelines out
	assert_success
	[ "$output" = "$(printf '1\t# one\n2\t# two')" ]
	[ "$(cat out/1.sh)" = "$(printf '# one\necho 1 \\\n  2')" ]
	[ "$(cat out/2.sh)" = "$(printf '# two\necho 2')" ]
}
