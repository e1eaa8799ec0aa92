'use strict'
// RpcStream: one MessagePack-RPC connection, the same class on both ends.
// Owns the pending calls, their timers and callbacks, dispatch of incoming
// requests and notifications, and the per-tick write batching: every message
// encoded during one tick goes to the transport in one `write`.

const { kApplySocketOptions, kBufferedBytes, kCall, kCallback, kClient, kCloseError, kCloseForServer, kCloseWhenIdle, kCounters, kDeliveries, kDestroy, kEmitError, kEmitGuarded, kEnd, kEndpoint, kErrorFields, kFailAll, kForget, kHandlerFault, kIncoming, kNotificationFault, kOnClose, kOnEvent, kOnTransportError, kPeerName, kPending, kReferenced, kRefuse, kResetForReconnect, kRespond, kState, kTimeout, kTransport } = require('./constants')
const { AsyncResource } = require('node:async_hooks')
const { EventEmitter } = require('node:events')
const clock = require('./clock')
const { promiseFor } = require('./promise-for')
const debug = require('node:util').debuglog('msgpack-rpc')
const binding = require('./binding')
const { Encoder, decodeMessages } = require('./codec')
const { Socket } = require('./socket')
const { Response } = require('./response')
const { lookup, runRequestHandler, runNotificationHandler } = require('./handler')
const errors = require('./errors')
const { AbortWatch } = require('./abort-watch')
const diagnostics = require('./diagnostics')
const { Counters, report } = require('./stats')
const { PendingCalls } = require('./pending-calls')
const { CallTimers } = require('./call-timers')

const MAX_MSGID = 0xffffffff
/** Timed-out or aborted msgids remembered so their late replies are dropped quietly. */
const MAX_ABANDONED = 65536
/** What `_abandoned` is until a call is first abandoned: most streams never abandon one. Never added to. */
const NONE_ABANDONED = new Set()
/** What `[kPending]` is while no call awaits a reply: a server stream never calls. Never added to. */
const NO_CALLS = new PendingCalls()
/** The calls awaiting a reply when none does. Never added to. */
const NO_PENDING = Object.freeze([])
/**
 * What `_encoder` is between batches. A stream holds an encoder only from
 * its first message of a tick to the flush, then gives it back to
 * `spareEncoders`: an idle connection holds none. Never written to.
 */
const NO_ENCODER = new Encoder(0)
/** Encoders given back after a flush, for the next stream that writes (encoding is synchronous, so few are out at once). */
const spareEncoders = []
/** Spares kept: as many as streams that flushed in one tick, up to this. */
const MAX_SPARE_ENCODERS = 64
/** A new encoder's buffer; it grows to fit a tick's batch and, being shared, keeps that size. */
const ENCODER_SIZE = 1024
/** Bytes of encoded-but-unflushed messages past which writes report backpressure. */
const { DEFAULT_HIGH_WATER_MARK } = binding
/** Calls awaiting a reply, and requests awaiting our answer, per stream. */
const DEFAULT_MAX_PENDING_CALLS = 65536
/** Messages encoded in one tick before they are written without waiting for its end. */
const FLUSH_EVERY = 64
/**
 * Bytes encoded in one tick before they are written without waiting for its
 * end, however few the messages: a quarter of what a peer of ours hands its
 * JavaScript in one event (BATCH_SIZE). A burst of large messages then
 * reaches the peer as several whole batches, and the peer decodes and answers
 * the first while we encode the next, where one batch a little over
 * BATCH_SIZE had both ends taking turns (plus a one-message straggler).
 */
const FLUSH_BYTES = binding.BATCH_SIZE / 4
/**
 * Before a connection's first answer its size is unknown: this fraction of
 * the reply budget is assumed, so at most this many requests are handled
 * at once until one has answered.
 */
const COLD_REQUESTS = 64
/** How fast the answer-size estimate (a decaying maximum) forgets a large answer: 1/16 per answer. */
const ANSWER_SIZE_DECAY = 16
/**
 * Operating-system errors that mean the peer went away. They close the
 * stream like a clean close by the peer (`ClosedError`, the OS error as its
 * `cause`) and are not `'error'` events.
 */
const PEER_GONE = new Set(['ECONNRESET', 'EPIPE', 'ENOTCONN', 'ECONNABORTED', 'ESHUTDOWN'])

/**
 * What an RpcStream needs of its transport (docs/design.md, "Transport
 * contract"): NativeConnection (TCP, unix, adopted sockets), DuplexTransport
 * (attach, spawn, stdio) and DatagramTransport (UDP) provide it.
 *
 * @typedef {object} Transport
 * @property {(onEvent: (kind: number, payload?: *, length?: number) => (boolean|undefined)) => void} [start]
 *   starts delivering events (accepted connections and JS-side transports)
 * @property {(bytes: Uint8Array) => number} write bytes now queued, or -1 once it refuses writes
 * @property {() => number} pendingBytes bytes queued and not yet written
 * @property {() => void} end flush what is queued, then close
 * @property {() => void} destroy close at once
 * @property {(referenced: boolean) => void} setRef whether it keeps the event loop alive
 * @property {() => object} endpoints `net.Socket`-style addresses of both ends
 * @property {() => void} dispose release what outlives the close
 * @property {() => void} [resumeReading] deliver again after MESSAGES returned true
 * @property {boolean} [datagram] one message per datagram (UDP)
 * @property {number} [maxDatagramSize] with `datagram`
 */

/** A call awaiting its reply (one shape for every call keeps property access fast). */
class PendingCall {
  constructor(method, cb, resolve, reject) {
    this.method = method
    this.cb = cb
    this.resolve = resolve
    this.reject = reject
    /** Its msgid and its place in the pending order (set by PendingCalls). */
    this.id = 0
    this.order = 0
    /** A Node timer of its own, only when the stream's CallTimers has no list for its timeout. */
    this.timer = undefined
    /** Its place in the stream's CallTimers (deadline in clock.now() time, list, neighbours). */
    this.deadline = 0
    this.timedList = undefined
    this.timedPrev = undefined
    this.timedNext = undefined
    this.signal = undefined
    /** clock.now() when the batch it went out in began, for the latency histogram. */
    this.started = 0
    /** Its `msgpack-rpc:call` context, while someone subscribes. */
    this.trace = undefined
    /** A legacy callback runs in the async context of the code that called. */
    this.resource = undefined
  }
}

/**
 * What a stream's owner decides for it. A server makes one for all the
 * streams it accepts (`streamSettings`): eight fields fewer per connection.
 */
class StreamSettings {
  constructor(options, datagram) {
    this.handler = options.handler
    this.server = options.server
    /** One message per datagram (UDP). */
    this.datagram = datagram
    this.highWaterMark = options.highWaterMark || DEFAULT_HIGH_WATER_MARK
    this.maxPending = options.maxPendingCalls || DEFAULT_MAX_PENDING_CALLS
    this.appendResponse = options.appendResponse !== false
    this.errorFields = options.errorFields === true
    /** Reply budget (servers): dispatch pauses past it, the rest of the batch held. */
    this.maxQueuedReplies = options.maxQueuedReplies
  }
}

/** Settings to share between streams over one kind of transport (`options.settings` of the RpcStream constructor). */
function streamSettings(options, datagram = false) {
  return new StreamSettings(options, datagram)
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
   * @param {Transport} [transport] how bytes come and go (set later for a client still dialling)
   * @param {object} [options]
   * @param {object} [options.handler] methods to dispatch requests to
   * @param {object} [options.server] the Server that accepted it
   * @param {boolean} [options.connecting] a client still connecting
   * @param {boolean} [options.appendResponse=true] the drop-in handler rule
   *   (`response` appended to the params); false: exactly the params sent,
   *   answered with the return value
   * @param {boolean} [options.errorFields=false] send an Error answer as
   *   `{ message, code, ...own fields }` instead of its message
   * @param {number} [options.maxQueuedReplies] stop dispatching requests
   *   while this many bytes of answers wait to be written (servers)
   * @param {StreamSettings} [options.settings] from `streamSettings()`, shared
   *   with other streams; replaces the options above but `connecting` and `timeout`
   */
  constructor(transport, options = {}) {
    super()
    // EventEmitter's listener table is a dictionary-mode object; most server
    // streams never get a listener, and EventEmitter makes the table when the
    // first is added.
    this._events = undefined
    this[kTransport] = transport
    this._settings = options.settings !== undefined ? options.settings : new StreamSettings(options, !!(transport && transport.datagram))
    this[kState] = options.connecting ? 'connecting' : 'open'
    this[kPending] = NO_CALLS
    this._abandoned = NONE_ABANDONED
    // The first msgid is 0. -1, not MAX_MSGID: a small integer stays in the object; 2^32-1 would be a heap number of its own.
    this._lastId = -1
    this[kTimeout] = options.timeout > 0 ? options.timeout : undefined
    /** Made at the first call with a timeout. */
    this._timers = undefined
    this._encoder = NO_ENCODER
    this._flushScheduled = false
    this._batched = 0
    this._needDrain = false
    this[kIncoming] = 0
    this._pendingBytes = 0
    /** Estimated size of one answer (a decaying maximum); -1 until the first answer. */
    this._answerSize = -1
    this._paused = false
    this._held = undefined
    /** destroy() was called: what is left of a batch already read is not dispatched, as `net.Socket` emits no 'data' after destroy(). */
    this._destroyed = false
    /** The AbortSignals of calls awaiting replies, one listener each however many calls share one. */
    this._signals = undefined
    this._refusingRequests = false
    this._hadError = false
    this._closingGracefully = false
    this._peerEnded = false
    /** Why the connection closed (see `[kCloseError]`). */
    this._closeError = undefined
    /** A plain close's message, its ClosedError not yet built. */
    this._closeReason = undefined
    this._endpoints = undefined
    this[kReferenced] = true
    /** Deliveries from the transport so far: lib/idle.js tells silence by it. */
    this[kDeliveries] = 0
    /** A client's connection life (lib/reconnect.js); undefined on server streams. */
    this[kClient] = undefined
    this[kCounters] = new Counters()
    /**
     * One clock read per batch, not per call (the clock costs more than the
     * rest of the bookkeeping): when this tick's batch began, and when the
     * batch of messages being dispatched arrived; -1 until read.
     */
    this._sentAt = -1
    this._receivedAt = -1
    /** `stream`, made on first use (most code never asks for it). */
    this._socket = undefined
    /** What close() calls wait for the 'close': undefined, one resolve function or an array of them. */
    this._closeWaiters = undefined
    // A string-named method: binding the symbol-named one gave the bound
    // function an own `name` (the symbol's description), which put it in
    // dictionary mode, a property table per connection.
    this[kOnEvent] = this._onEvent.bind(this)
  }

  /** The socket-like object old code reaches for (`lib/socket.js`). */
  get stream() {
    if (this._socket === undefined) this._socket = new Socket(this)
    return this._socket
  }

  /** Applies what was set on `stream` (keepalive, no-delay) to a new connection; nothing was if it was never made. */
  [kApplySocketOptions]() {
    if (this._socket !== undefined) this._socket[kApplySocketOptions]()
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
      const call = new PendingCall(method, cb, undefined, undefined)
      if (diagnostics.traced(diagnostics.call)) this._traceCall(call, params, undefined)
      else this[kCall](call, params, undefined)
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
    if (options !== undefined) checkCallOptions(options)
    return this._promiseCall(method, params, options)
  }

  _promiseCall(method, params, options) {
    const call = new PendingCall(method, undefined, undefined, undefined)
    settling = call
    const promise = new Promise(captureSettlers)
    settling = undefined
    try {
      if (diagnostics.traced(diagnostics.call)) this._traceCall(call, params, options)
      else this[kCall](call, params, options)
    } catch (err) {
      call.reject(err)
    }
    return promise
  }

  /** `_call` inside the `msgpack-rpc:call` tracing channel (someone subscribes). */
  _traceCall(call, params, options) {
    const trace = { method: call.method, params, stream: this }
    call.trace = trace
    const channel = diagnostics.call
    try {
      // Subscribers' stores (bindStore) reach the call's async context.
      channel.start.runStores(trace, this[kCall], this, call, params, options)
    } catch (err) {
      trace.error = err
      channel.error.publish(trace)
      throw err
    } finally {
      channel.end.publish(trace)
    }
  }

  /**
   * Sends a notification (no reply). Returns false when the caller should
   * wait for `'drain'`.
   * @param {string} method
   * @param {...*} params
   */
  notify(method, ...params) {
    checkMethod(method)
    if (this[kState] === 'closing' || this[kState] === 'closed') return false
    if (this[kClient] !== undefined && this[kClient].holdsNotify(method, params)) return true
    this._writer().notification(method, params)
    this._queued()
    this[kCounters].notificationsSent++
    if (diagnostics.notifySent.hasSubscribers) diagnostics.notifySent.publish({ method, params, stream: this })
    return !this._needDrain
  }

  /** Per-call timeout in ms for later calls; 0 or undefined turns it off. */
  setTimeout(ms) {
    if (ms !== undefined && ms !== null && (typeof ms !== 'number' || ms < 0 || Number.isNaN(ms))) {
      throw argError('timeout', 'a non-negative number', ms)
    }
    this[kTimeout] = ms > 0 ? ms : undefined
    return this
  }

  /** Sends a request; `call` settles through `cb` (legacy) or `resolve`/`reject`. */
  [kCall](call, params, options) {
    const { method, cb } = call
    checkMethod(method)
    const timeout = options && options.timeout !== undefined ? options.timeout : this[kTimeout]
    const signal = options && options.signal
    if (signal && signal.aborted) {
      return this[kRefuse](call, new errors.AbortError(method, signal.reason))
    }
    if (this[kState] === 'closing' || this[kState] === 'closed') {
      const err = this[kCloseError] || new errors.ClosedError('connection closed')
      return this[kRefuse](call, cb || !this[kCloseError] ? err : new errors.ClosedError(err.message, err))
    }
    if (this[kClient] !== undefined && this[kClient].holds(call, params, options)) return
    if (this[kPending].size >= this._settings.maxPending) {
      const err = new errors.RpcError(errors.codes.TOO_MANY_PENDING, `${this[kPending].size} calls are already awaiting a reply (maxPendingCalls)`)
      return this[kRefuse](call, err)
    }
    const id = this._nextId()
    try {
      this._writer().request(id, method, params)
      if (this._sentAt < 0) this._sentAt = clock.now()
      call.started = this._sentAt
      this._queued()
    } catch (err) {
      // Nothing of this call goes out: a later call must not inherit its clock read.
      this._sentAt = -1
      if (cb) throw err
      return this[kRefuse](call, err)
    }
    this[kCounters].callsSent++
    if (cb && call.resource === undefined) call.resource = new AsyncResource('msgpack-rpc:call')
    // From this call's own moment: `started` is the tick's first read, long past for a call made late in a long tick.
    if (timeout > 0) this._callTimers().add(call, timeout, clock.now())
    if (signal) {
      call.signal = signal
      if (this._signals === undefined) this._signals = new AbortWatch((abortedId) => this._abort(abortedId))
      this._signals.add(signal, id)
    }
    if (this[kPending] === NO_CALLS) this[kPending] = new PendingCalls()
    this[kPending].set(id, call)
  }

  /** A call refused before it was sent (aborted, closed, too many pending, unencodable). */
  [kRefuse](call, err) {
    const trace = call.trace
    if (trace !== undefined) traceSettled(trace, err, undefined)
    if (call.cb) process.nextTick(call.cb, err)
    else call.reject(err)
    if (trace !== undefined) diagnostics.call.asyncEnd.publish(trace)
  }

  _nextId() {
    let id = this._lastId
    // Bounded: at most every id in flight is skipped once.
    for (let i = 0; i <= MAX_MSGID; i++) {
      id = id === MAX_MSGID ? 0 : id + 1
      if (!this[kPending].has(id) && (this._abandoned.size === 0 || !this._abandoned.has(id))) break
    }
    this._lastId = id
    return id
  }

  _callTimers() {
    if (this._timers === undefined) {
      this._timers = new CallTimers((call, ms) => this._expire(call, ms))
      this._timers.setRef(this[kReferenced])
    }
    return this._timers
  }

  _settle(id) {
    const call = this[kPending].get(id)
    if (call === undefined) return undefined
    this[kPending].delete(id)
    if (call.timedList !== undefined || call.timer !== undefined) this._timers.remove(call)
    if (call.signal !== undefined) this._signals.delete(call.signal, id)
    return call
  }

  _abandon(id) {
    if (this._abandoned === NONE_ABANDONED) this._abandoned = new Set()
    this._abandoned.add(id)
    if (this._abandoned.size > MAX_ABANDONED) {
      this._abandoned.delete(this._abandoned.values().next().value)
    }
  }

  _expire(pending, ms) {
    const id = pending.id
    if (this[kPending].get(id) !== pending) return
    const call = this._settle(id)
    this._abandon(id)
    this[kCounters].timedOut++
    if (debug.enabled) debug('timeout: call to "%s" (msgid %d) on %s had no reply in %d ms', call.method, id, this[kPeerName](), ms)
    const trace = call.trace
    // A legacy callback gets 'timeout'; the Error is built only for whoever else needs it.
    const err = call.cb && trace === undefined ? undefined : new errors.TimeoutError(call.method, ms)
    if (trace !== undefined) traceSettled(trace, err, undefined)
    if (call.cb) this[kCallback](call, 'timeout')
    else call.reject(err)
    if (trace !== undefined) diagnostics.call.asyncEnd.publish(trace)
  }

  _abort(id) {
    const call = this._settle(id)
    if (call === undefined) return
    this._abandon(id)
    this[kCounters].failed++
    const err = new errors.AbortError(call.method, call.signal && call.signal.reason)
    if (call.trace !== undefined) traceSettled(call.trace, err, undefined)
    call.reject(err)
    if (call.trace !== undefined) diagnostics.call.asyncEnd.publish(call.trace)
  }

  /** Fails every call awaiting a reply with `err` (by default the close error, built only if a call needs it). */
  [kFailAll](err) {
    const pending = this[kPending]
    // Its ring goes with it (a ring grown for a burst is not kept).
    this[kPending] = NO_CALLS
    if (this._signals !== undefined) this._signals.clear()
    // Most connections close with no call awaiting a reply: no list to make.
    const calls = pending.size === 0 ? NO_PENDING : pending.values()
    this[kCounters].failed += calls.length
    if (this._timers !== undefined) {
      for (const call of calls) if (call.timer !== undefined) this._timers.remove(call)
      this._timers.clear()
    }
    if (calls.length === 0) return
    if (err === undefined) err = this[kCloseError]
    for (const call of calls) {
      const trace = call.trace
      const typed =
        (call.cb && trace === undefined) || (err.code && err.code.startsWith('ERR_MSGPACK_RPC_')) ? err : new errors.ClosedError(err.message, err)
      if (trace !== undefined) traceSettled(trace, typed, undefined)
      if (call.cb) this[kCallback](call, err)
      else call.reject(typed)
      if (trace !== undefined) diagnostics.call.asyncEnd.publish(trace)
    }
  }

  // ---- writing -------------------------------------------------------------

  /** The encoder this tick's messages go into, taken from the spares at the first. */
  _writer() {
    if (this._encoder === NO_ENCODER) this._encoder = spareEncoders.length > 0 ? spareEncoders.pop() : new Encoder(ENCODER_SIZE)
    return this._encoder
  }

  /** Forgets what was encoded and not yet written, and gives the encoder back. */
  _dropEncoder() {
    const encoder = this._encoder
    if (encoder === NO_ENCODER) return
    this._encoder = NO_ENCODER
    encoder.reset()
    giveBack(encoder)
  }

  /** Schedules the write of a message just encoded into this tick's batch. */
  _queued() {
    const settings = this._settings
    if (settings.datagram) return this._sendDatagram()
    if (this._encoder.length > settings.highWaterMark) this._needDrain = true
    if ((++this._batched >= FLUSH_EVERY || this._encoder.length >= FLUSH_BYTES) && this[kState] !== 'connecting') {
      // Let the peer start on the first messages of a long burst while we
      // encode the rest. Written from this thread: handing the syscall to
      // the writer thread costs a wake-up and, on a busy machine, gains no
      // parallelism (docs/design.md, "Writes").
      this._flush()
    } else if (!this._flushScheduled) {
      this._flushScheduled = true
      process.nextTick(flushStream, this)
    }
  }

  _flush() {
    this._flushScheduled = false
    this._batched = 0
    this._sentAt = -1
    const encoder = this._encoder
    if (encoder === NO_ENCODER) return
    // A write that reenters (a duplex answering at once) encodes into another encoder.
    this._encoder = NO_ENCODER
    if (encoder.length === 0 || this[kState] === 'closed') {
      encoder.reset()
      return giveBack(encoder)
    }
    const batch = encoder.take()
    this[kCounters].bytesSent += batch.length
    // Bytes now waiting in the transport's queue, or -1 once it refuses writes.
    const pending = this[kTransport].write(batch)
    // Transports copy or write what they are given before returning: the batch's bytes may be reused now.
    giveBack(encoder)
    if (pending < 0) return
    this._pendingBytes = pending
    if (pending > this._settings.highWaterMark) this._needDrain = true
    else if (this._needDrain) {
      // The batch alone was big, but the socket took it.
      this._needDrain = false
      process.nextTick(emitDrain, this)
    }
    if (this._paused) process.nextTick(resumeDispatch, this)
  }

  /** UDP: every message is its own datagram, sent at once. */
  _sendDatagram() {
    const max = this[kTransport].maxDatagramSize
    const size = this._encoder.length
    if (size > max) {
      this._dropEncoder()
      throw new errors.RpcError(errors.codes.MESSAGE_TOO_LARGE, `a message of ${size} bytes does not fit in one datagram (maxDatagramSize ${max})`)
    }
    this._flush()
  }

  [kBufferedBytes]() {
    return this._encoder.length + (this[kState] === 'closed' ? 0 : this[kTransport].pendingBytes())
  }

  /**
   * Answers request `id` (called by Response). Returns whether the answer
   * was queued: once the stream is ending it can no longer reach the peer.
   */
  [kRespond](id, error, result) {
    if (this[kState] !== 'open') {
      this._answered()
      return false
    }
    const encoder = this._writer()
    const before = encoder.length
    try {
      encoder.response(id, error, result)
      if (this._settings.maxQueuedReplies !== undefined) {
        const size = encoder.length - before
        const decayed = this._answerSize - this._answerSize / ANSWER_SIZE_DECAY
        this._answerSize = size > decayed ? size : decayed
      }
      // A datagram too big to send throws here.
      this._queued()
    } catch (err) {
      // The request is still owed an answer.
      this._writer().response(id, `cannot encode the ${error === null ? 'result' : 'error'}: ${err.message}`, null)
      this._queued()
      this._answered()
      throw err
    }
    this._answered()
    return true
  }

  _answered() {
    this[kIncoming]--
    if (this._closingGracefully && this[kIncoming] === 0) this[kEnd]()
  }

  /**
   * Whether answers owed or queued are over the reply budget: bytes encoded
   * and not yet written, plus the requests still being handled at the
   * estimated answer size (so async handlers count before they answer).
   */
  _overReplyBudget() {
    const budget = this._settings.maxQueuedReplies
    const perAnswer = this._answerSize < 0 ? budget / COLD_REQUESTS : this._answerSize
    return this._encoder.length + this._pendingBytes + this[kIncoming] * perAnswer > budget
  }

  /** Keeps the undispatched rest of a batch until the budget allows more. */
  _hold(bytes) {
    this._held = this._held === undefined ? bytes : Buffer.concat([this._held, bytes])
  }

  /** Dispatches what was held, then lets the transport deliver again. */
  _resumeDispatch() {
    if (!this._paused || this[kState] === 'closed' || this._overReplyBudget()) return
    this._paused = false
    const held = this._held
    this._held = undefined
    this._receivedAt = -1
    if (held !== undefined && decodeMessages(held, this)) return
    if (this[kTransport].resumeReading !== undefined) this[kTransport].resumeReading()
  }

  // ---- receiving -----------------------------------------------------------

  /**
   * Native events; MESSAGES brings a `length` when `payload` is a buffer
   * reused for the next read. Returns true to ask the transport to stop
   * delivering until `resumeReading()` (the reply budget is spent).
   */
  _onEvent(kind, payload, length) {
    switch (kind) {
      case binding.MESSAGES:
        this[kDeliveries]++
        this[kCounters].bytesReceived += length === undefined ? payload.length : length
        this._receivedAt = -1
        return decodeMessages(payload, this, length)
      case binding.CONNECT:
        // A native connection's addresses (null here) are asked for when first wanted.
        this._endpoints = payload || undefined
        if (this[kState] === 'connecting') this[kState] = 'open'
        if (this[kClient] !== undefined) this[kClient].onConnect()
        if (debug.enabled) debug('connected to %s', this[kPeerName]())
        if (diagnostics.connectionOpen.hasSubscribers) diagnostics.connectionOpen.publish({ stream: this, server: undefined })
        this[kEmitGuarded](this._socket, 'connect')
        this[kEmitGuarded](this, 'ready')
        if (this[kClient] !== undefined) this[kClient].onReady()
        break
      case binding.DRAIN:
        this._pendingBytes = 0
        if (this._needDrain && this._encoder.length <= this._settings.highWaterMark) {
          this._needDrain = false
          this[kEmitGuarded](this, 'drain')
          this[kEmitGuarded](this._socket, 'drain')
        }
        if (this._paused) this._resumeDispatch()
        break
      case binding.END:
        this._peerEnded = true
        this[kEmitGuarded](this._socket, 'end')
        // Like a socket without allowHalfOpen, once our answers are out.
        this[kCloseWhenIdle]()
        break
      case binding.ERROR:
        this[kOnTransportError](errors.fromNative(payload))
        break
      case binding.CLOSE:
        this[kOnClose]()
        break
    }
    return false
  }

  [kOnTransportError](err) {
    if (this[kClient] !== undefined && this[kClient].onTransportError(err)) return
    this._hadError = true
    if (this[kState] !== 'connecting' && PEER_GONE.has(err.code)) {
      // The peer went away: a close by the peer, not an error to report.
      if (this[kCloseError] === undefined) this[kCloseError] = new errors.ClosedError('connection closed by peer', err)
      return
    }
    if (debug.enabled) debug('error from %s: %s (%s)', this[kPeerName](), err.message, err.code)
    if (this[kCloseError] === undefined) this[kCloseError] = err
    this[kEmitError](err)
  }

  /** Bytes from the peer this side cannot decode: the connection's end (a datagram's loss). */
  _onProtocolError(err) {
    if (this._settings.datagram) {
      if (debug.enabled) debug('error from %s: %s (%s)', this[kPeerName](), err.message, err.code)
      return this[kEmitError](err)
    }
    this[kOnTransportError](err)
    this[kDestroy]()
  }

  /** A throw that escaped dispatch: a bug of ours, reported, never thrown into the event loop. */
  _onDispatchFault(err) {
    errors.reportFault(this, this._settings.server, errors.codes.INTERNAL, `internal error while dispatching a message: ${err && err.message}`, err)
  }

  [kHandlerFault](method, err) {
    this._fault(errors.codes.HANDLER, `the handler of "${method}" failed after answering: ${err && err.message}`, err)
  }

  [kNotificationFault](method, err) {
    this._fault(errors.codes.HANDLER, `the handler of notification "${method}" failed: ${err && err.message}`, err)
  }

  /** A fault of user code running for this stream (handler, listener). */
  _fault(code, message, cause) {
    errors.reportFault(this, this._settings.server, code, message, cause)
  }

  /** Emits `event` on `target`; a throwing listener is a handler fault, not a crash. */
  [kEmitGuarded](target, event, a, b, c) {
    // `stream` before anyone asked for it: nobody listens.
    if (target === undefined) return
    try {
      target.emit(event, a, b, c)
    } catch (err) {
      this._fault(errors.codes.HANDLER, `a '${event}' listener threw: ${err && err.message}`, err)
    }
  }

  /** A transport or protocol error: `'error'` where someone listens, never a throw. */
  [kEmitError](err) {
    if (this._socket !== undefined && this._socket.listenerCount('error') > 0) this[kEmitGuarded](this._socket, 'error', err)
    if (this.listenerCount('error') > 0) this[kEmitGuarded](this, 'error', err)
  }

  /**
   * Why the connection closed (undefined while open). A plain close records
   * only its message: capturing a stack for every connection that closes
   * cleanly costs more than the rest of the close, and most such errors are
   * never seen, so the error is built when first asked for.
   */
  get [kCloseError]() {
    if (this._closeError === undefined && this._closeReason !== undefined) {
      this._closeError = new errors.ClosedError(this._closeReason)
      this._closeReason = undefined
    }
    return this._closeError
  }

  set [kCloseError](err) {
    this._closeError = err
    this._closeReason = undefined
  }

  [kOnClose]() {
    if (this[kState] === 'closed') return
    if (this[kClient] !== undefined && this[kClient].onNativeClose()) return
    const name = debug.enabled ? this[kPeerName]() : undefined
    const wasLocal = this[kState] === 'closing'
    this[kState] = 'closed'
    this._paused = false
    this._held = undefined
    this._dropEncoder()
    if (this._closeError === undefined && this._closeReason === undefined) {
      this._closeReason = this._peerEnded || !wasLocal ? 'connection closed by peer' : 'connection closed locally'
    }
    if (name !== undefined) debug('closed %s: %s', name, this[kCloseError].message)
    if (diagnostics.connectionClose.hasSubscribers) {
      diagnostics.connectionClose.publish({ stream: this, server: this._settings.server, reason: this[kCloseError] })
    }
    this[kFailAll]()
    this[kEmitGuarded](this._socket, 'close', this._hadError)
    this[kEmitGuarded](this, 'close')
    // After the listeners: they may still ask for the addresses, which the
    // socket the transport holds until then answers.
    this[kTransport].dispose()
    if (this._closeWaiters !== undefined) this._resolveCloseWaiters()
    if (this[kClient] !== undefined) this[kClient].onClosed()
    if (this._settings.server) this._settings.server[kForget](this)
  }

  /** Resolves the promises of close() calls, now that 'close' was emitted. */
  _resolveCloseWaiters() {
    const waiters = this._closeWaiters
    this._closeWaiters = undefined
    if (typeof waiters === 'function') return waiters()
    for (const resolve of waiters) resolve()
  }

  _onResponse(id, error, result) {
    const call = this._settle(id)
    if (call === undefined) {
      if (this._abandoned.delete(id)) return // a late reply to a timed-out or aborted call
      if (this.listenerCount('error') > 0) {
        const err = new errors.RpcError(errors.codes.UNKNOWN_MSGID, `unexpected response with unrecognized msgid (${id})`)
        err.msgid = id
        this[kEmitGuarded](this, 'error', err)
      }
      return
    }
    if (this._receivedAt < 0) this._receivedAt = clock.now()
    this[kCounters].reply(this._receivedAt - call.started)
    const trace = call.trace
    if (error !== null) {
      this[kCounters].failed++
      const err = call.cb && trace === undefined ? undefined : new errors.RemoteError(error, call.method)
      if (trace !== undefined) traceSettled(trace, err, undefined)
      if (call.cb) this[kCallback](call, error, result)
      else call.reject(err)
    } else {
      if (trace !== undefined) traceSettled(trace, undefined, result)
      if (call.cb) this[kCallback](call, null, result)
      else call.resolve(result)
    }
    if (trace !== undefined) diagnostics.call.asyncEnd.publish(trace)
  }

  /** A legacy callback, in the caller's async context; one that throws is reported, and the batch goes on. */
  [kCallback](call, a, b) {
    try {
      if (arguments.length > 2) call.resource.runInAsyncScope(call.cb, undefined, a, b)
      else call.resource.runInAsyncScope(call.cb, undefined, a)
    } catch (err) {
      this._fault(errors.codes.CALLBACK, `the callback of a call to "${call.method}" threw: ${err && err.message}`, err)
    }
  }

  /** Whether an Error answer goes out as `{ message, code, ...fields }` (lib/response.js). */
  get [kErrorFields]() {
    return this._settings.errorFields
  }

  get handler() {
    const { handler, server } = this._settings
    return handler !== undefined ? handler : server && server.handler
  }

  _onRequest(id, name, params) {
    const method = methodName(name)
    this[kIncoming]++
    this[kCounters].callsReceived++
    if (this._refusingRequests) {
      // Only requests received before close() are handled.
      new Response(this, id).error('server is closing')
      return
    }
    if (this[kIncoming] > this._settings.maxPending) {
      // A peer flooding us with requests it does not wait for.
      new Response(this, id).error(`too many pending requests (${this._settings.maxPending})`)
      return
    }
    // Each request is handled in an async context of its own, as node:http
    // handles each request: what one handler puts in an AsyncLocalStorage
    // (enterWith) is not seen by the next.
    const scope = new AsyncResource('msgpack-rpc:request')
    if (diagnostics.traced(diagnostics.handle)) {
      const response = new diagnostics.TracedResponse(this, id, { method, params, stream: this })
      scope.runInAsyncScope(this._traceRequest, this, method, params, response)
    } else {
      scope.runInAsyncScope(this._dispatchRequest, this, method, params, new Response(this, id))
    }
    if (this._settings.maxQueuedReplies !== undefined && this._overReplyBudget()) this._paused = true
  }

  /** `_dispatchRequest` inside the `msgpack-rpc:handle` tracing channel (someone subscribes). */
  _traceRequest(method, params, response) {
    const channel = diagnostics.handle
    const trace = response._trace
    try {
      channel.start.runStores(trace, this._dispatchRequest, this, method, params, response)
    } finally {
      channel.end.publish(trace)
    }
  }

  /** Hands a request to the handler and the 'request' listeners. */
  _dispatchRequest(method, params, response) {
    const handler = this.handler
    const fn = handler ? lookup(handler, method) : undefined
    if (fn !== undefined) {
      runRequestHandler(fn, handler, params, response, this._settings.appendResponse, this, method)
    }
    if (this.listenerCount('request') > 0) this[kEmitGuarded](this, 'request', method, params, response)
    // A handler without the method answers, unless a listener just did.
    if (handler && fn === undefined && !response.sent) response.error(`unknown method: ${method}`)
  }

  _onNotify(name, params) {
    const method = methodName(name)
    this[kCounters].notificationsReceived++
    if (diagnostics.notifyReceived.hasSubscribers) diagnostics.notifyReceived.publish({ method, params, stream: this })
    // Like a request, each notification gets an async context of its own.
    new AsyncResource('msgpack-rpc:notification').runInAsyncScope(this._dispatchNotification, this, method, params)
  }

  /** Hands a notification to the handler and the 'notify' listeners. */
  _dispatchNotification(method, params) {
    const handler = this.handler
    const fn = handler ? lookup(handler, method) : undefined
    if (fn !== undefined) {
      runNotificationHandler(fn, handler, params, this, method)
    }
    if (this.listenerCount('notify') > 0) this[kEmitGuarded](this, 'notify', method, params)
  }

  // ---- lifetime ------------------------------------------------------------

  /**
   * Flushes what was sent and closes the connection. Pending calls fail
   * with "connection closed locally". Returns a Promise without a callback.
   * @param {function} [cb] called once closed
   */
  close(cb) {
    const done = promiseFor(this, awaitClose)
    if (this[kClient] !== undefined) this[kClient].stop()
    this[kEnd]()
    if (typeof cb === 'function') {
      done.then(() => cb())
      return this
    }
    return done
  }

  /**
   * Forgets a lost connection's state so the next transport starts clean
   * (a reconnecting client); pending calls were failed already.
   */
  [kResetForReconnect]() {
    this[kState] = 'connecting'
    this._dropEncoder()
    this._flushScheduled = false
    this._batched = 0
    this._needDrain = false
    this._pendingBytes = 0
    this._paused = false
    this._held = undefined
    this._destroyed = false
    this[kIncoming] = 0
    this._hadError = false
    this._closingGracefully = false
    this._peerEnded = false
    this[kCloseError] = undefined
    this._endpoints = undefined
  }

  /** Closes once every request received so far has been answered. */
  [kCloseWhenIdle]() {
    this._closingGracefully = true
    if (this[kIncoming] === 0) this[kEnd]()
  }

  /**
   * The server is closing: requests already received finish; later ones
   * are answered with an error; the connection ends once idle.
   */
  [kCloseForServer]() {
    this._refusingRequests = true
    this[kCloseWhenIdle]()
  }

  [kEnd]() {
    if (this[kState] === 'closing' || this[kState] === 'closed') return
    this[kState] = 'closing'
    if (this._flushScheduled) this._flush()
    this[kTransport].end()
  }

  [kDestroy](err) {
    if (this[kState] === 'closed') return
    if (err) {
      this._hadError = true
      this[kCloseError] = err
    }
    if (this[kState] !== 'closing') this[kState] = 'closing'
    this._destroyed = true
    this._dropEncoder()
    this[kTransport].destroy()
  }

  /** Lets the process exit while this connection is open. */
  unref() {
    this[kReferenced] = false
    if (this[kState] !== 'closed') this[kTransport].setRef(false)
    if (this._timers !== undefined) this._timers.setRef(false)
    for (const call of this[kPending].values()) if (call.timer) call.timer.unref()
    if (this[kClient] !== undefined) this[kClient].setRef(false)
    return this
  }

  /** Keeps the process alive while this connection is open (the default). */
  ref() {
    this[kReferenced] = true
    if (this[kState] !== 'closed') this[kTransport].setRef(true)
    if (this._timers !== undefined) this._timers.setRef(true)
    for (const call of this[kPending].values()) if (call.timer) call.timer.ref()
    if (this[kClient] !== undefined) this[kClient].setRef(true)
    return this
  }

  /**
   * Counts since this stream opened: calls and notifications each way,
   * bytes, and the latency (ms) of the calls this side made. Every call sent
   * is answered, failed (an error answer, the close, an abort), timed out or
   * still pending.
   */
  stats() {
    return report(this[kCounters], this[kPending].size)
  }

  /** Pending calls awaiting a reply. */
  get pendingCalls() {
    return this[kPending].size
  }

  get closed() {
    return this[kState] === 'closed'
  }

  /** Whether a connection is up (a reconnecting client may be between connections). */
  get connected() {
    return this[kClient] !== undefined ? this[kClient].connected : this[kState] === 'open'
  }

  async [Symbol.asyncDispose]() {
    await this.close()
  }

  /** The peer as `host:port` or a socket path, for debug lines. */
  [kPeerName]() {
    try {
      const host = this[kEndpoint]('remoteAddress')
      const port = this[kEndpoint]('remotePort')
      if (host !== undefined && port !== undefined) return `${host}:${port}`
      return host || this[kEndpoint]('localAddress') || '(not connected)'
    } catch {
      return '(not connected)'
    }
  }

  [kEndpoint](name) {
    if (this._endpoints === undefined && this[kState] !== 'connecting') {
      this._endpoints = this[kTransport].endpoints()
    }
    const value = this._endpoints && this._endpoints[name]
    return value === null ? undefined : value
  }
}

/**
 * close()'s promise resolves after 'close' is emitted, from a list of the
 * stream's own rather than a 'close' listener, so a short connection makes
 * no listener table and what the user does with the 'close' listeners
 * cannot strand it.
 */
function awaitClose(stream, resolve) {
  if (stream[kState] === 'closed') process.nextTick(resolve)
  else if (stream._closeWaiters === undefined) stream._closeWaiters = resolve
  else if (typeof stream._closeWaiters === 'function') stream._closeWaiters = [stream._closeWaiters, resolve]
  else stream._closeWaiters.push(resolve)
}

function flushStream(stream) {
  stream._flush()
}

/** An encoder back to the spares (emptied by its last take or reset). */
function giveBack(encoder) {
  if (spareEncoders.length < MAX_SPARE_ENCODERS) spareEncoders.push(encoder)
}

function emitDrain(stream) {
  stream[kEmitGuarded](stream, 'drain')
}

function resumeDispatch(stream) {
  stream._resumeDispatch()
}

/** Some peers (pynvim) send method names as UTF-8 bin; Rust checked the bytes. */
function methodName(method) {
  return typeof method === 'string' ? method : Buffer.isBuffer(method) ? method.toString('utf8') : String(method)
}

function checkMethod(method) {
  if (typeof method !== 'string') throw argError('method', 'a string', method)
}

/** Per-call options: `{ timeout, signal }`, checked as Node checks its own. */
function checkCallOptions(options) {
  if (options === null || typeof options !== 'object') throw argError('options', 'an object', options)
  for (const key of Object.keys(options)) {
    if (key !== 'timeout' && key !== 'signal') {
      const err = new TypeError(`The property 'options.${key}' is not a known call option; known options: timeout, signal`)
      err.code = 'ERR_INVALID_ARG_VALUE'
      throw err
    }
  }
  const { timeout, signal } = options
  if (timeout !== undefined && (typeof timeout !== 'number' || Number.isNaN(timeout))) {
    throw argError('options.timeout', 'a number', timeout)
  }
  if (timeout !== undefined && (timeout < 0 || timeout > 0x7fffffff)) {
    const err = new RangeError(`The value of "options.timeout" is out of range. It must be >= 0 && <= 2147483647. Received ${timeout}`)
    err.code = 'ERR_OUT_OF_RANGE'
    throw err
  }
  if (signal !== undefined && !isAbortSignal(signal)) throw argError('options.signal', 'an AbortSignal', signal)
}

function isAbortSignal(value) {
  return (
    value !== null &&
    typeof value === 'object' &&
    typeof value.aborted === 'boolean' &&
    typeof value.addEventListener === 'function' &&
    typeof value.removeEventListener === 'function'
  )
}

function argError(name, expected, got) {
  const err = new TypeError(`The "${name}" argument must be ${expected}, got ${typeof got === 'string' ? JSON.stringify(got) : describe(got)}`)
  err.code = 'ERR_INVALID_ARG_TYPE'
  return err
}

function describe(value) {
  if (value === null || value === undefined) return String(value)
  if (typeof value === 'object') return `an instance of ${value.constructor ? value.constructor.name : 'Object'}`
  return `${typeof value} ${String(value)}`
}

/** A traced call's reply or failure: `error` (and the error channel) or `result`, then asyncStart. */
function traceSettled(trace, error, result) {
  if (error !== undefined) {
    trace.error = error
    diagnostics.call.error.publish(trace)
  } else {
    trace.result = result
  }
  diagnostics.call.asyncStart.publish(trace)
}

module.exports = { RpcStream, streamSettings, argError }
