#!/usr/bin/env bats
# The manifest corpus (tests/manifests/) against an independent JSON Schema
# validator (check-jsonschema, ECMAScript regexes via regress, "format":
# "date-time" enforced by default) and against `hp-manifest validate`.
#
#   valid/             both validators accept; hp-manifest validate exits 0
#   invalid-schema/    check-jsonschema rejects; hp-manifest exits 65
#   invalid-semantic/  check-jsonschema accepts; hp-manifest exits 65
#   expect.tsv         the text each rejection message must contain
#
# `hp-manifest validate --schema-only` must agree with check-jsonschema on
# every file.

load helpers

CORPUS=$HP_ROOT/tests/manifests
SCHEMA=$HP_ROOT/schemas/manifest.schema.json
CJ=$HP_ROOT/.cache/venv/bin/check-jsonschema

setup() {
	setup_scratch
}

need_cj() {
	[ -x "$CJ" ] || fail "check-jsonschema is not installed (run scripts/install-deps)"
}

# The files check-jsonschema rejects, one per line, from its JSON report.
cj_rejected() {
	"$CJ" --schemafile "$SCHEMA" -o json "$@" >cj.json 2>cj.err || true
	python3 - <<'EOF'
import json
d = json.load(open("cj.json"))
bad = {e["filename"] for e in d.get("errors", [])} | {e.get("filename", "") for e in d.get("parse_errors", [])}
for f in sorted(bad):
    print(f)
EOF
}

@test "the corpus is what tests/manifests/generate writes" {
	command -v openssl >/dev/null || fail "openssl is not installed"
	python3 "$CORPUS/generate" --out gen
	for d in valid invalid-schema invalid-semantic; do
		diff -r "$CORPUS/$d" "gen/$d"
	done
	diff "$CORPUS/expect.tsv" gen/expect.tsv
}

@test "the corpus has enough cases, and expect.tsv covers every invalid file" {
	local n_valid n_schema n_sem
	n_valid=$(ls "$CORPUS"/valid/*.json | wc -l)
	n_schema=$(ls "$CORPUS"/invalid-schema/*.json | wc -l)
	n_sem=$(ls "$CORPUS"/invalid-semantic/*.json | wc -l)
	((n_valid >= 5 && n_schema >= 100 && n_sem >= 15))
	for f in "$CORPUS"/invalid-schema/*.json "$CORPUS"/invalid-semantic/*.json; do
		grep -q "^${f#"$CORPUS"/}"$'\t' "$CORPUS/expect.tsv" || {
			echo "no expectation for $f"
			return 1
		}
	done
	# small files only
	run find "$CORPUS" -name "*.json" -size +16k
	assert_output ''
}

@test "check-jsonschema accepts every valid/ manifest" {
	need_cj
	run cj_rejected "$CORPUS"/valid/*.json
	assert_success
	assert_output ''
}

@test "check-jsonschema accepts every invalid-semantic/ manifest" {
	need_cj
	run cj_rejected "$CORPUS"/invalid-semantic/*.json
	assert_success
	assert_output ''
}

@test "check-jsonschema rejects every invalid-schema/ manifest" {
	need_cj
	cj_rejected "$CORPUS"/invalid-schema/*.json >rejected
	local missing=0
	for f in "$CORPUS"/invalid-schema/*.json; do
		grep -qxF "$f" rejected || {
			echo "check-jsonschema accepts $f"
			missing=1
		}
	done
	((missing == 0))
}

@test "check-jsonschema enforces format date-time (a date that fits the pattern but does not exist)" {
	need_cj
	local f=$CORPUS/invalid-schema/timestamp-feb-30.json
	run "$CJ" --schemafile "$SCHEMA" "$f"
	assert_failure
	assert_output --partial 'is not a'
	# without format checks the pattern alone lets it through
	run "$CJ" --schemafile "$SCHEMA" --disable-formats '*' "$f"
	assert_success
}

@test "hp-manifest validate --schema-only agrees with check-jsonschema on every file" {
	need_cj
	cj_rejected "$CORPUS"/*/*.json >rejected
	local bad=0 f want
	for f in "$CORPUS"/*/*.json; do
		want=0
		grep -qxF "$f" rejected && want=65
		run --separate-stderr hp-manifest validate --schema-only "$f"
		if ((status != want)); then
			echo "disagree on $f: check-jsonschema says $want, hp-manifest $status: $stderr"
			bad=1
		fi
	done
	((bad == 0))
}

@test "hp-manifest validate accepts every valid/ manifest, silently" {
	local f
	for f in "$CORPUS"/valid/*.json; do
		run --separate-stderr hp-manifest validate "$f"
		assert_success
		assert_output ''
		assert_equal "$stderr" ''
		run --separate-stderr hp-manifest validate --schema-only "$f"
		assert_success
	done
	# every file at once, and with --json
	run --separate-stderr hp-manifest validate --json "$CORPUS"/valid/*.json
	assert_success
	assert_equal "$(jq -s 'map(select(.valid and .problems == [])) | length' <<<"$output")" \
		"$(ls "$CORPUS"/valid/*.json | wc -l)"
}

# Every file of folder $1 must fail with 65, one line per problem (here
# exactly one), starting with "hp-manifest: FILE: " and naming the member.
check_rejects() {
	local folder=$1 bad=0 f where
	while IFS=$'\t' read -r f where; do
		[[ $f == "$folder"/* ]] || continue
		run --separate-stderr hp-manifest validate "$CORPUS/$f"
		local lines
		lines=$(printf '%s\n' "$stderr" | wc -l)
		if ((status != 65)) || [ -n "$output" ] || ((lines != 1)) ||
			[[ $stderr != "hp-manifest: $CORPUS/$f: "* ]] || [[ $stderr != *"$where"* ]]; then
			echo "$f: exit $status, want 65 and one line naming '$where'; stdout '$output'; stderr:"
			echo "$stderr"
			bad=1
		fi
	done < <(grep -v '^#' "$CORPUS/expect.tsv")
	((bad == 0))
}

@test "hp-manifest validate rejects every invalid-schema/ manifest: 65, one line naming the member" {
	check_rejects invalid-schema
}

@test "hp-manifest validate rejects every invalid-semantic/ manifest: 65, one line naming the member" {
	check_rejects invalid-semantic
}

@test "hp-manifest validate --json lists the problem with its member for each invalid file" {
	local f where
	while IFS=$'\t' read -r f where; do
		run --separate-stderr hp-manifest validate --json "$CORPUS/$f"
		assert_equal "$status" 65
		run jq -e --arg w "$where" '.valid == false and (.problems | length) == 1 and
			((.problems[0].where + ": " + .problems[0].message) | contains($w))' <<<"$output"
		assert_success
	done < <(grep -v '^#' "$CORPUS/expect.tsv")
}

@test "one line per problem: a manifest with several problems" {
	jq '.name = "bad name" | .files[0].sha256 = "X" | .files[1].path = "/abs" | .extra = 1' \
		"$CORPUS/valid/full-unsigned.json" >multi.json
	run_fails 65 hp-manifest validate multi.json
	assert_output ''
	assert_equal "$(printf '%s\n' "$stderr" | wc -l)" 4
	[[ $stderr == *"multi.json: unknown member 'extra'"* ]]
	[[ $stderr == *"multi.json: name: "* ]]
	[[ $stderr == *"multi.json: files[0].sha256: "* ]]
	[[ $stderr == *"multi.json: files[1].path: "* ]]
	while IFS= read -r l; do [[ $l == "hp-manifest: multi.json: "* ]]; done <<<"$stderr"
}

@test "valid/signed.json: the openssl-made signature is what hp-sign makes, and hp-verify trusts it" {
	[ -x "$HP_BIN/hp-sign" ] || fail "hp-sign is not built"
	cp "$CORPUS/rfc8032-test1.pem" k.pem
	chmod 600 k.pem
	run --separate-stderr hp-sign manifest k.pem "$CORPUS/valid/full-unsigned.json" \
		--signed-at 2026-01-02T03:04:05Z -o signed.json
	assert_success
	jq -S . signed.json >a
	jq -S . "$CORPUS/valid/signed.json" >b
	diff a b
	[ -x "$HP_BIN/hp-verify" ] || fail "hp-verify is not built"
	for f in signed signed-minimal; do
		run --separate-stderr hp-verify -k "$CORPUS/rfc8032-test1.pub" --now 2026-06-01T00:00:00Z \
			"$CORPUS/valid/$f.json"
		assert_success
		jq -e '.valid and .signature.status == "good" and .signature.trusted' <<<"$output"
	done
}

# Differences between check-jsonschema and hp-manifest found while writing this
# corpus; each test states which side is right.

@test "no leap seconds: both refuse second 60" {
	need_cj
	jq '.provenance.timestamp = "2026-06-30T12:30:60Z"' "$CORPUS/valid/full-unsigned.json" >leap.json
	run "$CJ" --schemafile "$SCHEMA" leap.json
	assert_failure  # check-jsonschema's date-time never allows :60
	run_fails 65 hp-manifest validate --schema-only leap.json
}

@test "U+2028/U+2029 cannot hide a '..' or '//' from the schema's path pattern" {
	need_cj
	local p
	for p in 'a\u2028//b' 'a\u2028/../b' 'a\u2029/'; do
		jq --arg p "$(printf "$p")" '.files[0].path = $p | .files |= sort_by(.path)' \
			"$CORPUS/valid/minimal.json" >sep.json
		# hp-manifest is right: the schema's own description forbids these
		run_fails 65 hp-manifest validate --schema-only sep.json
		run "$CJ" --schemafile "$SCHEMA" sep.json
		assert_failure
	done
}

@test "intentional difference: NUL (\\u0000) in a string is refused by our parser, allowed by the schema" {
	jq '.description = "a\u0000b"' "$CORPUS/valid/minimal.json" >nul.json
	run_fails 65 hp-manifest validate --schema-only nul.json
	[[ $stderr == *"NUL character"* ]]
	need_cj
	run "$CJ" --schemafile "$SCHEMA" nul.json
	assert_success
}
