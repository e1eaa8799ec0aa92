'use strict'
// A panic in the native read callback must not abort the process: the
// connection fails with ERR_MSGPACK_RPC_INTERNAL and closes, and the process
// goes on (here: closes its server and exits normally).
const test = require('node:test')
const assert = require('node:assert/strict')
const net = require('node:net')
const path = require('node:path')
const { spawn } = require('node:child_process')
const { encode } = require('@msgpack/msgpack')
const { once } = require('./helpers')

test('a panic in the read callback fails that connection with ERR_MSGPACK_RPC_INTERNAL instead of aborting', { skip: process.env.MSGPACK_RPC_READER === 'tokio' && 'the Tokio reader has no read callback' }, async () => {
  const child = spawn(process.execPath, [path.join(__dirname, 'fixtures', 'panic-target.js')], {
    env: { ...process.env, MSGPACK_RPC_TEST_PANIC: 'read' },
    stdio: ['ignore', 'pipe', 'ignore'], // the panic message goes to stderr
  })
  let socket
  try {
    let out = ''
    child.stdout.on('data', (d) => (out += d))
    while (!out.includes('\n')) await once(child.stdout, 'data')
    const port = Number(out.split('\n')[0])
    socket = net.connect(port, '127.0.0.1')
    socket.on('error', () => {})
    await once(socket, 'connect')
    socket.write(encode([0, 1, 'ping', []]))
    await once(socket, 'close')
    const [code, signal] = await once(child, 'exit')
    assert.deepEqual({ code, signal }, { code: 0, signal: null })
    const events = out.split('\n').slice(1).filter(Boolean).map((l) => JSON.parse(l))
    assert.equal(events.length, 2, out)
    assert.equal(events[0].event, 'error')
    assert.equal(events[0].code, 'ERR_MSGPACK_RPC_INTERNAL')
    assert.match(events[0].message, /a panic in the read callback/)
    assert.deepEqual(events[1], { event: 'close' })
  } finally {
    if (socket) socket.destroy()
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  }
})
