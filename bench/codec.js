'use strict'
// Codec throughput: ours against msgpackr (plain msgpack, no records), in one
// run, rounds interleaved. `node bench/codec.js`
const { Packr, Unpackr } = require('msgpackr')
const { Encoder, decodeMessages } = require('../lib/codec')

const packr = new Packr({ useRecords: false })
const unpackr = new Unpackr({ useRecords: false, int64AsType: 'auto' })

const nested = {}
for (let i = 0; i < 20; i++) nested[`field${i}`] = i % 3 === 0 ? `value ${i}` : i % 3 === 1 ? i * 1.5 : { inner: [i, i + 1], flag: true }
const workloads = {
  'add request': [0, 17, 'add', [1, 2]],
  '1 KiB string reply': [1, 17, null, 'x'.repeat(1024)],
  '20-field object reply': [1, 17, null, nested],
  '64 KiB Buffer reply': [1, 17, null, Buffer.alloc(65536, 7)],
  '20 floats reply': [1, 17, null, Array.from({ length: 20 }, (_, i) => i + 0.5)],
}
// The decoder's key-sequence tree at its best and worst (lib/key-shapes.js):
// replies of 64 different shapes in turn, and maps whose keys never repeat
// (decoded from many distinct batches; encode rates are for the first one).
const shape = (k) => Object.fromEntries(Array.from({ length: 8 }, (_, j) => [`s${(k * 7 + j * 3) % 64}`, j]))
let fresh = 0
const unique = () => Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`u${(fresh++).toString(36)}`, i]))
const batches = {
  '8-key objects, 64 shapes': () => [Array.from({ length: 32 }, (_, k) => [1, 17, null, shape(k)]), Array.from({ length: 32 }, (_, k) => [1, 17, null, shape(k + 32)])],
  '20-key maps, keys never repeat': () => Array.from({ length: 400 }, () => Array.from({ length: 32 }, () => [1, 17, null, unique()])),
}

function rate(fn, ms = 300) {
  let n = 0
  const start = process.hrtime.bigint()
  const stop = start + BigInt(ms) * 1000000n
  while (process.hrtime.bigint() < stop) {
    for (let i = 0; i < 100; i++) fn()
    n += 100
  }
  return n / (Number(process.hrtime.bigint() - start) / 1e9)
}

const median = (xs) => xs.slice().sort((a, b) => a - b)[xs.length >> 1]
const sink = { _onRequest() {}, _onResponse() {}, _onNotify() {} }
/** What the library does: the envelope written and read without arrays. */
function encodeMessage(enc, msg) {
  if (msg[0] === 0) enc.request(msg[1], msg[2], msg[3])
  else enc.response(msg[1], msg[2], msg[3])
}

const rounds = process.argv.includes('--quick') ? 3 : 7
const rows = []
const plans = [
  ...Object.entries(workloads).map(([name, msg]) => [name, [Array.from({ length: 32 }, () => msg)]]),
  ...Object.entries(batches).map(([name, make]) => [name, make()]),
]
for (const [name, messageLists] of plans) {
  const enc = new Encoder()
  const msg = messageLists[0][0]
  const packed = messageLists.map((msgs) => Buffer.concat(msgs.map((m) => packr.pack(m))))
  let n = 0
  const batch = () => packed[n++ % packed.length]
  const r = { ourEnc: [], theirEnc: [], ourDec: [], theirDec: [] }
  for (let i = 0; i < rounds; i++) {
    r.ourEnc.push(rate(() => { encodeMessage(enc, msg); enc.take() }))
    r.theirEnc.push(rate(() => packr.pack(msg)))
    r.ourDec.push(rate(() => decodeMessages(batch(), sink)) * 32)
    r.theirDec.push(rate(() => unpackr.unpackMultiple(batch())) * 32)
  }
  rows.push({
    workload: name,
    'encode ours/s': Math.round(median(r.ourEnc)),
    'encode msgpackr/s': Math.round(median(r.theirEnc)),
    'encode ratio': +(median(r.ourEnc) / median(r.theirEnc)).toFixed(2),
    'decode ours/s': Math.round(median(r.ourDec)),
    'decode msgpackr/s': Math.round(median(r.theirDec)),
    'decode ratio': +(median(r.ourDec) / median(r.theirDec)).toFixed(2),
  })
}
console.table(rows)
console.log(JSON.stringify(rows))
