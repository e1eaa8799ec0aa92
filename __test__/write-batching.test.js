'use strict'
// When the messages encoded during one tick are written: at the tick's end,
// or earlier once the batch is large, so the peer can start on it while the
// rest is encoded. The peer is a plain TCP server on a worker thread that
// counts what it receives while this thread is still inside the tick
// (blocked in Atomics.wait, bounded).
const test = require('node:test')
const assert = require('node:assert/strict')
const { Worker } = require('node:worker_threads')
const { decodeMulti } = require('@msgpack/msgpack')
const { rpc, closeAll } = require('./helpers')

const PEER = `
const net = require('node:net')
const { parentPort, workerData } = require('node:worker_threads')
const received = new Int32Array(workerData.shared)
const chunks = []
const server = net.createServer((socket) => {
  socket.on('data', (chunk) => {
    chunks.push(chunk)
    Atomics.add(received, 0, chunk.length)
    Atomics.notify(received, 0)
  })
  socket.on('error', () => {})
})
server.listen(0, '127.0.0.1', () => parentPort.postMessage({ port: server.address().port }))
parentPort.on('message', () => parentPort.postMessage({ bytes: Buffer.concat(chunks) }))
`

/** A peer on a worker thread; `received[0]` counts the bytes it has read. */
async function startPeer() {
  const shared = new SharedArrayBuffer(4)
  const worker = new Worker(PEER, { eval: true, workerData: { shared } })
  const { port } = await new Promise((resolve, reject) => {
    worker.once('message', resolve)
    worker.once('error', reject)
  })
  return { worker, port, received: new Int32Array(shared) }
}

/** Every byte the peer has read so far. */
function peerBytes(peer) {
  return new Promise((resolve) => {
    peer.worker.once('message', (m) => resolve(Buffer.from(m.bytes)))
    peer.worker.postMessage('bytes')
  })
}

/** Waits until the peer has read `n` bytes (bounded). */
async function peerHas(peer, n) {
  for (let i = 0; i < 500 && Atomics.load(peer.received, 0) < n; i++) await new Promise((resolve) => setTimeout(resolve, 10))
  assert.equal(Atomics.load(peer.received, 0), n)
}

test('a burst of large messages starts reaching the peer before the tick that encoded it ends', async () => {
  const peer = await startPeer()
  const client = await rpc.connect({ port: peer.port, host: '127.0.0.1' })
  try {
    // 20 notifications of 1 KiB: far fewer than the messages that force a
    // write, but more bytes than one write waits for.
    const text = 'y'.repeat(1024)
    const bodies = []
    for (let i = 0; i < 20; i++) {
      client.notify('blob', i, text)
      bodies.push(['blob', [i, text]])
    }
    // Still inside the tick: block this thread until the peer reads something.
    Atomics.wait(peer.received, 0, 0, 5000)
    const early = Atomics.load(peer.received, 0)
    assert.ok(early > 0, 'the peer received nothing before the tick ended')
    // After the tick, the rest follows, every message whole and in order.
    const total = bodies.reduce((n, [m, p]) => n + rpc.encode([2, m, p]).length, 0)
    await peerHas(peer, total)
    assert.ok(early < total, `the first write held all ${total} bytes`)
    const messages = [...decodeMulti(await peerBytes(peer))]
    assert.deepEqual(
      messages,
      bodies.map(([m, p]) => [2, m, p])
    )
  } finally {
    await closeAll(client)
    await peer.worker.terminate()
  }
})

test('small messages encoded in one tick still leave together at its end', async () => {
  const peer = await startPeer()
  const client = await rpc.connect({ port: peer.port, host: '127.0.0.1' })
  try {
    const bodies = []
    for (let i = 0; i < 20; i++) {
      client.notify('note', i)
      bodies.push([2, 'note', [i]])
    }
    // Nothing is written before the tick ends, however long it lasts.
    Atomics.wait(peer.received, 0, 0, 100)
    assert.equal(Atomics.load(peer.received, 0), 0)
    const total = bodies.reduce((n, b) => n + rpc.encode(b).length, 0)
    await peerHas(peer, total)
    assert.deepEqual([...decodeMulti(await peerBytes(peer))], bodies)
  } finally {
    await closeAll(client)
    await peer.worker.terminate()
  }
})
