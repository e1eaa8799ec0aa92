'use strict'
// The decoder's memory of map key sequences (lib/key-shapes.js): whatever it
// has learnt, every map decodes to exactly what the plain decoder makes —
// same keys in the same order, same values, a plain prototype — and a peer
// that sends endless new sequences cannot make it wrong.
const test = require('node:test')
const assert = require('node:assert/strict')
const { encode, decode, decodeMessages } = require('../lib/codec')

/** Enough repetitions for a sequence to be learnt and get its builder. */
const LEARN = 12

const str = (s) => {
  const b = Buffer.from(s)
  assert.ok(b.length < 32)
  return Buffer.concat([Buffer.from([0xa0 | b.length]), b])
}
/**
 * Builders are rate-limited by keys decoded: this decodes enough of them (in
 * a sequence that never gets a builder itself) for the next one due to be made.
 */
function earnBuilder() {
  const filler = rawMap([[str('__proto__'), int(0)], ...Array.from({ length: 14 }, (_, i) => [str(`f${i}`), int(i)])])
  for (let i = 0; i < 300; i++) decode(filler) // 4500 keys
}

/** A map from raw key bytes and raw value bytes: keys the encoder would never write (duplicates, ints, bad UTF-8). */
const rawMap = (entries) => Buffer.concat([Buffer.from([0x80 | entries.length]), ...entries.flat()])
const int = (n) => Buffer.from([n])

/** Keys in order, each own, enumerable, writable and configurable, and a plain prototype. */
function assertPlain(obj, keys, what) {
  assert.equal(Object.getPrototypeOf(obj), Object.prototype, what)
  assert.deepEqual(Reflect.ownKeys(obj), keys, what)
  for (const k of keys) {
    const d = Object.getOwnPropertyDescriptor(obj, k)
    assert.ok(d.enumerable && d.writable && d.configurable && !d.get && !d.set, `${what}: ${k}`)
  }
}

test('objects with the same keys in the same order decode exactly, before and after they are learnt', () => {
  for (let i = 0; i < LEARN * 2; i++) {
    earnBuilder()
    const v = { id: i, name: `n${i}`, nested: { inner: [i, i + 1], flag: i % 2 === 0 }, score: i * 1.5 }
    const back = decode(encode(v))
    assert.deepEqual(back, v)
    assertPlain(back, ['id', 'name', 'nested', 'score'], `round ${i}`)
    assertPlain(back.nested, ['inner', 'flag'], `round ${i} nested`)
  }
})

test('values of a map that failed half-way are not kept alive by the decoder', async () => {
  const v8 = require('node:v8')
  const vm = require('node:vm')
  v8.setFlagsFromString('--expose-gc')
  const gc = vm.runInNewContext('gc')
  let input = Buffer.concat([Buffer.from([0x82]), str('blob'), Buffer.from([0xc6, 0, 1, 0, 0]), Buffer.alloc(65536, 1), str('x')])
  // A bin value points into its input; held by the decoder, it would pin the input's memory.
  const ref = new WeakRef(input.buffer)
  for (let i = 0; i < LEARN; i++) assert.throws(() => decode(input), { code: 'ERR_MSGPACK_RPC_PROTOCOL' })
  input = null
  for (let i = 0; i < 10 && ref.deref() !== undefined; i++) {
    await new Promise((resolve) => setImmediate(resolve))
    gc()
  }
  assert.equal(ref.deref(), undefined)
})

test('a learnt key sequence does not swallow maps that differ in one key, in order or in length', () => {
  for (let i = 0; i < LEARN; i++) {
    earnBuilder()
    decode(encode({ a: i, b: i, c: i }))
  }
  const variants = [{ a: 1, b: 2, d: 3 }, { a: 1, c: 2, b: 3 }, { b: 1, a: 2, c: 3 }, { a: 1, b: 2 }, { a: 1, b: 2, c: 3, d: 4 }, { a: 1 }, { c: 1, b: 2, a: 3 }, { A: 1, b: 2, c: 3 }, { ab: 1, b: 2, c: 3 }]
  for (let round = 0; round < LEARN; round++) {
    for (const v of variants) {
      const back = decode(encode(v))
      assert.deepEqual(back, v)
      assertPlain(back, Object.keys(v), JSON.stringify(v))
    }
    assertPlain(decode(encode({ a: 1, b: 2, c: 3 })), ['a', 'b', 'c'], 'the learnt one')
  }
})

test('a non-string key inside a learnt sequence still turns the map into a Map with every entry', () => {
  for (let i = 0; i < LEARN; i++) {
    earnBuilder()
    decode(rawMap([[str('a'), int(1)], [str('b'), int(2)], [str('c'), int(3)]]))
  }
  for (let round = 0; round < 3; round++) {
    const m = decode(rawMap([[str('a'), int(1)], [int(7), int(2)], [str('c'), int(3)]]))
    assert.ok(m instanceof Map)
    assert.deepEqual([...m], [['a', 1], [7, 2], ['c', 3]])
    const bin = decode(rawMap([[str('a'), int(1)], [str('b'), int(2)], [Buffer.from('c40163', 'hex'), int(3)]]))
    assert.ok(bin instanceof Map)
    assert.deepEqual([...bin].map(([k, v]) => [Buffer.isBuffer(k) ? k.toString() : k, v]), [['a', 1], ['b', 2], ['c', 3]])
    const first = decode(rawMap([[Buffer.from('c0', 'hex'), int(1)], [str('b'), int(2)]]))
    assert.deepEqual([...first], [[null, 1], ['b', 2]])
  }
  // As before the tree: entries read before the non-string key go in the object's own key order.
  const m = decode(rawMap([[str('b'), int(1)], [str('1'), int(2)], [int(0), int(3)]]))
  assert.deepEqual([...m], [['1', 2], ['b', 1], [0, 3]])
})

test('__proto__, repeated and integer-like keys keep their meaning however often they come', () => {
  for (let i = 0; i < LEARN * 2; i++) {
    earnBuilder()
    const polluting = decode(rawMap([[str('x'), int(1)], [str('__proto__'), rawMap([[str('polluted'), int(1)]])], [str('y'), int(2)]]))
    assertPlain(polluting, ['x', '__proto__', 'y'], '__proto__ key')
    assert.deepEqual(polluting.__proto__, { polluted: 1 })
    assert.equal({}.polluted, undefined)
    assert.equal(polluting.polluted, undefined)

    const repeated = decode(rawMap([[str('a'), int(1)], [str('b'), int(2)], [str('a'), int(3)]]))
    assert.deepEqual(repeated, { a: 3, b: 2 })
    assertPlain(repeated, ['a', 'b'], 'repeated key')

    const indexed = decode(rawMap([[str('b'), int(1)], [str('1'), int(2)], [str('0'), int(3)], [str('constructor'), int(4)]]))
    assertPlain(indexed, ['0', '1', 'b', 'constructor'], 'integer-like keys')
    assert.deepEqual({ ...indexed }, { 0: 3, 1: 2, b: 1, constructor: 4 })
  }
})

test('non-ASCII keys, surrogate pairs, invalid UTF-8 and str8 keys decode as Buffer#toString does, learnt or not', () => {
  const keys = [
    str('héllo'), str('😀'), str('a😀b'), Buffer.from([0xa2, 0xc3, 0x28]), Buffer.from([0xa1, 0xff]),
    Buffer.from([0xa3, 0xed, 0xa0, 0x80]), Buffer.from('d90161', 'hex'), str('a'),
  ]
  const expected = keys.map((k) => (k[0] === 0xd9 ? k.subarray(2) : k.subarray(1)).toString())
  const values = [str('wörld'), str('\u{1F600}\u{1F601}'), Buffer.from([0xa1, 0x80]), int(4), int(5), int(6), int(7), int(8)]
  const wanted = {}
  expected.forEach((k, i) => (wanted[k] = i < 3 ? ['wörld', '😀😁', '\ufffd'][i] : i + 1))
  for (let i = 0; i < LEARN * 2; i++) {
    earnBuilder()
    const back = decode(rawMap(keys.map((k, j) => [k, values[j]])))
    assert.deepEqual(back, wanted)
    assert.deepEqual(Object.keys(back), Object.keys(wanted))
  }
  // 'a' as str8 and as fixstr is one key: the second assignment wins.
  assert.equal(Object.keys(wanted).length, expected.length - 1)
})

test('many more key sequences than the tree holds all decode right, and learnt ones still do afterwards', () => {
  const learnt = { alpha: 1, beta: [2], gamma: { delta: 'd' } }
  for (let i = 0; i < LEARN; i++) {
    earnBuilder()
    decode(encode(learnt))
  }
  // Thousands of sequences: many first keys (wide nodes), long chains, repeats to make builders.
  for (let i = 0; i < 6000; i++) {
    const v = {}
    const n = 1 + (i % 9)
    for (let j = 0; j < n; j++) v[`k${(i * 7 + j * 13) % 977}_${j}`] = j
    for (let r = 0; r < (i % 50 === 0 ? LEARN : 1); r++) {
      const back = decode(encode(v))
      assert.deepEqual(back, v)
      assert.deepEqual(Object.keys(back), Object.keys(v))
    }
  }
  for (let i = 0; i < 3; i++) {
    const back = decode(encode(learnt))
    assert.deepEqual(back, learnt)
    assertPlain(back, ['alpha', 'beta', 'gamma'], 'learnt before the flood')
  }
})

test('maps with long keys, many keys, or nested deeper than the key stack decode right', () => {
  const long = { ['k'.repeat(40)]: 1, short: 2, ['é'.repeat(20)]: 3 }
  const wide = Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`w${i}`, i]))
  let deep = { leaf: true }
  for (let i = 0; i < 300; i++) deep = Object.fromEntries([...Array.from({ length: 20 }, (_, j) => [`p${j}`, j]), ['next', deep]])
  for (let i = 0; i < LEARN; i++) {
    earnBuilder()
    for (const v of [long, wide, deep]) {
      const back = decode(encode(v))
      assert.deepEqual(back, v)
      assert.deepEqual(Object.keys(back), Object.keys(v))
    }
  }
})

test('a decode that fails half-way through a map leaves nothing behind for the next one', () => {
  const good = encode({ a: 1, b: { c: 2, d: 3 }, e: 4 })
  for (let i = 0; i < LEARN; i++) {
    earnBuilder()
    decode(good)
  }
  for (let cut = 1; cut < good.length; cut++) {
    assert.throws(() => decode(good.subarray(0, cut)), { code: 'ERR_MSGPACK_RPC_PROTOCOL' }, `cut at ${cut}`)
    assert.deepEqual(decode(good), { a: 1, b: { c: 2, d: 3 }, e: 4 })
  }
  // The same through decodeMessages: a batch that stops mid-map, then a good one.
  const seen = []
  const errors = []
  const sink = { _onNotify: (m, p) => seen.push(p[0]), _onProtocolError: (e) => errors.push(e.code) }
  const message = encode([2, 'n', [{ a: 1, b: { c: 2, d: 3 }, e: 4 }]])
  decodeMessages(message.subarray(0, message.length - 3), sink)
  decodeMessages(message, sink)
  assert.deepEqual(errors, ['ERR_MSGPACK_RPC_PROTOCOL'])
  assert.deepEqual(seen, [{ a: 1, b: { c: 2, d: 3 }, e: 4 }])
})

test('a key followed by more different keys than a node keeps still learns the next one', () => {
  const { shapeRoot, findChild, addChild } = require('../lib/key-shapes')
  // Fill the tree so that it is dropped: the test starts from an empty one.
  for (let node = shapeRoot(1), i = 0; node !== null; i++) node = addChild(node, `fill${i}`, 8, true)
  const root = shapeRoot(1)
  const parent = findChild(root, 'parent') || addChild(root, 'parent', 7, true)
  assert.ok(parent)
  for (let i = 0; i < 200; i++) {
    const key = `next${i}`
    const child = addChild(parent, key, key.length + 1, true)
    assert.ok(child, `child ${i} learnt`)
    assert.equal(findChild(parent, key), child)
    assert.equal(parent.child, child, 'the newest child is the prediction')
  }
})

test('builders are made no faster than one per few thousand keys decoded, however many sequences are due one', () => {
  const { shapeRoot, addChild, noteShape } = require('../lib/key-shapes')
  // shapeRoot counts the keys of the maps it is called for: 10 000 of them here.
  const credited = () => {
    for (let i = 0; i < 10000 / 25; i++) shapeRoot(25)
    return shapeRoot(1)
  }
  for (let node = shapeRoot(1), i = 0; node !== null; i++) node = addChild(node, `fill${i}`, 8, true)
  const root = credited()
  const due = Array.from({ length: 3 }, (_, i) => addChild(root, `due${i}`, 5, true))
  // As the decoder does: maps ending at a node with a builder are not noted.
  const decoded = () => due.forEach((node) => node.build === null && noteShape(node, [node.key], 0, 1))
  for (let round = 0; round < 10; round++) decoded()
  assert.deepEqual(due.map((node) => typeof node.build), ['function', 'object', 'object'])
  assert.deepEqual(due[0].build([7], 0), { due0: 7 })
  credited()
  decoded()
  assert.deepEqual(due.map((node) => typeof node.build), ['function', 'function', 'object'])
})

test('where code generation from strings is disallowed, learnt sequences still decode right', () => {
  const { execFileSync } = require('node:child_process')
  const script = `
    const { encode, decode } = require(${JSON.stringify(require.resolve('../lib/codec'))})
    const out = []
    for (let i = 0; i < 40; i++) {
      for (let j = 0; j < 300; j++) decode(encode({ f1: j, f2: j, f3: j, f4: j, f5: j, f6: j, f7: j, f8: j, f9: j, f10: j, f11: j, f12: j, f13: j, f14: j }))
      out.push(decode(encode({ id: i, name: 'n' + i, nested: { flag: true } })))
    }
    process.stdout.write(JSON.stringify(out))`
  const out = JSON.parse(execFileSync(process.execPath, ['--disallow-code-generation-from-strings', '-e', script], { encoding: 'utf8' }))
  assert.deepEqual(out, Array.from({ length: 40 }, (_, i) => ({ id: i, name: `n${i}`, nested: { flag: true } })))
})
