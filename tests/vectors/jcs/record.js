// Record expected RFC 8785 outputs with node (an ECMAScript engine), for the
// cases that do not come from cyberphone/json-canonicalization, and the
// powers-of-two number table. Run from tests/vectors/jcs: node record.js
"use strict";
const fs = require("fs");

// RFC 8785 as ECMAScript defines it: JSON.stringify for primitives, member
// names sorted by UTF-16 code units (Array.prototype.sort's default order).
function canonicalize(v) {
	if (v === null || typeof v !== "object") return JSON.stringify(v);
	if (Array.isArray(v)) return "[" + v.map(canonicalize).join(",") + "]";
	return "{" + Object.keys(v).sort().map(k => JSON.stringify(k) + ":" + canonicalize(v[k])).join(",") + "}";
}

for (const name of fs.readdirSync("cases").sort()) {
	if (name.startsWith("cyberphone-")) continue;  // recorded upstream
	const input = fs.readFileSync(`cases/${name}/input.json`, "utf8");
	fs.writeFileSync(`cases/${name}/output.json`, canonicalize(JSON.parse(input)));
}

// Every power of two in binary64 and its neighbours: the values where the
// interval of decimals that read back is lopsided.
const b = Buffer.alloc(8), lines = [], seen = new Set();
function add(bits) {
	if (bits < 0n || bits >= 0x7ff0000000000000n) return;
	const hex = bits.toString(16);
	if (seen.has(hex)) return;
	seen.add(hex);
	b.writeBigUInt64BE(bits);
	lines.push(hex + "," + b.readDoubleBE(0).toString());
}
for (let k = 0n; k < 52n; k++) add(1n << k);          // subnormal powers of two
for (let e = 1n; e < 2047n; e++) {
	const bits = e << 52n;
	add(bits - 1n); add(bits); add(bits + 1n);
}
fs.writeFileSync("numbers/powers-of-two.txt", lines.join("\n") + "\n");
