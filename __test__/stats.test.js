'use strict'
const test = require('node:test')
const assert = require('node:assert/strict')
const promClient = require('prom-client')
const { rpc, listen, once, invokeCb, closeAll } = require('./helpers')

/** Polls `cond` every 10 ms, at most 200 times. */
async function until(cond) {
  for (let i = 0; i < 200; i++) {
    if (cond()) return
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
  throw new Error('condition never held')
}

function methods() {
  return {
    add: (a, b) => a + b,
    fail: () => {
      throw new Error('no')
    },
    // Never answers: timeouts, aborts and calls still pending at close.
    hang: () => new Promise(() => {}),
  }
}

function checkLatency(latency, count) {
  assert.equal(latency.count, count)
  assert.ok(latency.max > 0)
  assert.ok(latency.p50 > 0 && latency.p50 <= latency.p90 && latency.p90 <= latency.p99 && latency.p99 <= latency.max)
}

test('stream.stats() counts a known mix of calls, failures, timeouts, aborts, notifications and bytes', async () => {
  const notes = []
  const server = rpc.createServer(methods(), { appendResponse: false, closeTimeout: 100 })
  server.on('connection', (stream) => {
    stream.on('notify', (method) => notes.push(method))
    stream.notify('hello', 1)
  })
  const port = await listen(server)
  const client = await rpc.connect({ port, host: '127.0.0.1' })
  const heard = once(client, 'notify')
  try {
    assert.equal(await client.request('add', [1, 2]), 3)
    assert.equal(await client.request('add', [3, 4]), 7)
    assert.deepEqual(await invokeCb(client, 'add', 5, 6), [null, 11])
    await assert.rejects(client.request('fail'), { code: rpc.codes.REMOTE })
    const [err] = await invokeCb(client, 'fail')
    assert.equal(err, 'no')
    await assert.rejects(client.request('hang', [], { timeout: 20 }), { code: rpc.codes.TIMEOUT })
    const ac = new AbortController()
    const aborted = client.request('hang', [], { signal: ac.signal })
    ac.abort()
    await assert.rejects(aborted, { code: rpc.codes.ABORTED })
    const pending = client.request('hang')
    client.notify('a')
    client.notify('b')
    await heard
    // A round trip after the rest: the server has read everything sent before it.
    assert.equal(await client.request('add', [0, 0]), 0)
    await until(() => notes.length === 2)

    const s = client.stats()
    assert.deepEqual(s.calls, { sent: 9, received: 0, failed: 3, timedOut: 1, pending: 1 })
    assert.deepEqual(s.notifications, { sent: 2, received: 1 })
    // Replies timed: four answers and two error answers.
    checkLatency(s.latency, 6)

    const [stream] = server.connections
    const ss = stream.stats()
    assert.deepEqual(ss.calls, { sent: 0, received: 9, failed: 0, timedOut: 0, pending: 0 })
    assert.deepEqual(ss.notifications, { sent: 1, received: 2 })
    assert.equal(ss.bytes.received, s.bytes.sent)
    assert.equal(ss.latency.count, 0)
    // Bytes the server has sent that the client has read: all but nothing in flight.
    await until(() => client.stats().bytes.received === stream.stats().bytes.sent)
    assert.ok(s.bytes.sent > 0)

    await client.close()
    await assert.rejects(pending, { code: rpc.codes.CLOSED })
    const after = client.stats()
    assert.deepEqual(after.calls, { sent: 9, received: 0, failed: 4, timedOut: 1, pending: 0 })
  } finally {
    await closeAll(client, server)
  }
})

test('server.stats() sums its connections and keeps the counts of closed ones', async () => {
  const server = rpc.createServer(methods(), { appendResponse: false, closeTimeout: 100 })
  const port = await listen(server)
  const a = await rpc.connect({ port, host: '127.0.0.1' })
  const b = await rpc.connect({ port, host: '127.0.0.1' })
  try {
    await a.request('add', [1, 1])
    await assert.rejects(a.request('fail'), { code: rpc.codes.REMOTE })
    await b.request('add', [2, 2])
    b.notify('x')
    await b.request('add', [0, 0])
    let s = server.stats()
    assert.deepEqual(s.connections, { open: 2, total: 2 })
    assert.deepEqual(s.calls, { sent: 0, received: 4, failed: 0, timedOut: 0, pending: 0 })
    assert.deepEqual(s.notifications, { sent: 0, received: 1 })
    const bytesBefore = s.bytes.received
    assert.equal(bytesBefore, a.stats().bytes.sent + b.stats().bytes.sent)

    const gone = once(server.connections[0], 'close')
    await a.close()
    await gone
    s = server.stats()
    assert.deepEqual(s.connections, { open: 1, total: 2 })
    assert.equal(s.calls.received, 4)
    assert.equal(s.bytes.received, bytesBefore)

    // The server's own calls to a client are timed like anyone's.
    const c = await rpc.connect({ port, host: '127.0.0.1', handler: { twice: (x, res) => res.result(x * 2) } })
    try {
      await until(() => server.connections.length === 2)
      const stream = server.connections.find((st) => st.stats().calls.received === 0 && st.stats().notifications.received === 0)
      assert.equal(await stream.request('twice', [21]), 42)
      s = server.stats()
      assert.deepEqual(s.connections, { open: 2, total: 3 })
      assert.deepEqual(s.calls, { sent: 1, received: 4, failed: 0, timedOut: 0, pending: 0 })
      checkLatency(s.latency, 1)
    } finally {
      await c.close()
    }
  } finally {
    await closeAll(a, b, server)
  }
})

test('UdpServer#stats() counts every peer, known or forgotten', async () => {
  const server = rpc.createUdpServer({ ping: () => 'pong' }, { peerIdleTimeout: 20 })
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  const client = rpc.createUdpClient(server.address().port, '127.0.0.1', { timeout: 5000 })
  try {
    assert.equal(await client.request('ping'), 'pong')
    client.notify('n')
    assert.equal(await client.request('ping'), 'pong')
    assert.equal(client.stats().calls.sent, 2)
    checkLatency(client.stats().latency, 2)
    // The idle peer is forgotten; its counts stay.
    await until(() => server.connections.length === 0)
    const s = server.stats()
    assert.deepEqual(s.connections, { open: 0, total: 1 })
    assert.deepEqual(s.calls, { sent: 0, received: 2, failed: 0, timedOut: 0, pending: 0 })
    assert.deepEqual(s.notifications, { sent: 0, received: 1 })
    assert.equal(s.bytes.received, client.stats().bytes.sent)
  } finally {
    await client.close()
    await server.close()
  }
})

// The README's example, as it is printed there.
function exportStats(source, register = promClient.register, prefix = 'msgpack_rpc_') {
  const counter = (name, help, labelNames, read) =>
    new promClient.Counter({
      name: prefix + name,
      help,
      labelNames,
      registers: [register],
      collect() {
        this.reset()
        for (const [labels, value] of read(source.stats())) this.inc(labels, value)
      },
    })
  const gauge = (name, help, labelNames, read) =>
    new promClient.Gauge({
      name: prefix + name,
      help,
      labelNames,
      registers: [register],
      collect() {
        for (const [labels, value] of read(source.stats())) this.set(labels, value)
      },
    })
  counter('calls_total', 'Calls by outcome: sent and received, failed and timed out (of those sent)', ['kind'], (s) =>
    ['sent', 'received', 'failed', 'timedOut'].map((kind) => [{ kind }, s.calls[kind]])
  )
  gauge('calls_pending', 'Calls sent awaiting a reply', [], (s) => [[{}, s.calls.pending]])
  counter('notifications_total', 'Notifications sent and received', ['direction'], (s) =>
    ['sent', 'received'].map((direction) => [{ direction }, s.notifications[direction]])
  )
  counter('bytes_total', 'Bytes sent and received', ['direction'], (s) => ['sent', 'received'].map((direction) => [{ direction }, s.bytes[direction]]))
  gauge('call_latency_ms', 'Latency of calls sent, in ms', ['quantile'], (s) => [
    [{ quantile: '0.5' }, s.latency.p50],
    [{ quantile: '0.9' }, s.latency.p90],
    [{ quantile: '0.99' }, s.latency.p99],
    [{ quantile: '1' }, s.latency.max],
  ])
  if (source.stats().connections) {
    gauge('connections_open', 'Connections open', [], (s) => [[{}, s.connections.open]])
    counter('connections_total', 'Connections accepted', [], (s) => [[{}, s.connections.total]])
  }
}

test('the README example exports server.stats() to a prom-client registry', async () => {
  const server = rpc.createServer(methods(), { appendResponse: false, closeTimeout: 100 })
  const port = await listen(server)
  const client = await rpc.connect({ port, host: '127.0.0.1' })
  const register = new promClient.Registry()
  exportStats(server, register)
  const clientRegister = new promClient.Registry()
  exportStats(client, clientRegister)
  try {
    await client.request('add', [1, 2])
    await assert.rejects(client.request('fail'), { code: rpc.codes.REMOTE })
    client.notify('n')
    await client.request('add', [1, 2])
    const text = await register.metrics()
    assert.match(text, /^msgpack_rpc_calls_total\{kind="received"\} 3$/m)
    assert.match(text, /^msgpack_rpc_calls_total\{kind="sent"\} 0$/m)
    assert.match(text, /^msgpack_rpc_notifications_total\{direction="received"\} 1$/m)
    assert.match(text, /^msgpack_rpc_connections_open 1$/m)
    assert.match(text, /^msgpack_rpc_connections_total 1$/m)
    assert.match(text, new RegExp(`^msgpack_rpc_bytes_total\\{direction="received"\\} ${client.stats().bytes.sent}$`, 'm'))
    // Scraping twice reports the same totals, not their sum.
    assert.match(await register.metrics(), /^msgpack_rpc_calls_total\{kind="received"\} 3$/m)

    const mine = await clientRegister.metrics()
    assert.match(mine, /^msgpack_rpc_calls_total\{kind="sent"\} 3$/m)
    assert.match(mine, /^msgpack_rpc_calls_total\{kind="failed"\} 1$/m)
    assert.match(mine, /^msgpack_rpc_calls_pending 0$/m)
    const p99 = /^msgpack_rpc_call_latency_ms\{quantile="0.99"\} (\S+)$/m.exec(mine)
    assert.ok(p99 && Number(p99[1]) > 0)
    assert.doesNotMatch(mine, /connections/)
  } finally {
    await closeAll(client, server)
  }
})
