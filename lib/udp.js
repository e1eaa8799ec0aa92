'use strict'
// MessagePack-RPC over UDP: one message per datagram, replies to the sender.
// There is no retransmission: a lost datagram shows up only as the caller's
// timeout, so give UDP calls one. A message that would not fit in one
// datagram is refused with ERR_MSGPACK_RPC_MESSAGE_TOO_LARGE.

const { kCounters, kForget, kIncoming, kOnEvent } = require('./constants')
const { EventEmitter } = require('node:events')
const binding = require('./binding')
const { RpcStream } = require('./stream')
const errors = require('./errors')
const v = require('./validate')
const diagnostics = require('./diagnostics')
const { Counters, serverReport } = require('./stats')

/** The largest UDP payload over IPv4. */
const DEFAULT_MAX_DATAGRAM_SIZE = v.MAX_DATAGRAM_SIZE
/**
 * A server peer silent this long, with no call of ours in flight to it, is
 * forgotten: UDP has no close, so short-lived clients would otherwise leave
 * their streams behind for good.
 */
const DEFAULT_PEER_IDLE_TIMEOUT = 60000
/** Idle peers are swept this many times per `peerIdleTimeout`. */
const SWEEPS_PER_TIMEOUT = 4
/**
 * What the kernel reports on a connected socket when an ICMP error answers a
 * datagram we sent. UDP promises no delivery, so these are lost datagrams:
 * the call's timeout reports them, not 'error'.
 */
const ICMP_ERRORS = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH'])

/** One peer's datagrams, as a transport for RpcStream. */
class DatagramTransport {
  constructor(socket, remote, options, owned) {
    this.datagram = true
    this.maxDatagramSize = options.maxDatagramSize || DEFAULT_MAX_DATAGRAM_SIZE
    this._socket = socket
    this._remote = remote // { address, port } or undefined for a connected socket
    this._owned = owned // the client owns its socket; server peers share one
    const maxMessageSize = Math.min(this.maxDatagramSize, options.maxMessageSize || Infinity)
    this._deframer = new binding.native.NativeDeframer({ maxMessageSize, maxDepth: options.maxDepth })
    this[kOnEvent] = undefined
    this._closed = false
    // A client socket queues what it sends until connect() completes.
    this._queue = remote ? undefined : []
  }

  /** The client socket is connected: send what was queued. */
  connected() {
    const queued = this._queue
    this._queue = undefined
    for (const bytes of queued) this._socket.send(bytes)
  }

  start(onEvent) {
    this[kOnEvent] = onEvent
  }

  /** One datagram from this peer. */
  receive(datagram) {
    let batch
    try {
      batch = this._deframer.datagram(datagram)
    } catch (err) {
      // No connection to close: report (if anyone listens) and drop it.
      return this[kOnEvent](binding.ERROR, { code: err.code || errors.codes.PROTOCOL, message: err.message })
    }
    if (batch.replies) this._send(batch.replies)
    const messages = binding.messagesOf(batch, datagram)
    if (messages) this[kOnEvent](binding.MESSAGES, messages)
  }

  _send(bytes) {
    const copy = Buffer.from(bytes)
    if (this._remote) this._socket.send(copy, this._remote.port, this._remote.address)
    else if (this._queue) this._queue.push(copy)
    else this._socket.send(copy)
  }

  write(batch) {
    if (this._closed) return -1
    this._send(batch)
    // Like NativeConnection#write: nothing waits (datagrams are sent at once).
    return 0
  }

  pendingBytes() {
    return 0
  }

  end() {
    this.destroy()
  }

  destroy() {
    if (this._closed) return
    this._closed = true
    if (this._owned) this._socket.close()
    process.nextTick(() => this[kOnEvent](binding.CLOSE, null))
  }

  setRef(referenced) {
    if (this._owned) referenced ? this._socket.ref() : this._socket.unref()
  }

  endpoints() {
    let local = {}
    try {
      local = this._socket.address()
    } catch {}
    const remote = this._remote || safe(() => this._socket.remoteAddress()) || {}
    return {
      remoteAddress: remote.address,
      remotePort: remote.port,
      remoteFamily: remote.family,
      localAddress: local.address,
      localPort: local.port,
    }
  }

  dispose() {}
}

function safe(f) {
  try {
    return f()
  } catch {
    return undefined
  }
}

/** A UDP socket; node:dgram is loaded only by the processes that use UDP. */
function createSocket(type) {
  return require('node:dgram').createSocket(type)
}

function socketType(host) {
  return require('node:net').isIPv6(host || '') ? 'udp6' : 'udp4'
}

/** A UDP server: each remote address gets its own RpcStream ('connection'). */
class UdpServer extends EventEmitter {
  /**
   * @param {function|object} [listener] `function (rpcStream)` per peer, or a handler
   * @param {object} [options] `maxDatagramSize`, `peerIdleTimeout` and the connection options
   */
  constructor(listener, options) {
    super()
    if (listener !== undefined && listener !== null && typeof listener !== 'function' && typeof listener !== 'object') {
      throw v.invalidArgType('listener', ['function', 'object'], listener)
    }
    this._options = v.validateOptions(options, v.UDP_SERVER_OPTIONS, 'createUdpServer()')
    if (typeof listener === 'function') this.on('connection', listener)
    this._handler = (typeof listener === 'object' && listener) || this._options.handler || undefined
    this._peerIdleTimeout = this._options.peerIdleTimeout || DEFAULT_PEER_IDLE_TIMEOUT
    this._peers = new Map()
    /** What forgotten peers counted, and how many peers were ever seen (stats()). */
    this._closedCounters = new Counters()
    this._peersTotal = 0
    this._socket = undefined
    this._closing = false
    this._sweeper = undefined
  }

  setHandler(handler) {
    this._handler = handler
    return this
  }

  /** The object whose methods answer every peer's requests. */
  get handler() {
    return this._handler
  }

  /** `listen([port][, host][, cb])`: binds the socket (port 0 and 127.0.0.1 by default). */
  listen(port, host, cb) {
    if (typeof port === 'function') {
      cb = port
      port = undefined
    } else if (typeof host === 'function') {
      cb = host
      host = undefined
    }
    port = v.validatePort(port)
    if (host !== undefined && host !== null) v.validateString(host, 'host')
    if (cb !== undefined) v.validateFunction(cb, 'callback')
    if (this._socket) throw new errors.RpcError('ERR_SERVER_ALREADY_LISTEN', 'listen() was called on a listening server')
    if (cb) this.once('listening', cb)
    const socket = createSocket(socketType(host || '127.0.0.1'))
    this._socket = socket
    socket.on('message', (msg, rinfo) => this._peer(rinfo).receive(msg))
    socket.on('error', (err) => {
      if (this.listenerCount('error') > 0) this.emit('error', err)
    })
    socket.on('close', () => {
      clearInterval(this._sweeper)
      this._sweeper = undefined
      this._socket = undefined
      this._closing = false
      for (const { transport } of this._peers.values()) transport.destroy()
      this._peers.clear()
      this.emit('close')
    })
    socket.bind(port, host || '127.0.0.1', () => {
      // One timer per server, not one per peer.
      this._sweeper = setInterval(() => this._sweep(), Math.max(1, Math.floor(this._peerIdleTimeout / SWEEPS_PER_TIMEOUT)))
      this._sweeper.unref()
      this.emit('listening')
    })
    return this
  }

  _peer(rinfo) {
    const key = `${rinfo.address}:${rinfo.port}`
    let peer = this._peers.get(key)
    if (!peer) {
      const transport = new DatagramTransport(this._socket, { address: rinfo.address, port: rinfo.port }, this._options, false)
      const stream = new RpcStream(transport, { ...v.streamOptions(this._options), server: this })
      transport.start(stream[kOnEvent])
      const entry = { transport, stream, lastSeen: 0 }
      peer = entry
      this._peers.set(key, entry)
      this._peersTotal++
      if (diagnostics.connectionOpen.hasSubscribers) diagnostics.connectionOpen.publish({ stream, server: this })
      // A peer that expired and came back has a new entry under the same key.
      stream.once('close', () => {
        if (this._peers.get(key) === entry) this._peers.delete(key)
      })
      this.emit('connection', stream)
    }
    peer.lastSeen = Date.now()
    return peer.transport
  }

  /** Forgets peers silent for `peerIdleTimeout` that wait for nothing from us or we from them. */
  _sweep() {
    const oldest = Date.now() - this._peerIdleTimeout
    for (const [key, peer] of this._peers) {
      const { stream } = peer
      if (peer.lastSeen > oldest || stream.pendingCalls > 0 || stream[kIncoming] > 0) continue
      this._peers.delete(key)
      stream.close()
    }
  }

  /** Called by a peer's stream when it closes (the map entry goes on 'close'). */
  [kForget](stream) {
    this._closedCounters.add(stream[kCounters])
  }

  /** As `Server#stats()`: every peer's counts, known or forgotten; `connections` counts peers. */
  stats() {
    return serverReport(this._closedCounters, this.connections, this._peersTotal)
  }

  /** The peers currently known (each an RpcStream). */
  get connections() {
    return [...this._peers.values()].map((peer) => peer.stream)
  }

  /** `cb(null, count)` of the peers currently known, as `Server#getConnections`. */
  getConnections(cb) {
    v.validateFunction(cb, 'callback')
    process.nextTick(cb, null, this._peers.size)
    return this
  }

  address() {
    return this._socket ? this._socket.address() : null
  }

  /**
   * Closes the socket and every peer stream. `cb(err)` gets
   * ERR_SERVER_NOT_RUNNING if it was not listening (as `Server#close`); the
   * Promise resolves either way and never throws.
   */
  close(cb) {
    if (cb !== undefined) v.validateFunction(cb, 'callback')
    let done
    if (!this._socket) {
      const err = new errors.RpcError('ERR_SERVER_NOT_RUNNING', 'Server is not running.')
      done = new Promise((resolve) => process.nextTick(resolve, err))
    } else {
      done = new Promise((resolve) => this.once('close', () => resolve()))
      if (!this._closing) {
        this._closing = true
        this._socket.close()
      }
    }
    if (cb) {
      done.then((err) => cb(err))
      return this
    }
    return done.then(() => undefined)
  }

  unref() {
    if (this._socket) this._socket.unref()
    return this
  }

  ref() {
    if (this._socket) this._socket.ref()
    return this
  }
}

/**
 * A UDP client bound to one server address: `createUdpClient(port[, host][, options])`.
 * The stream is ready once the socket is connected (UDP has no handshake:
 * the peer may still not be there).
 */
function createUdpClient(port, host, options) {
  if (host !== null && typeof host === 'object') {
    options = host
    host = undefined
  }
  port = v.validatePort(port, 'Port', false)
  if (host !== undefined && host !== null) v.validateString(host, 'host')
  host = host || '127.0.0.1'
  const opts = v.validateOptions(options, v.UDP_CLIENT_OPTIONS, 'createUdpClient()')
  const socket = createSocket(socketType(host))
  const transport = new DatagramTransport(socket, undefined, opts, true)
  const stream = new RpcStream(transport, { ...v.streamOptions(opts), connecting: true })
  transport.start(stream[kOnEvent])
  socket.on('message', (msg) => transport.receive(msg))
  socket.on('error', (err) => {
    if (ICMP_ERRORS.has(err.code)) return
    transport[kOnEvent](binding.ERROR, { code: err.code || 'EIO', message: err.message })
  })
  socket.connect(port, host, () => {
    transport.connected()
    stream[kOnEvent](binding.CONNECT, transport.endpoints())
  })
  return stream
}

module.exports = { UdpServer, createUdpClient, DEFAULT_MAX_DATAGRAM_SIZE, DEFAULT_PEER_IDLE_TIMEOUT }
