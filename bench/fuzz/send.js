'use strict'
// Delivering one input to the target: over a fresh TCP connection (in one
// write, in chunks, or byte by byte; then a half-close, a linger or a reset),
// or as one UDP datagram. Every wait has a timeout; every socket is closed
// before the returned Promise settles.

const dgram = require('node:dgram')
const net = require('node:net')
const { encode, decode } = require('@msgpack/msgpack')

/** Longest a stream delivery may take before its socket is destroyed. */
const HARD_MS = 3000
/** A connection with no reply for this long after the last write is done. */
const QUIET_MS = 40
/** After a half-close, how long to wait for the server to answer and close. */
const END_MS = 200
/** Read at most this much back per connection. */
const MAX_READ = 4 * 1024 * 1024
/** The largest UDP payload over IPv4. */
const MAX_DATAGRAM = 65507
/** A datagram with no reply within this is done (notifications get none). */
const DATAGRAM_WAIT_MS = 5
/** A UDP source port serves this many datagrams, then a new one (a new peer) takes over. */
const DATAGRAMS_PER_PORT = 256
/** A peer probe waits this long for its answer, and tries this many times (a datagram can be lost). */
const PROBE_WAIT_MS = 300
const PROBE_TRIES = 3

/**
 * How to deliver `len` bytes over a stream: `{ mode, chunks, close }`.
 * @param {import('./rng').Rng} rng
 */
function streamPlan(rng, len) {
  let mode = rng.weighted([[60, 'single'], [25, 'chunked'], [15, 'bytewise']])
  if (mode === 'bytewise' && len > 512) mode = 'chunked'
  const chunks = []
  if (mode === 'chunked') {
    for (let left = len; left > 0 && chunks.length < 256; ) {
      const n = Math.min(left, rng.range(1, Math.max(2, Math.ceil(len / 4))))
      chunks.push(n)
      left -= n
    }
  }
  return { mode, chunks, close: rng.weighted([[50, 'end'], [35, 'linger'], [15, 'reset']]) }
}

function tick() {
  return new Promise((resolve) => setImmediate(resolve))
}

/**
 * Sends `bytes` on a new connection to 127.0.0.1:`port` following `plan`.
 * `live` (a Set) holds the socket while it is open, so it can be destroyed
 * from outside. Resolves with `{ received }` (bytes read back).
 */
function sendStream(port, bytes, plan, live) {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1')
    live.add(socket)
    let received = 0
    let done = false
    let idle
    const finish = () => {
      if (done) return
      done = true
      clearTimeout(idle)
      clearTimeout(hard)
      live.delete(socket)
      socket.destroy()
      resolve({ received })
    }
    const hard = setTimeout(finish, HARD_MS)
    const quiet = (ms) => {
      clearTimeout(idle)
      idle = setTimeout(finish, ms)
    }
    socket.on('error', finish)
    socket.on('close', finish)
    socket.on('data', (d) => {
      received += d.length
      if (received > MAX_READ) finish()
      else if (idle) quiet(QUIET_MS)
    })
    socket.once('connect', async () => {
      socket.setNoDelay(true)
      if (plan.mode === 'single') socket.write(bytes)
      else {
        const sizes = plan.mode === 'chunked' ? plan.chunks : Array(bytes.length).fill(1)
        let at = 0
        for (const n of sizes) {
          if (done) return
          socket.write(bytes.subarray(at, at + n))
          at += n
          await tick()
        }
        if (at < bytes.length && !done) socket.write(bytes.subarray(at))
      }
      if (done) return
      if (plan.close === 'end') {
        socket.end()
        quiet(END_MS)
      } else if (plan.close === 'linger') quiet(QUIET_MS)
      else socket.resetAndDestroy ? socket.resetAndDestroy() : finish()
    })
  })
}

let peers = 0
/** Probe msgids: far from the small ones the generator favours. */
let probeId = 0xa0000000

/** One UDP source port at a time, replaced every DATAGRAMS_PER_PORT sends. */
class DatagramSender {
  /**
   * @param {number} port the server's
   * @param {number} [perPort=DATAGRAMS_PER_PORT] datagrams before a new source port
   */
  constructor(port, perPort = DATAGRAMS_PER_PORT) {
    this.port = port
    this.perPort = perPort
    /** Which source port (a peer to the server) sent the last datagram: a number unique in this process. */
    this.peer = 0
    this._socket = undefined
    this._sent = 0
    this._onReply = undefined
    this._onProbeReply = undefined
  }

  _open() {
    const socket = dgram.createSocket('udp4')
    socket.on('error', () => {})
    socket.on('message', (msg) => {
      if (this._onProbeReply) this._onProbeReply(msg)
      if (this._onReply) this._onReply()
    })
    this._socket = socket
    this._sent = 0
    this.peer = ++peers
  }

  /** Sends one datagram; resolves on a reply or after a short wait. */
  send(bytes) {
    if (!this._socket || this._sent >= this.perPort) {
      this.close()
      this._open()
    }
    this._sent++
    const data = bytes.length > MAX_DATAGRAM ? bytes.subarray(0, MAX_DATAGRAM) : bytes
    return new Promise((resolve) => {
      let timer
      const done = () => {
        clearTimeout(timer)
        this._onReply = undefined
        resolve()
      }
      this._onReply = done
      this._socket.send(data, this.port, '127.0.0.1', (err) => {
        if (err) done()
        else timer = setTimeout(done, DATAGRAM_WAIT_MS)
      })
    })
  }

  /**
   * Calls `add` from the current source port, as a well-behaved peer would,
   * and resolves with whether a correct answer came (a few tries).
   */
  async probe() {
    if (!this._socket) this._open()
    for (let i = 0; i < PROBE_TRIES; i++) {
      if (await this._probeOnce()) return true
    }
    return false
  }

  _probeOnce() {
    const id = probeId++ >>> 0
    const a = id & 0xffff
    return new Promise((resolve) => {
      const done = (ok) => {
        clearTimeout(timer)
        this._onProbeReply = undefined
        resolve(ok)
      }
      const timer = setTimeout(() => done(false), PROBE_WAIT_MS)
      this._onProbeReply = (msg) => {
        let reply
        try {
          reply = decode(msg)
        } catch {
          return
        }
        if (Array.isArray(reply) && reply[0] === 1 && reply[1] === id) done(reply[2] === null && reply[3] === a + 1)
      }
      this._socket.send(encode([0, id, 'add', [a, 1]]), this.port, '127.0.0.1', (err) => {
        if (err) done(false)
      })
    })
  }

  close() {
    if (this._socket) {
      const s = this._socket
      this._socket = undefined
      try {
        s.close()
      } catch {}
    }
  }
}

module.exports = { streamPlan, sendStream, DatagramSender, MAX_DATAGRAM }
