'use strict'
// What an RpcStream makes on first use instead of per connection (docs/design.md,
// "Per-connection memory"): the listener table, the pending-call table, the
// encoder (shared between streams through a spare list). These tests read
// them through the public API before and after first use.

const test = require('node:test')
const assert = require('node:assert/strict')
const events = require('node:events')
const { Duplex } = require('node:stream')
const rpc = require('..')
const { listen, once, closeAll } = require('./helpers')

test('a server stream that never had a listener answers the EventEmitter API, and a listener added later is called', async () => {
  const server = rpc.createServer({ add: (a, b, res) => res.result(a + b) })
  const port = await listen(server)
  const client = await rpc.connect({ port, host: '127.0.0.1' })
  let stream
  try {
    assert.equal(await client.request('add', [1, 2]), 3)
    ;[stream] = server.connections
    assert.deepEqual(stream.eventNames(), [])
    assert.equal(stream.listenerCount('close'), 0)
    assert.deepEqual(stream.listeners('close'), [])
    assert.deepEqual(stream.rawListeners('close'), [])
    assert.deepEqual(events.getEventListeners(stream, 'close'), [])
    assert.equal(stream.removeListener('close', () => {}), stream)
    assert.equal(stream.removeAllListeners('close'), stream)
    assert.equal(stream.emit('nothing'), false)
    const boom = new Error('no listener')
    assert.throws(() => stream.emit('error', boom), (err) => err === boom)
    const closed = events.once(stream, 'close')
    assert.equal(stream.listenerCount('close'), 1)
    await client.close()
    await closed
    assert.equal(stream.closed, true)
  } finally {
    await closeAll(client, server)
  }
})

test('a server stream that never called reports no pending calls, then calls its peer, and a call after the close fails as closed', async () => {
  const server = rpc.createServer({ add: (a, b, res) => res.result(a + b) })
  const port = await listen(server)
  const client = await rpc.connect({ port, host: '127.0.0.1', handler: { twice: (x, res) => res.result(x * 2) } })
  const bystander = await rpc.connect({ port, host: '127.0.0.1' })
  try {
    assert.equal(await client.request('add', [2, 3]), 5)
    assert.equal(await bystander.request('add', [1, 1]), 2)
    const [stream, other] = server.connections
    assert.equal(stream.pendingCalls, 0)
    assert.equal(stream.stats().calls.pending, 0)
    const calls = Array.from({ length: 100 }, (_, i) => stream.request('twice', [i]))
    assert.equal(stream.pendingCalls, 100)
    // Its calls are its own: the table of a stream that never called is not shared with it.
    assert.equal(other.pendingCalls, 0)
    assert.equal(client.pendingCalls, 0)
    assert.deepEqual(await Promise.all(calls), Array.from({ length: 100 }, (_, i) => i * 2))
    assert.equal(stream.pendingCalls, 0)
    assert.equal(stream.stats().calls.sent, 100)
    const closed = once(stream, 'close')
    await client.close()
    await closed
    await assert.rejects(stream.request('twice', [1]), { code: rpc.codes.CLOSED })
    assert.equal(stream.pendingCalls, 0)
  } finally {
    await closeAll(client, bystander, server)
  }
})

test('answers and notifications to many connections encoded in the same tick each reach their own peer', async () => {
  const server = rpc.createServer({ echo: (value, res) => res.result(value) })
  const port = await listen(server)
  const clients = []
  try {
    for (let i = 0; i < 8; i++) clients.push(await rpc.connect({ port, host: '127.0.0.1' }))
    // Sizes on both sides of a fresh encoder's buffer, so some encoders grow while others are out.
    const payload = (c, k) => `${c}:${k}:`.padEnd(k % 3 === 0 ? 3000 : 10, String.fromCharCode(97 + c))
    for (let round = 0; round < 3; round++) {
      const replies = clients.map((client, c) => Promise.all(Array.from({ length: 20 }, (_, k) => client.request('echo', [payload(c, k)]))))
      const got = await Promise.all(replies)
      got.forEach((values, c) => assert.deepEqual(values, Array.from({ length: 20 }, (_, k) => payload(c, k))))
    }
    const heard = clients.map((client) => once(client, 'notify'))
    // One loop, one tick: every stream holds an encoder at once until the flushes.
    server.connections.forEach((stream, i) => stream.notify('you-are', i, 'x'.repeat(i * 500)))
    const notes = await Promise.all(heard)
    const numbers = notes.map(([method, params]) => {
      assert.equal(method, 'you-are')
      assert.equal(params[1], 'x'.repeat(params[0] * 500))
      return params[0]
    })
    assert.deepEqual([...numbers].sort((a, b) => a - b), [0, 1, 2, 3, 4, 5, 6, 7])
  } finally {
    await closeAll(...clients, server)
  }
})

test('a peer that answers inside our write (an in-process duplex) gets its answers encoded apart from our batch', async () => {
  // Each end's write pushes to the other end at once: the peer decodes and
  // answers before our write returns.
  let aEnd, bEnd
  const end = (other) =>
    new Duplex({
      read() {},
      write(chunk, _encoding, done) {
        other().push(chunk)
        done()
      },
      final(done) {
        other().push(null)
        done()
      },
    })
  aEnd = end(() => bEnd)
  bEnd = end(() => aEnd)
  const a = rpc.attach(aEnd)
  const b = rpc.attach(bEnd, { add: (x, y, res) => res.result(x + y) })
  try {
    // More than one batch's worth in one tick, so a batch is written while calls are still being encoded.
    const calls = Array.from({ length: 300 }, (_, i) => a.request('add', [i, 1000]))
    assert.deepEqual(await Promise.all(calls), Array.from({ length: 300 }, (_, i) => i + 1000))
  } finally {
    await closeAll(a, b)
  }
})
