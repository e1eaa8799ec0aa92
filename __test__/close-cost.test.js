'use strict'
// A clean connect, call, close builds no ClosedError nobody receives (a stack
// capture per connection was a large share of a short connection's cost),
// while every caller that does receive one still gets it with its message.
const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const rpc = require('..')
const errors = require('../lib/errors')
const { listen, socketPath } = require('./helpers')

// lib/ builds its errors through the module object, so a subclass put in its
// place sees every ClosedError built in this process.
const Original = errors.ClosedError
let built = []
errors.ClosedError = class CountedClosedError extends Original {
  constructor(message, cause) {
    super(message, cause)
    built.push(message)
  }
}
test.after(() => {
  errors.ClosedError = Original
})

const transports = {
  tcp: async (server) => ({ port: await listen(server), host: '127.0.0.1' }),
  unix: async (server) => {
    const path = socketPath('close-cost')
    await new Promise((resolve, reject) => {
      server.once('error', reject)
      server.listen(path, resolve)
    })
    return { path }
  },
}

for (const [name, serve] of Object.entries(transports)) {
  test(`connect, call and close over ${name} build no ClosedError on either end when no call is waiting`, async () => {
    const server = rpc.createServer({ add: (a, b, res) => res.result(a + b) })
    const target = await serve(server)
    try {
      const serverClosed = []
      server.on('connection', (s) => serverClosed.push(new Promise((resolve) => s.once('close', resolve))))
      built = []
      for (let i = 0; i < 3; i++) {
        const client = await rpc.connect(target)
        assert.equal(await client.request('add', [i, 1]), i + 1)
        await client.close()
      }
      await Promise.all(serverClosed)
      assert.equal(serverClosed.length, 3)
      assert.deepEqual(built, [])
    } finally {
      await new Promise((resolve) => server.close(resolve))
      if (target.path) fs.rmSync(target.path, { force: true })
    }
  })
}

test('a call made after a clean close still fails with ClosedError "connection closed locally"', async () => {
  const server = rpc.createServer({ add: (a, b, res) => res.result(a + b) })
  const port = await listen(server)
  try {
    const client = await rpc.connect(port, '127.0.0.1')
    await client.close()
    await assert.rejects(client.request('add', [1, 2]), (err) => {
      assert.ok(err instanceof Original)
      assert.equal(err.code, errors.codes.CLOSED)
      assert.equal(err.message, 'connection closed locally')
      return true
    })
    await assert.rejects(
      new Promise((resolve, reject) => client.invoke('add', 1, 2, (err) => (err ? reject(err) : resolve()))),
      { code: errors.codes.CLOSED, message: 'connection closed locally' }
    )
  } finally {
    await new Promise((resolve) => server.close(resolve))
  }
})

test('calls waiting when the peer closes fail with ClosedError "connection closed by peer"', async () => {
  const server = rpc.createServer({ hang: () => {} })
  const port = await listen(server)
  server.on('connection', (s) => setImmediate(() => s.close()))
  try {
    const client = await rpc.connect(port, '127.0.0.1')
    const calls = [client.request('hang', []), client.request('hang', [])]
    for (const call of calls) await assert.rejects(call, { name: 'ClosedError', code: errors.codes.CLOSED, message: 'connection closed by peer' })
    await client.close()
  } finally {
    await new Promise((resolve) => server.close(resolve))
  }
})

test('a call waiting when the client closes fails with ClosedError "connection closed locally"', async () => {
  const server = rpc.createServer({ hang: () => {} })
  const port = await listen(server)
  try {
    const client = await rpc.connect(port, '127.0.0.1')
    const call = client.request('hang', [])
    const closing = client.close()
    await assert.rejects(call, { name: 'ClosedError', code: errors.codes.CLOSED, message: 'connection closed locally' })
    await closing
  } finally {
    await new Promise((resolve) => server.close(resolve))
  }
})
