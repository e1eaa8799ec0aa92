'use strict'
const test = require('node:test')
const assert = require('node:assert/strict')
const net = require('node:net')
const { spawn } = require('node:child_process')
const path = require('node:path')
const { rpc, listen, once, invokeCb, closeAll } = require('./helpers')

test('fails outstanding requests with "connection closed by peer" when the server ends the stream', async () => {
  const server = rpc.createServer((stream) => {
    stream.on('request', () => {
      stream.stream.end()
    })
  })
  const port = await listen(server)
  const client = rpc.createClient(port, '127.0.0.1')
  const [err] = await invokeCb(client, 'hello', 'world')
  assert.ok(err instanceof Error)
  assert.equal(err.message, 'connection closed by peer')
  await closeAll(client, server)
})

test('passes the remote error value to the callback exactly as sent', async () => {
  const server = rpc.createServer((stream) => {
    stream.on('request', (method, params, response) => {
      if (method === 'string') response.error("can't hello")
      else if (method === 'array') response.error([1, 'Vim:E492: Not an editor command'])
      else response.error({ code: 7, message: 'bad' })
    })
  })
  const port = await listen(server)
  const client = rpc.createClient(port, '127.0.0.1')
  assert.equal((await invokeCb(client, 'string'))[0], "can't hello")
  assert.deepEqual((await invokeCb(client, 'array'))[0], [1, 'Vim:E492: Not an editor command'])
  assert.deepEqual((await invokeCb(client, 'map'))[0], { code: 7, message: 'bad' })
  await closeAll(client, server)
})

test('hands a refused connection to every pending callback without throwing', async () => {
  // A port that was just free.
  const probe = net.createServer()
  await new Promise((resolve) => probe.listen(0, '127.0.0.1', resolve))
  const port = probe.address().port
  await new Promise((resolve) => probe.close(resolve))
  const client = rpc.createClient(port, '127.0.0.1')
  const [[a], [b]] = await Promise.all([invokeCb(client, 'x'), invokeCb(client, 'y')])
  assert.equal(a.code, 'ECONNREFUSED')
  assert.equal(b, a)
  assert.equal(client.closed, true)
})

test('fails pending calls when the server process dies mid-call', async () => {
  const child = spawn(process.execPath, [path.join(__dirname, 'fixtures', 'hanging-server.js')], {
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  try {
    const [line] = await once(child.stdout, 'data')
    const port = Number(String(line).trim())
    const client = rpc.createClient(port, '127.0.0.1')
    const pending = invokeCb(client, 'hang')
    await invokeCb(client, 'ping') // the server is up and holding 'hang'
    child.kill('SIGKILL')
    const [err] = await pending
    assert.ok(err instanceof Error)
    assert.ok(['connection closed by peer', 'ECONNRESET'].some((s) => err.message.includes(s) || err.code === s), err.message)
    assert.equal(client.closed, true)
  } finally {
    child.kill('SIGKILL')
  }
})

test('an unknown response msgid becomes an error event only when someone listens', async () => {
  const raw = net.createServer((socket) => {
    // [1, 999, nil, "stray"] then a valid reply to msgid 0.
    socket.write(Buffer.from([0x94, 0x01, 0xcd, 0x03, 0xe7, 0xc0, 0xa5, ...Buffer.from('stray')]))
  })
  await new Promise((resolve) => raw.listen(0, '127.0.0.1', resolve))
  const quiet = rpc.createClient(raw.address().port, '127.0.0.1')
  await once(quiet, 'ready')
  const loud = rpc.createClient(raw.address().port, '127.0.0.1')
  const [err] = await once(loud, 'error')
  assert.equal(err.code, 'ERR_MSGPACK_RPC_UNKNOWN_MSGID')
  await new Promise((resolve) => setTimeout(resolve, 20))
  await closeAll(quiet, loud)
  await new Promise((resolve) => raw.close(resolve))
})

test('async handlers and throwing handlers answer through the return value', async () => {
  const server = rpc.createServer({
    async double(x) {
      return x * 2
    },
    sync(x) {
      return x + 1
    },
    fails() {
      throw new Error('nope')
    },
    async rejects() {
      throw new Error('async nope')
    },
  })
  const port = await listen(server)
  const client = rpc.createClient(port, '127.0.0.1')
  assert.deepEqual(await invokeCb(client, 'double', 4), [null, 8])
  assert.deepEqual(await invokeCb(client, 'sync', 4), [null, 5])
  assert.equal((await invokeCb(client, 'fails'))[0], 'nope')
  assert.equal((await invokeCb(client, 'rejects'))[0], 'async nope')
  await closeAll(client, server)
})

test('a second answer to one request is refused', async () => {
  let second
  const server = rpc.createServer({
    twice(res) {
      res.result(1)
      try {
        res.result(2)
      } catch (err) {
        second = err
      }
    },
  })
  const port = await listen(server)
  const client = rpc.createClient(port, '127.0.0.1')
  assert.deepEqual(await invokeCb(client, 'twice'), [null, 1])
  assert.equal(second.code, 'ERR_MSGPACK_RPC_ALREADY_RESPONDED')
  await closeAll(client, server)
})

test('an error with no listener on a server-side stream does not crash the process', async () => {
  const server = rpc.createServer()
  const port = await listen(server)
  const [stream] = await Promise.all([
    once(server, 'connection'),
    new Promise((resolve) => {
      const socket = net.connect(port, '127.0.0.1', () => {
        socket.end(Buffer.from('not msgpack at all'))
        resolve()
      })
    }),
  ])
  if (!stream[0].closed) await once(stream[0], 'close')
  await server.close()
})
