'use strict'
// The Tokio runtime thread starts only when a connection needs it: a write
// the socket cannot take at once, or a host name to resolve. Connections
// that accept, connect to an IP and answer never start it (a thread and its
// memory fewer). Linux: threads are read from /proc.
const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const net = require('node:net')
const { rpc, listen, once } = require('./helpers')

const linux = process.platform === 'linux'

/** Whether this process has a thread named like the runtime's workers. */
function runtimeStarted() {
  return fs.readdirSync('/proc/self/task').some((t) => {
    try {
      return fs.readFileSync(`/proc/self/task/${t}/comm`, 'utf8').startsWith('msgpack-rpc')
    } catch {
      return false
    }
  })
}

test('accepting, connecting to an IP and answering calls start no runtime thread; a write backlog does', { skip: !linux }, async () => {
  const big = Buffer.alloc(8 * 1024 * 1024, 7)
  const server = rpc.createServer({
    add: (a, b, res) => res.result(a + b),
    big: (res) => res.result(big),
  })
  const port = await listen(server)
  const client = await rpc.connect({ host: '127.0.0.1', port })
  let raw
  try {
    assert.equal(await client.request('add', [1, 2]), 3)
    assert.equal(runtimeStarted(), false, 'no runtime thread for plain calls')
    // A peer that does not read: the 8 MiB reply cannot all be written at
    // once, so a writer task waits for room on the runtime.
    raw = net.connect(port, '127.0.0.1')
    await once(raw, 'connect')
    raw.pause()
    raw.write(Buffer.from([0x94, 0x00, 0x01, 0xa3, 0x62, 0x69, 0x67, 0x90]))
    for (let i = 0; i < 200 && !runtimeStarted(); i++) await new Promise((resolve) => setTimeout(resolve, 10))
    assert.equal(runtimeStarted(), true, 'the backlog started the runtime')
  } finally {
    if (raw) raw.destroy()
    await client.close()
    await server.close()
  }
})
