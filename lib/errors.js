'use strict'
// Error classes and the stable codes they carry. Callback-style calls keep
// the legacy values (raw remote error, the string "timeout"); promises get
// these.

const codes = Object.freeze({
  TIMEOUT: 'ERR_MSGPACK_RPC_TIMEOUT',
  CLOSED: 'ERR_MSGPACK_RPC_CLOSED',
  REMOTE: 'ERR_MSGPACK_RPC_REMOTE',
  ABORTED: 'ERR_MSGPACK_RPC_ABORTED',
  ENCODE: 'ERR_MSGPACK_RPC_ENCODE',
  PROTOCOL: 'ERR_MSGPACK_RPC_PROTOCOL',
  MESSAGE_TOO_LARGE: 'ERR_MSGPACK_RPC_MESSAGE_TOO_LARGE',
  UNKNOWN_MSGID: 'ERR_MSGPACK_RPC_UNKNOWN_MSGID',
  ALREADY_RESPONDED: 'ERR_MSGPACK_RPC_ALREADY_RESPONDED',
  TOO_MANY_PENDING: 'ERR_MSGPACK_RPC_TOO_MANY_PENDING',
  /** A request or notification handler, or a 'request'/'notify' listener, threw or rejected. */
  HANDLER: 'ERR_MSGPACK_RPC_HANDLER',
  /** The callback given to `invoke(..., cb)` threw. */
  CALLBACK: 'ERR_MSGPACK_RPC_CALLBACK',
  /** A bug in this library (a native panic, a decoder fault); the connection closes. */
  INTERNAL: 'ERR_MSGPACK_RPC_INTERNAL',
  /** The native addon could not be loaded. */
  NO_ADDON: 'ERR_MSGPACK_RPC_NO_ADDON',
})

class RpcError extends Error {
  constructor(code, message, options) {
    super(message, options)
    this.name = 'RpcError'
    this.code = code
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

/** An Error from the `{ code, message }` the native layer reports (OS errors add `errno`, `syscall`, ...). */
function fromNative(info) {
  const err = new Error(info.message)
  err.code = info.code
  for (const key of ['errno', 'syscall', 'address', 'port', 'hostname']) {
    if (info[key] != null) err[key] = info[key]
  }
  return err
}

module.exports = { codes, RpcError, RemoteError, TimeoutError, ClosedError, AbortError, fromNative }
