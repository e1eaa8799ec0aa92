'use strict'
// A transport over Node streams, for bytes that do not come from a Rust
// socket: any Duplex (TLS, pipes, WebSocket streams), a child process's
// stdio, this process's stdio. Framing and envelope checks still happen in
// Rust (NativeDeframer), once per chunk. It offers RpcStream the same methods
// and events as a NativeConnection.

const { kOnEvent } = require('./constants')
const binding = require('./binding')
const { codes } = require('./errors')

class DuplexTransport {
  /**
   * @param {import('stream').Readable} readable
   * @param {import('stream').Writable} writable
   * @param {object} [options] limits; `onEnd(transport)` overrides what a local end does
   */
  constructor(readable, writable, options = {}) {
    this._readable = readable
    this._writable = writable
    this._options = options
    this._deframer = new binding.native.NativeDeframer({ maxMessageSize: options.maxMessageSize, maxDepth: options.maxDepth })
    this[kOnEvent] = undefined
    this._closed = false
    this._ended = false
  }

  /** Starts delivering events to `onEvent(kind, payload)`. */
  start(onEvent) {
    this[kOnEvent] = onEvent
    const r = this._readable
    const w = this._writable
    r.on('data', (chunk) => this._onData(chunk))
    r.once('end', () => {
      try {
        this._deframer.finish()
      } catch (err) {
        return this._fail(err)
      }
      // The stream ends our side once it has answered what the peer sent.
      onEvent(binding.END, null)
    })
    const onError = (err) => this._fail(err)
    r.on('error', onError)
    if (w !== r) w.on('error', onError)
    w.on('drain', () => onEvent(binding.DRAIN, null))
    r.once('close', () => this._close())
    if (r.destroyed) process.nextTick(() => this._close())
  }

  _onData(chunk) {
    let batch
    try {
      batch = this._deframer.push(chunk)
    } catch (err) {
      return this._fail(err)
    }
    if (batch.replies) this._writable.write(batch.replies)
    const messages = binding.messagesOf(batch, chunk)
    // true: the stream's reply budget is spent; it calls resumeReading() later.
    if (messages && this[kOnEvent](binding.MESSAGES, messages) === true) this._readable.pause()
  }

  /** Delivers again after the stream asked for a pause. */
  resumeReading() {
    if (!this._closed) this._readable.resume()
  }

  _fail(err) {
    if (this._closed) return
    this[kOnEvent](binding.ERROR, { code: err.code || codes.PROTOCOL, message: err.message })
    this.destroy()
  }

  _close() {
    if (this._closed) return
    this._closed = true
    this[kOnEvent](binding.CLOSE, null)
  }

  write(batch, _direct) {
    if (this._closed || this._ended) return -1
    // The batch is a view into a reused buffer: streams keep what they are given.
    this._writable.write(Buffer.from(batch))
    // Like NativeConnection#write: the bytes waiting to be written.
    return this._writable.writableLength || 0
  }

  pendingBytes() {
    return this._writable.writableLength || 0
  }

  end() {
    if (this._ended || this._closed) return
    this._ended = true
    if (this._options.onEnd) return this._options.onEnd(this)
    this._writable.end()
    if (this._writable !== this._readable && this._readable.readableEnded) this._readable.destroy()
  }

  destroy() {
    if (this._closed) return
    this._ended = true
    this._readable.destroy()
    if (this._writable !== this._readable) this._writable.destroy()
    // Streams emit 'close' after destroy; make sure ours follows even if not.
    process.nextTick(() => this._close())
  }

  setRef(referenced) {
    for (const s of new Set([this._readable, this._writable, this._options.handle])) {
      if (s && typeof s.ref === 'function') referenced ? s.ref() : s.unref()
    }
  }

  endpoints() {
    const s = this._readable
    return {
      remoteAddress: s.remoteAddress,
      remotePort: s.remotePort,
      remoteFamily: s.remoteFamily,
      localAddress: s.localAddress,
      localPort: s.localPort,
    }
  }

  dispose() {}
}

module.exports = { DuplexTransport }
