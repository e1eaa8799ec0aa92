'use strict'
// Reconnecting clients against a real server process that is killed and
// started again on the same port.

const test = require('node:test')
const assert = require('node:assert/strict')
const net = require('node:net')
const { spawn } = require('node:child_process')
const { rpc, once, invokeCb } = require('./helpers')
const { startServer, killServer } = require('./fixtures/server-process')

const FAST = { initialDelay: 10, maxDelay: 50 }

/** A port nobody listens on (taken from the OS, then released). */
function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address()
      s.close(() => resolve(port))
    })
  })
}

/** Records the client's life events in order. */
function recordEvents(client) {
  const events = []
  client.on('ready', () => events.push('ready'))
  client.on('disconnect', (err) => events.push(`disconnect:${err.code}`))
  client.on('reconnecting', ({ attempt, delay }) => {
    assert.ok(Number.isInteger(attempt) && attempt >= 1)
    assert.ok(delay >= 0)
    events.push('reconnecting')
  })
  return events
}

/** Events with runs of 'reconnecting' folded into one. */
function folded(events) {
  return events.filter((e, i) => e !== 'reconnecting' || events[i - 1] !== 'reconnecting')
}

test('a client started before its server connects once the server is up and sends what it queued, in order', async () => {
  const port = await freePort()
  const client = rpc.createClient({ port, host: '127.0.0.1', reconnect: FAST, appendResponse: false })
  const events = recordEvents(client)
  let server
  try {
    assert.equal(client.connected, false)
    const results = [client.request('echo', ['first']), invokeCb(client, 'add', 1, 2), client.request('echo', ['third'])]
    await once(client, 'reconnecting')
    server = await startServer(port)
    assert.deepEqual(await Promise.all(results), ['first', [null, 3], 'third'])
    assert.equal(client.connected, true)
    assert.deepEqual(folded(events), ['reconnecting', 'ready'])
  } finally {
    await client.close()
    if (server) await killServer(server.child)
  }
})

test('a server restart fails the calls already written with ERR_MSGPACK_RPC_CLOSED and completes the ones made while down', async () => {
  let server = await startServer(0)
  const port = server.port
  const client = rpc.createClient({ port, host: '127.0.0.1', reconnect: FAST })
  const events = recordEvents(client)
  try {
    await once(client, 'ready')
    const firstPid = await client.request('pid')
    // Written, and the server dies before answering: must not be re-sent.
    const inFlight = client.request('slow', [60000, 'never'])
    const inFlightCb = invokeCb(client, 'slow', 60000, 'never')
    await client.request('echo', ['flushed'])
    const disconnected = once(client, 'disconnect')
    const inFlightFailed = assert.rejects(inFlight, { code: 'ERR_MSGPACK_RPC_CLOSED', message: 'connection closed by peer' })
    await killServer(server.child)
    await inFlightFailed
    const [errCb] = await inFlightCb
    assert.equal(errCb.code, 'ERR_MSGPACK_RPC_CLOSED')
    const [lost] = await disconnected
    assert.equal(lost.code, 'ERR_MSGPACK_RPC_CLOSED')
    assert.equal(client.connected, false)
    const queued = []
    for (let i = 0; i < 20; i++) queued.push(client.request('echo', [i]))
    const queuedCb = invokeCb(client, 'add', 20, 22)
    client.notify('echo', 'a notification while down')
    server = await startServer(port)
    assert.deepEqual(await Promise.all(queued), Array.from({ length: 20 }, (_, i) => i))
    assert.deepEqual(await queuedCb, [null, 42])
    assert.notEqual(await client.request('pid'), firstPid)
    assert.deepEqual(folded(events), ['ready', 'disconnect:ERR_MSGPACK_RPC_CLOSED', 'reconnecting', 'ready'])
  } finally {
    await client.close()
    await killServer(server.child)
  }
})

test('past maxQueuedCalls a call fails at once with ERR_MSGPACK_RPC_QUEUE_FULL, and close() fails the queued ones', async () => {
  const port = await freePort()
  const client = rpc.createClient({ port, host: '127.0.0.1', reconnect: FAST, maxQueuedCalls: 2 })
  const first = client.request('echo', [1])
  const second = invokeCb(client, 'echo', 2)
  await assert.rejects(client.request('echo', [3]), { code: 'ERR_MSGPACK_RPC_QUEUE_FULL', message: /maxQueuedCalls/ })
  const [fullCb] = await invokeCb(client, 'echo', 4)
  assert.equal(fullCb.code, 'ERR_MSGPACK_RPC_QUEUE_FULL')
  const firstFailed = assert.rejects(first, { code: 'ERR_MSGPACK_RPC_CLOSED', message: 'connection closed locally' })
  await client.close()
  await firstFailed
  const [err] = await second
  assert.equal(err.message, 'connection closed locally')
})

test('a queued call keeps its own timeout and AbortSignal', async () => {
  const port = await freePort()
  const client = rpc.createClient({ port, host: '127.0.0.1', reconnect: FAST, timeout: 30 })
  try {
    const ac = new AbortController()
    const aborted = client.request('echo', [1], { signal: ac.signal, timeout: 0 })
    ac.abort()
    await assert.rejects(aborted, { code: 'ERR_MSGPACK_RPC_ABORTED' })
    await assert.rejects(client.request('echo', [2], { timeout: 20 }), { code: 'ERR_MSGPACK_RPC_TIMEOUT' })
    const [legacy] = await invokeCb(client, 'echo', 3)
    assert.equal(legacy, 'timeout')
  } finally {
    await client.close()
  }
})

test('connect() with reconnect rejects with the last error only once its attempts run out', async () => {
  const port = await freePort()
  let attempts = 0
  const pending = rpc.connect({ port, host: '127.0.0.1', reconnect: { ...FAST, maxAttempts: 3 } })
  await assert.rejects(pending, { code: 'ECONNREFUSED' })
  // The rejected client is closed: its attempts are over.
  const client = rpc.createClient({ port, host: '127.0.0.1', reconnect: { ...FAST, maxAttempts: 2 } })
  client.on('reconnecting', () => attempts++)
  client.on('error', () => {})
  await once(client, 'close')
  assert.equal(attempts, 2)
})

test('close() while reconnecting resolves at once and leaves no timer behind', async () => {
  const port = await freePort()
  // In a child process: it exits by itself only if nothing is left running.
  const script = `
    const rpc = require(${JSON.stringify(require.resolve('..'))})
    const client = rpc.createClient({ port: ${port}, host: '127.0.0.1', reconnect: { initialDelay: 5, maxDelay: 5 }, timeout: 60000 })
    const call = client.request('echo', [1]).catch((e) => e.message)
    client.once('reconnecting', () => setTimeout(async () => {
      await client.close()
      console.log(await call)
    }, 30))
  `
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] })
  try {
    let out = ''
    child.stdout.on('data', (c) => (out += c))
    const [code] = await once(child, 'exit')
    assert.equal(code, 0)
    assert.equal(out.trim(), 'connection closed locally')
  } finally {
    child.kill('SIGKILL')
  }
})

test('a listener that closes the client on disconnect stops the reconnecting', async () => {
  const server = await startServer(0)
  const client = rpc.createClient({ port: server.port, host: '127.0.0.1', reconnect: FAST })
  let reconnecting = 0
  client.on('reconnecting', () => reconnecting++)
  try {
    await once(client, 'ready')
    client.once('disconnect', () => client.close())
    const closed = once(client, 'close')
    await killServer(server.child)
    await closed
    assert.equal(reconnecting, 0)
    assert.equal(client.closed, true)
  } finally {
    await killServer(server.child)
  }
})

test('without reconnect a lost connection closes the client for good', async () => {
  const server = await startServer(0)
  const client = rpc.createClient({ port: server.port, host: '127.0.0.1' })
  try {
    await once(client, 'ready')
    const closed = once(client, 'close')
    await killServer(server.child)
    await closed
    await assert.rejects(client.request('echo', [1]), { code: 'ERR_MSGPACK_RPC_CLOSED' })
  } finally {
    await client.close()
  }
})

test('reconnect options are checked like the other options', () => {
  assert.throws(() => rpc.createClient({ port: 1, reconnect: 'yes' }), { code: 'ERR_INVALID_ARG_TYPE' })
  assert.throws(() => rpc.createClient({ port: 1, reconnect: { jitter: 2 } }), { code: 'ERR_OUT_OF_RANGE' })
  assert.throws(() => rpc.createClient({ port: 1, reconnect: { delay: 2 } }), { code: 'ERR_INVALID_ARG_VALUE' })
  assert.throws(() => rpc.createClient({ port: 1, maxQueuedCalls: -1 }), { code: 'ERR_OUT_OF_RANGE' })
})
