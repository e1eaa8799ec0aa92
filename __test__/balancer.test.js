'use strict'
// rpc.createBalancer: calls spread over real servers by strategy, outages,
// idempotent retries, DNS re-resolution through the `lookup` option, the
// queue while no server is up, and close().
const test = require('node:test')
const assert = require('node:assert/strict')
const { execFile } = require('node:child_process')
const { rpc, socketPath, listen, once, invokeCb, closeAll, removeSocket, freePort } = require('./helpers')

/** Fast backoff so a restarted server is found again quickly. */
const FAST = { initialDelay: 10, maxDelay: 50 }
/** The bound on every wait in this file. */
const WAIT = 10000

/** Rejects if `promise` does not settle within WAIT ms. */
function within(promise, what) {
  let timer
  const limit = new Promise((resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`gave up waiting for ${what}`)), WAIT)
  })
  return Promise.race([promise, limit]).finally(() => clearTimeout(timer))
}

/** Resolves once `predicate(...args)` holds for an `event` of `emitter`. */
function until(emitter, event, predicate, what) {
  let listener
  const wait = new Promise((resolve) => {
    listener = (...args) => {
      if (predicate(...args)) resolve(args)
    }
    emitter.on(event, listener)
  })
  return within(wait, what).finally(() => emitter.removeListener(event, listener))
}

/** Resolves once every target of the balancer is up. */
function allUp(balancer) {
  const up = () => balancer.targets.every((t) => t.state === 'up')
  if (up()) return Promise.resolve()
  return until(balancer, 'up', up, 'every target to be up')
}

/** A server on 127.0.0.1 (or a path) answering `who` with its name and counting its calls. */
async function namedServer(name, where = { host: '127.0.0.1', port: 0 }, extra = {}) {
  const server = rpc.createServer(undefined, { appendResponse: false })
  server.calls = 0
  server.setHandler({
    who() {
      server.calls++
      return name
    },
    ...extra,
  })
  await within(
    new Promise((resolve, reject) => {
      server.once('error', reject)
      server.listen(where.path !== undefined ? where.path : { port: where.port, host: where.host }, resolve)
    }),
    `${name} to listen`
  )
  const address = server.address()
  server.target = typeof address === 'string' ? address : `${address.address}:${address.port}`
  return server
}

function countBy(values) {
  const counts = {}
  for (const v of values) counts[v] = (counts[v] || 0) + 1
  return counts
}

test('round-robin sends exactly one call in three to each of three servers, one of them on a unix socket', async () => {
  const path = socketPath('balancer-rr')
  const servers = [await namedServer('a'), await namedServer('b'), await namedServer('c', { path })]
  const balancer = rpc.createBalancer(
    servers.map((s) => s.target),
    { strategy: 'round-robin' }
  )
  try {
    await allUp(balancer)
    const answers = await within(Promise.all(Array.from({ length: 30 }, () => balancer.invoke('who'))), '30 calls')
    assert.deepEqual(countBy(answers), { a: 10, b: 10, c: 10 })
    assert.deepEqual(
      balancer.targets.map((t) => [t.address, t.state, t.pending, t.calls]),
      servers.map((s) => [s.target, 'up', 0, 10])
    )
  } finally {
    await closeAll(balancer, ...servers)
    removeSocket(path)
  }
})

test('least-pending sends calls to the idle servers while one is slow, ties taken in turn', async () => {
  const releases = []
  // Every server's `hold` answers only when released: whichever takes it is the slow one.
  const hold = () => new Promise((resolve) => releases.push(() => resolve('held')))
  const servers = [await namedServer('a', undefined, { hold }), await namedServer('b', undefined, { hold }), await namedServer('c', undefined, { hold })]
  const balancer = rpc.createBalancer(servers.map((s) => s.target))
  try {
    await allUp(balancer)
    const held = balancer.request('hold')
    const slow = balancer.targets.findIndex((t) => t.pending === 1)
    assert.notEqual(slow, -1)
    const answers = []
    for (let i = 0; i < 12; i++) answers.push(await within(balancer.invoke('who'), 'a call'))
    const names = ['a', 'b', 'c']
    const idle = names.filter((_, i) => i !== slow)
    assert.deepEqual(countBy(answers), { [idle[0]]: 6, [idle[1]]: 6 })
    assert.equal(servers[slow].calls, 0)
    for (const release of releases) release()
    assert.equal(await within(held, 'the held call'), 'held')
    assert.deepEqual(
      balancer.targets.map((t) => t.calls),
      [0, 1, 2].map((i) => (i === slow ? 1 : 6))
    )
  } finally {
    for (const release of releases) release()
    await closeAll(balancer, ...servers)
  }
})

test('keeps answering while one server is closed, and uses it again once it is back on the same port', async () => {
  const servers = [await namedServer('a'), await namedServer('b'), await namedServer('c')]
  const balancer = rpc.createBalancer(
    servers.map((s) => s.target),
    { strategy: 'round-robin', reconnect: FAST }
  )
  const port = servers[1].address().port
  try {
    await allUp(balancer)
    const down = until(balancer, 'down', (address) => address === servers[1].target, 'b to be down')
    await within(servers[1].close(), 'b to close')
    const [, err] = await down
    assert.equal(err.code, rpc.codes.CLOSED)
    assert.equal(balancer.targets[1].state, 'down')

    const during = await within(Promise.all(Array.from({ length: 30 }, () => balancer.invoke('who'))), 'calls during the outage')
    assert.deepEqual(countBy(during), { a: 15, c: 15 })

    const up = until(balancer, 'up', (address) => address === servers[1].target, 'b to be up again')
    servers[1] = await namedServer('b', { host: '127.0.0.1', port })
    await up
    assert.equal(balancer.targets[1].state, 'up')
    const after = await within(Promise.all(Array.from({ length: 30 }, () => balancer.invoke('who'))), 'calls after the restart')
    assert.deepEqual(countBy(after), { a: 10, b: 10, c: 10 })
  } finally {
    await closeAll(balancer, ...servers)
  }
})

/** A server that drops the connection of every request it receives, counting them. */
async function droppingServer() {
  const server = rpc.createServer((stream) => {
    stream.on('request', () => {
      server.calls++
      stream.stream.destroy()
    })
  })
  server.calls = 0
  await within(listen(server), 'the dropping server to listen')
  server.target = `127.0.0.1:${server.address().port}`
  return server
}

test('retries an idempotent call whose connection dropped on another server, and only that kind of call', async () => {
  const dropper = await droppingServer()
  const good = await namedServer('good', undefined, {
    fail() {
      throw new Error('no')
    },
  })
  // Round-robin from the first target: each balancer's first call goes to the dropper.
  const open = () => rpc.createBalancer([dropper.target, good.target], { strategy: 'round-robin', reconnect: FAST })
  const balancers = []
  try {
    const retrying = open()
    balancers.push(retrying)
    await allUp(retrying)
    assert.equal(await within(retrying.request('who', [], { idempotent: true }), 'the retried call'), 'good')
    assert.equal(dropper.calls, 1)
    assert.equal(good.calls, 1)
    assert.deepEqual(
      retrying.targets.map((t) => t.calls),
      [1, 1]
    )

    const plain = open()
    balancers.push(plain)
    await allUp(plain)
    await assert.rejects(within(plain.request('who'), 'the dropped call'), { code: rpc.codes.CLOSED })
    assert.equal(dropper.calls, 2)
    assert.equal(good.calls, 1)

    const legacy = open()
    balancers.push(legacy)
    await allUp(legacy)
    const [err] = await within(invokeCb(legacy, 'who'), 'the dropped legacy call')
    assert.ok(err instanceof Error)
    assert.equal(err.code, rpc.codes.CLOSED)

    // A remote error is an answer: never sent again.
    const answered = rpc.createBalancer([good.target], { reconnect: FAST })
    balancers.push(answered)
    await allUp(answered)
    await assert.rejects(within(answered.request('fail', [], { idempotent: true }), 'the failing call'), { code: rpc.codes.REMOTE, data: 'no' })
    assert.equal(answered.targets[0].calls, 1)
  } finally {
    await closeAll(...balancers, dropper, good)
  }
})

test('an idempotent call whose only server dropped its connection is retried there once it is back', async () => {
  let seen = 0
  const server = rpc.createServer((stream) => {
    stream.on('request', (method, params, response) => {
      // The first request loses its connection; the retry is answered.
      if (++seen === 1) stream.stream.destroy()
      else response.result('second try')
    })
  })
  await within(listen(server), 'the server to listen')
  const balancer = rpc.createBalancer([`127.0.0.1:${server.address().port}`], { reconnect: FAST })
  try {
    await allUp(balancer)
    assert.equal(await within(balancer.request('work', [], { idempotent: true }), 'the retried call'), 'second try')
    assert.equal(seen, 2)
    assert.equal(balancer.targets[0].calls, 2)
  } finally {
    await closeAll(balancer, server)
  }
})

test('re-resolution through `lookup` adds a new address and drains a removed one', { skip: process.platform !== 'linux' && '127.0.0.2 and .3 are loopback on Linux only' }, async () => {
  let release
  const first = await namedServer('first', undefined, { hold: () => new Promise((resolve) => (release = () => resolve('held'))) })
  const port = first.address().port
  const second = await namedServer('second', { host: '127.0.0.2', port })
  const third = await namedServer('third', { host: '127.0.0.3', port })
  let addresses = ['127.0.0.1', '127.0.0.2']
  const asked = []
  const lookup = (host, options, cb) => {
    asked.push([host, options.all])
    setImmediate(cb, null, addresses.map((address) => ({ address, family: 4 })))
  }
  const firstConnection = once(first, 'connection')
  // A short closeTimeout: closing a connection with a call in flight would cut that call.
  const balancer = rpc.createBalancer(`svc.test:${port}`, { lookup, resolveInterval: 20, reconnect: FAST, closeTimeout: 1 })
  try {
    const [resolved] = await until(balancer, 'resolve', () => true, 'the first resolution')
    assert.deepEqual(resolved, { addresses: [first.target, second.target], added: [first.target, second.target], removed: [] })
    assert.deepEqual(asked[0], ['svc.test', true])
    await allUp(balancer)
    const [firstStream] = await within(firstConnection, 'the connection to the first server')

    const held = balancer.request('hold')
    assert.deepEqual(
      balancer.targets.map((t) => t.pending),
      [1, 0]
    )
    addresses = ['127.0.0.2', '127.0.0.3']
    const [changed] = await until(balancer, 'resolve', (r) => r.removed.length > 0, 'the re-resolution')
    assert.deepEqual(changed, { addresses: [second.target, third.target], added: [third.target], removed: [first.target] })
    assert.deepEqual(
      balancer.targets.map((t) => t.address),
      [second.target, third.target]
    )
    // Drained, not dropped: the call it was running still gets its answer.
    assert.equal(firstStream.closed, false)
    const closed = once(firstStream, 'close')
    // Past closeTimeout: a connection closed at the removal would have cut the call by now.
    await new Promise((resolve) => setTimeout(resolve, 20))
    release()
    assert.equal(await within(held, 'the held call'), 'held')
    await within(closed, 'the removed server to be disconnected')

    await allUp(balancer)
    const answers = await within(Promise.all(Array.from({ length: 10 }, () => balancer.invoke('who'))), 'calls after the change')
    assert.deepEqual(countBy(answers), { second: 5, third: 5 })
    assert.equal(first.calls, 0)
  } finally {
    if (release) release()
    await closeAll(balancer, first, second, third)
  }
})

test('a failed re-resolution keeps the targets it had and is an error event', async () => {
  const server = await namedServer('only')
  const port = server.address().port
  let fail = false
  const lookup = (host, options, cb) => {
    if (fail) {
      const err = new Error(`getaddrinfo ENOTFOUND ${host}`)
      err.code = 'ENOTFOUND'
      return setImmediate(cb, err)
    }
    setImmediate(cb, null, [{ address: '127.0.0.1', family: 4 }])
  }
  const balancer = rpc.createBalancer(`svc.test:${port}`, { lookup, resolveInterval: 20 })
  try {
    await until(balancer, 'resolve', () => true, 'the first resolution')
    fail = true
    const [err] = await until(balancer, 'error', () => true, 'the failed resolution')
    assert.equal(err.code, 'ENOTFOUND')
    assert.deepEqual(
      balancer.targets.map((t) => t.address),
      [server.target]
    )
    assert.equal(await within(balancer.invoke('who'), 'a call'), 'only')
  } finally {
    await closeAll(balancer, server)
  }
})

test('calls and notifications made while no server is up wait, and complete once one comes up', async () => {
  const path = socketPath('balancer-queue')
  const notes = []
  const balancer = rpc.createBalancer([path], { reconnect: FAST })
  let server
  try {
    const settled = []
    const calls = [balancer.invoke('who'), balancer.request('who', [], { timeout: WAIT }), invokeCb(balancer, 'who')].map((p) =>
      p.then((value) => {
        settled.push(value)
        return value
      })
    )
    assert.equal(balancer.notify('note', 1), true)
    // The socket does not exist yet: at least one attempt fails first.
    await until(balancer, 'down', () => true, 'a failed attempt')
    assert.equal(settled.length, 0)
    const noted = new Promise((resolve) => {
      server = rpc.createServer((stream) => stream.on('notify', (method, params) => resolve(notes.push([method, params]))), { appendResponse: false })
      server.setHandler({ who: () => 'late' })
      server.listen(path)
    })
    assert.deepEqual(await within(Promise.all(calls), 'the queued calls'), ['late', 'late', [null, 'late']])
    await within(noted, 'the queued notification')
    assert.deepEqual(notes, [['note', [1]]])
  } finally {
    await closeAll(balancer, server)
    removeSocket(path)
  }
})

test('the queue is bounded (QUEUE_FULL) and a queued call keeps its own timeout and abort signal', async () => {
  const port = await freePort()
  const balancer = rpc.createBalancer([port], { maxQueuedCalls: 3, timeout: 30, reconnect: FAST })
  try {
    const timedOut = balancer.request('a')
    const legacy = invokeCb(balancer, 'b')
    const controller = new AbortController()
    const aborted = balancer.request('c', [], { signal: controller.signal, timeout: 0 })
    await assert.rejects(balancer.request('d'), { code: rpc.codes.QUEUE_FULL })
    controller.abort()
    await assert.rejects(within(aborted, 'the aborted call'), { code: rpc.codes.ABORTED })
    await assert.rejects(within(timedOut, 'the queued call to time out'), { code: rpc.codes.TIMEOUT })
    assert.deepEqual(await within(legacy, 'the legacy call to time out'), ['timeout', undefined])
    assert.equal(balancer.targets[0].calls, 0)
  } finally {
    await closeAll(balancer)
  }
})

test('close() fails the queued calls with CLOSED and refuses later ones', async () => {
  const port = await freePort()
  const balancer = rpc.createBalancer([port, `127.0.0.1:${port}`], { reconnect: FAST })
  const refused = assert.rejects(balancer.request('a'), { code: rpc.codes.CLOSED })
  const legacy = invokeCb(balancer, 'b')
  await within(balancer.close(), 'close()')
  await within(refused, 'the queued call to fail')
  const [err] = await within(legacy, 'the queued legacy call to fail')
  assert.equal(err.code, rpc.codes.CLOSED)
  await assert.rejects(balancer.invoke('c'), { code: rpc.codes.CLOSED })
  assert.equal(balancer.notify('d'), false)
  assert.deepEqual(balancer.targets, [])
})

test('a process whose balancer is closed exits by itself, with calls queued, answered and in flight', async () => {
  const script = `
    const rpc = require(${JSON.stringify(require.resolve('..'))})
    ;(async () => {
      const server = rpc.createServer({ who: (r) => r.result('x'), slow(r) { setTimeout(() => r.result('late'), 50) } })
      await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
      const dead = await new Promise((resolve) => { const s = require('node:net').createServer().listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => resolve(p)) }) })
      const balancer = rpc.createBalancer(['127.0.0.1:' + server.address().port, '127.0.0.1:' + dead], { reconnect: { initialDelay: 5, maxDelay: 20 } })
      const queued = balancer.request('who', [], { timeout: 60000 })
      await new Promise((resolve) => balancer.once('up', resolve))
      if (await queued !== 'x') process.exit(3)
      const inFlight = balancer.request('slow', [], { timeout: 60000 }).catch((err) => err.code)
      await balancer.close()
      if (await inFlight !== rpc.codes.CLOSED) process.exit(4)
      await server.close()
      console.log('closed')
    })()
  `
  const { code, signal, stdout, stderr } = await new Promise((resolve) => {
    execFile(process.execPath, ['-e', script], { timeout: WAIT }, (err, stdout, stderr) =>
      resolve({ code: err ? err.code : 0, signal: err && err.signal, stdout, stderr })
    )
  })
  assert.equal(signal, null, `the child did not exit by itself: ${stderr}`)
  assert.equal(code, 0, stderr)
  assert.equal(stdout.trim(), 'closed')
})

test('every form of target is accepted and named by its address, duplicates once', async () => {
  const path = socketPath('balancer-forms')
  const balancer = rpc.createBalancer([7001, '7002', '127.0.0.1:7003', '[::1]:7004', { host: 'localhost', port: '7005' }, { port: 7006 }, path, { path }, '127.0.0.1:7003'])
  try {
    assert.deepEqual(
      balancer.targets.map((t) => t.address),
      ['localhost:7001', 'localhost:7002', '127.0.0.1:7003', '[::1]:7004', 'localhost:7005', 'localhost:7006', path]
    )
    assert.ok(balancer.targets.every((t) => t.state === 'connecting' && t.pending === 0 && t.calls === 0))
  } finally {
    await balancer.close()
  }
})

test('bad targets and options throw synchronously with Node-style codes', () => {
  assert.throws(() => rpc.createBalancer([]), { code: 'ERR_INVALID_ARG_VALUE' })
  assert.throws(() => rpc.createBalancer({ port: 1 }), { code: 'ERR_INVALID_ARG_TYPE' })
  assert.throws(() => rpc.createBalancer(['no-port']), { code: 'ERR_INVALID_ARG_VALUE', message: /targets\[0\]/ })
  assert.throws(() => rpc.createBalancer([70000]), { code: 'ERR_SOCKET_BAD_PORT' })
  assert.throws(() => rpc.createBalancer([{ host: 'h' }]), { code: 'ERR_SOCKET_BAD_PORT' })
  assert.throws(() => rpc.createBalancer([1], { strategy: 'random' }), { code: 'ERR_INVALID_ARG_VALUE', message: /least-pending/ })
  assert.throws(() => rpc.createBalancer([1], { lookup: 'dns' }), { code: 'ERR_INVALID_ARG_TYPE' })
  assert.throws(() => rpc.createBalancer([1], { resolveInterval: 0 }), { code: 'ERR_OUT_OF_RANGE' })
  assert.throws(() => rpc.createBalancer([1], { reconnect: { maxAttempts: 3 } }), { code: 'ERR_INVALID_ARG_VALUE' })
  assert.throws(() => rpc.createBalancer([1], { retries: 2 }), { code: 'ERR_INVALID_ARG_VALUE', message: /createBalancer\(\)/ })
})
