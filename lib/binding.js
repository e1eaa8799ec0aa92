'use strict'
// Loads the native addon built by `npm install` (napi build --platform) and
// names the event kinds it reports (mirrors src/js/events.rs).

const fs = require('node:fs')
const path = require('node:path')

function isMusl() {
  if (process.platform !== 'linux') return false
  const report = process.report && process.report.getReport ? process.report.getReport() : null
  const header = report && (typeof report === 'string' ? JSON.parse(report) : report).header
  return !!(header && !header.glibcVersionRuntime)
}

function load() {
  const root = path.join(__dirname, '..')
  const prefix = `msgpack-rpc.${process.platform}-${process.arch}`
  const built = fs.readdirSync(root).filter((f) => f.startsWith(prefix) && f.endsWith('.node'))
  const libc = isMusl() ? 'musl' : 'gnu'
  const pick = built.find((f) => f.includes(`-${libc}`)) || built[0]
  if (!pick) {
    const err = new Error(
      `msgpack-rpc: no native addon for ${process.platform}-${process.arch} in ${root}; ` +
        'run `npm install` (or `npm run build`) to build it with cargo'
    )
    err.code = 'ERR_MSGPACK_RPC_NO_ADDON'
    throw err
  }
  return require(path.join(root, pick))
}

module.exports = {
  native: load(),
  MESSAGES: 0,
  CONNECT: 1,
  DRAIN: 2,
  END: 3,
  ERROR: 4,
  CLOSE: 5,
  CONNECTION: 6,
}
