'use strict'
// A unix socket connects within the call that opens the client (no runtime
// thread waits for it): what JavaScript sees must not change, so events still
// come on a later turn, in order, with Node's errors and fields.
const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const rpc = require('..')
const { socketPath } = require('./helpers')

async function unixServer(handlers) {
  const server = rpc.createServer(handlers)
  const path = socketPath('unix-connect')
  await new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(path, resolve)
  })
  return { server, path }
}

test('connect() to a missing unix socket rejects with ENOENT naming the syscall and path', async () => {
  const path = socketPath('missing')
  fs.rmSync(path, { force: true })
  await assert.rejects(rpc.connect(path), (err) => {
    assert.equal(err.code, 'ENOENT')
    assert.equal(err.syscall, 'connect')
    assert.equal(err.address, path)
    return true
  })
})

test('connect() to a file that is not a listening socket rejects with ECONNREFUSED', async () => {
  const path = socketPath('plain-file')
  fs.writeFileSync(path, '')
  try {
    await assert.rejects(rpc.connect(path), (err) => {
      assert.equal(err.code, 'ECONNREFUSED')
      assert.equal(err.syscall, 'connect')
      assert.equal(err.address, path)
      return true
    })
  } finally {
    fs.rmSync(path, { force: true })
  }
})

test('a failed unix connect emits error, then close, after createClient() returned', async () => {
  const path = socketPath('missing')
  fs.rmSync(path, { force: true })
  const seen = []
  let returned = false
  const client = rpc.createClient(path)
  client.on('error', (err) => seen.push(['error', err.code, returned]))
  const closed = new Promise((resolve) => client.on('close', resolve))
  client.on('close', () => seen.push(['close', returned]))
  returned = true
  await closed
  assert.deepEqual(seen, [
    ['error', 'ENOENT', true],
    ['close', true],
  ])
})

test('a unix client emits connect then ready on a later turn, and answers a call written before ready', async () => {
  const { server, path } = await unixServer({ add: (a, b, res) => res.result(a + b) })
  const client = rpc.createClient(path)
  try {
    const seen = []
    let returned = false
    client.stream.on('connect', () => seen.push(['connect', returned]))
    client.on('ready', () => seen.push(['ready', returned]))
    const answer = client.request('add', [20, 22])
    returned = true
    assert.equal(await answer, 42)
    assert.deepEqual(seen, [
      ['connect', true],
      ['ready', true],
    ])
  } finally {
    await client.close()
    await server.close()
  }
})

test('closing a unix client right after creating it closes once and fails its queued call', async () => {
  const { server, path } = await unixServer({ add: (a, b, res) => res.result(a + b) })
  try {
    const client = rpc.createClient(path)
    let closes = 0
    client.on('close', () => closes++)
    const call = client.request('add', [1, 2])
    await client.close()
    await assert.rejects(call, { code: 'ERR_MSGPACK_RPC_CLOSED' })
    await new Promise((resolve) => setImmediate(resolve))
    assert.equal(closes, 1)
    // The server is unharmed: a new client still gets answers.
    const again = await rpc.connect(path)
    assert.equal(await again.request('add', [2, 3]), 5)
    await again.close()
  } finally {
    await server.close()
  }
})
