'use strict'
const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const { rpc, socketPath, once, invokeCb, removeSocket } = require('./helpers')

test('serves and calls over a unix socket', async () => {
  const path = socketPath('unix')
  const server = rpc.createServer({ add: (a, b, res) => res.result(a + b) })
  await new Promise((resolve) => server.listen(path, resolve))
  assert.equal(server.address(), path)
  const client = rpc.createClient(path, () => {})
  assert.deepEqual(await invokeCb(client, 'add', 1, 2), [null, 3])
  assert.equal(client.stream.remotePort, undefined)
  await client.close()
  await server.close()
  assert.equal(fs.existsSync(path), false, 'socket file removed on close')
})

test('a server on a unix socket can call its client back', async () => {
  const path = socketPath('unix-back')
  const server = rpc.createServer((stream) => {
    stream.on('notify', async (method) => {
      if (method === 'ready') stream.notify('answer', await stream.invoke('name'))
    })
  })
  await new Promise((resolve) => server.listen(path, resolve))
  const client = rpc.createClient({ path, handler: { name: (res) => res.result('unix client') } })
  client.notify('ready')
  const [method, params] = await once(client, 'notify')
  assert.equal(method, 'answer')
  assert.deepEqual(params, ['unix client'])
  await client.close()
  await server.close()
})

test('connecting to a missing socket path reports ENOENT to pending calls', async () => {
  const path = socketPath('missing')
  removeSocket(path)
  const client = rpc.createClient(path)
  const [err] = await invokeCb(client, 'x')
  assert.equal(err.code, 'ENOENT')
})

test('listening on a path that exists is EADDRINUSE', async () => {
  const path = socketPath('busy')
  const a = rpc.createServer()
  await new Promise((resolve) => a.listen(path, resolve))
  const b = rpc.createServer()
  b.listen(path)
  const [err] = await once(b, 'error')
  assert.equal(err.code, 'EADDRINUSE')
  await a.close()
})

test('close() removes the socket file at once, as net.Server does: a server listening on the path next keeps its file', async () => {
  const path = socketPath('relisten')
  const first = rpc.createServer({ who: (res) => res.result('first') })
  await new Promise((resolve) => first.listen(path, resolve))
  const firstClosed = first.close()
  assert.equal(fs.existsSync(path), false, 'the file is gone when close() returns')
  const second = rpc.createServer({ who: (res) => res.result('second') })
  try {
    await new Promise((resolve, reject) => {
      second.once('error', reject)
      second.listen(path, resolve)
    })
    // The first server's handles finish closing after this.
    await firstClosed
    assert.equal(fs.existsSync(path), true, "the second server's file outlives the first server's close")
    const client = await rpc.connect(path)
    assert.equal(await client.request('who', []), 'second')
    await client.close()
  } finally {
    if (second.listening) await second.close()
  }
  assert.equal(fs.existsSync(path), false)
})
