'use strict'
// Server idleTimeout and SessionPool idle eviction.

const test = require('node:test')
const assert = require('node:assert/strict')
const { rpc, listen, once, closeAll } = require('./helpers')

test('a server closes a connection idle for idleTimeout, but not one awaiting an answer', async () => {
  const server = rpc.createServer(
    { slow: (ms) => new Promise((resolve) => setTimeout(resolve, ms, 'done')) },
    { idleTimeout: 40, appendResponse: false }
  )
  const port = await listen(server)
  const busy = rpc.createClient({ port, host: '127.0.0.1' })
  const idle = rpc.createClient({ port, host: '127.0.0.1' })
  try {
    await Promise.all([once(busy, 'ready'), once(idle, 'ready')])
    // The handler runs far longer than idleTimeout: the request keeps it open.
    const answer = busy.request('slow', [300])
    await once(idle, 'close')
    assert.equal(await answer, 'done')
    assert.equal(busy.closed, false)
    await assert.rejects(idle.request('slow', [1]), { code: 'ERR_MSGPACK_RPC_CLOSED' })
  } finally {
    await closeAll(busy, idle, server)
  }
})

test('without idleTimeout a silent connection stays open', async () => {
  const server = rpc.createServer({ ping: () => 'pong' }, { appendResponse: false })
  const port = await listen(server)
  const client = rpc.createClient({ port, host: '127.0.0.1' })
  try {
    await once(client, 'ready')
    await new Promise((resolve) => setTimeout(resolve, 150))
    assert.equal(await client.request('ping'), 'pong')
  } finally {
    await closeAll(client, server)
  }
})

test('a SessionPool closes and evicts a client idle for its idleTimeout', async () => {
  const server = rpc.createServer({ ping: () => 'pong' }, { appendResponse: false })
  const port = await listen(server)
  const pool = new rpc.SessionPool({ idleTimeout: 40, reconnect: { initialDelay: 10 } })
  try {
    const client = pool.getClient(port, '127.0.0.1')
    assert.equal(await client.request('ping'), 'pong')
    await once(client, 'close')
    assert.deepEqual(Object.keys(pool.clients), [])
    const fresh = pool.getClient(port, '127.0.0.1')
    assert.notEqual(fresh, client)
    assert.equal(await fresh.request('ping'), 'pong')
  } finally {
    await pool.closeClients()
    await closeAll(server)
  }
})

test('idleTimeout is checked like the other options', () => {
  assert.throws(() => rpc.createServer({}, { idleTimeout: 0 }), { code: 'ERR_OUT_OF_RANGE' })
  assert.throws(() => new rpc.SessionPool({ idleTimeout: 'soon' }), { code: 'ERR_INVALID_ARG_TYPE' })
})

const net = require('node:net')
const { encode } = rpc

/** A raw TCP connection to `port`; resolves once connected. */
function rawConnect(port) {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => resolve(socket))
    socket.once('error', reject)
  })
}

test('maxMessageTime closes a connection whose message stays incomplete (slowloris) with ERR_MSGPACK_RPC_PROTOCOL', { timeout: 10000 }, async () => {
  const errorsSeen = []
  const server = rpc.createServer((stream) => stream.on('error', (err) => errorsSeen.push(err)), { maxMessageTime: 40 })
  const port = await listen(server)
  const socket = await rawConnect(port)
  try {
    const request = encode([0, 1, 'echo', ['x'.repeat(100)]])
    // The first half, then nothing more.
    socket.write(request.subarray(0, 50))
    await once(socket, 'close')
    assert.equal(errorsSeen.length, 1)
    assert.equal(errorsSeen[0].code, 'ERR_MSGPACK_RPC_PROTOCOL')
    assert.match(errorsSeen[0].message, /maxMessageTime/)
  } finally {
    socket.destroy()
    await closeAll(server)
  }
})

test('a message trickled a byte at a time is not idle; it is answered once complete', async () => {
  // 18 bytes 15 ms apart take longer than idleTimeout, while each pause stays
  // far inside it (a loaded machine stretches a 15 ms timer, not tenfold).
  const server = rpc.createServer({ echo: (v) => v }, { idleTimeout: 150, appendResponse: false })
  const port = await listen(server)
  const socket = await rawConnect(port)
  try {
    const request = encode([0, 7, 'echo', ['trickled']])
    let closed = false
    socket.on('close', () => (closed = true))
    const reply = once(socket, 'data')
    for (let i = 0; i < request.length; i++) {
      socket.write(request.subarray(i, i + 1))
      await new Promise((resolve) => setTimeout(resolve, 15))
      assert.equal(closed, false)
    }
    const [bytes] = await reply
    assert.deepEqual(rpc.decode(bytes), [1, 7, null, 'trickled'])
  } finally {
    socket.destroy()
    await closeAll(server)
  }
})

test('pipelined complete messages never count as one slow message', async () => {
  const server = rpc.createServer({ echo: (v) => v }, { maxMessageTime: 30, appendResponse: false })
  const port = await listen(server)
  const client = rpc.createClient({ port, host: '127.0.0.1' })
  try {
    const stop = Date.now() + 200
    while (Date.now() < stop) {
      const batch = []
      for (let i = 0; i < 64; i++) batch.push(client.request('echo', ['y'.repeat(3000)]))
      await Promise.all(batch)
    }
    assert.equal(client.closed, false)
  } finally {
    await closeAll(client, server)
  }
})
