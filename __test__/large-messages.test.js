'use strict'
// Large messages over real sockets: a message bigger than the shared read
// buffer arrives in a Buffer of its own and its bin payloads are views of it;
// writes the socket cannot take at once are finished by the writer task.
// These check that bytes stay intact, in order, and unshared.
const test = require('node:test')
const assert = require('node:assert/strict')
const { rpc, listen, socketPath, closeAll, removeSocket } = require('./helpers')

/** `size` bytes whose content depends on `seed`, so swapped or reused bytes show. */
function pattern(size, seed) {
  const b = Buffer.allocUnsafe(size)
  for (let i = 0; i < size; i++) b[i] = (i * 31 + seed * 7) & 0xff
  return b
}

const transports = [
  ['TCP', async (server) => ({ port: await listen(server), host: '127.0.0.1' })],
  [
    'a unix socket',
    async (server) => {
      const path = socketPath('large')
      await new Promise((resolve, reject) => {
        server.once('error', reject)
        server.listen(path, resolve)
      })
      return { path }
    },
  ],
]

for (const [name, serve] of transports) {
  test(`a 1 MiB Buffer is echoed intact while other calls are in flight, over ${name}`, { timeout: 30000 }, async (t) => {
    const server = rpc.createServer({ echo: (v, res) => res.result(v), add: (a, b, res) => res.result(a + b) })
    const target = await serve(server)
    const client = await rpc.connect(target)
    t.after(async () => {
      await closeAll(client, server)
      if (target.path) removeSocket(target.path)
    })
    const big = pattern(1024 * 1024, 1)
    const calls = []
    for (let round = 0; round < 4; round++) {
      calls.push(client.request('echo', [big]).then((r) => ['big', r]))
      for (let i = 0; i < 20; i++) calls.push(client.request('add', [round * 100 + i, 1]).then((r) => ['add', r, round * 100 + i + 1]))
      calls.push(client.request('echo', [pattern(70 * 1024, round)]).then((r) => ['mid', r, round]))
    }
    for (const [kind, r, expected] of await Promise.all(calls)) {
      if (kind === 'big') assert.ok(Buffer.compare(r, big) === 0, '1 MiB echo differs')
      else if (kind === 'add') assert.equal(r, expected)
      else assert.ok(Buffer.compare(r, pattern(70 * 1024, expected)) === 0, `70 KiB echo ${expected} differs`)
    }
  })

  test(`large writes the socket cannot take at once arrive whole and in order, over ${name}`, { timeout: 30000 }, async (t) => {
    const seen = []
    const server = rpc.createServer({
      take: (i, b, res) => {
        seen.push(i)
        res.result([i, Buffer.compare(b, pattern(b.length, i)) === 0, b])
      },
    })
    const target = await serve(server)
    const client = await rpc.connect(target)
    t.after(async () => {
      await closeAll(client, server)
      if (target.path) removeSocket(target.path)
    })
    // Far more than socket buffers hold, sent in one tick: most of it waits
    // for the writer, on both sides (the replies are as big).
    const count = 48
    const sizes = Array.from({ length: count }, (_, i) => [100, 200 * 1024, 70 * 1024, 5][i % 4])
    const replies = await Promise.all(sizes.map((size, i) => client.request('take', [i, pattern(size, i)])))
    assert.deepEqual(
      seen,
      sizes.map((_, i) => i),
    )
    replies.forEach(([i, intact, b], k) => {
      assert.equal(i, k)
      assert.equal(intact, true, `request ${k} arrived changed`)
      assert.ok(Buffer.compare(b, pattern(sizes[k], k)) === 0, `reply ${k} arrived changed`)
    })
  })
}

test('bin payloads kept by the server and the client are unchanged by later reads', { timeout: 30000 }, async (t) => {
  const kept = []
  const server = rpc.createServer({
    keep: (b, res) => {
      kept.push(b)
      res.result(b)
    },
    check: (res) => res.result(kept.map((b, i) => Buffer.compare(b, pattern(b.length, i)) === 0)),
  })
  const port = await listen(server)
  const client = await rpc.connect({ port, host: '127.0.0.1' })
  t.after(() => closeAll(client, server))
  // Small payloads share a read buffer; big ones arrive in their own.
  const sizes = [16, 100 * 1024, 300, 64 * 1024 + 1, 8, 2 * 1024 * 1024, 40]
  const got = []
  for (let i = 0; i < sizes.length; i++) got.push(await client.request('keep', [pattern(sizes[i], i)]))
  // Later traffic of every size through the same connection.
  await Promise.all(sizes.map((size, i) => client.request('keep', [pattern(size, sizes.length + i)])))
  assert.deepEqual(await client.request('check', []), [...sizes, ...sizes].map(() => true))
  got.forEach((b, i) => assert.ok(Buffer.compare(b, pattern(sizes[i], i)) === 0, `payload ${i} (${sizes[i]} bytes) changed`))
})

test('a unix socket takes a message larger than its default send buffer at once, leaving nothing queued', { timeout: 30000 }, async (t) => {
  const net = require('node:net')
  const path = socketPath('burst')
  const peers = []
  // A peer that accepts and never reads: only the kernel's buffers take what is sent.
  const sink = net.createServer((socket) => {
    socket.pause()
    peers.push(socket)
  })
  await new Promise((resolve) => sink.listen(path, resolve))
  const client = await rpc.connect({ path })
  t.after(async () => {
    for (const p of peers) p.destroy()
    await closeAll(client)
    await new Promise((resolve) => sink.close(resolve))
    removeSocket(path)
  })
  // More than a unix socket's default send buffer (about 200 KiB), less
  // than the high-water mark and than the room asked for.
  client.notify('blob', pattern(256 * 1024, 3))
  await new Promise((resolve) => setImmediate(resolve))
  assert.equal(client.stream.writableLength, 0)
})
