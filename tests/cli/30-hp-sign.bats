#!/usr/bin/env bats
# hp-sign: keys that openssl reads and writes, signatures that minisign and
# openssl verify, and every failure a clear one-line message with the right
# exit code (never a crash: run_fails refuses codes >= 126).

load helpers

setup() {
	setup_scratch
	unset HP_PASSPHRASE
	V=$VECTORS/sign
}

# the raw 32-byte public key of an SPKI PEM, in base64
raw_b64() { openssl pkey -pubin -in "$1" -outform DER | tail -c 32 | base64; }
# the key id by its definition: first 16 hex digits of SHA-256(raw key)
key_id_of() { openssl pkey -pubin -in "$1" -outform DER | tail -c 32 | sha256sum | cut -c1-16; }
# exactly one line on stderr, starting with "hp-sign: "
one_line_error() {
	[ "$(printf '%s\n' "$stderr" | wc -l)" -eq 1 ] || { echo "stderr: $stderr" >&2; return 1; }
	[[ $stderr == "hp-sign: "* ]] || { echo "stderr: $stderr" >&2; return 1; }
}
# a private copy of a committed key (git checks files out 0644)
key_copy() { cp "$1" "$2" && chmod 600 "$2"; }

# ---- usage ---------------------------------------------------------------

@test "--help prints usage on stdout and exits 0" {
	run --separate-stderr hp-sign --help
	assert_success
	assert_output --partial "Usage: hp-sign keygen"
	[ -z "$stderr" ]
	run hp-sign file --help
	assert_success
	assert_output --partial "minisign"
}

@test "--version" {
	run hp-sign --version
	assert_success
	assert_output --regexp '^hp-sign \(hybrid-p2p\) [0-9]'
}

@test "usage errors exit 64" {
	run_fails 64 hp-sign
	assert_equal "${stderr%%$'\n'*}" "hp-sign: a subcommand is needed: keygen, pubkey, file or manifest"
	run_fails 64 hp-sign frobnicate
	[[ $stderr == *"unknown subcommand 'frobnicate'"* ]]
	run_fails 64 hp-sign keygen --bogus
	[[ $stderr == *"unknown option '--bogus'"* ]]
	run_fails 64 hp-sign keygen
	[[ $stderr == *"keygen needs -n NAME"* ]]
	run_fails 64 hp-sign keygen -n a/b
	[[ $stderr == *"invalid key name 'a/b'"* ]]
	run_fails 64 hp-sign pubkey
	run_fails 64 hp-sign pubkey a b
	run_fails 64 hp-sign pubkey k.pem --pem --base64
	run_fails 64 hp-sign file k.pem
	run_fails 64 hp-sign file k.pem a b -x sig
	[[ $stderr == *"-x SIGFILE needs exactly one FILE"* ]]
	run_fails 64 hp-sign pubkey k.pem --force
	[[ $stderr == *"option --force does not apply to 'pubkey'"* ]]
	run_fails 64 hp-sign keygen -n k --passphrase-file f --ask-passphrase
	run_fails 64 hp-sign keygen -n k --passphrase-file
	[[ $stderr == *"needs a value"* ]]
	[ ! -e k.pem ]
}

# ---- keygen ----------------------------------------------------------------

@test "keygen writes a 0600 PKCS#8 key and an SPKI public key that openssl reads" {
	run --separate-stderr hp-sign keygen -O keys -n alice
	assert_success
	[ -z "$stderr" ]
	[ "$(stat -c %a keys)" = 700 ]
	[ "$(stat -c %a keys/alice.pem)" = 600 ]
	[ "$(stat -c %a keys/alice.pub)" = 644 ]
	run jq -r '[.private_key_file, .public_key_file, .encrypted] | @tsv' <<<"$output"
	assert_output $'keys/alice.pem\tkeys/alice.pub\tfalse'
	openssl pkey -in keys/alice.pem -noout
	openssl pkey -pubin -in keys/alice.pub -noout
	openssl pkey -in keys/alice.pem -pubout | cmp - keys/alice.pub
	head -1 keys/alice.pem | grep -qx -- '-----BEGIN PRIVATE KEY-----'
	[ "$(openssl pkey -in keys/alice.pem -text -noout | head -1)" = "ED25519 Private-Key:" ]
}

@test "keygen JSON: private_key_file and public_key_file; private_key and public_key still the paths" {
	run --separate-stderr hp-sign keygen -O keys -n k
	assert_success
	run jq -r '[.private_key_file, .public_key_file, .private_key, .public_key] | @tsv' <<<"$output"
	assert_output $'keys/k.pem\tkeys/k.pub\tkeys/k.pem\tkeys/k.pub'
	# hybrid-p2p keygen prints the same record
	run --separate-stderr hybrid-p2p keygen -O keys -n h
	assert_success
	run jq -r '[.private_key_file, .public_key_file, .private_key, .public_key] | @tsv' <<<"$output"
	assert_output $'keys/h.pem\tkeys/h.pub\tkeys/h.pem\tkeys/h.pub'
}

# The one warning line an old spelling prints.
deprecated_line() { # OLD NEW
	echo "hp-sign: warning: '$1' is deprecated: use '$2' (the old spelling goes in a later release)"
}

@test "keygen: the old -o and --output still work and warn exactly one line naming --output-dir" {
	local old
	for old in -o --output; do
		run --separate-stderr hp-sign keygen "$old" "keys$old" -n k
		assert_success
		[ -f "keys$old/k.pem" ] && [ -f "keys$old/k.pub" ]
		[ "$(jq -r .private_key_file <<<"$output")" = "keys$old/k.pem" ]
		[ "$stderr" = "$(deprecated_line "$old" --output-dir)" ]
	done
	# --quiet silences the warning, not the work
	run --separate-stderr hp-sign keygen --quiet -o quiet -n k
	assert_success
	[ -z "$stderr" ] && [ -f quiet/k.pem ]
	# -O is not an option of the other subcommands; -o there is the output file
	run_fails 64 hp-sign pubkey keys-o/k.pub -O x
	[[ $stderr == *"option --output-dir does not apply to 'pubkey'"* ]]
	run --separate-stderr hp-sign pubkey keys-o/k.pub --base64 -o b64
	assert_success
	[ -z "$stderr" ] && [ -s b64 ]
}

@test "keygen --help shows -O, --output-dir and none of the old spellings" {
	run --separate-stderr hp-sign keygen --help
	assert_success
	[[ $output == "Usage: hp-sign keygen"* ]]
	[[ $output == *"-O, --output-dir DIR"* ]]
	[[ $output != *"--output "* && $output != *"-o,"* ]]
	run hp-sign file --help
	[[ $output == *"--trusted-comment TEXT"* && $output != *"-t,"* ]]
}

@test "keygen JSON: key_id is the first 16 hex digits of SHA-256 of the raw key" {
	hp-sign keygen -n k >out.json
	[ "$(jq -r .key_id out.json)" = "$(key_id_of k.pub)" ]
	[ "$(jq -r .public_key_b64 out.json)" = "$(raw_b64 k.pub)" ]
	[[ $(jq -r .key_id out.json) =~ ^[0-9a-f]{16}$ ]]
}

@test "keygen refuses to overwrite (73) and leaves the old key; --force replaces it" {
	hp-sign keygen -n k >/dev/null
	cp k.pem old.pem
	run_fails 73 hp-sign keygen -n k
	assert_equal "$stderr" "hp-sign: cannot create './k.pem': file exists (--force replaces it)"
	cmp k.pem old.pem
	rm k.pub
	run_fails 73 hp-sign keygen -n k
	cmp k.pem old.pem
	[ ! -e k.pub ]
	run hp-sign keygen -n k --force
	assert_success
	! cmp -s k.pem old.pem
	[ "$(stat -c %a k.pem)" = 600 ]
	openssl pkey -in k.pem -pubout | cmp - k.pub
}

@test "keygen creates missing directories 0700; one that cannot be created is exit 73" {
	umask 022
	hp-sign keygen -O a/b/c -n k >/dev/null
	[ "$(stat -c %a a) $(stat -c %a a/b) $(stat -c %a a/b/c)" = "700 700 700" ]
	[ -f a/b/c/k.pem ] && [ -f a/b/c/k.pub ]
	touch afile
	run_fails 73 hp-sign keygen -O afile/sub -n k
	one_line_error
	assert_equal "$stderr" "hp-sign: cannot create directory 'afile/sub': 'afile' is not a directory"
	run_fails 73 hp-sign keygen -O afile -n k
	[ ! -e afile/k.pem ]
}

@test "keygen with HP_PASSPHRASE writes encrypted PKCS#8 (scrypt, AES-256-CBC) openssl decrypts" {
	HP_PASSPHRASE='tr0ub4dor&3' run --separate-stderr hp-sign keygen -n k
	assert_success
	[ "$(jq -r .encrypted <<<"$output")" = true ]
	head -1 k.pem | grep -qx -- '-----BEGIN ENCRYPTED PRIVATE KEY-----'
	openssl asn1parse -in k.pem | grep -q ':scrypt$'
	openssl asn1parse -in k.pem | grep -q ':aes-256-cbc'
	! openssl pkey -in k.pem -passin pass:wrong -noout 2>/dev/null
	openssl pkey -in k.pem -passin 'pass:tr0ub4dor&3' -pubout | cmp - k.pub
}

@test "keygen with --passphrase-file (first line; a pipe works too)" {
	printf 'file secret\nignored second line\n' >pass
	hp-sign keygen -n k --passphrase-file pass >/dev/null
	openssl pkey -in k.pem -passin 'pass:file secret' -pubout | cmp - k.pub
	hp-sign keygen -n k2 --passphrase-file <(printf 'piped\n') >/dev/null
	openssl pkey -in k2.pem -passin pass:piped -noout
	: >empty
	run_fails 65 hp-sign keygen -n k3 --passphrase-file empty
	one_line_error
	run_fails 66 hp-sign keygen -n k3 --passphrase-file nope
	assert_equal "$stderr" "hp-sign: cannot open 'nope': No such file or directory"
	[ ! -e k3.pem ]
}

@test "keygen --ask-passphrase without a terminal is a usage error" {
	run_fails 64 hp-sign keygen -n k --ask-passphrase </dev/null
	[[ $stderr == *"--ask-passphrase needs a terminal"* ]]
	[ ! -e k.pem ]
}

# Run a command on a pseudo-terminal (script(1)), typing the given lines
# slowly: a passphrase prompt flushes what was typed ahead, like getpass.
on_tty() {
	local cmd=$1
	shift
	{
		for l in "$@"; do
			sleep 0.4
			printf '%s\n' "$l"
		done
		sleep 0.4
	} | script -qec "$cmd" /dev/null
}

@test "keygen --ask-passphrase asks twice on the terminal without echo; loading asks once" {
	command -v script >/dev/null || fail "script(1) is not installed"
	run on_tty "hp-sign keygen -n k --ask-passphrase" 'tty secret' 'tty secret'
	assert_success
	assert_output --partial "Passphrase for the new key:"
	refute_output --partial "tty secret"
	openssl pkey -in k.pem -passin 'pass:tty secret' -pubout | cmp - k.pub
	run on_tty "hp-sign pubkey k.pem --base64" 'tty secret'
	assert_success
	assert_output --partial "Passphrase for 'k.pem':"
	assert_output --partial "$(raw_b64 k.pub)"
	run on_tty "hp-sign keygen -n k2 --ask-passphrase" 'one' 'two'
	assert_failure 64
	assert_output --partial "hp-sign: the passphrases do not match"
	[ ! -e k2.pem ]
}

# ---- loading keys: passphrases and bad key files ---------------------------

@test "an encrypted key: right passphrase works, wrong one is 65, none is 64" {
	HP_PASSPHRASE=right hp-sign keygen -n k >/dev/null
	HP_PASSPHRASE=right run hp-sign pubkey k.pem --base64
	assert_success
	assert_output "$(raw_b64 k.pub)"
	printf 'right\n' >pass
	run hp-sign pubkey k.pem --base64 --passphrase-file pass
	assert_success
	HP_PASSPHRASE=wrong run_fails 65 hp-sign pubkey k.pem
	assert_equal "$stderr" "hp-sign: cannot decrypt 'k.pem': wrong passphrase?"
	echo data >f
	HP_PASSPHRASE=wrong run_fails 65 hp-sign file k.pem f
	one_line_error
	[ ! -e f.minisig ]
	run_fails 64 hp-sign file k.pem f </dev/null
	assert_equal "$stderr" "hp-sign: 'k.pem' is protected by a passphrase: give it with --passphrase-file or HP_PASSPHRASE, or run on a terminal"
}

@test "a key openssl encrypted (PBES2, PBKDF2, AES-256-CBC) loads with its passphrase" {
	key_copy "$V/openssl-key/key-aes256.pem" k.pem
	run hp-sign pubkey k.pem --base64 --passphrase-file "$V/openssl-key/passphrase"
	assert_success
	assert_output "$(cat "$V/openssl-key/public.b64")"
}

@test "a private key readable by others is refused with 77, naming the mode" {
	hp-sign keygen -n k >/dev/null
	echo data >f
	chmod 644 k.pem
	run_fails 77 hp-sign file k.pem f
	assert_equal "$stderr" "hp-sign: 'k.pem' has mode 0644: a private key must not be accessible by group or others (chmod 600)"
	chmod 640 k.pem
	run_fails 77 hp-sign pubkey k.pem
	[[ $stderr == *"has mode 0640"* ]]
	chmod 400 k.pem
	run hp-sign file k.pem f
	assert_success
}

@test "keys of other types are refused with 65 and say what they are" {
	openssl genpkey -algorithm rsa -pkeyopt rsa_keygen_bits:1024 -out rsa.pem 2>/dev/null
	openssl genpkey -algorithm ec -pkeyopt ec_paramgen_curve:P-256 -out ec.pem
	openssl ecparam -name prime256v1 -genkey -out ec-trad.pem
	openssl genpkey -algorithm ed448 -out ed448.pem
	chmod 600 ./*.pem
	echo data >f
	run_fails 65 hp-sign file rsa.pem f
	assert_equal "$stderr" "hp-sign: 'rsa.pem' is an RSA key, not Ed25519"
	run_fails 65 hp-sign file ec.pem f
	assert_equal "$stderr" "hp-sign: 'ec.pem' is an EC key, not Ed25519"
	run_fails 65 hp-sign pubkey ec-trad.pem
	assert_equal "$stderr" "hp-sign: 'ec-trad.pem' is an EC key, not Ed25519"
	run_fails 65 hp-sign pubkey ed448.pem
	assert_equal "$stderr" "hp-sign: 'ed448.pem' is an Ed448 key, not Ed25519"
	openssl pkey -in rsa.pem -pubout -out rsa.pub
	run_fails 65 hp-sign pubkey rsa.pub
	assert_equal "$stderr" "hp-sign: 'rsa.pub' is an RSA key, not Ed25519"
	[ ! -e f.minisig ]
}

@test "corrupt, truncated, empty and non-PEM key files are 65; a directory or missing file 66" {
	hp-sign keygen -n k >/dev/null
	echo data >f
	install -m 600 /dev/null empty.pem
	run_fails 65 hp-sign file empty.pem f
	assert_equal "$stderr" "hp-sign: 'empty.pem' is empty"
	head -c 40 k.pem >trunc.pem && chmod 600 trunc.pem
	run_fails 65 hp-sign file trunc.pem f
	assert_equal "$stderr" "hp-sign: 'trunc.pem' is not valid PEM: corrupt or truncated"
	sed '2s/^..../!!!!/' k.pem >bad64.pem && chmod 600 bad64.pem
	run_fails 65 hp-sign file bad64.pem f
	one_line_error
	sed '2s/^MC4C/MC5C/' k.pem >badder.pem && chmod 600 badder.pem
	run_fails 65 hp-sign file badder.pem f
	assert_equal "$stderr" "hp-sign: 'badder.pem' is not a valid PKCS#8 private key"
	echo "hello" >text.pem && chmod 600 text.pem
	run_fails 65 hp-sign file text.pem f
	assert_equal "$stderr" "hp-sign: 'text.pem' is not PEM: no '-----BEGIN' line"
	head -c 100000 /dev/zero >big.pem && chmod 600 big.pem
	run_fails 65 hp-sign file big.pem f
	one_line_error
	run_fails 65 hp-sign file k.pub f
	assert_equal "$stderr" "hp-sign: 'k.pub' is a public key, not a private key"
	mkdir dir.pem
	run_fails 66 hp-sign file dir.pem f
	assert_equal "$stderr" "hp-sign: cannot read 'dir.pem': is a directory"
	run_fails 66 hp-sign file nope.pem f
	assert_equal "$stderr" "hp-sign: cannot open 'nope.pem': No such file or directory"
	[ ! -e f.minisig ]
}

# ---- openssl interop ---------------------------------------------------------

@test "a key from openssl genpkey works, and its signatures verify with openssl pkeyutl" {
	openssl genpkey -algorithm ed25519 -out k.pem
	chmod 600 k.pem
	openssl pkey -in k.pem -pubout -out k.pub
	run hp-sign pubkey k.pem --pem
	assert_success
	assert_equal "$output" "$(cat k.pub)"
	run hp-sign pubkey k.pem
	assert_equal "$(jq -r .key_id <<<"$output")" "$(key_id_of k.pub)"
	head -c 100000 /dev/urandom >data.bin
	hp-sign file k.pem data.bin >/dev/null
	# the ED signature is Ed25519 over BLAKE2b-512(file); the global one over sig || comment
	sed -n 2p data.bin.minisig | base64 -d | tail -c 64 >sig.bin
	openssl dgst -blake2b512 -binary data.bin >digest.bin
	openssl pkeyutl -verify -pubin -inkey k.pub -rawin -in digest.bin -sigfile sig.bin
	sed -n 4p data.bin.minisig | base64 -d >global.bin
	{ cat sig.bin; sed -n 3p data.bin.minisig | sed 's/^trusted comment: //' | tr -d '\n'; } >gmsg.bin
	openssl pkeyutl -verify -pubin -inkey k.pub -rawin -in gmsg.bin -sigfile global.bin
	printf x >>digest.bin
	run_fails openssl pkeyutl -verify -pubin -inkey k.pub -rawin -in digest.bin -sigfile sig.bin
}

@test "pubkey converts between PEM, minisign and base64, from private or public files" {
	hp-sign keygen -n k >/dev/null
	hp-sign pubkey k.pem --minisign -o k.minisign.pub
	hp-sign pubkey k.minisign.pub --pem >k2.pub
	cmp k.pub k2.pub
	hp-sign pubkey k.pub --base64 >b64
	[ "$(cat b64)" = "$(raw_b64 k.pub)" ]
	run hp-sign pubkey b64 --pem
	assert_output "$(cat k.pub)"
	id=$(key_id_of k.pub)
	[ "$(head -1 k.minisign.pub)" = "untrusted comment: minisign public key $id" ]
	run hp-sign pubkey k.pub --json
	assert_output "{\"key_id\":\"$id\",\"public_key\":\"$(raw_b64 k.pub)\"}"
	# a device is written into, never replaced
	run_fails 74 hp-sign pubkey k.pub --base64 -o /dev/full
	[ -c /dev/full ]
	run hp-sign pubkey k.pub --base64 -o /dev/stdout
	assert_output "$(raw_b64 k.pub)"
}

@test "standard output full is exit 74" {
	hp-sign keygen -n k >/dev/null
	run_fails 74 sh -c 'hp-sign pubkey k.pub --pem >/dev/full'
	[[ $stderr == *"cannot write to standard output"* ]]
}

# ---- minisign interop ----------------------------------------------------------

@test "hp-sign file signatures verify with the real minisign; a flipped byte fails" {
	hp-sign keygen -n k >/dev/null
	hp-sign pubkey k.pem --minisign -o k.minisign.pub
	head -c 300000 /dev/urandom >big.bin
	echo "small" >small.txt
	run --separate-stderr hp-sign file k.pem big.bin small.txt
	assert_success
	[ "${#lines[@]}" -eq 2 ]
	id=$(key_id_of k.pub)
	run jq -r '[.path, .signature, .key_id] | @tsv' <<<"${lines[1]}"
	assert_output "small.txt	small.txt.minisig	$id"
	run minisign -Vm big.bin -p k.minisign.pub
	assert_success
	assert_output --partial "Trusted comment: timestamp:"
	assert_output --partial "file:big.bin"
	minisign -Vm small.txt -p k.minisign.pub -q
	minisign -Vm small.txt -P "$(sed -n 2p k.minisign.pub)" -q
	# flip one byte in the middle of the file
	flip_byte big.bin 150000
	run_fails 1 minisign -Vm big.bin -p k.minisign.pub
	assert_equal "$stderr" "Signature verification failed"
	# tamper with the trusted comment
	sed -i '3s/small/smalL/' small.txt.minisig
	run_fails minisign -Vm small.txt -p k.minisign.pub
}

@test "minisign shows the key id that hp-sign prints" {
	hp-sign keygen -n a >a.json
	hp-sign keygen -n b >/dev/null
	echo data >f
	hp-sign file a.pem f >/dev/null
	hp-sign pubkey b.pem --minisign -o b.minisign.pub
	run_fails minisign -Vm f -p b.minisign.pub
	id=$(jq -r .key_id a.json)
	# minisign prints the id as a number (%PRIX64): no leading zeros
	id=$(sed 's/^0*//' <<<"${id^^}")
	[[ $stderr == *"is ${id}"$'\n'* ]]
}

@test "file: -x and --trusted-comment; the comment is what minisign reports" {
	hp-sign keygen -n k >/dev/null
	hp-sign pubkey k.pem --minisign -o k.mpub
	echo data >f
	run hp-sign file k.pem f -x out.sig --trusted-comment 'release 1.2.0	ok'
	assert_success
	[ "$(jq -r .trusted_comment <<<"$output")" = "release 1.2.0	ok" ]
	[ -e out.sig ] && [ ! -e f.minisig ]
	run minisign -Vm f -x out.sig -p k.mpub
	assert_success
	assert_output --partial "Trusted comment: release 1.2.0	ok"
	run_fails 64 hp-sign file k.pem f --trusted-comment $'two\nlines'
	[[ $stderr == *"trusted comment must be one line"* ]]
	run hp-sign file k.pem - -x stdin.sig <f
	assert_success
	minisign -Vm f -x stdin.sig -p k.mpub -q
	run_fails 64 hp-sign file k.pem -
}

@test "file: the old -t still works and warns exactly one line naming --trusted-comment" {
	hp-sign keygen -n k >/dev/null
	echo data >f
	run --separate-stderr hp-sign file k.pem f -t 'old spelling'
	assert_success
	[ "$(jq -r .trusted_comment <<<"$output")" = "old spelling" ]
	[ "$stderr" = "$(deprecated_line -t --trusted-comment)" ]
	[ "$(sed -n 3p f.minisig)" = "trusted comment: old spelling" ]
	# -t belongs to file only
	run_fails 64 hp-sign keygen -n k2 -t x
	[[ $stderr == *"option --trusted-comment does not apply to 'keygen'"* ]]
}

@test "file: a missing input is reported, the other files are still signed" {
	hp-sign keygen -n k >/dev/null
	echo a >a
	echo c >c
	mkdir d
	run_fails 66 hp-sign file k.pem a nope c d
	[ "${#lines[@]}" -eq 2 ]
	[[ $stderr == *"hp-sign: cannot open 'nope': No such file or directory"* ]]
	[[ $stderr == *"hp-sign: cannot read 'd': is a directory"* ]]
	[ -e a.minisig ] && [ -e c.minisig ] && [ ! -e nope.minisig ] && [ ! -e d.minisig ]
}

@test "file: same signatures as minisign for the same seed and comment (known answer)" {
	key_copy "$V/minisign/minisign-key.pem" k.pem
	cp "$V/minisign/message.txt" .
	hp-sign file k.pem message.txt --trusted-comment "hp-sign test vector" >/dev/null
	want=$V/minisign/message.txt.minisig
	# the signature bytes (after "ED" and the 8-byte key number) and lines 3-4
	[ "$(sed -n 2p message.txt.minisig | base64 -d | tail -c 64 | xxd -p)" = \
	  "$(sed -n 2p "$want" | base64 -d | tail -c 64 | xxd -p)" ]
	[ "$(sed -n 3,4p message.txt.minisig)" = "$(sed -n 3,4p "$want")" ]
	# minisign checks the key number too: ours is derived from the key, its was random
	hp-sign pubkey k.pem --minisign -o k.mpub
	minisign -Vm message.txt -p k.mpub -q
	run_fails minisign -Vm message.txt -p "$V/minisign/minisign.pub" -q
	[[ $stderr == *"key id in the public key is E1704CF60A99F103"* ]]
}

# ---- manifest ------------------------------------------------------------------

make_manifest() {
	mkdir -p content
	echo "hello" >content/a.txt
	echo "world" >content/b.txt
	hp-manifest create --name demo --version 1.0.0 --timestamp 2026-01-01T00:00:00Z \
		--no-mime -C content . >unsigned.json
}

@test "manifest: signs so that hp-verify and openssl accept it" {
	make_manifest
	hp-sign keygen -n k >k.json
	run --separate-stderr hp-sign manifest k.pem unsigned.json --signed-at 2026-02-03T04:05:06Z
	assert_success
	printf '%s\n' "$output" >signed.json
	# pretty JSON, 2-space indent, trailing newline
	[ "$(sed -n 2p signed.json | cut -c1-3)" = '  "' ]
	[ "$(tail -c 1 signed.json | xxd -p)" = 0a ]
	run jq -r '.signature | [.algorithm, .signed_at, .key_id, .public_key] | @tsv' signed.json
	assert_output "ed25519	2026-02-03T04:05:06Z	$(jq -r .key_id k.json)	$(raw_b64 k.pub)"
	hp-verify --trusted-keys k.pub signed.json >/dev/null
	# the signature is plain Ed25519 over the canonical bytes
	hp-manifest canonical signed.json >canon.bin
	jq -r .signature.signature signed.json | base64 -d >sig.bin
	openssl pkeyutl -verify -pubin -inkey k.pub -rawin -in canon.bin -sigfile sig.bin
	# a changed field breaks it
	jq '.version = "1.0.1"' signed.json >forged.json
	run_fails 1 hp-verify --trusted-keys k.pub forged.json
}

@test "manifest: -o writes the file atomically; the signature is deterministic" {
	make_manifest
	hp-sign keygen -n k >/dev/null
	hp-sign manifest k.pem unsigned.json -o s1.json --signed-at 2026-02-03T04:05:06Z
	hp-sign manifest k.pem unsigned.json --signed-at 2026-02-03T04:05:06Z >s2.json
	cmp s1.json s2.json
	[ -z "$(ls -A | grep tmp-)" ]
	# re-signing a signed manifest replaces the signature
	hp-sign manifest k.pem s1.json --signed-at 2026-02-03T04:05:06Z >s3.json
	cmp s1.json s3.json
}

@test "manifest: bad --signed-at is 64, a malformed manifest 65, a missing one 66" {
	make_manifest
	hp-sign keygen -n k >/dev/null
	run_fails 64 hp-sign manifest k.pem unsigned.json --signed-at yesterday
	echo '{"manifest_version": ' >bad.json
	run_fails 65 hp-sign manifest k.pem bad.json
	one_line_error
	run_fails 66 hp-sign manifest k.pem nope.json
	chmod 644 k.pem
	run_fails 77 hp-sign manifest k.pem unsigned.json
}
