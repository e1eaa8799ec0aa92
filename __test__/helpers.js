'use strict'
// Shared test helpers (not a test file: node --test runs *.test.js only).

const os = require('node:os')
const path = require('node:path')
const fs = require('node:fs')
const net = require('node:net')
const { spawn } = require('node:child_process')
const { decodeMulti } = require('@msgpack/msgpack')
const rpc = require('..')

let socketCounter = 0

/** A fresh unix socket path under the OS temp dir. */
function socketPath(name = 'rpc') {
  return path.join(os.tmpdir(), `msgpack-rpc-${process.pid}-${name}-${socketCounter++}.sock`)
}

/** Listens on 127.0.0.1:0; resolves with the server and its port. */
function listen(server) {
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      server.removeListener('error', reject)
      resolve(server.address().port)
    })
  })
}

/** A TCP port on 127.0.0.1 nothing listens on (it was free a moment ago). */
async function freePort() {
  const s = net.createServer()
  await new Promise((resolve) => s.listen(0, '127.0.0.1', resolve))
  const { port } = s.address()
  await new Promise((resolve) => s.close(resolve))
  return port
}

/** Resolves with the arguments of the next `event` on `emitter`. */
function once(emitter, event) {
  return new Promise((resolve) => emitter.once(event, (...args) => resolve(args)))
}

/** A callback-style invoke as a Promise of [err, result]. */
function invokeCb(client, method, ...params) {
  return new Promise((resolve) => client.invoke(method, ...params, (err, result) => resolve([err, result])))
}

/** Closes servers and clients, ignoring ones already closed. */
async function closeAll(...things) {
  for (const t of things) {
    if (!t) continue
    if (t instanceof rpc.Server) {
      if (t.listening) await t.close()
    } else if (!t.closed) {
      await t.close()
    }
  }
}

function removeSocket(p) {
  try {
    fs.unlinkSync(p)
  } catch {}
}

/** A raw TCP socket that collects the messages it receives, decoded: `next()` waits for the next one. */
async function rawClient(port) {
  const socket = net.connect(port, '127.0.0.1')
  socket.setNoDelay(true)
  await once(socket, 'connect')
  let buffered = Buffer.alloc(0)
  const messages = []
  let waiter
  socket.on('data', (chunk) => {
    buffered = Buffer.concat([buffered, chunk])
    // Decode what is complete; keep the rest.
    try {
      for (const m of decodeMulti(buffered)) messages.push(m)
      buffered = Buffer.alloc(0)
    } catch {}
    if (waiter) waiter()
  })
  return {
    socket,
    messages,
    async next() {
      while (messages.length === 0) await new Promise((resolve) => (waiter = resolve))
      return messages.shift()
    },
  }
}

/** A seeded generator (mulberry32), so a fuzz failure names a case that can be replayed. */
function prng(seed) {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/**
 * A fresh instance of lib/codec.js and its key-sequence tree, which has
 * learnt nothing: the plain paths, the oracle the learnt paths must agree
 * with. The loaded modules are left as they were.
 */
function unlearntCodec() {
  const ids = [require.resolve('../lib/codec'), require.resolve('../lib/key-shapes')]
  const saved = ids.map((id) => require.cache[id])
  for (const id of ids) delete require.cache[id]
  try {
    return require('../lib/codec')
  } finally {
    ids.forEach((id, i) => (require.cache[id] = saved[i]))
  }
}

/**
 * A listener whose accept queue is full: a child process listens with a
 * backlog of 1, then blocks its event loop (it never accepts), and a few
 * plain connects fill the queue. Further SYNs are dropped, so a connect to
 * it stays under way. (A non-routable address is no good here: this
 * machine's network may answer every connect.)
 */
async function stalledListener() {
  const child = spawn(
    process.execPath,
    ['-e', "const s = require('net').createServer().listen({ port: 0, host: '127.0.0.1', backlog: 1 }, () => { process.stdout.write(s.address().port + '\\n', () => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0)) })"],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  )
  const exited = new Promise((resolve) => child.once('exit', resolve))
  const port = await new Promise((resolve, reject) => {
    child.stdout.once('data', (d) => resolve(Number(String(d).trim())))
    child.once('exit', () => reject(new Error('the listener child exited')))
  })
  const fillers = []
  for (let i = 0; i < 8; i++) {
    const socket = net.connect(port, '127.0.0.1')
    socket.on('error', () => {})
    fillers.push(socket)
  }
  // The fillers' connects complete (into the queue) or stay pending; either way the queue is full.
  await Promise.race([Promise.all(fillers.map((f) => new Promise((resolve) => f.once('connect', resolve)))), new Promise((r) => setTimeout(r, 500))])
  return {
    port,
    async close() {
      for (const f of fillers) f.destroy()
      child.kill()
      await exited
    },
  }
}

module.exports = { stalledListener, rawClient, rpc, socketPath, listen, once, invokeCb, closeAll, removeSocket, freePort, prng, unlearntCodec }
