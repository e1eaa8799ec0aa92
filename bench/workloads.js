'use strict'
// Workloads shared by every JavaScript implementation; each checks every
// reply and returns { ops, seconds, bytes?, p50?, p99? }.

/** Listens a net.Server on `target` (a unix path, or 127.0.0.1:0); resolves with { address, close }. */
exports.listenNet = async (server, target) => {
  await new Promise((resolve) => server.listen(target.path ? target.path : { port: 0, host: '127.0.0.1' }, resolve))
  const address = server.address()
  return { address: typeof address === 'string' ? { path: address } : { port: address.port }, close: () => new Promise((r) => server.close(r)) }
}

/** A connected net.Socket to `target`, Nagle off. */
exports.connectNet = async (target) => {
  const net = require('node:net')
  const socket = net.connect(target.path ? { path: target.path } : { port: target.port, host: '127.0.0.1' })
  await new Promise((resolve, reject) => socket.once('connect', resolve).once('error', reject))
  socket.setNoDelay(true)
  return socket
}

/** The server-side state every implementation shares: the notification counter. */
exports.handlers = () => {
  let notes = 0
  return { note: () => notes++, count: () => notes }
}

function nestedObject(id) {
  const o = { id }
  for (let i = 1; i < 20; i++) o[`field${i}`] = i % 3 === 0 ? `value ${i}` : i % 3 === 1 ? i * 1.5 : { inner: [i, i + 1], flag: true }
  return o
}

function check(ok, what) {
  if (!ok) throw new Error(`wrong reply: ${what}`)
}

/** Keeps `inFlight` calls going on every connection until `seconds` pass. */
async function closedLoop(conns, inFlight, seconds, makeCall) {
  // A timer flag, not a clock read per call: the harness should cost little.
  let running = true
  const timer = setTimeout(() => (running = false), seconds * 1000)
  let ops = 0
  let bytes = 0
  const start = process.hrtime.bigint()
  async function worker(conn, w) {
    let i = w * 1000003
    while (running) {
      // (`bytes += await …` would read `bytes` before the await and lose updates.)
      const n = await makeCall(conn, i++)
      bytes += n
      ops++
    }
  }
  await Promise.all(conns.flatMap((conn) => Array.from({ length: inFlight }, (_, w) => worker(conn, w))))
  clearTimeout(timer)
  return { ops, bytes, seconds: Number(process.hrtime.bigint() - start) / 1e9 }
}

const add = async (c, i) => {
  const r = await c.call('add', [i, 1])
  check(r === i + 1, `add(${i}, 1) = ${r}`)
  return 0
}

const text = 'x'.repeat(1023) + '!'
const blob = Buffer.alloc(64 * 1024)
for (let i = 0; i < blob.length; i++) blob[i] = (i * 31) & 0xff

exports.workloads = {
  /** 1 call in flight: latency. */
  async pingpong(conns, seconds) {
    const c = conns[0]
    const samples = []
    const deadline = process.hrtime.bigint() + BigInt(Math.round(seconds * 1e9))
    const start = process.hrtime.bigint()
    let i = 0
    for (;;) {
      const t0 = process.hrtime.bigint()
      if (t0 >= deadline) break
      const r = await c.call('add', [i, 1])
      check(r === i + 1, 'add')
      samples.push(Number(process.hrtime.bigint() - t0) / 1000)
      i++
    }
    samples.sort((a, b) => a - b)
    return {
      ops: i,
      seconds: Number(process.hrtime.bigint() - start) / 1e9,
      p50: samples[samples.length >> 1],
      p99: samples[Math.floor(samples.length * 0.99)],
    }
  },
  pipelined: (conns, seconds) => closedLoop(conns, 256, seconds, add),
  echo1k: (conns, seconds) =>
    closedLoop(conns, 64, seconds, async (c) => {
      const r = await c.call('echo', [text])
      check(r === text, 'echo 1 KiB string')
      return text.length
    }),
  echo64k: (conns, seconds) =>
    closedLoop(conns, 16, seconds, async (c) => {
      const r = await c.call('echo', [blob])
      check(r.length === blob.length && Buffer.compare(r, blob) === 0, 'echo 64 KiB Buffer')
      return blob.length
    }),
  object: (conns, seconds) =>
    closedLoop(conns, 64, seconds, async (c, i) => {
      const o = nestedObject(i)
      const r = await c.call('echo', [o])
      check(r.id === i && r.field2.inner[1] === 3 && r.field19 === 28.5 && r.field3 === 'value 3' && Object.keys(r).length === 20, 'echo object')
      return 0
    }),
  /** Notifications as fast as they go, then one call to read the server's count. */
  async notify(conns, seconds) {
    const c = conns[0]
    const before = await c.call('count', [])
    const start = process.hrtime.bigint()
    const deadline = start + BigInt(Math.round(seconds * 1e9))
    let sent = 0
    while (process.hrtime.bigint() < deadline) {
      for (let i = 0; i < 1000; i++) c.notify('note', [i])
      sent += 1000
      // Yield so the batch is written (and a real flood stays bounded).
      await new Promise((resolve) => setImmediate(resolve))
    }
    const after = await c.call('count', [])
    check(after - before === sent, `server counted ${after - before} of ${sent} notifications`)
    return { ops: sent, seconds: Number(process.hrtime.bigint() - start) / 1e9 }
  },
  conns32: (conns, seconds) => closedLoop(conns, 16, seconds, add),
}

exports.connectionsFor = (workload) => (workload === 'conns32' ? 32 : 1)
