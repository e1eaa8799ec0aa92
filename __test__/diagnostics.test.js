'use strict'
const test = require('node:test')
const assert = require('node:assert/strict')
const dc = require('node:diagnostics_channel')
const { AsyncLocalStorage } = require('node:async_hooks')
const { rpc, listen, once, invokeCb, closeAll } = require('./helpers')

const EVENTS = ['start', 'end', 'asyncStart', 'asyncEnd', 'error']

/** Subscribes to every event of tracing channel `name`; returns the records and an unsubscribe. */
function traceAll(name) {
  const channel = dc.tracingChannel(name)
  const records = []
  const handlers = {}
  for (const event of EVENTS) {
    handlers[event] = (ctx) => records.push({ event, ctx, result: ctx.result, error: ctx.error })
  }
  channel.subscribe(handlers)
  return { records, stop: () => channel.unsubscribe(handlers) }
}

/** Subscribes to plain channel `name`. */
function listenTo(name) {
  const messages = []
  const onMessage = (message) => messages.push(message)
  dc.subscribe(name, onMessage)
  return { messages, stop: () => dc.unsubscribe(name, onMessage) }
}

/** The records of one context, in order. */
function eventsOf(records, ctx) {
  return records.filter((r) => r.ctx === ctx).map((r) => r.event)
}

async function pair(handler, options) {
  const server = rpc.createServer(handler, options)
  const port = await listen(server)
  const client = await rpc.connect({ port, host: '127.0.0.1' })
  return { server, client }
}

test('msgpack-rpc:call traces each outgoing request with its method, params, stream and outcome', async () => {
  const { server, client } = await pair(
    {
      add: (a, b) => a + b,
      fail: () => {
        throw new Error('refused')
      },
      hang: () => new Promise(() => {}),
    },
    { appendResponse: false, closeTimeout: 100 }
  )
  const trace = traceAll('msgpack-rpc:call')
  try {
    assert.equal(await client.request('add', [1, 2]), 3)
    await assert.rejects(client.request('fail', ['x']), { code: rpc.codes.REMOTE })
    assert.deepEqual(await invokeCb(client, 'add', 3, 4), [null, 7])
    client.setTimeout(20)
    const [timeoutErr] = await invokeCb(client, 'hang')
    assert.equal(timeoutErr, 'timeout')
    client.setTimeout(0)
    trace.stop()
    // Not traced once nobody subscribes.
    await client.request('add', [5, 5])

    const starts = trace.records.filter((r) => r.event === 'start').map((r) => r.ctx)
    assert.equal(starts.length, 4)
    assert.deepEqual(
      starts.map((c) => [c.method, c.params, c.stream === client]),
      [
        ['add', [1, 2], true],
        ['fail', ['x'], true],
        ['add', [3, 4], true],
        ['hang', [], true],
      ]
    )
    const [ok, failed, legacy, timedOut] = starts
    assert.deepEqual(eventsOf(trace.records, ok), ['start', 'end', 'asyncStart', 'asyncEnd'])
    assert.equal(trace.records.find((r) => r.ctx === ok && r.event === 'asyncStart').result, 3)
    assert.deepEqual(eventsOf(trace.records, failed), ['start', 'end', 'error', 'asyncStart', 'asyncEnd'])
    assert.equal(failed.error.code, rpc.codes.REMOTE)
    assert.equal(failed.error.message.includes('refused'), true)
    assert.deepEqual(eventsOf(trace.records, legacy), ['start', 'end', 'asyncStart', 'asyncEnd'])
    assert.equal(legacy.result, 7)
    assert.deepEqual(eventsOf(trace.records, timedOut), ['start', 'end', 'error', 'asyncStart', 'asyncEnd'])
    assert.equal(timedOut.error.code, rpc.codes.TIMEOUT)
  } finally {
    trace.stop()
    await closeAll(client, server)
  }
})

test('msgpack-rpc:call reports calls refused before they are sent and calls failed by the close', async () => {
  const { server, client } = await pair({ hang: () => new Promise(() => {}) }, { appendResponse: false, closeTimeout: 100 })
  const trace = traceAll('msgpack-rpc:call')
  try {
    const pending = client.request('hang', [1])
    await client.close()
    await assert.rejects(pending, { code: rpc.codes.CLOSED })
    await assert.rejects(client.request('hang', [2]), { code: rpc.codes.CLOSED })
    const starts = trace.records.filter((r) => r.event === 'start').map((r) => r.ctx)
    assert.deepEqual(
      starts.map((c) => c.params),
      [[1], [2]]
    )
    for (const ctx of starts) {
      assert.deepEqual(eventsOf(trace.records, ctx).sort(), ['asyncEnd', 'asyncStart', 'end', 'error', 'start'])
      assert.equal(ctx.error.code, rpc.codes.CLOSED)
    }
  } finally {
    trace.stop()
    await closeAll(client, server)
  }
})

test('a store bound to msgpack-rpc:call start reaches the legacy callback of the call', async () => {
  const { server, client } = await pair({ add: (a, b) => a + b }, { appendResponse: false })
  const als = new AsyncLocalStorage()
  const start = dc.channel('tracing:msgpack-rpc:call:start')
  start.bindStore(als, (ctx) => `span for ${ctx.method}`)
  try {
    const seen = await new Promise((resolve) => client.invoke('add', 1, 2, () => resolve(als.getStore())))
    assert.equal(seen, 'span for add')
  } finally {
    start.unbindStore(als)
    await closeAll(client, server)
  }
})

test('msgpack-rpc:handle traces each incoming request, with the handler its own store', async () => {
  const als = new AsyncLocalStorage()
  const { server, client } = await pair(
    {
      add: (a, b) => ({ sum: a + b, store: als.getStore() }),
      later: async (x) => {
        await new Promise((resolve) => setImmediate(resolve))
        return x
      },
      fail: () => {
        throw new Error('refused')
      },
    },
    { appendResponse: false }
  )
  const trace = traceAll('msgpack-rpc:handle')
  const start = dc.channel('tracing:msgpack-rpc:handle:start')
  start.bindStore(als, (ctx) => `handling ${ctx.method}`)
  try {
    assert.deepEqual(await client.request('add', [1, 2]), { sum: 3, store: 'handling add' })
    assert.equal(await client.request('later', ['x']), 'x')
    await assert.rejects(client.request('fail', [9]), { code: rpc.codes.REMOTE })
    const starts = trace.records.filter((r) => r.event === 'start').map((r) => r.ctx)
    assert.deepEqual(
      starts.map((c) => [c.method, c.params, c.stream === server.connections[0]]),
      [
        ['add', [1, 2], true],
        ['later', ['x'], true],
        ['fail', [9], true],
      ]
    )
    const [add, later, fail] = starts
    // A synchronous handler answers before its start ends; an async one after.
    assert.deepEqual(eventsOf(trace.records, add), ['start', 'asyncStart', 'asyncEnd', 'end'])
    assert.deepEqual(add.result, { sum: 3, store: 'handling add' })
    assert.deepEqual(eventsOf(trace.records, later), ['start', 'end', 'asyncStart', 'asyncEnd'])
    assert.equal(later.result, 'x')
    assert.deepEqual(eventsOf(trace.records, fail), ['start', 'error', 'asyncStart', 'asyncEnd', 'end'])
    assert.ok(fail.error instanceof Error)
    assert.equal(fail.error.message, 'refused')
  } finally {
    start.unbindStore(als)
    trace.stop()
    await closeAll(client, server)
  }
})

test('notifications and connections are published on their channels', async () => {
  const sent = listenTo('msgpack-rpc:notify:sent')
  const received = listenTo('msgpack-rpc:notify:received')
  const opened = listenTo('msgpack-rpc:connection:open')
  const closed = listenTo('msgpack-rpc:connection:close')
  const server = rpc.createServer({})
  let client
  try {
    const port = await listen(server)
    const accepted = once(server, 'connection')
    client = await rpc.connect({ port, host: '127.0.0.1' })
    const [stream] = await accepted
    const heard = once(stream, 'notify')
    client.notify('log', 'a', 1)
    await heard
    assert.deepEqual(
      sent.messages.map((m) => [m.method, m.params, m.stream === client]),
      [['log', ['a', 1], true]]
    )
    assert.deepEqual(
      received.messages.map((m) => [m.method, m.params, m.stream === stream]),
      [['log', ['a', 1], true]]
    )
    const serverClosed = once(stream, 'close')
    await client.close()
    await serverClosed
    const opens = opened.messages.filter((m) => m.stream === client || m.stream === stream)
    assert.equal(opens.length, 2)
    assert.equal(opens.find((m) => m.stream === client).server, undefined)
    assert.equal(opens.find((m) => m.stream === stream).server, server)
    const closes = closed.messages.filter((m) => m.stream === client || m.stream === stream)
    assert.equal(closes.length, 2)
    const mine = closes.find((m) => m.stream === client)
    assert.equal(mine.reason.code, rpc.codes.CLOSED)
    assert.match(mine.reason.message, /closed locally/)
    const theirs = closes.find((m) => m.stream === stream)
    assert.equal(theirs.server, server)
    assert.match(theirs.reason.message, /closed by peer/)
  } finally {
    for (const s of [sent, received, opened, closed]) s.stop()
    await closeAll(client, server)
  }
})
