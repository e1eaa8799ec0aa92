'use strict'
// The client connect path under the per-thread poller: a connect still
// under way (an address that does not answer), refused, or closed at once;
// and whether clients and servers keep the process alive as they should.
const test = require('node:test')
const assert = require('node:assert/strict')
const { execFile } = require('node:child_process')
const path = require('node:path')
const { rpc, listen, freePort, closeAll, stalledListener } = require('./helpers')

/** Runs `script` in a child node in the project root; resolves how it ended (killed after 10 s). */
function run(script) {
  return new Promise((resolve) => {
    execFile(process.execPath, ['-e', script], { cwd: path.join(__dirname, '..'), timeout: 10000 }, (err, stdout, stderr) =>
      resolve({ code: err ? err.code : 0, killed: err ? err.killed : false, stdout, stderr }),
    )
  })
}


test('a connect that never completes ends at connectTimeout with an error, and the thread still connects elsewhere', { timeout: 30000 }, async () => {
  const server = rpc.createServer({ ping: () => 'pong' })
  const port = await listen(server)
  const stalled = await stalledListener()
  let client
  try {
    for (let i = 0; i < 3; i++) {
      const err = await rpc.connect(stalled.port, '127.0.0.1', { connectTimeout: 200 }).then(
        (c) => {
          c.close()
          return undefined
        },
        (e) => e,
      )
      assert.ok(err instanceof Error, 'the connect failed')
      assert.equal(err.code, 'ETIMEDOUT', err.message)
    }
    client = await rpc.connect(port, '127.0.0.1')
    assert.equal(await client.invoke('ping'), 'pong')
  } finally {
    await closeAll(client, server)
    await stalled.close()
  }
})

test('a refused connect fails with ECONNREFUSED, many times over, without leaving the thread unable to connect', { timeout: 30000 }, async () => {
  const port = await freePort()
  for (let i = 0; i < 50; i++) {
    const err = await rpc.connect(port, '127.0.0.1').then(
      (c) => {
        c.close()
        return undefined
      },
      (e) => e,
    )
    assert.ok(err, 'the connect failed')
    assert.equal(err.code, 'ECONNREFUSED', err.message)
  }
  const server = rpc.createServer({ ping: () => 'pong' })
  const live = await listen(server)
  const client = await rpc.connect(live, '127.0.0.1')
  try {
    assert.equal(await client.invoke('ping'), 'pong')
  } finally {
    await closeAll(client, server)
  }
})

test('clients closed in the tick they were made, while connecting, emit no error and leave the server with nothing open', { timeout: 30000 }, async () => {
  const server = rpc.createServer({ ping: () => 'pong' })
  const port = await listen(server)
  const errors = []
  try {
    const closing = []
    for (let i = 0; i < 100; i++) {
      const client = rpc.createClient(port, '127.0.0.1')
      client.on('error', (err) => errors.push(err))
      closing.push(client.close())
    }
    await Promise.all(closing)
    // Bounded wait for the server to see every connection closed.
    for (let i = 0; i < 300 && server.connections.length > 0; i++) await new Promise((r) => setTimeout(r, 10))
    assert.equal(server.connections.length, 0)
    assert.deepEqual(errors, [])
    const client = await rpc.connect(port, '127.0.0.1')
    assert.equal(await client.invoke('ping'), 'pong')
    await client.close()
  } finally {
    await closeAll(server)
  }
})

// Failed before f18c9d8 (and in 07a67d2): the connectTimeout timer
// (lib/reconnect.js) was not unref()ed with the client.
test('an unref()ed client whose connect is still under way lets the process exit', { timeout: 30000 }, async () => {
  const stalled = await stalledListener()
  try {
    const { code, killed, stderr } = await run(`
      const rpc = require('.')
      const client = rpc.createClient(${stalled.port}, '127.0.0.1', { connectTimeout: 60000 })
      client.on('error', () => {})
      client.unref()
    `)
    assert.equal(killed, false, 'the child was killed: something kept it alive')
    assert.equal(code, 0, stderr)
  } finally {
    await stalled.close()
  }
})

test('a referenced client whose connect is still under way keeps the process alive until connectTimeout', { timeout: 30000 }, async () => {
  const stalled = await stalledListener()
  try {
    const { code, killed, stdout, stderr } = await run(`
      const rpc = require('.')
      const client = rpc.createClient(${stalled.port}, '127.0.0.1', { connectTimeout: 500 })
      client.on('error', (err) => console.log(err.code))
    `)
    assert.equal(killed, false)
    assert.equal(code, 0, stderr)
    assert.equal(stdout.trim(), 'ETIMEDOUT')
  } finally {
    await stalled.close()
  }
})

test('an unref()ed server and an unref()ed connected client in one process let it exit', { timeout: 30000 }, async () => {
  const { code, killed, stdout, stderr } = await run(`
    const rpc = require('.')
    const server = rpc.createServer({ ping: () => 'pong' })
    server.listen(0, '127.0.0.1', async () => {
      const client = await rpc.connect(server.address().port, '127.0.0.1')
      console.log(await client.invoke('ping'))
      client.unref()
      server.unref()
      for (const s of server.connections) s.unref()
    })
  `)
  assert.equal(killed, false, 'the child was killed: something kept it alive')
  assert.equal(code, 0, stderr)
  assert.equal(stdout.trim(), 'pong')
})

test('a referenced client keeps its process alive until the server closes the connection', { timeout: 30000 }, async () => {
  const server = rpc.createServer({})
  let answered
  const seenAnswer = new Promise((resolve) => (answered = resolve))
  server.on('connection', async (stream) => {
    // The child answers after the event loop had every chance to exit.
    for (let i = 0; i < 3; i++) await new Promise((r) => setTimeout(r, 100))
    answered(await stream.invoke('alive'))
    stream.close()
  })
  const port = await listen(server)
  try {
    const child = run(`
      const rpc = require('.')
      rpc.createClient(${port}, '127.0.0.1', { handler: { alive: () => 'yes' } })
    `)
    assert.equal(await seenAnswer, 'yes')
    const { code, killed, stderr } = await child
    assert.equal(killed, false, 'the child did not exit once the server closed')
    assert.equal(code, 0, stderr)
  } finally {
    await closeAll(server)
  }
})
