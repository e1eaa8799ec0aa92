'use strict'
// A server that closes cleanly is a close by the peer, not an OS failure:
// the client's next call fails with ERR_MSGPACK_RPC_CLOSED, whatever the
// timing, and no 'error' is emitted.
const test = require('node:test')
const assert = require('node:assert/strict')
const { rpc, listen } = require('./helpers')

test('after a clean server.close() the next call fails with a closed error, in 100 trials', async () => {
  const seen = new Map()
  const errorEvents = []
  for (let i = 0; i < 100; i++) {
    const server = rpc.createServer({ ping: (response) => response.result('pong') })
    const port = await listen(server)
    const client = await rpc.connect(port, '127.0.0.1')
    client.on('error', (err) => errorEvents.push(err.code))
    try {
      assert.equal(await client.invoke('ping'), 'pong')
      await server.close()
      const code = await client.invoke('ping').then(
        () => 'answered',
        (err) => err.code,
      )
      seen.set(code, (seen.get(code) || 0) + 1)
    } finally {
      await client.close()
      if (server.listening) await server.close()
    }
  }
  assert.deepEqual([...seen], [['ERR_MSGPACK_RPC_CLOSED', 100]])
  assert.deepEqual(errorEvents, [])
})
