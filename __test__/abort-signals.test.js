'use strict'
// Calls that share an AbortSignal leave one listener on it, wherever they wait
// (lib/abort-watch.js): a listener each trips MaxListenersExceededWarning.
const test = require('node:test')
const assert = require('node:assert/strict')
const { once } = require('node:events')
const { rpc, freePort, listen, closeAll } = require('./helpers')

/** Runs `fn`, then returns the MaxListenersExceededWarnings emitted meanwhile. */
async function listenerWarnings(fn) {
  const warnings = []
  const onWarning = (w) => warnings.push(w)
  process.on('warning', onWarning)
  try {
    await fn()
    // Warnings are emitted on a later tick.
    await new Promise((resolve) => setImmediate(resolve))
  } finally {
    process.removeListener('warning', onWarning)
  }
  return warnings.filter((w) => w.name === 'MaxListenersExceededWarning').map((w) => w.message)
}

test('calls queued by a reconnecting client while it is down share one AbortSignal without a listener each', async () => {
  // Nothing listens on the port: every call waits in the client's queue.
  const client = rpc.createClient({ port: await freePort(), host: '127.0.0.1', reconnect: { initialDelay: 10, maxDelay: 50 } })
  client.on('error', () => {})
  try {
    const warnings = await listenerWarnings(async () => {
      const controller = new AbortController()
      const calls = Array.from({ length: 20 }, (_, i) => client.request('m', [i], { signal: controller.signal }).catch((err) => err.code))
      controller.abort()
      assert.deepEqual(await Promise.all(calls), Array(20).fill('ERR_MSGPACK_RPC_ABORTED'))
    })
    assert.deepEqual(warnings, [])
  } finally {
    client.close()
  }
})

test('calls awaiting replies share one AbortSignal without a listener each, and each is aborted', async () => {
  const server = rpc.createServer({ never: () => new Promise(() => {}) }, { appendResponse: false })
  const port = await listen(server)
  const client = rpc.createClient({ port, host: '127.0.0.1' })
  try {
    await once(client, 'ready')
    const warnings = await listenerWarnings(async () => {
      const controller = new AbortController()
      const calls = Array.from({ length: 20 }, (_, i) => client.request('never', [i], { signal: controller.signal }).catch((err) => err.code))
      controller.abort()
      assert.deepEqual(await Promise.all(calls), Array(20).fill('ERR_MSGPACK_RPC_ABORTED'))
    })
    assert.deepEqual(warnings, [])
  } finally {
    await closeAll(client, server)
  }
})

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
