'use strict'
// MessagePack-RPC over UDP: one message per datagram, replies to the sender.
// There is no retransmission: a lost datagram shows up only as the caller's
// timeout, so give UDP calls one. A message that would not fit in one
// datagram is refused with ERR_MSGPACK_RPC_MESSAGE_TOO_LARGE.

const dgram = require('node:dgram')
const { EventEmitter } = require('node:events')
const net = require('node:net')
const binding = require('./binding')
const { RpcStream } = require('./stream')
const errors = require('./errors')

/** The largest UDP payload over IPv4. */
const DEFAULT_MAX_DATAGRAM_SIZE = 65507

/** One peer's datagrams, as a transport for RpcStream. */
class DatagramTransport {
  constructor(socket, remote, options, owned) {
    this.datagram = true
    this.maxDatagramSize = options.maxDatagramSize || DEFAULT_MAX_DATAGRAM_SIZE
    this._socket = socket
    this._remote = remote // { address, port } or undefined for a connected socket
    this._owned = owned // the client owns its socket; server peers share one
    this._deframer = new binding.native.NativeDeframer({ maxMessageSize: this.maxDatagramSize, maxDepth: options.maxDepth })
    this._onEvent = undefined
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
    this._onEvent = onEvent
  }

  /** One datagram from this peer. */
  receive(datagram) {
    let batch
    try {
      batch = this._deframer.datagram(datagram)
    } catch (err) {
      // No connection to close: report (if anyone listens) and drop it.
      return this._onEvent(binding.ERROR, { code: err.code || errors.codes.PROTOCOL, message: err.message })
    }
    if (batch.replies) this._send(batch.replies)
    if (batch.messages) this._onEvent(binding.MESSAGES, batch.messages)
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
    process.nextTick(() => this._onEvent(binding.CLOSE, null))
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

function socketType(host) {
  return net.isIPv6(host || '') ? 'udp6' : 'udp4'
}

/** A UDP server: each remote address gets its own RpcStream ('connection'). */
class UdpServer extends EventEmitter {
  constructor(handler, options = {}) {
    super()
    if (typeof handler === 'function') this.on('connection', handler)
    else this._handler = handler
    this._options = options
    this._peers = new Map()
    this._socket = undefined
  }

  setHandler(handler) {
    this._handler = handler
    return this
  }

  /** `listen(port[, host][, cb])`: binds the socket. */
  listen(port = 0, host, cb) {
    if (typeof host === 'function') {
      cb = host
      host = undefined
    }
    if (cb) this.once('listening', cb)
    const socket = dgram.createSocket(socketType(host || '127.0.0.1'))
    this._socket = socket
    socket.on('message', (msg, rinfo) => this._peer(rinfo).receive(msg))
    socket.on('error', (err) => {
      if (this.listenerCount('error') > 0) this.emit('error', err)
    })
    socket.on('close', () => {
      for (const { transport } of this._peers.values()) transport.destroy()
      this._peers.clear()
      this.emit('close')
    })
    socket.bind(port, host || '127.0.0.1', () => this.emit('listening'))
    return this
  }

  _peer(rinfo) {
    const key = `${rinfo.address}:${rinfo.port}`
    let peer = this._peers.get(key)
    if (!peer) {
      const transport = new DatagramTransport(this._socket, { address: rinfo.address, port: rinfo.port }, this._options, false)
      const stream = new RpcStream(transport, { server: this, timeout: this._options.timeout })
      transport.start(stream._onEvent)
      peer = { transport, stream }
      this._peers.set(key, peer)
      stream.once('close', () => this._peers.delete(key))
      this.emit('connection', stream)
    }
    return peer.transport
  }

  /** Called by a peer's stream when it closes (the map entry goes on 'close'). */
  _forget() {}

  address() {
    return this._socket ? this._socket.address() : null
  }

  close(cb) {
    const done = new Promise((resolve) => this.once('close', resolve))
    if (this._socket) this._socket.close()
    if (cb) done.then(() => cb())
    return cb ? this : done
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
 * A UDP client bound to one server address. Resolves once the socket is
 * connected (UDP has no handshake: the peer may still not be there).
 */
function createUdpClient(port, host = '127.0.0.1', options = {}) {
  const socket = dgram.createSocket(socketType(host))
  const transport = new DatagramTransport(socket, undefined, options, true)
  const stream = new RpcStream(transport, {
    connecting: true,
    handler: options.handler,
    timeout: options.timeout,
  })
  transport.start(stream._onEvent)
  socket.on('message', (msg) => transport.receive(msg))
  socket.on('error', (err) => transport._onEvent(binding.ERROR, { code: err.code || 'EIO', message: err.message }))
  socket.connect(port, host, () => {
    transport.connected()
    stream._onEvent(binding.CONNECT, transport.endpoints())
  })
  return stream
}

module.exports = { UdpServer, createUdpClient, DEFAULT_MAX_DATAGRAM_SIZE }
