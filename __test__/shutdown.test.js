'use strict'
// Graceful shutdown, backpressure seen from the client, limits on pending work.
const test = require('node:test')
const assert = require('node:assert/strict')
const { rpc, listen, once, invokeCb } = require('./helpers')

test('server.close() lets an in-flight request finish, then closes', async () => {
  const server = rpc.createServer({
    slow(res) {
      setTimeout(() => res.result('finished'), 100)
    },
  })
  const port = await listen(server)
  const client = await rpc.connect(port, '127.0.0.1')
  const clientClosed = once(client, 'close')
  const call = client.invoke('slow')
  await new Promise((resolve) => setTimeout(resolve, 20))
  const closed = server.close()
  assert.equal(await call, 'finished')
  await closed
  await clientClosed
  assert.equal(client.closed, true)
})

test('server.close() drops connections still busy after closeTimeout', async () => {
  const server = rpc.createServer({ never() {} }, { closeTimeout: 100 })
  const port = await listen(server)
  const client = await rpc.connect(port, '127.0.0.1')
  const call = client.invoke('never')
  await new Promise((resolve) => setTimeout(resolve, 20))
  const started = Date.now()
  await server.close()
  assert.ok(Date.now() - started < 3000)
  await assert.rejects(call, { code: 'ERR_MSGPACK_RPC_CLOSED' })
})

test('client.close() flushes what was already written', async () => {
  const got = []
  const server = rpc.createServer({
    note(n) {
      got.push(n)
    },
  })
  const port = await listen(server)
  const client = await rpc.connect(port, '127.0.0.1')
  for (let i = 0; i < 100; i++) client.notify('note', i)
  await client.close()
  for (let i = 0; i < 100 && got.length < 100; i++) await new Promise((resolve) => setTimeout(resolve, 10))
  assert.equal(got.length, 100)
  await server.close()
})

test('invoke and notify return false past the high-water mark, then drain is emitted', async () => {
  const server = rpc.createServer({ sink() {} })
  const port = await listen(server)
  const client = await rpc.connect({ port, host: '127.0.0.1', highWaterMark: 1024 })
  assert.equal(client.notify('sink', 'small'), true)
  assert.equal(client.notify('sink', 'x'.repeat(4096)), false)
  await once(client, 'drain')
  assert.equal(client.notify('sink', 'small'), true)
  await client.close()
  await server.close()
})

test('maxPendingCalls refuses calls past the limit, both ways', async () => {
  const server = rpc.createServer({ hold() {}, quick: (res) => res.result('ok') }, { maxPendingCalls: 2 })
  const port = await listen(server)
  const client = await rpc.connect({ port, host: '127.0.0.1', maxPendingCalls: 3 })
  const held = [client.invoke('hold'), client.invoke('hold')]
  // The server owes two answers already: a third request is refused at once.
  await assert.rejects(client.invoke('quick'), { code: 'ERR_MSGPACK_RPC_REMOTE', data: 'too many pending requests (2)' })
  client.invoke('hold').catch(() => {})
  await assert.rejects(client.invoke('quick'), { code: 'ERR_MSGPACK_RPC_TOO_MANY_PENDING' })
  server.close().catch(() => {})
  await client.close()
  await Promise.allSettled(held)
})

test('maxConnections closes connections past the limit', async () => {
  const server = rpc.createServer({ ping: (res) => res.result('pong') }, { maxConnections: 1 })
  const port = await listen(server)
  const first = await rpc.connect(port, '127.0.0.1')
  assert.equal(await first.invoke('ping'), 'pong')
  const second = rpc.createClient(port, '127.0.0.1')
  const [err] = await invokeCb(second, 'ping')
  assert.ok(err instanceof Error)
  assert.equal(await first.invoke('ping'), 'pong')
  await first.close()
  await server.close()
})
