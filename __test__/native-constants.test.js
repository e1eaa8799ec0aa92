'use strict'
// The event kinds and default limits come from the addon (src/js/constants.rs,
// src/js/events.rs), and the defaults are the limits the core enforces.
const test = require('node:test')
const assert = require('node:assert/strict')
const binding = require('../lib/binding')

const { NativeDeframer } = binding.native

// [2, "m", params] whose params array holds `inner` more arrays, one in the
// other: `inner + 2` levels counting the envelope.
function nested(inner) {
  const open = Buffer.alloc(inner + 1, 0x91)
  return Buffer.concat([Buffer.from([0x93, 0x02, 0xa1, 0x6d]), open, Buffer.from([0xc0])])
}

// The header of a notification whose one param is a bin8/32 of `size` bytes.
function binHeader(size) {
  const header = Buffer.from([0x93, 0x02, 0xa1, 0x6d, 0x91, 0xc6, 0, 0, 0, 0])
  header.writeUInt32BE(size, 6)
  return header
}

test('the event kinds are the addon\'s, seven distinct small integers', () => {
  const kinds = ['MESSAGES', 'CONNECT', 'DRAIN', 'END', 'ERROR', 'CLOSE', 'CONNECTION']
  for (const kind of kinds) {
    assert.equal(binding[kind], binding.native[kind], kind)
    assert.ok(Number.isInteger(binding[kind]), kind)
  }
  assert.equal(new Set(kinds.map((k) => binding[k])).size, kinds.length)
})

test('the default depth limit is the one the native deframer enforces', () => {
  const depth = binding.DEFAULT_MAX_DEPTH
  assert.equal(depth, 1000)
  const message = nested(depth - 2)
  const batch = new NativeDeframer().push(message)
  assert.equal(batch.length, message.length, 'a message exactly at the limit is delivered')
  assert.throws(() => new NativeDeframer().push(nested(depth - 1)), {
    code: 'ERR_MSGPACK_RPC_PROTOCOL',
    message: new RegExp(`deeper than ${depth} levels`),
  })
})

test('the default message size limit is the one the native deframer enforces', () => {
  const max = binding.DEFAULT_MAX_MESSAGE_SIZE
  // Just under the limit: an incomplete message, waited for.
  const under = new NativeDeframer().push(binHeader(max - 20))
  assert.deepEqual(under, {})
  assert.throws(() => new NativeDeframer().push(binHeader(max)), {
    code: 'ERR_MSGPACK_RPC_MESSAGE_TOO_LARGE',
    message: new RegExp(`limit of ${max} bytes`),
  })
})

test('the other defaults are exported as the numbers the design gives them', () => {
  assert.equal(binding.DEFAULT_HIGH_WATER_MARK, 1024 * 1024)
  assert.equal(binding.READ_CHUNK, 64 * 1024)
  assert.equal(binding.BATCH_SIZE, 64 * 1024)
  assert.ok(Number.isInteger(binding.DEFAULT_MAX_BUFFERED_BYTES) && binding.DEFAULT_MAX_BUFFERED_BYTES > 0)
})

test('the core\'s error codes are the addon\'s, and rpc.codes lists them', () => {
  const { codes } = require('..')
  const core = { PROTOCOL: 'ERR_PROTOCOL', MESSAGE_TOO_LARGE: 'ERR_MESSAGE_TOO_LARGE', CLOSED: 'ERR_CLOSED', INTERNAL: 'ERR_INTERNAL' }
  for (const [name, exported] of Object.entries(core)) {
    assert.equal(typeof binding.native[exported], 'string', exported)
    assert.equal(codes[name], binding.native[exported], name)
    assert.equal(codes[name], `ERR_MSGPACK_RPC_${name}`, name)
  }
  // An error the core raises carries the code rpc.codes names.
  assert.throws(() => new NativeDeframer().push(Buffer.from([0xc1])), { code: codes.PROTOCOL })
})
