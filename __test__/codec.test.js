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

function recordingSink(calls) {
  return {
    _paused: false,
    _onRequest: (...a) => calls.push(['request', ...a]),
    _onResponse: (...a) => calls.push(['response', ...a]),
    _onNotify: (...a) => calls.push(['notify', ...a]),
    _onProtocolError: (err) => calls.push(['protocol', err.code, err.message]),
    _onDispatchFault: (err) => calls.push(['fault', err.message]),
    _hold: (bytes) => calls.push(['held', bytes.length]),
  }
}

test('decodeMessages dispatches each kind of message', () => {
  const calls = []
  const batch = Buffer.concat([
    encode([0, 1, 'add', [1, 2]]),
    encode([1, 1, null, 3]),
    encode([2, 'note', []]),
    // A method name sent as bin (pynvim) is handed over as bytes.
    encode([0, 2, Buffer.from('echo'), ['é']]),
  ])
  assert.equal(decodeMessages(batch, recordingSink(calls)), false)
  assert.deepEqual(calls, [
    ['request', 1, 'add', [1, 2]],
    ['response', 1, null, 3],
    ['notify', 'note', []],
    ['request', 2, Buffer.from('echo'), ['é']],
  ])
})

test('decodeMessages turns bytes it cannot decode into one protocol error and never throws', () => {
  const calls = []
  // A notification whose param is a timestamp ext of 1 byte: valid framing, invalid value.
  const badTimestamp = Buffer.from('9302a46563686f91d4ff00', 'hex')
  const batch = Buffer.concat([encode([2, 'first', []]), badTimestamp, encode([2, 'never', []])])
  assert.doesNotThrow(() => decodeMessages(batch, recordingSink(calls)))
  assert.deepEqual(calls, [
    ['notify', 'first', []],
    ['protocol', 'ERR_MSGPACK_RPC_PROTOCOL', 'protocol error; timestamp extension of 1 bytes'],
  ])
  for (const bytes of ['01', 'c1', '9403', encode([3, 'odd']).toString('hex')]) {
    const seen = []
    assert.doesNotThrow(() => decodeMessages(Buffer.from(bytes, 'hex'), recordingSink(seen)))
    assert.equal(seen.length, 1, bytes)
    assert.equal(seen[0][0], 'protocol', bytes)
    assert.equal(seen[0][1], 'ERR_MSGPACK_RPC_PROTOCOL', bytes)
  }
})

test('decodeMessages goes on with the batch when a dispatch throws', () => {
  const calls = []
  const sink = recordingSink(calls)
  sink._onNotify = (method) => {
    calls.push(['notify', method])
    if (method === 'boom') throw new Error('listener bug')
  }
  const batch = Buffer.concat([encode([2, 'boom', []]), encode([2, 'after', []])])
  assert.equal(decodeMessages(batch, sink), false)
  assert.deepEqual(calls, [['notify', 'boom'], ['fault', 'listener bug'], ['notify', 'after']])
})

test('decodeMessages holds the rest of a batch, copied, when the sink pauses', () => {
  const calls = []
  const sink = recordingSink(calls)
  sink._onRequest = (id) => {
    calls.push(['request', id])
    if (id === 2) sink._paused = true
  }
  const batch = Buffer.concat([encode([0, 1, 'a', []]), encode([0, 2, 'b', []]), encode([0, 3, 'c', []])])
  let held
  sink._hold = (bytes) => (held = bytes)
  assert.equal(decodeMessages(batch, sink, batch.length), true)
  assert.deepEqual(calls, [['request', 1], ['request', 2]])
  batch.fill(0) // the owner reuses its buffer: the held bytes are a copy
  sink._paused = false
  assert.equal(decodeMessages(held, sink), false)
  assert.deepEqual(calls.at(-1), ['request', 3])
})

test('decode accepts any Uint8Array and names a wrong argument', () => {
  const bytes = new Uint8Array(encode({ a: [1, 2] }))
  assert.deepEqual(decode(bytes), { a: [1, 2] })
  const backing = new Uint8Array([0xff, 0x07, 0xff])
  assert.deepEqual(decode(new Uint8Array(backing.buffer, 1, 1)), 7)
  assert.throws(() => decode('abc'), { code: 'ERR_INVALID_ARG_TYPE', name: 'TypeError' })
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

test('long strings get the smallest header their UTF-8 length allows, whatever their characters', () => {
  const header = (n) => (n < 32 ? [0xa0 | n] : n < 0x100 ? [0xd9, n] : n < 0x10000 ? [0xda, n >> 8, n & 0xff] : [0xdb, n >>> 24, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff])
  const pieces = ['a', 'é', '✓', '😀', '\ud800', 'z\udc00']
  const enc = new Encoder(16)
  for (const chars of [64, 65, 85, 86, 100, 255, 256, 1000, 21845, 21846, 30000]) {
    for (const piece of pieces) {
      const s = (piece + 'x'.repeat(7)).repeat(Math.ceil(chars / 8)).slice(0, chars)
      const utf8 = Buffer.from(s)
      const expected = Buffer.concat([Buffer.from(header(utf8.length)), utf8])
      assert.deepEqual(encode(s), expected, `${chars} chars of ${JSON.stringify(piece)}`)
      enc.write(s)
      enc.write(s)
      assert.deepEqual(Buffer.from(enc.take()), Buffer.concat([expected, expected]))
      assert.equal(decode(expected), utf8.toString())
    }
  }
})
