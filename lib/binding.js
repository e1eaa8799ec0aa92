'use strict'
// The native addon (found by lib/addon.js) and the event kinds and default
// limits it defines (src/js/events.rs, src/js/constants.rs), re-exported.

const { RpcError, codes } = require('./errors')
const found = require('./addon')

function firstLine(err) {
  return String((err && err.message) || err).split('\n')[0]
}

/** ERR_MSGPACK_RPC_NO_ADDON, saying what was looked for and how to build it. */
function noAddon({ platform, arch, libc: abi, pkg, local, cause }) {
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
  return err
}

if (!found.native) throw noAddon(found)
const native = found.native

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
