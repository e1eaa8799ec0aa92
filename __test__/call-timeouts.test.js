'use strict'
// A call's timeout runs from when the call is made, as a Node timer per call
// did, even when the stream keeps one timer for many calls (lib/call-timers.js).
const test = require('node:test')
const assert = require('node:assert/strict')
const { rpc, listen, closeAll } = require('./helpers')

/** Blocks the event loop for `ms` (a long synchronous stretch of user code). */
function busy(ms) {
  const until = Date.now() + ms
  while (Date.now() < until);
}

test('a call made late in a long synchronous tick gets its whole timeout, not what is left of the first call of the tick', async () => {
  const server = rpc.createServer({
    ping(res) {
      res.result('pong')
    },
    slow(res) {
      setTimeout(() => res.result('done'), 100)
    },
  })
  let client
  try {
    const port = await listen(server)
    client = rpc.createClient(port, '127.0.0.1')
    assert.equal(await client.request('ping'), 'pong')
    // The first call of the tick starts its batch and arms the timer; the
    // second comes 600 ms later in the same tick with the same 400 ms
    // timeout, and its answer takes 100 ms. The first may time out (the loop
    // was blocked past its deadline); the second has 400 ms from its making.
    const first = client.request('ping', [], { timeout: 400 }).catch((err) => err)
    busy(600)
    const second = client.request('slow', [], { timeout: 400 })
    await first
    assert.equal(await second, 'done')
  } finally {
    await closeAll(client, server)
  }
})
