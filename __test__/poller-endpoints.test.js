'use strict'
// A connection's addresses are no longer asked of the system at connect:
// the peer's comes from accept or is the address connected to, ours is
// asked when JavaScript wants it. These compare what a connection reports
// with what `net` reports for the same connect, and with what the other
// end sees.
const test = require('node:test')
const assert = require('node:assert/strict')
const net = require('node:net')
const path = require('node:path')
const { spawn } = require('node:child_process')
const { rpc, socketPath, removeSocket, closeAll } = require('./helpers')

/** What net.Socket reports after connecting to `host`:`port`. */
async function netAddresses(port, host) {
  const socket = net.connect(port, host)
  await new Promise((resolve, reject) => socket.once('connect', resolve).once('error', reject))
  const seen = { remoteAddress: socket.remoteAddress, remoteFamily: socket.remoteFamily }
  socket.destroy()
  return seen
}

function ipv6Available() {
  return new Promise((resolve) => {
    const s = net.createServer()
    s.once('error', () => resolve(false))
    s.listen(0, '::1', () => s.close(() => resolve(true)))
  })
}

const targets = [
  // Failed between 48b36e3 and f18c9d8: the client remembered the address
  // it dialled as its peer's, but the system connects an unspecified
  // address to the loopback one.
  { listenOn: '0.0.0.0', connectTo: '0.0.0.0' },
  { listenOn: '0.0.0.0', connectTo: '127.0.0.1' },
  { listenOn: '127.0.0.1', connectTo: 'localhost' },
  { listenOn: '::', connectTo: '::', v6: true },
  { listenOn: '::1', connectTo: '::1', v6: true },
  { listenOn: '::', connectTo: '::ffff:127.0.0.1', v6: true },
]

for (const { listenOn, connectTo, v6 } of targets) {
  test(`a client connected to ${connectTo} (server on ${listenOn}) reports the remote address net reports, and the server's end agrees`, async (t) => {
    if (v6 && !(await ipv6Available())) return t.skip('no IPv6 loopback')
    const server = rpc.createServer({ ping: () => 'pong' })
    await new Promise((resolve) => server.listen(0, listenOn, resolve))
    const { port } = server.address()
    let client
    try {
      const expected = await netAddresses(port, connectTo)
      client = await rpc.connect(port, connectTo)
      assert.equal(await client.invoke('ping'), 'pong')
      const accepted = server.connections.find((s) => s.stream.remotePort === client.stream.localPort)
      assert.ok(accepted, 'the server holds the connection')
      assert.equal(client.stream.remoteAddress, expected.remoteAddress)
      assert.equal(client.stream.remoteFamily, expected.remoteFamily)
      assert.equal(client.stream.remotePort, port)
      assert.equal(client.stream.localPort, accepted.stream.remotePort)
    } finally {
      await closeAll(client, server)
    }
  })
}

test('both ends of a TCP connection still report their addresses in their close listeners, whoever closed', async () => {
  for (const closer of ['client', 'server']) {
    const server = rpc.createServer({ ping: () => 'pong' })
    await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
    const { port } = server.address()
    const client = await rpc.connect(port, '127.0.0.1')
    try {
      assert.equal(await client.invoke('ping'), 'pong')
      const accepted = server.connections[0]
      const seen = {}
      const closed = Promise.all([
        new Promise((resolve) =>
          client.on('close', () => {
            seen.client = [client.stream.remoteAddress, client.stream.remotePort, client.stream.localAddress, client.stream.localPort]
            resolve()
          }),
        ),
        new Promise((resolve) =>
          accepted.on('close', () => {
            seen.server = [accepted.stream.remoteAddress, accepted.stream.remotePort, accepted.stream.localAddress, accepted.stream.localPort]
            resolve()
          }),
        ),
      ])
      if (closer === 'client') client.close()
      else accepted.close()
      await closed
      assert.equal(seen.client[0], '127.0.0.1', `${closer} closed`)
      assert.equal(seen.client[1], port)
      assert.deepEqual(seen.server, [seen.client[2], seen.client[3], '127.0.0.1', port], `${closer} closed`)
    } finally {
      await closeAll(client, server)
    }
  }
})

test('a unix socket connection reports the path on the side that bound it, before and in its close listener', async () => {
  const path = socketPath('poller-ends')
  const server = rpc.createServer({ ping: () => 'pong' })
  await new Promise((resolve) => server.listen(path, resolve))
  const client = await rpc.connect(path)
  try {
    assert.equal(await client.invoke('ping'), 'pong')
    const accepted = server.connections[0]
    // As before the change: the accepted end knows the path it was bound to;
    // the client's end of an unnamed unix socket has no address.
    assert.ok(client.stream.remoteAddress == null)
    assert.equal(accepted.stream.localAddress, path)
    const before = accepted.stream.localAddress
    let inClose
    const closed = new Promise((resolve) =>
      accepted.on('close', () => {
        inClose = accepted.stream.localAddress
        resolve()
      }),
    )
    client.close()
    await closed
    assert.equal(inClose, before)
    assert.equal(inClose, path)
  } finally {
    await closeAll(client, server)
    removeSocket(path)
  }
})

test('a reconnecting client reports the new connection’s addresses after a reconnect', { timeout: 30000 }, async () => {
  const handlers = { ping: () => 'pong' }
  const first = rpc.createServer(handlers)
  await new Promise((resolve) => first.listen(0, '127.0.0.1', resolve))
  const { port } = first.address()
  const client = rpc.createClient(port, '127.0.0.1', { reconnect: { initialDelay: 10, maxDelay: 50 } })
  let second
  try {
    await new Promise((resolve) => client.once('ready', resolve))
    assert.equal(await client.invoke('ping'), 'pong')
    const firstLocal = client.stream.localPort
    const down = new Promise((resolve) => client.once('disconnect', resolve))
    await first.close()
    await down
    second = rpc.createServer(handlers)
    await new Promise((resolve) => second.listen(port, '127.0.0.1', resolve))
    const up = new Promise((resolve) => client.once('ready', resolve))
    await up
    assert.equal(await client.invoke('ping'), 'pong')
    const accepted = second.connections[0]
    assert.equal(client.stream.remoteAddress, '127.0.0.1')
    assert.equal(client.stream.remotePort, port)
    assert.equal(client.stream.localPort, accepted.stream.remotePort)
    assert.notEqual(client.stream.localPort, firstLocal)
  } finally {
    await closeAll(client, first, second)
  }
})

test('a server listening on an inherited descriptor reports each accepted peer’s address', { timeout: 30000 }, async () => {
  const plain = net.createServer()
  await new Promise((resolve) => plain.listen(0, '127.0.0.1', resolve))
  const { port } = plain.address()
  const child = spawn(process.execPath, [path.join(__dirname, 'fixtures', 'poller-fd-peer.js')], {
    stdio: ['pipe', 'pipe', 'inherit', plain._handle.fd],
  })
  const exited = new Promise((resolve) => child.once('exit', resolve))
  const clients = []
  try {
    const ready = await new Promise((resolve) => {
      let out = ''
      child.stdout.on('data', (d) => {
        out += d
        if (out.includes('\n')) resolve(out.trim())
      })
      child.once('exit', () => resolve(out.trim()))
    })
    assert.equal(ready, `ready ${port}`)
    // Only the child accepts from here on.
    await new Promise((resolve) => plain.close(resolve))
    for (let i = 0; i < 3; i++) clients.push(await rpc.connect(port, '127.0.0.1'))
    const peers = await clients[0].invoke('peers')
    assert.deepEqual(
      peers.sort((a, b) => a[1] - b[1]),
      clients.map((c) => ['127.0.0.1', c.stream.localPort]).sort((a, b) => a[1] - b[1]),
    )
  } finally {
    await closeAll(...clients)
    if (plain.listening) await new Promise((resolve) => plain.close(resolve))
    child.stdin.end()
    await exited
  }
})
