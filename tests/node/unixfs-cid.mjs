#!/usr/bin/env node
// UnixFS CIDs from the JavaScript importer (npm ipfs-unixfs-importer), an
// implementation independent of kubo's Go code, for the parity tests.
//
//   node tests/node/unixfs-cid.mjs [--profile P] PATH...
//
// P: unixfs-v0-2015 (kubo's default, the default here), unixfs-v1-2025, or
// kubo-cid-v1 (kubo's `ipfs add --cid-version=1`: CIDv1, raw leaves, 256 KiB
// chunks, 174 links, links-bytes HAMT estimate).
// Prints JSON Lines {"path","cid"} for every file and directory, like
// `ipfs add -r`: paths start with the base name of each PATH, a directory
// comes after its entries. Like kubo, names starting with '.' are skipped.
//
// The packages come from $HP_NODE_DIR/node_modules (default: .cache/node,
// installed by scripts/install-deps from tests/node/package-lock.json).
import fs from 'node:fs'
import path from 'node:path'
import url from 'node:url'

const here = path.dirname(url.fileURLToPath(import.meta.url))
const nodeDir = process.env.HP_NODE_DIR ?? path.resolve(here, '../../.cache/node')

// import() a package (or one of its exported subpaths) from nodeDir.
async function load (name, sub = '.') {
  const dir = path.join(nodeDir, 'node_modules', name)
  let pkg
  try {
    pkg = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8'))
  } catch (e) {
    throw new Error(`cannot load ${name} from ${nodeDir} (run scripts/install-deps): ${e.message}`)
  }
  let entry = pkg.exports?.[sub] ?? (sub === '.' ? pkg.main : undefined)
  while (entry !== null && typeof entry === 'object') entry = entry.import ?? entry.default
  if (typeof entry !== 'string') throw new Error(`${name}: no ESM entry for '${sub}'`)
  return import(url.pathToFileURL(path.join(dir, entry)).href)
}

function usage (msg) {
  process.stderr.write(`unixfs-cid: ${msg}\nusage: unixfs-cid.mjs [--profile unixfs-v0-2015|unixfs-v1-2025|kubo-cid-v1] PATH...\n`)
  process.exit(64)
}

const args = process.argv.slice(2)
let profile = 'unixfs-v0-2015'
const paths = []
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--profile') profile = args[++i] ?? usage('--profile needs a value')
  else if (args[i].startsWith('--profile=')) profile = args[i].slice(10)
  else if (args[i] === '--') paths.push(...args.slice(i + 1)), i = args.length
  else if (args[i].startsWith('-')) usage(`unknown option '${args[i]}'`)
  else paths.push(args[i])
}
if (paths.length === 0) usage('no PATH')

const { importer } = await load('ipfs-unixfs-importer')
let options
if (profile === 'unixfs-v0-2015' || profile === 'unixfs-v1-2025') {
  options = { profile }
} else if (profile === 'kubo-cid-v1') {
  const { fixedSize } = await load('ipfs-unixfs-importer', './chunker')
  const { balanced } = await load('ipfs-unixfs-importer', './layout')
  options = {
    cidVersion: 1,
    rawLeaves: true,
    reduceSingleLeafToSelf: true,
    chunker: fixedSize({ chunkSize: 262144 }),
    layout: balanced({ maxChildrenPerNode: 174 }),
    shardSplitStrategy: 'links-bytes',
    shardSplitThresholdBytes: 262144,
    fieldOrder: 'links-first'
  }
} else {
  usage(`unknown profile '${profile}'`)
}

const byteOrder = (a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b))

// Candidates for one PATH, depth-first, names in bytewise order.
function * walk (abs, rel) {
  const st = fs.lstatSync(abs)
  if (st.isSymbolicLink()) {
    yield { path: rel, link: fs.readlinkSync(abs) }
  } else if (st.isDirectory()) {
    const names = fs.readdirSync(abs).filter(n => !n.startsWith('.')).sort(byteOrder)
    if (names.length === 0) yield { path: rel }
    for (const n of names) yield * walk(path.join(abs, n), `${rel}/${n}`)
  } else {
    yield { path: rel, content: fs.createReadStream(abs, { highWaterMark: 1 << 20 }) }
  }
}

// Only CIDs are wanted: a blockstore that keeps nothing.
const blockstore = { put: async (cid) => cid }

for (const p of paths) {
  const base = path.basename(path.resolve(p))
  for await (const entry of importer(walk(p, base), blockstore, { ...options })) {
    process.stdout.write(JSON.stringify({ path: entry.path, cid: entry.cid.toString() }) + '\n')
  }
}
