'use strict'
// Server idleTimeout and SessionPool idle eviction.

const test = require('node:test')
const assert = require('node:assert/strict')
const { rpc, listen, once, closeAll } = require('./helpers')

test('a server closes a connection idle for idleTimeout, but not one awaiting an answer', async () => {
  const server = rpc.createServer(
    { slow: (ms) => new Promise((resolve) => setTimeout(resolve, ms, 'done')) },
    { idleTimeout: 40, appendResponse: false }
  )
  const port = await listen(server)
  const busy = rpc.createClient({ port, host: '127.0.0.1' })
  const idle = rpc.createClient({ port, host: '127.0.0.1' })
  try {
    await Promise.all([once(busy, 'ready'), once(idle, 'ready')])
    // The handler runs far longer than idleTimeout: the request keeps it open.
    const answer = busy.request('slow', [300])
    await once(idle, 'close')
    assert.equal(await answer, 'done')
    assert.equal(busy.closed, false)
    await assert.rejects(idle.request('slow', [1]), { code: 'ERR_MSGPACK_RPC_CLOSED' })
  } finally {
    await closeAll(busy, idle, server)
  }
})

test('without idleTimeout a silent connection stays open', async () => {
  const server = rpc.createServer({ ping: () => 'pong' }, { appendResponse: false })
  const port = await listen(server)
  const client = rpc.createClient({ port, host: '127.0.0.1' })
  try {
    await once(client, 'ready')
    await new Promise((resolve) => setTimeout(resolve, 150))
    assert.equal(await client.request('ping'), 'pong')
  } finally {
    await closeAll(client, server)
  }
})

test('a SessionPool closes and evicts a client idle for its idleTimeout', async () => {
  const server = rpc.createServer({ ping: () => 'pong' }, { appendResponse: false })
  const port = await listen(server)
  const pool = new rpc.SessionPool({ idleTimeout: 40, reconnect: { initialDelay: 10 } })
  try {
    const client = pool.getClient(port, '127.0.0.1')
    assert.equal(await client.request('ping'), 'pong')
    await once(client, 'close')
    assert.deepEqual(Object.keys(pool.clients), [])
    const fresh = pool.getClient(port, '127.0.0.1')
    assert.notEqual(fresh, client)
    assert.equal(await fresh.request('ping'), 'pong')
  } finally {
    await pool.closeClients()
    await closeAll(server)
  }
})

test('idleTimeout is checked like the other options', () => {
  assert.throws(() => rpc.createServer({}, { idleTimeout: 0 }), { code: 'ERR_OUT_OF_RANGE' })
  assert.throws(() => new rpc.SessionPool({ idleTimeout: 'soon' }), { code: 'ERR_INVALID_ARG_TYPE' })
})
