'use strict'
// A TCP client to an IP address connects from the JavaScript thread (its
// reader waits for the connect; no runtime thread is involved); a host name
// is resolved and connected on the runtime. What JavaScript sees must be the
// same either way: events on a later turn, in order, Node's errors and fields.
const test = require('node:test')
const assert = require('node:assert/strict')
const net = require('node:net')
const { spawn } = require('node:child_process')
const { rpc, listen, freePort, once } = require('./helpers')

async function tcpServer(handlers) {
  const server = rpc.createServer(handlers)
  const port = await listen(server)
  return { server, port }
}

test('connect() to a closed port rejects with ECONNREFUSED naming the syscall, address and port', async () => {
  const port = await freePort()
  await assert.rejects(rpc.connect({ host: '127.0.0.1', port }), (err) => {
    assert.equal(err.code, 'ECONNREFUSED')
    assert.equal(err.syscall, 'connect')
    assert.equal(err.address, '127.0.0.1')
    assert.equal(err.port, port)
    return true
  })
})

test('a refused TCP connect emits error, then close, after createClient() returned', async () => {
  const port = await freePort()
  const seen = []
  let returned = false
  const client = rpc.createClient(port, '127.0.0.1')
  client.on('error', (err) => seen.push(['error', err.code, returned]))
  const closed = once(client, 'close')
  client.on('close', () => seen.push(['close', returned]))
  returned = true
  await closed
  assert.deepEqual(seen, [
    ['error', 'ECONNREFUSED', true],
    ['close', true],
  ])
})

for (const host of ['127.0.0.1', 'localhost']) {
  test(`a TCP client to ${host} emits connect then ready on a later turn, and answers a call written before ready`, async () => {
    const { server, port } = await tcpServer({ add: (a, b, res) => res.result(a + b) })
    const client = rpc.createClient(port, host)
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
      assert.equal(client.stream.remotePort, port)
      assert.equal(client.stream.remoteAddress, '127.0.0.1')
    } catch (err) {
      // localhost may resolve to ::1 first on a host without it bound.
      if (host !== 'localhost' || err.code !== 'ECONNREFUSED') throw err
    } finally {
      await client.close()
      await server.close()
    }
  })
}

test('closing a TCP client right after creating it closes once and fails its queued call', async () => {
  const { server, port } = await tcpServer({ add: (a, b, res) => res.result(a + b) })
  try {
    const client = rpc.createClient(port, '127.0.0.1')
    let closes = 0
    client.on('close', () => closes++)
    const call = client.request('add', [1, 2])
    await client.close()
    await assert.rejects(call, { code: 'ERR_MSGPACK_RPC_CLOSED' })
    await new Promise((resolve) => setImmediate(resolve))
    assert.equal(closes, 1)
    const again = await rpc.connect({ host: '127.0.0.1', port })
    assert.equal(await again.request('add', [2, 3]), 5)
    await again.close()
  } finally {
    await server.close()
  }
})

test('a client closed while its connect hangs (the listener never accepts) closes at once', async () => {
  // A listener with no room in its backlog: the kernel drops further SYNs,
  // so the connect stays in progress (retrying) until given up on.
  const python = spawn('python3', ['-c', 'import socket,sys,time\ns=socket.socket()\ns.bind(("127.0.0.1",0))\ns.listen(0)\nprint(s.getsockname()[1],flush=True)\nsys.stdin.read()'], { stdio: ['pipe', 'pipe', 'inherit'] })
  const fillers = []
  try {
    const [line] = await once(python.stdout, 'data')
    const port = Number(String(line).trim())
    // Fill the accept queue (a backlog of 0 still holds one or two).
    for (let i = 0; i < 4; i++) {
      const s = net.connect(port, '127.0.0.1')
      s.on('error', () => {})
      fillers.push(s)
    }
    await new Promise((resolve) => setTimeout(resolve, 100))
    const client = rpc.createClient(port, '127.0.0.1')
    client.on('error', () => {})
    const call = client.request('add', [1, 2])
    await new Promise((resolve) => setTimeout(resolve, 100))
    assert.equal(client.stream.connecting, true, 'still connecting')
    const closed = once(client, 'close')
    client.close()
    await closed
    await assert.rejects(call, { code: 'ERR_MSGPACK_RPC_CLOSED' })
  } finally {
    for (const s of fillers) s.destroy()
    python.stdin.end()
    python.kill()
  }
})
