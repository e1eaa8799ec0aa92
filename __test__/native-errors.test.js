'use strict'
// Errors from the native layer look like Node's own: a `code` property (no
// "CODE: " prefix in the message) and, for OS errors, errno/syscall/address/
// port as `net` gives them, or hostname for an unknown host.
const test = require('node:test')
const assert = require('node:assert/strict')
const net = require('node:net')
const binding = require('../lib/binding')
const { rpc, once } = require('./helpers')

const OS_FIELDS = ['code', 'errno', 'syscall', 'address', 'port', 'hostname']

function pick(err) {
  return Object.fromEntries(OS_FIELDS.filter((k) => err[k] !== undefined).map((k) => [k, err[k]]))
}

/** A TCP port on 127.0.0.1 that nothing listens on (bound, then closed). */
async function closedPort() {
  const s = net.createServer().listen(0, '127.0.0.1')
  await once(s, 'listening')
  const { port } = s.address()
  s.close()
  await once(s, 'close')
  return port
}

test('a native deframer throws an error whose code is a property, not a message prefix', () => {
  const deframer = new binding.native.NativeDeframer()
  assert.throws(
    () => deframer.push(Buffer.from([0xc1])),
    (err) => {
      assert.equal(err.code, 'ERR_MSGPACK_RPC_PROTOCOL')
      assert.match(err.message, /^protocol error; .*0xc1/)
      return true
    },
  )
  assert.throws(() => new binding.native.NativeDeframer().datagram(Buffer.from([0x93, 0x02])), { code: 'ERR_MSGPACK_RPC_PROTOCOL' })
})

test('connecting to a closed port fails with the fields net.connect gives', async () => {
  const port = await closedPort()
  const expected = await new Promise((resolve) => net.connect(port, '127.0.0.1').once('error', resolve))
  const err = await rpc.connect(port, '127.0.0.1').then(
    () => assert.fail('connected'),
    (e) => e,
  )
  assert.deepEqual(pick(err), pick(expected))
  assert.equal(err.message, expected.message)
})

test('connecting to an unknown host fails with ENOTFOUND from getaddrinfo', async () => {
  const err = await rpc.connect(1, 'no-such-host.invalid').then(
    () => assert.fail('connected'),
    (e) => e,
  )
  assert.equal(err.code, 'ENOTFOUND')
  assert.equal(err.syscall, 'getaddrinfo')
  assert.equal(err.hostname, 'no-such-host.invalid')
  assert.equal(err.errno, -3008)
})

test('listening on a port in use throws EADDRINUSE with the fields net gives', async () => {
  const taken = net.createServer().listen(0, '127.0.0.1')
  await once(taken, 'listening')
  const { port } = taken.address()
  try {
    const other = net.createServer().listen(port, '127.0.0.1')
    const expected = await once(other, 'error').then(([e]) => e)
    assert.throws(
      () => binding.native.NativeServer.listen({ host: '127.0.0.1', port }, undefined, {}, () => {}),
      (err) => {
        assert.deepEqual(pick(err), pick(expected))
        assert.equal(err.message, `listen EADDRINUSE 127.0.0.1:${port}`)
        return true
      },
    )
  } finally {
    taken.close()
  }
})
