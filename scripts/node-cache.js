'use strict'
// Official Node.js binaries (and an npm for them) for the package test, taken
// from the npm registry (node-<platform>-<arch> packages carry the release
// binary) and kept in a cache outside the checkout, so only the first run
// downloads them.

const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { execFileSync } = require('node:child_process')

const CACHE = path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'msgpack-rpc')

// npm 11 (what Node 20+ ships today) refuses to support Node 18; Node 18
// shipped npm 10, so that is what its users run.
const NPM_FOR = { 18: '10' }

/** Runs the machine's npm with the machine's node (the one running this script). */
function npm(args, cwd) {
  return execFileSync('npm', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] })
}

/** Highest cached `<prefix><version>` directory for a major (or exact) version, or null. */
function cached(prefix, spec) {
  if (!fs.existsSync(CACHE)) return null
  const hits = fs
    .readdirSync(CACHE)
    .filter((d) => (d === `${prefix}${spec}` || d.startsWith(`${prefix}${spec}.`)) && fs.existsSync(path.join(CACHE, d, '.complete')))
    .sort((a, b) => compareVersions(a.slice(prefix.length), b.slice(prefix.length)))
  return hits.length ? path.join(CACHE, hits[hits.length - 1]) : null
}

function compareVersions(a, b) {
  const x = a.split('.').map(Number)
  const y = b.split('.').map(Number)
  for (let i = 0; i < 3; i++) if (x[i] !== y[i]) return x[i] - y[i]
  return 0
}

/** `npm pack <spec>` into a scratch dir, unpacked (package/ stripped) into CACHE/<prefix><version>. */
function download(spec, prefix, members) {
  fs.mkdirSync(CACHE, { recursive: true })
  const scratch = fs.mkdtempSync(path.join(CACHE, '.download-'))
  try {
    const [info] = JSON.parse(npm(['pack', spec, '--json', '--pack-destination', scratch], scratch))
    const dir = path.join(CACHE, `${prefix}${info.version}`)
    fs.rmSync(dir, { recursive: true, force: true })
    fs.mkdirSync(dir)
    execFileSync('tar', ['xzf', path.join(scratch, info.filename), '-C', dir, '--strip-components=1', ...members])
    // Marks a finished unpack: an interrupted one is never taken as cached.
    fs.writeFileSync(path.join(dir, '.complete'), '')
    return dir
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true })
  }
}

/**
 * The newest cached Node.js of this major version (or this exact version,
 * given as x.y.z), downloading the newest release of it when none is cached. Returns { version, node, npmCli }:
 * npmCli is the npm (a JS file to run with that node) its users would have.
 */
function nodeFor(spec) {
  const major = Number(String(spec).split('.')[0])
  const pkg = `node-${process.platform}-${process.arch}`
  const dir = cached('node-', spec) || download(`${pkg}@${spec}`, 'node-', ['package/bin/node', 'package/LICENSE'])
  const node = path.join(dir, 'bin', 'node')
  const version = path.basename(dir).slice('node-'.length)
  let npmCli = path.join(path.dirname(fs.realpathSync(execFileSync('sh', ['-c', 'command -v npm'], { encoding: 'utf8' }).trim())), 'npm-cli.js')
  if (NPM_FOR[major]) {
    const npmDir = cached('npm-', NPM_FOR[major]) || download(`npm@${NPM_FOR[major]}`, 'npm-', [])
    npmCli = path.join(npmDir, 'bin', 'npm-cli.js')
  }
  return { version, node, npmCli }
}

module.exports = { nodeFor, CACHE }

if (require.main === module) {
  for (const major of process.argv.slice(2)) console.log(JSON.stringify(nodeFor(major)))
}
