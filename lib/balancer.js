'use strict'
// createBalancer: one object spreading calls over several servers. Each
// target is a reconnecting client (lib/reconnect.js does the backoff); this
// file picks a target per call, holds calls while no target is up, retries
// idempotent calls whose connection dropped, and keeps the target list in
// step with DNS when the targets are a host name (lib/targets.js resolves).

const { AsyncResource } = require('node:async_hooks')
const { EventEmitter } = require('node:events')
const debug = require('node:util').debuglog('msgpack-rpc')
const { createClient } = require('./client')
const { DEFAULT_MAX_QUEUED_CALLS } = require('./reconnect')
const { parseTargets, resolve } = require('./targets')
const errors = require('./errors')
const { WaitQueue } = require('./wait-queue')
const v = require('./validate')

const DEFAULT_RESOLVE_INTERVAL = 30000

/** One server: its reconnecting client and what the balancer counts of it. */
class Target {
  constructor(address, client) {
    this.address = address
    this.client = client
    /** 'connecting' until the first attempt ends, then 'up' or 'down'. */
    this.state = 'connecting'
    /** Calls sent on it and not settled yet. */
    this.pending = 0
    /** Calls sent on it so far (notifications are not counted). */
    this.calls = 0
    /** Gone from DNS: no new calls; closed once `pending` is 0. */
    this.draining = false
  }
}

/** A call or notification on its way to a target (queued, sent, or being retried). */
class BalancedCall {
  constructor(method, params, deadline, timeout, signal) {
    this.method = method
    this.params = params
    /** Date.now() by which it must be answered; 0 for none. Time spent queued counts. */
    this.deadline = deadline
    this.timeout = timeout
    this.signal = signal
    this.notification = false
    this.idempotent = false
    this.retried = false
    /** The target whose connection it lost: a retry goes elsewhere if it can. */
    this.avoid = undefined
    this.cb = undefined
    this.resource = undefined
    this.resolve = undefined
    this.reject = undefined
    this.timer = undefined
  }
}

class Balancer extends EventEmitter {
  /**
   * @param {Array|string|number} targets endpoints (`7777`, `'host:port'`,
   *   `{ host, port }`, `'/path.sock'`), or one `'name:port'` whose every
   *   address is a target
   * @param {object} [options] `strategy`, `timeout`, `maxQueuedCalls`,
   *   `resolveInterval`, `lookup`, `reconnect` (backoff), and the options
   *   every target's client gets
   */
  constructor(targets, options) {
    super()
    const parsed = parseTargets(targets)
    const opts = v.validateOptions(options, v.BALANCER_OPTIONS, 'createBalancer()')
    const { strategy = 'least-pending', timeout, maxQueuedCalls, resolveInterval, lookup, reconnect, ...clientOptions } = opts
    this._roundRobin = strategy === 'round-robin'
    this._timeout = timeout > 0 ? timeout : 0
    this._maxQueued = maxQueuedCalls !== undefined ? maxQueuedCalls : DEFAULT_MAX_QUEUED_CALLS
    // Targets never give up: a server that is down now may come back.
    this._clientOptions = { ...clientOptions, reconnect: reconnect === undefined ? true : { ...reconnect, maxAttempts: Infinity } }
    /** The targets calls may go to, in list (or resolution) order. */
    this._targets = []
    /** Targets gone from DNS that still wait for replies. */
    this._draining = new Set()
    /** Calls and notifications waiting for a target to come up, oldest first. */
    this._queue = new WaitQueue({ onTimeout: (call) => this._expired(call), onAbort: (call) => this._abortedQueued(call) })
    /** Where the next search for a target starts: round-robin, and the tie-break of least-pending. */
    this._cursor = 0
    this._closed = false
    this._closing = undefined
    this._resolveTimer = undefined
    if (parsed.list !== undefined) {
      for (const endpoint of parsed.list) this._add(endpoint)
      this._name = undefined
    } else {
      this._name = parsed.name
      this._port = parsed.port
      // node:dns is loaded only by the processes that resolve names.
      this._lookup = lookup || require('node:dns').lookup
      this._resolveInterval = resolveInterval !== undefined ? resolveInterval : DEFAULT_RESOLVE_INTERVAL
      // On a later tick, so a lookup answering at once still finds the caller's listeners.
      this._resolveTimer = setTimeout(() => this._resolve(), 0)
    }
  }

  // ---- calling ---------------------------------------------------------------

  /**
   * Calls `method` on one target. With a callback (last argument) it gets
   * the legacy values (`cb(null, result)`, the remote error as sent,
   * `'timeout'`, an Error for anything else); without one, a Promise.
   * @param {string} method
   * @param {...*} params followed by an optional `function (err, result)`
   */
  invoke(method, ...params) {
    const cb = typeof params[params.length - 1] === 'function' ? params.pop() : undefined
    if (cb) {
      checkMethod(method)
      const call = this._newCall(method, params, undefined)
      call.cb = cb
      call.resource = new AsyncResource('msgpack-rpc:call')
      this._start(call)
      return
    }
    return this._promiseCall(method, params, undefined)
  }

  /**
   * Calls `method` with an array of params and per-call options.
   * @param {string} method
   * @param {Array} [params=[]]
   * @param {{timeout?: number, signal?: AbortSignal, idempotent?: boolean}} [options]
   *   `idempotent`: a call whose connection drops before the reply is sent
   *   once more, to another target when one is up
   * @returns {Promise<*>}
   */
  request(method, params = [], options) {
    if (!Array.isArray(params)) throw v.invalidArgType('params', 'Array', params)
    const opts = v.validateOptions(options, v.BALANCER_CALL_OPTIONS, 'balancer.request()')
    return this._promiseCall(method, params, opts)
  }

  _promiseCall(method, params, options) {
    return new Promise((resolve, reject) => {
      checkMethod(method)
      const call = this._newCall(method, params, options)
      call.resolve = resolve
      call.reject = reject
      this._start(call)
    })
  }

  _newCall(method, params, options) {
    const timeout = options && options.timeout !== undefined ? options.timeout : this._timeout
    const call = new BalancedCall(method, params, timeout > 0 ? Date.now() + timeout : 0, timeout, options && options.signal)
    call.idempotent = !!(options && options.idempotent)
    return call
  }

  _start(call) {
    if (this._closed) return this._fail(call, new errors.ClosedError('balancer closed'))
    if (call.signal !== undefined && call.signal.aborted) return this._fail(call, new errors.AbortError(call.method, call.signal.reason))
    this._dispatch(call)
  }

  /**
   * Sends a notification to one target (queued while none is up). Returns
   * false when it was dropped (closed, queue full) or the target's write
   * backlog is over its high-water mark.
   * @param {string} method
   * @param {...*} params
   */
  notify(method, ...params) {
    checkMethod(method)
    if (this._closed) return false
    const note = new BalancedCall(method, params, 0, 0, undefined)
    note.notification = true
    const target = this._pick(undefined)
    if (target !== undefined) return this._notifyOn(target, note)
    if (this._queue.size >= this._maxQueued) return false
    this._queue.add(note, 0)
    return true
  }

  _notifyOn(target, note) {
    return target.client.notify(note.method, ...note.params)
  }

  /** Per-call timeout in ms for later calls; 0 or undefined turns it off. */
  setTimeout(ms) {
    if (ms !== undefined && ms !== null) v.validateInteger(ms, 'ms', 0, 2 ** 31 - 1)
    this._timeout = ms > 0 ? ms : 0
    return this
  }

  // ---- choosing a target -----------------------------------------------------

  /**
   * The target for the next call, or undefined while none is up. `avoid`
   * is taken only when no other target is up.
   */
  _pick(avoid) {
    const list = this._targets
    const n = list.length
    let best
    let bestIndex = -1
    for (let i = 0; i < n; i++) {
      const index = (this._cursor + i) % n
      const target = list[index]
      if (target.state !== 'up' || target === avoid || !target.client.connected) continue
      if (this._roundRobin) {
        best = target
        bestIndex = index
        break
      }
      // Strictly fewer: among equals the first after the cursor wins, so equal load spreads.
      if (best === undefined || target.pending < best.pending) {
        best = target
        bestIndex = index
      }
    }
    if (best === undefined) {
      return avoid !== undefined && avoid.state === 'up' && !avoid.draining && avoid.client.connected ? avoid : undefined
    }
    this._cursor = (bestIndex + 1) % n
    return best
  }

  _dispatch(call) {
    const target = this._pick(call.avoid)
    if (target === undefined) return this._enqueue(call)
    if (call.notification) return void this._notifyOn(target, call)
    this._send(call, target)
  }

  _send(call, target) {
    let timeout = 0
    if (call.deadline !== 0) {
      timeout = call.deadline - Date.now()
      if (timeout <= 0) return this._fail(call, new errors.TimeoutError(call.method, call.timeout))
    }
    target.pending++
    target.calls++
    const options = call.signal !== undefined ? { timeout, signal: call.signal } : { timeout }
    target.client.request(call.method, call.params, options).then(
      (result) => {
        this._settled(target)
        this._succeed(call, result)
      },
      (err) => {
        this._settled(target)
        this._lost(call, target, err)
      }
    )
  }

  _settled(target) {
    target.pending--
    if (target.draining && target.pending === 0) this._retire(target)
  }

  /** A call failed on `target`: retried once if idempotent and only its connection was lost. */
  _lost(call, target, err) {
    if (err && err.code === errors.codes.CLOSED && call.idempotent && !call.retried && !this._closed) {
      if (debug.enabled) debug('balancer: retrying "%s", its connection to %s was lost', call.method, target.address)
      call.retried = true
      call.avoid = target
      return this._dispatch(call)
    }
    // The target's own TimeoutError counts from the send; the caller's from the call.
    if (err && err.code === errors.codes.TIMEOUT) err = new errors.TimeoutError(call.method, call.timeout)
    this._fail(call, err)
  }

  // ---- the queue while no target is up ----------------------------------------

  _enqueue(call) {
    if (this._queue.size >= this._maxQueued) {
      const err = new errors.RpcError(errors.codes.QUEUE_FULL, `${this._queue.size} calls already wait for a target to come up (maxQueuedCalls)`)
      return this._fail(call, err)
    }
    this._queue.add(call, call.deadline === 0 ? 0 : Math.max(1, call.deadline - Date.now()))
    this._keepResolving()
  }

  /** A queued call's timeout passed (it has left the queue). */
  _expired(call) {
    this._fail(call, new errors.TimeoutError(call.method, call.timeout))
  }

  /** A queued call's signal aborted (it has left the queue). */
  _abortedQueued(call) {
    this._fail(call, new errors.AbortError(call.method, call.signal.reason))
  }

  /** A target came up: everything waiting goes out, spread as new calls are. */
  _flushQueue() {
    for (const call of this._queue) {
      if (this._pick(undefined) === undefined) return
      this._queue.delete(call)
      this._dispatch(call)
    }
  }

  // ---- settling ------------------------------------------------------------------

  _succeed(call, result) {
    if (call.cb !== undefined) this._callback(call, null, result)
    else call.resolve(result)
  }

  _fail(call, err) {
    if (call.notification) return
    if (call.cb === undefined) return call.reject(err)
    // The legacy values: the remote error as sent, the string 'timeout'.
    const code = err && err.code
    const legacy = code === errors.codes.REMOTE ? err.data : code === errors.codes.TIMEOUT ? 'timeout' : err
    process.nextTick(() => this._callback(call, legacy))
  }

  _callback(call, a, b) {
    try {
      if (arguments.length > 2) call.resource.runInAsyncScope(call.cb, undefined, a, b)
      else call.resource.runInAsyncScope(call.cb, undefined, a)
    } catch (err) {
      errors.reportFault(this, undefined, errors.codes.CALLBACK, `the callback of a call to "${call.method}" threw: ${err && err.message}`, err)
    }
  }

  // ---- targets -------------------------------------------------------------------

  _add(endpoint) {
    const where = endpoint.path !== undefined ? { path: endpoint.path } : { host: endpoint.host, port: endpoint.port }
    const client = createClient({ ...this._clientOptions, ...where })
    const target = new Target(endpoint.address, client)
    client.on('ready', () => this._onUp(target))
    client.on('disconnect', (err) => this._onDown(target, err))
    // After a failed attempt (the first, or one after a disconnect).
    client.on('reconnecting', () => this._onDown(target, undefined))
    this._targets.push(target)
    return target
  }

  _onUp(target) {
    if (this._closed || target.draining) return
    target.state = 'up'
    if (debug.enabled) debug('balancer: %s is up', target.address)
    this._emit('up', target.address)
    this._flushQueue()
  }

  _onDown(target, err) {
    if (this._closed || target.draining || target.state === 'down') return
    target.state = 'down'
    if (debug.enabled) debug('balancer: %s is down%s', target.address, err ? `: ${err.message}` : '')
    this._emit('down', target.address, err)
  }

  /** Gone from DNS: no new calls; closed once its calls are answered. */
  _drain(target) {
    const index = this._targets.indexOf(target)
    if (index >= 0) {
      this._targets.splice(index, 1)
      if (this._cursor > index) this._cursor--
    }
    target.draining = true
    if (target.pending === 0) this._retire(target)
    else this._draining.add(target)
  }

  _retire(target) {
    this._draining.delete(target)
    target.client.close()
  }

  /**
   * Snapshots of the targets calls may go to: `{ address, state, pending,
   * calls }`, state `'up'`, `'connecting'` (first attempt) or `'down'`.
   */
  get targets() {
    return this._targets.map((t) => ({ address: t.address, state: t.state, pending: t.pending, calls: t.calls }))
  }

  // ---- DNS -----------------------------------------------------------------------

  _resolve() {
    this._resolveTimer = undefined
    resolve(this._name, this._port, this._lookup, (err, endpoints) => {
      if (this._closed) return
      if (err) {
        // The targets known so far stay: a DNS outage must not take healthy servers away.
        if (debug.enabled) debug('balancer: resolving %s failed: %s (%s)', this._name, err.message, err.code)
        if (this.listenerCount('error') > 0) this._emit('error', err)
      } else {
        this._update(endpoints)
      }
      if (this._closed) return
      this._resolveTimer = setTimeout(() => this._resolve(), this._resolveInterval)
      this._keepResolving()
    })
  }

  /**
   * The re-resolution timer lets the process exit, except while calls wait
   * and no target exists: then only a later resolution can answer them.
   */
  _keepResolving() {
    const timer = this._resolveTimer
    if (timer === undefined) return
    if (this._targets.length === 0 && this._queue.size > 0) timer.ref()
    else timer.unref()
  }

  _update(endpoints) {
    const known = new Map(this._targets.map((t) => [t.address, t]))
    const fresh = new Set(endpoints.map((e) => e.address))
    const removed = []
    const added = []
    for (const [address, target] of known) {
      if (fresh.has(address)) continue
      removed.push(address)
      this._drain(target)
    }
    for (const endpoint of endpoints) {
      if (known.has(endpoint.address)) continue
      added.push(endpoint.address)
      this._add(endpoint)
    }
    if (debug.enabled && (added.length > 0 || removed.length > 0)) {
      debug('balancer: %s resolved; added %j, removed %j', this._name, added, removed)
    }
    this._emit('resolve', { addresses: [...fresh], added, removed })
  }

  // ---- lifetime --------------------------------------------------------------

  /**
   * Closes every target; queued calls fail with ERR_MSGPACK_RPC_CLOSED, as
   * do calls still awaiting a reply. Idempotent; `'close'` follows once
   * every connection is closed. Returns a Promise without a callback.
   * @param {function} [cb]
   */
  close(cb) {
    if (this._closing === undefined) {
      this._closed = true
      if (this._resolveTimer !== undefined) clearTimeout(this._resolveTimer)
      this._resolveTimer = undefined
      const err = new errors.ClosedError('balancer closed')
      for (const call of this._queue.drain()) this._fail(call, err)
      const targets = [...this._targets, ...this._draining]
      this._targets = []
      this._draining.clear()
      this._closing = Promise.all(targets.map((t) => t.client.close())).then(() => this._emit('close'))
    }
    if (typeof cb === 'function') {
      this._closing.then(() => cb())
      return this
    }
    return this._closing
  }

  async [Symbol.asyncDispose]() {
    await this.close()
  }

  /** Emits; a throwing listener is reported, never thrown into a socket callback. */
  _emit(event, ...args) {
    try {
      this.emit(event, ...args)
    } catch (err) {
      if (event === 'error') return errors.reportFault(undefined, undefined, errors.codes.HANDLER, `an 'error' listener threw: ${err && err.message}`, err)
      errors.reportFault(this, undefined, errors.codes.HANDLER, `a '${event}' listener threw: ${err && err.message}`, err)
    }
  }
}

function checkMethod(method) {
  if (typeof method !== 'string') throw v.invalidArgType('method', 'string', method)
}

/**
 * `createBalancer(targets[, options])`: bad arguments throw synchronously.
 * @returns {Balancer}
 */
function createBalancer(targets, options) {
  return new Balancer(targets, options)
}

module.exports = { Balancer, createBalancer, DEFAULT_RESOLVE_INTERVAL }
