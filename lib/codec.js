'use strict'
// The MessagePack codec and the value table (README "Values"): plain
// msgpack, no record extensions. Encoding appends to one growable buffer per
// Encoder so a tick's messages leave as one native write; decoding walks a
// batch of complete messages the Rust framer has already checked.

const { RpcError, EncodeError, codes } = require('./errors')
const { DEFAULT_MAX_DEPTH } = require('./binding')
const { MAX_KEYS, shapeRoot, findChild, addChild, noteShape, MAX_ENCODE_KEYS, objectEncoder } = require('./key-shapes')

/** Nesting past the framer's default depth limit is taken for a cycle: a peer would refuse it anyway. */
const MAX_DEPTH = DEFAULT_MAX_DEPTH
const TIMESTAMP = -1
/** Strings shorter than this are encoded by hand; longer ones by Buffer#utf8Write. */
const SHORT_STRING = 64
/** Strings shorter than this are at most 0xffff bytes in UTF-8, so a str16 header always fits. */
const STR16_CHARS = 0x10000 / 3
/** A buffer grown past this is dropped after use so a burst does not pin memory. */
const KEEP_BYTES = 1024 * 1024

/** fixext markers by payload size. */
const FIXEXT = { 1: 0xd4, 2: 0xd5, 4: 0xd6, 8: 0xd7, 16: 0xd8 }

/** A MessagePack extension value other than the timestamp. */
class Ext {
  /**
   * @param {number} type -128..127
   * @param {Uint8Array} data
   */
  constructor(type, data) {
    if (!Number.isInteger(type) || type < -128 || type > 127) {
      throw encodeError(`Ext type must be an integer from -128 to 127, got ${String(type)}`)
    }
    if (!(data instanceof Uint8Array)) throw encodeError('Ext data must be a Buffer or Uint8Array')
    this.type = type
    this.data = Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength)
  }
}

function viewOf(buf) {
  return new DataView(buf.buffer, buf.byteOffset, buf.length)
}

function encodeError(message) {
  return new EncodeError(message)
}

function protocolError(message) {
  return new RpcError(codes.PROTOCOL, `protocol error; ${message}`)
}

// ---- encoding ----------------------------------------------------------------

class Encoder {
  /** @param {number} [initialSize=8192] */
  constructor(initialSize = 8192) {
    this._initialSize = initialSize
    this._buf = Buffer.allocUnsafe(initialSize)
    /** Over `_buf` once a float is written (V8 compiles its calls to single stores); none per idle connection. */
    this._view = null
    this._pos = 0
  }

  /** Bytes currently held. */
  get length() {
    return this._pos
  }

  /** Appends one value; on a throw nothing of it stays. */
  write(value) {
    this._guarded(value, this._pos)
  }

  /** Appends `[0, msgid, method, params]` without building the envelope array. */
  request(msgid, method, params) {
    const start = this._pos
    this._ensure(6)
    this._buf[this._pos++] = 0x94
    this._buf[this._pos++] = 0x00
    this._number(msgid)
    this._string(method)
    this._guarded(params, start)
  }

  /** Appends `[1, msgid, error, result]`. */
  response(msgid, error, result) {
    const start = this._pos
    this._ensure(6)
    this._buf[this._pos++] = 0x94
    this._buf[this._pos++] = 0x01
    this._number(msgid)
    this._guarded(error, start)
    this._guarded(result, start)
  }

  /** Appends `[2, method, params]`. */
  notification(method, params) {
    const start = this._pos
    this._ensure(2)
    this._buf[this._pos++] = 0x93
    this._buf[this._pos++] = 0x02
    this._string(method)
    this._guarded(params, start)
  }

  /** Appends `value`; on a throw everything from `start` (the message begun there) goes. */
  _guarded(value, start) {
    try {
      this._value(value, 0)
    } catch (err) {
      this._pos = start
      if (err instanceof RangeError && /call stack/i.test(err.message)) {
        throw encodeError('value nested too deeply to encode (a cycle?)')
      }
      throw err
    }
  }

  /** Everything written since the last take/reset; valid until the next write. */
  take() {
    const out = this._buf.subarray(0, this._pos)
    this._pos = 0
    if (this._buf.length > KEEP_BYTES) this._setBuffer(Buffer.allocUnsafe(this._initialSize))
    return out
  }

  reset() {
    this._pos = 0
    if (this._buf.length > KEEP_BYTES) this._setBuffer(Buffer.allocUnsafe(this._initialSize))
  }

  _setBuffer(buf) {
    this._buf = buf
    this._view = null
  }

  _ensure(n) {
    if (this._pos + n <= this._buf.length) return
    let size = this._buf.length * 2
    while (size < this._pos + n) size *= 2
    const grown = Buffer.allocUnsafe(size)
    this._buf.copy(grown, 0, 0, this._pos)
    this._setBuffer(grown)
  }

  _value(value, depth) {
    switch (typeof value) {
      case 'string':
        return this._string(value)
      case 'number':
        return this._number(value)
      case 'boolean':
        this._ensure(1)
        this._buf[this._pos++] = value ? 0xc3 : 0xc2
        return
      case 'undefined':
        this._ensure(1)
        this._buf[this._pos++] = 0xc0
        return
      case 'bigint':
        return this._bigint(value)
      case 'object':
        if (value === null) {
          this._ensure(1)
          this._buf[this._pos++] = 0xc0
          return
        }
        if (depth >= MAX_DEPTH) throw encodeError(`value nested deeper than ${MAX_DEPTH} levels (a cycle?)`)
        return this._object(value, depth + 1)
      case 'function':
        throw encodeError(`cannot encode a function${value.name ? ` (${value.name})` : ''}`)
      case 'symbol':
        throw encodeError(`cannot encode a symbol (${value.toString()})`)
    }
    throw encodeError(`cannot encode a value of type ${typeof value}`)
  }

  _number(n) {
    this._ensure(9)
    const buf = this._buf
    let pos = this._pos
    if (Number.isInteger(n) && n >= -9007199254740991 && n <= 9007199254740991) {
      if (n >= 0) {
        if (n < 0x80) buf[pos++] = n
        else if (n < 0x100) {
          buf[pos++] = 0xcc
          buf[pos++] = n
        } else if (n < 0x10000) {
          buf[pos++] = 0xcd
          buf[pos++] = n >>> 8
          buf[pos++] = n & 0xff
        } else if (n < 0x100000000) {
          buf[pos++] = 0xce
          buf.writeUInt32BE(n, pos)
          pos += 4
        } else {
          buf[pos++] = 0xcf
          buf.writeUInt32BE(Math.floor(n / 0x100000000), pos)
          buf.writeUInt32BE(n >>> 0, pos + 4)
          pos += 8
        }
      } else if (n >= -32) {
        buf[pos++] = n & 0xff
      } else if (n >= -128) {
        buf[pos++] = 0xd0
        buf[pos++] = n & 0xff
      } else if (n >= -32768) {
        buf[pos++] = 0xd1
        buf.writeInt16BE(n, pos)
        pos += 2
      } else if (n >= -2147483648) {
        buf[pos++] = 0xd2
        buf.writeInt32BE(n, pos)
        pos += 4
      } else {
        buf[pos++] = 0xd3
        buf.writeBigInt64BE(BigInt(n), pos)
        pos += 8
      }
    } else {
      buf[pos++] = 0xcb
      if (this._view === null) this._view = viewOf(buf)
      this._view.setFloat64(pos, n)
      pos += 8
    }
    this._pos = pos
  }

  _bigint(n) {
    if (n >= -0x8000000000000000n && n <= 0xffffffffffffffffn) {
      if (n >= -9007199254740991n && n <= 9007199254740991n) return this._number(Number(n))
      this._ensure(9)
      if (n < 0n) {
        this._buf[this._pos++] = 0xd3
        this._buf.writeBigInt64BE(n, this._pos)
      } else {
        this._buf[this._pos++] = 0xcf
        this._buf.writeBigUInt64BE(n, this._pos)
      }
      this._pos += 8
      return
    }
    throw encodeError(`bigint ${n} does not fit in a 64-bit integer`)
  }

  _string(s) {
    const len = s.length
    if (len < SHORT_STRING) {
      // At most 3 bytes per UTF-16 unit; a str8 header (2 bytes) covers < 256.
      this._ensure(2 + len * 3)
      const buf = this._buf
      const start = this._pos
      let pos = start + (len * 3 < 32 ? 1 : 2)
      for (let i = 0; i < len; i++) {
        let c = s.charCodeAt(i)
        if (c < 0x80) buf[pos++] = c
        else if (c < 0x800) {
          buf[pos++] = 0xc0 | (c >> 6)
          buf[pos++] = 0x80 | (c & 0x3f)
        } else {
          if (c >= 0xd800 && c <= 0xdbff && i + 1 < len) {
            const next = s.charCodeAt(i + 1)
            if (next >= 0xdc00 && next <= 0xdfff) {
              c = 0x10000 + ((c - 0xd800) << 10) + (next - 0xdc00)
              i++
              buf[pos++] = 0xf0 | (c >> 18)
              buf[pos++] = 0x80 | ((c >> 12) & 0x3f)
              buf[pos++] = 0x80 | ((c >> 6) & 0x3f)
              buf[pos++] = 0x80 | (c & 0x3f)
              continue
            }
          }
          if (c >= 0xd800 && c <= 0xdfff) c = 0xfffd // a lone surrogate, as Buffer does
          buf[pos++] = 0xe0 | (c >> 12)
          buf[pos++] = 0x80 | ((c >> 6) & 0x3f)
          buf[pos++] = 0x80 | (c & 0x3f)
        }
      }
      const bytes = pos - start - (len * 3 < 32 ? 1 : 2)
      if (len * 3 < 32) {
        buf[start] = 0xa0 | bytes
      } else if (bytes < 32) {
        // Reserved a str8 header but a fixstr fits: shift the bytes left by one.
        buf.copyWithin(start + 1, start + 2, pos)
        buf[start] = 0xa0 | bytes
        pos--
      } else {
        buf[start] = 0xd9
        buf[start + 1] = bytes
      }
      this._pos = pos
      return
    }
    if (len < STR16_CHARS) {
      // Written straight after room for a str16 header (no byteLength pass):
      // moved one byte back when a str8 header fits.
      this._ensure(3 + len * 3)
      const buf = this._buf
      const start = this._pos
      const bytes = buf.utf8Write(s, start + 3)
      if (bytes < 0x100) {
        buf.copyWithin(start + 2, start + 3, start + 3 + bytes)
        buf[start] = 0xd9
        buf[start + 1] = bytes
        this._pos = start + 2 + bytes
      } else {
        buf[start] = 0xda
        buf[start + 1] = bytes >>> 8
        buf[start + 2] = bytes & 0xff
        this._pos = start + 3 + bytes
      }
      return
    }
    const bytes = Buffer.byteLength(s, 'utf8')
    this._ensure(5 + bytes)
    this._strHeader(bytes)
    this._pos += this._buf.utf8Write(s, this._pos, bytes)
  }

  _strHeader(n) {
    if (n < 32) this._buf[this._pos++] = 0xa0 | n
    else this._sizedHeader(n, 0xd9, 0xda, 0xdb)
  }

  /** A marker then `n` in 1, 2 or 4 bytes (str8/16/32, bin, ext). */
  _sizedHeader(n, h8, h16, h32) {
    const buf = this._buf
    if (n < 0x100) {
      buf[this._pos++] = h8
      buf[this._pos++] = n
    } else if (n < 0x10000) {
      buf[this._pos++] = h16
      buf.writeUInt16BE(n, this._pos)
      this._pos += 2
    } else {
      buf[this._pos++] = h32
      buf.writeUInt32BE(n, this._pos)
      this._pos += 4
    }
  }

  _object(value, depth) {
    if (Array.isArray(value)) {
      const len = value.length
      this._containerHeader(len, 0x90, 0xdc, 0xdd)
      for (let i = 0; i < len; i++) this._value(value[i], depth)
      return
    }
    if (ArrayBuffer.isView(value)) {
      return this._bin(new Uint8Array(value.buffer, value.byteOffset, value.byteLength))
    }
    const proto = Object.getPrototypeOf(value)
    // A plain object is none of these: skip the prototype walks.
    if (proto !== Object.prototype && proto !== null) {
      if (value instanceof ArrayBuffer) return this._bin(new Uint8Array(value))
      if (value instanceof Map) {
        this._containerHeader(value.size, 0x80, 0xde, 0xdf)
        for (const [k, v] of value) {
          this._value(k, depth)
          this._value(v, depth)
        }
        return
      }
      if (value instanceof Date) return this._date(value)
      if (value instanceof Ext) return this._ext(value.type, value.data)
      if (value instanceof Error) return this._string(String(value.message))
      if (value instanceof Set) {
        this._containerHeader(value.size, 0x90, 0xdc, 0xdd)
        for (const v of value) this._value(v, depth)
        return
      }
    }
    // Plain objects and class instances: own enumerable string keys.
    const keys = Object.keys(value)
    const len = keys.length
    if (len !== 0 && len <= MAX_ENCODE_KEYS) {
      const encodeShape = objectEncoder(keys, keyBytes)
      if (encodeShape !== null) return encodeShape(this, value, depth)
    }
    this._containerHeader(len, 0x80, 0xde, 0xdf)
    for (let i = 0; i < len; i++) {
      const key = keys[i]
      this._string(key)
      this._value(value[key], depth)
    }
  }

  _containerHeader(n, fix, h16, h32) {
    this._ensure(5)
    const buf = this._buf
    if (n < 16) buf[this._pos++] = fix | n
    else if (n < 0x10000) {
      buf[this._pos++] = h16
      buf[this._pos++] = n >>> 8
      buf[this._pos++] = n & 0xff
    } else {
      buf[this._pos++] = h32
      buf.writeUInt32BE(n, this._pos)
      this._pos += 4
    }
  }

  _bin(bytes) {
    const n = bytes.length
    this._ensure(5 + n)
    this._sizedHeader(n, 0xc4, 0xc5, 0xc6)
    this._buf.set(bytes, this._pos)
    this._pos += n
  }

  _ext(type, data) {
    const n = data.length
    this._ensure(6 + n)
    const fixed = FIXEXT[n]
    if (fixed !== undefined) this._buf[this._pos++] = fixed
    else this._sizedHeader(n, 0xc7, 0xc8, 0xc9)
    this._buf[this._pos++] = type & 0xff
    this._buf.set(data, this._pos)
    this._pos += n
  }

  _date(date) {
    const ms = date.getTime()
    if (Number.isNaN(ms)) throw encodeError('cannot encode an invalid Date')
    const seconds = Math.floor(ms / 1000)
    const nanos = (ms - seconds * 1000) * 1000000
    this._ensure(15)
    const buf = this._buf
    if (nanos === 0 && seconds >= 0 && seconds < 0x100000000) {
      buf[this._pos++] = 0xd6
      buf[this._pos++] = 0xff
      buf.writeUInt32BE(seconds, this._pos)
      this._pos += 4
    } else if (seconds >= 0 && seconds < 0x400000000) {
      buf[this._pos++] = 0xd7
      buf[this._pos++] = 0xff
      // 30 bits of nanoseconds, then 34 bits of seconds.
      buf.writeUInt32BE(nanos * 4 + Math.floor(seconds / 0x100000000), this._pos)
      buf.writeUInt32BE(seconds >>> 0, this._pos + 4)
      this._pos += 8
    } else {
      buf[this._pos++] = 0xc7
      buf[this._pos++] = 12
      buf[this._pos++] = 0xff
      buf.writeUInt32BE(nanos, this._pos)
      buf.writeBigInt64BE(BigInt(seconds), this._pos + 4)
      this._pos += 12
    }
  }
}

const scratch = new Encoder(1024)
const keyScratch = new Encoder(64)

/** A key's bytes as `_string` writes them, for a compiled object encoder. */
function keyBytes(key) {
  keyScratch._string(key)
  return Buffer.from(keyScratch.take())
}

/** Encodes one value into a new Buffer. */
function encode(value) {
  scratch.write(value)
  return Buffer.from(scratch.take())
}

// ---- decoding ----------------------------------------------------------------

let src = null
/** A DataView over `src`, made at its first float64. */
let view = null
let pos = 0
let end = 0
/** `src` is a buffer its owner refills: bin and ext payloads are copied out of it. */
let reused = false

/**
 * Dispatches every MessagePack-RPC message in `buffer` to `sink` without
 * building the envelope arrays: `sink._onRequest(msgid, method, params)`,
 * `sink._onResponse(msgid, error, result)`, `sink._onNotify(method, params)`.
 *
 * This is the boundary between a peer's bytes and the event loop. Each
 * message is decoded inside a guard: bytes this decoder refuses (the Rust
 * framer checked only boundaries and envelopes) stop the batch and go to
 * `sink._onProtocolError(err)`, once. Dispatch runs outside that guard, one
 * message at a time: a throw from it goes to `sink._onDispatchFault(err)`
 * and the rest of the batch goes on. Nothing is thrown to the caller.
 *
 * Before each message the sink may ask to stop (`sink._paused`, a reply
 * budget reached): the rest of the batch is handed to `sink._hold(bytes)`,
 * copied, and the return value is `true`. A sink destroyed meanwhile
 * (`sink._destroyed`) gets nothing more of the batch.
 *
 * With `length`, the messages are the first `length` bytes of `buffer`, a
 * buffer its owner refills after the call: no decoded value points into it.
 * @returns {boolean} whether the sink paused
 */
function decodeMessages(buffer, sink, length) {
  src = buffer
  view = null
  pos = 0
  end = length === undefined ? buffer.length : length
  reused = length !== undefined
  try {
    while (pos < end) {
      if (sink._destroyed) return false
      if (sink._paused) {
        sink._hold(Buffer.from(src.subarray(pos, end)))
        return true
      }
      let kind
      let a
      let b
      let c
      try {
        const length = arrayLength()
        kind = read()
        if (kind === 2 && length === 3) {
          a = read()
          b = read()
        } else if ((kind === 0 || kind === 1) && length === 4) {
          a = read()
          b = read()
          c = read()
        } else {
          // The framer refuses these; a guard against drifting apart.
          throw protocolError(`not a MessagePack-RPC message (type ${String(kind)}, ${length} elements)`)
        }
      } catch (err) {
        sink._onProtocolError(err instanceof RpcError ? err : protocolError(err && err.message))
        return false
      }
      // The sink may decode too (re-entrantly); keep our place.
      const saved = src
      const savedView = view
      const savedPos = pos
      const savedEnd = end
      const savedReused = reused
      try {
        if (kind === 1) sink._onResponse(a, b, c)
        else if (kind === 0) sink._onRequest(a, b, c)
        else sink._onNotify(a, b)
      } catch (err) {
        sink._onDispatchFault(err)
      }
      src = saved
      view = savedView
      pos = savedPos
      end = savedEnd
      reused = savedReused
    }
  } finally {
    src = null
    view = null
    reused = false
    if (top !== 0) clearStack(0)
  }
  return false
}

function arrayLength() {
  need(1)
  const b = src[pos++]
  if (b >= 0x90 && b < 0xa0) return b & 0x0f
  if (b === 0xdc) return u16()
  if (b === 0xdd) return u32()
  throw protocolError(`a message must be an array, got byte 0x${b.toString(16)}`)
}

/**
 * Decodes exactly one value.
 * @param {Uint8Array} buffer a Buffer or any Uint8Array
 */
function decode(buffer) {
  if (!(buffer instanceof Uint8Array)) {
    const err = new TypeError(`The "buffer" argument must be an instance of Buffer or Uint8Array. Received ${describe(buffer)}`)
    err.code = 'ERR_INVALID_ARG_TYPE'
    throw err
  }
  src = Buffer.isBuffer(buffer) ? buffer : Buffer.from(buffer.buffer, buffer.byteOffset, buffer.byteLength)
  view = null
  pos = 0
  end = buffer.length
  reused = false
  try {
    const value = read()
    if (pos !== end) throw protocolError(`${end - pos} bytes after the value`)
    return value
  } finally {
    src = null
    view = null
    if (top !== 0) clearStack(0)
  }
}

function need(n) {
  if (pos + n > end) throw protocolError('truncated input')
}

function read() {
  need(1)
  const b = src[pos++]
  if (b < 0x80) return b
  if (b < 0x90) return readMap(b & 0x0f)
  if (b < 0xa0) return readArray(b & 0x0f)
  if (b < 0xc0) return readString(b & 0x1f)
  if (b >= 0xe0) return b - 0x100
  switch (b) {
    case 0xc0:
      return null
    case 0xc2:
      return false
    case 0xc3:
      return true
    case 0xc4:
      return readBin(u8())
    case 0xc5:
      return readBin(u16())
    case 0xc6:
      return readBin(u32())
    case 0xc7:
      return readExt(u8())
    case 0xc8:
      return readExt(u16())
    case 0xc9:
      return readExt(u32())
    case 0xca: {
      need(4)
      if (view === null) view = viewOf(src)
      const v = view.getFloat32(pos)
      pos += 4
      return v
    }
    case 0xcb: {
      need(8)
      if (view === null) view = viewOf(src)
      const v = view.getFloat64(pos)
      pos += 8
      return v
    }
    case 0xcc:
      return u8()
    case 0xcd:
      return u16()
    case 0xce:
      return u32()
    case 0xcf: {
      need(8)
      const hi = src.readUInt32BE(pos)
      const lo = src.readUInt32BE(pos + 4)
      pos += 8
      if (hi < 0x200000) return hi * 0x100000000 + lo
      return (BigInt(hi) << 32n) | BigInt(lo)
    }
    case 0xd0:
      need(1)
      return src.readInt8(pos++)
    case 0xd1: {
      need(2)
      const v = src.readInt16BE(pos)
      pos += 2
      return v
    }
    case 0xd2: {
      need(4)
      const v = src.readInt32BE(pos)
      pos += 4
      return v
    }
    case 0xd3: {
      need(8)
      const hi = src.readInt32BE(pos)
      const lo = src.readUInt32BE(pos + 4)
      pos += 8
      if (hi >= -0x200000 && hi < 0x200000) {
        const v = hi * 0x100000000 + lo
        if (Number.isSafeInteger(v)) return v
      }
      return (BigInt(hi) << 32n) | BigInt(lo)
    }
    case 0xd4:
      return readExt(1)
    case 0xd5:
      return readExt(2)
    case 0xd6:
      return readExt(4)
    case 0xd7:
      return readExt(8)
    case 0xd8:
      return readExt(16)
    case 0xd9:
      return readString(u8())
    case 0xda:
      return readString(u16())
    case 0xdb:
      return readString(u32())
    case 0xdc:
      return readArray(u16())
    case 0xdd:
      return readArray(u32())
    case 0xde:
      return readMap(u16())
    case 0xdf:
      return readMap(u32())
  }
  throw protocolError(`reserved byte 0x${b.toString(16)}`)
}

function u8() {
  need(1)
  return src[pos++]
}

function u16() {
  need(2)
  const v = (src[pos] << 8) | src[pos + 1]
  pos += 2
  return v
}

function u32() {
  need(4)
  const v = src.readUInt32BE(pos)
  pos += 4
  return v
}

function readString(len) {
  need(len)
  if (len < SHORT_STRING_CACHE) return readShortString(len)
  const s = src.utf8Slice(pos, pos + len)
  pos += len
  return s
}

// Short ASCII strings repeat (method names, map keys): a small table keyed by
// a hash of their bytes hands back the string decoded last time instead of
// allocating a new one, and a repeated key keeps one string V8 can intern.
const SHORT_STRING_CACHE = 16
const STRING_SLOTS = 4096
const strings = new Array(STRING_SLOTS).fill('')

function readShortString(len) {
  const start = pos
  const stop = pos + len
  let hash = len
  for (let i = start; i < stop; i++) {
    const c = src[i]
    if (c >= 0x80) {
      pos = stop
      return src.utf8Slice(start, stop)
    }
    hash = (hash * 31 + c) | 0
  }
  pos = stop
  const slot = hash & (STRING_SLOTS - 1)
  const cached = strings[slot]
  if (cached.length === len) {
    let same = true
    for (let i = 0; i < len; i++) {
      if (cached.charCodeAt(i) !== src[start + i]) {
        same = false
        break
      }
    }
    if (same) return cached
  }
  const s = len === 0 ? '' : src.latin1Slice(start, stop)
  strings[slot] = s
  return s
}

function readBin(len) {
  need(len)
  const b = reused ? Buffer.from(src.subarray(pos, pos + len)) : src.subarray(pos, pos + len)
  pos += len
  return b
}

function readArray(len) {
  // Every element takes at least one byte: refuse claims the input cannot hold.
  if (len > end - pos) throw protocolError('truncated input')
  const out = new Array(len)
  for (let i = 0; i < len; i++) out[i] = read()
  return out
}

// Keys and values of the maps being decoded, outermost first: a map's
// entries wait here until its object is built in one go (lib/key-shapes.js).
// Bounded: a map that would not fit is decoded without the tree.
const STACK_SLOTS = 4096
const keyStack = []
const valueStack = []
let top = 0

function readMap(len) {
  if (len * 2 > end - pos) throw protocolError('truncated input')
  if (len === 0) return {}
  if (len > MAX_KEYS || top + len > STACK_SLOTS) return readMapFrom({}, 0, len)
  let node = shapeRoot(len)
  const base = top
  top = base + len
  for (let i = 0; i < len; i++) {
    let key
    let next = node.child
    if (next !== null && next.ascii && skipKey(next.key)) {
      key = next.key
    } else {
      const start = pos
      key = read()
      if (typeof key !== 'string') return leaveTree(base, i, key, len)
      next = findChild(node, key)
      if (next === null) {
        next = addChild(node, key, pos - start, isAsciiFixstr(start, pos))
        if (next === null) return leaveTree(base, i, key, len)
      }
    }
    keyStack[base + i] = key
    valueStack[base + i] = read()
    node = next
  }
  let obj
  if (node.build !== null) {
    obj = node.build(valueStack, base)
  } else {
    obj = {}
    for (let i = base; i < top; i++) setEntry(obj, keyStack[i], valueStack[i])
    noteShape(node, keyStack, base, len)
  }
  clearStack(base)
  return obj
}

/** Skips the next key if its bytes are the fixstr of ASCII `key`. */
function skipKey(key) {
  const n = key.length
  if (pos + n >= end || src[pos] !== (0xa0 | n)) return false
  const at = pos + 1
  for (let j = 0; j < n; j++) if (src[at + j] !== key.charCodeAt(j)) return false
  pos = at + n
  return true
}

function isAsciiFixstr(start, stop) {
  if (src[start] !== (0xa0 | (stop - start - 1))) return false
  for (let i = start + 1; i < stop; i++) if (src[i] >= 0x80) return false
  return true
}

/** The tree cannot follow past entry `i` (whose key is read): the rest is decoded plainly. */
function leaveTree(base, i, key, len) {
  const obj = {}
  for (let j = base; j < base + i; j++) setEntry(obj, keyStack[j], valueStack[j])
  clearStack(base)
  if (typeof key !== 'string') return continueAsMap(obj, key, len - i)
  setEntry(obj, key, read())
  return readMapFrom(obj, i + 1, len)
}

function clearStack(base) {
  for (let i = base; i < top; i++) {
    keyStack[i] = undefined
    valueStack[i] = undefined
  }
  top = base
}

/** Entries `i..len` of a map, into `obj`, without the tree. */
function readMapFrom(obj, i, len) {
  for (; i < len; i++) {
    const key = read()
    if (typeof key !== 'string') return continueAsMap(obj, key, len - i)
    setEntry(obj, key, read())
  }
  return obj
}

function setEntry(obj, key, value) {
  if (key === '__proto__') {
    Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true })
  } else {
    obj[key] = value
  }
}

/** A map with a non-string key: a Map holding the entries read so far and the rest. */
function continueAsMap(obj, firstKey, left) {
  const map = new Map()
  for (const k of Object.keys(obj)) map.set(k, obj[k])
  map.set(firstKey, read())
  for (let i = 1; i < left; i++) {
    const key = read()
    map.set(key, read())
  }
  return map
}

function readExt(len) {
  need(1 + len)
  const type = src.readInt8(pos++)
  const data = src.subarray(pos, pos + len)
  pos += len
  if (type === TIMESTAMP) return readTimestamp(data)
  return new Ext(type, reused ? Buffer.from(data) : data)
}

function readTimestamp(data) {
  let seconds
  let nanos = 0
  if (data.length === 4) {
    seconds = data.readUInt32BE(0)
  } else if (data.length === 8) {
    const hi = data.readUInt32BE(0)
    nanos = hi >>> 2
    seconds = (hi & 0x3) * 0x100000000 + data.readUInt32BE(4)
  } else if (data.length === 12) {
    nanos = data.readUInt32BE(0)
    seconds = Number(data.readBigInt64BE(4))
  } else {
    throw protocolError(`timestamp extension of ${data.length} bytes`)
  }
  return new Date(seconds * 1000 + Math.floor(nanos / 1000000))
}

function describe(value) {
  if (value === null || value === undefined) return String(value)
  return typeof value === 'object' ? `an instance of ${value.constructor ? value.constructor.name : 'Object'}` : `type ${typeof value}`
}

module.exports = { Ext, Encoder, encode, decode, decodeMessages }
