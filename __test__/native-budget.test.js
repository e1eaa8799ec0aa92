'use strict'
// maxBufferedBytes: a server-wide cap on the bytes its connections hold for
// messages not yet complete. Many connections part-way through big messages
// cannot add up past it; the ones holding the most are closed.
const test = require('node:test')
const assert = require('node:assert/strict')
const net = require('node:net')
const { encode } = require('@msgpack/msgpack')
const { rpc, listen, once } = require('./helpers')

test('connections holding the most incomplete bytes are closed once the server holds more than maxBufferedBytes', async () => {
  const server = rpc.createServer({ echo: (x, response) => response.result(x) }, { maxBufferedBytes: 1024 * 1024 })
  const errors = []
  server.on('connection', (stream) => stream.on('error', (err) => errors.push(err)))
  const port = await listen(server)
  const whole = encode([0, 1, 'echo', [Buffer.alloc(2 * 1024 * 1024, 7)]])
  const sockets = []
  let canary
  try {
    const closed = []
    for (let i = 0; i < 3; i++) {
      const socket = net.connect(port, '127.0.0.1')
      sockets.push(socket)
      closed.push(once(socket, 'close'))
      socket.on('error', () => {}) // a reset while writing is one way to be closed
      await once(socket, 'connect')
      socket.write(whole.subarray(0, 600 * 1024))
    }
    // Three times 600 KiB does not fit in 1 MiB: at most one can stay.
    let closedCount = 0
    for (const c of closed) c.then(() => closedCount++)
    for (let i = 0; i < 500 && closedCount < 2; i++) await new Promise((r) => setTimeout(r, 10))
    assert.ok(closedCount >= 2, `${closedCount} of 3 connections closed`)
    assert.ok(errors.length >= 2)
    for (const err of errors) {
      assert.equal(err.code, 'ERR_MSGPACK_RPC_MESSAGE_TOO_LARGE')
      assert.match(err.message, /maxBufferedBytes \(1048576 bytes\)/)
    }
    // The server goes on serving others.
    canary = await rpc.connect(port, '127.0.0.1')
    assert.equal(await canary.invoke('echo', 'still here'), 'still here')
  } finally {
    for (const s of sockets) s.destroy()
    if (canary) await canary.close()
    await server.close()
  }
})
