'use strict'
// NativeDeframer (attach, spawn, stdio, UDP) returns where the complete
// messages of a chunk end, so JavaScript decodes them from its own chunk;
// a copy comes back only for a message spanning chunks or a chunk from
// which a broken request was taken out.
const test = require('node:test')
const assert = require('node:assert/strict')
const net = require('node:net')
const { encode, decode } = require('@msgpack/msgpack')
const binding = require('../lib/binding')
const { rpc, once } = require('./helpers')

const { NativeDeframer } = binding.native

test('push returns the length of the complete messages at the front of a chunk, and keeps only the incomplete rest', () => {
  const a = Buffer.from(encode([2, 'a', [1]]))
  const b = Buffer.from(encode([2, 'b', [Buffer.alloc(300, 7)]]))
  const d = new NativeDeframer()
  const chunk = Buffer.concat([a, b, b.subarray(0, 10)])
  const first = d.push(chunk)
  assert.deepEqual(first, { length: a.length + b.length })
  assert.deepEqual(binding.messagesOf(first, chunk), Buffer.concat([a, b]))
  // The message that spanned the chunks comes as a copy.
  const rest = b.subarray(10)
  const second = d.push(rest)
  assert.equal(second.length, undefined)
  assert.deepEqual(binding.messagesOf(second, rest), b)
  d.finish()
})

test('a chunk with a broken request comes back as a copy of its valid messages and the reply owed', () => {
  const a = Buffer.from(encode([2, 'a', []]))
  const broken = Buffer.from(encode([0, 7, 'm', 1]))
  const batch = new NativeDeframer().push(Buffer.concat([a, broken, a]))
  assert.equal(batch.length, undefined)
  assert.deepEqual(batch.messages, Buffer.concat([a, a]))
  const reply = decode(batch.replies)
  assert.equal(reply[0], 1)
  assert.equal(reply[1], 7)
})

test('attach() delivers every message whatever the chunk boundaries, from a peer writing byte by byte and in bursts', async () => {
  const got = []
  let done
  const all = new Promise((resolve) => (done = resolve))
  const server = net.createServer((socket) => {
    const bytes = Buffer.concat([1, 2, 3, 4, 5, 6].map((i) => Buffer.from(encode([2, 'n', [i, Buffer.alloc(i * 1000, i)]]))))
    // The first half byte by byte, the rest in one write.
    const half = bytes.length >> 1
    let i = 0
    const step = () => {
      if (i < half) {
        socket.write(bytes.subarray(i, i + 1))
        i++
        setImmediate(step)
      } else {
        socket.end(bytes.subarray(half))
      }
    }
    step()
  })
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  const client = rpc.attach(net.connect(server.address().port, '127.0.0.1'))
  try {
    client.on('notify', (method, params) => {
      got.push([params[0], params[1].length, params[1][0]])
      if (got.length === 6) done()
    })
    await all
    assert.deepEqual(got, [1, 2, 3, 4, 5, 6].map((i) => [i, i * 1000, i]))
  } finally {
    client.close()
    if (!client.closed) await once(client, 'close')
    await new Promise((resolve) => server.close(resolve))
  }
})
