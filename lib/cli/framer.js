'use strict'
// Splits a byte stream into whole MessagePack values without decoding them,
// for `msgpack-rpc tap`, which forwards bytes untouched and decodes copies.
// Resumable: a value split across chunks is walked once, not once per chunk.

const { DEFAULT_MAX_MESSAGE_SIZE } = require('../binding')

/** Header size of each marker byte that has a fixed size (payload included). */
const FIXED = new Map([
  [0xc0, 1], [0xc2, 1], [0xc3, 1],
  [0xca, 5], [0xcb, 9],
  [0xcc, 2], [0xcd, 3], [0xce, 5], [0xcf, 9],
  [0xd0, 2], [0xd1, 3], [0xd2, 5], [0xd3, 9],
  [0xd4, 3], [0xd5, 4], [0xd6, 6], [0xd7, 10], [0xd8, 18],
])

class Framer {
  /** @param {number} [maxMessageSize] a message over this is an error, not buffered */
  constructor(maxMessageSize = DEFAULT_MAX_MESSAGE_SIZE) {
    this.maxMessageSize = maxMessageSize
    this._buf = Buffer.alloc(0)
    this._len = 0 // bytes held in _buf
    this._start = 0 // where the current message starts
    this._pos = 0 // the next value to walk
    this._left = 1 // values still to walk in the current message
  }

  /**
   * Adds bytes; returns the messages they complete, each its own Buffer.
   * Throws on a byte that cannot start a value or a message over the limit.
   */
  push(chunk) {
    this._append(chunk)
    const out = []
    while (this._step()) {
      if (this._left === 0) {
        out.push(Buffer.from(this._buf.subarray(this._start, this._pos)))
        this._start = this._pos
        this._left = 1
      }
    }
    this._compact()
    return out
  }

  _append(chunk) {
    if (this._len + chunk.length > this._buf.length) {
      const bigger = Buffer.allocUnsafe(Math.max(this._len + chunk.length, this._buf.length * 2, 4096))
      this._buf.copy(bigger, 0, 0, this._len)
      this._buf = bigger
    }
    chunk.copy(this._buf, this._len)
    this._len += chunk.length
  }

  _compact() {
    if (this._start === 0) return
    this._buf.copy(this._buf, 0, this._start, this._len)
    this._len -= this._start
    this._pos -= this._start
    this._start = 0
  }

  /** Walks one value's header (and any payload); false when more bytes are needed. */
  _step() {
    const b = this._buf
    const p = this._pos
    const avail = this._len - p
    if (avail < 1) return false
    const m = b[p]
    let size // header plus payload of a leaf value
    let children = 0
    if (m <= 0x7f || m >= 0xe0) size = 1
    else if (m <= 0x8f) [size, children] = [1, 2 * (m & 0x0f)]
    else if (m <= 0x9f) [size, children] = [1, m & 0x0f]
    else if (m <= 0xbf) size = 1 + (m & 0x1f)
    else if (FIXED.has(m)) size = FIXED.get(m)
    else {
      const lengthBytes = { 0xc4: 1, 0xc5: 2, 0xc6: 4, 0xc7: 1, 0xc8: 2, 0xc9: 4, 0xd9: 1, 0xda: 2, 0xdb: 4, 0xdc: 2, 0xdd: 4, 0xde: 2, 0xdf: 4 }[m]
      if (lengthBytes === undefined) throw new Error(`not MessagePack: byte 0x${m.toString(16)} at offset ${p - this._start} of a message`)
      if (avail < 1 + lengthBytes) return false
      const n = lengthBytes === 1 ? b[p + 1] : lengthBytes === 2 ? b.readUInt16BE(p + 1) : b.readUInt32BE(p + 1)
      if (m === 0xdc || m === 0xdd) [size, children] = [1 + lengthBytes, n]
      else if (m === 0xde || m === 0xdf) [size, children] = [1 + lengthBytes, 2 * n]
      else if (m >= 0xc7 && m <= 0xc9) size = 1 + lengthBytes + 1 + n // ext: length, type, data
      else size = 1 + lengthBytes + n
    }
    // Every value still owed takes at least a byte: refuse what cannot fit.
    if (p - this._start + size + this._left - 1 + children > this.maxMessageSize) {
      throw new Error(`a message is over ${this.maxMessageSize} bytes`)
    }
    if (avail < size) return false
    this._pos = p + size
    this._left += children - 1
    return true
  }
}

module.exports = { Framer, DEFAULT_MAX_MESSAGE_SIZE }
