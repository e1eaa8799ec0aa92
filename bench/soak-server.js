'use strict'
// The server side of bench/soak.js, in its own process.
const fs = require('node:fs')
const rpc = require('..')

const server = rpc.createServer({
  echo: (v, res) => res.result(v),
  async add(a, b) {
    return a + b
  },
  note() {},
  stats(res) {
    global.gc?.()
    const m = process.memoryUsage()
    res.result({ rss: m.rss, heap: m.heapUsed, heapTotal: m.heapTotal, external: m.external, fds: fs.readdirSync('/proc/self/fd').length, connections: server.connections.length })
  },
})
server.listen(0, '127.0.0.1', () => process.stdout.write(`${server.address().port}\n`))
process.on('SIGTERM', () => server.close(() => process.exit(0)))
