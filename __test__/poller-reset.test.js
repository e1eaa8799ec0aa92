'use strict'
// A peer that resets the connection while the server's reader is stopped
// for backpressure (its outbox over maxQueuedReplies): the server must
// still notice and close it, with no error for a peer gone.
const test = require('node:test')
const assert = require('node:assert/strict')
const net = require('node:net')
const { encode } = require('@msgpack/msgpack')
const { rpc, listen, closeAll } = require('./helpers')

test(`a peer that resets while the server has stopped reading for backpressure is closed by the server`, { timeout: 30000 }, async () => {
  const server = rpc.createServer({ big: () => 'b'.repeat(64 * 1024) }, { maxQueuedReplies: 64 * 1024 })
  const errors = []
  let closed = 0
  server.on('connection', (stream) => {
    stream.on('error', (err) => errors.push(err.code))
    stream.on('close', () => closed++)
  })
  const port = await listen(server)
  let client
  try {
    for (let round = 0; round < 5; round++) {
      const socket = net.connect(port, '127.0.0.1')
      socket.on('error', () => {})
      await new Promise((resolve) => socket.once('connect', resolve))
      socket.pause()
      // Far more answers than the budget: the server fills its outbox and stops reading.
      socket.write(Buffer.concat(Array.from({ length: 300 }, (_, i) => encode([0, i, 'big', []]))))
      for (let i = 0; i < 10; i++) await new Promise((r) => setTimeout(r, 10))
      socket.resetAndDestroy()
      for (let i = 0; i < 500 && closed < round + 1; i++) await new Promise((r) => setTimeout(r, 10))
      assert.equal(closed, round + 1, `round ${round}: the server closed the reset connection`)
    }
    assert.equal(server.connections.length, 0)
    assert.deepEqual(errors, [])
    client = await rpc.connect(port, '127.0.0.1')
    assert.equal((await client.invoke('big')).length, 64 * 1024)
  } finally {
    await closeAll(client, server)
  }
})
