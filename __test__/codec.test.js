'use strict'
// The codec on its own: exact bytes for every row of the value table, and
// agreement with an independent implementation (@msgpack/msgpack).
const test = require('node:test')
const assert = require('node:assert/strict')
const theirs = require('@msgpack/msgpack')
const { Ext, Encoder, encode, decode, decodeMessages } = require('../lib/codec')

const hex = (v) => encode(v).toString('hex')

test('encodes integers in their smallest form', () => {
  const cases = [
    [0, '00'], [127, '7f'], [128, 'cc80'], [255, 'ccff'], [256, 'cd0100'], [65535, 'cdffff'],
    [65536, 'ce00010000'], [2 ** 32 - 1, 'ceffffffff'], [2 ** 32, 'cf0000000100000000'],
    [Number.MAX_SAFE_INTEGER, 'cf001fffffffffffff'], [-1, 'ff'], [-32, 'e0'], [-33, 'd0df'],
    [-128, 'd080'], [-129, 'd1ff7f'], [-32768, 'd18000'], [-32769, 'd2ffff7fff'],
    [-(2 ** 31), 'd280000000'], [-(2 ** 31) - 1, 'd3ffffffff7fffffff'], [-0, '00'],
  ]
  for (const [value, bytes] of cases) assert.equal(hex(value), bytes, String(value))
})

test('encodes other numbers as float64', () => {
  assert.equal(hex(1.5), 'cb3ff8000000000000')
  assert.equal(hex(2 ** 53), 'cb4340000000000000')
  assert.equal(hex(Infinity), 'cb7ff0000000000000')
  assert.equal(hex(NaN).slice(0, 4), 'cb7f')
})

test('encodes bigints as 64-bit integers and refuses larger ones', () => {
  assert.equal(hex(2n ** 63n), 'cf8000000000000000')
  assert.equal(hex(2n ** 64n - 1n), 'cfffffffffffffffff')
  assert.equal(hex(-(2n ** 63n)), 'd38000000000000000')
  assert.equal(hex(7n), '07')
  for (const big of [2n ** 64n, -(2n ** 63n) - 1n]) {
    assert.throws(() => encode(big), { name: 'TypeError', code: 'ERR_MSGPACK_RPC_ENCODE' })
  }
})

test('encodes nil, booleans, strings, binary, arrays and maps', () => {
  assert.equal(hex(null), 'c0')
  assert.equal(hex(undefined), 'c0')
  assert.equal(hex(true), 'c3')
  assert.equal(hex(false), 'c2')
  assert.equal(hex('é'), 'a2c3a9')
  assert.equal(hex(''), 'a0')
  assert.equal(hex('a'.repeat(31)), 'bf' + '61'.repeat(31))
  assert.equal(hex('a'.repeat(32)), 'd920' + '61'.repeat(32))
  assert.equal(hex('a'.repeat(40)), 'd928' + '61'.repeat(40))
  assert.equal(hex('a'.repeat(256)).slice(0, 6), 'da0100')
  assert.equal(hex('a'.repeat(70000)).slice(0, 10), 'db00011170')
  assert.equal(hex('😀'), 'a4f09f9880')
  assert.equal(hex('\ud800'), 'a3efbfbd') // a lone surrogate becomes U+FFFD
  assert.equal(hex(Buffer.from([1, 2])), 'c4020102')
  assert.equal(hex(new Uint16Array([1])), 'c4020100')
  assert.equal(hex(Buffer.alloc(300)).slice(0, 6), 'c5012c')
  assert.equal(hex([1, [2]]), '920191' + '02')
  assert.equal(hex({ a: 1 }), '81a16101')
  assert.equal(hex({ a: undefined }), '81a161c0')
  assert.equal(hex(new Map([[1, 2]])), '810102')
  assert.equal(hex(new Error('boom')), 'a4626f6f6d')
  assert.equal(hex(Array.from({ length: 16 }, () => 0)).slice(0, 6), 'dc0010')
})

test('encodes Dates as the timestamp extension in its three sizes', () => {
  assert.equal(hex(new Date(0)), 'd6ff00000000')
  assert.equal(hex(new Date(1500)), 'd7ff' + (500000000 * 4).toString(16).padStart(8, '0') + '00000001')
  assert.equal(hex(new Date(-1000)).slice(0, 6), 'c70cff')
  assert.throws(() => encode(new Date(NaN)), { code: 'ERR_MSGPACK_RPC_ENCODE' })
  for (const ms of [0, 1500, -1000, -1, 2 ** 34 * 1000 + 7, Date.UTC(2026, 10, 24)]) {
    assert.equal(decode(encode(new Date(ms))).getTime(), ms)
  }
})

test('encodes Ext values with fixext or ext headers', () => {
  assert.equal(hex(new Ext(5, Buffer.from([1, 2, 3]))), 'c70305010203')
  assert.equal(hex(new Ext(1, Buffer.from([1, 2, 3, 4]))), 'd60101020304')
  assert.equal(hex(new Ext(-5, Buffer.from([9]))), 'd4fb09')
  assert.throws(() => new Ext(200, Buffer.alloc(1)), TypeError)
  const back = decode(encode(new Ext(42, Buffer.from('abc'))))
  assert.ok(back instanceof Ext)
  assert.equal(back.type, 42)
  assert.equal(back.data.toString(), 'abc')
})

test('refuses functions, symbols and cycles with ERR_MSGPACK_RPC_ENCODE', () => {
  const cyclic = []
  cyclic.push(cyclic)
  for (const bad of [() => 1, Symbol('x'), cyclic, { f() {} }]) {
    assert.throws(() => encode(bad), { name: 'TypeError', code: 'ERR_MSGPACK_RPC_ENCODE' })
  }
})

test('an Encoder rolls back a value that failed half-way', () => {
  const enc = new Encoder(16)
  enc.write([1, 2])
  assert.throws(() => enc.write([1, 2, 3, () => 1]))
  enc.write('x')
  assert.equal(enc.take().toString('hex'), '920102a178')
  assert.equal(enc.length, 0)
})

test('an Encoder grows past its initial size and take() hands back everything written', () => {
  const enc = new Encoder(4)
  const values = [Buffer.alloc(5000, 1), 'x'.repeat(100), { k: [1, 2, 3] }]
  for (const v of values) enc.write(v)
  const bytes = Buffer.from(enc.take())
  assert.deepEqual(bytes, Buffer.concat(values.map(encode)))
})

test('decodes integers beyond 2^53 as BigInt and others as numbers', () => {
  assert.equal(decode(Buffer.from('cf0020000000000000', 'hex')), 2n ** 53n)
  assert.equal(decode(Buffer.from('cf001fffffffffffff', 'hex')), 2 ** 53 - 1)
  assert.equal(decode(Buffer.from('d3ffe0000000000000', 'hex')), -(2n ** 53n))
  assert.equal(decode(Buffer.from('d3ffe0000000000001', 'hex')), -(2 ** 53) + 1)
  assert.equal(decode(Buffer.from('ca3fc00000', 'hex')), 1.5)
})

test('keeps __proto__ and constructor keys as plain data', () => {
  const obj = decode(Buffer.from(theirs.encode(JSON.parse('{"__proto__":{"x":1},"constructor":2}'))))
  assert.equal(Object.getPrototypeOf(obj), Object.prototype)
  assert.ok(Object.prototype.hasOwnProperty.call(obj, '__proto__'))
  assert.deepEqual(obj.__proto__, { x: 1 })
  assert.equal(obj.constructor, 2)
  assert.equal({}.x, undefined)
})

test('decodes a map with a non-string key as a Map, keeping earlier entries', () => {
  const m = decode(Buffer.from('82a1610102a162', 'hex'))
  assert.ok(m instanceof Map)
  assert.equal(m.get('a'), 1)
  assert.equal(m.get(2), 'b')
})

test('agrees with @msgpack/msgpack both ways', () => {
  const values = [
    null, true, 0, -1, 300, -300, 70000, -70000, 2 ** 40, -(2 ** 40), 0.5, 'hi', 'ü'.repeat(100),
    [1, [2, [3, []]]], { a: { b: { c: 'd' } } }, Buffer.from([0, 255]), new Date(1700000000123),
    Array.from({ length: 70 }, (_, i) => i), Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`k${i}`, i])),
  ]
  for (const v of values) {
    const ours = encode(v)
    const fromTheirs = theirs.decode(ours)
    const back = decode(Buffer.from(theirs.encode(v)))
    if (Buffer.isBuffer(v)) {
      assert.deepEqual([...fromTheirs], [...v])
      assert.deepEqual([...back], [...v])
    } else {
      assert.deepEqual(fromTheirs, v)
      assert.deepEqual(back, v)
    }
  }
})

test('reports truncated input and the reserved byte with ERR_MSGPACK_RPC_PROTOCOL', () => {
  for (const bytes of ['92', 'a5616263', 'c1', 'dd0000ffff', 'cb3ff8']) {
    assert.throws(() => decode(Buffer.from(bytes, 'hex')), { code: 'ERR_MSGPACK_RPC_PROTOCOL' }, bytes)
  }
  assert.throws(() => decode(Buffer.from('0102', 'hex')), { code: 'ERR_MSGPACK_RPC_PROTOCOL' })
})

test('decodes 1000 levels of nesting', () => {
  let deep = 0
  for (let i = 0; i < 999; i++) deep = [deep]
  let back = decode(encode(deep))
  let depth = 0
  while (Array.isArray(back)) {
    back = back[0]
    depth++
  }
  assert.equal(depth, 999)
})

test('request/response/notification encode the envelope like write([...]) does', () => {
  const enc = new Encoder(8)
  enc.request(7, 'add', [1, 2])
  enc.response(0xffffffff, null, { ok: true })
  enc.response(3, 'failed', null)
  enc.notification('note', ['x'.repeat(300)])
  const direct = Buffer.from(enc.take())
  const viaArrays = Buffer.concat([
    encode([0, 7, 'add', [1, 2]]),
    encode([1, 0xffffffff, null, { ok: true }]),
    encode([1, 3, 'failed', null]),
    encode([2, 'note', ['x'.repeat(300)]]),
  ])
  assert.deepEqual(direct, viaArrays)
})

test('a message that cannot be encoded leaves nothing of itself behind', () => {
  const enc = new Encoder(8)
  enc.notification('kept', [1])
  const kept = enc.length
  assert.throws(() => enc.request(1, 'bad', [1, () => 1]), { code: 'ERR_MSGPACK_RPC_ENCODE' })
  assert.throws(() => enc.response(2, Symbol('e'), null), { code: 'ERR_MSGPACK_RPC_ENCODE' })
  assert.throws(() => enc.response(2, null, 10n ** 30n), { code: 'ERR_MSGPACK_RPC_ENCODE' })
  assert.equal(enc.length, kept)
  assert.deepEqual(Buffer.from(enc.take()), encode([2, 'kept', [1]]))
})

test('decodeMessages dispatches each kind of message and returns the count', () => {
  const calls = []
  const sink = {
    _onRequest: (...a) => calls.push(['request', ...a]),
    _onResponse: (...a) => calls.push(['response', ...a]),
    _onNotify: (...a) => calls.push(['notify', ...a]),
  }
  const batch = Buffer.concat([
    encode([0, 1, 'add', [1, 2]]),
    encode([1, 1, null, 3]),
    encode([2, 'note', []]),
    // An envelope the framer would refuse is skipped, not dispatched.
    encode([3, 'odd']),
    // A method name sent as bin (pynvim) is handed over as bytes.
    encode([0, 2, Buffer.from('echo'), ['é']]),
  ])
  assert.equal(decodeMessages(batch, sink), 4)
  assert.deepEqual(calls, [
    ['request', 1, 'add', [1, 2]],
    ['response', 1, null, 3],
    ['notify', 'note', []],
    ['request', 2, Buffer.from('echo'), ['é']],
  ])
  assert.throws(() => decodeMessages(Buffer.from('01', 'hex'), sink), { code: 'ERR_MSGPACK_RPC_PROTOCOL' })
})

test('decodeMessages keeps its place when a handler decodes re-entrantly', () => {
  const seen = []
  const inner = { _onRequest() {}, _onResponse() {}, _onNotify: (m, p) => seen.push(`inner ${m} ${p[0]}`) }
  const outer = {
    _onRequest() {},
    _onResponse() {},
    _onNotify(m, p) {
      seen.push(`outer ${m} ${p[0]}`)
      decodeMessages(encode([2, 'nested', [m]]), inner)
    },
  }
  decodeMessages(Buffer.concat([encode([2, 'a', [1]]), encode([2, 'b', [2]])]), outer)
  assert.deepEqual(seen, ['outer a 1', 'inner nested a', 'outer b 2', 'inner nested b'])
})

test('short strings decode right whether or not they hit the string table', () => {
  // Many distinct short keys share table slots; each must still come back as itself.
  const keys = Array.from({ length: 20000 }, (_, i) => `k${i.toString(36)}`)
  const obj = Object.fromEntries(keys.map((k, i) => [k, i]))
  for (let round = 0; round < 2; round++) assert.deepEqual(decode(encode(obj)), obj)
  for (const s of ['', 'a', 'abc', 'é', 'naïve', '\u0000\u007f', 'x'.repeat(15), 'y'.repeat(16)]) {
    assert.equal(decode(encode(s)), s)
    assert.equal(decode(encode(s)), s)
  }
})
