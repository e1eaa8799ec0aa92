'use strict'
// The native connection's contract with the JS layer, tested through the
// internal binding: write() reports the bytes still waiting, the MESSAGES
// callback can pause delivery until resumeReading(), and the peer ending its
// side leaves ours open for answers still owed.
const test = require('node:test')
const assert = require('node:assert/strict')
const net = require('node:net')
const { encode, decodeMulti } = require('@msgpack/msgpack')
const binding = require('../lib/binding')
const { rpc, listen, once } = require('./helpers')

/**
 * A bare NativeServer on 127.0.0.1:0. `onConnection(conn)` gets each accepted
 * NativeConnection (not started). Resolves with { port, close }.
 */
function nativeServer(onConnection, options = {}) {
  const closed = new Promise((resolve) => {
    const server = binding.native.NativeServer.listen({ host: '127.0.0.1', port: 0 }, undefined, options, (kind, payload) => {
      if (kind === binding.CONNECTION) onConnection(payload)
      else if (kind === binding.CLOSE) resolve()
    })
    nativeServer.last = server
  })
  const server = nativeServer.last
  return {
    port: server.address().localPort,
    close: () => {
      server.close()
      return closed
    },
  }
}

function connectRaw(port) {
  const socket = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true })
  return once(socket, 'connect').then(() => socket)
}

test('the MESSAGES callback returning true pauses delivery until resumeReading()', async () => {
  // Three notifications of 40 KiB: more than one read batch (64 KiB) holds.
  const notes = [1, 2, 3].map((i) => encode([2, 'n', [i, Buffer.alloc(40 * 1024, i)]]))
  const batches = [] // for each delivery: the messages, and how many resumes preceded it
  let ended = false
  let conn
  let resumes = 0
  let closed
  const done = new Promise((resolve) => (closed = resolve))
  const server = nativeServer((c) => {
    conn = c
    conn.start((kind, payload, length) => {
      if (kind === binding.MESSAGES) {
        assert.equal(ended, false, 'no message after the end')
        const bytes = payload.subarray(0, length === undefined ? payload.length : length)
        batches.push({ after: resumes, messages: [...decodeMulti(bytes)].map((m) => m[2][0]) })
        // Pause after every batch; resume on a later turn of the loop.
        setImmediate(() => {
          resumes++
          conn.resumeReading()
        })
        return true
      }
      if (kind === binding.END) {
        ended = true
        conn.end()
      }
      if (kind === binding.CLOSE) {
        conn.dispose()
        closed()
      }
      return undefined
    })
  })
  const socket = await connectRaw(server.port)
  try {
    socket.end(Buffer.concat(notes))
    await done
    assert.equal(ended, true)
    assert.deepEqual(batches.flatMap((b) => b.messages), [1, 2, 3])
    // Batch k comes after exactly k resumes: nothing was delivered while paused.
    assert.deepEqual(
      batches.map((b) => b.after),
      batches.map((_, k) => k),
    )
  } finally {
    socket.destroy()
    await server.close()
  }
})

test('a drain does not resume a reader that JavaScript paused', async () => {
  const seen = []
  let conn
  let drained
  const drain = new Promise((resolve) => (drained = resolve))
  // The outbox is over maxQueuedReplies after the first message, so the
  // core pauses reading too, and resumes it on the drain.
  const server = nativeServer(
    (c) => {
      conn = c
      conn.start((kind, payload, length) => {
        if (kind === binding.MESSAGES) {
          const bytes = payload.subarray(0, length === undefined ? payload.length : length)
          for (const m of decodeMulti(bytes)) seen.push(m[2][0])
          if (seen.length === 1) conn.write(Buffer.alloc(4 * 1024 * 1024))
          return true
        }
        if (kind === binding.DRAIN) drained()
        if (kind === binding.CLOSE) conn.dispose()
        return undefined
      })
    },
    { maxQueuedReplies: 1024, highWaterMark: 1024 },
  )
  const socket = await connectRaw(server.port)
  try {
    socket.pause()
    socket.write(encode([2, 'n', [1]]))
    for (let i = 0; i < 500 && seen.length === 0; i++) await new Promise((r) => setTimeout(r, 2))
    assert.deepEqual(seen, [1])
    socket.write(encode([2, 'n', [2]]))
    socket.resume() // read the 4 MiB: the outbox drains
    await drain
    // Give a wrongly resumed reader the chance to deliver.
    await new Promise((r) => setTimeout(r, 50))
    assert.deepEqual(seen, [1], 'nothing delivered while JavaScript has delivery paused')
    conn.resumeReading()
    for (let i = 0; i < 500 && seen.length < 2; i++) await new Promise((r) => setTimeout(r, 2))
    assert.deepEqual(seen, [1, 2])
  } finally {
    socket.destroy()
    // Paused by JavaScript, the reader does not poll, so it would not see the
    // peer go: close it ourselves.
    if (conn) conn.destroy()
    await server.close()
  }
})

test('write() returns the bytes still waiting to be written, and -1 once ended', async () => {
  let conn
  let accepted
  const started = new Promise((resolve) => (accepted = resolve))
  const server = nativeServer((c) => {
    conn = c
    conn.start((kind) => {
      if (kind === binding.CLOSE) conn.dispose()
    })
    accepted()
  })
  const socket = await connectRaw(server.port)
  try {
    await started
    // The peer reads nothing: the kernel buffers fill, then our queue grows.
    const chunk = Buffer.alloc(256 * 1024)
    let pending = 0
    for (let i = 0; i < 64 && pending === 0; i++) pending = conn.write(chunk)
    assert.ok(pending > 0, 'something is queued once the socket is full')
    const more = conn.write(chunk)
    assert.ok(more >= pending + chunk.length - 1, `the queue grows by what was written (${pending} -> ${more})`)
    // The writer task may have written some of it since (the kernel takes more as it can).
    const now = conn.pendingBytes()
    assert.ok(now > 0 && now <= more, `pendingBytes() ${now} is what write() reported or less (${more})`)
    conn.end()
    assert.equal(conn.write(chunk), -1)
  } finally {
    socket.destroy()
    await server.close()
  }
})

test('a peer that sends two requests and ends its side still gets both answers', async () => {
  const server = rpc.createServer()
  server.setHandler({
    now(response) {
      response.result('sync')
    },
    later(response) {
      setTimeout(() => response.result('async'), 20)
    },
  })
  const port = await listen(server)
  const socket = await connectRaw(port)
  try {
    const chunks = []
    socket.on('data', (c) => chunks.push(c))
    socket.end(Buffer.concat([encode([0, 1, 'now', []]), encode([0, 2, 'later', []])]))
    // The server ends its side once both are answered.
    await once(socket, 'end')
    const replies = [...decodeMulti(Buffer.concat(chunks))]
    assert.deepEqual(replies, [
      [1, 1, null, 'sync'],
      [1, 2, null, 'async'],
    ])
  } finally {
    socket.destroy()
    await server.close()
  }
})
