'use strict'
// Hostile input against a server in a child process: garbage, truncation,
// huge headers, deep nesting, bad envelopes, churn, a client that never reads.
// Throughout, a well-behaved client keeps being served and memory stays bounded.
const test = require('node:test')
const assert = require('node:assert/strict')
const net = require('node:net')
const path = require('node:path')
const { spawn } = require('node:child_process')
const { encode, decodeMulti } = require('@msgpack/msgpack')
const { rpc, once } = require('./helpers')

let child, port, good, baseline

test.before(async () => {
  child = spawn(process.execPath, ['--expose-gc', path.join(__dirname, 'fixtures', 'hostile-target.js')], {
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  const [line] = await once(child.stdout, 'data')
  port = Number(String(line).trim())
  good = await rpc.connect(port, '127.0.0.1')
  good.setTimeout(10000)
  baseline = await good.invoke('stats')
})

test.after(async () => {
  if (good) await good.close()
  child.kill('SIGTERM')
  await once(child, 'exit')
})

async function stillServing() {
  assert.equal(child.exitCode, null, 'the server process is alive')
  assert.equal(await good.invoke('echo', 'still here'), 'still here')
}

/** Sends raw bytes; resolves with the decoded replies once the server closes or goes quiet. */
function sendRaw(bytes, { waitMs = 1000 } = {}) {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1')
    const chunks = []
    let closed = false
    socket.on('data', (d) => chunks.push(d))
    socket.on('error', () => {})
    socket.on('close', () => {
      closed = true
      finish()
    })
    const timer = setTimeout(finish, waitMs)
    function finish() {
      clearTimeout(timer)
      socket.destroy()
      let replies = []
      try {
        replies = [...decodeMulti(Buffer.concat(chunks))]
      } catch {}
      resolve({ closed, replies })
    }
    socket.on('connect', () => socket.write(bytes))
  })
}

test('garbage closes that connection only', async () => {
  const { closed } = await sendRaw(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'))
  assert.ok(closed)
  await stillServing()
})

test('the reserved byte and random bytes close the connection', async () => {
  assert.ok((await sendRaw(Buffer.from([0x94, 0x00, 0x01, 0xc1]))).closed)
  for (let i = 0; i < 20; i++) {
    const noise = Buffer.from(Array.from({ length: 64 }, (_, j) => (i * 131 + j * 71) & 0xff))
    noise[0] = 0x94
    await sendRaw(noise, { waitMs: 200 })
  }
  await stillServing()
})

test('a message truncated by the peer closing is dropped', async () => {
  const whole = Buffer.from(encode([0, 1, 'echo', ['x'.repeat(100)]]))
  const socket = net.connect(port, '127.0.0.1')
  await once(socket, 'connect')
  socket.end(whole.subarray(0, 50))
  await once(socket, 'close')
  await stillServing()
})

test('a 4 GiB length header is refused before anything is allocated', async () => {
  const { closed } = await sendRaw(Buffer.from([0x94, 0x00, 0x01, 0xa1, 0x78, 0x91, 0xdb, 0xff, 0xff, 0xff, 0xff, 0x61]))
  assert.ok(closed)
  const bin = await sendRaw(Buffer.from([0x94, 0x00, 0x01, 0xa1, 0x78, 0x91, 0xc6, 0xff, 0xff, 0xff, 0xff]))
  assert.ok(bin.closed)
  const array = await sendRaw(Buffer.from([0x94, 0x00, 0x01, 0xa1, 0x78, 0xdd, 0xff, 0xff, 0xff, 0xff]))
  assert.ok(array.closed)
  const stats = await good.invoke('stats')
  assert.ok(stats.rss - baseline.rss < 64 * 1024 * 1024, `rss grew by ${stats.rss - baseline.rss}`)
  await stillServing()
})

test('100 000 levels of nesting are refused', async () => {
  const deep = Buffer.concat([Buffer.from([0x94, 0x00, 0x01, 0xa1, 0x78]), Buffer.alloc(100000, 0x91), Buffer.from([0xc0])])
  assert.ok((await sendRaw(deep)).closed)
  await stillServing()
})

test('a request with a broken envelope gets an error response; other broken messages close', async () => {
  const bad = await sendRaw(Buffer.concat([encode([0, 3, 'echo', 'not array']), encode([0, 4, 'echo', ['ok']])]), { waitMs: 300 })
  assert.equal(bad.closed, false)
  assert.equal(bad.replies[0][1], 3)
  assert.match(bad.replies[0][2], /params array/)
  assert.deepEqual(bad.replies[1], [1, 4, null, 'ok'])
  for (const msg of [[5, 1, 2], [1, 'x', null, null], [0, -1, 'echo', []], [2, 7, []], 'just a string', [], [0, 1, 2, 3, 4]]) {
    assert.ok((await sendRaw(encode(msg))).closed, JSON.stringify(msg))
  }
  await stillServing()
})

test('responses with unknown msgids do not crash the server', async () => {
  const { closed } = await sendRaw(Buffer.concat([encode([1, 9999, null, 1]), encode([1, 0, 'err', null])]), { waitMs: 200 })
  assert.equal(closed, false)
  await stillServing()
})

test('1000 abrupt connects and disconnects leave nothing behind', async () => {
  let left = 1000
  async function worker() {
    while (left-- > 0) {
      await new Promise((resolve) => {
        const s = net.connect(port, '127.0.0.1')
        s.on('error', resolve)
        s.on('connect', () => {
          if (left % 3 === 0) s.write(Buffer.from([0x94, 0x00]))
          s.destroy()
          resolve()
        })
      })
    }
  }
  await Promise.all(Array.from({ length: 25 }, worker))
  await stillServing()
  // Connections drain away; fds return close to where they were.
  let stats
  for (let i = 0; i < 100; i++) {
    stats = await good.invoke('stats')
    if (stats.connections <= 1 && stats.fds <= baseline.fds + 5) break
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  assert.ok(stats.connections <= 1, `connections: ${stats.connections}`)
  assert.ok(stats.fds <= baseline.fds + 5, `fds ${baseline.fds} -> ${stats.fds}`)
})

test('a client that never reads cannot grow the server memory', async () => {
  const socket = net.connect(port, '127.0.0.1')
  await once(socket, 'connect')
  socket.pause() // never read the replies
  const payload = 'x'.repeat(512 * 1024)
  const request = (i) => Buffer.from(encode([0, i, 'echo', [payload]]))
  // 300 × 512 KiB = 150 MiB of replies the server would have to hold.
  for (let i = 0; i < 300; i++) socket.write(request(i))
  await new Promise((resolve) => setTimeout(resolve, 1500))
  await stillServing()
  const stats = await good.invoke('stats')
  const growth = stats.rss - baseline.rss
  assert.ok(growth < 100 * 1024 * 1024, `server rss grew by ${(growth / 1048576).toFixed(1)} MiB`)
  socket.destroy()
})
