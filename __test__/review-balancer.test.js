'use strict'
// Review of lib/balancer.js: what a queued call leaves on its AbortSignal.
const test = require('node:test')
const assert = require('node:assert/strict')
const { rpc, freePort } = require('./helpers')

test('calls queued while no target is up share one AbortSignal without a listener each (no MaxListenersExceededWarning)', async () => {
  const warnings = []
  const onWarning = (w) => warnings.push(w)
  process.on('warning', onWarning)
  // Nothing listens on the port: every call waits in the balancer's queue.
  const balancer = rpc.createBalancer([`127.0.0.1:${await freePort()}`], { reconnect: { initialDelay: 10, maxDelay: 50 } })
  try {
    const controller = new AbortController()
    // One signal for a batch of calls, as a request-scoped or shutdown signal is used.
    const calls = Array.from({ length: 20 }, (_, i) => balancer.request('m', [i], { signal: controller.signal }).catch((err) => err.code))
    controller.abort()
    assert.deepEqual(await Promise.all(calls), Array(20).fill('ERR_MSGPACK_RPC_ABORTED'))
    // Warnings are emitted on a later tick.
    await new Promise((resolve) => setImmediate(resolve))
    assert.deepEqual(
      warnings.filter((w) => w.name === 'MaxListenersExceededWarning').map((w) => w.message),
      []
    )
  } finally {
    process.removeListener('warning', onWarning)
    await balancer.close()
  }
})
