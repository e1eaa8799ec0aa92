'use strict'
// The poller's registrations are edge-triggered and a read shorter than
// the room it was given is taken to mean "socket empty". A read also stops
// short with more bytes queued behind: at an urgent-data mark (TCP, and
// unix sockets since Linux 5.15), and after a unix socket message that
// carried descriptors. Those bytes must still be read, though no new
// readiness will come for them.
const test = require('node:test')
const assert = require('node:assert/strict')
const path = require('node:path')
const { execFile, execFileSync } = require('node:child_process')
const { rpc, listen, socketPath, removeSocket, closeAll } = require('./helpers')

function pythonSkip() {
  try {
    execFileSync('python3', ['-c', 'import socket; socket.TCP_CORK; socket.MSG_OOB'], { stdio: 'ignore' })
    return false
  } catch (err) {
    return `python3 with TCP_CORK and MSG_OOB unavailable (${err.message.split('\n')[0]})`
  }
}

const skip = process.platform !== 'linux' ? 'TCP_CORK is Linux only' : pythonSkip()

// Known bug (not in 07a67d2, whose libuv poll handles were level-triggered):
// src/reader.rs `fill` returns Filled::Empty on a short read, which the
// kernel gives at those points; src/js/uv_reader.rs then clears `readable` and, with
// an edge-triggered registration (src/js/poller.rs), nothing reads the
// request behind the mark until the peer sends more.
/** Runs the fixture against `target` (a port or a unix socket path). */
function urgentPeer(target) {
  return new Promise((resolve, reject) =>
    execFile('python3', [path.join(__dirname, 'fixtures', 'poller-urgent.py'), String(target)], { timeout: 40000 }, (err, stdout, stderr) =>
      err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(JSON.parse(stdout.trim())),
    ),
  )
}

const handlers = {
  echo: (x) => x,
  // Holds this thread (bounded) while the peer queues the rest.
  block: () => {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 300)
    return 0
  },
}

test('requests queued behind a TCP urgent-data mark are read and answered', { skip, timeout: 60000 }, async () => {
  const server = rpc.createServer(handlers)
  const port = await listen(server)
  try {
    // Three answers of 5 bytes on each of the 5 connections.
    assert.deepEqual(await urgentPeer(port), [15, 15, 15, 15, 15])
  } finally {
    await closeAll(server)
  }
})

// Unix sockets carry out-of-band data since Linux 5.15; before, the fixture says "unsupported".
test('requests queued behind a unix socket out-of-band mark are read and answered', { skip, timeout: 60000 }, async (t) => {
  const server = rpc.createServer(handlers)
  const file = socketPath('poller-urgent')
  await new Promise((resolve) => server.listen(file, resolve))
  try {
    const results = await urgentPeer(file)
    if (results === 'unsupported') return t.skip('no out-of-band data on unix sockets here')
    assert.deepEqual(results, [15, 15, 15, 15, 15])
  } finally {
    await closeAll(server)
    removeSocket(file)
  }
})

test('requests queued behind a unix socket message that carried a descriptor are read and answered', { skip, timeout: 60000 }, async () => {
  const server = rpc.createServer(handlers)
  const file = socketPath('poller-fds')
  await new Promise((resolve) => server.listen(file, resolve))
  try {
    assert.deepEqual(await urgentPeer(`fds:${file}`), [15, 15, 15, 15, 15])
  } finally {
    await closeAll(server)
    removeSocket(file)
  }
})
