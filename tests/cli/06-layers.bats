#!/usr/bin/env bats
# lib/'s layers (docs/architecture.md, lib/LAYERS): scripts/check-layers
# passes on the real tree, and fails on a copy of lib/ where a lower layer
# includes a higher one, a module is not in the map, or a network header is
# included outside the adapters.

load helpers

setup() {
	setup_scratch
	CHECK=$HP_ROOT/scripts/check-layers
	cp -R "$HP_ROOT/lib" lib
}

# The lines of $stderr that are not warnings.
errors() {
	grep -v '^check-layers: warning: ' <<<"$stderr" || true
}

@test "check-layers: the real lib/ keeps its layers: exit 0, no violation" {
	run --separate-stderr "$CHECK"
	assert_success
	assert_output --partial "check-layers: ok"
	[ -z "$(errors)" ] || {
		echo "violations: $(errors)" >&2
		return 1
	}
}

@test "check-layers: base hp_buf.c including hp_fetch.h (engine): exit 1 naming both" {
	sed -i 's/^#include "hp_buf.h"$/&\n#include "hp_fetch.h"/' lib/hp_buf.c
	grep -q '^#include "hp_fetch.h"$' lib/hp_buf.c
	run_fails 1 "$CHECK" lib
	[ "$(errors)" = "lib/hp_buf.c: includes hp_fetch.h (engine) from base" ]
}

@test "check-layers: a model header including an engine one: exit 1" {
	printf '#include "hp_verify.h"\n' >>lib/hp_trust.h
	run_fails 1 "$CHECK" lib
	[ "$(errors)" = "lib/hp_trust.h: includes hp_verify.h (engine) from model" ]
}

@test "check-layers: a new module missing from lib/LAYERS: exit 1 naming it" {
	printf '#include "hp_err.h"\n' >lib/hp_new.c
	run_fails 1 "$CHECK" lib
	[ "$(errors)" = "lib/hp_new.c: module hp_new is not in lib/LAYERS" ]
	printf 'engine hp_new\n' >>lib/LAYERS
	run --separate-stderr "$CHECK" lib
	assert_success
}

@test "check-layers: libcurl included outside the adapters: exit 1" {
	sed -i '1i #include <curl/curl.h>' lib/hp_fetch.c
	run_fails 1 "$CHECK" lib
	[ "$(errors)" = "lib/hp_fetch.c: includes <curl/curl.h> (adapters only) from engine" ]
}

@test "check-layers: an allow line accepts exactly that include" {
	printf '#include "hp_fetch.h"\n#include "hp_pin.h"\n' >>lib/hp_io.c
	printf 'allow hp_io.c hp_fetch.h\n' >>lib/LAYERS
	run_fails 1 "$CHECK" lib
	[ "$(errors)" = "lib/hp_io.c: includes hp_pin.h (engine) from base" ]
}

@test "check-layers: a mapped module with no file yet is a warning, not a failure" {
	printf 'engine hp_not_written_yet\n' >>lib/LAYERS
	run --separate-stderr "$CHECK" lib
	assert_success
	[[ $stderr == *"warning: hp_not_written_yet (engine) in lib/LAYERS has no file in lib"* ]]
}

@test "check-layers: a module listed in two layers: exit 65" {
	printf 'base hp_fetch\n' >>lib/LAYERS
	run_fails 65 "$CHECK" lib
	[[ $stderr == *"hp_fetch is listed twice (engine, base)"* ]]
}
