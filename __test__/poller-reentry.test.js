'use strict'
// JavaScript called from a delivery may close the connection, open new
// ones or throw, and many sockets may be ready in one poller wake-up.
const test = require('node:test')
const assert = require('node:assert/strict')
const net = require('node:net')
const { encode } = require('@msgpack/msgpack')
const { rpc, listen, closeAll } = require('./helpers')

test('more connections than the poller takes per wake-up, all sending at once, all get their answers', { timeout: 60000 }, async () => {
  const server = rpc.createServer({ echo: (x) => x })
  const port = await listen(server)
  const clients = []
  try {
    for (let i = 0; i < 600; i++) clients.push(rpc.connect(port, '127.0.0.1'))
    const connected = await Promise.all(clients.splice(0))
    clients.push(...connected)
    for (let round = 0; round < 3; round++) {
      const answers = await Promise.all(clients.map((c, i) => c.invoke('echo', i + round)))
      assert.deepEqual(answers, clients.map((_, i) => i + round))
    }
  } finally {
    await closeAll(...clients, server)
  }
})

/** A raw socket that sends `frames` in one write once connected; resolves when the server closes it. */
async function sendTogether(port, frames) {
  const socket = net.connect(port, '127.0.0.1')
  socket.on('error', () => {})
  await new Promise((resolve) => socket.once('connect', resolve))
  const closed = new Promise((resolve) => socket.on('close', resolve))
  socket.resume()
  socket.write(Buffer.concat(frames))
  return { socket, closed }
}

for (const how of ['stream.destroy', 'stream.end', 'close']) {
  // stream.destroy() failed before f18c9d8 (and in 07a67d2): decodeMessages
  // (lib/codec.js) went on dispatching the rest of an already-read batch.
  test(`a notification handler that calls ${how}() in the middle of a batch stops delivery there (when it must), and the server goes on serving`, { timeout: 30000 }, async () => {
    const server = rpc.createServer({ ping: () => 'pong' })
    const seen = []
    server.on('connection', (stream) => {
      stream.on('notify', (method, params) => {
        seen.push(params[0])
        if (params[0] === 10) {
          if (how === 'close') stream.close()
          else if (how === 'stream.end') stream.stream.end()
          else stream.stream.destroy()
        }
      })
    })
    const port = await listen(server)
    let client
    try {
      const frames = Array.from({ length: 200 }, (_, i) => encode([2, 'n', [i]]))
      const { socket, closed } = await sendTogether(port, frames)
      await closed
      socket.destroy()
      assert.deepEqual(seen.slice(0, 11), Array.from({ length: 11 }, (_, i) => i))
      if (how === 'stream.destroy') assert.equal(seen.length, 11)
      client = await rpc.connect(port, '127.0.0.1')
      assert.equal(await client.invoke('ping'), 'pong')
    } finally {
      await closeAll(client, server)
    }
  })
}

test('a handler that opens new connections and calls through them from inside a delivery gets their answers', { timeout: 30000 }, async () => {
  const back = rpc.createServer({ twice: (x) => 2 * x })
  const backPort = await listen(back)
  const opened = []
  const front = rpc.createServer({
    async relay(x) {
      const c = await rpc.connect(backPort, '127.0.0.1')
      opened.push(c)
      try {
        return await c.invoke('twice', x)
      } finally {
        await c.close()
      }
    },
  })
  const frontPort = await listen(front)
  const client = await rpc.connect(frontPort, '127.0.0.1')
  try {
    const inputs = Array.from({ length: 50 }, (_, i) => i)
    assert.deepEqual(await Promise.all(inputs.map((i) => client.invoke('relay', i))), inputs.map((i) => 2 * i))
    assert.equal(opened.length, 50)
  } finally {
    await closeAll(client, ...opened, front, back)
  }
})

test('a notification listener that throws inside a delivery does not stop the other messages of the batch from being delivered, or other connections from being served', { timeout: 30000 }, async () => {
  const server = rpc.createServer({ ping: () => 'pong' })
  const seen = []
  const errors = []
  server.on('error', (err) => errors.push(err))
  server.on('connection', (stream) => {
    stream.on('error', (err) => errors.push(err))
    stream.on('notify', (method, params) => {
      seen.push(params[0])
      if (params[0] === 3) throw new Error('listener fails')
    })
  })
  const port = await listen(server)
  const uncaught = []
  const onUncaught = (err) => uncaught.push(err)
  process.on('uncaughtException', onUncaught)
  let client
  try {
    const frames = Array.from({ length: 10 }, (_, i) => encode([2, 'n', [i]]))
    const { socket, closed } = await sendTogether(port, frames)
    // The connection either goes on or is closed; either way it settles.
    for (let i = 0; i < 200 && seen.length < 10 && !socket.destroyed; i++) await new Promise((r) => setTimeout(r, 10))
    socket.end()
    await closed
    client = await rpc.connect(port, '127.0.0.1')
    assert.equal(await client.invoke('ping'), 'pong')
    assert.ok(seen.length >= 4, `delivered ${seen.length}`)
  } finally {
    process.off('uncaughtException', onUncaught)
    await closeAll(client, server)
  }
})

test('a notification sent by the server as soon as it accepts reaches a native client after its connect event', { timeout: 30000 }, async () => {
  for (let round = 0; round < 30; round++) {
    const server = rpc.createServer({})
    server.on('connection', (stream) => stream.notify('hello', round))
    const port = await listen(server)
    const order = []
    const client = rpc.createClient(port, '127.0.0.1')
    try {
      const heard = new Promise((resolve) =>
        client.on('notify', (method) => {
          order.push(method)
          resolve()
        }),
      )
      client.stream.on('connect', () => order.push('connect'))
      client.on('ready', () => order.push('ready'))
      await heard
      assert.deepEqual(order, ['connect', 'ready', 'hello'], `round ${round}`)
    } finally {
      await closeAll(client, server)
    }
  }
})
