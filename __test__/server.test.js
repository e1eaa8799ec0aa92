'use strict'
const test = require('node:test')
const assert = require('node:assert/strict')
const { rpc, listen, once, invokeCb, closeAll } = require('./helpers')

test('dispatches requests to the handler with the response appended', async () => {
  const server = rpc.createServer()
  server.setHandler({
    add(a, b, response) {
      response.result(a + b)
    },
  })
  const port = await listen(server)
  const client = rpc.createClient(port, '127.0.0.1')
  const [err, result] = await invokeCb(client, 'add', 5, 7)
  assert.equal(err, null)
  assert.equal(result, 12)
  await closeAll(client, server)
})

test('gives notifications to the handler without a response argument', async () => {
  let received
  const server = rpc.createServer()
  const got = new Promise((resolve) => {
    server.setHandler({
      temperature(...args) {
        received = args
        resolve()
      },
    })
  })
  const port = await listen(server)
  const client = rpc.createClient(port, '127.0.0.1')
  client.notify('temperature', 102.1)
  await got
  assert.deepEqual(received, [102.1])
  await closeAll(client, server)
})

test('fires request and notify events on the per-connection stream as well', async () => {
  const events = []
  const server = rpc.createServer((stream) => {
    stream.on('request', (method, params, response) => {
      events.push(['request', method, params])
      response.result('ok')
    })
    stream.on('notify', (method, params) => events.push(['notify', method, params]))
  })
  const port = await listen(server)
  const client = rpc.createClient(port, '127.0.0.1')
  client.notify('ping', 1)
  const [err, result] = await invokeCb(client, 'hello', 'world')
  assert.equal(err, null)
  assert.equal(result, 'ok')
  assert.deepEqual(events, [
    ['notify', 'ping', [1]],
    ['request', 'hello', ['world']],
  ])
  await closeAll(client, server)
})

test('takes a plain object given to createServer as the handler', async () => {
  const server = rpc.createServer({
    echo(value, response) {
      response.result(value)
    },
  })
  const port = await listen(server)
  const client = rpc.createClient(port, '127.0.0.1')
  assert.deepEqual(await invokeCb(client, 'echo', 'hi'), [null, 'hi'])
  await closeAll(client, server)
})

test('works when createServer is called with new', async () => {
  const server = new rpc.createServer()
  assert.ok(server instanceof rpc.Server)
  const port = await listen(server)
  assert.ok(port > 0)
  await server.close()
})

test('answers an error naming the method when the handler lacks it', async () => {
  const server = rpc.createServer({ known(response) { response.result(1) } })
  const port = await listen(server)
  const client = rpc.createClient(port, '127.0.0.1')
  const [err] = await invokeCb(client, 'missing', 1)
  assert.equal(typeof err, 'string')
  assert.match(err, /missing/)
  await closeAll(client, server)
})

test('never dispatches to methods inherited from Object.prototype', async () => {
  const server = rpc.createServer({ known(response) { response.result(1) } })
  const port = await listen(server)
  const client = rpc.createClient(port, '127.0.0.1')
  for (const method of ['constructor', 'toString', 'hasOwnProperty', '__proto__']) {
    const [err] = await invokeCb(client, method)
    assert.match(String(err), /unknown method/, method)
  }
  await closeAll(client, server)
})

test('leaves a request nobody handles unanswered until the caller times out', async () => {
  const server = rpc.createServer()
  const port = await listen(server)
  const client = rpc.createClient(port, '127.0.0.1')
  client.setTimeout(100)
  const [err] = await invokeCb(client, 'anything')
  assert.equal(err, 'timeout')
  await closeAll(client, server)
})

test('emits listening, connection and close like net.Server', async () => {
  const server = rpc.createServer()
  const events = []
  server.on('listening', () => events.push('listening'))
  server.on('connection', (s) => {
    events.push('connection')
    assert.ok(s instanceof rpc.RpcStream)
  })
  server.on('close', () => events.push('close'))
  const port = await listen(server)
  const client = rpc.createClient(port, '127.0.0.1')
  await once(server, 'connection')
  await client.close()
  await new Promise((resolve) => server.close(resolve))
  assert.deepEqual(events, ['listening', 'connection', 'close'])
})

test('listen accepts port and callback, an options object, and reports address()', async () => {
  const a = rpc.createServer()
  await new Promise((resolve) => a.listen(0, resolve))
  const addr = a.address()
  assert.equal(typeof addr.port, 'number')
  assert.ok(['IPv4', 'IPv6'].includes(addr.family))
  const b = rpc.createServer()
  await new Promise((resolve) => b.listen({ port: 0, host: '127.0.0.1' }, resolve))
  assert.equal(b.address().address, '127.0.0.1')
  const client = rpc.createClient(addr.port, '127.0.0.1')
  await once(client, 'ready')
  await closeAll(client, a, b)
  assert.equal(a.address(), null)
})

test('reports a port already in use as an error event with EADDRINUSE', async () => {
  const a = rpc.createServer()
  const port = await listen(a)
  const b = rpc.createServer()
  b.listen(port, '127.0.0.1')
  const [err] = await once(b, 'error')
  assert.equal(err.code, 'EADDRINUSE')
  await a.close()
})

test('close() without listening fails with ERR_SERVER_NOT_RUNNING', async () => {
  const server = rpc.createServer()
  await assert.rejects(server.close(), { code: 'ERR_SERVER_NOT_RUNNING' })
  const err = await new Promise((resolve) => server.close(resolve))
  assert.equal(err.code, 'ERR_SERVER_NOT_RUNNING')
})

test('a server can call its client, which answers through its own handler', async () => {
  const server = rpc.createServer((stream) => {
    stream.on('request', (method, params, response) => {
      // While answering, call back into the client.
      stream.invoke('double', params[0], (err, doubled) => {
        response.result(err ? `failed: ${err}` : doubled + 1)
      })
    })
  })
  const port = await listen(server)
  const client = rpc.createClient({ port, host: '127.0.0.1', handler: { double: (x, res) => res.result(x * 2) } })
  assert.deepEqual(await invokeCb(client, 'compute', 20), [null, 41])
  await closeAll(client, server)
})

test('a server stream handles request events from a client-side invoke and replies in order', async () => {
  const server = rpc.createServer({ echo: (v, res) => res.result(v) })
  const port = await listen(server)
  const client = rpc.createClient(port, '127.0.0.1')
  const results = await Promise.all(Array.from({ length: 500 }, (_, i) => invokeCb(client, 'echo', i)))
  assert.deepEqual(
    results.map((r) => r[1]),
    Array.from({ length: 500 }, (_, i) => i)
  )
  await closeAll(client, server)
})
