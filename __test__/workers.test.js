'use strict'
// The addon in worker threads: several at once, and a terminated worker's
// sockets are closed.
const test = require('node:test')
const assert = require('node:assert/strict')
const path = require('node:path')
const { Worker } = require('node:worker_threads')
const { rpc, invokeCb } = require('./helpers')

const root = path.join(__dirname, '..')

function worker(code) {
  return new Worker(`const rpc = require(${JSON.stringify(root)}); const { parentPort } = require('node:worker_threads'); ${code}`, { eval: true })
}

test('loads and serves in several workers at once', async () => {
  const results = await Promise.all(
    [1, 2, 3].map((n) => {
      const w = worker(`
        const server = rpc.createServer({ times: (a, res) => res.result(a * ${n}) })
        server.listen(0, '127.0.0.1', async () => {
          const client = await rpc.connect(server.address().port, '127.0.0.1')
          parentPort.postMessage(await client.invoke('times', 10))
          await client.close()
          await server.close()
        })
      `)
      return new Promise((resolve, reject) => {
        w.once('message', resolve)
        w.once('error', reject)
      }).finally(() => w.terminate())
    })
  )
  assert.deepEqual(results, [10, 20, 30])
})

test('terminating a worker closes its server and connections', async () => {
  const w = worker(`
    const server = rpc.createServer({ ping: (res) => res.result('pong') })
    server.listen(0, '127.0.0.1', () => parentPort.postMessage(server.address().port))
  `)
  const port = await new Promise((resolve) => w.once('message', resolve))
  const client = rpc.createClient(port, '127.0.0.1')
  assert.deepEqual(await invokeCb(client, 'ping'), [null, 'pong'])
  const closed = new Promise((resolve) => client.once('close', resolve))
  await w.terminate()
  await closed // the worker's side of the connection went away
  // And nothing listens on its port any more.
  let refused
  for (let i = 0; i < 50 && !refused; i++) {
    const probe = rpc.createClient(port, '127.0.0.1')
    const [err] = await invokeCb(probe, 'ping')
    if (err && err.code === 'ECONNREFUSED') refused = true
    else await new Promise((resolve) => setTimeout(resolve, 20))
  }
  assert.ok(refused, 'the listening socket was closed')
})
