'use strict'
// Issue 10: no peer can crash the process, and handlers, errors and
// dispatch behave the way a user reads them. Every test here failed before
// its fix (a crash of the test process counts as a failure).

const { kBufferedBytes, kIncoming } = require('../lib/constants')
const test = require('node:test')
const assert = require('node:assert/strict')
const net = require('node:net')
const dgram = require('node:dgram')
const { EventEmitter } = require('node:events')
const { encode } = require('@msgpack/msgpack')
const { rpc, listen, once, invokeCb, closeAll } = require('./helpers')

/** A notification whose param is a timestamp ext of 1 byte: framed fine, not decodable. */
const BAD_TIMESTAMP = Buffer.from('9302a46563686f91d4ff00', 'hex')

function frame(message) {
  return Buffer.from(encode(message))
}

/** A raw socket to `port`; collects what comes back. */
async function rawSocket(port) {
  const socket = net.connect(port, '127.0.0.1')
  await once(socket, 'connect')
  const chunks = []
  socket.on('data', (c) => chunks.push(c))
  socket.on('error', () => {})
  socket.received = () => Buffer.concat(chunks)
  return socket
}

/** Decodes every whole message in `bytes`. */
function messages(bytes) {
  const { decodeMulti } = require('@msgpack/msgpack')
  return [...decodeMulti(bytes)]
}

async function until(predicate, what, ms = 3000) {
  const deadline = Date.now() + ms
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 5))
  }
}

/** Collects process warnings of our codes while `fn` runs. */
async function collectWarnings(fn) {
  const seen = []
  const onWarning = (w) => {
    if (typeof w.code === 'string' && w.code.startsWith('ERR_MSGPACK_RPC_')) seen.push(w)
  }
  process.on('warning', onWarning)
  try {
    await fn(seen)
  } finally {
    // Warnings are emitted on a later tick.
    await new Promise((r) => setImmediate(r))
    process.removeListener('warning', onWarning)
  }
  return seen
}

test('an undecodable value from a TCP peer closes that connection with a protocol error; the server keeps serving', async () => {
  const server = rpc.createServer({ echo: (x) => x, add: (a, b) => a + b })
  const errors = []
  server.on('connection', (s) => s.on('error', (e) => errors.push(e)))
  const port = await listen(server)
  const socket = await rawSocket(port)
  socket.write(BAD_TIMESTAMP)
  await once(socket, 'close')
  await until(() => errors.length === 1, 'the protocol error')
  assert.equal(errors[0].code, 'ERR_MSGPACK_RPC_PROTOCOL')
  assert.ok(errors[0] instanceof rpc.RpcError)
  assert.match(errors[0].message, /timestamp extension of 1 bytes/)
  const canary = await rpc.connect(port, '127.0.0.1')
  assert.equal(await canary.invoke('add', 1, 2), 3)
  await closeAll(canary, server)
})

test('a server-side stream with no error listener survives an undecodable value', async () => {
  const server = rpc.createServer({ add: (a, b) => a + b })
  const port = await listen(server)
  const socket = await rawSocket(port)
  socket.write(BAD_TIMESTAMP)
  await once(socket, 'close')
  const canary = await rpc.connect(port, '127.0.0.1')
  assert.equal(await canary.invoke('add', 2, 2), 4)
  await closeAll(canary, server)
})

test('an undecodable datagram is dropped and the UDP server keeps serving', async () => {
  const server = rpc.createUdpServer({ add: (a, b) => a + b })
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address()
  const raw = dgram.createSocket('udp4')
  await new Promise((resolve) => raw.send(BAD_TIMESTAMP, port, '127.0.0.1', resolve))
  raw.close()
  const client = rpc.createUdpClient(port, '127.0.0.1', { timeout: 2000 })
  assert.equal(await client.invoke('add', 3, 4), 7)
  await client.close()
  await server.close()
})

test('an undecodable value over attach() closes that stream with a protocol error', async () => {
  const plain = net.createServer((socket) => {
    const stream = rpc.attach(socket, { add: (a, b) => a + b })
    stream.on('error', (e) => plain.emit('rpc-error', e))
  })
  await new Promise((resolve) => plain.listen(0, '127.0.0.1', resolve))
  const errored = once(plain, 'rpc-error')
  const socket = await rawSocket(plain.address().port)
  socket.write(BAD_TIMESTAMP)
  const [err] = await errored
  assert.equal(err.code, 'ERR_MSGPACK_RPC_PROTOCOL')
  await once(socket, 'close')
  plain.close()
})

test('a client that receives an undecodable value fails its pending calls with the protocol error', async () => {
  const evil = net.createServer((socket) => {
    socket.once('data', () => socket.write(Buffer.from('940100c0d4ff00', 'hex')))
  })
  await new Promise((resolve) => evil.listen(0, '127.0.0.1', resolve))
  const client = await rpc.connect(evil.address().port, '127.0.0.1')
  client.on('error', () => {})
  await assert.rejects(client.invoke('x'), { code: 'ERR_MSGPACK_RPC_PROTOCOL' })
  assert.equal(client.closed || (await once(client, 'close'), client.closed), true)
  evil.close()
})

test('a throwing or rejecting notification handler is reported, not fatal', async () => {
  const server = rpc.createServer({
    syncBoom() {
      throw new Error('sync boom')
    },
    async asyncBoom() {
      throw new Error('async boom')
    },
    add: (a, b) => a + b,
  })
  const reported = []
  server.on('connection', (s) => s.on('error', (e) => reported.push(e)))
  const port = await listen(server)
  const client = await rpc.connect(port, '127.0.0.1')
  client.notify('syncBoom')
  client.notify('asyncBoom')
  assert.equal(await client.invoke('add', 1, 1), 2)
  await until(() => reported.length === 2, 'two handler faults')
  assert.deepEqual(
    reported.map((e) => [e.code, e.cause.message]).sort(),
    [
      ['ERR_MSGPACK_RPC_HANDLER', 'async boom'],
      ['ERR_MSGPACK_RPC_HANDLER', 'sync boom'],
    ]
  )
  await closeAll(client, server)
})

test('with no error listener anywhere, a handler fault becomes a process warning', async () => {
  const server = rpc.createServer({
    boom() {
      throw new Error('nobody listens')
    },
  })
  const port = await listen(server)
  const client = await rpc.connect(port, '127.0.0.1')
  const warnings = await collectWarnings(async (seen) => {
    client.notify('boom')
    await until(() => seen.length === 1, 'a warning')
  })
  assert.equal(warnings[0].code, 'ERR_MSGPACK_RPC_HANDLER')
  assert.equal(warnings[0].cause.message, 'nobody listens')
  await closeAll(client, server)
})

test('a handler fault goes to the server when the stream has no error listener', async () => {
  const server = rpc.createServer({
    boom() {
      throw new Error('to the server')
    },
  })
  const port = await listen(server)
  const client = await rpc.connect(port, '127.0.0.1')
  const [err] = await Promise.all([once(server, 'error').then(([e]) => e), client.notify('boom')])
  assert.equal(err.code, 'ERR_MSGPACK_RPC_HANDLER')
  await closeAll(client, server)
})

test("a throwing 'request' listener does not stop the rest of its batch", async () => {
  const server = rpc.createServer()
  server.on('connection', (stream) => {
    stream.on('error', () => {})
    stream.on('request', (method, params, res) => {
      res.result(params[0])
      if (params[0] === 1) throw new Error('listener bug')
    })
  })
  const port = await listen(server)
  const socket = await rawSocket(port)
  // Three requests in one write: one read batch.
  socket.write(Buffer.concat([frame([0, 1, 'm', [1]]), frame([0, 2, 'm', [2]]), frame([0, 3, 'm', [3]])]))
  await until(() => {
    try {
      return messages(socket.received()).length === 3
    } catch {
      return false
    }
  }, 'three answers')
  assert.deepEqual(messages(socket.received()), [
    [1, 1, null, 1],
    [1, 2, null, 2],
    [1, 3, null, 3],
  ])
  socket.destroy()
  await closeAll(server)
})

test('a handler that answers and then throws, or answers twice, is reported, not fatal', async () => {
  const server = rpc.createServer({
    answerThenThrow(res) {
      res.result('first')
      throw new Error('after the answer')
    },
    twice(res) {
      res.result('one')
      res.result('two')
    },
    async wrapped() {
      return 'wrapped'
    },
  })
  // A wrapper that answers on top of a handler that already answers.
  const inner = server.handler.wrapped
  server.handler.wrapped = function (res) {
    return inner().then((v) => {
      res.result(v)
      res.result(v)
    })
  }
  const reported = []
  server.on('connection', (s) => s.on('error', (e) => reported.push(e)))
  const port = await listen(server)
  const client = await rpc.connect(port, '127.0.0.1')
  assert.equal(await client.invoke('answerThenThrow'), 'first')
  assert.equal(await client.invoke('twice'), 'one')
  assert.equal(await client.invoke('wrapped'), 'wrapped')
  await until(() => reported.length === 3, 'three faults')
  assert.deepEqual(
    reported.map((e) => [e.code, e.cause.code || e.cause.message]),
    [
      ['ERR_MSGPACK_RPC_HANDLER', 'after the answer'],
      ['ERR_MSGPACK_RPC_HANDLER', 'ERR_MSGPACK_RPC_ALREADY_RESPONDED'],
      ['ERR_MSGPACK_RPC_HANDLER', 'ERR_MSGPACK_RPC_ALREADY_RESPONDED'],
    ]
  )
  await closeAll(client, server)
})

test('a throwing invoke callback is reported and the rest of the batch is still delivered', async () => {
  const server = rpc.createServer({ echo: (x) => x })
  const port = await listen(server)
  const client = await rpc.connect(port, '127.0.0.1')
  const reported = []
  client.on('error', (e) => reported.push(e))
  const second = new Promise((resolve) => {
    client.invoke('echo', 1, () => {
      throw new Error('callback bug')
    })
    client.invoke('echo', 2, (err, v) => resolve(v))
  })
  assert.equal(await second, 2)
  await until(() => reported.length === 1, 'the callback fault')
  assert.equal(reported[0].code, 'ERR_MSGPACK_RPC_CALLBACK')
  assert.equal(reported[0].cause.message, 'callback bug')
  await closeAll(client, server)
})

test('only methods the handler defines are callable, never inherited built-ins or constructor', async () => {
  class Base {
    inherited() {
      return 'from Base'
    }
  }
  class Service extends Base {
    own() {
      return 'own'
    }
  }
  class Emitting extends EventEmitter {
    hello() {
      return 'hi'
    }
  }
  function Legacy() {
    this.count = (this.count || 0) + 1
  }
  Legacy.prototype.get = function () {
    return this.count
  }
  const handlers = { service: new Service(), emitting: new Emitting(), legacy: new Legacy(), plain: { ping: () => 'pong' } }
  const servers = []
  try {
    for (const [name, handler] of Object.entries(handlers)) {
      const server = rpc.createServer(handler)
      servers.push(server)
      const client = await rpc.connect(await listen(server), '127.0.0.1')
      servers.push(client)
      const refused = async (method) => {
        await assert.rejects(client.request(method, []), { code: 'ERR_MSGPACK_RPC_REMOTE', data: `unknown method: ${method}` }, `${name}.${method}`)
      }
      for (const method of ['constructor', 'toString', 'hasOwnProperty', '__proto__', '__defineGetter__', 'valueOf', 'isPrototypeOf']) {
        await refused(method)
      }
      if (name === 'service') {
        assert.equal(await client.invoke('own'), 'own')
        assert.equal(await client.invoke('inherited'), 'from Base')
      }
      if (name === 'emitting') {
        assert.equal(await client.invoke('hello'), 'hi')
        for (const method of ['removeAllListeners', 'emit', 'on', 'setMaxListeners']) await refused(method)
        assert.equal(handler.listenerCount('x'), 0)
      }
      if (name === 'legacy') {
        assert.equal(await client.invoke('get'), 1)
        assert.equal(handler.count, 1, 'the constructor was not re-run')
      }
      if (name === 'plain') assert.equal(await client.invoke('ping'), 'pong')
    }
  } finally {
    await closeAll(...servers.reverse())
  }
})

test('appendResponse: false calls handlers with exactly the params sent and answers with the return value', async () => {
  const server = rpc.createServer(
    {
      async greet(name, greeting = 'hello') {
        return `${greeting}, ${name}`
      },
      async log(msg, level) {
        assert.equal(level, undefined)
      },
      syncNothing() {},
      count(...args) {
        return args.length
      },
      fail() {
        throw new Error('no')
      },
    },
    { appendResponse: false }
  )
  const port = await listen(server)
  const client = await rpc.connect(port, '127.0.0.1')
  assert.equal(await client.invoke('greet', 'bob'), 'hello, bob')
  assert.equal(await client.invoke('greet', 'bob', 'hi'), 'hi, bob')
  assert.equal(await client.request('log', ['only message'], { timeout: 2000 }), null)
  assert.equal(await client.request('syncNothing', [], { timeout: 2000 }), null)
  assert.equal(await client.invoke('count', 1, 2, 3, 4, 5), 5)
  await assert.rejects(client.invoke('fail'), { data: 'no' })
  await closeAll(client, server)
})

test('the drop-in rule is unchanged: the response lands after the params sent', async () => {
  const server = rpc.createServer({
    async greet(name, greeting = 'hello') {
      // The documented pitfall: with one param, `greeting` is the response.
      return typeof greeting === 'object' ? 'response in the greeting slot' : `${greeting}, ${name}`
    },
  })
  const port = await listen(server)
  const client = await rpc.connect(port, '127.0.0.1')
  assert.equal(await client.invoke('greet', 'bob'), 'response in the greeting slot')
  await closeAll(client, server)
})

test("a missing method is answered 'unknown method' even when 'request' listeners exist, unless one answered", async () => {
  const server = rpc.createServer({ known: () => 'known' })
  const seen = []
  server.on('connection', (stream) =>
    stream.on('request', (method, params, res) => {
      seen.push(method)
      if (method === 'listenerAnswers') res.result('from the listener')
    })
  )
  const port = await listen(server)
  const client = await rpc.connect(port, '127.0.0.1')
  await assert.rejects(client.request('missing', [], { timeout: 2000 }), { data: 'unknown method: missing' })
  assert.equal(await client.invoke('listenerAnswers'), 'from the listener')
  assert.equal(await client.invoke('known'), 'known')
  assert.deepEqual(seen, ['missing', 'listenerAnswers', 'known'])
  await closeAll(client, server)
})

test('errorFields: true sends an Error as { message, code, ...own fields }; the default sends its message', async () => {
  class QuotaError extends Error {
    constructor() {
      super('over quota')
      this.code = 'E_QUOTA'
      this.limit = 10
    }
  }
  const handler = {
    thrown() {
      throw new QuotaError()
    },
    viaResponse(res) {
      res.error(new QuotaError())
    },
  }
  const withFields = rpc.createServer(handler, { errorFields: true })
  const plain = rpc.createServer(handler)
  const a = await rpc.connect(await listen(withFields), '127.0.0.1')
  const b = await rpc.connect(await listen(plain), '127.0.0.1')
  for (const method of ['thrown', 'viaResponse']) {
    await assert.rejects(a.invoke(method), (err) => {
      assert.deepEqual(err.data, { message: 'over quota', code: 'E_QUOTA', limit: 10 })
      assert.equal(err.message, 'over quota')
      return true
    })
    await assert.rejects(b.invoke(method), { data: 'over quota' })
  }
  await closeAll(a, b, withFields, plain)
})

test('a peer that half-closes after its requests still gets every answer, async ones included', async () => {
  const server = rpc.createServer({
    now: () => 'sync',
    later: () => new Promise((resolve) => setTimeout(() => resolve('async'), 50)),
  })
  const port = await listen(server)
  const socket = await rawSocket(port)
  socket.end(Buffer.concat([frame([0, 1, 'later', []]), frame([0, 2, 'now', []])]))
  await once(socket, 'close')
  const answers = messages(socket.received())
  assert.deepEqual(
    answers.sort((x, y) => x[1] - y[1]),
    [
      [1, 1, null, 'async'],
      [1, 2, null, 'sync'],
    ]
  )
  await closeAll(server)
})

test('server.close() lets received requests finish and answers later ones with an error', async () => {
  let release
  const gate = new Promise((r) => (release = r))
  const server = rpc.createServer({
    slow: async () => {
      await gate
      return 'finished'
    },
    quick: () => 'quick',
  })
  const port = await listen(server)
  const client = await rpc.connect(port, '127.0.0.1')
  const slow = client.invoke('slow')
  await until(() => server.connections[0] && server.connections[0][kIncoming] === 1, 'the slow call to arrive')
  const closed = server.close()
  await assert.rejects(client.request('quick', [], { timeout: 2000 }), { data: 'server is closing' })
  release()
  assert.equal(await slow, 'finished')
  await closed
  await closeAll(client)
})

test('an answer after the connection ended reports false instead of pretending it was sent', async () => {
  let sent
  const server = rpc.createServer()
  server.on('connection', (stream) =>
    stream.on('request', (method, params, res) => {
      stream.close()
      sent = res.result('too late')
    })
  )
  const port = await listen(server)
  const client = await rpc.connect(port, '127.0.0.1')
  await assert.rejects(client.invoke('x'), { code: 'ERR_MSGPACK_RPC_CLOSED' })
  assert.equal(sent, false)
  await closeAll(client, server)
})

test('close() twice leaves no stale timer that kills a later connection', async () => {
  const server = rpc.createServer({ ping: () => 'pong' }, { closeTimeout: 100 })
  const port = await listen(server)
  const first = await rpc.connect(port, '127.0.0.1')
  const closing = [server.close(), server.close()]
  await first.close()
  await Promise.all(closing)
  const port2 = await listen(server)
  const second = await rpc.connect(port2, '127.0.0.1')
  await new Promise((r) => setTimeout(r, 250))
  assert.equal(second.closed, false)
  assert.equal(await second.invoke('ping'), 'pong')
  await closeAll(second, server)
})

test("a throwing 'connection' listener is reported and the connection is still served and closed", async () => {
  const server = rpc.createServer({ ping: () => 'pong' })
  server.on('connection', () => {
    throw new Error('connection listener bug')
  })
  const reported = []
  server.on('error', (e) => reported.push(e))
  const port = await listen(server)
  const client = await rpc.connect(port, '127.0.0.1')
  assert.equal(await client.invoke('ping'), 'pong')
  assert.equal(reported[0].code, 'ERR_MSGPACK_RPC_HANDLER')
  await client.close()
  await server.close()
})

test('one AbortSignal shared by many calls adds one listener and no MaxListeners warning', async () => {
  const server = rpc.createServer({ wait: () => new Promise(() => {}) })
  const port = await listen(server)
  const client = await rpc.connect(port, '127.0.0.1')
  const controller = new AbortController()
  const warnings = []
  const onWarning = (w) => warnings.push(w.name)
  process.on('warning', onWarning)
  const calls = Array.from({ length: 50 }, () => client.request('wait', [], { signal: controller.signal }))
  controller.abort()
  for (const call of calls) await assert.rejects(call, { code: 'ERR_MSGPACK_RPC_ABORTED' })
  await new Promise((r) => setImmediate(r))
  process.removeListener('warning', onWarning)
  assert.deepEqual(warnings, [])
  await closeAll(client, server)
})

test('per-call options are checked like Node checks its own', async () => {
  const server = rpc.createServer({ ping: () => 'pong' })
  const client = await rpc.connect(await listen(server), '127.0.0.1')
  assert.throws(() => client.request('ping', [], { signal: {} }), { code: 'ERR_INVALID_ARG_TYPE', name: 'TypeError' })
  assert.throws(() => client.request('ping', [], { timeout: '5' }), { code: 'ERR_INVALID_ARG_TYPE' })
  assert.throws(() => client.request('ping', [], { timeout: -1 }), { code: 'ERR_OUT_OF_RANGE', name: 'RangeError' })
  assert.throws(() => client.request('ping', [], { timout: 5 }), { code: 'ERR_INVALID_ARG_VALUE' })
  assert.equal(await client.request('ping', [], { timeout: 1000 }), 'pong')
  await closeAll(client, server)
})

test("the socket-like stream's 'close' says hadError after a protocol error", async () => {
  const evil = net.createServer((socket) => socket.write(Buffer.from([0xc1])))
  await new Promise((resolve) => evil.listen(0, '127.0.0.1', resolve))
  const client = rpc.createClient(evil.address().port, '127.0.0.1')
  client.on('error', () => {})
  const [hadError] = await once(client.stream, 'close')
  assert.equal(hadError, true)
  evil.close()
})

test('every error the library creates carries a code listed in rpc.codes', async () => {
  const listed = new Set(Object.values(rpc.codes))
  const encodeError = (() => {
    try {
      rpc.encode(() => 1)
    } catch (e) {
      return e
    }
  })()
  assert.ok(encodeError instanceof TypeError)
  assert.ok(encodeError instanceof rpc.RpcError)
  const protocolError = (() => {
    try {
      rpc.decode(Buffer.from([0xc1]))
    } catch (e) {
      return e
    }
  })()
  assert.ok(protocolError instanceof rpc.RpcError)
  for (const err of [encodeError, protocolError]) assert.ok(listed.has(err.code), err.code)
  assert.ok(!(new Error('x') instanceof rpc.RpcError))
  assert.ok(!(new rpc.TimeoutError('m', 1) instanceof rpc.RemoteError))
})

test('legacy callbacks still get the raw values (drop-in)', async () => {
  const server = rpc.createServer({
    fails(res) {
      res.error("can't hello")
    },
  })
  const client = await rpc.connect(await listen(server), '127.0.0.1')
  const [err] = await invokeCb(client, 'fails')
  assert.equal(err, "can't hello")
  await closeAll(client, server)
})

test('a peer that never reads cannot make the server queue answers far past maxQueuedReplies, whatever their size', async () => {
  const budget = 1024 * 1024
  for (const [size, isAsync] of [
    [8 * 1024, false],
    [64 * 1024, false],
    [8 * 1024, true],
    [64 * 1024, true],
  ]) {
    const payload = 'x'.repeat(size)
    const server = rpc.createServer({ big: isAsync ? async () => payload : () => payload }, { maxQueuedReplies: budget })
    const port = await listen(server)
    const socket = net.connect({ port, host: '127.0.0.1' })
    await once(socket, 'connect')
    socket.on('error', () => {})
    socket.pause() // reads nothing: every answer stays with the server
    // 2.4 MiB of small requests, sent in a few writes.
    const one = frame([0, 1, 'big', []])
    const requests = Buffer.concat(Array.from({ length: Math.floor((2.4 * 1024 * 1024) / one.length) }, () => one))
    for (let at = 0; at < requests.length; at += 256 * 1024) socket.write(requests.subarray(at, at + 256 * 1024))
    let most = 0
    // Bounded sampling: the server answers what it can, then waits for the peer.
    for (let i = 0; i < 150; i++) {
      await new Promise((r) => setTimeout(r, 4))
      const stream = server.connections[0]
      if (stream) most = Math.max(most, stream[kBufferedBytes]())
    }
    const label = `${size / 1024} KiB ${isAsync ? 'async' : 'sync'} answers`
    assert.ok(most > budget / 2, `${label}: the server did answer (${most} bytes queued)`)
    assert.ok(most <= 5 * budget, `${label}: ${most} bytes queued for a budget of ${budget}`)
    socket.destroy()
    await server.close()
  }
})

test('an incomplete datagram does not cut its sender off: the next datagram from that port is served', async () => {
  const server = rpc.createUdpServer({ add: (a, b) => a + b })
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address()
  const raw = dgram.createSocket('udp4')
  await new Promise((resolve) => raw.bind(0, '127.0.0.1', resolve))
  const answers = []
  raw.on('message', (m) => answers.push(messages(m)[0]))
  try {
    for (const partial of ['9d', '94dc0006', '9302a46563686f919f']) {
      raw.send(Buffer.from(partial, 'hex'), port, '127.0.0.1')
    }
    raw.send(frame([0, 7, 'add', [2, 3]]), port, '127.0.0.1')
    await until(() => answers.length === 1, 'the answer from the same source port')
    assert.deepEqual(answers[0], [1, 7, null, 5])
  } finally {
    raw.close()
    await server.close()
  }
})

test('attach(): a peer that half-closes still gets its asynchronous answers', async () => {
  const plain = net.createServer({ allowHalfOpen: true }, (socket) => {
    rpc.attach(socket, { later: () => new Promise((resolve) => setTimeout(() => resolve('async'), 50)), now: () => 'sync' })
  })
  await new Promise((resolve) => plain.listen(0, '127.0.0.1', resolve))
  const socket = net.connect({ port: plain.address().port, host: '127.0.0.1', allowHalfOpen: true })
  await once(socket, 'connect')
  const chunks = []
  socket.on('data', (c) => chunks.push(c))
  socket.end(Buffer.concat([frame([0, 1, 'later', []]), frame([0, 2, 'now', []])]))
  await once(socket, 'end')
  const answers = messages(Buffer.concat(chunks)).sort((x, y) => x[1] - y[1])
  assert.deepEqual(answers, [
    [1, 1, null, 'async'],
    [1, 2, null, 'sync'],
  ])
  socket.destroy()
  plain.close()
})
