'use strict'
// The per-thread poller reports a socket once per change of readiness
// (edge-triggered): these check that nothing the peer sent is left unread
// when readiness came while the reader was paused (backpressure, the reply
// budget), when a read stopped at its budget, or when the end came with or
// after the data.
const test = require('node:test')
const assert = require('node:assert/strict')
const net = require('node:net')
const { encode, decodeMulti } = require('@msgpack/msgpack')
const { rpc, listen, socketPath, removeSocket, closeAll } = require('./helpers')

/**
 * Collects the messages a raw socket receives until the server closes it,
 * or until nothing has arrived for STALL_MS (a stalled connection: the
 * socket is destroyed so the test ends and reports what arrived).
 */
const STALL_MS = 3000
function collect(socket) {
  const chunks = []
  let last = Date.now()
  socket.on('data', (c) => {
    chunks.push(c)
    last = Date.now()
  })
  return new Promise((resolve, reject) => {
    const watch = setInterval(() => {
      if (Date.now() - last > STALL_MS) socket.destroy()
    }, 250)
    socket.on('error', reject)
    socket.on('close', () => {
      clearInterval(watch)
      resolve([...decodeMulti(Buffer.concat(chunks))])
    })
  })
}

/** Sends `count` requests of `method` with `param` and half-closes; resolves with the answers. */
async function pipelined(connectTo, { count, param, method = 'echo', pauseFirst = false }) {
  const socket = net.connect(connectTo)
  await new Promise((resolve, reject) => socket.once('connect', resolve).once('error', reject))
  if (pauseFirst) socket.pause()
  const answers = collect(socket)
  const frames = []
  for (let i = 0; i < count; i++) frames.push(encode([0, i, method, [param]]))
  socket.end(Buffer.concat(frames))
  if (pauseFirst) {
    // Lets the server fill its outbox and stop reading before this reads.
    for (let i = 0; i < 20; i++) await new Promise((r) => setTimeout(r, 5))
    socket.resume()
  }
  return answers
}

function checkAnswers(answers, count, param) {
  assert.equal(answers.length, count, `${answers.length} of ${count} answers`)
  const ids = new Set()
  for (const [type, id, error, result] of answers) {
    assert.equal(type, 1)
    assert.equal(error, null)
    assert.equal(result.length, param.length)
    ids.add(id)
  }
  assert.equal(ids.size, count)
}

const cases = [
  { name: 'sync handlers, small requests', handler: (x) => x, count: 3000, size: 1000 },
  // Stalled before 33ed6ef (and in 07a67d2): a resumeReading() from the
  // nextTick queue napi_make_callback drains inside the MESSAGES call was
  // dropped, then the call's `true` paused delivery for good.
  { name: 'async handlers, small requests', handler: async (x) => x, count: 3000, size: 1000 },
  { name: 'sync handlers, requests over the read budget', handler: (x) => x, count: 6, size: 600 * 1024 },
  { name: 'async handlers, requests over the read budget', handler: async (x) => x, count: 6, size: 600 * 1024 },
]

for (const transport of ['tcp', 'unix']) {
  for (const c of cases) {
    for (const pauseFirst of [false, true]) {
      const reading = pauseFirst ? 'a peer that reads late' : 'a peer that reads at once'
      test(`over ${transport}, ${c.name}, a small maxQueuedReplies and ${reading}: every pipelined request before the peer's end is answered`, { timeout: 60000 }, async () => {
        const server = rpc.createServer({ echo: c.handler }, { maxQueuedReplies: 16 * 1024 })
        let path
        let connectTo
        try {
          if (transport === 'tcp') {
            connectTo = { port: await listen(server), host: '127.0.0.1' }
          } else {
            path = socketPath('poller-wake')
            await new Promise((resolve) => server.listen(path, resolve))
            connectTo = { path }
          }
          const param = 'p'.repeat(c.size)
          const answers = await pipelined(connectTo, { count: c.count, param, pauseFirst })
          checkAnswers(answers, c.count, param)
        } finally {
          await closeAll(server)
          if (path) removeSocket(path)
        }
      })
    }
  }
}

test('a native client sending messages larger than the read budget back to back gets each one echoed', { timeout: 60000 }, async () => {
  const server = rpc.createServer({ echo: (x) => x })
  const port = await listen(server)
  const client = await rpc.connect(port, '127.0.0.1')
  try {
    const sizes = [300 * 1024, 256 * 1024, 256 * 1024 + 1, 1024 * 1024, 5, 3 * 1024 * 1024]
    const replies = await Promise.all(sizes.map((n) => client.invoke('echo', 'q'.repeat(n))))
    assert.deepEqual(replies.map((r) => r.length), sizes)
  } finally {
    await closeAll(client, server)
  }
})

test('notifications written together with the end all arrive before the server sees the end', { timeout: 60000 }, async () => {
  for (let round = 0; round < 50; round++) {
    const seen = []
    const server = rpc.createServer({})
    let ended
    const done = new Promise((resolve) => (ended = resolve))
    server.on('connection', (stream) => {
      stream.on('notify', (method, params) => seen.push(params[0]))
      stream.on('close', () => ended())
    })
    const port = await listen(server)
    try {
      const socket = net.connect(port, '127.0.0.1')
      await new Promise((resolve) => socket.once('connect', resolve))
      const count = 1 + (round % 10) * 37
      const frames = []
      for (let i = 0; i < count; i++) frames.push(encode([2, 'n', [i]]))
      socket.end(Buffer.concat(frames))
      await done
      assert.deepEqual(seen, Array.from({ length: count }, (_, i) => i), `round ${round}`)
      socket.destroy()
    } finally {
      await closeAll(server)
    }
  }
})
