'use strict'
// RpcStream: one MessagePack-RPC connection, the same class on both ends.
// Owns the pending calls, their timers and callbacks, dispatch of incoming
// requests and notifications, and the per-tick write batching: every message
// encoded during one tick goes to the native connection in one `write`.

const { EventEmitter } = require('node:events')
const binding = require('./binding')
const { Encoder, decodeMessages } = require('./codec')
const { Socket } = require('./socket')
const { Response } = require('./response')
const errors = require('./errors')

const MAX_MSGID = 0xffffffff
/** Timed-out or aborted msgids remembered so their late replies are dropped quietly. */
const MAX_ABANDONED = 65536
/** Bytes of encoded-but-unflushed messages past which writes report backpressure. */
const DEFAULT_HIGH_WATER_MARK = 1024 * 1024
/** Calls awaiting a reply, and requests awaiting our answer, per stream. */
const DEFAULT_MAX_PENDING_CALLS = 65536
/** Messages encoded in one tick before they are written without waiting for its end. */
const FLUSH_EVERY = Number(process.env.MSGPACK_RPC_FLUSH_EVERY) || 64

/** A call awaiting its reply (one shape for every call keeps property access fast). */
class PendingCall {
  constructor(method, cb, resolve, reject) {
    this.method = method
    this.cb = cb
    this.resolve = resolve
    this.reject = reject
    this.timer = undefined
    this.signal = undefined
    this.onAbort = undefined
  }
}

/** The call whose settlers the next `new Promise(captureSettlers)` takes. */
let settling
/** A Promise executor shared by every call: no closure allocated per call. */
function captureSettlers(resolve, reject) {
  settling.resolve = resolve
  settling.reject = reject
}

class RpcStream extends EventEmitter {
  /**
   * @param {object} native a NativeConnection
   * @param {object} [options]
   * @param {object} [options.handler] methods to dispatch requests to
   * @param {object} [options.server] the Server that accepted it
   * @param {boolean} [options.connecting] a client still connecting
   */
  constructor(native, options = {}) {
    super()
    this._native = native
    this._datagram = !!(native && native.datagram)
    this._handler = options.handler
    this._server = options.server
    this._state = options.connecting ? 'connecting' : 'open'
    this._pending = new Map()
    this._abandoned = new Set()
    this._lastId = MAX_MSGID
    this._timeout = options.timeout > 0 ? options.timeout : undefined
    this._encoder = new Encoder(1024)
    this._flushScheduled = false
    this._batched = 0
    this._needDrain = false
    this._highWaterMark = options.highWaterMark || DEFAULT_HIGH_WATER_MARK
    this._maxPending = options.maxPendingCalls || DEFAULT_MAX_PENDING_CALLS
    this._incoming = 0
    this._closingGracefully = false
    this._peerEnded = false
    this._closeError = undefined
    this._endpoints = undefined
    this._referenced = true
    this.stream = new Socket(this)
    this._flush = this._flush.bind(this)
    this._onEvent = this._onEvent.bind(this)
  }

  // ---- calling the peer ----------------------------------------------------

  /**
   * Calls `method` on the peer. With a callback (last argument) it is called
   * as `cb(err, result)` with the legacy values and `invoke` returns whether
   * the write stayed under the high-water mark; without one, a Promise.
   *
   * @param {string} method
   * @param {...*} params followed by an optional `function (err, result)`
   */
  invoke(method, ...params) {
    const cb = typeof params[params.length - 1] === 'function' ? params.pop() : undefined
    if (cb) {
      this._call(new PendingCall(method, cb, undefined, undefined), params, undefined)
      return !this._needDrain
    }
    return this._promiseCall(method, params, undefined)
  }

  /**
   * Calls `method` with an array of params and per-call options.
   * @param {string} method
   * @param {Array} [params=[]]
   * @param {{timeout?: number, signal?: AbortSignal}} [options]
   * @returns {Promise<*>}
   */
  request(method, params = [], options) {
    if (!Array.isArray(params)) throw argError('params', 'an Array', params)
    return this._promiseCall(method, params, options)
  }

  _promiseCall(method, params, options) {
    const call = new PendingCall(method, undefined, undefined, undefined)
    settling = call
    const promise = new Promise(captureSettlers)
    settling = undefined
    try {
      this._call(call, params, options)
    } catch (err) {
      call.reject(err)
    }
    return promise
  }

  /**
   * Sends a notification (no reply). Returns false when the caller should
   * wait for `'drain'`.
   * @param {string} method
   * @param {...*} params
   */
  notify(method, ...params) {
    checkMethod(method)
    if (this._state === 'closing' || this._state === 'closed') return false
    this._encoder.notification(method, params)
    this._queued()
    return !this._needDrain
  }

  /** Per-call timeout in ms for later calls; 0 or undefined turns it off. */
  setTimeout(ms) {
    if (ms !== undefined && ms !== null && (typeof ms !== 'number' || ms < 0 || Number.isNaN(ms))) {
      throw argError('timeout', 'a non-negative number', ms)
    }
    this._timeout = ms > 0 ? ms : undefined
    return this
  }

  /** Sends a request; `call` settles through `cb` (legacy) or `resolve`/`reject`. */
  _call(call, params, options) {
    const { method, cb, reject } = call
    checkMethod(method)
    const timeout = options && options.timeout !== undefined ? options.timeout : this._timeout
    const signal = options && options.signal
    if (signal && signal.aborted) {
      return reject(new errors.AbortError(method, signal.reason))
    }
    if (this._state === 'closing' || this._state === 'closed') {
      const err = this._closeError || new errors.ClosedError('connection closed')
      if (cb) process.nextTick(cb, err)
      else reject(this._closeError ? new errors.ClosedError(err.message, err) : err)
      return
    }
    if (this._pending.size >= this._maxPending) {
      const err = new errors.RpcError(errors.codes.TOO_MANY_PENDING, `${this._pending.size} calls are already awaiting a reply (maxPendingCalls)`)
      if (cb) process.nextTick(cb, err)
      else reject(err)
      return
    }
    const id = this._nextId()
    try {
      this._encoder.request(id, method, params)
      this._queued()
    } catch (err) {
      if (cb) throw err
      return reject(err)
    }
    if (timeout > 0) {
      call.timer = setTimeout(() => this._expire(id, timeout), timeout)
      if (!this._referenced) call.timer.unref()
    }
    if (signal) {
      call.signal = signal
      call.onAbort = () => this._abort(id)
      signal.addEventListener('abort', call.onAbort, { once: true })
    }
    this._pending.set(id, call)
  }

  _nextId() {
    let id = this._lastId
    // Bounded: at most every id in flight is skipped once.
    for (let i = 0; i <= MAX_MSGID; i++) {
      id = id === MAX_MSGID ? 0 : id + 1
      if (!this._pending.has(id) && (this._abandoned.size === 0 || !this._abandoned.has(id))) break
    }
    this._lastId = id
    return id
  }

  _settle(id) {
    const call = this._pending.get(id)
    if (call === undefined) return undefined
    this._pending.delete(id)
    if (call.timer !== undefined) clearTimeout(call.timer)
    if (call.signal !== undefined) call.signal.removeEventListener('abort', call.onAbort)
    return call
  }

  _abandon(id) {
    this._abandoned.add(id)
    if (this._abandoned.size > MAX_ABANDONED) {
      this._abandoned.delete(this._abandoned.values().next().value)
    }
  }

  _expire(id, ms) {
    const call = this._settle(id)
    if (call === undefined) return
    this._abandon(id)
    if (call.cb) invokeCallback(call.cb, 'timeout')
    else call.reject(new errors.TimeoutError(call.method, ms))
  }

  _abort(id) {
    const call = this._settle(id)
    if (call === undefined) return
    this._abandon(id)
    call.reject(new errors.AbortError(call.method, call.signal && call.signal.reason))
  }

  _failAll(err) {
    const calls = [...this._pending.values()]
    this._pending.clear()
    for (const call of calls) {
      if (call.timer !== undefined) clearTimeout(call.timer)
      if (call.signal !== undefined) call.signal.removeEventListener('abort', call.onAbort)
      if (call.cb) invokeCallback(call.cb, err)
      else {
        const typed = err.code && err.code.startsWith('ERR_MSGPACK_RPC_') ? err : new errors.ClosedError(err.message, err)
        call.reject(typed)
      }
    }
  }

  // ---- writing -------------------------------------------------------------

  /** Schedules the write of a message just encoded into this tick's batch. */
  _queued() {
    if (this._datagram) return this._sendDatagram()
    if (this._encoder.length > this._highWaterMark) this._needDrain = true
    if (++this._batched >= FLUSH_EVERY && this._state !== 'connecting') {
      // Let the peer start on the first messages of a long burst while we
      // encode the rest. Written from this thread: handing the syscall to
      // the writer thread costs a wake-up and, on a busy machine, gains no
      // parallelism (measured 14-19% fewer calls/s that way).
      this._flush()
    } else if (!this._flushScheduled) {
      this._flushScheduled = true
      process.nextTick(this._flush)
    }
  }

  _flush() {
    this._flushScheduled = false
    this._batched = 0
    if (this._encoder.length === 0) return
    const batch = this._encoder.take()
    if (this._state === 'closed') return
    // Bytes still waiting to be written, or -1 when closed.
    const pending = this._native.write(batch)
    if (pending > this._highWaterMark) this._needDrain = true
    else if (pending >= 0 && this._needDrain) {
      // The batch alone was big, but the socket took it.
      this._needDrain = false
      process.nextTick(() => this.emit('drain'))
    }
  }

  /** UDP: every message is its own datagram, sent at once. */
  _sendDatagram() {
    const max = this._native.maxDatagramSize
    const size = this._encoder.length
    if (size > max) {
      this._encoder.reset()
      throw new errors.RpcError(errors.codes.MESSAGE_TOO_LARGE, `a message of ${size} bytes does not fit in one datagram (maxDatagramSize ${max})`)
    }
    this._flush()
  }

  _bufferedBytes() {
    return this._encoder.length + (this._state === 'closed' ? 0 : this._native.pendingBytes())
  }

  /** Answers request `id` (called by Response). */
  _respond(id, error, result) {
    if (this._state === 'closed') return false
    try {
      this._encoder.response(id, error, result)
      this._queued()
    } catch (err) {
      // The request is still owed an answer.
      this._encoder.response(id, `cannot encode the ${error === null ? 'result' : 'error'}: ${err.message}`, null)
      this._queued()
      this._answered()
      throw err
    }
    this._answered()
    return true
  }

  _answered() {
    this._incoming--
    if (this._closingGracefully && this._incoming === 0) this._end()
  }

  // ---- receiving -----------------------------------------------------------

  /** Native events; MESSAGES brings a `length` when `payload` is a buffer reused for the next read. */
  _onEvent(kind, payload, length) {
    switch (kind) {
      case binding.MESSAGES:
        decodeMessages(payload, this, length)
        break
      case binding.CONNECT:
        this._endpoints = payload
        if (this._state === 'connecting') this._state = 'open'
        this.stream.emit('connect')
        this.emit('ready')
        break
      case binding.DRAIN:
        if (this._needDrain && this._encoder.length <= this._highWaterMark) {
          this._needDrain = false
          this.emit('drain')
          this.stream.emit('drain')
        }
        break
      case binding.END:
        this._peerEnded = true
        this.stream.emit('end')
        // Half-close: the peer may still read; end our side once every
        // request it sent has been answered.
        this._closeWhenIdle()
        break
      case binding.ERROR:
        this._closeError = errors.fromNative(payload)
        this._emitError(this._closeError)
        break
      case binding.CLOSE:
        this._onClose()
        break
    }
  }

  _emitError(err) {
    if (this.stream.listenerCount('error') > 0) this.stream.emit('error', err)
    if (this.listenerCount('error') > 0) this.emit('error', err)
  }

  _onClose() {
    if (this._state === 'closed') return
    const wasLocal = this._state === 'closing'
    this._state = 'closed'
    this._encoder.reset()
    this._native.dispose()
    const err =
      this._closeError ||
      (this._peerEnded || !wasLocal
        ? new errors.ClosedError('connection closed by peer')
        : new errors.ClosedError('connection closed locally'))
    if (!this._closeError) this._closeError = err
    this._failAll(err)
    this.stream.emit('close', this._closeError !== err)
    this.emit('close')
    if (this._server) this._server._forget(this)
  }

  _onResponse(id, error, result) {
    const call = this._settle(id)
    if (call === undefined) {
      if (this._abandoned.delete(id)) return // a late reply to a timed-out or aborted call
      if (this.listenerCount('error') > 0) {
        const err = new errors.RpcError(errors.codes.UNKNOWN_MSGID, `unexpected response with unrecognized msgid (${id})`)
        err.msgid = id
        this.emit('error', err)
      }
      return
    }
    if (call.cb) {
      if (error !== null) invokeCallback(call.cb, error, result)
      else invokeCallback(call.cb, null, result)
    } else if (error !== null) {
      call.reject(new errors.RemoteError(error, call.method))
    } else {
      call.resolve(result)
    }
  }

  get handler() {
    return this._handler !== undefined ? this._handler : this._server && this._server._handler
  }

  _onRequest(id, name, params) {
    const method = methodName(name)
    this._incoming++
    const response = new Response(this, id)
    if (this._incoming > this._maxPending) {
      // A peer flooding us with requests it does not wait for.
      return response.error(`too many pending requests (${this._maxPending})`)
    }
    const handler = this.handler
    const listened = this.listenerCount('request') > 0
    if (handler) {
      const fn = lookup(handler, method)
      if (fn) runHandler(fn, handler, params, response)
      else if (!listened) response.error(`unknown method: ${method}`)
    }
    if (listened) this.emit('request', method, params, response)
  }

  _onNotify(name, params) {
    const method = methodName(name)
    const handler = this.handler
    if (handler) {
      const fn = lookup(handler, method)
      if (fn) {
        try {
          fn.apply(handler, params)
        } catch (err) {
          process.nextTick(() => {
            throw err
          })
        }
      }
    }
    this.emit('notify', method, params)
  }

  // ---- lifetime ------------------------------------------------------------

  /**
   * Flushes what was sent and closes the connection. Pending calls fail
   * with "connection closed locally". Returns a Promise without a callback.
   * @param {function} [cb] called once closed
   */
  close(cb) {
    const done = new Promise((resolve) => {
      if (this._state === 'closed') process.nextTick(resolve)
      else this.once('close', resolve)
    })
    this._end()
    if (typeof cb === 'function') {
      done.then(() => cb())
      return this
    }
    return done
  }

  /** Closes once every request received so far has been answered. */
  _closeWhenIdle() {
    this._closingGracefully = true
    if (this._incoming === 0) this._end()
  }

  _end() {
    if (this._state === 'closing' || this._state === 'closed') return
    this._state = 'closing'
    if (this._flushScheduled) this._flush()
    this._native.end()
  }

  _destroy(err) {
    if (this._state === 'closed') return
    if (err) this._closeError = err
    if (this._state !== 'closing') this._state = 'closing'
    this._encoder.reset()
    this._native.destroy()
  }

  /** Lets the process exit while this connection is open. */
  unref() {
    this._referenced = false
    if (this._state !== 'closed') this._native.setRef(false)
    for (const call of this._pending.values()) if (call.timer) call.timer.unref()
    return this
  }

  /** Keeps the process alive while this connection is open (the default). */
  ref() {
    this._referenced = true
    if (this._state !== 'closed') this._native.setRef(true)
    for (const call of this._pending.values()) if (call.timer) call.timer.ref()
    return this
  }

  /** Pending calls awaiting a reply. */
  get pendingCalls() {
    return this._pending.size
  }

  get closed() {
    return this._state === 'closed'
  }

  async [Symbol.asyncDispose]() {
    await this.close()
  }

  _endpoint(name) {
    if (this._endpoints === undefined && this._state !== 'connecting') {
      this._endpoints = this._native.endpoints()
    }
    const value = this._endpoints && this._endpoints[name]
    return value === null ? undefined : value
  }
}

/** Some peers (pynvim) send method names as UTF-8 bin; Rust checked the bytes. */
function methodName(method) {
  return typeof method === 'string' ? method : method.toString('utf8')
}

const objectMethods = new Set(Object.getOwnPropertyNames(Object.prototype))

/** The handler's function for `method`, never one inherited from Object.prototype. */
function lookup(handler, method) {
  const fn = handler[method]
  if (typeof fn !== 'function') return undefined
  if (objectMethods.has(method) && fn === Object.prototype[method]) return undefined
  return fn
}

/**
 * Runs a request handler. Unless it answered through `response`, a returned
 * value (not undefined) or Promise answers; an async handler that resolves
 * to undefined answers null unless it declared the response parameter.
 */
function runHandler(fn, handler, params, response) {
  const count = params.length
  let returned
  try {
    returned = callWithResponse(fn, handler, params, response)
  } catch (err) {
    if (!response.sent) return response.error(errorMessage(err))
    throw err
  }
  // A handler that declares the response parameter answers through it.
  const takesResponse = fn.length > count
  if (returned !== null && typeof returned === 'object' && typeof returned.then === 'function') {
    returned.then(
      (value) => {
        if (!response.sent && (value !== undefined || !takesResponse)) answer(response, value)
      },
      (err) => {
        if (!response.sent) response.error(errorMessage(err))
      }
    )
  } else if (!response.sent && returned !== undefined) {
    // Returning undefined from a plain function answers nothing: legacy
    // handlers answer later through `response` (or `arguments`).
    answer(response, returned)
  }
}

/** Answers with what a handler returned; a value that cannot be sent has
 * already been answered with an error, and is reported on the stream. */
function answer(response, value) {
  try {
    response.result(value)
  } catch (err) {
    response._stream._emitError(err)
  }
}

/** `fn(...params, response)`; the common arities without building an array. */
function callWithResponse(fn, handler, params, response) {
  switch (params.length) {
    case 0:
      return fn.call(handler, response)
    case 1:
      return fn.call(handler, params[0], response)
    case 2:
      return fn.call(handler, params[0], params[1], response)
    case 3:
      return fn.call(handler, params[0], params[1], params[2], response)
  }
  // The decoded params array is ours: append the response for the call.
  params.push(response)
  try {
    return fn.apply(handler, params)
  } finally {
    params.pop()
  }
}

function errorMessage(err) {
  if (err instanceof Error) return err.message
  return err
}

/** A user callback throwing must not stop the rest of a batch. */
function invokeCallback(cb, ...args) {
  try {
    cb(...args)
  } catch (err) {
    process.nextTick(() => {
      throw err
    })
  }
}

function checkMethod(method) {
  if (typeof method !== 'string') throw argError('method', 'a string', method)
}

function argError(name, expected, got) {
  const err = new TypeError(`The "${name}" argument must be ${expected}, got ${typeof got === 'string' ? JSON.stringify(got) : String(got)}`)
  err.code = 'ERR_INVALID_ARG_TYPE'
  return err
}

module.exports = { RpcStream, argError }
