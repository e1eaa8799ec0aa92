'use strict'
// UDP server and client lifetime: peers expire, refused datagrams are only
// timeouts, close() settles in every state, listen() checks its arguments.
const test = require('node:test')
const assert = require('node:assert/strict')
const dgram = require('node:dgram')
const { rpc, once } = require('./helpers')

/** A request `[0, msgid, method, params]` encoded by the library. */
function request(msgid, method, params = []) {
  return rpc.encode([0, msgid, method, params])
}

/** A port nobody listens on (bound, then released). */
async function deadPort() {
  const probe = dgram.createSocket('udp4')
  await new Promise((resolve) => probe.bind(0, '127.0.0.1', resolve))
  const { port } = probe.address()
  await new Promise((resolve) => probe.close(resolve))
  return port
}

/** Resolves once `cond()` holds, polling each `ms`, or rejects after `tries` polls. */
async function until(cond, tries = 500, ms = 10) {
  for (let i = 0; i < tries; i++) {
    if (cond()) return
    await new Promise((resolve) => setTimeout(resolve, ms))
  }
  throw new Error('condition never held')
}

test('peers of 2000 short-lived clients expire after peerIdleTimeout and leave no streams', async () => {
  const server = rpc.createUdpServer({ ping: () => 'pong' }, { peerIdleTimeout: 50 })
  // A new client may get the port of one that went away: fewer peers than clients.
  let opened = 0
  let closed = 0
  server.on('connection', (peer) => {
    opened++
    peer.once('close', () => closed++)
  })
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address()
  const CLIENTS = 2000
  const BATCH = 100
  try {
    for (let first = 0; first < CLIENTS; first += BATCH) {
      const sockets = []
      try {
        for (let i = 0; i < BATCH; i++) {
          const socket = dgram.createSocket('udp4')
          sockets.push(socket)
          await new Promise((resolve) => socket.bind(0, '127.0.0.1', resolve))
        }
        // Each client asks once and waits for its answer, then goes away.
        await Promise.all(
          sockets.map(
            (socket, i) =>
              new Promise((resolve, reject) => {
                socket.once('message', (msg) => {
                  const [type, msgid, error, result] = rpc.decode(msg)
                  if (type === 1 && msgid === first + i && error === null && result === 'pong') resolve()
                  else reject(new Error(`unexpected answer ${msg.toString('hex')}`))
                })
                socket.send(request(first + i, 'ping'), port, '127.0.0.1')
              })
          )
        )
      } finally {
        await Promise.all(sockets.map((s) => new Promise((resolve) => s.close(resolve))))
      }
    }
    await until(() => server.connections.length === 0)
    assert.equal(server._peers.size, 0)
    await until(() => closed === opened)
    assert.ok(opened > CLIENTS / 2, `${opened} peers`)
  } finally {
    await server.close()
  }
})

test('a peer we are waiting on does not expire while our call to it is in flight', async () => {
  let peer
  const server = rpc.createUdpServer((p) => (peer = p), { peerIdleTimeout: 20 })
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  let answer
  const client = rpc.createUdpClient(server.address().port, '127.0.0.1', {
    timeout: 5000,
    handler: {
      slow: (response) => {
        answer = response
      },
    },
  })
  try {
    client.notify('hello')
    await until(() => peer !== undefined)
    const call = peer.invoke('slow')
    await until(() => answer !== undefined)
    // Several sweeps pass while the call is in flight.
    await new Promise((resolve) => setTimeout(resolve, 100))
    assert.equal(server.connections.length, 1)
    assert.equal(peer.closed, false)
    answer.result('done')
    assert.equal(await call, 'done')
    await until(() => server.connections.length === 0)
    assert.equal(peer.closed, true)
  } finally {
    await client.close()
    await server.close()
  }
})

test('a peer does not expire while our handler still works on its request', async () => {
  let release
  const server = rpc.createUdpServer({ slow: () => new Promise((resolve) => (release = resolve)) }, { peerIdleTimeout: 20 })
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  const client = rpc.createUdpClient(server.address().port, '127.0.0.1', { timeout: 5000 })
  try {
    const call = client.invoke('slow')
    await until(() => release !== undefined)
    // Several sweeps pass while the handler works.
    await new Promise((resolve) => setTimeout(resolve, 100))
    assert.equal(server.connections.length, 1)
    release('late but delivered')
    assert.equal(await call, 'late but delivered')
    await until(() => server.connections.length === 0)
  } finally {
    await client.close()
    await server.close()
  }
})

test('a UDP client calling a port nobody listens on gets a timeout and no error event', async () => {
  const client = rpc.createUdpClient(await deadPort(), '127.0.0.1', { timeout: 200 })
  const errors = []
  client.on('error', (err) => errors.push(err))
  try {
    // The kernel answers the first datagram with ICMP port-unreachable; the
    // later calls are sent after it arrived.
    for (let i = 0; i < 3; i++) {
      await assert.rejects(client.invoke('anything'), { code: 'ERR_MSGPACK_RPC_TIMEOUT' })
    }
    assert.deepEqual(errors, [])
    assert.equal(client.closed, false)
  } finally {
    await client.close()
  }
})

test('UdpServer#close() before listen() resolves, and its callback gets ERR_SERVER_NOT_RUNNING', async () => {
  const server = rpc.createUdpServer({})
  assert.equal(await server.close(), undefined)
  const [err] = await new Promise((resolve) => server.close((...args) => resolve(args)))
  assert.equal(err.code, 'ERR_SERVER_NOT_RUNNING')
})

test('a second UdpServer#close() neither throws nor hangs, while closing or after', async () => {
  const server = rpc.createUdpServer({})
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  const first = server.close()
  const second = server.close()
  await Promise.all([first, second])
  await server.close()
  const [err] = await new Promise((resolve) => server.close((...args) => resolve(args)))
  assert.equal(err.code, 'ERR_SERVER_NOT_RUNNING')
})

test('UdpServer#listen checks its port and host as Server#listen does', async () => {
  const server = rpc.createUdpServer({})
  assert.throws(() => server.listen(65536), { name: 'RangeError', code: 'ERR_SOCKET_BAD_PORT' })
  assert.throws(() => server.listen(-1), { name: 'RangeError', code: 'ERR_SOCKET_BAD_PORT' })
  assert.throws(() => server.listen('http'), { name: 'RangeError', code: 'ERR_SOCKET_BAD_PORT' })
  assert.throws(() => server.listen(0, 127), { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE', message: /"host" argument must be of type string/ })
  assert.equal(server.address(), null)
  // Still usable after the refusals.
  await new Promise((resolve) => server.listen('0', '127.0.0.1', resolve))
  assert.ok(server.address().port > 0)
  await server.close()
  assert.equal(server.address(), null)
})

test('UDP options are validated: unknown keys, bad types and out-of-range values throw', () => {
  assert.throws(() => rpc.createUdpServer({}, { maxDatagramSize: 65508 }), { name: 'RangeError', code: 'ERR_OUT_OF_RANGE', message: /"options\.maxDatagramSize" .* >= 1 && <= 65507/ })
  assert.throws(() => rpc.createUdpServer({}, { peerIdleTimeout: 0 }), { name: 'RangeError', code: 'ERR_OUT_OF_RANGE' })
  assert.throws(() => rpc.createUdpServer({}, { peerIdleTimout: 10 }), { name: 'TypeError', code: 'ERR_INVALID_ARG_VALUE', message: /'options\.peerIdleTimout' is not a known option of createUdpServer\(\)/ })
  assert.throws(() => rpc.createUdpClient(0), { name: 'RangeError', code: 'ERR_SOCKET_BAD_PORT' })
  assert.throws(() => rpc.createUdpClient(9, '127.0.0.1', { timeout: '5' }), { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' })
  assert.throws(() => rpc.createUdpClient(9, '127.0.0.1', { peerIdleTimeout: 5 }), { code: 'ERR_INVALID_ARG_VALUE' })
})

test('a UDP client takes its options in place of the host', async () => {
  const server = rpc.createUdpServer({ ping: () => 'pong' })
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  const client = rpc.createUdpClient(server.address().port, { timeout: 2000 })
  try {
    await once(client, 'ready')
    assert.equal(await client.invoke('ping'), 'pong')
  } finally {
    await client.close()
    await server.close()
  }
})
