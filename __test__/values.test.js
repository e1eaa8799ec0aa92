'use strict'
// The value table (README "Values"), row by row, over a real socket: each
// value goes to an echo server and back, and the server reports what it saw.
const test = require('node:test')
const assert = require('node:assert/strict')
const { rpc, listen, closeAll } = require('./helpers')

let server, client

test.before(async () => {
  server = rpc.createServer({
    echo: (v, res) => res.result(v),
    describe: (v, res) =>
      res.result({
        type: typeof v,
        ctor: v === null ? 'null' : v && v.constructor ? v.constructor.name : 'none',
        proto: v !== null && typeof v === 'object' ? Object.getPrototypeOf(v) === Object.prototype : false,
      }),
  })
  const port = await listen(server)
  client = await rpc.connect(port, '127.0.0.1')
})

test.after(() => closeAll(client, server))

const echo = (v) => client.invoke('echo', v)

test('null and undefined travel as nil and come back as null', async () => {
  assert.equal(await echo(null), null)
  assert.equal(await echo(undefined), null)
  assert.deepEqual(await echo([undefined, 1]), [null, 1])
})

test('booleans, safe integers and floats keep their values', async () => {
  for (const v of [true, false, 0, 1, -1, 127, 128, -33, 65535, 2 ** 32, -(2 ** 31) - 1, Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER, 1.5, -0.25, 1e300]) {
    assert.equal(await echo(v), v)
  }
  assert.ok(Number.isNaN(await echo(NaN)))
  assert.equal(await echo(Infinity), Infinity)
})

test('64-bit integers beyond 2^53 come back as BigInt without precision loss', async () => {
  assert.equal(await echo(2n ** 63n), 2n ** 63n)
  assert.equal(await echo(2n ** 64n - 1n), 2n ** 64n - 1n)
  assert.equal(await echo(-(2n ** 63n)), -(2n ** 63n))
  // A small bigint is an integer on the wire and a number back.
  assert.equal(await echo(5n), 5)
})

test('a bigint out of the 64-bit range is a TypeError with ERR_MSGPACK_RPC_ENCODE', async () => {
  await assert.rejects(echo(2n ** 64n), { name: 'TypeError', code: 'ERR_MSGPACK_RPC_ENCODE' })
})

test('strings stay strings (never bin), Buffers and Uint8Arrays travel as bin and return as Buffer', async () => {
  assert.equal(await echo('héllo wörld 👋'), 'héllo wörld 👋')
  assert.deepEqual(await client.invoke('describe', 'x'), { type: 'string', ctor: 'String', proto: false })
  const buf = await echo(Buffer.from([1, 2, 3]))
  assert.ok(Buffer.isBuffer(buf))
  assert.deepEqual([...buf], [1, 2, 3])
  const u8 = await echo(new Uint8Array([9, 8]))
  assert.ok(Buffer.isBuffer(u8))
  assert.deepEqual([...u8], [9, 8])
  assert.deepEqual(await client.invoke('describe', Buffer.alloc(2)), { type: 'object', ctor: 'Buffer', proto: false })
})

test('arrays and plain objects keep their shape', async () => {
  const v = { a: [1, 'two', { three: 3 }], b: { c: null }, d: '' }
  assert.deepEqual(await echo(v), v)
  assert.deepEqual(await client.invoke('describe', { x: 1 }), { type: 'object', ctor: 'Object', proto: true })
})

test('__proto__ and constructor keys are plain data, never a prototype', async () => {
  const v = JSON.parse('{"__proto__": {"polluted": true}, "constructor": "c"}')
  const back = await echo(v)
  assert.equal(Object.getPrototypeOf(back), Object.prototype)
  assert.ok(Object.prototype.hasOwnProperty.call(back, '__proto__'))
  assert.deepEqual(back.__proto__, { polluted: true })
  assert.equal(back.constructor, 'c')
  assert.equal({}.polluted, undefined)
})

test('objects of one shape stay exact however often they travel, and so do objects that differ in one key', async () => {
  // Both decoders (server and client) learn the key sequence on the way.
  const make = (i) => ({ id: i, name: `n${i}`, nested: { inner: [i, i + 1], flag: i % 2 === 0 } })
  const replies = await Promise.all(Array.from({ length: 40 }, (_, i) => echo(i % 10 === 9 ? { ...make(i), extra: i } : make(i))))
  replies.forEach((back, i) => {
    const keys = ['id', 'name', 'nested', ...(i % 10 === 9 ? ['extra'] : [])]
    assert.deepEqual(Object.keys(back), keys)
    assert.equal(Object.getPrototypeOf(back), Object.prototype)
    assert.deepEqual(back.nested, { inner: [i, i + 1], flag: i % 2 === 0 })
    assert.equal(back.id, i)
  })
  const polluting = () => JSON.parse('{"a": 1, "__proto__": {"polluted": true}, "b": 2}')
  for (let i = 0; i < 12; i++) {
    const back = await echo(polluting())
    assert.deepEqual(Object.keys(back), ['a', '__proto__', 'b'])
    assert.equal(Object.getPrototypeOf(back), Object.prototype)
    assert.equal({}.polluted, undefined)
  }
})

test('Maps travel with any keys; maps with non-string keys come back as Map', async () => {
  const m = await echo(new Map([[1, 'one'], ['two', 2]]))
  assert.ok(m instanceof Map)
  assert.equal(m.get(1), 'one')
  assert.equal(m.get('two'), 2)
  // A Map with only string keys is a plain object on the other side.
  assert.deepEqual(await echo(new Map([['k', 'v']])), { k: 'v' })
})

test('Dates travel as the timestamp extension and come back as Date', async () => {
  for (const d of [new Date(0), new Date('2026-11-24T12:34:56.789Z'), new Date(-1000), new Date(2 ** 34 * 1000 + 5)]) {
    const back = await echo(d)
    assert.ok(back instanceof Date)
    assert.equal(back.getTime(), d.getTime())
  }
})

test('other extensions travel as Ext and come back as Ext', async () => {
  const back = await echo(new rpc.Ext(7, Buffer.from('abc')))
  assert.ok(back instanceof rpc.Ext)
  assert.equal(back.type, 7)
  assert.equal(back.data.toString(), 'abc')
})

test('functions, symbols and cycles are refused with a clear TypeError', async () => {
  const cyclic = {}
  cyclic.self = cyclic
  // (A function as the last invoke argument is the callback, so use request().)
  for (const bad of [() => 1, Symbol('s'), cyclic, { nested: [() => 1] }]) {
    await assert.rejects(client.request('echo', [bad]), { name: 'TypeError', code: 'ERR_MSGPACK_RPC_ENCODE' })
  }
  // The stream is still usable afterwards.
  assert.equal(await echo('fine'), 'fine')
})

test('a handler returning what cannot be encoded answers with an error and the server goes on', async () => {
  const errors = []
  const odd = rpc.createServer({ fn: () => () => 1, later: async () => Symbol('s'), ok: () => 'ok' })
  odd.on('connection', (stream) => stream.on('error', (err) => errors.push([err.code, err.cause.code])))
  const port = await listen(odd)
  const c = await rpc.connect(port, '127.0.0.1')
  await assert.rejects(c.invoke('fn'), { code: 'ERR_MSGPACK_RPC_REMOTE', message: /cannot encode the result: cannot encode a function/ })
  await assert.rejects(c.invoke('later'), { code: 'ERR_MSGPACK_RPC_REMOTE', message: /cannot encode the result: cannot encode a symbol/ })
  assert.equal(await c.invoke('ok'), 'ok')
  // A fault of the handler's, reported with the encode error as its cause.
  const fault = ['ERR_MSGPACK_RPC_HANDLER', 'ERR_MSGPACK_RPC_ENCODE']
  assert.deepEqual(errors, [fault, fault])
  await closeAll(c, odd)
})

test('large values round-trip: a 1 MiB Buffer and a 100 KiB string', async () => {
  const big = Buffer.alloc(1024 * 1024, 7)
  assert.ok((await echo(big)).equals(big))
  const s = 'ü'.repeat(50 * 1024)
  assert.equal(await echo(s), s)
})

test('received Buffers and Ext payloads stay intact after later reads reuse the read buffer', async () => {
  const kept = []
  const keeper = rpc.createServer({
    keep: (bin, ext) => kept.push([bin, ext]),
    check: (res) => res.result(kept.length),
  })
  const port = await listen(keeper)
  const sender = await rpc.connect(port, '127.0.0.1')
  try {
    await sendAndCheck(sender, kept)
  } finally {
    await closeAll(sender, keeper)
  }
})

async function sendAndCheck(sender, kept) {
  const sent = []
  for (let round = 0; round < 20; round++) {
    for (let i = 0; i < 10; i++) {
      const n = round * 10 + i
      const bin = Buffer.alloc(100 + n, n & 0xff)
      const ext = new rpc.Ext(5, Buffer.alloc(8, (n * 7) & 0xff))
      sent.push([bin, ext])
      sender.notify('keep', bin, ext)
    }
    // A round trip between rounds puts each round in a later read.
    assert.equal(await sender.invoke('check'), sent.length)
  }
  assert.equal(kept.length, sent.length)
  for (let n = 0; n < sent.length; n++) {
    assert.ok(Buffer.isBuffer(kept[n][0]))
    assert.deepEqual(kept[n][0], sent[n][0], `Buffer ${n}`)
    assert.equal(kept[n][1].type, 5)
    assert.deepEqual(kept[n][1].data, sent[n][1].data, `Ext ${n}`)
  }
  // Bursts bigger than one read batch (64 KiB) arrive whole and in order.
  const big = Array.from({ length: 40 }, (_, i) => Buffer.alloc(5000, i))
  const echoed = await Promise.all(big.map((b) => client.invoke('echo', b)))
  echoed.forEach((b, i) => assert.deepEqual(b, big[i], `burst ${i}`))
}
