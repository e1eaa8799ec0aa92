'use strict'
// `msgpack-rpc tap <listen> <target>`: a proxy that forwards bytes unchanged
// and prints every message it sees, decoded, in both directions.

const net = require('node:net')
const childProcess = require('node:child_process')
const { UsageError } = require('./args')
const { Framer } = require('./framer')
const { Printer } = require('./printer')
const { tapUdp } = require('./tap-udp')
const { parseTarget, clientTarget, describe } = require('./target')
const { EXIT, signalled } = require('./exit')

const help = `Usage: msgpack-rpc tap <listen> <target>
       msgpack-rpc tap <listen> --spawn '<command line>'

Listens on <listen>, connects each client that arrives to <target> (or to
a new child process over its stdio, with --spawn), forwards the bytes both
ways unchanged, and prints each message on stdout, decoded:
  #1 open 127.0.0.1:50412
  #1 -> request 0 add [1,2]
  #1 <- response 0 3 (0.4 ms)
  #1 <- response 1 error "unknown method: x" (0.2 ms)
  #1 -> notify log ["hi"]
  #1 closed
"->" is client to target, "<-" target to client; #1 numbers the connection;
a response line ends with how long its call took. Values print as in
\`msgpack-rpc call\` (JSON; {"$bin":...} and friends for what JSON lacks).
Prints "listening on <listen>" on stderr once it listens; SIGINT or SIGTERM
closes every connection and exits with status 0.

<listen> and <target>: host:port, port (127.0.0.1), unix:/path or a path;
or both udp://host:port (each datagram is one message; #n is a client
address, "closed" only when tap stops).

Options:
  --spawn <command line> the target is this program, one per connection
  --json                 print one JSON object per line instead
                         ({"conn","dir","kind","msgid","method","params",
                         "error","result","ms"}, or {"conn","event"})
  -h, --help             show this help

Exit status: 0 after SIGINT or SIGTERM, 2 usage error, 3 cannot listen.
A target that cannot be reached closes that one connection ("#n closed
target: ...") and tap goes on.

Example: msgpack-rpc tap 127.0.0.1:7777 127.0.0.1:6666
`

const spec = {
  spawn: { type: 'string' },
  json: { type: 'boolean' },
}

/** A Duplex-ish pair to the target: `readable`, `writable`, `close()`. */
function dial(target) {
  if (target.kind === 'spawn') {
    const child = childProcess.spawn(target.argv[0], target.argv.slice(1), { stdio: ['pipe', 'pipe', 'inherit'] })
    return {
      readable: child.stdout,
      writable: child.stdin,
      emitter: child,
      close: () => {
        child.stdin.end()
        // A child that ignores EOF on stdin.
        setTimeout(() => child.kill('SIGTERM'), 1000).unref()
      },
    }
  }
  // Half-open like the client: each side's end is forwarded, and answers still flow the other way.
  const where = target.kind === 'unix' ? { path: target.path } : { port: target.port, host: target.host }
  const socket = net.connect({ ...where, allowHalfOpen: true })
  return { readable: socket, writable: socket, emitter: socket, close: () => socket.destroy() }
}

/** Forwards `from` to `to` unchanged and feeds a copy to the printer. */
function forward(from, to, dir, printer) {
  const framer = new Framer()
  let decoding = true
  from.pipe(to)
  from.on('data', (chunk) => {
    if (!decoding) return
    try {
      for (const bytes of framer.push(chunk)) printer.message(dir, bytes)
    } catch (err) {
      // Still forwarded; just no longer decoded.
      decoding = false
      printer.event('undecodable', `${dir} ${err.message}; forwarding without decoding`)
    }
  })
}

/** Connects one client to the target; adds its closer to `open` until closed. */
function proxy(client, target, printer, open) {
  const up = dial(target)
  let closed = false
  const close = (why) => {
    if (closed) return
    closed = true
    open.delete(close)
    client.destroy()
    up.close()
    printer.event('closed', why)
  }
  open.add(close)
  up.emitter.once('error', (err) => close(`target: ${err.message}`))
  client.once('error', (err) => close(`client: ${err.message}`))
  client.once('close', () => close())
  up.readable.once('close', () => close())
  forward(client, up.writable, '->', printer)
  forward(up.readable, client, '<-', printer)
}

async function run(options, positionals, io) {
  const listenAt = parseTarget(positionals[0])
  const target = clientTarget(options, positionals.slice(1))
  // Datagrams and byte streams do not mix: one message per datagram on both sides.
  if ((listenAt.kind === 'udp') !== (target.kind === 'udp')) {
    throw new UsageError('tap forwards UDP to UDP only, and TCP, unix sockets and --spawn to any of those')
  }
  const rest = options.spawn !== undefined ? positionals.slice(1) : positionals.slice(2)
  if (rest.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(rest[0])}`)
  const write = (line) => io.stdout.write(`${line}\n`)
  if (listenAt.kind === 'udp') {
    const stop = signalled()
    const tap = await tapUdp(listenAt, target, options.json, write)
    io.stderr.write(`listening on ${tap.bound}, forwarding to ${describe(target)}\n`)
    await stop
    await tap.close()
    return EXIT.OK
  }
  const open = new Set()
  let count = 0
  const server = net.createServer({ allowHalfOpen: true }, (client) => {
    const printer = new Printer(++count, options.json, write)
    printer.event('open', client.remoteAddress ? `${client.remoteAddress}:${client.remotePort}` : undefined)
    proxy(client, target, printer, open)
  })
  const stop = signalled()
  await new Promise((resolve, reject) => {
    server.once('error', reject)
    const done = () => {
      server.removeListener('error', reject)
      resolve()
    }
    if (listenAt.kind === 'unix') server.listen(listenAt.path, done)
    else server.listen(listenAt.port, listenAt.host, done)
  })
  const a = server.address()
  const bound = listenAt.kind === 'unix' ? listenAt : { kind: 'tcp', host: a.address, port: a.port }
  io.stderr.write(`listening on ${describe(bound)}, forwarding to ${describe(target)}\n`)
  await stop
  const closed = new Promise((resolve) => server.close(resolve))
  for (const close of open) close('tap stopped')
  await closed
  return EXIT.OK
}

module.exports = { name: 'tap', summary: 'a proxy that prints every message both ways', help, spec, run }
