'use strict'
// Chaos: reconnecting clients pipeline calls while the server process is
// killed (SIGKILL) and started again on the same port every few seconds.
//   node bench/chaos.js [--seconds 30] [--interval 3000] [--clients 4]
// Prints calls completed, failed (by code) and hung; exits 1 if any call
// hung or returned a wrong result.

const rpc = require('..')
const { startServer, killServer } = require('../__test__/fixtures/server-process')

function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`)
  return i > 0 ? Number(process.argv[i + 1]) : fallback
}

const seconds = arg('seconds', 30)
const interval = arg('interval', 3000)
const clientCount = arg('clients', 4)
const BATCH = 32
/** How long calls still outstanding at the end may take before they count as hung. */
const GRACE_MS = 10000

async function main() {
  let server = await startServer(0)
  const port = server.port
  const deadline = Date.now() + seconds * 1000
  const counts = { completed: 0, wrong: 0, restarts: 0, reconnects: 0, failed: {} }
  const outstanding = new Set()

  const clients = Array.from({ length: clientCount }, () => {
    const c = rpc.createClient({ port, host: '127.0.0.1', reconnect: { initialDelay: 20, maxDelay: 500 } })
    c.on('ready', () => counts.reconnects++)
    c.on('error', () => {})
    return c
  })

  function call(client, a, b) {
    const p = client.request('add', [a, b]).then(
      (sum) => {
        if (sum === a + b) counts.completed++
        else counts.wrong++
      },
      (err) => {
        counts.failed[err.code] = (counts.failed[err.code] || 0) + 1
      }
    )
    outstanding.add(p)
    return p.finally(() => outstanding.delete(p))
  }

  async function load(client, id) {
    for (let round = 0; Date.now() < deadline; round++) {
      const batch = []
      for (let i = 0; i < BATCH; i++) batch.push(call(client, id * 1e6 + round, i))
      await Promise.all(batch)
    }
  }

  async function restarts() {
    while (Date.now() + interval < deadline) {
      await new Promise((resolve) => setTimeout(resolve, interval))
      await killServer(server.child)
      // Down for a moment: calls made meanwhile queue up.
      await new Promise((resolve) => setTimeout(resolve, 200))
      server = await startServer(port)
      counts.restarts++
    }
  }

  const loads = clients.map((c, i) => load(c, i))
  await restarts()
  const settled = Promise.all(loads)
  const grace = new Promise((resolve) => setTimeout(resolve, GRACE_MS).unref())
  await Promise.race([settled, grace])
  const hung = outstanding.size
  await Promise.all(clients.map((c) => c.close()))
  await killServer(server.child)

  console.log(`chaos: ${seconds}s, ${clientCount} reconnecting clients, server killed and restarted ${counts.restarts} times`)
  console.log(`  completed ${counts.completed} (all correct: ${counts.wrong === 0}), connects ${counts.reconnects}`)
  const failed = Object.entries(counts.failed)
  console.log(`  failed ${failed.length === 0 ? 0 : failed.map(([code, n]) => `${code} ${n}`).join(', ')}`)
  console.log(`  hung ${hung}`)
  if (hung > 0 || counts.wrong > 0 || counts.completed === 0) process.exitCode = 1
}

main().catch((err) => {
  console.error(err)
  process.exitCode = 1
})
