'use strict'
// The connection life of a client stream: connect timeout, close timeout,
// socket options applied on every connect and, with `reconnect`, the state
// machine that dials again with exponential backoff while calls made
// meanwhile wait in an ordered, bounded queue.
//
// RpcStream calls in through five hooks (`holds`, `holdsNotify`,
// `onConnect`, `onTransportError`, `onNativeClose`) and `stop` from close().

const { kApplySocketOptions, kCall, kCallback, kCloseError, kDestroy, kEmitError, kEmitGuarded, kFailAll, kOnClose, kOnEvent, kOnTransportError, kReferenced, kRefuse, kResetForReconnect, kState, kTimeout, kTransport } = require('./constants')
const { AsyncResource } = require('node:async_hooks')
const errors = require('./errors')
const { WaitQueue } = require('./wait-queue')

const DEFAULT_MAX_QUEUED_CALLS = 1024
const DEFAULT_CLOSE_TIMEOUT = 5000
const BACKOFF_DEFAULTS = Object.freeze({ initialDelay: 100, maxDelay: 30000, factor: 2, jitter: 0.2, maxAttempts: Infinity })

/** A call or notification made while the client was down. */
class Queued {
  constructor(call, method, params, deadline, signal) {
    this.call = call // undefined for a notification
    this.method = method
    this.params = params
    this.deadline = deadline
    /** The call's timeout in ms, 0 for none (for the error that names it). */
    this.timeout = 0
    this.signal = signal
    this.timer = undefined
  }
}

class ClientConnection {
  /**
   * @param {import('./stream').RpcStream} stream
   * @param {function(function): object} dial starts a NativeConnection delivering to the given callback
   * @param {object} options validated client options
   */
  constructor(stream, dial, options) {
    this._stream = stream
    this._dial = dial
    this._backoff = options.reconnect ? { ...BACKOFF_DEFAULTS, ...(options.reconnect === true ? {} : options.reconnect) } : undefined
    this._maxQueued = options.maxQueuedCalls !== undefined ? options.maxQueuedCalls : DEFAULT_MAX_QUEUED_CALLS
    this._connectTimeout = options.connectTimeout
    this._closeTimeout = options.closeTimeout !== undefined ? options.closeTimeout : DEFAULT_CLOSE_TIMEOUT
    this._target = options.path !== undefined ? options.path : `${options.host}:${options.port}`
    /** Calls made while down: made when the first waits (a client without `reconnect` never has one). */
    this._queue = undefined
    /** connect()'s promise settlers until the first 'ready' or the 'close' (lib/client.js). */
    this._resolveOpen = undefined
    this._rejectOpen = undefined
    this._up = false
    this._stopped = false
    /** We destroyed the native connection ourselves: its CLOSED error is ours to ignore. */
    this._destroying = false
    this._attempt = 0
    this._lastError = undefined
    this._retryTimer = undefined
    this._connectTimer = undefined
    this._closeTimer = undefined
  }

  get reconnecting() {
    return this._backoff !== undefined
  }

  /** Calls and notifications waiting for the connection. */
  get queued() {
    return this._queue === undefined ? 0 : this._queue.size
  }

  /** The queue of calls made while down, made now if it was not yet. */
  _waiting() {
    if (this._queue === undefined) {
      this._queue = new WaitQueue({ onTimeout: (entry) => this._expired(entry), onAbort: (entry) => this._aborted(entry) })
    }
    return this._queue
  }

  /**
   * connect(): `resolve(stream)` after the first 'ready', `reject(closeError)`
   * after the 'close' if that comes first. Called by the stream rather than
   * as listeners: a short connection then makes no listener table, and the
   * 'ready' and 'close' listeners the user adds are all there is.
   */
  settleOpen(resolve, reject) {
    this._resolveOpen = resolve
    this._rejectOpen = reject
  }

  /** The stream emitted 'ready'. */
  onReady() {
    const resolve = this._resolveOpen
    if (resolve === undefined) return
    this._resolveOpen = this._rejectOpen = undefined
    resolve(this._stream)
  }

  /** The stream emitted its final 'close'. */
  onClosed() {
    const reject = this._rejectOpen
    if (reject === undefined) return
    this._resolveOpen = this._rejectOpen = undefined
    reject(this._stream[kCloseError])
  }

  /** Starts the first connection attempt. */
  start() {
    this._dialNow()
  }

  /** Whether its timers (connect timeout, next attempt, queued calls' timeouts) keep the process alive, as `stream.ref()`/`unref()` say. */
  setRef(referenced) {
    for (const timer of [this._connectTimer, this._retryTimer]) {
      if (timer !== undefined) referenced ? timer.ref() : timer.unref()
    }
    if (this._queue !== undefined) this._queue.setRef(referenced)
  }

  _dialNow() {
    const stream = this._stream
    this._retryTimer = undefined
    this._destroying = false
    stream[kTransport] = this._dial(stream[kOnEvent])
    if (!stream[kReferenced]) stream[kTransport].setRef(false)
    if (this._connectTimeout > 0) {
      this._connectTimer = setTimeout(() => this._connectTimedOut(), this._connectTimeout)
      if (!stream[kReferenced]) this._connectTimer.unref()
    }
  }

  _connectTimedOut() {
    this._connectTimer = undefined
    const stream = this._stream
    if (stream[kState] !== 'connecting') return
    const err = new Error(`connect ETIMEDOUT ${this._target} (no connection within connectTimeout ${this._connectTimeout} ms)`)
    err.code = 'ETIMEDOUT'
    err.syscall = 'connect'
    stream[kOnTransportError](err)
    this._destroying = true
    stream[kTransport].destroy()
  }

  // ---- hooks called by RpcStream ---------------------------------------------

  /** Queues a call while down (reconnect only). Returns true when it took the call. */
  holds(call, params, options) {
    if (this._up || this._backoff === undefined) return false
    const stream = this._stream
    if (!this._room(call)) return true
    const timeout = options && options.timeout !== undefined ? options.timeout : stream[kTimeout]
    const signal = options && options.signal
    const entry = new Queued(call, call.method, params, timeout > 0 ? Date.now() + timeout : 0, signal)
    // The callback runs in the caller's async context, whenever the call is written.
    if (call.cb) call.resource = new AsyncResource('msgpack-rpc:call')
    if (timeout > 0) entry.timeout = timeout
    this._waiting().add(entry, entry.timeout, stream[kReferenced])
    return true
  }

  /** Queues a notification while down (reconnect only). */
  holdsNotify(method, params) {
    if (this._up || this._backoff === undefined) return false
    if (this._room(undefined)) this._waiting().add(new Queued(undefined, method, params, 0, undefined), 0)
    return true
  }

  /** Whether one more fits; if not, the call fails at once with QUEUE_FULL. */
  _room(call) {
    if (this.queued < this._maxQueued) return true
    const err = new errors.RpcError(
      errors.codes.QUEUE_FULL,
      `${this.queued} calls already wait for the connection to ${this._target} (maxQueuedCalls)`
    )
    if (call !== undefined) this._stream[kRefuse](call, err)
    return false
  }

  /** A queued call's timeout passed (it has left the queue). */
  _expired(entry) {
    // A legacy callback gets 'timeout', as for a call written and unanswered.
    if (entry.call.cb) this._stream[kCallback](entry.call, 'timeout')
    else this._stream[kRefuse](entry.call, new errors.TimeoutError(entry.method, entry.timeout))
  }

  /** A queued call's signal aborted (it has left the queue). */
  _aborted(entry) {
    this._stream[kRefuse](entry.call, new errors.AbortError(entry.method, entry.signal.reason))
  }

  /** Connected: apply the socket options, then write what waited, in order. */
  onConnect() {
    if (this._connectTimer !== undefined) clearTimeout(this._connectTimer)
    this._connectTimer = undefined
    this._up = true
    this._attempt = 0
    this._lastError = undefined
    const stream = this._stream
    stream[kApplySocketOptions]()
    if (this.queued === 0) return
    const now = Date.now()
    for (const entry of this._queue.drain()) {
      if (entry.call === undefined) {
        stream.notify(entry.method, ...entry.params)
        continue
      }
      const timeout = entry.deadline === 0 ? 0 : Math.max(1, entry.deadline - now)
      const options = entry.signal ? { timeout, signal: entry.signal } : { timeout }
      try {
        stream[kCall](entry.call, entry.params, options)
      } catch (err) {
        stream[kRefuse](entry.call, err)
      }
    }
  }

  /** Returns true to keep an error from being reported (a failed attempt, or our own teardown). */
  onTransportError(err) {
    if (this._destroying) return true
    if (this._backoff !== undefined && this._stream[kState] === 'connecting') {
      this._lastError = err
      return true
    }
    return false
  }

  /**
   * The native connection closed. Returns true when the stream lives on
   * (it will dial again), false to let it close for good.
   */
  onNativeClose() {
    const stream = this._stream
    if (this._connectTimer !== undefined) clearTimeout(this._connectTimer)
    this._connectTimer = undefined
    const wasUp = this._up
    this._up = false
    if (this._backoff === undefined || this._stopped || this._attempt >= this._backoff.maxAttempts) {
      this._finish()
      return false
    }
    const lost = stream[kCloseError] || new errors.ClosedError('connection closed by peer')
    // Calls written on the lost connection may have run: never re-sent.
    stream[kFailAll](lost.code === errors.codes.CLOSED ? lost : new errors.ClosedError('connection closed by peer', lost))
    stream[kTransport].dispose()
    stream[kResetForReconnect]()
    if (wasUp) stream[kEmitGuarded](stream, 'disconnect', lost)
    if (this._stopped) return false // a 'disconnect' listener closed the client
    this._attempt++
    const { initialDelay, maxDelay, factor, jitter } = this._backoff
    const base = Math.min(maxDelay, initialDelay * factor ** (this._attempt - 1))
    const delay = Math.round(base - base * jitter * Math.random())
    stream[kEmitGuarded](stream, 'reconnecting', { attempt: this._attempt, delay })
    if (this._stopped) return false
    this._retryTimer = setTimeout(() => this._dialNow(), delay)
    if (!stream[kReferenced]) this._retryTimer.unref()
    return true
  }

  /** The stream closes for good: nothing may wait or tick any more. */
  _finish() {
    const stream = this._stream
    if (this._closeTimer !== undefined) clearTimeout(this._closeTimer)
    this._closeTimer = undefined
    if (!this._stopped && this._lastError !== undefined && this._backoff !== undefined) {
      // Attempts ran out: the last one's error is the reason.
      stream[kCloseError] = this._lastError
      stream[kEmitError](this._lastError)
    }
    this._failQueued(() => stream[kCloseError] || new errors.ClosedError('connection closed'))
  }

  /** Fails the queued calls with `reason()`, called only when there are some (an error's stack costs). */
  _failQueued(reason) {
    if (this.queued === 0) return
    const err = reason()
    for (const entry of this._queue.drain()) {
      if (entry.call !== undefined) this._stream[kRefuse](entry.call, err)
    }
  }

  /** close(): no more attempts; a stuck connect is abandoned, a stuck flush bounded by closeTimeout. */
  stop() {
    if (this._stopped) return
    this._stopped = true
    const stream = this._stream
    if (stream[kState] === 'closed') return
    let error
    const closedLocally = () => (error ??= new errors.ClosedError('connection closed locally'))
    this._failQueued(closedLocally)
    if (this._retryTimer !== undefined) {
      // Between attempts: there is no connection to wait for.
      clearTimeout(this._retryTimer)
      this._retryTimer = undefined
      stream[kCloseError] = closedLocally()
      stream[kState] = 'closing'
      stream[kOnClose]()
      return
    }
    if (stream[kState] === 'connecting') {
      if (stream[kCloseError] === undefined) stream[kCloseError] = closedLocally()
      this._destroying = true
      stream[kTransport].destroy()
      return
    }
    if (this._closeTimeout >= 0) {
      this._closeTimer = setTimeout(() => stream[kDestroy](), this._closeTimeout)
      this._closeTimer.unref()
    }
  }

  get connected() {
    return this._up && this._stream[kState] === 'open'
  }
}

module.exports = { ClientConnection, DEFAULT_MAX_QUEUED_CALLS, BACKOFF_DEFAULTS }
