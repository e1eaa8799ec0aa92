'use strict'
// The modern API: promises, typed errors, per-call options, async handlers.
const test = require('node:test')
const assert = require('node:assert/strict')
const { rpc, listen, closeAll } = require('./helpers')

let server, client, held

test.before(async () => {
  held = []
  server = rpc.createServer({
    add: (a, b, res) => res.result(a + b),
    async addAsync(a, b) {
      await new Promise((resolve) => setTimeout(resolve, 1))
      return a + b
    },
    failString: (res) => res.error('plain failure'),
    failNvim: (res) => res.error([0, 'Vim:E121: Undefined variable: x']),
    failMap: (res) => res.error({ message: 'mapped failure', code: 42 }),
    async throws() {
      throw new Error('thrown in handler')
    },
    hold(res) {
      held.push(res)
    },
  })
  const port = await listen(server)
  client = await rpc.connect(port, '127.0.0.1')
})

test.after(() => closeAll(client, server))

test('invoke without a callback returns a Promise of the result', async () => {
  const p = client.invoke('add', 2, 3)
  assert.ok(p instanceof Promise)
  assert.equal(await p, 5)
  assert.equal(await client.invoke('addAsync', 4, 5), 9)
})

test('remote errors reject with ERR_MSGPACK_RPC_REMOTE, the raw value in .data and a readable message', async () => {
  await assert.rejects(client.invoke('failString'), (err) => {
    assert.ok(err instanceof rpc.RemoteError)
    assert.equal(err.code, 'ERR_MSGPACK_RPC_REMOTE')
    assert.equal(err.data, 'plain failure')
    assert.equal(err.message, 'plain failure')
    return true
  })
  await assert.rejects(client.invoke('failNvim'), (err) => {
    assert.deepEqual(err.data, [0, 'Vim:E121: Undefined variable: x'])
    assert.equal(err.message, 'Vim:E121: Undefined variable: x')
    return true
  })
  await assert.rejects(client.invoke('failMap'), (err) => {
    assert.deepEqual(err.data, { message: 'mapped failure', code: 42 })
    assert.equal(err.message, 'mapped failure')
    return true
  })
})

test('an async handler that throws answers an error carrying its message', async () => {
  await assert.rejects(client.invoke('throws'), { code: 'ERR_MSGPACK_RPC_REMOTE', data: 'thrown in handler' })
})

test('a per-call timeout overrides the stream timeout and rejects with ERR_MSGPACK_RPC_TIMEOUT', async () => {
  client.setTimeout(60000)
  const started = Date.now()
  await assert.rejects(client.request('hold', [], { timeout: 50 }), (err) => {
    assert.ok(err instanceof rpc.TimeoutError)
    assert.equal(err.code, 'ERR_MSGPACK_RPC_TIMEOUT')
    return true
  })
  assert.ok(Date.now() - started < 5000)
  assert.equal(client.pendingCalls, 0, 'the timed-out call freed its slot')
  // The stream timeout applies to invoke() without options.
  client.setTimeout(40)
  await assert.rejects(client.invoke('hold'), { code: 'ERR_MSGPACK_RPC_TIMEOUT' })
  client.setTimeout(0)
  // Late replies are dropped quietly.
  for (const res of held.splice(0)) res.result('late')
  assert.equal(await client.invoke('add', 1, 1), 2)
})

test('an AbortSignal aborted before the call rejects at once without sending', async () => {
  const ac = new AbortController()
  ac.abort()
  const before = held.length
  await assert.rejects(client.request('hold', [], { signal: ac.signal }), (err) => {
    assert.ok(err instanceof rpc.AbortError)
    assert.equal(err.code, 'ERR_MSGPACK_RPC_ABORTED')
    return true
  })
  assert.equal(await client.invoke('add', 0, 0), 0) // a round trip: nothing was sent
  assert.equal(held.length, before)
})

test('an AbortSignal aborted after the request was sent rejects and frees the slot', async () => {
  const ac = new AbortController()
  const before = held.length
  const p = client.request('hold', [], { signal: ac.signal })
  while (held.length === before) await new Promise((resolve) => setTimeout(resolve, 2))
  assert.equal(client.pendingCalls, 1)
  ac.abort()
  await assert.rejects(p, { code: 'ERR_MSGPACK_RPC_ABORTED' })
  assert.equal(client.pendingCalls, 0)
  held.pop().result('late')
  assert.equal(await client.invoke('add', 2, 2), 4)
})

test('a value that cannot be encoded rejects with a TypeError and ERR_MSGPACK_RPC_ENCODE', async () => {
  await assert.rejects(client.invoke('add', () => {}, 1), { name: 'TypeError', code: 'ERR_MSGPACK_RPC_ENCODE' })
  assert.equal(client.pendingCalls, 0)
})

test('connect() rejects with the connect error', async () => {
  const probe = rpc.createServer()
  const port = await listen(probe)
  await probe.close()
  await assert.rejects(rpc.connect(port, '127.0.0.1'), { code: 'ECONNREFUSED' })
})

test('a lost connection rejects pending promises with ERR_MSGPACK_RPC_CLOSED', async () => {
  const s = rpc.createServer({
    quit(res) {
      res.result(null)
    },
    hold() {},
  })
  const port = await listen(s)
  const c = await rpc.connect(port, '127.0.0.1')
  const pending = c.invoke('hold')
  await c.invoke('quit')
  for (const conn of s.connections) conn.stream.destroy()
  await assert.rejects(pending, (err) => {
    assert.ok(err instanceof rpc.ClosedError)
    assert.equal(err.code, 'ERR_MSGPACK_RPC_CLOSED')
    return true
  })
  await s.close()
})

test('listen() and close() return Promises; Symbol.asyncDispose closes', async () => {
  const s = await rpc.listen({ port: 0, host: '127.0.0.1' }, { ping: async () => 'pong' })
  const c = await rpc.connect(s.address().port, '127.0.0.1')
  assert.equal(await c.invoke('ping'), 'pong')
  await c[Symbol.asyncDispose]()
  assert.equal(c.closed, true)
  await s[Symbol.asyncDispose]()
  assert.equal(s.listening, false)
})

test('ESM import gives the same API', async () => {
  const esm = await import('../index.mjs')
  assert.equal(esm.default, rpc)
  assert.equal(esm.createServer, rpc.createServer)
  assert.equal(esm.connect, rpc.connect)
  assert.equal(esm.codes.TIMEOUT, 'ERR_MSGPACK_RPC_TIMEOUT')
})
