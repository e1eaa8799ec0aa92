'use strict'
// The encoder's compiled object encoders (lib/key-shapes.js objectEncoder):
// a differential fuzz of an encoder that has learnt key lists against a
// fresh one that has not (the plain path), over hostile keys, every kind of
// value, keys that change within a list, getters, proxies and class
// instances; and floats through the DataView, against Buffer's own float
// reads and writes.
const test = require('node:test')
const assert = require('node:assert/strict')
const codec = require('../lib/codec')
const { prng, unlearntCodec } = require('./helpers')
const shapes = require('../lib/key-shapes')

/** What an encoder that has learnt nothing writes for `value`: a fresh instance of the codec. */
function unlearntEncode(value) {
  return unlearntCodec().encode(value)
}

/** Whether the encoder has compiled an encoder for objects with exactly these keys. */
function compiled(keys) {
  if (keys.length === 0 || keys.length > shapes.MAX_ENCODE_KEYS) return false
  return shapes.objectEncoder(keys, codecKeyBytes) !== null
}
// objectEncoder only calls this to compile, which `compiled` must not cause
// for a list that was not already due: a list that was is compiled either way.
const codecKeyBytes = (key) => codec.encode(key)

/** Encoders are rate-limited by keys encoded: this encodes enough (in a list that never gets one: its first key is too long). */
const filler = Object.fromEntries([['k'.repeat(40), 0], ...Array.from({ length: 31 }, (_, i) => [`f${i}`, i])])
function earnEncoder() {
  for (let i = 0; i < 140; i++) codec.encode(filler)
}

/** Encodes `object` until its key list has an encoder of its own. */
function learn(object) {
  for (let i = 0; i < 8; i++) codec.encode(object)
  earnEncoder()
  for (let i = 0; i < 8; i++) codec.encode(object)
  assert.ok(compiled(Object.keys(object)), 'the list was learnt')
}

const KEYS = [
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'hasOwnProperty',
  '0',
  '1',
  '01',
  '-1',
  '4294967295',
  '',
  '"',
  '\\',
  "'];process.exit(4);//",
  '"+process.exit(3)+"',
  '`${process.exit(5)}`',
  '\u2028',
  '\u2029',
  '\ud800',
  '\udc00',
  '\ud83d\ude00',
  '\u0000',
  'é',
  '€uro',
  'a'.repeat(31),
  'a'.repeat(32),
  'é'.repeat(16),
  'k'.repeat(200),
  'id',
  'name',
  'x',
  'y',
]

class Point {
  constructor(x, y) {
    this.x = x
    this.y = y
  }
}

function valueOf(rand, depth) {
  const r = rand()
  if (depth < 3 && r < 0.12) return objectOf(rand, depth + 1, Math.floor(rand() * 6))
  if (depth < 3 && r < 0.16) return Array.from({ length: Math.floor(rand() * 3) }, () => valueOf(rand, depth + 1))
  const pick = [
    () => null,
    () => undefined,
    () => true,
    () => false,
    () => Math.floor(rand() * 300) - 150,
    () => Math.floor(rand() * 2 ** 40),
    () => -Math.floor(rand() * 2 ** 40),
    () => rand() * 1e6 - 5e5,
    () => -0,
    () => NaN,
    () => Infinity,
    () => 2 ** 64,
    () => BigInt(Math.floor(rand() * 1000)) * 10n ** 16n,
    () => KEYS[Math.floor(rand() * KEYS.length)],
    () => 'v'.repeat(Math.floor(rand() * 300)),
    () => Buffer.from([1, 2, 3]),
    () => new Date(Math.floor(rand() * 2 ** 42)),
    () => new Map([[1, 'one']]),
    () => new Point(1, 2),
  ]
  return pick[Math.floor(rand() * pick.length)]()
}

/** An object with `n` keys from the pool, `__proto__` as an own key when picked. */
function objectOf(rand, depth, n) {
  const out = {}
  for (let i = 0; i < n; i++) {
    const key = KEYS[Math.floor(rand() * KEYS.length)]
    Object.defineProperty(out, key, { value: valueOf(rand, depth), enumerable: true, writable: true, configurable: true })
  }
  return out
}

/** The same keys, fresh values (of any type), as a program sending one kind of record does. */
function refill(rand, object) {
  const out = {}
  for (const key of Object.keys(object)) {
    Object.defineProperty(out, key, { value: valueOf(rand, 1), enumerable: true, writable: true, configurable: true })
  }
  return out
}

test('objects whose keys repeat encode, learnt or not, to the bytes an encoder that has learnt nothing writes', () => {
  const protoKeys = Reflect.ownKeys(Object.prototype)
  let learnt = 0
  for (let seed = 1; seed <= 300; seed++) {
    const rand = prng(seed)
    const r = rand()
    const n = r < 0.1 ? 16 + Math.floor(rand() * 17) : r < 0.15 ? 33 + Math.floor(rand() * 3) : 1 + Math.floor(rand() * 10)
    let object = objectOf(rand, 0, n)
    for (let round = 0; round < 8; round++) {
      // Half the rounds the same values, half fresh ones of any type.
      if (round % 2 === 1) object = refill(rand, object)
      assert.deepEqual(codec.encode(object), unlearntEncode(object), `seed ${seed} round ${round}`)
      const enc = new codec.Encoder(16)
      enc.response(seed, null, [object, object])
      assert.deepEqual(Buffer.from(enc.take()), unlearntEncode([1, seed, null, [object, object]]), `seed ${seed} round ${round} in a message`)
    }
    if (compiled(Object.keys(object))) learnt++
    earnEncoder()
  }
  assert.deepEqual(Reflect.ownKeys(Object.prototype), protoKeys)
  assert.equal({}.polluted, undefined)
  // The fuzz reached the compiled encoders, not only the plain path.
  assert.ok(learnt >= 100, `only ${learnt} key lists got an encoder`)
})

test('objects at the fixmap and map16 boundaries, and past the learnt size, encode as the plain path does', () => {
  const short = KEYS.filter((k) => Buffer.byteLength(k) <= 31)
  for (const n of [1, 15, 16, 17, 31, 32, 33]) {
    const keys = Array.from({ length: n }, (_, i) => (i < short.length ? short[i] : `k${i}`))
    const make = (round) => {
      const out = {}
      keys.forEach((k, i) => Object.defineProperty(out, k, { value: round % 2 ? `v${i}` : i * 1.5, enumerable: true, writable: true, configurable: true }))
      return out
    }
    earnEncoder()
    for (let round = 0; round < 8; round++) assert.deepEqual(codec.encode(make(round)), unlearntEncode(make(round)), `${n} keys, round ${round}`)
    assert.equal(compiled(Object.keys(make(0))), n <= shapes.MAX_ENCODE_KEYS, `${n} keys`)
  }
})

test('an object whose keys differ from a learnt list in one place, or in order, encodes its own keys', () => {
  const base = { a: 1, b: 2, c: 3, d: 4 }
  learn(base)
  for (const variant of [
    { a: 1, b: 2, c: 3, e: 4 },
    { a: 1, b: 2, d: 4, c: 3 },
    { x: 1, b: 2, c: 3, d: 4 },
    { a: 1, b: 2, c: 3, d: 4, e: 5 },
    { a: 1, b: 2, c: 3 },
    { a: 'one', b: [2], c: { c: 3 }, d: null },
  ]) {
    assert.deepEqual(codec.encode(variant), unlearntEncode(variant), JSON.stringify(variant))
    assert.deepEqual(codec.decode(codec.encode(variant)), variant)
  }
})

test('getters, proxies and class instances with a learnt key list encode as the plain path does', () => {
  const plain = { p: 1, q: 2 }
  learn(plain)

  let reads = 0
  const getters = {
    get p() {
      reads++
      return reads % 2 === 0 ? 'even' : { odd: reads }
    },
    q: 2,
  }
  assert.deepEqual(codec.encode(getters), Buffer.concat([Buffer.from([0x82, 0xa1, 0x70, 0x81, 0xa3]), Buffer.from('odd'), Buffer.from([0x01, 0xa1, 0x71, 0x02])]))
  assert.equal(reads, 1, 'each value is read once')
  assert.deepEqual(codec.decode(codec.encode(getters)), { p: 'even', q: 2 })

  const trapped = []
  const proxy = new Proxy(
    { p: 1, q: 2 },
    {
      get(target, key, receiver) {
        trapped.push(key)
        return Reflect.get(target, key, receiver)
      },
    },
  )
  assert.deepEqual(codec.encode(proxy), codec.encode(plain))
  assert.deepEqual(trapped, ['p', 'q'])

  class PQ {
    constructor() {
      this.p = 1
      this.q = 2
    }

    method() {}
  }
  assert.deepEqual(codec.encode(new PQ()), codec.encode(plain))
  const bare = Object.assign(Object.create(null), plain)
  assert.deepEqual(codec.encode(bare), codec.encode(plain))
  // Not plain objects, whatever their own keys.
  assert.deepEqual(codec.encode(new codec.Ext(7, Buffer.from([9]))), Buffer.from([0xd4, 7, 9]))
  assert.deepEqual(codec.encode(Object.assign(new Date(0), plain)), Buffer.from([0xd6, 0xff, 0, 0, 0, 0]))
  assert.deepEqual(codec.encode(Object.assign(new Map(), plain)), Buffer.from([0x80]))
})

test('a value that cannot be encoded inside a learnt object leaves nothing of its message behind', () => {
  const good = { m: 1, n: 2 }
  learn(good)
  const enc = new codec.Encoder(16)
  enc.notification('first', [good])
  const before = Buffer.from(enc.take())
  enc.notification('first', [good])
  assert.throws(() => enc.notification('bad', [{ m: 1, n: () => {} }]), { code: 'ERR_MSGPACK_RPC_ENCODE' })
  const throwing = {
    m: 1,
    get n() {
      throw new Error('getter failed')
    },
  }
  assert.throws(() => enc.notification('bad', [throwing]), /getter failed/)
  const cycle = { m: 1, n: null }
  cycle.n = cycle
  assert.throws(() => enc.notification('bad', [cycle]), { code: 'ERR_MSGPACK_RPC_ENCODE', message: /nested deeper than \d+ levels/ })
  assert.deepEqual(Buffer.from(enc.take()), before)
})

test('encoders are made no faster than one per few thousand keys encoded, however many lists are due one', () => {
  earnEncoder()
  const lists = [0, 1, 2].map((k) => ({ [`due${k}a`]: k, [`due${k}b`]: k }))
  for (let round = 0; round < 8; round++) for (const o of lists) codec.encode(o)
  assert.deepEqual(
    lists.map((o) => compiled(Object.keys(o))),
    [true, false, false],
  )
  earnEncoder()
  for (const o of lists) codec.encode(o)
  assert.deepEqual(
    lists.map((o) => compiled(Object.keys(o))),
    [true, true, false],
  )
})

test('floats encode and decode through the DataView as Buffer reads and writes them, at any offset', () => {
  const floats = [0, -0, 1.5, -1.5, 0.1, 1 / 3, NaN, Infinity, -Infinity, 5e-324, -5e-324, 2.2250738585072014e-308, 1.7976931348623157e308, 2 ** 53 + 2, -(2 ** 63) - 4096, 123456.789]
  // (Integers up to 2^53, -0 among them, are written as integers.)
  for (const f of floats.filter((f) => !Number.isSafeInteger(f))) {
    const expected = Buffer.alloc(9)
    expected[0] = 0xcb
    expected.writeDoubleBE(f, 1)
    assert.deepEqual(codec.encode(f), expected, String(f))
  }
  for (const f of floats) {
    const bytes = Buffer.alloc(9)
    bytes[0] = 0xcb
    bytes.writeDoubleBE(f, 1)
    assert.ok(Object.is(codec.decode(bytes), f), String(f))
  }
  // Every offset of a pooled buffer (non-zero byteOffset), unaligned positions included.
  const fractional = floats.filter((f) => !Number.isSafeInteger(f))
  const values = fractional.concat(fractional.map((f) => [f]), [{ f: 0.5, g: [2.5] }])
  const packed = codec.encode(values)
  const big = Buffer.allocUnsafe(packed.length + 16)
  for (let at = 0; at < 8; at++) {
    packed.copy(big, at)
    const view = big.subarray(at, at + packed.length)
    assert.deepEqual(codec.decode(view), values)
    assert.deepEqual(codec.decode(new Uint8Array(view.buffer, view.byteOffset, view.byteLength)), values)
  }
  // float32 (0xca), which this encoder never writes, from any peer.
  for (const f of [0, -0, 1.5, 0.1, NaN, -Infinity, 3.4028234663852886e38, 1.401298464324817e-45]) {
    const bytes = Buffer.alloc(5)
    bytes[0] = 0xca
    bytes.writeFloatBE(f, 1)
    assert.ok(Object.is(codec.decode(bytes), bytes.readFloatBE(1)), String(f))
  }
  // In a batch whose buffer is refilled after the call, between other values.
  const enc = new codec.Encoder(16)
  for (let i = 0; i < 40; i++) enc.notification('f', [i + 0.25, 'x'.repeat(i), -i - 0.5])
  const batch = Buffer.from(enc.take())
  const reused = Buffer.alloc(batch.length + 100, 0xcb)
  batch.copy(reused)
  const seen = []
  codec.decodeMessages(reused, { _onNotify: (m, p) => seen.push(p[0], p[2]), _onProtocolError: (e) => assert.fail(e) }, batch.length)
  assert.deepEqual(
    seen,
    Array.from({ length: 40 }, (_, i) => [i + 0.25, -i - 0.5]).flat(),
  )
})

test('strings at the fixstr, str8, str16 and str32 boundaries encode as their UTF-8 bytes under the smallest header', () => {
  const header = (n) => (n < 32 ? [0xa0 | n] : n < 0x100 ? [0xd9, n] : n < 0x10000 ? [0xda, n >> 8, n & 0xff] : [0xdb, n >>> 24, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff])
  const units = ['a', 'é', '€', '\ud83d\ude00', '\ud800', '\udc00']
  for (const unit of units) {
    const bytesPerUnit = Buffer.byteLength(unit)
    for (const limit of [32, 64, 0x100, 0x10000]) {
      const around = Math.floor(limit / bytesPerUnit)
      for (const n of [around - 1, around, around + 1]) {
        const s = unit.repeat(n) + (n % 2 ? 'z' : '')
        const utf8 = Buffer.from(s)
        const expected = Buffer.concat([Buffer.from(header(utf8.length)), utf8])
        assert.deepEqual(codec.encode(s), expected, `${JSON.stringify(unit)} × ${n}`)
        assert.equal(codec.decode(expected), utf8.toString())
      }
    }
  }
})
