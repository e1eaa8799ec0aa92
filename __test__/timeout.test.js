'use strict'
const test = require('node:test')
const assert = require('node:assert/strict')
const { rpc, listen, invokeCb, closeAll } = require('./helpers')

test('calls the callback with the string "timeout" when no reply comes in time', async () => {
  const server = new rpc.createServer()
  const port = await listen(server)
  const client = rpc.createClient(port, '127.0.0.1')
  client.setTimeout(150)
  const started = Date.now()
  const [err, result] = await invokeCb(client, 'hello', 'world')
  assert.equal(err, 'timeout')
  assert.equal(result, undefined)
  assert.ok(Date.now() - started >= 140)
  await closeAll(client, server)
})

test('clears the timer when the reply arrives, so the callback runs once', async () => {
  const server = rpc.createServer({ quick: (res) => res.result('fast') })
  const port = await listen(server)
  const client = rpc.createClient(port, '127.0.0.1')
  client.setTimeout(100)
  let calls = 0
  const result = await new Promise((resolve) =>
    client.invoke('quick', (err, value) => {
      calls++
      resolve([err, value])
    })
  )
  assert.deepEqual(result, [null, 'fast'])
  assert.equal(client.pendingCalls, 0)
  await new Promise((resolve) => setTimeout(resolve, 200))
  assert.equal(calls, 1)
  await closeAll(client, server)
})

test('drops a late reply to a timed-out call quietly', async () => {
  const held = []
  const server = rpc.createServer({
    slow(res) {
      held.push(res)
    },
  })
  const port = await listen(server)
  const client = rpc.createClient(port, '127.0.0.1')
  const errors = []
  client.on('error', (e) => errors.push(e))
  client.setTimeout(50)
  assert.equal((await invokeCb(client, 'slow'))[0], 'timeout')
  held[0].result('too late')
  client.setTimeout(0)
  // A round trip after the late reply proves it was read and dropped.
  const ping = rpc.createServer()
  await closeAll(ping)
  held.length = 0
  const next = invokeCb(client, 'slow')
  while (held.length === 0) await new Promise((resolve) => setTimeout(resolve, 5))
  held[0].result('on time')
  assert.deepEqual(await next, [null, 'on time'])
  assert.deepEqual(errors, [])
  await closeAll(client, server)
})
