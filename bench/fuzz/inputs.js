'use strict'
// What the fuzzer sends: MessagePack-RPC envelopes, valid and not, built from
// the raw values of msgpack.js. Each call to next() picks a strategy; two of
// them sweep systematically (every marker in every envelope position; every
// ext type in every length class, timestamps in every wrong size) so that
// short runs still cover them.

const { Gen, uint, TIMESTAMP_SIZES } = require('./msgpack')

/** The methods bench/fuzz/target.js defines. */
const METHODS = ['echo', 'add', 'fail', 'reject', 'twice']
/** Names a peer must not reach: inherited, prototype and EventEmitter names. */
const HOSTILE_METHODS = ['nope', 'constructor', '__proto__', 'toString', 'hasOwnProperty', 'valueOf', '__defineGetter__', 'emit', 'on', 'removeAllListeners', 'then', 'apply', 'call', 'bind', 'prototype', '']
/** The largest input; bigger ones are cut (an outright bound on what one connection writes). */
const MAX_INPUT = 96 * 1024

const STRATEGIES = [
  [30, 'valid'],
  [15, 'marker'],
  [15, 'ext'],
  [20, 'mutate'],
  [8, 'shape'],
  [6, 'limits'],
  [3, 'random'],
  [3, 'splice'],
]

/** Envelope slots the marker sweep replaces, per kind (0 = the array header). */
const KINDS = [
  { type: 0, slots: 5 },
  { type: 1, slots: 5 },
  { type: 2, slots: 4 },
]
const MARKER_CASES = KINDS.reduce((n, k) => n + k.slots, 0) * 256

/** ext length classes: fixext 1/2/4/8/16 (markers 0xd4-0xd8), ext 8/16/32 (0xc7-0xc9). */
const EXT_CLASSES = [0xd4, 0xd5, 0xd6, 0xd7, 0xd8, 0xc7, 0xc8, 0xc9]
const TIMESTAMP_CASES = 5 + 3 * TIMESTAMP_SIZES.length
const EXT_TYPE_CASES = 256 * EXT_CLASSES.length

class Inputs {
  /** @param {import('./rng').Rng} rng */
  constructor(rng) {
    this.rng = rng
    this.gen = new Gen(rng)
    this._markerCase = 0
    this._extCase = 0
    this._previous = undefined
  }

  /** The next input: `{ bytes, strategy }`. */
  next() {
    const strategy = this.rng.weighted(STRATEGIES)
    let bytes = this[strategy]()
    if (bytes.length > MAX_INPUT) bytes = bytes.subarray(0, MAX_INPUT)
    this._previous = bytes
    return { bytes, strategy }
  }

  /** How much of the two sweeps this generator has covered, as text. */
  coverage() {
    const markers = Math.min(this._markerCase, MARKER_CASES)
    const stamps = Math.min(Math.ceil(this._extCase / 2), TIMESTAMP_CASES)
    const types = Math.min(Math.floor(this._extCase / 2), EXT_TYPE_CASES)
    return `sweeps: marker x slot ${markers}/${MARKER_CASES}, timestamp size x class ${stamps}/${TIMESTAMP_CASES}, ext type x class ${types}/${EXT_TYPE_CASES}`
  }

  /** Several messages back to back (for stream transports). */
  session() {
    const first = this.next()
    const n = this.rng.weighted([[70, 1], [20, 2], [10, 3]])
    const parts = [first.bytes]
    for (let i = 1; i < n; i++) parts.push(this.next().bytes)
    let bytes = Buffer.concat(parts)
    if (bytes.length > MAX_INPUT) bytes = bytes.subarray(0, MAX_INPUT)
    return { bytes, strategy: first.strategy + (n > 1 ? `+${n - 1}` : '') }
  }

  // ---- envelope parts ------------------------------------------------------

  msgid() {
    const rng = this.rng
    const g = this.gen
    if (rng.chance(0.85)) return rng.chance(0.5) ? Buffer.from([rng.int(128)]) : g.withMarker(rng.pick([0xcc, 0xcd, 0xce]))
    return g.withMarker(rng.pick([0xe0, 0xff, 0xd0, 0xd3, 0xcf, 0xca, 0xcb, 0xc0, 0xc2, 0xa1, 0xc4, 0x91, 0x80, 0xc1, 0xd4]))
  }

  method() {
    const rng = this.rng
    const g = this.gen
    const r = rng.int(100)
    if (r < 70) return g.str(rng.pick(METHODS))
    if (r < 80) return g.str(rng.pick(HOSTILE_METHODS))
    if (r < 85) return g.bin(Buffer.from(rng.pick(METHODS.concat(HOSTILE_METHODS))))
    if (r < 90) return g.scalar()
    if (r < 95) return g.str('m'.repeat(rng.range(256, 70000)))
    return g.withMarker(rng.pick([0xa5, 0xd9, 0xc4]))
  }

  params() {
    const rng = this.rng
    const g = this.gen
    if (rng.chance(0.15)) return g.value(2)
    const n = rng.weighted([[20, 0], [30, 1], [30, 2], [15, 3], [5, rng.range(4, 20)]])
    return this._array(n)
  }

  _array(n) {
    const g = this.gen
    const header = n <= 15 ? Buffer.from([0x90 | n]) : Buffer.concat([Buffer.from([0xdc]), uint(n, 2)])
    return g.array(n, header, 3)
  }

  /** The slots of an envelope of `kind` (0 request, 1 response, 2 notification), header first. */
  slots(kind) {
    const g = this.gen
    const head = Buffer.from([kind === 2 ? 0x93 : 0x94])
    const type = Buffer.from([kind])
    if (kind === 0) return [head, type, this.msgid(), this.method(), this.params()]
    if (kind === 1) {
      const err = this.rng.chance(0.7) ? Buffer.from([0xc0]) : g.value(2)
      return [head, type, this.msgid(), err, g.value(3)]
    }
    return [head, type, this.method(), this.params()]
  }

  // ---- strategies ----------------------------------------------------------

  /** A well-formed envelope with hostile contents. */
  valid() {
    return Buffer.concat(this.slots(this.rng.weighted([[45, 0], [15, 1], [40, 2]])))
  }

  /** Sweep: marker 0x00-0xff in each slot of each envelope kind. */
  marker() {
    const c = this._markerCase++ % MARKER_CASES
    const m = c % 256
    let slot = Math.floor(c / 256)
    let kind = 0
    while (slot >= KINDS[kind].slots) slot -= KINDS[kind++].slots
    const parts = this.slots(KINDS[kind].type)
    parts[slot] = this.gen.withMarker(m, 2)
    return Buffer.concat(parts)
  }

  /** Sweep: timestamps of every size in every length class, and every ext type in every class. */
  ext() {
    const rng = this.rng
    const c = this._extCase++
    let ext
    if (c % 2 === 0) {
      const t = (c / 2) % TIMESTAMP_CASES
      if (t < 5) ext = Buffer.concat([Buffer.from([0xd4 + t, 0xff]), this.gen.extData(-1, 1 << t)])
      else {
        const size = TIMESTAMP_SIZES[(t - 5) % TIMESTAMP_SIZES.length]
        const cls = Math.floor((t - 5) / TIMESTAMP_SIZES.length)
        ext = Buffer.concat([Buffer.from([0xc7 + cls]), uint(size, 1 << cls), Buffer.from([0xff]), this.gen.extData(-1, size)])
      }
    } else {
      const t = ((c - 1) / 2) % EXT_TYPE_CASES
      const type = (t % 256) - 128
      const m = EXT_CLASSES[Math.floor(t / 256)]
      const size = m >= 0xd4 ? 1 << (m - 0xd4) : rng.size(m === 0xc7 ? 255 : 300)
      const header = m >= 0xd4 ? Buffer.from([m]) : Buffer.concat([Buffer.from([m]), uint(size, 1 << (m - 0xc7))])
      ext = Buffer.concat([header, Buffer.from([type & 0xff]), this.gen.extData(type, size)])
    }
    // Where it sits: a notification's or a request's param (alone, in an array, as a map value) or a response's result.
    const where = rng.int(6)
    const method = this.gen.str(rng.pick(METHODS))
    const param = where === 3 ? Buffer.concat([Buffer.from([0x92, 0x01]), ext]) : where === 4 ? Buffer.concat([Buffer.from([0x81, 0xa1, 0x74]), ext]) : ext
    if (where === 5) return Buffer.concat([Buffer.from([0x94, 0x01]), this.msgid(), Buffer.from([0xc0]), ext])
    const params = Buffer.concat([Buffer.from([0x91]), param])
    if (where % 2 === 0) return Buffer.concat([Buffer.from([0x93, 0x02]), method, params])
    return Buffer.concat([Buffer.from([0x94, 0x00]), this.msgid(), method, params])
  }

  /** A valid envelope with a few byte-level mutations. */
  mutate() {
    const rng = this.rng
    let b = Buffer.from(this.valid())
    const n = rng.range(1, 4)
    for (let i = 0; i < n && b.length > 0; i++) {
      const at = rng.int(b.length)
      switch (rng.int(9)) {
        case 0:
          b[at] ^= 1 << rng.int(8)
          break
        case 1:
          b[at] = rng.int(256)
          break
        case 2:
          b[at] = rng.pick([0x00, 0xff, 0x7f, 0x80, 0xc1, 0xc0, 0xdb, 0xdd, 0xdf, 0xc9, 0xd4, 0xc7])
          break
        case 3:
          b = Buffer.concat([b.subarray(0, at), rng.bytes(rng.range(1, 8)), b.subarray(at)])
          break
        case 4:
          b = Buffer.concat([b.subarray(0, at), b.subarray(Math.min(b.length, at + rng.range(1, 8)))])
          break
        case 5: {
          const end = Math.min(b.length, at + rng.range(1, 16))
          b = Buffer.concat([b.subarray(0, end), b.subarray(at, end), b.subarray(end)])
          break
        }
        case 6:
          b = b.subarray(0, at)
          break
        case 7:
          b = Buffer.concat([b, rng.bytes(rng.range(1, 8))])
          break
        default:
          b = Buffer.concat([b.subarray(0, at), Buffer.from([0xff, 0xff, 0xff, 0xff]), b.subarray(Math.min(b.length, at + 4))])
      }
    }
    return b
  }

  /** Envelopes of the wrong shape: lengths, type field, not an array at all. */
  shape() {
    const rng = this.rng
    const g = this.gen
    switch (rng.int(3)) {
      case 0: {
        const n = rng.range(0, 7)
        const parts = [rng.chance(0.7) ? Buffer.from([0x90 | n]) : Buffer.concat([Buffer.from([0xdc]), uint(n, 2)])]
        const kind = rng.pick([0, 1, 2])
        const body = this.slots(kind).slice(1)
        for (let i = 0; i < n; i++) parts.push(body[i] || g.value(1))
        return Buffer.concat(parts)
      }
      case 1: {
        const parts = this.slots(rng.pick([0, 1, 2]))
        parts[1] = rng.pick([[0x03], [0x04], [0x7f], [0xff], [0xcc, 0x00], [0xcc, 0x02], [0xd0, 0x01], [0xcf, 0, 0, 0, 0, 0, 0, 0, 0], [0xa1, 0x30], [0xc0], [0xc2], [0xca, 0, 0, 0, 0]])
        parts[1] = Buffer.from(parts[1])
        return Buffer.concat(parts)
      }
      default:
        return g.withMarker(rng.pick([0x80, 0x84, 0xde, 0xa4, 0x00, 0xc0, 0xc4, 0xd4, 0xcb, 0xe0]), 2)
    }
  }

  /** Deep nesting, huge claimed lengths, the size limits. */
  limits() {
    const rng = this.rng
    const g = this.gen
    const head = rng.chance(0.5) ? Buffer.from([0x93, 0x02, 0xa4, 0x65, 0x63, 0x68, 0x6f]) : Buffer.from([0x94, 0x00, 0x01, 0xa4, 0x65, 0x63, 0x68, 0x6f])
    switch (rng.int(4)) {
      case 0:
        return Buffer.concat([head, Buffer.from([0x91]), g.deep(rng.pick([10, 64, 100, 127, 128, 129, 256, 512, 1000, 5000, 20000]))])
      case 1:
        return g.deep(rng.pick([10, 128, 1000, 10000]))
      case 2:
        return Buffer.concat([head, Buffer.from([0x91]), g.hugeClaim()])
      default:
        return g.hugeClaim()
    }
  }

  random() {
    return this.rng.bytes(this.rng.size(512))
  }

  /** Two earlier-style inputs cut and joined: a message that ends inside another. */
  splice() {
    const a = this.valid()
    const b = this._previous || this.valid()
    return Buffer.concat([a.subarray(0, this.rng.int(a.length + 1)), b.subarray(this.rng.int(b.length + 1))])
  }
}

module.exports = { Inputs, METHODS, MAX_INPUT, MARKER_CASES, TIMESTAMP_CASES }
