'use strict'
// A native connection holds a read buffer only while bytes of it are
// undelivered; emptied buffers go back to the thread and are handed to the
// next connection that reads (src/js/uv_reader.rs). These check that the
// bytes each connection holds stay its own across that hand-over.
const test = require('node:test')
const assert = require('node:assert/strict')
const { encode } = require('@msgpack/msgpack')
const { rawClient, rpc, listen, once, closeAll } = require('./helpers')

/** Resolves once the server has read what was written (it answers a call sent after it). */
async function sync(client, id) {
  client.socket.write(encode([0, id, 'echo', ['sync']]))
  assert.deepEqual(await client.next(), [1, id, null, 'sync'])
}

test('a message split across reads survives other connections reading in between', { timeout: 20000 }, async (t) => {
  const server = rpc.createServer({ echo: (v, res) => res.result(v) })
  const port = await listen(server)
  const clients = []
  t.after(async () => {
    for (const c of clients) c.socket.destroy()
    await closeAll(server)
  })
  for (let i = 0; i < 3; i++) clients.push(await rawClient(port))
  const [a, b, c] = clients
  const text = 'a'.repeat(3000)
  const msg = Buffer.from(encode([0, 1, 'echo', [text]]))
  // a holds the first part of its message while b and c read whole ones.
  a.socket.write(msg.subarray(0, 1000))
  await sync(b, 10)
  a.socket.write(msg.subarray(1000, 2000))
  await sync(c, 20)
  await sync(b, 11)
  a.socket.write(msg.subarray(2000))
  assert.deepEqual(await a.next(), [1, 1, null, text])
  // And each goes on reading normally.
  for (const [i, client] of clients.entries()) await sync(client, 100 + i)
})

test('a connection that went idle reads a large message, then small ones, split or not', { timeout: 20000 }, async (t) => {
  const server = rpc.createServer({ echo: (v, res) => res.result(v) })
  const port = await listen(server)
  const a = await rawClient(port)
  const b = await rawClient(port)
  t.after(async () => {
    a.socket.destroy()
    b.socket.destroy()
    await closeAll(server)
  })
  await sync(a, 1)
  await sync(b, 2)
  // Larger than the buffer a thread keeps, so it is freed after use.
  const big = Buffer.alloc(600 * 1024, 7)
  a.socket.write(encode([0, 3, 'echo', [big]]))
  const [type, id, err, echoed] = await a.next()
  assert.deepEqual([type, id, err], [1, 3, null])
  assert.equal(Buffer.compare(Buffer.from(echoed), big), 0)
  await sync(b, 4)
  const msg = Buffer.from(encode([0, 5, 'echo', ['after']]))
  a.socket.write(msg.subarray(0, 5))
  await sync(b, 6)
  a.socket.write(msg.subarray(5))
  assert.deepEqual(await a.next(), [1, 5, null, 'after'])
  await sync(a, 7)
})
