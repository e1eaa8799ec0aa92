'use strict'
// The decoder's key-sequence tree (lib/key-shapes.js, lib/codec.js readMap):
// a differential fuzz of a decoder that has learnt against one that has not
// (a fresh instance, the plain path) over maps a hostile peer could send:
// keys that are code, quotes, backslashes, line separators, lone surrogates,
// invalid UTF-8, __proto__ and its look-alikes, integer-like and repeated
// keys, the same key in every string format, non-string keys, nested maps.
// Each map is decoded often enough to be learnt and get its builder.
const test = require('node:test')
const assert = require('node:assert/strict')
const codec = require('../lib/codec')
const { prng, unlearntCodec } = require('./helpers')

/**
 * What a decoder that has learnt nothing makes of `bytes`: a fresh instance
 * of lib/codec.js and its key-sequence tree, so the plain path, the one the
 * tree must agree with.
 */
function unlearntDecode(bytes) {
  return unlearntCodec().decode(bytes)
}

const KEYS = [
  '__proto__',
  '__Proto__',
  '__proto__\u0000',
  ' __proto__',
  '__proto',
  'constructor',
  'prototype',
  'toString',
  'hasOwnProperty',
  'valueOf',
  '__defineGetter__',
  '__lookupSetter__',
  '0',
  '1',
  '01',
  '-0',
  '-1',
  '1.5',
  '1e3',
  '4294967294',
  '4294967295',
  '9007199254740993',
  '',
  ' ',
  '"',
  '\\',
  '\\"',
  "'",
  '`',
  '${1}',
  '"+process.exit(3)+"',
  "'];process.exit(4);//",
  '`${process.exit(5)}`',
  '}),process.exit(6),({',
  '*/process.exit(7)/*',
  '\u2028',
  '\u2029',
  '\u2028}process.exit(8)//',
  '\ud800',
  '\udc00',
  '\udc00\ud800',
  '\ud83d\ude00',
  '\n',
  '\r',
  '\u0000',
  '\u007f',
  'é',
  '\ufeff',
  '\ufffd',
  'a',
  'b',
  'id',
  'name',
  'a'.repeat(31),
  'a'.repeat(32),
  'k'.repeat(200),
]

/** Bytes that are not UTF-8 (or only just are): decoded as Buffer#toString decodes them. */
const RAW_KEYS = [
  [0xff],
  [0x80],
  [0xc0, 0x80],
  [0xed, 0xa0, 0x80],
  [0xed, 0xb0, 0x80],
  [0xe2, 0x80, 0xa8],
  [0xf4, 0x90, 0x80, 0x80],
  [0x61, 0xff, 0x62],
  [0x5f, 0x5f, 0x70, 0x72, 0x6f, 0x74, 0x6f, 0x5f, 0x5f, 0xff],
].map((b) => Buffer.from(b))

function strBytes(bytes, format) {
  const n = bytes.length
  if (format === 0 && n < 32) return Buffer.concat([Buffer.from([0xa0 | n]), bytes])
  if (format <= 1 && n < 0x100) return Buffer.concat([Buffer.from([0xd9, n]), bytes])
  if (format <= 2 && n < 0x10000) return Buffer.concat([Buffer.from([0xda, n >> 8, n & 0xff]), bytes])
  const h = Buffer.alloc(5)
  h[0] = 0xdb
  h.writeUInt32BE(n, 1)
  return Buffer.concat([h, bytes])
}

function mapHeader(n) {
  if (n < 16) return Buffer.from([0x80 | n])
  return Buffer.from([0xde, n >> 8, n & 0xff])
}

/** A key: mostly a string from the pools, in any string format; now and then not a string. */
function keyBytes(rand) {
  const r = rand()
  if (r < 0.03) return Buffer.from([Math.floor(rand() * 0x80)]) // an int key
  if (r < 0.04) return Buffer.from([0xc4, 1, 0x61]) // a bin key
  if (r < 0.1) return strBytes(RAW_KEYS[Math.floor(rand() * RAW_KEYS.length)], Math.floor(rand() * 4))
  const key = KEYS[Math.floor(rand() * KEYS.length)]
  // Mostly the shortest form (the one the tree predicts), sometimes a longer one.
  return strBytes(Buffer.from(key), rand() < 0.7 ? 0 : Math.floor(rand() * 4))
}

function valueBytes(rand, depth) {
  const r = rand()
  if (depth < 3 && r < 0.15) return mapBytes(rand, depth + 1)
  if (depth < 3 && r < 0.2) {
    const n = Math.floor(rand() * 3)
    return Buffer.concat([Buffer.from([0x90 | n]), ...Array.from({ length: n }, () => valueBytes(rand, depth + 1))])
  }
  if (r < 0.25) return Buffer.from([0xc0])
  if (r < 0.3) return strBytes(Buffer.from(KEYS[Math.floor(rand() * KEYS.length)]), 0)
  return Buffer.from([Math.floor(rand() * 0x80)])
}

/** The keys of the last outermost map made, as sent (the path the tree learns). */
let sentKeys = []

function mapBytes(rand, depth) {
  // Mostly small maps, some up to the tree's 32 keys, a few past it (decoded plainly).
  const r = rand()
  const n = r < 0.05 ? 33 + Math.floor(rand() * 4) : r < 0.25 ? 9 + Math.floor(rand() * 24) : Math.floor(rand() * 9)
  const parts = [mapHeader(n)]
  const keys = []
  for (let i = 0; i < n; i++) {
    const key = keyBytes(rand)
    keys.push(codec.decode(key))
    parts.push(key, valueBytes(rand, depth))
  }
  if (depth === 0) sentKeys = keys
  return Buffer.concat(parts)
}

/** Same type, prototype, own keys in order, descriptors and values, all the way down. */
function assertSame(a, b, where) {
  assert.equal(typeof b, typeof a, where)
  if (a === null || typeof a !== 'object') {
    assert.ok(Object.is(a, b), `${where}: ${String(a)} vs ${String(b)}`)
    return
  }
  assert.equal(Object.getPrototypeOf(b), Object.getPrototypeOf(a), `${where}: prototype`)
  if (Buffer.isBuffer(a)) {
    assert.ok(Buffer.isBuffer(b) && a.equals(b), `${where}: bin`)
    return
  }
  if (a instanceof Map) {
    const ea = [...a]
    const eb = [...b]
    assert.equal(eb.length, ea.length, `${where}: Map size`)
    for (let i = 0; i < ea.length; i++) {
      assertSame(ea[i][0], eb[i][0], `${where}: Map key ${i}`)
      assertSame(ea[i][1], eb[i][1], `${where}: Map value ${i}`)
    }
    return
  }
  const ka = Reflect.ownKeys(a)
  assert.deepEqual(Reflect.ownKeys(b), ka, `${where}: own keys`)
  for (const k of ka) {
    const da = Object.getOwnPropertyDescriptor(a, k)
    const db = Object.getOwnPropertyDescriptor(b, k)
    assert.ok(!db.get && !db.set, `${where}: ${JSON.stringify(k)} is an accessor`)
    assert.deepEqual([db.enumerable, db.writable, db.configurable], [da.enumerable, da.writable, da.configurable], `${where}: ${JSON.stringify(k)}`)
    assertSame(da.value, db.value, `${where}.${JSON.stringify(k)}`)
  }
}

/** Builders are rate-limited by keys decoded: this decodes enough (in a sequence that never gets one). */
const filler = Buffer.concat([
  Buffer.from([0x8f]),
  strBytes(Buffer.from('__proto__'), 0),
  Buffer.from([0]),
  ...Array.from({ length: 14 }, (_, i) => [strBytes(Buffer.from(`f${i}`), 0), Buffer.from([i])]).flat(),
])
function earnBuilder() {
  for (let i = 0; i < 300; i++) codec.decode(filler)
}

/** Whether the tree holds a builder for the string keys `keys` (walked from its root). */
function hasBuilder(keys) {
  const { MAX_KEYS, shapeRoot, findChild } = require('../lib/key-shapes')
  if (keys.length > MAX_KEYS) return false
  let node = shapeRoot(keys.length)
  for (const k of keys) {
    node = findChild(node, k)
    if (node === null) return false
  }
  return node.build !== null
}

test('maps of hostile keys decode, learnt or not, exactly as a decoder that has learnt nothing decodes them', () => {
  const protoKeys = Reflect.ownKeys(Object.prototype)
  let built = 0
  for (let seed = 1; seed <= 400; seed++) {
    const rand = prng(seed)
    const bytes = mapBytes(rand, 0)
    const expected = unlearntDecode(bytes)
    for (let round = 0; round < 6; round++) {
      assertSame(expected, codec.decode(bytes), `seed ${seed} round ${round} (${bytes.toString('hex')})`)
      // And as a notification's params, through the batch decoder.
      const message = Buffer.concat([Buffer.from([0x93, 0x02, 0xa1, 0x6e, 0x91]), bytes])
      let params
      codec.decodeMessages(message, {
        _onNotify: (method, p) => (params = p),
        _onProtocolError: (err) => assert.fail(err),
        _onDispatchFault: (err) => assert.fail(err),
      })
      assertSame(expected, params[0], `seed ${seed} round ${round} in a message`)
    }
    if (sentKeys.length > 0 && sentKeys.every((k) => typeof k === 'string') && hasBuilder(sentKeys)) built++
    earnBuilder()
  }
  assert.deepEqual(Reflect.ownKeys(Object.prototype), protoKeys)
  assert.equal({}.polluted, undefined)
  // The fuzz reached the builders, not only the plain path.
  assert.ok(built >= 50, `only ${built} sequences got a builder`)
})
