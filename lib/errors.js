'use strict'
// Error classes and the stable codes they carry. Callback-style calls keep
// the legacy values (raw remote error, the string "timeout"); promises get
// these. Every runtime error the library creates is an RpcError (an encode
// error is a TypeError as well); argument errors are Node's own
// TypeError/RangeError with Node's codes.

// The core's own codes come from the addon (src/error.rs spells them). Without
// an addon they are undefined, and lib/binding.js throws NO_ADDON before
// anything could meet them.
const core = require('./addon').native || {}

const codes = Object.freeze({
  TIMEOUT: 'ERR_MSGPACK_RPC_TIMEOUT',
  CLOSED: core.ERR_CLOSED,
  REMOTE: 'ERR_MSGPACK_RPC_REMOTE',
  ABORTED: 'ERR_MSGPACK_RPC_ABORTED',
  ENCODE: 'ERR_MSGPACK_RPC_ENCODE',
  PROTOCOL: core.ERR_PROTOCOL,
  MESSAGE_TOO_LARGE: core.ERR_MESSAGE_TOO_LARGE,
  UNKNOWN_MSGID: 'ERR_MSGPACK_RPC_UNKNOWN_MSGID',
  ALREADY_RESPONDED: 'ERR_MSGPACK_RPC_ALREADY_RESPONDED',
  TOO_MANY_PENDING: 'ERR_MSGPACK_RPC_TOO_MANY_PENDING',
  /** A reconnecting client is down and `maxQueuedCalls` calls already wait for it. */
  QUEUE_FULL: 'ERR_MSGPACK_RPC_QUEUE_FULL',
  /** A request or notification handler, or a 'request'/'notify'/'connection' listener, threw or rejected. */
  HANDLER: 'ERR_MSGPACK_RPC_HANDLER',
  /** The callback given to `invoke(..., cb)` threw. */
  CALLBACK: 'ERR_MSGPACK_RPC_CALLBACK',
  /** A bug in this library (a native panic, a decoder fault); the connection closes. */
  INTERNAL: core.ERR_INTERNAL,
  /** The native addon could not be loaded. */
  NO_ADDON: 'ERR_MSGPACK_RPC_NO_ADDON',
})

const ourCodes = new Set(Object.values(codes))

class RpcError extends Error {
  /**
   * @param {string} code one of `codes`
   * @param {string} message
   * @param {{cause?: *}} [options]
   */
  constructor(code, message, options) {
    super(message, options)
    this.name = 'RpcError'
    this.code = code
  }

  /**
   * `err instanceof RpcError` holds for every error carrying one of our
   * codes, so the encode error, which must stay a TypeError, counts too.
   */
  static [Symbol.hasInstance](value) {
    if (this !== RpcError) return Function.prototype[Symbol.hasInstance].call(this, value)
    return value instanceof Error && ourCodes.has(value.code)
  }
}

/** A value that cannot be encoded: a TypeError (as the contract has it) with our code. */
class EncodeError extends TypeError {
  constructor(message) {
    super(message)
    this.code = codes.ENCODE
  }
}

/** The peer answered with an error; `data` is the value exactly as sent. */
class RemoteError extends RpcError {
  constructor(data, method) {
    super(codes.REMOTE, describeRemote(data))
    this.name = 'RemoteError'
    this.data = data
    if (method !== undefined) this.method = method
  }
}

class TimeoutError extends RpcError {
  constructor(method, ms) {
    super(codes.TIMEOUT, `call to ${JSON.stringify(method)} timed out after ${ms} ms`)
    this.name = 'TimeoutError'
  }
}

class ClosedError extends RpcError {
  constructor(message, cause) {
    super(codes.CLOSED, message, cause === undefined ? undefined : { cause })
    this.name = 'ClosedError'
  }
}

class AbortError extends RpcError {
  constructor(method, reason) {
    super(codes.ABORTED, `call to ${JSON.stringify(method)} was aborted`, reason === undefined ? undefined : { cause: reason })
    this.name = 'AbortError'
  }
}

/** A readable message for any error value a peer may send. */
function describeRemote(data) {
  if (typeof data === 'string') return data
  if (data instanceof Error) return data.message
  // Neovim sends [type, message].
  if (Array.isArray(data) && data.length === 2 && typeof data[1] === 'string') return data[1]
  if (data && typeof data === 'object' && typeof data.message === 'string') return data.message
  try {
    return `remote error: ${JSON.stringify(data, (_, v) => (typeof v === 'bigint' ? v.toString() : v))}`
  } catch {
    return 'remote error'
  }
}

/** Fields of an operating-system error that `net` sets, copied when present. */
const OS_FIELDS = ['errno', 'syscall', 'address', 'port', 'hostname']

/**
 * An Error from the `{ code, message, ...}` the native layer reports: an
 * RpcError for our codes, a plain Error with `net`'s fields for the OS's.
 */
function fromNative(info) {
  const err = ourCodes.has(info.code) ? new RpcError(info.code, info.message) : new Error(info.message)
  err.code = info.code
  for (const field of OS_FIELDS) {
    if (info[field] !== undefined && info[field] !== null) err[field] = info[field]
  }
  return err
}

/**
 * Reports a fault of user code (a handler, a listener, a callback) that
 * nobody else can receive: `'error'` on `primary` if anyone listens, else on
 * `fallback`, else a process warning. Never throws.
 * @param {import('events').EventEmitter} primary
 * @param {import('events').EventEmitter} [fallback]
 */
function reportFault(primary, fallback, code, message, cause) {
  const err = new RpcError(code, message, { cause })
  for (const target of [primary, fallback]) {
    if (target && target.listenerCount('error') > 0) {
      try {
        target.emit('error', err)
        return
      } catch (thrown) {
        // The 'error' listener itself threw: fall through to a warning of that.
        return warn(new RpcError(code, `an 'error' listener threw while reporting: ${message}`, { cause: thrown }))
      }
    }
  }
  warn(err)
}

function warn(err) {
  try {
    process.emitWarning(err)
  } catch {}
}

module.exports = {
  codes,
  RpcError,
  EncodeError,
  RemoteError,
  TimeoutError,
  ClosedError,
  AbortError,
  fromNative,
  reportFault,
}
