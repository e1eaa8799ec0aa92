'use strict'
// Many cores: node:cluster workers sharing a port, SO_REUSEPORT, and
// listening on a descriptor handed over by a parent or a net.Server.
const test = require('node:test')
const assert = require('node:assert/strict')
const net = require('node:net')
const path = require('node:path')
const { spawn } = require('node:child_process')
const { rpc, invokeCb, closeAll, socketPath, removeSocket } = require('./helpers')

const FIXTURES = path.join(__dirname, 'fixtures')
/** Connections tried before giving up on seeing every server answer. */
const MAX_CONNECTIONS = 64
/** A bound for tests that start processes: a fixture that never gets ready fails the test instead of hanging it. */
const PROCESS_TEST = { timeout: 60000 }

/** Spawns a fixture; resolves with the child and the port of its `ready <port>` line. */
function start(script, args = [], stdio = ['pipe', 'pipe', 'inherit'], env = process.env) {
  const child = spawn(process.execPath, [path.join(FIXTURES, script), ...args], { stdio, env })
  const ready = new Promise((resolve, reject) => {
    let out = ''
    child.stdout.on('data', (chunk) => {
      out += chunk
      const ready = /ready (-?\d+)\n/.exec(out)
      if (ready) resolve(Number(ready[1]))
      else if (/error (\S+)\n/.test(out)) reject(new Error(`${script}: ${out.trim()}`))
    })
    child.once('exit', (code) => reject(new Error(`${script} exited with ${code} before it was ready: ${out}`)))
  })
  return { child, ready }
}

/** Ends a fixture (it exits when its stdin ends) and waits for it. */
async function stop(child) {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise((resolve) => child.once('exit', resolve))
  child.stdin.end()
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000)
  await exited
  clearTimeout(timer)
}

/**
 * Calls `method` over new connections to `target` (a port on 127.0.0.1, or
 * a unix socket path), one call each, until `wanted` different answers
 * came back or MAX_CONNECTIONS were made.
 */
async function answersOverConnections(target, method, wanted) {
  const seen = new Set()
  for (let i = 0; i < MAX_CONNECTIONS && seen.size < wanted; i++) {
    const client = typeof target === 'string' ? rpc.createClient(target) : rpc.createClient(target, '127.0.0.1')
    try {
      const [err, result] = await invokeCb(client, method)
      assert.equal(err, null)
      seen.add(result)
    } finally {
      await closeAll(client)
    }
  }
  return seen
}

test('two cluster workers listening on one port both answer calls', PROCESS_TEST, async () => {
  const primary = start('cluster-primary.js', ['cluster-worker.js'])
  try {
    const port = await primary.ready
    const ids = await answersOverConnections(port, 'whoami', 2)
    assert.deepEqual([...ids].sort(), [1, 2])
  } finally {
    await stop(primary.child)
  }
})

test('two cluster workers listening on one unix socket both answer calls', PROCESS_TEST, async () => {
  const socket = socketPath('cluster')
  const primary = start('cluster-primary.js', ['cluster-worker.js'], undefined, { ...process.env, SOCKET: socket })
  try {
    await primary.ready
    const ids = await answersOverConnections(socket, 'whoami', 2)
    assert.deepEqual([...ids].sort(), [1, 2])
  } finally {
    await stop(primary.child)
    removeSocket(socket)
  }
})

test('a server script with no cluster code works under cluster, as in pm2 cluster mode', PROCESS_TEST, async () => {
  const primary = start('cluster-primary.js', ['plain-server.js'])
  try {
    const port = await primary.ready
    const pids = await answersOverConnections(port, 'pid', 2)
    assert.equal(pids.size, 2)
    assert.ok(!pids.has(primary.child.pid), 'the workers answer, not the primary')
  } finally {
    await stop(primary.child)
  }
})

test('cluster workers listening with reusePort bind the port themselves and both answer', PROCESS_TEST, async () => {
  // A free port: reusePort workers bind it themselves, so it must be known beforehand.
  const probe = net.createServer()
  await new Promise((resolve) => probe.listen(0, '127.0.0.1', resolve))
  const { port } = probe.address()
  await new Promise((resolve) => probe.close(resolve))
  const primary = start('cluster-primary.js', ['own-bind-worker.js', String(port), 'own'])
  try {
    assert.equal(await primary.ready, port)
    const ids = await answersOverConnections(port, 'whoami', 2)
    assert.deepEqual([...ids].sort(), [1, 2])
  } finally {
    await stop(primary.child)
  }
})

test('a cluster worker listening with exclusive binds in its own process', PROCESS_TEST, async () => {
  // Each worker binds its own port 0; the primary fails the test if either shares through it.
  const primary = start('cluster-primary.js', ['own-bind-worker.js', '0', 'own'], undefined, { ...process.env, EXCLUSIVE: '1' })
  try {
    const port = await primary.ready
    const ids = await answersOverConnections(port, 'whoami', 1)
    assert.equal(ids.size, 1)
  } finally {
    await stop(primary.child)
  }
})

test('two processes listening with reusePort on one port both serve', PROCESS_TEST, async () => {
  const options = (port) => [JSON.stringify({ port, host: '127.0.0.1', reusePort: true })]
  const first = start('fd-server.js', options(0))
  let second
  try {
    const port = await first.ready
    second = start('fd-server.js', options(port))
    assert.equal(await second.ready, port)
    const pids = await answersOverConnections(port, 'pid', 2)
    assert.deepEqual([...pids].sort(), [first.child.pid, second.child.pid].sort())
  } finally {
    await stop(first.child)
    if (second) await stop(second.child)
  }
})

test('without reusePort a second process cannot bind the same port', PROCESS_TEST, async () => {
  const first = start('fd-server.js', [JSON.stringify({ port: 0, host: '127.0.0.1', reusePort: true })])
  let second
  try {
    const port = await first.ready
    second = start('fd-server.js', [JSON.stringify({ port, host: '127.0.0.1' })])
    await assert.rejects(second.ready, /error EADDRINUSE/)
  } finally {
    await stop(first.child)
    if (second) await stop(second.child)
  }
})

test('a server listens on a listening socket it inherited as fd 3', PROCESS_TEST, async () => {
  const parent = net.createServer()
  await new Promise((resolve) => parent.listen(0, '127.0.0.1', resolve))
  const { port } = parent.address()
  const server = start('fd-server.js', [], ['pipe', 'pipe', 'inherit', parent._handle.fd])
  // The child has its own copy now; only it may accept.
  parent.close()
  try {
    assert.equal(await server.ready, port)
    const pids = await answersOverConnections(port, 'pid', 1)
    assert.deepEqual([...pids], [server.child.pid])
  } finally {
    await stop(server.child)
  }
})

test('listen(netServer) takes over the socket of a listening net.Server', async () => {
  const netServer = net.createServer(() => assert.fail('the net.Server must not accept any more'))
  await new Promise((resolve) => netServer.listen(0, '127.0.0.1', resolve))
  const { port } = netServer.address()
  const server = rpc.createServer({ hello: (response) => response.result('native') })
  try {
    await new Promise((resolve, reject) => {
      server.once('error', reject)
      server.listen(netServer, resolve)
    })
    assert.equal(server.address().port, port)
    assert.equal(netServer.listening, false)
    const answers = await answersOverConnections(port, 'hello', 1)
    assert.deepEqual([...answers], ['native'])
  } finally {
    await closeAll(server)
    netServer.close()
  }
})

test('listen({ fd }) on a descriptor that is not a socket fails with an error naming it', async () => {
  const server = rpc.createServer()
  // fd 0 here is the test runner's stdin pipe or /dev/null: not a socket.
  const err = await new Promise((resolve) => {
    server.once('error', resolve)
    server.listen({ fd: 0 })
  })
  assert.equal(err.syscall, 'listen')
  assert.match(err.message, /fd 0/)
  assert.equal(server.listening, false)
})

test('listen options are checked: fd, reusePort, exclusive and handle', () => {
  const server = rpc.createServer()
  assert.throws(() => server.listen({ fd: -1 }), { code: 'ERR_OUT_OF_RANGE' })
  assert.throws(() => server.listen({ fd: 1.5 }), { code: 'ERR_OUT_OF_RANGE' })
  assert.throws(() => server.listen({ port: 0, reusePort: 'yes' }), { code: 'ERR_INVALID_ARG_TYPE' })
  assert.throws(() => server.listen({ port: 0, exclusive: 1 }), { code: 'ERR_INVALID_ARG_TYPE' })
  assert.throws(() => server.listen({ handle: 3 }), { code: 'ERR_INVALID_ARG_TYPE' })
  assert.throws(() => server.listen({ handle: { fd: 'x' } }), { code: 'ERR_INVALID_ARG_VALUE', message: /options\.handle/ })
  assert.equal(server.listening, false)
})

test('exclusive is accepted outside a cluster and listens as usual', async () => {
  const server = rpc.createServer({ hello: (response) => response.result('hi') })
  try {
    await new Promise((resolve, reject) => {
      server.once('error', reject)
      server.listen({ port: 0, host: '127.0.0.1', exclusive: true }, resolve)
    })
    const answers = await answersOverConnections(server.address().port, 'hello', 1)
    assert.deepEqual([...answers], ['hi'])
  } finally {
    await closeAll(server)
  }
})
