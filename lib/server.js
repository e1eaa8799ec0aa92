'use strict'
// Server: the `net.Server`-like listener. Each accepted connection becomes an
// RpcStream whose requests go to the server's handler.

const { kCloseForServer, kCloseWhenIdle, kCounters, kDestroy, kForget, kOnEvent, kPeerName, kReferenced } = require('./constants')
const { EventEmitter } = require('node:events')
const binding = require('./binding')
const cluster = require('./cluster')
const { RpcStream, streamSettings } = require('./stream')
const errors = require('./errors')
const v = require('./validate')
const { IdleSweeper } = require('./idle')
const diagnostics = require('./diagnostics')
const { Counters, serverReport } = require('./stats')
const debug = require('node:util').debuglog('msgpack-rpc')

/** How long `close()` waits for in-flight requests before dropping connections. */
const DEFAULT_CLOSE_TIMEOUT = 5000

class Server extends EventEmitter {
  /**
   * @param {function|object} [listener] `function (rpcStream)` run for each
   *   connection, or a handler object
   * @param {object} [options] connection limits and `closeTimeout`
   */
  constructor(listener, options) {
    super()
    if (listener !== undefined && listener !== null && typeof listener !== 'function' && typeof listener !== 'object') {
      throw v.invalidArgType('listener', ['function', 'object'], listener)
    }
    const opts = v.validateOptions(options, v.SERVER_OPTIONS, 'createServer()')
    this._handler = undefined
    if (typeof listener === 'function') this.on('connection', listener)
    else if (listener) this._handler = listener
    if (this._handler === undefined && opts.handler) this._handler = opts.handler
    // Only validated values from here on: the streams and the native side read these.
    this._options = opts
    /** What every accepted stream is made with: its settings are one object per server, not fields of each connection. */
    this._streamOptions = {
      timeout: opts.timeout,
      settings: streamSettings({
        server: this,
        highWaterMark: opts.highWaterMark,
        maxPendingCalls: opts.maxPendingCalls,
        appendResponse: opts.appendResponse,
        errorFields: opts.errorFields,
        maxQueuedReplies: replyBudget(opts),
      }),
    }
    /** Connections past this many are closed as soon as they are accepted. */
    this.maxConnections = opts.maxConnections
    this._native = undefined
    this._streams = new Set()
    /** What closed connections counted, and how many were ever accepted (stats()). */
    this._closedCounters = new Counters()
    this._connectionsTotal = 0
    this._listening = false
    this._closing = false
    this[kReferenced] = true
    this[kOnEvent] = this[kOnEvent].bind(this)
    this._idle =
      opts.idleTimeout || opts.maxMessageTime
        ? new IdleSweeper({ idleTimeout: opts.idleTimeout, maxMessageTime: opts.maxMessageTime }, (stream) => stream[kCloseWhenIdle]())
        : undefined
  }

  /** Sets the object whose methods answer requests. */
  setHandler(handler) {
    this._handler = handler
    return this
  }

  get handler() {
    return this._handler
  }

  /**
   * Starts listening: `listen(port[, host][, backlog][, cb])`,
   * `listen(path[, cb])`, `listen(handle[, cb])` or
   * `listen({ port, host, path, backlog, fd, handle, reusePort, exclusive }[, cb])`.
   * In a node:cluster worker the port is shared with the other workers
   * through the primary, as a net.Server's is (see lib/cluster.js).
   */
  listen(...args) {
    const cb = typeof args[args.length - 1] === 'function' ? args.pop() : undefined
    const target = listenTarget(args)
    if (this._native) throw new errors.RpcError('ERR_SERVER_ALREADY_LISTEN', 'listen() was called on a listening server')
    if (cb) this.once('listening', cb)
    const nativeOptions = connectionOptions(this._options, true)
    if (cluster.sharesThroughPrimary(target)) {
      this._closing = false
      this._native = new cluster.ClusterListener(target, nativeOptions, this[kOnEvent], (err) => {
        if (err) {
          this._native = undefined
          this.emit('error', err)
          return
        }
        this._listening = true
        this.emit('listening')
      })
      if (!this[kReferenced]) this._native.setRef(false)
      return this
    }
    try {
      this._native =
        target.fd !== undefined
          ? binding.native.NativeServer.listenFd(target.fd, target.take, target.backlog, nativeOptions, this[kOnEvent])
          : binding.native.NativeServer.listen(
              { path: target.path, host: target.host, port: target.port },
              target.backlog,
              nativeOptions,
              this[kOnEvent],
              target.reusePort
            )
    } catch (err) {
      process.nextTick(() => this.emit('error', err))
      return this
    }
    // listen(netServer): the descriptor is ours now; Node must stop accepting on it.
    if (target.release) target.release()
    this._listening = true
    this._closing = false
    if (!this[kReferenced]) this._native.setRef(false)
    process.nextTick(() => this.emit('listening'))
    return this
  }

  [kOnEvent](kind, payload) {
    switch (kind) {
      case binding.CONNECTION:
        return this._onConnection(payload)
      case binding.ERROR:
        if (this.listenerCount('error') > 0) this.emit('error', payload instanceof Error ? payload : errors.fromNative(payload))
        return
      case binding.CLOSE:
        this._native = undefined
        this._listening = false
        return this._maybeClosed()
    }
  }

  _onConnection(native) {
    const max = this.maxConnections
    if (max !== undefined && this._streams.size >= max) {
      // Like net.Server#maxConnections: refuse by closing at once.
      native.dispose()
      return
    }
    const options = this._options
    const stream = new RpcStream(native, this._streamOptions)
    this._streams.add(stream)
    this._connectionsTotal++
    if (debug.enabled) debug('accepted %s', stream[kPeerName]())
    if (diagnostics.connectionOpen.hasSubscribers) diagnostics.connectionOpen.publish({ stream, server: this })
    if (this._closing) {
      // Accepted just before close(): take it down with the rest.
      native.start(stream[kOnEvent])
      stream[kCloseForServer]()
      return
    }
    try {
      this.emit('connection', stream)
    } catch (err) {
      // The stream still starts, so close() can finish it.
      errors.reportFault(this, undefined, errors.codes.HANDLER, `a 'connection' listener threw: ${err && err.message}`, err)
    }
    // Start reading only now that the listeners are attached.
    native.start(stream[kOnEvent])
    if (options.keepAlive !== undefined) stream.stream.setKeepAlive(options.keepAlive, options.keepAliveInitialDelay)
    if (this._idle !== undefined) this._idle.add(stream)
    if (!this[kReferenced]) stream.unref()
  }

  [kForget](stream) {
    if (this._idle !== undefined) this._idle.delete(stream)
    if (this._streams.delete(stream)) this._closedCounters.add(stream[kCounters])
    this._maybeClosed()
  }

  _maybeClosed() {
    if (this._closing && !this._native && this._streams.size === 0) {
      this._closing = false
      clearTimeout(this._closeTimer)
      this._closeTimer = undefined
      try {
        this.emit('close')
      } catch (err) {
        errors.reportFault(this, undefined, errors.codes.HANDLER, `a 'close' listener threw: ${err && err.message}`, err)
      }
    }
  }

  /**
   * Stops accepting, lets every connection finish the requests it already
   * received (up to `closeTimeout` ms, default 5000), then closes them;
   * requests arriving meanwhile are answered with an error.
   * `'close'` follows; `cb(err)` gets `ERR_SERVER_NOT_RUNNING` if it was not listening.
   * Returns a Promise when no callback is given.
   */
  close(cb) {
    const done = new Promise((resolve, reject) => {
      if (!this._native && !this._closing) {
        const err = new errors.RpcError('ERR_SERVER_NOT_RUNNING', 'Server is not running.')
        process.nextTick(() => (cb ? resolve(err) : reject(err)))
        return
      }
      this.once('close', () => resolve())
    })
    if (this._native && !this._closing) {
      this._closing = true
      this._native.close()
      const timeout = this._options.closeTimeout !== undefined ? this._options.closeTimeout : DEFAULT_CLOSE_TIMEOUT
      const closing = new Set(this._streams)
      this._closeTimer = setTimeout(() => {
        for (const stream of closing) stream[kDestroy]()
      }, timeout)
      this._closeTimer.unref()
      for (const stream of closing) stream[kCloseForServer]()
    }
    if (typeof cb === 'function') {
      done.then((err) => cb(err))
      return this
    }
    return done
  }

  /** `{ address, family, port }`, the socket path, or null before listening. */
  address() {
    if (!this._native) return null
    const a = this._native.address()
    if (a.localPort === null || a.localPort === undefined) return a.localAddress
    return { address: a.localAddress, family: a.remoteFamily, port: a.localPort }
  }

  get listening() {
    return this._listening
  }

  /**
   * `stream.stats()` summed over every connection this server accepted,
   * open or closed, plus `connections: { open, total }`.
   */
  stats() {
    return serverReport(this._closedCounters, this._streams, this._connectionsTotal)
  }

  /** The connections currently open. */
  get connections() {
    return [...this._streams]
  }

  getConnections(cb) {
    process.nextTick(cb, null, this._streams.size)
    return this
  }

  unref() {
    this[kReferenced] = false
    if (this._native) this._native.setRef(false)
    for (const s of this._streams) s.unref()
    return this
  }

  ref() {
    this[kReferenced] = true
    if (this._native) this._native.setRef(true)
    for (const s of this._streams) s.ref()
    return this
  }

  async [Symbol.asyncDispose]() {
    if (this._native || this._closing) await this.close()
  }
}

/**
 * What to listen on, from listen()'s positional forms, checked as
 * `net.Server#listen` checks them: `{ port, host, backlog, reusePort,
 * exclusive }`, `{ path, backlog }` or `{ fd, take, release, backlog }`.
 */
function listenTarget(args) {
  const [first, second, third] = args
  if (first !== null && typeof first === 'object') {
    // listen(handle): a net.Server or net.Socket (anything with _handle).
    if ('_handle' in first) return { ...handleTarget(first, 'handle'), backlog: backlogArg(second) }
    const o = v.validateOptions(first, v.LISTEN_OPTIONS, 'listen()')
    const flags = { reusePort: o.reusePort, exclusive: o.exclusive, backlog: o.backlog }
    if (o.handle !== undefined) return { ...handleTarget(o.handle, 'options.handle'), ...flags }
    // A bare descriptor is the server's from now on, as with net.Server.
    if (o.fd !== undefined) return { fd: o.fd, take: true, ...flags }
    if (o.path !== undefined) return { path: o.path, ...flags }
    return { port: o.port || 0, host: o.host, ...flags }
  }
  if (typeof first === 'string' && !/^\s*\d+\s*$/.test(first)) {
    return { path: first, backlog: backlogArg(second) }
  }
  if (first === undefined || first === null || typeof first === 'number' || typeof first === 'string') {
    const port = toPort(first)
    if (typeof second === 'string') return { port, host: second, backlog: backlogArg(third) }
    if (second !== undefined && second !== null && typeof second !== 'number') throw v.invalidArgType('host', 'string', second)
    // listen(port, undefined, backlog) leaves the host out but keeps the backlog.
    return { port, backlog: backlogArg(second === undefined || second === null ? third : second) }
  }
  throw v.invalidArgValue('options', first)
}

/**
 * The descriptor of a handle as net.Server#listen(handle) takes it: a
 * net.Server or net.Socket (its `_handle`), or an object with `fd`. The
 * native side listens on a duplicate; a Node object that was listening is
 * closed once that works, so only we accept (Node moves the handle over).
 */
function handleTarget(handle, name) {
  const inner = handle._handle || handle
  const fd = inner && inner.fd
  if (!Number.isInteger(fd) || fd < 0) {
    throw v.invalidArgValue(name, handle, 'must be a net.Server, a net.Socket or an object with a non-negative integer fd')
  }
  // A Node handle means node:net is loaded already.
  const net = require('node:net')
  if (handle instanceof net.Server) return { fd, take: false, release: () => handle.close() }
  if (handle instanceof net.Socket) return { fd, take: false, release: () => handle.destroy() }
  return { fd, take: false }
}

function backlogArg(backlog) {
  if (backlog === undefined || backlog === null) return undefined
  v.validateInteger(backlog, 'backlog', 0, 2 ** 31 - 1)
  return backlog
}

/** A port as `net` takes it (a number or a decimal string, 0..65535); none means 0. */
function toPort(port) {
  return v.validatePort(port)
}

/**
 * Replies a server connection may have queued before it stops reading that
 * connection's requests. Well above the high-water mark, so a client that
 * pipelines big requests before reading its first reply is not stalled.
 */
const DEFAULT_MAX_QUEUED_REPLIES = 16 * 1024 * 1024

/** Bytes of answers a server connection may have queued before it stops dispatching requests. */
function replyBudget(options) {
  return options.maxQueuedReplies || Math.max(DEFAULT_MAX_QUEUED_REPLIES, options.highWaterMark || 0)
}

/** The native options object from user options (servers pause reading when backlogged). */
function connectionOptions(options = {}, server = false) {
  const highWaterMark = options.highWaterMark
  return {
    maxMessageSize: options.maxMessageSize,
    maxDepth: options.maxDepth,
    highWaterMark,
    maxQueuedReplies: server ? replyBudget(options) : undefined,
    maxBufferedBytes: server ? options.maxBufferedBytes : undefined,
  }
}

module.exports = { Server, connectionOptions, toPort }
