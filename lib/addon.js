'use strict'
// Finds the native addon: a build in this checkout (`npm install` / `npm run
// build` writes msgpack-rpc.<triple>.node here) or, for a registry install,
// the platform package npm picked through optionalDependencies
// (msgpack-rpc-<triple>, holding only that file).
//
// It never throws: lib/errors.js takes the core's error codes from the addon,
// and lib/binding.js turns a failure into ERR_MSGPACK_RPC_NO_ADDON with the
// classes lib/errors.js defines. Neither could be loaded first otherwise.

const fs = require('node:fs')
const path = require('node:path')

const ROOT = path.join(__dirname, '..')

// glibc or musl. Reading ldd is cheap; process.report is the fallback for
// systems without it (and can be slow, so network details are left out).
function libc() {
  try {
    return fs.readFileSync('/usr/bin/ldd', 'latin1').includes('musl') ? 'musl' : 'gnu'
  } catch {}
  const report = process.report
  const excludeNetwork = report && report.excludeNetwork
  try {
    if (report) report.excludeNetwork = true
    const header = report && report.getReport().header
    return header && header.glibcVersionRuntime ? 'gnu' : 'musl'
  } catch {
    return 'gnu'
  } finally {
    // The setting is the application's: put it back.
    if (report) report.excludeNetwork = excludeNetwork
  }
}

/** The napi-rs platform triple: linux-x64-gnu, darwin-arm64, win32-x64-msvc, ... */
function triple() {
  const { platform, arch } = process
  if (platform === 'linux') return `${platform}-${arch}-${libc()}`
  if (platform === 'win32') return `${platform}-${arch}-msvc`
  return `${platform}-${arch}`
}

/**
 * `native` itself if it is a build of this version of the library: an
 * older build lacks what lib/ now reads from it (a stale build in a
 * checkout), and would fail later in ways that name nothing.
 */
function current(native, where) {
  if (typeof native.ERR_CLOSED !== 'string') throw new Error(`${where} is a build of another version of msgpack-rpc (it does not export ERR_CLOSED); rebuild it (npm run build) or reinstall`)
  return native
}

/** `{ native }`, or what was looked for and why it failed. */
function find() {
  const name = triple()
  const local = path.join(ROOT, `msgpack-rpc.${name}.node`)
  const pkg = `msgpack-rpc-${name}`
  let cause
  // A build in this checkout wins, so contributors test what they compiled.
  if (fs.existsSync(local)) {
    try {
      return { native: current(require(local), local) }
    } catch (err) {
      cause = err
    }
  }
  try {
    return { native: current(require(pkg), pkg) }
  } catch (err) {
    // A local build that exists but fails says more than a missing package.
    if (!cause || err.code !== 'MODULE_NOT_FOUND') cause = err
  }
  const [platform, arch, abi] = name.split('-')
  return { native: null, platform, arch, libc: abi, pkg, local, cause }
}

module.exports = find()
