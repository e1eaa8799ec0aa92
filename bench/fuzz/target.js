'use strict'
// The server the fuzzer attacks, in its own process (forked by child.js) so
// that a crash is observed, not suffered. It serves one handler over TCP
// (rpc.createServer), UDP (rpc.createUdpServer) and rpc.attach on a plain net
// server, adds no 'error' or 'uncaughtException' listeners (whatever the
// library leaves unhandled must show), and reports its ports over IPC.
//
// `--plant-bug=crash|stall|memory` plants a bug of that kind in echo, which
// then exits with code 70, blocks the event loop for 3 s, or keeps 16 MiB
// more on each call. It tests the fuzzer's own finding paths whatever the
// state of the library (echo is called often enough to come first).

const net = require('node:net')
// `MSGPACK_RPC_FUZZ_LIB` (set by `--lib`): fuzz the library of another checkout or build.
const rpc = require(process.env.MSGPACK_RPC_FUZZ_LIB || '../..')

const planted = (process.argv.find((a) => a.startsWith('--plant-bug=')) || '').slice('--plant-bug='.length)
const kept = []

function plantedBug() {
  if (planted === 'crash') process.exit(70)
  if (planted === 'stall') {
    const until = Date.now() + 3000
    while (Date.now() < until);
  }
  if (planted === 'memory') kept.push(Buffer.alloc(16 * 1024 * 1024, 1))
}

/** The params and the response, whether or not the library appended one. */
function split(args) {
  const last = args[args.length - 1]
  return last instanceof rpc.Response ? [args.slice(0, -1), last] : [args, undefined]
}

const handler = {
  echo(...args) {
    const [params, res] = split(args)
    if (planted) plantedBug()
    if (res) res.result(params[0] === undefined ? null : params[0])
  },
  add(...args) {
    const [params, res] = split(args)
    const sum = params[0] + params[1]
    if (res) res.result(sum)
  },
  fail() {
    throw new Error('fail: thrown on purpose')
  },
  async reject() {
    throw new Error('reject: rejected on purpose')
  },
  twice(...args) {
    const [params, res] = split(args)
    if (res) {
      res.result(params[0] === undefined ? null : params[0])
      res.result(null)
    }
  },
}

function listening(server, ...args) {
  return new Promise((resolve) => server.listen(...args, resolve))
}

async function main() {
  const tcp = rpc.createServer(handler)
  await listening(tcp, 0, '127.0.0.1')
  const udp = rpc.createUdpServer(handler)
  await listening(udp, 0, '127.0.0.1')
  const attach = net.createServer((socket) => rpc.attach(socket, handler))
  await listening(attach, 0, '127.0.0.1')
  process.send({ ports: { tcp: tcp.address().port, udp: udp.address().port, attach: attach.address().port } })
  // The parent going away ends the fuzz run: do not outlive it.
  process.on('disconnect', () => process.exit(0))
  // Memory figures for the progress lines: is growth heap, buffers or neither?
  process.on('message', (m) => {
    if (m === 'stats') process.send({ stats: process.memoryUsage() })
  })
}

main()
