'use strict'
// What a short connection (connect, a call, close) no longer makes for
// itself, pinned through the public API: connect() and close() settle without
// listeners of their own, clients without options share their settings, the
// queue for calls made while down is made when one waits, and a latency
// histogram of one bucket holds no bucket table.

const test = require('node:test')
const assert = require('node:assert/strict')
const rpc = require('..')
const { Histogram } = require('../lib/histogram')
const { listen, freePort, once, closeAll } = require('./helpers')

/** A server that answers `add`, and can call the connection it accepts. */
async function adder() {
  const server = rpc.createServer({ add: (a, b, res) => res.result(a + b) })
  const port = await listen(server)
  return { server, port }
}

test('connect() resolves after the first ready and leaves no listener behind; close() resolves after every close listener ran', async () => {
  const { server, port } = await adder()
  let client
  try {
    client = await rpc.connect({ port, host: '127.0.0.1' })
    assert.deepEqual(client.eventNames(), [])
    assert.equal(client.connected, true)
    assert.equal(await client.request('add', [1, 2]), 3)
    const seen = []
    client.on('close', () => seen.push('before close()'))
    const done = client.close()
    // Added after close() was called: still runs before close() resolves.
    client.on('close', () => seen.push('after close()'))
    assert.equal(client.listenerCount('close'), 2)
    await done
    assert.deepEqual(seen, ['before close()', 'after close()'])
    assert.equal(client.closed, true)
  } finally {
    await closeAll(client, server)
  }
})

test('close() resolves even when a close listener throws or the close listeners are all removed', async () => {
  const { server, port } = await adder()
  const faults = []
  server.on('error', (err) => faults.push(err))
  const a = await rpc.connect({ port, host: '127.0.0.1' })
  const b = await rpc.connect({ port, host: '127.0.0.1' })
  const errors = []
  try {
    a.on('error', (err) => errors.push(err))
    a.on('close', () => {
      throw new Error('listener fails')
    })
    // Both calls wait for the one close; neither is stranded by the throw.
    await Promise.all([a.close(), a.close()])
    assert.equal(a.closed, true)
    assert.equal(errors.length, 1)
    assert.equal(errors[0].code, rpc.codes.HANDLER)
    assert.match(errors[0].message, /'close' listener threw: listener fails/)

    const closing = b.close()
    b.removeAllListeners('close')
    await closing
    assert.equal(b.closed, true)
    // Once closed, close() still resolves, with a callback as well.
    await b.close()
    await new Promise((resolve) => b.close(resolve))
  } finally {
    await closeAll(a, b, server)
  }
})

test('connect() rejects with the connect error after close, also when attempts run out with reconnect, and resolves on a later attempt', async () => {
  const port = await freePort()
  await assert.rejects(rpc.connect({ port, host: '127.0.0.1' }), { code: 'ECONNREFUSED', syscall: 'connect' })
  await assert.rejects(rpc.connect({ port, host: '127.0.0.1', reconnect: { initialDelay: 1, maxAttempts: 2 } }), {
    code: 'ECONNREFUSED',
  })

  // The first attempts are refused; the one after the server is up connects.
  const server = rpc.createServer({ add: (a, b, res) => res.result(a + b) })
  const client = rpc.createClient({ port, host: '127.0.0.1', reconnect: { initialDelay: 20, maxDelay: 20 } })
  try {
    const queued = client.request('add', [2, 2])
    await once(client, 'reconnecting')
    await new Promise((resolve, reject) => {
      server.once('error', reject)
      server.listen(port, '127.0.0.1', resolve)
    })
    await once(client, 'ready')
    assert.equal(await queued, 4)
  } finally {
    await closeAll(client, server)
  }
})

test('a client with a handler of its own answers where clients without options do not, though those share their settings', async () => {
  const { server, port } = await adder()
  const plain = await rpc.connect({ port, host: '127.0.0.1' })
  const withHandler = await rpc.connect({ port, host: '127.0.0.1', handler: { twice: (x, res) => res.result(x * 2) } })
  const exact = await rpc.connect({ port, host: '127.0.0.1', appendResponse: false, handler: { twice: (x) => x * 3 } })
  const plainToo = await rpc.connect(port, '127.0.0.1')
  const failing = () => {
    const err = new Error('not twice')
    err.code = 'E_TWICE'
    throw err
  }
  const fields = await rpc.connect({ port, host: '127.0.0.1', errorFields: true, handler: { twice: failing } })
  const clients = [plain, withHandler, exact, plainToo, fields]
  try {
    for (const client of clients) assert.equal(await client.request('add', [1, 1]), 2)
    assert.equal(server.connections.length, clients.length)
    const answers = await Promise.all(
      server.connections.map((s) =>
        s.request('twice', [7], { timeout: 200 }).then(
          (v) => v,
          (err) => (err.code === rpc.codes.REMOTE ? JSON.stringify(err.data) : err.code)
        )
      )
    )
    // One answer from each handler, the error with its fields; the two plain clients have none and never answer.
    const remote = JSON.stringify({ message: 'not twice', code: 'E_TWICE' })
    assert.deepEqual(answers.slice().sort(), [14, 21, remote, rpc.codes.TIMEOUT, rpc.codes.TIMEOUT].sort())
    assert.equal(plain.handler, undefined)
    assert.equal(plainToo.handler, undefined)
    assert.equal(typeof withHandler.handler.twice, 'function')
  } finally {
    await closeAll(...clients, server)
  }
})

test('a reconnecting client queues calls and notifications while down, bounded by maxQueuedCalls, and is not idle while they wait', async () => {
  const port = await freePort()
  const notes = []
  const server = rpc.createServer({ add: (a, b, res) => res.result(a + b) })
  server.on('connection', (stream) => stream.on('notify', (method, params) => notes.push([method, ...params])))
  const pool = new rpc.SessionPool({ reconnect: { initialDelay: 20, maxDelay: 20 }, maxQueuedCalls: 2, idleTimeout: 20 })
  const client = pool.getClient(port, '127.0.0.1')
  try {
    const first = client.request('add', [1, 1])
    client.notify('note', 'queued')
    await assert.rejects(client.request('add', [2, 2]), { code: rpc.codes.QUEUE_FULL, message: /2 calls already wait/ })
    // Several idle sweeps pass while the calls wait: the pool keeps the client.
    for (let i = 0; i < 5; i++) await once(client, 'reconnecting')
    assert.equal(pool.getClient(port, '127.0.0.1'), client)
    assert.equal(client.closed, false)
    await new Promise((resolve, reject) => {
      server.once('error', reject)
      server.listen(port, '127.0.0.1', resolve)
    })
    assert.equal(await first, 2)
    assert.equal(await client.request('add', [3, 3]), 6)
    assert.deepEqual(notes, [['note', 'queued']])
  } finally {
    await pool.closeClients()
    await closeAll(server)
  }
})

test('a server sums the latency of closed connections that each timed one call', async () => {
  const server = rpc.createServer()
  const port = await listen(server)
  const clients = []
  const maxima = []
  try {
    for (let i = 0; i < 4; i++) {
      const accepted = once(server, 'connection')
      const client = await rpc.connect({ port, host: '127.0.0.1', handler: { echo: (x, res) => res.result(x) } })
      clients.push(client)
      const [stream] = await accepted
      assert.equal(await stream.request('echo', [i]), i)
      const one = stream.stats().latency
      assert.equal(one.count, 1)
      // One call: every percentile is its bucket, capped by the call itself.
      assert.ok(one.max > 0 && one.p50 === one.p90 && one.p90 === one.p99 && one.p99 <= one.max)
      maxima.push(one.max)
      const gone = once(stream, 'close')
      await client.close()
      await gone
    }
    const { latency } = server.stats()
    assert.equal(latency.count, 4)
    assert.equal(latency.max, Math.max(...maxima))
    assert.ok(latency.p50 > 0 && latency.p50 <= latency.p90 && latency.p90 <= latency.p99 && latency.p99 <= latency.max)
  } finally {
    await closeAll(...clients, server)
  }
})

/** The percentile as the histogram defines it, from every recorded value: the bucket holding the rank-th smallest. */
function reference(values, p) {
  if (values.length === 0) return 0
  const bucket = (ms) => (ms * 1000 <= 1 ? 0 : Math.ceil(Math.log(ms * 1000) / Math.log(1.02)))
  const sorted = values.map(bucket).sort((a, b) => a - b)
  const max = Math.max(...values)
  return Math.min(max, 1.02 ** sorted[Math.ceil((p / 100) * values.length) - 1] / 1000)
}

test('a histogram answers as one over every value recorded, whether its values share one bucket or not, and sums likewise', () => {
  let seed = 7
  const random = () => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31
    return seed / 2 ** 31
  }
  // Value sets: one value, one value repeated, values in one bucket, spread values.
  const sets = [[0.25], [3, 3, 3], [1.0001, 1.0002, 1.00005]]
  for (let n = 0; n < 20; n++) sets.push(Array.from({ length: 1 + Math.floor(random() * 30) }, () => (random() < 0.3 ? 0.5 : random() * 50)))
  for (const values of sets) {
    const h = new Histogram()
    for (const ms of values) h.record(ms)
    assert.equal(h.count, values.length)
    assert.equal(h.max, Math.max(...values))
    for (const p of [1, 50, 90, 99, 100]) assert.equal(h.percentile(p), reference(values, p), `p${p} of ${values}`)
  }
  // Sums of every pair, each side one bucket or many, into an empty or a used histogram.
  for (const a of sets.slice(0, 8)) {
    for (const b of sets.slice(0, 8)) {
      const sum = new Histogram()
      for (const part of [a, b]) {
        const h = new Histogram()
        for (const ms of part) h.record(ms)
        sum.add(h)
      }
      sum.record(2)
      const all = [...a, ...b, 2]
      assert.equal(sum.count, all.length)
      assert.equal(sum.max, Math.max(...all))
      for (const p of [1, 50, 90, 99, 100]) assert.equal(sum.percentile(p), reference(all, p), `p${p} of ${all}`)
    }
  }
  assert.equal(new Histogram().percentile(50), 0)
  assert.equal(new Histogram().add(new Histogram()).count, 0)
})

test('close() bounds each stuck flush by its own closeTimeout: shorter ones begun later do not wait for a longer one', { timeout: 60000 }, async () => {
  const net = require('node:net')
  const sockets = new Set()
  // Accepts and never reads: what the clients write stays queued.
  const stalled = net.createServer((socket) => {
    socket.pause()
    sockets.add(socket)
  })
  await new Promise((resolve) => stalled.listen(0, '127.0.0.1', resolve))
  const { port } = stalled.address()
  const clients = []
  try {
    const connect = async (closeTimeout) => {
      const client = await rpc.connect({ port, host: '127.0.0.1', closeTimeout })
      clients.push(client)
      const big = Buffer.alloc(1024 * 1024)
      // Far more than the socket buffers hold.
      for (let i = 0; i < 16; i++) client.notify('blob', big)
      return client
    }
    const slow = await connect(600000)
    const quick = [await connect(20), await connect(20)]
    const slowClosing = slow.close()
    await Promise.all(quick.map((c) => c.close()))
    assert.deepEqual(quick.map((c) => c.closed), [true, true])
    assert.equal(slow.closed, false)
    // Once more after the shared timer fired: a new close is bounded too.
    const again = await connect(20)
    await again.close()
    assert.equal(again.closed, true)
    assert.equal(slow.closed, false)
    slow.stream.destroy()
    await slowClosing
    assert.equal(slow.closed, true)
  } finally {
    for (const client of clients) if (!client.closed) client.stream.destroy()
    for (const socket of sockets) socket.destroy()
    await new Promise((resolve) => stalled.close(resolve))
  }
})

/** A request `[0, 1, "m", params]` whose params array holds `inner` more arrays, one in the other: `inner + 2` levels. */
function nested(inner) {
  return Buffer.concat([Buffer.from([0x94, 0x00, 0x01, 0xa1, 0x6d]), Buffer.alloc(inner + 1, 0x91), Buffer.from([0xc0])])
}

/** A request `[0, 1, "m", [bin]]` with `size` bytes of bin. */
function blob(size) {
  const header = Buffer.from([0x94, 0x00, 0x01, 0xa1, 0x6d, 0x91, 0xc5, 0, 0])
  header.writeUInt16BE(size, 7)
  return Buffer.concat([header, Buffer.alloc(size)])
}

/**
 * Connects a client with `options` to a raw server that sends the request
 * `first`, and `second` once the first is answered; resolves with what the
 * client saw: the depth or size of each request's param, and the code of
 * the error that closed it.
 */
async function receive(options, first, second) {
  const net = require('node:net')
  const raw = net.createServer((socket) => {
    socket.on('error', () => {})
    socket.once('data', () => socket.end(second))
    socket.write(first)
  })
  await new Promise((resolve) => raw.listen(0, '127.0.0.1', resolve))
  const seen = { params: [], error: undefined }
  const depth = (v) => (Array.isArray(v) ? 1 + depth(v[0]) : 0)
  const client = rpc.createClient({ port: raw.address().port, host: '127.0.0.1', ...options })
  try {
    // A listener, not a handler: a handler is an option.
    client.on('request', (method, params, response) => {
      seen.params.push(Buffer.isBuffer(params[0]) ? `${params[0].length} bytes` : `${depth(params)} deep`)
      response.result(null)
    })
    client.on('error', (err) => (seen.error = err.code))
    await once(client, 'close')
    return seen
  } finally {
    await closeAll(client)
    await new Promise((resolve) => raw.close(resolve))
  }
}

test('a client without options keeps the default limits; limits given to a client are the ones it enforces', async () => {
  const max = require('../lib/binding').DEFAULT_MAX_DEPTH
  // At the default depth limit, then past it.
  assert.deepEqual(await receive({}, nested(max - 2), nested(max - 1)), { params: [`${max - 1} deep`], error: rpc.codes.PROTOCOL })
  // A depth of its own: five levels pass, six do not.
  assert.deepEqual(await receive({ maxDepth: 5 }, nested(3), nested(4)), { params: ['4 deep'], error: rpc.codes.PROTOCOL })
  // A message size of its own.
  assert.deepEqual(await receive({ maxMessageSize: blob(100).length }, blob(100), blob(101)), {
    params: ['100 bytes'],
    error: rpc.codes.MESSAGE_TOO_LARGE,
  })
  // Without one, the same messages pass.
  assert.deepEqual(await receive({}, blob(100), blob(101)), { params: ['100 bytes', '101 bytes'], error: undefined })
})
