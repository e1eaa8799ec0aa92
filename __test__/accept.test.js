'use strict'
// Accepting on the JavaScript thread: what a server does when accept fails
// (out of descriptors) and when it is closed while connections wait.
const { test } = require('node:test')
const assert = require('node:assert/strict')
const { spawn } = require('node:child_process')
const net = require('node:net')
const path = require('node:path')
const { rpc, listen, once } = require('./helpers')

/** The next IPC message from `child` that has `key`. */
function message(child, key) {
  return new Promise((resolve, reject) => {
    const onMessage = (m) => {
      if (m && m[key] !== undefined) {
        child.off('message', onMessage)
        child.off('exit', onExit)
        resolve(m)
      }
    }
    const onExit = (code) => reject(new Error(`child exited ${code} before sending ${key}`))
    child.on('message', onMessage)
    child.once('exit', onExit)
  })
}

test('a server out of descriptors reports EMFILE, backs off, and accepts the waiting connection once descriptors are free', { skip: process.platform === 'win32' }, async () => {
  const fixture = path.join(__dirname, 'fixtures', 'fd-starved-server.js')
  const child = spawn('sh', ['-c', `ulimit -n 256 && exec "${process.execPath}" "${fixture}"`], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  let client
  try {
    const { port, held } = await message(child, 'port')
    assert.ok(held > 0, 'the child filled its descriptors')
    client = rpc.createClient(port, '127.0.0.1')
    // The connection waits in the backlog while the server cannot accept it.
    const answered = new Promise((resolve, reject) => client.invoke('add', 2, 3, (err, r) => (err ? reject(err) : resolve(r))))
    await new Promise((resolve) => client.once('ready', resolve))
    // Let the starved server fail a few times, then look.
    await new Promise((resolve) => setTimeout(resolve, 300))
    child.send('report')
    const { errors } = await message(child, 'errors')
    assert.ok(errors.length >= 1, 'accept failures are reported')
    assert.ok(errors.every((code) => code === 'EMFILE'), `codes: ${errors}`)
    // Doubling from 1 ms, about ten in 300 ms; a poll that kept firing
    // without backing off would report thousands.
    assert.ok(errors.length < 40, `${errors.length} errors in 300 ms: no back-off`)
    child.send('free')
    await message(child, 'freed')
    assert.equal(await answered, 5)
  } finally {
    if (client) await client.close()
    child.send('exit')
    if (child.exitCode === null) await once(child, 'exit')
  }
})

test('closing the server from its connection listener accepts none of the other waiting connections', async () => {
  const server = rpc.createServer({})
  const port = await listen(server)
  const sockets = []
  let connections = 0
  server.on('connection', () => {
    connections++
    if (connections === 1) server.close()
  })
  const closed = once(server, 'close')
  try {
    // All connect in this tick: the server's thread (this one) finds them
    // all waiting when it next polls.
    const ended = []
    for (let i = 0; i < 4; i++) {
      const s = net.connect(port, '127.0.0.1')
      s.on('error', () => {})
      ended.push(new Promise((resolve) => s.once('close', resolve)))
      sockets.push(s)
    }
    await closed
    // The three left waiting are dropped with the listening socket.
    await Promise.all(ended)
    assert.equal(connections, 1)
  } finally {
    for (const s of sockets) s.destroy()
  }
})

test("an accepted connection's addresses read first in its error and close listeners are still known", async () => {
  const server = rpc.createServer({})
  const port = await listen(server)
  const raw = net.connect(port, '127.0.0.1')
  raw.on('error', () => {})
  try {
    const [stream] = await once(server, 'connection')
    const seen = {}
    stream.on('error', () => (seen.error = [stream.stream.remoteAddress, stream.stream.remotePort]))
    const closed = once(stream, 'close')
    stream.on('close', () => (seen.close = [stream.stream.remoteAddress, stream.stream.remotePort]))
    await once(raw, 'connect')
    // Not MessagePack-RPC: the server fails the connection with a protocol error.
    raw.write(Buffer.from([0xc1]))
    await closed
    assert.deepEqual(seen.error, ['127.0.0.1', raw.localPort])
    assert.deepEqual(seen.close, ['127.0.0.1', raw.localPort])
  } finally {
    raw.destroy()
    await server.close()
  }
})

test("an accepted connection's peer address read first in its close listener, after the peer ended cleanly, is still known", async () => {
  // The system forgets a closed TCP socket's peer; the server keeps the
  // address accept gave it.
  const server = rpc.createServer({})
  const port = await listen(server)
  const raw = net.connect(port, '127.0.0.1')
  try {
    const [stream] = await once(server, 'connection')
    const seen = {}
    const closed = once(stream, 'close')
    stream.on('close', () => (seen.close = [stream.stream.remoteAddress, stream.stream.remotePort, stream.stream.localPort]))
    await once(raw, 'connect')
    const rawPort = raw.localPort
    raw.end()
    await closed
    assert.deepEqual(seen.close, ['127.0.0.1', rawPort, port])
  } finally {
    raw.destroy()
    await server.close()
  }
})
