'use strict'
// The bytes on the wire, checked with an independent encoder (@msgpack/msgpack)
// over plain net sockets: what we send and how we answer raw input.
const test = require('node:test')
const assert = require('node:assert/strict')
const net = require('node:net')
const { encode, decodeMulti } = require('@msgpack/msgpack')
const { rawClient, rpc, listen, once, closeAll } = require('./helpers')

function server(handler) {
  return rpc.createServer(handler)
}

test('answers a request with [1, msgid, nil, result]', async () => {
  const s = server({ add: (a, b, res) => res.result(a + b) })
  const port = await listen(s)
  const c = await rawClient(port)
  c.socket.write(encode([0, 42, 'add', [1, 2]]))
  assert.deepEqual(await c.next(), [1, 42, null, 3])
  c.socket.destroy()
  await closeAll(s)
})

test('answers an error with [1, msgid, error, nil]', async () => {
  const s = server({ fail: (res) => res.error('bad thing') })
  const port = await listen(s)
  const c = await rawClient(port)
  c.socket.write(encode([0, 7, 'fail', []]))
  assert.deepEqual(await c.next(), [1, 7, 'bad thing', null])
  c.socket.destroy()
  await closeAll(s)
})

test('sends requests and notifications in the spec layout', async () => {
  const raw = net.createServer()
  await new Promise((resolve) => raw.listen(0, '127.0.0.1', resolve))
  const accepted = once(raw, 'connection')
  const client = rpc.createClient(raw.address().port, '127.0.0.1')
  const [socket] = await accepted
  const chunks = []
  socket.on('data', (d) => chunks.push(d))
  client.notify('note', 'x', 1)
  const reply = client.invoke('method', [1, 2])
  await new Promise((resolve) => setTimeout(resolve, 50))
  const msgs = [...decodeMulti(Buffer.concat(chunks))]
  assert.deepEqual(msgs[0], [2, 'note', ['x', 1]])
  assert.equal(msgs[1][0], 0)
  assert.equal(typeof msgs[1][1], 'number')
  assert.deepEqual(msgs[1].slice(2), ['method', [[1, 2]]])
  socket.write(encode([1, msgs[1][1], null, 'done']))
  assert.equal(await reply, 'done')
  await client.close()
  await new Promise((resolve) => raw.close(resolve))
})

test('reads messages split at every byte boundary and many messages in one packet', async () => {
  const s = server({ echo: (v, res) => res.result(v) })
  const port = await listen(s)
  const c = await rawClient(port)
  const msg = Buffer.from(encode([0, 1, 'echo', ['split']]))
  for (const byte of msg) {
    c.socket.write(Buffer.from([byte]))
    await new Promise((resolve) => setImmediate(resolve))
  }
  assert.deepEqual(await c.next(), [1, 1, null, 'split'])
  const many = Buffer.concat(Array.from({ length: 100 }, (_, i) => encode([0, 100 + i, 'echo', [i]])))
  c.socket.write(many)
  for (let i = 0; i < 100; i++) assert.deepEqual(await c.next(), [1, 100 + i, null, i])
  c.socket.destroy()
  await closeAll(s)
})

test('answers a request whose params are not an array with an error response and keeps serving', async () => {
  const s = server({ echo: (v, res) => res.result(v) })
  const port = await listen(s)
  const c = await rawClient(port)
  c.socket.write(encode([0, 5, 'echo', 'not-an-array']))
  const [type, id, error, result] = await c.next()
  assert.deepEqual([type, id, result], [1, 5, null])
  assert.match(error, /params array/)
  c.socket.write(encode([0, 6, 'echo', ['still here']]))
  assert.deepEqual(await c.next(), [1, 6, null, 'still here'])
  c.socket.destroy()
  await closeAll(s)
})

test('closes a connection that sends bytes which are not msgpack-rpc, reporting ERR_MSGPACK_RPC_PROTOCOL', async () => {
  const s = server({})
  const port = await listen(s)
  const streamP = once(s, 'connection')
  const c = await rawClient(port)
  const [stream] = await streamP
  const errP = once(stream, 'error')
  c.socket.write('GET / HTTP/1.1\r\n\r\n')
  const [err] = await errP
  assert.equal(err.code, 'ERR_MSGPACK_RPC_PROTOCOL')
  if (!c.socket.destroyed) await once(c.socket, 'close')
  // Others are still served.
  const d = await rawClient(port)
  d.socket.write(encode([0, 1, 'nope', []]))
  assert.equal((await d.next())[1], 1)
  d.socket.destroy()
  await closeAll(s)
})
