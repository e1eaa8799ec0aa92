'use strict'
const test = require('node:test')
const assert = require('node:assert/strict')
const { rpc, listen, once, invokeCb, closeAll } = require('./helpers')

function adder() {
  return rpc.createServer({ add: (a, b, res) => res.result(a + b) })
}

test('createClient(port, readyCb) treats a function in the host slot as the ready callback', async () => {
  const server = adder()
  const port = await listen(server)
  let client
  await new Promise((resolve) => {
    client = rpc.createClient(port, resolve)
  })
  assert.deepEqual(await invokeCb(client, 'add', 1, 2), [null, 3])
  await closeAll(client, server)
})

test('queues calls made before the connection is up', async () => {
  const server = adder()
  const port = await listen(server)
  const client = rpc.createClient(port, '127.0.0.1')
  const early = invokeCb(client, 'add', 2, 3)
  client.notify('ignored')
  assert.deepEqual(await early, [null, 5])
  await closeAll(client, server)
})

test('emits ready once connected and exposes socket details on .stream', async () => {
  const server = adder()
  const port = await listen(server)
  const client = rpc.createClient(port, '127.0.0.1')
  assert.equal(client.stream.connecting, true)
  await once(client, 'ready')
  assert.equal(client.stream.remotePort, port)
  assert.equal(client.stream.remoteAddress, '127.0.0.1')
  assert.equal(typeof client.stream.localPort, 'number')
  assert.equal(client.stream.writable, true)
  await closeAll(client, server)
})

test('close() is idempotent and emits close once, on a later tick', async () => {
  const server = adder()
  const port = await listen(server)
  const client = rpc.createClient(port, '127.0.0.1')
  await once(client, 'ready')
  let closes = 0
  client.on('close', () => closes++)
  const a = client.close()
  const b = client.close()
  assert.equal(closes, 0)
  await Promise.all([a, b])
  await new Promise((resolve) => setImmediate(resolve))
  assert.equal(closes, 1)
  assert.equal(client.closed, true)
  await server.close()
})

test('calls after close fail with a closed error', async () => {
  const server = adder()
  const port = await listen(server)
  const client = rpc.createClient(port, '127.0.0.1')
  await once(client, 'ready')
  await client.close()
  const [err] = await invokeCb(client, 'add', 1, 1)
  assert.ok(err instanceof Error)
  assert.equal(err.code, 'ERR_MSGPACK_RPC_CLOSED')
  await server.close()
})

test('invoke with a callback returns true while the write queue is short', async () => {
  const server = adder()
  const port = await listen(server)
  const client = rpc.createClient(port, '127.0.0.1')
  assert.equal(client.invoke('add', 1, 1, () => {}), true)
  assert.equal(client.notify('x'), true)
  await closeAll(client, server)
})

test('msgids wrap around at 2^32 and skip ids still in flight', async () => {
  const slow = []
  const server = rpc.createServer({
    hold(res) {
      slow.push(res)
    },
    id: (res) => res.result('ok'),
  })
  const port = await listen(server)
  const client = rpc.createClient(port, '127.0.0.1')
  client._lastId = 0xfffffffe
  const held = invokeCb(client, 'hold') // takes msgid 0xffffffff
  const ids = []
  const nextId = client._nextId
  client._nextId = function () {
    const id = nextId.call(this)
    ids.push(id)
    return id
  }
  client._lastId = 0xfffffffe // force the allocator onto the held id
  assert.deepEqual(await invokeCb(client, 'id'), [null, 'ok'])
  assert.deepEqual(await invokeCb(client, 'id'), [null, 'ok'])
  assert.deepEqual(ids, [0, 1])
  slow[0].result('released')
  assert.deepEqual(await held, [null, 'released'])
  await closeAll(client, server)
})

test('rejects a method name that is not a string with a TypeError', async () => {
  const server = adder()
  const port = await listen(server)
  const client = rpc.createClient(port, '127.0.0.1')
  assert.throws(() => client.invoke(42, () => {}), { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' })
  assert.throws(() => client.notify(null), TypeError)
  assert.throws(() => rpc.createClient(99999), { code: 'ERR_SOCKET_BAD_PORT' })
  await closeAll(client, server)
})
