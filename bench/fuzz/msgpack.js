'use strict'
// Raw MessagePack for the fuzzer: any marker, any length class, lengths that
// lie. Values are written byte by byte, never through a codec, so anything a
// peer could send can be produced (0xc1, non-minimal headers, invalid UTF-8,
// ext of every type and size, claims of 4 GiB followed by three bytes).

/** Map keys that mean something to JavaScript objects. */
const SPECIAL_KEYS = ['__proto__', 'constructor', 'prototype', 'toString', 'valueOf', 'hasOwnProperty', 'then', '__defineGetter__', 'length', '']

/** Byte sequences that are not valid UTF-8 (lone continuation, overlong, surrogate, truncated, > U+10FFFF). */
const BAD_UTF8 = [[0xff], [0x80], [0xc0, 0x80], [0xed, 0xa0, 0x80], [0xe2, 0x82], [0xf4, 0x90, 0x80, 0x80], [0xc3]]

/** Marker families; a value starts by picking one uniformly, then a marker in it. */
const FAMILIES = [
  [0x00, 0x7f], [0x80, 0x8f], [0x90, 0x9f], [0xa0, 0xbf], [0xc0, 0xc0], [0xc1, 0xc1], [0xc2, 0xc3],
  [0xc4, 0xc6], [0xc7, 0xc9], [0xca, 0xcb], [0xcc, 0xcf], [0xd0, 0xd3], [0xd4, 0xd8], [0xd9, 0xdb],
  [0xdc, 0xdd], [0xde, 0xdf], [0xe0, 0xff], [0xd4, 0xd8], [0xc7, 0xc9],
]

/** Timestamp (ext -1) payload sizes: 4, 8 and 12 are valid, the rest are not. */
const TIMESTAMP_SIZES = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 15, 16, 17]

function uint(n, bytes) {
  const b = Buffer.alloc(bytes)
  if (bytes === 8) b.writeBigUInt64BE(BigInt.asUintN(64, BigInt(n)))
  else b.writeUIntBE(Number(n) % 2 ** (8 * bytes), 0, bytes)
  return b
}

class Gen {
  /** @param {import('./rng').Rng} rng */
  constructor(rng) {
    this.rng = rng
  }

  /** A value of any kind; containers nest at most `depth` more levels. */
  value(depth = 3) {
    const rng = this.rng
    const [lo, hi] = rng.pick(FAMILIES)
    return this.withMarker(rng.range(lo, hi), depth)
  }

  /** A value whose first byte is `m`, with a body that fits the marker (mostly). */
  withMarker(m, depth = 3) {
    const rng = this.rng
    if (m <= 0x7f || m >= 0xe0 || (m >= 0xc0 && m <= 0xc3)) return Buffer.from([m])
    if (m <= 0x8f) return this.map(m & 0x0f, Buffer.from([m]), depth)
    if (m <= 0x9f) return this.array(m & 0x0f, Buffer.from([m]), depth)
    if (m <= 0xbf) return Buffer.concat([Buffer.from([m]), this.text(m & 0x1f)])
    switch (m) {
      case 0xc4:
      case 0xc5:
      case 0xc6: {
        const data = rng.bytes(rng.size(m === 0xc4 ? 255 : 300))
        return Buffer.concat([Buffer.from([m]), uint(this.lie(data.length, m - 0xc4), 1 << (m - 0xc4)), data])
      }
      case 0xc7:
      case 0xc8:
      case 0xc9: {
        const type = this.extType()
        const data = this.extData(type, type === -1 ? rng.pick(TIMESTAMP_SIZES) : rng.size(m === 0xc7 ? 255 : 300))
        return Buffer.concat([Buffer.from([m]), uint(this.lie(data.length, m - 0xc7), 1 << (m - 0xc7)), Buffer.from([type & 0xff]), data])
      }
      case 0xca: {
        const b = Buffer.alloc(5)
        b[0] = m
        b.writeFloatBE(this.float(), 1)
        return b
      }
      case 0xcb: {
        const b = Buffer.alloc(9)
        b[0] = m
        b.writeDoubleBE(this.float(), 1)
        return b
      }
      case 0xcc:
      case 0xcd:
      case 0xce:
      case 0xcf: {
        const bytes = 1 << (m - 0xcc)
        const edges = [0n, 1n, 2n ** BigInt(8 * bytes - 1) - 1n, 2n ** BigInt(8 * bytes - 1), 2n ** BigInt(8 * bytes) - 1n]
        if (bytes === 8) edges.push(2n ** 53n - 1n, 2n ** 53n, 2n ** 53n + 1n)
        const v = rng.chance(0.6) ? rng.pick(edges) : BigInt(rng.u32()) * (bytes === 8 ? BigInt(rng.u32()) : 1n)
        return Buffer.concat([Buffer.from([m]), uint(v, bytes)])
      }
      case 0xd0:
      case 0xd1:
      case 0xd2:
      case 0xd3: {
        const bytes = 1 << (m - 0xd0)
        const half = 2n ** BigInt(8 * bytes - 1)
        const edges = [0n, -1n, -half, half - 1n]
        if (bytes === 8) edges.push(-(2n ** 53n), -(2n ** 53n) - 1n, -(2n ** 53n) + 1n)
        const v = rng.chance(0.6) ? rng.pick(edges) : -BigInt(rng.u32())
        return Buffer.concat([Buffer.from([m]), uint(BigInt.asUintN(8 * bytes, v), bytes)])
      }
      case 0xd4:
      case 0xd5:
      case 0xd6:
      case 0xd7:
      case 0xd8: {
        const type = this.extType()
        return Buffer.concat([Buffer.from([m, type & 0xff]), this.extData(type, 1 << (m - 0xd4))])
      }
      case 0xd9:
      case 0xda:
      case 0xdb: {
        const data = this.text(rng.size(m === 0xd9 ? 255 : 300))
        return Buffer.concat([Buffer.from([m]), uint(this.lie(data.length, m - 0xd9), 1 << (m - 0xd9)), data])
      }
      case 0xdc:
      case 0xdd: {
        const n = rng.size(6)
        return this.array(n, Buffer.concat([Buffer.from([m]), uint(this.lie(n, m - 0xdb), m === 0xdc ? 2 : 4)]), depth)
      }
      default: {
        // 0xde, 0xdf
        const n = rng.size(6)
        return this.map(n, Buffer.concat([Buffer.from([m]), uint(this.lie(n, m - 0xdd), m === 0xde ? 2 : 4)]), depth)
      }
    }
  }

  /** Usually `len`; sometimes a length that does not match what follows. */
  lie(len, lengthClass) {
    const rng = this.rng
    if (!rng.chance(0.04)) return len
    const max = [0xff, 0xffff, 0xffffffff][Math.min(lengthClass, 2)]
    return rng.pick([0, len + 1, Math.max(0, len - 1), max, len + rng.range(2, 100)]) % (max + 1)
  }

  array(n, header, depth) {
    const parts = [header]
    for (let i = 0; i < n; i++) parts.push(depth > 0 ? this.value(depth - 1) : this.scalar())
    return Buffer.concat(parts)
  }

  /** `n` pairs; keys are mostly strings (special, duplicate or not), sometimes any value. */
  map(n, header, depth) {
    const rng = this.rng
    const parts = [header]
    let lastKey
    for (let i = 0; i < n; i++) {
      let key
      if (lastKey && rng.chance(0.2)) key = lastKey
      else if (rng.chance(0.3)) key = this.str(rng.pick(SPECIAL_KEYS))
      else if (rng.chance(0.6)) key = this.str(rng.pick(['a', 'b', 'key', 'x'.repeat(rng.size(40))]))
      else key = depth > 0 ? this.value(depth - 1) : this.scalar()
      lastKey = key
      parts.push(key, depth > 0 ? this.value(depth - 1) : this.scalar())
    }
    return Buffer.concat(parts)
  }

  /** A value with no nesting. */
  scalar() {
    const rng = this.rng
    const m = rng.int(256)
    if ((m >= 0x80 && m <= 0x9f) || m === 0xdc || m === 0xdd || m === 0xde || m === 0xdf) return Buffer.from([0xc0])
    return this.withMarker(m, 0)
  }

  /** A str value for `s`, with a random (maybe non-minimal) length class. */
  str(s) {
    return this.sized(Buffer.from(s, 'utf8'), 0xa0, 31, 0xd9)
  }

  /** bin value for `data`. */
  bin(data) {
    return this.sized(data, undefined, -1, 0xc4)
  }

  /** str/bin header (`base8` = the 8-bit marker) + data; usually the minimal class. */
  sized(data, fixBase, fixMax, base8) {
    const rng = this.rng
    const len = data.length
    const classes = []
    if (fixBase !== undefined && len <= fixMax) classes.push(-1)
    if (len <= 0xff) classes.push(0)
    if (len <= 0xffff) classes.push(1)
    classes.push(2)
    const cls = rng.chance(0.8) ? classes[0] : rng.pick(classes)
    const header = cls === -1 ? Buffer.from([fixBase | len]) : Buffer.concat([Buffer.from([base8 + cls]), uint(len, 1 << cls)])
    return Buffer.concat([header, data])
  }

  /** String content of exactly `len` bytes: ASCII, multi-byte, invalid UTF-8 or a special key. */
  text(len) {
    const rng = this.rng
    const kind = rng.int(4)
    let bytes
    if (kind === 0) bytes = Buffer.from(rng.pick(SPECIAL_KEYS))
    else if (kind === 1) bytes = Buffer.from('é€😀'.repeat(Math.ceil(len / 9) + 1))
    else if (kind === 2) bytes = Buffer.from(rng.pick(BAD_UTF8).concat(Array.from('abcdefgh', (c) => c.charCodeAt(0))))
    else bytes = Buffer.from(Array.from({ length: len }, () => 0x20 + rng.int(95)))
    if (bytes.length >= len) return bytes.subarray(0, len)
    return Buffer.concat([bytes, Buffer.alloc(len - bytes.length, 0x61)])
  }

  extType() {
    const rng = this.rng
    return rng.chance(0.3) ? -1 : rng.chance(0.2) ? rng.pick([0, 1, 127, -128, -2]) : rng.range(-128, 127)
  }

  /** `len` bytes of ext payload; for timestamps, sometimes edge values. */
  extData(type, len) {
    const rng = this.rng
    const data = rng.bytes(len)
    if (type === -1 && rng.chance(0.5)) data.fill(rng.pick([0x00, 0xff, 0x7f, 0x3b]))
    return data
  }

  float() {
    const rng = this.rng
    return rng.chance(0.5) ? rng.pick([NaN, Infinity, -Infinity, -0, 0, 1e308, -1e308, 5e-324, 2 ** 53, 0.5, 3.4e38]) : (rng.u32() - 2 ** 31) / (rng.u32() + 1)
  }

  /** `n` levels of arrays/maps around nil: depth limits. */
  deep(n) {
    const rng = this.rng
    const open = rng.chance(0.5) ? Buffer.from([0x91]) : Buffer.from([0x81, 0xa1, 0x6b])
    const mixed = rng.chance(0.3)
    const parts = []
    for (let i = 0; i < n; i++) parts.push(mixed && rng.chance(0.5) ? Buffer.from([0xdc, 0x00, 0x01]) : open)
    parts.push(Buffer.from([0xc0]))
    return Buffer.concat(parts)
  }

  /** A header claiming far more than follows: nothing must be allocated for the claim. */
  hugeClaim() {
    const rng = this.rng
    const m = rng.pick([0xc6, 0xc9, 0xdb, 0xdd, 0xdf, 0xc5, 0xda, 0xdc, 0xde, 0xc8])
    const wide = [0xc6, 0xc9, 0xdb, 0xdd, 0xdf].includes(m)
    const len = wide ? rng.pick([0xffffffff, 0x7fffffff, 0x80000000, 0x04000001, 0x10000]) : 0xffff
    const parts = [Buffer.from([m]), uint(len, wide ? 4 : 2)]
    if (m === 0xc9 || m === 0xc8) parts.push(Buffer.from([this.extType() & 0xff]))
    parts.push(rng.bytes(rng.size(16)))
    return Buffer.concat(parts)
  }
}

module.exports = { Gen, uint, SPECIAL_KEYS, TIMESTAMP_SIZES }
