#!/usr/bin/env bats
# hp-verify: signature and trust first, then expiry, rollback and every byte.

load helpers

setup() {
	setup_scratch
	mkdir -p data/sub
	printf 'hello\n' > data/a.txt
	head -c 300000 /dev/urandom > data/sub/blob.bin
	: > data/empty
	hp-sign keygen -O keys -n pub >/dev/null
	hp-sign keygen -O keys -n stranger >/dev/null
	SOURCE_DATE_EPOCH=1790000000 hp-manifest create --name pkg --version 1.2.0 -o m.json data
	hp-sign manifest keys/pub.pem m.json -o m.json
}

# A manifest signed by an independent signer: openssl over hp-manifest's canonical bytes.
sign_with_openssl() { # KEY.pem IN OUT
	local pk sig id
	hp-manifest canonical "$2" > canon.bin
	pk=$(openssl pkey -in "$1" -pubout -outform DER | tail -c 32 | base64 -w0)
	sig=$(openssl pkeyutl -sign -rawin -inkey "$1" -in canon.bin | base64 -w0)
	id=$(openssl pkey -in "$1" -pubout -outform DER | tail -c 32 | sha256sum | cut -c1-16)
	jq --arg pk "$pk" --arg sig "$sig" --arg id "$id" \
		'.signature = {algorithm: "ed25519", public_key: $pk, signature: $sig, signed_at: "2026-01-01T00:00:00Z", key_id: $id}' \
		"$2" > "$3"
}

@test "a signed manifest, a trusted key and intact content: valid" {
	run --separate-stderr hp-verify --trusted-keys keys/pub.pub --content data m.json
	assert_success
	[ -z "$stderr" ]
	[ "$(jq -r .valid <<<"$output")" = true ]
	[ "$(jq -r .content.ok <<<"$output")" = 3 ]
	[ "$(jq -r .signature.status <<<"$output")" = good ]
	[ "$(jq -r .signature.trusted <<<"$output")" = true ]
	[ "$(jq -r .signature.key_id <<<"$output")" = "$(hp-sign pubkey keys/pub.pem | jq -r .key_id)" ]
}

@test "the report follows its schema" {
	run --separate-stderr hp-verify --trusted-keys keys/pub.pub --content data m.json
	printf '%s' "$output" > report.json
	echo x >> data/a.txt
	run_fails 1 hp-verify --trusted-keys keys/pub.pub --content data m.json
	printf '%s' "$output" > bad.json
	"$HP_ROOT/.cache/venv/bin/check-jsonschema" --schemafile "$HP_ROOT/schemas/hp-verify.report.schema.json" report.json bad.json
}

@test "a key that is not trusted: exit 1 naming the key" {
	run_fails 1 hp-verify --trusted-keys keys/stranger.pub m.json
	[[ $stderr == *"not among the 1 trusted keys"* ]]
	[ "$(jq -r .signature.status <<<"$output")" = good ]
	[ "$(jq -r .signature.trusted <<<"$output")" = false ]
}

@test "no trusted keys at all: exit 1, unless --allow-untrusted" {
	run_fails 1 env -u HP_TRUSTED_KEYS hp-verify m.json
	[[ $stderr == *"no trusted keys were given"* ]]
	run hp-verify --allow-untrusted m.json
	assert_success
}

@test "HP_TRUSTED_KEYS names the trusted keys file" {
	HP_TRUSTED_KEYS=keys/pub.pub run hp-verify m.json
	assert_success
}

@test "several trusted key files: any of them will do" {
	run hp-verify -k keys/stranger.pub -k keys/pub.pub m.json
	assert_success
}

@test "unsigned: exit 1, unless --allow-unsigned" {
	jq 'del(.signature)' m.json > unsigned.json
	run_fails 1 hp-verify --trusted-keys keys/pub.pub unsigned.json
	[[ $stderr == *"not signed"* ]]
	run hp-verify --allow-unsigned --content data unsigned.json
	assert_success
}

@test "any edited field breaks the signature" {
	for f in '.description = "x"' '.version = "1.2.1"' '.files[0].size = 7' '.provenance.uploader_id = "eve"' \
		'.expires = "2099-01-01T00:00:00Z"'; do
		jq "$f" m.json > edited.json
		# keep the manifest well-formed where the edit would break content_id or total_size
		run_fails hp-verify --trusted-keys keys/pub.pub edited.json
		((status == 1 || status == 65))
	done
	jq '.description = "changed"' m.json > edited.json
	run_fails 1 hp-verify --trusted-keys keys/pub.pub edited.json
	[ "$(jq -r .signature.status <<<"$output")" = bad ]
	[[ $stderr == *"does not match the manifest"* ]]
}

@test "a signature copied from another manifest does not verify" {
	SOURCE_DATE_EPOCH=1790000000 hp-manifest create --name pkg --version 1.3.0 -o other.json data
	jq --slurpfile s m.json '.signature = $s[0].signature' other.json > forged.json
	run_fails 1 hp-verify --trusted-keys keys/pub.pub forged.json
}

@test "a manifest signed by openssl (an independent signer) verifies" {
	openssl genpkey -algorithm ed25519 -out ossl.pem 2>/dev/null
	openssl pkey -in ossl.pem -pubout -out ossl.pub
	sign_with_openssl ossl.pem m.json ossl-signed.json
	run hp-verify --trusted-keys ossl.pub --content data ossl-signed.json
	assert_success
	# and our signature verifies with openssl over the same canonical bytes
	hp-manifest canonical m.json > canon.bin
	jq -r .signature.signature m.json | base64 -d > sig.bin
	openssl pkeyutl -verify -rawin -pubin -inkey keys/pub.pub -in canon.bin -sigfile sig.bin
}

@test "one flipped byte in the content: hash mismatch named" {
	flip_byte data/sub/blob.bin 12345
	run_fails 1 hp-verify --trusted-keys keys/pub.pub --content data m.json
	[ "$(jq -r '.content.hash_mismatch[0].path' <<<"$output")" = sub/blob.bin ]
	[ "$(jq -r '.content.hash_mismatch[0].actual' <<<"$output")" = "$(sha256sum data/sub/blob.bin | cut -c1-64)" ]
	[ "$(jq -r '.content.ok' <<<"$output")" = 2 ]
	[[ $stderr == *"'sub/blob.bin' does not match"* ]]
}

@test "problems: where and message for a bad signature and for a changed file; failures keeps the messages" {
	jq '.description = "changed"' m.json > edited.json
	run_fails 1 hp-verify --trusted-keys keys/pub.pub --content data edited.json
	[ "$(jq -r '.problems | length' <<<"$output")" = 1 ]
	[ "$(jq -r '.problems[0].where' <<<"$output")" = signature ]
	[[ $(jq -r '.problems[0].message' <<<"$output") == *"does not match the manifest"* ]]
	[ "$(jq -c '[.problems[].message]' <<<"$output")" = "$(jq -c .failures <<<"$output")" ]
	# each problem is the line on stderr
	[ "$stderr" = "hp-verify: $(jq -r '.problems[0].message' <<<"$output")" ]
	flip_byte data/sub/blob.bin 12345
	rm data/empty
	run_fails 1 hp-verify --trusted-keys keys/pub.pub --content data m.json
	[ "$(jq -r '[.problems[].where] | sort | join(",")' <<<"$output")" = "empty,sub/blob.bin" ]
	[[ $(jq -r '.problems[] | select(.where == "sub/blob.bin") | .message' <<<"$output") == \
		"'sub/blob.bin' does not match: its SHA-256 is "* ]]
	[ "$(jq -r '.problems[] | select(.where == "empty") | .message' <<<"$output")" = "'empty' is missing" ]
	[ "$(jq -c '[.problems[].message]' <<<"$output")" = "$(jq -c .failures <<<"$output")" ]
	# an expired manifest, and a rollback: where names the check
	SOURCE_DATE_EPOCH=1790000000 hp-manifest create --name pkg --version 1.1.0 --expires 2026-01-01T00:00:00Z -o old.json data
	hp-sign manifest keys/pub.pem old.json -o old.json
	hp-verify --trusted-keys keys/pub.pub --state st.json m.json >/dev/null 2>&1 || true
	run_fails 1 hp-verify --trusted-keys keys/pub.pub --state st.json --now 2027-01-01T00:00:00Z old.json
	[ "$(jq -r '[.problems[].where] | join(",")' <<<"$output")" = "expiry,rollback" ]
	# valid: an empty list
	run hp-verify --trusted-keys keys/pub.pub m.json
	assert_success
	[ "$(jq -c .problems <<<"$output")" = "[]" ]
}

@test "missing, truncated and extra files are each reported" {
	rm data/a.txt
	head -c 1000 data/sub/blob.bin > t && mv t data/sub/blob.bin
	echo new > data/new.txt
	run_fails 1 hp-verify --trusted-keys keys/pub.pub --content data m.json
	[ "$(jq -c .content.missing <<<"$output")" = '["a.txt"]' ]
	[ "$(jq -c .content.extra <<<"$output")" = '["new.txt"]' ]
	[ "$(jq -c '.content.size_mismatch[0]' <<<"$output")" = '{"path":"sub/blob.bin","expected":300000,"actual":1000}' ]
	[ "$(grep -c . <<<"$stderr")" = 3 ]
}

@test "--no-extra ignores files the manifest does not list" {
	echo new > data/new.txt
	run_fails 1 hp-verify --trusted-keys keys/pub.pub --content data m.json
	run hp-verify --no-extra --trusted-keys keys/pub.pub --content data m.json
	assert_success
}

@test "a symbolic link where a file should be is not followed" {
	cp data/a.txt outside.txt
	rm data/a.txt
	ln -s ../outside.txt data/a.txt
	run_fails 1 hp-verify --trusted-keys keys/pub.pub --content data m.json
	[ "$(jq -c .content.missing <<<"$output")" = '["a.txt"]' ]
}

@test "expiry: refused after the date, accepted before it" {
	SOURCE_DATE_EPOCH=1790000000 hp-manifest create --name pkg --version 1.2.0 --expires 2027-01-01T00:00:00Z -o e.json data
	hp-sign manifest keys/pub.pem e.json -o e.json
	run_fails 1 hp-verify --trusted-keys keys/pub.pub --now 2027-01-01T00:00:01Z e.json
	[[ $stderr == *"expired at 2027-01-01T00:00:00Z"* ]]
	run hp-verify --trusted-keys keys/pub.pub --now 2026-12-31T23:59:59Z e.json
	assert_success
	[ "$(jq -r .expiry.expired <<<"$output")" = false ]
}

@test "rollback: an older version than one seen is refused, the state keeps the newest" {
	SOURCE_DATE_EPOCH=1790000000 hp-manifest create --name pkg --version 1.1.0 -o old.json data
	hp-sign manifest keys/pub.pem old.json -o old.json
	run hp-verify --trusted-keys keys/pub.pub --state st.json m.json
	assert_success
	[ "$(jq -r .manifests.pkg.version st.json)" = 1.2.0 ]
	run_fails 1 hp-verify --trusted-keys keys/pub.pub --state st.json old.json
	[[ $stderr == *"rollback"* ]]
	[ "$(jq -r .rollback.previous <<<"$output")" = 1.2.0 ]
	[ "$(jq -r .manifests.pkg.version st.json)" = 1.2.0 ]
	run hp-verify --trusted-keys keys/pub.pub --state st.json m.json
	assert_success
}

@test "the same version with other content is refused" {
	run hp-verify --trusted-keys keys/pub.pub --state st.json m.json
	assert_success
	echo changed > data/a.txt
	SOURCE_DATE_EPOCH=1790000000 hp-manifest create --name pkg --version 1.2.0 -o same.json data
	hp-sign manifest keys/pub.pem same.json -o same.json
	run_fails 1 hp-verify --trusted-keys keys/pub.pub --state st.json same.json
	[[ $stderr == *"seen before with other content"* ]]
}

@test "a failed verification does not record the version" {
	echo x >> data/a.txt
	run_fails 1 hp-verify --trusted-keys keys/pub.pub --state st.json --content data m.json
	[ ! -e st.json ]
}

@test "malformed input: 65; missing input: 66; usage: 64" {
	echo '{"manifest_version": "1.0"' > trunc.json
	run_fails 65 hp-verify --trusted-keys keys/pub.pub trunc.json
	[[ $stderr == "hp-verify: "*"line"* ]]
	run_fails 66 hp-verify --trusted-keys keys/pub.pub nope.json
	[[ $stderr == "hp-verify: cannot open 'nope.json': No such file or directory" ]]
	echo garbage > bad.pub
	run_fails 65 hp-verify --trusted-keys bad.pub m.json
	run_fails 66 hp-verify --trusted-keys keys/pub.pub --content nodir m.json
	run_fails 64 hp-verify
	run_fails 64 hp-verify --bogus m.json
	run_fails 64 hp-verify --now yesterday m.json
	[ -z "$output" ]
}

@test "the manifest on stdin" {
	run hp-verify --trusted-keys keys/pub.pub - < m.json
	assert_success
	[ "$(jq -r .manifest <<<"$output")" = "<stdin>" ]
}

@test "--help and --version" {
	run --separate-stderr hp-verify --help
	assert_success
	[[ $output == "Usage: hp-verify"* ]]
	[ -z "$stderr" ]
	run hp-verify --version
	assert_success
	[[ $output == "hp-verify (hybrid-p2p) "* ]]
	# --help comes from the option table: every option of it, and the common ones
	help_lists_table cli_run.c cli_verify_options hp-verify
}

@test "hybrid-p2p verify MANIFEST DIR is hp-verify --content DIR" {
	run hybrid-p2p verify m.json data --trusted-keys keys/pub.pub
	assert_success
	[ "$(jq -r .content.ok <<<"$output")" = 3 ]
	echo x >> data/a.txt
	run_fails 1 hybrid-p2p verify --trusted-keys keys/pub.pub m.json data
}

@test "hybrid-p2p verify uses ~/.hybrid_p2p/trusted_keys by default" {
	mkdir -p home/.hybrid_p2p
	cp keys/pub.pub home/.hybrid_p2p/trusted_keys
	HOME=$PWD/home run env -u HP_TRUSTED_KEYS hybrid-p2p verify m.json data
	assert_success
}

@test "hybrid-p2p keygen defaults to ~/.hybrid_p2p/keys/mykey" {
	HOME=$PWD/home run hybrid-p2p keygen
	assert_success
	[ -f home/.hybrid_p2p/keys/mykey.pem ]
	[ -f home/.hybrid_p2p/keys/mykey.pub ]
	[ "$(stat -c %a home/.hybrid_p2p/keys/mykey.pem)" = 600 ]
	openssl pkey -in home/.hybrid_p2p/keys/mykey.pem -noout
}

@test "hybrid-p2p: unknown command is a usage error" {
	run_fails 64 hybrid-p2p frobnicate
	run_fails 64 hybrid-p2p
	run hybrid-p2p --help
	assert_success
}
