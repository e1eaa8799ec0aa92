'use strict'
// The cost of the diagnostics channels on the pipelined workload: calls/s
// with no subscriber, then with a subscriber on every event of
// `msgpack-rpc:call`, alternated 4 times so drift on a busy machine hits
// both alike. The server runs in its own process (bench/server.js).
//   node bench/diagnostics.js [--seconds 2] [--rounds 4]
const { spawn } = require('node:child_process')
const dc = require('node:diagnostics_channel')
const path = require('node:path')
const { workloads } = require('./workloads')
const rpc = require('..')

const seconds = Number(arg('--seconds')) || 2
const rounds = Number(arg('--rounds')) || 4

function arg(name) {
  const i = process.argv.indexOf(name)
  return i > 0 ? process.argv[i + 1] : undefined
}

function startServer() {
  const child = spawn(process.execPath, [path.join(__dirname, 'server.js'), 'ours', 'tcp'], { stdio: ['ignore', 'pipe', 'inherit'] })
  return new Promise((resolve, reject) => {
    child.once('error', reject)
    child.stdout.once('data', (d) => resolve({ child, address: JSON.parse(String(d)) }))
  })
}

/** A subscriber as an APM's would be: one function per event, doing almost nothing. */
function subscribe() {
  let seen = 0
  const handlers = {
    start: () => seen++,
    end: () => seen++,
    asyncStart: () => seen++,
    asyncEnd: () => seen++,
    error: () => seen++,
  }
  const channel = dc.tracingChannel('msgpack-rpc:call')
  channel.subscribe(handlers)
  return () => channel.unsubscribe(handlers)
}

async function measure(address) {
  const client = await rpc.connect({ port: address.port, host: '127.0.0.1' })
  const conn = { call: (method, params) => client.request(method, params) }
  try {
    const { ops, seconds: took } = await workloads.pipelined([conn], seconds)
    return ops / took
  } finally {
    await client.close()
  }
}

async function main() {
  const { child, address } = await startServer()
  const rates = { none: [], subscribed: [] }
  try {
    for (let round = 0; round < rounds; round++) {
      rates.none.push(await measure(address))
      const unsubscribe = subscribe()
      try {
        rates.subscribed.push(await measure(address))
      } finally {
        unsubscribe()
      }
      console.error(`round ${round + 1}/${rounds}: ${Math.round(rates.none[round])} vs ${Math.round(rates.subscribed[round])} calls/s`)
    }
  } finally {
    child.kill('SIGTERM')
  }
  const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1]
  const none = median(rates.none)
  const subscribed = median(rates.subscribed)
  console.log(`pipelined (1 connection, 256 in flight, tcp), median of ${rounds} runs of ${seconds} s:`)
  console.log(`  no subscriber                  ${Math.round(none).toLocaleString('en-US').padStart(9)} calls/s`)
  console.log(`  subscriber on msgpack-rpc:call ${Math.round(subscribed).toLocaleString('en-US').padStart(9)} calls/s (${((subscribed / none - 1) * 100).toFixed(1)}%)`)
}

main().catch((err) => {
  console.error(err)
  process.exit(1)
})
