'use strict'
// Arguments and options of every public entry point are checked as Node
// checks its own: TypeError/RangeError with Node's codes and wording, thrown
// synchronously; the positional forms of listen/createClient/connect work.
const test = require('node:test')
const assert = require('node:assert/strict')
const net = require('node:net')
const os = require('node:os')
const path = require('node:path')

// Records the settings each RpcStream is built with, to see what the entry
// points hand on. Installed before the library is loaded, so every module
// that takes RpcStream from lib/stream gets this one.
const streamModule = require('../lib/stream')
const builtWith = []
streamModule.RpcStream = class RecordingRpcStream extends streamModule.RpcStream {
  constructor(native, options) {
    super(native, options)
    // What the stream was made with (a server's streams share one settings object).
    builtWith.push(this._settings)
  }
}

const { rpc, socketPath, once, removeSocket } = require('./helpers')

const stdioPeer = path.join(__dirname, 'fixtures', 'stdio-peer.js')

test('an unknown option key throws ERR_INVALID_ARG_VALUE naming it and the known ones', () => {
  assert.throws(() => rpc.createClient({ prot: 4567 }), {
    name: 'TypeError',
    code: 'ERR_INVALID_ARG_VALUE',
    message: /^The property 'options\.prot' is not a known option of createClient\(\); known options: .*\bport\b.*\. Received 4567$/,
  })
  assert.throws(() => rpc.createServer({}, { maxMesageSize: 10 }), { code: 'ERR_INVALID_ARG_VALUE', message: /'options\.maxMesageSize' is not a known option of createServer\(\)/ })
  assert.throws(() => rpc.connect(4567, { hots: 'x' }), { code: 'ERR_INVALID_ARG_VALUE', message: /'options\.hots' .* connect\(\)/ })
  assert.throws(() => new rpc.SessionPool({ timeot: 5 }), { code: 'ERR_INVALID_ARG_VALUE', message: /'options\.timeot' .* SessionPool\(\)/ })
  assert.throws(() => rpc.createServer().listen({ prot: 0 }), { code: 'ERR_INVALID_ARG_VALUE', message: /'options\.prot' .* listen\(\)/ })
})

test('a numeric limit out of range throws ERR_OUT_OF_RANGE instead of wrapping through u32', () => {
  assert.throws(() => rpc.createServer({}, { maxMessageSize: -1 }), {
    name: 'RangeError',
    code: 'ERR_OUT_OF_RANGE',
    message: 'The value of "options.maxMessageSize" is out of range. It must be >= 1 && <= 4294967295. Received -1',
  })
  assert.throws(() => rpc.createServer({}, { maxMessageSize: 2 ** 33 }), { code: 'ERR_OUT_OF_RANGE', message: /Received 8_589_934_592$/ })
  assert.throws(() => rpc.createServer({}, { maxMessageSize: 0 }), { code: 'ERR_OUT_OF_RANGE' })
  assert.throws(() => rpc.createServer({}, { maxDepth: 100001 }), { code: 'ERR_OUT_OF_RANGE', message: /It must be >= 1 && <= 100000\./ })
  assert.throws(() => rpc.createServer({}, { highWaterMark: 1.5 }), { code: 'ERR_OUT_OF_RANGE', message: /It must be an integer\. Received 1\.5$/ })
  assert.throws(() => rpc.createServer({}, { timeout: 2 ** 31 }), { code: 'ERR_OUT_OF_RANGE' })
  assert.throws(() => rpc.createServer({}, { maxConnections: -1 }), { code: 'ERR_OUT_OF_RANGE' })
  assert.throws(() => rpc.createServer({}, { closeTimeout: -5 }), { code: 'ERR_OUT_OF_RANGE' })
  assert.throws(() => rpc.createServer({}, { maxQueuedReplies: 0 }), { code: 'ERR_OUT_OF_RANGE' })
  assert.throws(() => rpc.createServer({}, { maxBufferedBytes: 2 ** 53 }), { code: 'ERR_OUT_OF_RANGE' })
  assert.throws(() => rpc.createClient(4567, { maxPendingCalls: 0 }), { code: 'ERR_OUT_OF_RANGE' })
  // The edges of each range are accepted.
  rpc.createServer({}, { maxMessageSize: 2 ** 32 - 1, maxDepth: 1, timeout: 0, maxConnections: 0, closeTimeout: 0, maxBufferedBytes: 2 ** 53 - 1 })
})

test('an option of the wrong type throws ERR_INVALID_ARG_TYPE worded as Node words it', () => {
  assert.throws(() => rpc.createClient(4567, { timeout: '5' }), {
    name: 'TypeError',
    code: 'ERR_INVALID_ARG_TYPE',
    message: `The "options.timeout" property must be of type number. Received type string ('5')`,
  })
  assert.throws(() => rpc.createServer({}, { appendResponse: 1 }), { code: 'ERR_INVALID_ARG_TYPE', message: /"options\.appendResponse" property must be of type boolean\. Received type number \(1\)/ })
  assert.throws(() => rpc.createServer({}, { errorFields: 'yes' }), { code: 'ERR_INVALID_ARG_TYPE' })
  assert.throws(() => rpc.createClient(4567, { handler: 'obj' }), { code: 'ERR_INVALID_ARG_TYPE', message: /"options\.handler" property must be of type object/ })
  assert.throws(() => rpc.createClient({ port: 4567, host: 127 }), { code: 'ERR_INVALID_ARG_TYPE', message: /"options\.host" property must be of type string\. Received type number \(127\)/ })
  assert.throws(() => rpc.createServer({}, []), { code: 'ERR_INVALID_ARG_TYPE', message: /"options" argument must be of type object\. Received an instance of Array/ })
  assert.throws(() => rpc.createServer('handler'), { code: 'ERR_INVALID_ARG_TYPE', message: /"listener" argument must be one of type function or object/ })
  assert.throws(() => rpc.createClient(4567, 127), { code: 'ERR_INVALID_ARG_TYPE', message: /"host" argument must be of type string/ })
  assert.throws(() => rpc.createClient(true), { code: 'ERR_INVALID_ARG_TYPE' })
})

test('a client without a port or path throws ERR_MISSING_ARGS, and a bad port ERR_SOCKET_BAD_PORT', () => {
  assert.throws(() => rpc.createClient(), { name: 'TypeError', code: 'ERR_MISSING_ARGS', message: 'The "options" or "port" or "path" argument must be specified' })
  assert.throws(() => rpc.createClient({ host: '127.0.0.1' }), { code: 'ERR_MISSING_ARGS' })
  assert.throws(() => rpc.createClient(65536), { name: 'RangeError', code: 'ERR_SOCKET_BAD_PORT', message: 'Port should be >= 0 and < 65536. Received type number (65536).' })
  assert.throws(() => rpc.createClient({ port: -1 }), { code: 'ERR_SOCKET_BAD_PORT', message: /^options\.port should be/ })
})

test('server.listen checks its port, host and backlog', () => {
  const server = rpc.createServer({})
  assert.throws(() => server.listen(70000), { code: 'ERR_SOCKET_BAD_PORT' })
  assert.throws(() => server.listen({ port: 70000 }), { code: 'ERR_SOCKET_BAD_PORT' })
  assert.throws(() => server.listen(0, { host: '127.0.0.1' }), { code: 'ERR_INVALID_ARG_TYPE', message: /"host" argument must be of type string/ })
  assert.throws(() => server.listen(0, '127.0.0.1', -1), { code: 'ERR_OUT_OF_RANGE', message: /"backlog"/ })
  assert.throws(() => server.listen(0, undefined, -1), { code: 'ERR_OUT_OF_RANGE', message: /"backlog"/ })
  assert.throws(() => server.listen(true), { code: 'ERR_INVALID_ARG_VALUE' })
  assert.equal(server.listening, false)
})

test('createClient(port, { host }) and connect(port, { host, ...options }) connect with those options', async () => {
  const server = await rpc.listen(0, '127.0.0.1', { add: (a, b) => a + b })
  const { port } = server.address()
  const first = rpc.createClient(port, { host: '127.0.0.1', timeout: 2000 })
  let second
  try {
    await once(first, 'ready')
    assert.equal(first.stream.remoteAddress, '127.0.0.1')
    assert.equal(await first.invoke('add', 1, 2), 3)
    second = await rpc.connect(port, { host: '127.0.0.1', timeout: 2000 })
    assert.equal(await second.invoke('add', 2, 3), 5)
  } finally {
    await first.close()
    if (second) await second.close()
    await server.close()
  }
})

test('rpc.listen(0, "127.0.0.1", handler) binds that host and serves with that handler', async () => {
  const server = await rpc.listen(0, '127.0.0.1', { add: (a, b) => a + b })
  let client
  try {
    assert.equal(server.address().address, '127.0.0.1')
    client = await rpc.connect(server.address().port, '127.0.0.1')
    assert.equal(await client.invoke('add', 2, 2), 4)
  } finally {
    if (client) await client.close()
    await server.close()
  }
})

test('rpc.listen(path, handler, options) and rpc.listen({ port, host }, handler, options) apply the options', async () => {
  const file = socketPath('listen-args')
  removeSocket(file)
  let release
  const handler = {
    wait: () => new Promise((resolve) => (release = resolve)),
    ping: () => 'pong',
  }
  const byPath = await rpc.listen(file, handler, { maxPendingCalls: 1 })
  const byObject = await rpc.listen({ port: 0, host: '127.0.0.1' }, handler, { maxPendingCalls: 1 })
  const clients = []
  try {
    assert.equal(byObject.address().address, '127.0.0.1')
    for (const target of [file, byObject.address().port]) {
      const client = await rpc.connect(target, target === file ? undefined : '127.0.0.1', { timeout: 2000 })
      clients.push(client)
      const waiting = client.invoke('wait')
      // One request is in flight: maxPendingCalls 1 refuses the second.
      await assert.rejects(client.invoke('ping'), { code: 'ERR_MSGPACK_RPC_REMOTE', message: /too many pending/ })
      release('done')
      assert.equal(await waiting, 'done')
      assert.equal(await client.invoke('ping'), 'pong')
    }
  } finally {
    for (const c of clients) await c.close()
    await byPath.close()
    await byObject.close()
    removeSocket(file)
  }
})

test('rpc.listen and rpc.connect throw argument errors synchronously, as net does', () => {
  assert.throws(() => rpc.listen(70000, {}), { code: 'ERR_SOCKET_BAD_PORT' })
  assert.throws(() => rpc.listen(0, '127.0.0.1', {}, { prot: 1 }), { code: 'ERR_INVALID_ARG_VALUE' })
  assert.throws(() => rpc.connect({ port: 1, timeout: -1 }), { code: 'ERR_OUT_OF_RANGE' })
})

test('attach, spawn and stdio check their options; spawn hands the rest to child_process', async () => {
  const socket = new net.Socket()
  assert.throws(() => rpc.attach(socket, {}, { maxMessageSize: -1 }), { code: 'ERR_OUT_OF_RANGE' })
  assert.throws(() => rpc.attach(socket, { handler: {}, prot: 1 }), { code: 'ERR_INVALID_ARG_VALUE', message: /attach\(\)/ })
  assert.throws(() => rpc.attach(socket, 'handler'), { code: 'ERR_INVALID_ARG_TYPE', message: /"handler" argument/ })
  assert.throws(() => rpc.attach({}), { code: 'ERR_INVALID_ARG_TYPE', message: /"duplex" argument must be an instance of Duplex/ })
  assert.throws(() => rpc.stdio({}, { timeout: 'x' }), { code: 'ERR_INVALID_ARG_TYPE' })
  assert.throws(() => rpc.spawn(42), { code: 'ERR_INVALID_ARG_TYPE', message: /"command" argument must be of type string/ })
  assert.throws(() => rpc.spawn(process.execPath, [], { timeout: -1 }), { code: 'ERR_OUT_OF_RANGE' })
  assert.throws(() => rpc.spawn(process.execPath, 'args'), { code: 'ERR_INVALID_ARG_TYPE' })
  // cwd is child_process.spawn's option: passed through, not refused.
  const cwd = os.tmpdir()
  const child = rpc.spawn(process.execPath, ['-e', `require(${JSON.stringify(path.join(__dirname, '..'))}).stdio({ cwd: () => process.cwd() })`], {
    cwd,
    timeout: 5000,
  })
  try {
    assert.equal(await child.invoke('cwd'), require('node:fs').realpathSync(cwd))
  } finally {
    await child.close()
  }
})

test('SessionPool validates its options and gives them to every client', async () => {
  assert.throws(() => new rpc.SessionPool({ timeout: 'x' }), { code: 'ERR_INVALID_ARG_TYPE' })
  assert.throws(() => new rpc.SessionPool({ maxMessageSize: -1 }), { code: 'ERR_OUT_OF_RANGE' })
  const server = await rpc.listen(0, '127.0.0.1', { never: () => new Promise(() => {}) }, { closeTimeout: 0 })
  const pool = new rpc.SessionPool({ timeout: 50 })
  try {
    const client = pool.getClient(server.address().port, '127.0.0.1')
    await assert.rejects(client.invoke('never'), { code: 'ERR_MSGPACK_RPC_TIMEOUT' })
  } finally {
    await pool.closeClients()
    await server.close()
  }
})

test('appendResponse and errorFields reach the stream of every entry point', async () => {
  const options = { appendResponse: false, errorFields: true, timeout: 2000 }
  const seen = () => builtWith.splice(0).map((o) => [o.appendResponse, o.errorFields])
  const wanted = [false, true]
  const server = rpc.createServer({ ping: () => 'pong' }, options)
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  const udp = rpc.createUdpServer({ ping: () => 'pong' }, options)
  await new Promise((resolve) => udp.listen(0, '127.0.0.1', resolve))
  const opened = []
  try {
    builtWith.length = 0
    const client = rpc.createClient(server.address().port, '127.0.0.1', options)
    opened.push(client)
    await once(client, 'ready')
    assert.deepEqual(seen()[0], wanted, 'createClient')
    const connected = await rpc.connect(server.address().port, { host: '127.0.0.1', ...options })
    opened.push(connected)
    assert.deepEqual(seen()[0], wanted, 'connect')
    // The server's sides of both connections, which may be made after the
    // clients are ready, before the UDP streams are counted.
    for (let i = 0; i < 200 && server.connections.length < 2; i++) await new Promise((resolve) => setTimeout(resolve, 5))
    assert.equal(server.connections.length, 2)
    seen()
    const udpClient = rpc.createUdpClient(udp.address().port, '127.0.0.1', options)
    opened.push(udpClient)
    assert.deepEqual(seen(), [wanted], 'createUdpClient')
    assert.equal(await udpClient.invoke('ping'), 'pong')
    assert.deepEqual(seen(), [wanted], 'a UDP server peer')
    const attached = rpc.attach(net.connect(server.address().port, '127.0.0.1'), {}, options)
    opened.push(attached)
    assert.deepEqual(seen(), [wanted], 'attach')
    assert.equal(await attached.invoke('ping'), 'pong')
    seen() // the server's side of that connection
    const spawned = rpc.spawn(process.execPath, [stdioPeer], options)
    opened.push(spawned)
    assert.deepEqual(seen(), [wanted], 'spawn')
    assert.equal(await spawned.invoke('add', 1, 2), 3)
  } finally {
    for (const s of opened) await s.close()
    await server.close()
    await udp.close()
  }
})
