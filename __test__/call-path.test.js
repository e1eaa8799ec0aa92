'use strict'
// The client's call path over real sockets: msgid bookkeeping (the ring of
// pending calls and its overflow), timeouts among many pending calls,
// out-of-order answers, and many connections flushing in one tick.
const test = require('node:test')
const assert = require('node:assert/strict')
const { rpc, listen, once, invokeCb, closeAll } = require('./helpers')

/** A server that holds every `hold(x)` until told, and answers `echo(x)` at once. */
function holdingServer() {
  const held = []
  const server = rpc.createServer({
    hold(x, res) {
      held.push({ x, res })
    },
    echo: (x, res) => res.result(x),
  })
  return { server, held }
}

/** Answers every request still held, so the server can close without waiting for them. */
function releaseAll(held) {
  for (const h of held.splice(0)) if (!h.res.sent) h.res.result(null)
}

/** Resolves once `server` holds `n` requests (bounded wait). */
async function heldCount(held, n) {
  for (let i = 0; i < 500 && held.length < n; i++) await new Promise((resolve) => setTimeout(resolve, 10))
  assert.equal(held.length, n)
}

test('replies find their calls while msgids wrap past 2^32 with a slow call outstanding over many laps', async () => {
  const { server, held } = holdingServer()
  const port = await listen(server)
  const client = rpc.createClient(port, '127.0.0.1')
  try {
    await once(client, 'ready')
    client._lastId = 0xffffffff - 700 // the wrap falls in the middle of the waves below
    const slow = client.request('hold', ['slow'])
    await heldCount(held, 1)
    // Waves of calls in flight together, thousands of msgids in all: the
    // slow call's ring slot comes round again and again.
    for (let wave = 0; wave < 12; wave++) {
      const calls = []
      for (let i = 0; i < 150; i++) calls.push(client.request('echo', [wave * 1000 + i]))
      const got = await Promise.all(calls)
      assert.deepEqual(
        got,
        calls.map((_, i) => wave * 1000 + i),
      )
    }
    assert.ok(client._lastId < 0x10000, 'msgids wrapped')
    assert.equal(client.pendingCalls, 1)
    held[0].res.result('released')
    assert.equal(await slow, 'released')
    assert.equal(client.pendingCalls, 0)
  } finally {
    releaseAll(held)
    await closeAll(client, server)
  }
})

test('answers in any order reach the call that asked, callback and promise calls interleaved', async () => {
  const { server, held } = holdingServer()
  const port = await listen(server)
  const client = rpc.createClient(port, '127.0.0.1')
  try {
    await once(client, 'ready')
    // The server holds many requests only once it knows how big an answer is.
    await client.request('echo', [0])
    const n = 600
    const calls = []
    for (let i = 0; i < n; i++) calls.push(i % 2 === 0 ? client.request('hold', [i]) : invokeCb(client, 'hold', i).then(([err, r]) => (err ? Promise.reject(err) : r)))
    await heldCount(held, n)
    assert.equal(client.pendingCalls, n)
    // A fixed shuffle: every answer goes out in an order unlike the calls'.
    const order = held.map((_, i) => (i * 7919) % n)
    assert.equal(new Set(order).size, n)
    for (const i of order) held[i].res.result(`answer ${held[i].x}`)
    assert.deepEqual(
      await Promise.all(calls),
      calls.map((_, i) => `answer ${i}`),
    )
    assert.equal(client.pendingCalls, 0)
  } finally {
    releaseAll(held)
    await closeAll(client, server)
  }
})

test('a call times out on its own while thousands of others stay pending', async () => {
  const { server, held } = holdingServer()
  const port = await listen(server)
  const client = rpc.createClient(port, '127.0.0.1')
  const errors = []
  client.on('error', (err) => errors.push(err))
  try {
    await once(client, 'ready')
    await client.request('echo', [0])
    const n = 3000
    const calls = []
    for (let i = 0; i < n; i++) calls.push(client.request('hold', [i]))
    const timed = client.request('hold', ['timed'], { timeout: 30 })
    await assert.rejects(timed, { code: 'ERR_MSGPACK_RPC_TIMEOUT' })
    assert.equal(client.pendingCalls, n)
    await heldCount(held, n + 1)
    // The late answer to the timed-out call is dropped quietly.
    for (const h of held) h.res.result(h.x)
    assert.deepEqual(
      await Promise.all(calls),
      calls.map((_, i) => i),
    )
    await client.request('echo', ['after']) // the late answer has been read by now
    assert.deepEqual(errors, [])
    assert.equal(client.stats().calls.timedOut, 1)
  } finally {
    releaseAll(held)
    await closeAll(client, server)
  }
})

test('close fails pending calls oldest first, those past the ring window included', async () => {
  const { server, held } = holdingServer()
  const port = await listen(server)
  const client = rpc.createClient(port, '127.0.0.1')
  try {
    await once(client, 'ready')
    client._lastId = 1000 // ring slots wrap between the oldest call and the newer ones
    const failed = []
    const slow = invokeCb(client, 'hold', 'first').then(([err]) => failed.push(['first', err.code]))
    await heldCount(held, 1)
    // Lap the ring with short calls, so later held calls share the slow one's slot.
    for (let i = 0; i < 300; i++) await client.request('echo', [i])
    const rest = []
    for (let i = 0; i < 200; i++) rest.push(invokeCb(client, 'hold', i).then(([err]) => failed.push([i, err.code])))
    await heldCount(held, 201)
    await client.close()
    await Promise.all([slow, ...rest])
    assert.deepEqual(failed, [['first', 'ERR_MSGPACK_RPC_CLOSED'], ...rest.map((_, i) => [i, 'ERR_MSGPACK_RPC_CLOSED'])])
  } finally {
    releaseAll(held)
    await closeAll(client, server)
  }
})

test('many connections flush in one tick while one of them is destroyed in between', async () => {
  const { server, held } = holdingServer()
  const port = await listen(server)
  const clients = []
  try {
    for (let i = 0; i < 32; i++) clients.push(rpc.createClient(port, '127.0.0.1'))
    await Promise.all(clients.map((c) => once(c, 'ready')))
    // One tick: every connection queues calls, one is destroyed before its flush.
    const calls = clients.map((c, i) => Promise.allSettled([c.request('echo', [i]), c.request('echo', [i + 100])]))
    clients[13].stream.destroy()
    const settled = await Promise.all(calls)
    settled.forEach((results, i) => {
      if (i === 13) {
        for (const r of results) assert.equal(r.status, 'rejected')
        for (const r of results) assert.equal(r.reason.code, 'ERR_MSGPACK_RPC_CLOSED')
      } else {
        assert.deepEqual(
          results.map((r) => r.value),
          [i, i + 100],
        )
      }
    })
    // The others go on working.
    assert.deepEqual(await Promise.all(clients.filter((_, i) => i !== 13).map((c) => c.request('echo', ['again']))), new Array(31).fill('again'))
  } finally {
    releaseAll(held)
    await closeAll(...clients, server)
  }
})

test('calls with different timeouts expire earliest deadline first, answered ones never', async () => {
  const { server, held } = holdingServer()
  const port = await listen(server)
  const client = rpc.createClient(port, '127.0.0.1')
  try {
    await once(client, 'ready')
    const settled = []
    const timed = (x, timeout) =>
      client.request('hold', [x], { timeout }).then(
        () => settled.push(`${x} answered`),
        (err) => settled.push(`${x} ${err.code}`),
      )
    const waits = [200, 40, 120, 80, 160].map((ms) => timed(`t${ms}`, ms))
    const answered = timed('answered', 40)
    await heldCount(held, 6)
    held[5].res.result('now') // the answered call, before its deadline
    await Promise.all([...waits, answered])
    assert.deepEqual(settled, ['answered answered', ...[40, 80, 120, 160, 200].map((ms) => `t${ms} ERR_MSGPACK_RPC_TIMEOUT`)])
    assert.equal(client.pendingCalls, 0)
    assert.equal(client.stats().calls.timedOut, 5)
  } finally {
    releaseAll(held)
    await closeAll(client, server)
  }
})

test('calls with many distinct timeouts all expire, each with its own in the message', async () => {
  const { server, held } = holdingServer()
  const port = await listen(server)
  const client = rpc.createClient(port, '127.0.0.1')
  try {
    await once(client, 'ready')
    const timeouts = Array.from({ length: 20 }, (_, i) => 10 + i * 3)
    const errors = await Promise.all(timeouts.map((timeout) => client.request('hold', [timeout], { timeout }).catch((err) => err)))
    for (const [i, err] of errors.entries()) {
      assert.equal(err.code, 'ERR_MSGPACK_RPC_TIMEOUT')
      assert.match(err.message, new RegExp(`\\b${timeouts[i]} ?ms\\b`))
    }
    assert.equal(client.pendingCalls, 0)
  } finally {
    releaseAll(held)
    await closeAll(client, server)
  }
})

test('a timeout keeps counting from its call while later calls with the same timeout are answered', async () => {
  const { server, held } = holdingServer()
  const port = await listen(server)
  const client = rpc.createClient(port, '127.0.0.1')
  client.setTimeout(60)
  try {
    await once(client, 'ready')
    const [err] = await Promise.all([
      invokeCb(client, 'hold', 'slow'),
      (async () => {
        // Answered calls come and go in the list behind the slow one.
        for (let i = 0; i < 20; i++) assert.deepEqual(await invokeCb(client, 'echo', i), [null, i])
      })(),
    ])
    assert.deepEqual(err, ['timeout', undefined])
    // The stream's timer is armed again for later calls.
    const started = Date.now()
    assert.deepEqual(await invokeCb(client, 'hold', 'again'), ['timeout', undefined])
    assert.ok(Date.now() - started >= 55)
  } finally {
    releaseAll(held)
    await closeAll(client, server)
  }
})

test('a timeout longer than a Node timer can wait behaves as setTimeout does with it', async () => {
  const { server, held } = holdingServer()
  const port = await listen(server)
  const client = rpc.createClient(port, '127.0.0.1')
  const warnings = []
  const onWarning = (w) => warnings.push(w.name)
  process.on('warning', onWarning)
  try {
    await once(client, 'ready')
    // Node's setTimeout takes a delay over 2^31 - 1 ms as 1 ms, with a TimeoutOverflowWarning.
    client.setTimeout(2 ** 32)
    assert.deepEqual(await invokeCb(client, 'hold', 'x'), ['timeout', undefined])
    await new Promise((resolve) => setImmediate(resolve))
    assert.deepEqual(warnings, ['TimeoutOverflowWarning'])
    await heldCount(held, 1)
  } finally {
    process.removeListener('warning', onWarning)
    releaseAll(held)
    await closeAll(client, server)
  }
})
