'use strict'
// Reconnecting clients against a real server process that is killed and
// started again on the same port.

const test = require('node:test')
const assert = require('node:assert/strict')
const net = require('node:net')
const { spawn } = require('node:child_process')
const { rpc, once, invokeCb, freePort } = require('./helpers')
const { startServer, killServer } = require('./fixtures/server-process')

const FAST = { initialDelay: 10, maxDelay: 50 }

/** A port nobody listens on (taken from the OS, then released). */

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

// ---- faults injected by a TCP proxy ------------------------------------------

const { startProxy } = require('./fixtures/fault-proxy')

/** An in-process server answering echo/slow, and a proxy in front of it. */
async function proxied(fault, options) {
  const server = rpc.createServer(
    { echo: (v) => v, slow: (ms, v) => new Promise((resolve) => setTimeout(resolve, ms, v)) },
    { appendResponse: false }
  )
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  const proxy = await startProxy(server.address().port, { fault, ...options })
  return { server, proxy }
}

test('a connection dropped in the middle of a reply fails the call (PROTOCOL without reconnect, CLOSED with it); a reconnecting client then works again', async () => {
  const { server, proxy } = await proxied('drop')
  const plain = rpc.createClient({ port: proxy.port, host: '127.0.0.1' })
  const client = rpc.createClient({ port: proxy.port, host: '127.0.0.1', reconnect: FAST })
  try {
    await assert.rejects(plain.request('echo', ['x'.repeat(1000)]), { code: 'ERR_MSGPACK_RPC_PROTOCOL', message: /in the middle of a message/ })
    assert.equal(plain.closed, true)
    const disconnected = once(client, 'disconnect')
    const err = await client.request('echo', ['x'.repeat(1000)]).catch((e) => e)
    assert.equal(err.code, 'ERR_MSGPACK_RPC_CLOSED')
    assert.equal(err.cause.code, 'ERR_MSGPACK_RPC_PROTOCOL')
    const [lost] = await disconnected
    assert.equal(lost.code, 'ERR_MSGPACK_RPC_PROTOCOL')
    proxy.setFault('none')
    assert.equal(await client.request('echo', ['after']), 'after')
  } finally {
    await client.close()
    await plain.close()
    await proxy.close()
    await server.close()
  }
})

test('a blackholed connection shows as the call timeout, and close() still resolves', async () => {
  const { server, proxy } = await proxied('blackhole')
  const client = rpc.createClient({ port: proxy.port, host: '127.0.0.1', reconnect: FAST })
  try {
    await once(client, 'ready')
    await assert.rejects(client.request('echo', [1], { timeout: 50 }), { code: 'ERR_MSGPACK_RPC_TIMEOUT' })
    const [legacy] = await new Promise((resolve) => {
      client.setTimeout(50)
      client.invoke('echo', 2, (...args) => resolve(args))
    })
    assert.equal(legacy, 'timeout')
  } finally {
    await client.close()
    await proxy.close()
    await server.close()
  }
})

test('a delayed connection answers late: calls within their timeout succeed, shorter ones time out', async () => {
  const { server, proxy } = await proxied('delay', { delayMs: 100 })
  const client = rpc.createClient({ port: proxy.port, host: '127.0.0.1' })
  try {
    await once(client, 'ready')
    await assert.rejects(client.request('echo', [1], { timeout: 20 }), { code: 'ERR_MSGPACK_RPC_TIMEOUT' })
    assert.equal(await client.request('echo', ['late'], { timeout: 10000 }), 'late')
  } finally {
    await client.close()
    await proxy.close()
    await server.close()
  }
})

test('close() toward a peer that stopped reading resolves within closeTimeout, destroying what could not be flushed', async () => {
  const { server, proxy } = await proxied('stall')
  const client = rpc.createClient({ port: proxy.port, host: '127.0.0.1', closeTimeout: 50 })
  try {
    await once(client, 'ready')
    const big = Buffer.alloc(1024 * 1024)
    // Far more than the socket buffers hold: most of it stays queued.
    for (let i = 0; i < 32; i++) client.notify('blob', big)
    const call = client.request('echo', [1])
    const failed = assert.rejects(call, { code: 'ERR_MSGPACK_RPC_CLOSED' })
    await client.close()
    await failed
    assert.equal(client.closed, true)
  } finally {
    await proxy.close()
    await server.close()
  }
})

test('connectTimeout fails a connect that never completes with ETIMEDOUT, and close() during such a connect resolves at once', async (t) => {
  // A listener that never accepts: once its queue is full, further SYNs go unanswered.
  const { execFileSync, spawn: spawnChild } = require('node:child_process')
  try {
    execFileSync('python3', ['-c', 'pass'])
  } catch {
    return t.skip('python3 missing')
  }
  const listener = spawnChild('python3', ['-c', 'import socket,sys,time\ns=socket.socket()\ns.bind(("127.0.0.1",0))\ns.listen(0)\nprint(s.getsockname()[1],flush=True)\ntime.sleep(60)'], { stdio: ['ignore', 'pipe', 'inherit'] })
  const fillers = []
  const clients = []
  try {
    const [line] = await once(listener.stdout, 'data')
    const port = Number(String(line).trim())
    // Fill the accept queue with connections nobody accepts.
    for (let i = 0; i < 4; i++) {
      const s = net.connect(port, '127.0.0.1')
      s.on('error', () => {})
      fillers.push(s)
    }
    await new Promise((resolve) => setTimeout(resolve, 100))
    const timed = rpc.createClient({ port, host: '127.0.0.1', connectTimeout: 100 })
    clients.push(timed)
    const [err] = await once(timed, 'error')
    assert.equal(err.code, 'ETIMEDOUT')
    await once(timed, 'close')

    const retrying = rpc.createClient({ port, host: '127.0.0.1', connectTimeout: 50, reconnect: { ...FAST, maxAttempts: 2 } })
    clients.push(retrying)
    const gaveUp = once(retrying, 'error')
    const [last] = await gaveUp
    assert.equal(last.code, 'ETIMEDOUT')

    const stuck = rpc.createClient({ port, host: '127.0.0.1' })
    clients.push(stuck)
    const call = stuck.request('echo', [1])
    const failed = assert.rejects(call, { code: 'ERR_MSGPACK_RPC_CLOSED', message: 'connection closed locally' })
    await new Promise((resolve) => setTimeout(resolve, 50))
    assert.equal(stuck.connected, false)
    await stuck.close()
    await failed
  } finally {
    for (const c of clients) await c.close()
    for (const s of fillers) s.destroy()
    listener.kill('SIGKILL')
  }
})
