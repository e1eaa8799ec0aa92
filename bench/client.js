'use strict'
// node bench/client.js <impl> <address-json> <workload> <seconds>: runs one
// workload and prints its result as JSON (with this process's peak RSS).
const fs = require('node:fs')
const { workloads, connectionsFor } = require('./workloads')
const [impl, address, workload, seconds] = process.argv.slice(2)

function peakRss() {
  const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync('/proc/self/status', 'utf8'))
  return m ? Number(m[1]) * 1024 : process.memoryUsage().rss
}

async function main() {
  const { connect } = require(`./impls/${impl}`)
  const target = JSON.parse(address)
  const conns = await Promise.all(Array.from({ length: connectionsFor(workload) }, () => connect(target)))
  const result = await workloads[workload](conns, Number(seconds))
  await Promise.all(conns.map((c) => c.close()))
  process.stdout.write(JSON.stringify({ ...result, rss: peakRss() }) + '\n')
  process.exit(0)
}
main().catch((err) => {
  console.error(err)
  process.exit(1)
})
