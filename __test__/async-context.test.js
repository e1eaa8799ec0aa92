'use strict'
const test = require('node:test')
const assert = require('node:assert/strict')
const { AsyncLocalStorage } = require('node:async_hooks')
const { rpc, listen, closeAll } = require('./helpers')

test('a legacy callback runs in the AsyncLocalStorage context of the code that made the call', async () => {
  const als = new AsyncLocalStorage()
  const server = rpc.createServer(
    {
      add: (a, b) => a + b,
      fail: () => {
        throw new Error('no')
      },
      hang: () => new Promise(() => {}),
    },
    { appendResponse: false, closeTimeout: 100 }
  )
  const port = await listen(server)
  const client = await rpc.connect({ port, host: '127.0.0.1' })
  try {
    const call = (store, method, ...params) =>
      new Promise((resolve) => als.run(store, () => client.invoke(method, ...params, (err, result) => resolve([store, als.getStore(), err, result]))))
    // Several calls in flight at once, each from its own context, answered in one batch.
    const seen = await Promise.all([call('first', 'add', 1, 2), call('second', 'fail'), call('third', 'add', 3, 4)])
    for (const [store, inside] of seen) assert.equal(inside, store)
    assert.deepEqual(
      seen.map(([, , err, result]) => [err, result]),
      [
        [null, 3],
        ['no', null],
        [null, 7],
      ]
    )
    // And for a call failed by the close.
    const closing = call('closing', 'hang')
    client.close()
    const [store, inside, err] = await closing
    assert.equal(inside, store)
    assert.equal(err.code, rpc.codes.CLOSED)
  } finally {
    await closeAll(client, server)
  }
})

test('each request handler runs in a context of its own: what one stores is not seen by the next', async () => {
  const als = new AsyncLocalStorage()
  const COUNT = 50
  const server = rpc.createServer(
    {
      mark: async (i) => {
        const before = als.getStore()
        als.enterWith(i)
        await new Promise((resolve) => setImmediate(resolve))
        // The handler keeps its own store across its awaits.
        return { before: before === undefined ? null : before, after: als.getStore() }
      },
    },
    { appendResponse: false }
  )
  const noted = []
  server.on('connection', (stream) =>
    stream.on('notify', () => {
      noted.push(als.getStore() === undefined ? null : als.getStore())
      als.enterWith('leaked from a notification')
    })
  )
  const port = await listen(server)
  const client = await rpc.connect({ port, host: '127.0.0.1' })
  try {
    // Sent in one tick: they arrive, and are dispatched, together.
    const answers = await Promise.all(Array.from({ length: COUNT }, (_, i) => client.request('mark', [i])))
    assert.deepEqual(
      answers,
      Array.from({ length: COUNT }, (_, i) => ({ before: null, after: i }))
    )
    client.notify('a')
    client.notify('b')
    await client.request('mark', [0])
    assert.deepEqual(noted, [null, null])
  } finally {
    await closeAll(client, server)
  }
})
