'use strict'
// Loads the native addon and re-exports the event kinds and default limits
// it defines (src/js/events.rs, src/js/constants.rs). The addon comes from a build in this checkout
// (`npm install` / `npm run build` writes msgpack-rpc.<triple>.node here) or,
// for a registry install, from the platform package npm picked through
// optionalDependencies (msgpack-rpc-<triple>, holding only that file).

const fs = require('node:fs')
const path = require('node:path')

const { RpcError, codes } = require('./errors')

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

function firstLine(err) {
  return String((err && err.message) || err).split('\n')[0]
}

function load() {
  const name = triple()
  const local = path.join(ROOT, `msgpack-rpc.${name}.node`)
  const pkg = `msgpack-rpc-${name}`
  let cause
  // A build in this checkout wins, so contributors test what they compiled.
  if (fs.existsSync(local)) {
    try {
      return require(local)
    } catch (err) {
      cause = err
    }
  }
  try {
    return require(pkg)
  } catch (err) {
    // A local build that exists but fails says more than a missing package.
    if (!cause || err.code !== 'MODULE_NOT_FOUND') cause = err
  }
  const [platform, arch, abi] = name.split('-')
  const err = new RpcError(
    codes.NO_ADDON,
    `msgpack-rpc: no native addon could be loaded for platform ${platform}, arch ${arch}` +
      `${abi ? `, libc ${abi}` : ''}. ` +
      `Looked for the package ${pkg} (an optional dependency npm installs on supported platforms; ` +
      `reinstall without --omit=optional / --no-optional) and for a build from source at ${local}. ` +
      `Loader error: ${firstLine(cause)}. ` +
      'To build from source (needs Rust\'s cargo, https://rustup.rs): in a clone of msgpack-rpc run ' +
      '`npm install && npm run pack`, then `npm install` the two tarballs it writes to pack/.'
  )
  err.platform = platform
  err.arch = arch
  if (abi) err.libc = abi
  err.package = pkg
  throw err
}

const native = load()

/**
 * The complete messages a NativeDeframer found in `chunk`: usually the
 * front of the chunk itself (a view, no copy), else the copy it made.
 */
function messagesOf(batch, chunk) {
  if (batch.length !== undefined) return chunk.subarray(0, batch.length)
  return batch.messages
}

module.exports = {
  native,
  messagesOf,
  // Event kinds, the first argument of every native event callback.
  MESSAGES: native.MESSAGES,
  CONNECT: native.CONNECT,
  DRAIN: native.DRAIN,
  END: native.END,
  ERROR: native.ERROR,
  CLOSE: native.CLOSE,
  CONNECTION: native.CONNECTION,
  // Defaults the core applies when an option is not given.
  DEFAULT_HIGH_WATER_MARK: native.DEFAULT_HIGH_WATER_MARK,
  DEFAULT_MAX_DEPTH: native.DEFAULT_MAX_DEPTH,
  DEFAULT_MAX_MESSAGE_SIZE: native.DEFAULT_MAX_MESSAGE_SIZE,
  DEFAULT_MAX_BUFFERED_BYTES: native.DEFAULT_MAX_BUFFERED_BYTES,
  READ_CHUNK: native.READ_CHUNK,
  BATCH_SIZE: native.BATCH_SIZE,
}
