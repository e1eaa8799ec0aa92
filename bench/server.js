'use strict'
// node bench/server.js <impl> <tcp|unix>: serves until SIGTERM; prints its address as JSON.
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const [impl, transport] = process.argv.slice(2)

async function main() {
  const target = transport === 'unix' ? { path: path.join(os.tmpdir(), `msgpack-rpc-bench-${process.pid}.sock`) } : {}
  // A file with this process's id is left over by a killed run whose id came round again.
  if (target.path) fs.rmSync(target.path, { force: true })
  const server = await require(`./impls/${impl}`).serve(target)
  // Written to the descriptor: process.stdout on a pipe would load node:net
  // and Node's streams into a server that may not otherwise need them.
  fs.writeSync(1, JSON.stringify(server.address) + '\n')
  process.on('SIGTERM', () => {
    if (target.path) fs.rmSync(target.path, { force: true })
    process.exit(0)
  })
}
main().catch((err) => {
  console.error(err)
  process.exit(1)
})
