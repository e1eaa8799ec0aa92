'use strict'
// Every transport speaks through the same stream API: any Duplex (TLS here),
// a spawned child's stdio, this process's stdio (in the child), UDP.
const { kTransport } = require('../lib/constants')
const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const net = require('node:net')
const tls = require('node:tls')
const { execFileSync } = require('node:child_process')
const { rpc, once } = require('./helpers')

const stdioPeer = path.join(__dirname, 'fixtures', 'stdio-peer.js')

test('spawn() talks to a child over its stdio, which serves with rpc.stdio()', async () => {
  const stderr = []
  const child = rpc.spawn(process.execPath, [stdioPeer], { stdio: ['pipe', 'pipe', 'pipe'], handler: { name: () => 'the parent' } })
  child.process.stderr.on('data', (d) => stderr.push(d))
  await once(child, 'ready')
  assert.equal(await child.invoke('add', 2, 3), 5)
  assert.equal(await child.invoke('noisy'), 'still fine')
  assert.equal(await child.invoke('askBack'), 'parent says the parent')
  assert.match(Buffer.concat(stderr).toString(), /this goes to stderr/)
  const closed = once(child, 'close')
  assert.equal(await child.invoke('quit'), 'bye')
  await closed
  assert.equal(child.closed, true)
})

test('close() on a spawned stream ends its stdin and the child exits', async () => {
  const child = rpc.spawn(process.execPath, [stdioPeer])
  assert.equal(await child.invoke('add', 1, 1), 2)
  const exited = once(child.process, 'exit')
  await child.close()
  const [code] = await exited
  assert.equal(code, 0)
})

test('a spawned process that exits fails the calls it did not answer', async () => {
  const child = rpc.spawn(process.execPath, ['-e', 'process.stdin.resume(); setTimeout(() => process.exit(3), 100)'])
  await assert.rejects(child.invoke('anything'), { code: 'ERR_MSGPACK_RPC_CLOSED' })
})

test('spawn() of a missing command reports ENOENT to pending calls', async () => {
  const child = rpc.spawn('/nonexistent/msgpack-rpc-peer')
  await assert.rejects(child.invoke('x'), (err) => err.code === 'ERR_MSGPACK_RPC_CLOSED' && err.cause.code === 'ENOENT')
})

function selfSignedCert() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'msgpack-rpc-tls-'))
  const key = path.join(dir, 'key.pem')
  const cert = path.join(dir, 'cert.pem')
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=localhost'], { stdio: 'ignore' })
  const pair = { key: fs.readFileSync(key), cert: fs.readFileSync(cert) }
  fs.rmSync(dir, { recursive: true })
  return pair
}

let openssl = true
try {
  execFileSync('openssl', ['version'], { stdio: 'ignore' })
} catch {
  openssl = false
}

test('attach() runs over TLS sockets from node:tls on both ends', { skip: !openssl && 'openssl is not installed (apt-get install openssl)' }, async () => {
  const { key, cert } = selfSignedCert()
  const server = tls.createServer({ key, cert }, (socket) => {
    rpc.attach(socket, { secret: (res) => res.result(`over ${socket.getProtocol()}`) })
  })
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  const socket = tls.connect({ port: server.address().port, host: '127.0.0.1', ca: cert, servername: 'localhost' })
  const client = rpc.attach(socket)
  await once(client, 'ready')
  assert.match(await client.invoke('secret'), /^over TLSv1\.[23]$/)
  await client.close()
  await new Promise((resolve) => server.close(resolve))
})

test('attach() over a plain net socket reports protocol errors and closes', async () => {
  const server = net.createServer((socket) => socket.end(Buffer.from([0xc1])))
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  const client = rpc.attach(net.connect(server.address().port, '127.0.0.1'))
  const [err] = await once(client, 'error')
  assert.equal(err.code, 'ERR_MSGPACK_RPC_PROTOCOL')
  if (!client.closed) await once(client, 'close')
  await new Promise((resolve) => server.close(resolve))
})

test('UDP: one message per datagram, replies to the sender, and calls back', async () => {
  const server = rpc.createUdpServer((peer) => {
    peer.on('request', async (method, params, res) => {
      if (method === 'greet') res.result(`hello ${await peer.invoke('name')}`)
    })
  })
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  const client = rpc.createUdpClient(server.address().port, '127.0.0.1', { timeout: 2000, handler: { name: () => 'udp client' } })
  assert.equal(await client.invoke('greet'), 'hello udp client')
  await client.close()
  await server.close()
})

test('UDP: a message over the datagram limit is refused with a clear error', async () => {
  const server = rpc.createUdpServer({ echo: (v) => v })
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  const client = rpc.createUdpClient(server.address().port, '127.0.0.1', { timeout: 2000, maxDatagramSize: 1024 })
  assert.equal(await client.invoke('echo', 'x'.repeat(900)), 'x'.repeat(900))
  await assert.rejects(client.invoke('echo', 'x'.repeat(2000)), { code: 'ERR_MSGPACK_RPC_MESSAGE_TOO_LARGE', message: /datagram/ })
  await client.close()
  await server.close()
})

test('UDP: an answer over the datagram limit becomes an error answer, not silence', async () => {
  const server = rpc.createUdpServer({ big: () => 'y'.repeat(2000), small: () => 'ok' }, { maxDatagramSize: 1024 })
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  const client = rpc.createUdpClient(server.address().port, '127.0.0.1', { timeout: 2000 })
  await assert.rejects(client.invoke('big'), { code: 'ERR_MSGPACK_RPC_REMOTE', message: /cannot encode the result: .*does not fit in one datagram/ })
  assert.equal(await client.invoke('small'), 'ok')
  await client.close()
  await server.close()
})

test('UDP: a lost datagram shows up only as a timeout', async () => {
  // Nobody listens on this port: the request is lost.
  const probe = require('node:dgram').createSocket('udp4')
  await new Promise((resolve) => probe.bind(0, '127.0.0.1', resolve))
  const port = probe.address().port
  probe.close()
  const client = rpc.createUdpClient(port, '127.0.0.1', { timeout: 100 })
  client.on('error', () => {}) // ICMP port-unreachable may surface as ECONNREFUSED
  await assert.rejects(client.invoke('anything'), (err) => ['ERR_MSGPACK_RPC_TIMEOUT'].includes(err.code))
  await client.close()
})

test('UDP: garbage datagrams are dropped and the server keeps serving', async () => {
  const server = rpc.createUdpServer({ ping: () => 'pong' })
  const errors = []
  server.on('connection', (peer) => peer.on('error', (e) => errors.push(e.code)))
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  const client = rpc.createUdpClient(server.address().port, '127.0.0.1', { timeout: 2000 })
  await once(client, 'ready')
  client[kTransport]._socket.send(Buffer.from('not msgpack'))
  assert.equal(await client.invoke('ping'), 'pong')
  assert.deepEqual(errors, ['ERR_MSGPACK_RPC_PROTOCOL'])
  await client.close()
  await server.close()
})
