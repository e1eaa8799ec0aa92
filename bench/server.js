'use strict'
// node bench/server.js <impl> <tcp|unix>: serves until SIGTERM; prints its address as JSON.
const os = require('node:os')
const path = require('node:path')
const [impl, transport] = process.argv.slice(2)

async function main() {
  const target = transport === 'unix' ? { path: path.join(os.tmpdir(), `msgpack-rpc-bench-${process.pid}.sock`) } : {}
  const server = await require(`./impls/${impl}`).serve(target)
  process.stdout.write(JSON.stringify(server.address) + '\n')
  process.on('SIGTERM', () => process.exit(0))
}
main().catch((err) => {
  console.error(err)
  process.exit(1)
})
