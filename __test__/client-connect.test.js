'use strict'
// How a client's connect starts: a unix socket connects within the call that
// opens the client, a TCP connect to an IP address is waited for on the
// JavaScript thread, a host name is resolved and connected on the runtime.
// What JavaScript sees must be the same every way: events on a later turn,
// in order, with Node's errors and fields.
const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const net = require('node:net')
const { rpc, socketPath, listen, freePort, once } = require('./helpers')

const add = { add: (a, b, res) => res.result(a + b) }

/** A server on `kind` ('unix', or a TCP host); resolves with it and a client target. */
async function serverFor(kind) {
  const server = rpc.createServer(add)
  if (kind === 'unix') {
    const path = socketPath('client-connect')
    await new Promise((resolve, reject) => {
      server.once('error', reject)
      server.listen(path, resolve)
    })
    return { server, target: { path } }
  }
  const port = await listen(server)
  return { server, target: { host: kind, port } }
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

test('connect() to a closed TCP port rejects with ECONNREFUSED naming the syscall, address and port', async () => {
  const port = await freePort()
  await assert.rejects(rpc.connect({ host: '127.0.0.1', port }), (err) => {
    assert.equal(err.code, 'ECONNREFUSED')
    assert.equal(err.syscall, 'connect')
    assert.equal(err.address, '127.0.0.1')
    assert.equal(err.port, port)
    return true
  })
})

for (const [kind, target] of [
  ['unix', () => ({ path: socketPath('missing') })],
  ['TCP', async () => ({ host: '127.0.0.1', port: await freePort() })],
]) {
  test(`a failed ${kind} connect emits error, then close, after createClient() returned`, async () => {
    const where = await target()
    const seen = []
    let returned = false
    const client = rpc.createClient(where)
    client.on('error', (err) => seen.push(['error', err.code, returned]))
    const closed = once(client, 'close')
    client.on('close', () => seen.push(['close', returned]))
    returned = true
    await closed
    assert.deepEqual(seen, [
      ['error', kind === 'unix' ? 'ENOENT' : 'ECONNREFUSED', true],
      ['close', true],
    ])
  })
}

for (const kind of ['unix', '127.0.0.1', 'localhost']) {
  test(`a client to ${kind} emits connect then ready on a later turn, and answers a call written before ready`, async (t) => {
    const { server, target } = await serverFor(kind === 'localhost' ? '127.0.0.1' : kind)
    const client = rpc.createClient(kind === 'localhost' ? { ...target, host: 'localhost' } : target)
    try {
      const seen = []
      let returned = false
      client.stream.on('connect', () => seen.push(['connect', returned]))
      client.on('ready', () => seen.push(['ready', returned]))
      const answer = client.request('add', [20, 22])
      returned = true
      try {
        assert.equal(await answer, 42)
      } catch (err) {
        // localhost may resolve to ::1 first where nothing listens there.
        if (kind === 'localhost' && err.code === 'ECONNREFUSED') return t.skip('localhost is ::1 here')
        throw err
      }
      assert.deepEqual(seen, [
        ['connect', true],
        ['ready', true],
      ])
      if (kind !== 'unix') {
        assert.equal(client.stream.remotePort, target.port)
        assert.equal(client.stream.remoteAddress, '127.0.0.1')
      }
    } finally {
      await client.close()
      await server.close()
    }
  })

  test(`closing a client to ${kind} right after creating it closes once and fails its queued call`, async () => {
    const { server, target } = await serverFor(kind === 'localhost' ? '127.0.0.1' : kind)
    const where = kind === 'localhost' ? { ...target, host: 'localhost' } : target
    try {
      const client = rpc.createClient(where)
      let closes = 0
      client.on('close', () => closes++)
      const call = client.request('add', [1, 2])
      await client.close()
      await assert.rejects(call, { code: 'ERR_MSGPACK_RPC_CLOSED' })
      await new Promise((resolve) => setImmediate(resolve))
      assert.equal(closes, 1)
      // The server is unharmed: a new client still gets answers.
      const again = await rpc.connect(target)
      assert.equal(await again.request('add', [2, 3]), 5)
      await again.close()
    } finally {
      await server.close()
    }
  })
}

test("a client's addresses read first in its close listener, after the server ended it, are still known", async () => {
  // The addresses are asked of the socket when JavaScript first wants them,
  // not sent with the connect event.
  const server = net.createServer((socket) => socket.end())
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address()
  try {
    const client = rpc.createClient({ host: '127.0.0.1', port })
    const seen = {}
    client.on('close', () => {
      seen.close = [client.stream.remoteAddress, client.stream.remotePort, client.stream.remoteFamily, typeof client.stream.localPort]
    })
    await once(client, 'close')
    assert.deepEqual(seen.close, ['127.0.0.1', port, 'IPv4', 'number'])
  } finally {
    await new Promise((resolve) => server.close(resolve))
  }
})
