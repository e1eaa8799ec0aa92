'use strict'
// `rpcStream.stream`: the socket-like object old code reaches for
// (`end()`, `destroy()`, `'close'`/`'end'`/`'error'`, `remoteAddress`...).

const { kApplySocketOptions, kBufferedBytes, kDestroy, kEnd, kEndpoint, kState, kTransport } = require('./constants')
const { EventEmitter } = require('node:events')

class Socket extends EventEmitter {
  /** @param {import('./stream').RpcStream} rpc */
  constructor(rpc) {
    super()
    this._rpc = rpc
    /** Socket options asked for, applied now if connected and again on every (re)connect. */
    this._keepAlive = undefined
    this._noDelay = undefined
  }

  /** Flushes what was written, then closes the connection. */
  end(cb) {
    if (typeof cb === 'function') this.once('close', () => cb())
    this._rpc[kEnd]()
    return this
  }

  /** Closes the connection at once; what is queued is dropped. */
  destroy(err) {
    this._rpc[kDestroy](err)
    return this
  }

  ref() {
    this._rpc.ref()
    return this
  }

  unref() {
    this._rpc.unref()
    return this
  }

  /** Nagle's algorithm off (the default of this library's TCP sockets) or back on. */
  setNoDelay(noDelay = true) {
    this._noDelay = !!noDelay
    this[kApplySocketOptions]()
    return this
  }

  /**
   * TCP keepalive, as on `net.Socket`: probes start after `initialDelay` ms
   * of silence (0 keeps the system's delay), so a vanished peer is noticed.
   */
  setKeepAlive(enable = false, initialDelay = 0) {
    this._keepAlive = { enable: !!enable, delay: initialDelay > 0 ? Math.floor(initialDelay) : 0 }
    this[kApplySocketOptions]()
    return this
  }

  /** Sets what was asked for on the TCP socket; a no-op before it exists and on unix sockets. */
  [kApplySocketOptions]() {
    const native = this._rpc[kTransport]
    if (native === undefined || this._rpc[kState] !== 'open' || typeof native.setKeepAlive !== 'function') return
    if (this._keepAlive !== undefined) native.setKeepAlive(this._keepAlive.enable, this._keepAlive.delay)
    if (this._noDelay !== undefined) native.setNoDelay(this._noDelay)
  }

  get writable() {
    return this._rpc[kState] === 'connecting' || this._rpc[kState] === 'open'
  }

  get readable() {
    return this.writable
  }

  get destroyed() {
    return this._rpc[kState] === 'closed'
  }

  get connecting() {
    return this._rpc[kState] === 'connecting'
  }

  get pending() {
    return this._rpc[kState] === 'connecting'
  }

  /** Bytes queued and not yet written to the socket. */
  get writableLength() {
    return this._rpc[kBufferedBytes]()
  }

  get bufferSize() {
    return this.writableLength
  }

  get remoteAddress() {
    return this._rpc[kEndpoint]('remoteAddress')
  }

  get remotePort() {
    return this._rpc[kEndpoint]('remotePort')
  }

  get remoteFamily() {
    return this._rpc[kEndpoint]('remoteFamily')
  }

  get localAddress() {
    return this._rpc[kEndpoint]('localAddress')
  }

  get localPort() {
    return this._rpc[kEndpoint]('localPort')
  }

  address() {
    const address = this.localAddress
    if (this.localPort === undefined) return address === undefined ? {} : address
    return { address, family: this.remoteFamily, port: this.localPort }
  }
}

module.exports = { Socket }
