#!/usr/bin/env bats
# A full disk never looks like success, and a failed output leaves nothing behind.

load helpers

setup() {
	setup_scratch
	mkdir data
	printf 'hello\n' > data/a.txt
	hp-sign keygen -O keys -n k >/dev/null
	hp-manifest create --name x --version 1 -o m.json data
}

@test "every tool: stdout on a full disk is exit 74 with a message" {
	run_fails 74 bash -c 'hp-hash data > /dev/full'
	[[ $stderr == *"hp-hash: "*"No space left on device"* ]]
	run_fails 74 bash -c 'hp-manifest create --name x --version 1 data > /dev/full'
	[[ $stderr == *"hp-manifest: "*"No space left on device"* ]]
	run_fails 74 bash -c 'hp-manifest canonical m.json > /dev/full'
	run_fails 74 bash -c 'hp-sign pubkey keys/k.pem > /dev/full'
	run_fails 74 bash -c 'hp-verify --allow-unsigned m.json > /dev/full'
	run_fails 74 bash -c 'hp-manifest --help > /dev/full'
}

@test "-o /dev/full: exit 74, and the device is still a device" {
	run_fails 74 hp-manifest create --name x --version 1 -o /dev/full data
	[ -c /dev/full ]
	run_fails 74 hp-sign manifest keys/k.pem m.json -o /dev/full
	[ -c /dev/full ]
}

@test "-o into a missing folder: exit 73, nothing left behind" {
	run_fails 73 hp-manifest create --name x --version 1 -o nodir/m.json data
	[ ! -e nodir ]
	run_fails 73 hp-sign manifest keys/k.pem m.json -o nodir/s.json
}

@test "a failed create leaves the previous output untouched and no temporary file" {
	cp m.json before.json
	run_fails 65 hp-manifest create --name 'bad name' --version 1 -o m.json data
	cmp m.json before.json
	[ -z "$(ls -A | grep tmp- || true)" ]
}

@test "-o /dev/stdout writes through to stdout" {
	run --separate-stderr hp-manifest create --name x --version 1 -o /dev/stdout data
	assert_success
	[ "$(jq -r .name <<<"$output")" = x ]
	[ -c /dev/null ]
}
