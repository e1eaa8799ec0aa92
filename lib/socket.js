'use strict'
// `rpcStream.stream`: the socket-like object old code reaches for
// (`end()`, `destroy()`, `'close'`/`'end'`/`'error'`, `remoteAddress`...).

const { EventEmitter } = require('node:events')

class Socket extends EventEmitter {
  /** @param {import('./stream').RpcStream} rpc */
  constructor(rpc) {
    super()
    this._rpc = rpc
  }

  /** Flushes what was written, then closes the connection. */
  end(cb) {
    if (typeof cb === 'function') this.once('close', () => cb())
    this._rpc._end()
    return this
  }

  /** Closes the connection at once; what is queued is dropped. */
  destroy(err) {
    this._rpc._destroy(err)
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

  /** For `net.Socket` compatibility; Nagle is always off. */
  setNoDelay() {
    return this
  }

  setKeepAlive() {
    return this
  }

  get writable() {
    return this._rpc._state === 'connecting' || this._rpc._state === 'open'
  }

  get readable() {
    return this.writable
  }

  get destroyed() {
    return this._rpc._state === 'closed'
  }

  get connecting() {
    return this._rpc._state === 'connecting'
  }

  get pending() {
    return this._rpc._state === 'connecting'
  }

  /** Bytes queued and not yet written to the socket. */
  get writableLength() {
    return this._rpc._bufferedBytes()
  }

  get bufferSize() {
    return this.writableLength
  }

  get remoteAddress() {
    return this._rpc._endpoint('remoteAddress')
  }

  get remotePort() {
    return this._rpc._endpoint('remotePort')
  }

  get remoteFamily() {
    return this._rpc._endpoint('remoteFamily')
  }

  get localAddress() {
    return this._rpc._endpoint('localAddress')
  }

  get localPort() {
    return this._rpc._endpoint('localPort')
  }

  address() {
    const address = this.localAddress
    if (this.localPort === undefined) return address === undefined ? {} : address
    return { address, family: this.remoteFamily, port: this.localPort }
  }
}

module.exports = { Socket }
