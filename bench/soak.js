'use strict'
// Soak: mixed load with connection churn against a server in a child process
// for a set time; prints the server's RSS and open fds at start and end.
//   node bench/soak.js [--seconds 30]
// Exits 1 if RSS grew by more than 64 MiB or fds by more than 16 (not flat).
const path = require('node:path')
const net = require('node:net')
const { spawn } = require('node:child_process')
const rpc = require('..')

const seconds = Number(process.argv[process.argv.indexOf('--seconds') + 1]) || 30

async function main() {
  const child = spawn(process.execPath, ['--expose-gc', path.join(__dirname, 'soak-server.js')], { stdio: ['ignore', 'pipe', 'inherit'] })
  const port = Number(String(await new Promise((resolve) => child.stdout.once('data', resolve))).trim())
  const probe = await rpc.connect(port, '127.0.0.1')
  // Warm up so the baseline includes the JIT and first allocations.
  await Promise.all(Array.from({ length: 2000 }, (_, i) => probe.invoke('add', i, 1)))
  const start = await probe.invoke('stats')
  const deadline = Date.now() + seconds * 1000
  const counts = { calls: 0, notes: 0, churned: 0, garbage: 0, errors: 0 }

  async function steady() {
    const c = await rpc.connect(port, '127.0.0.1')
    const blob = Buffer.alloc(16 * 1024, 1)
    while (Date.now() < deadline) {
      const batch = []
      for (let i = 0; i < 64; i++) batch.push(c.invoke('add', i, 2))
      batch.push(c.invoke('echo', { list: [1, 2, 3], text: 'x'.repeat(200), blob }))
      for (let i = 0; i < 32; i++) c.notify('note', i)
      await Promise.all(batch)
      counts.calls += batch.length
      counts.notes += 32
    }
    await c.close()
  }

  async function churn() {
    while (Date.now() < deadline) {
      const c = rpc.createClient(port, '127.0.0.1')
      try {
        await c.invoke('add', 1, 1)
      } catch {
        counts.errors++
      }
      if (counts.churned % 2) c.stream.destroy()
      else await c.close()
      counts.churned++
    }
  }

  async function garbage() {
    while (Date.now() < deadline) {
      await new Promise((resolve) => {
        const s = net.connect(port, '127.0.0.1', () => s.end(Buffer.from([0x94, 0x00, 0xc1, 0xff])))
        s.on('error', resolve)
        s.on('close', resolve)
        s.resume()
      })
      counts.garbage++
      await new Promise((resolve) => setTimeout(resolve, 5))
    }
  }

  const only = process.argv.includes('--steady-only') ? [steady(), steady(), steady()] : process.argv.includes('--churn-only') ? [churn(), churn(), garbage()] : [steady(), steady(), steady(), churn(), churn(), garbage()]
  await Promise.all(only)
  await new Promise((resolve) => setTimeout(resolve, 500))
  const end = await probe.invoke('stats')
  await probe.close()
  child.kill('SIGTERM')
  const mib = (b) => (b / 1048576).toFixed(1)
  const result = {
    seconds,
    ...counts,
    rssStartMiB: +mib(start.rss),
    rssEndMiB: +mib(end.rss),
    heapStartMiB: +mib(start.heap),
    heapEndMiB: +mib(end.heap),
    heapTotalEndMiB: +mib(end.heapTotal),
    externalEndMiB: +mib(end.external),
    fdsStart: start.fds,
    fdsEnd: end.fds,
    connectionsEnd: end.connections,
  }
  console.table([result])
  console.log(JSON.stringify(result))
  const flat = end.rss - start.rss < 64 * 1048576 && end.fds - start.fds <= 16
  console.log(flat ? 'flat: pass' : 'NOT flat: fail')
  process.exitCode = flat ? 0 : 1
}

main().catch((err) => {
  console.error(err)
  process.exit(1)
})
