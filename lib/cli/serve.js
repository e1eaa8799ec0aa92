'use strict'
// `msgpack-rpc serve <target> [module]`: serves a module's exported functions
// (or the demo methods) until SIGINT or SIGTERM.

const path = require('node:path')
const { pathToFileURL } = require('node:url')
const { performance } = require('node:perf_hooks')
const rpc = require('../..')
const { UsageError } = require('./args')
const { format } = require('./json')
const { parseTarget, describe } = require('./target')
const { EXIT, signalled } = require('./exit')

const help = `Usage: msgpack-rpc serve <target> [module]

Serves the functions a module exports (CommonJS or ESM: named exports, or an
object as module.exports / the default export). Each is called with the
request's arguments; its return value, or what its Promise resolves to,
is the answer, and a throw or rejection answers an error with its message.
Notifications call the function too; the result is dropped.
Without a module it serves demo methods:
  ping()          -> "pong"
  echo(...args)   -> args (an array)
  add(a, b)       -> a + b
  sleep(ms)       -> null, after ms milliseconds

Prints "listening on <target>" on stderr once it listens (with the real
port when given port 0). SIGINT or SIGTERM lets calls in flight finish and
exits with status 0.

Targets: host:port, port (127.0.0.1), unix:/path or a path, udp://host:port.

Options:
  --verbose     log each call on stderr: method, arguments, result or error, ms
  -h, --help    show this help

Exit status: 0 after SIGINT or SIGTERM, 2 usage error (or a module that
cannot be loaded), 3 cannot listen (EADDRINUSE, ...).

Example: msgpack-rpc serve 127.0.0.1:6666
`

const spec = {
  verbose: { type: 'boolean' },
}

/** The functions a module exports, as a handler object. */
async function loadMethods(file) {
  const abs = path.resolve(file)
  let ns
  try {
    ns = await import(pathToFileURL(abs).href)
  } catch (err) {
    throw new UsageError(`cannot load ${abs}: ${err.message}`)
  }
  const methods = Object.create(null)
  for (const key of Object.keys(ns)) if (key !== 'default' && typeof ns[key] === 'function') methods[key] = ns[key]
  // module.exports of CommonJS, or an ESM default object; bound, so methods may use `this`.
  const def = ns.default
  if (def !== null && (typeof def === 'object' || typeof def === 'function')) {
    for (const key of Object.keys(def)) if (typeof def[key] === 'function') methods[key] = def[key].bind(def)
  }
  if (Object.keys(methods).length === 0) throw new UsageError(`${abs} exports no functions to serve`)
  return methods
}

/** Answers a peer's request and notifications from `methods`, logging if asked. */
function attachMethods(stream, methods, log) {
  stream.on('request', async (method, params, response) => {
    const start = performance.now()
    const fn = methods[method]
    let ok = false
    let value
    if (!fn) {
      value = `unknown method: ${method}`
    } else {
      try {
        value = await fn(...params)
        ok = true
      } catch (err) {
        value = err instanceof Error ? err.message : err
      }
    }
    try {
      if (ok) response.result(value)
      else response.error(value)
    } catch (err) {
      // A result that cannot be encoded: the library has answered the peer.
      ok = false
      value = err.message
    }
    if (log) log(`call ${method} ${format(params)} ${ok ? '->' : '!!'} ${format(value)} (${ms(start)} ms)`)
  })
  stream.on('notify', async (method, params) => {
    const start = performance.now()
    const fn = methods[method]
    let outcome = 'unknown method'
    if (fn) {
      try {
        await fn(...params)
        outcome = 'ok'
      } catch (err) {
        outcome = `!! ${format(err instanceof Error ? err.message : err)}`
      }
    }
    if (log) log(`notify ${method} ${format(params)} ${outcome} (${ms(start)} ms)`)
  })
  // A broken connection is that peer's problem; the server goes on.
  stream.on('error', (err) => {
    if (log) log(`connection error: ${err.message}${err.code ? ` (${err.code})` : ''}`)
  })
}

function ms(start) {
  return (performance.now() - start).toFixed(1)
}

function listen(target, onConnection) {
  const server = target.kind === 'udp' ? rpc.createUdpServer(onConnection) : rpc.createServer(onConnection)
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    const done = () => {
      server.removeListener('error', reject)
      resolve(server)
    }
    if (target.kind === 'unix') server.listen(target.path, done)
    else server.listen(target.port, target.host, done)
  })
}

/** The address a listening server actually has, as a target. */
function boundTarget(target, server) {
  if (target.kind === 'unix') return target
  const a = server.address()
  return { kind: target.kind, host: a.address, port: a.port }
}

async function run(options, positionals, io) {
  if (positionals.length > 2) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[2])}`)
  const target = parseTarget(positionals[0])
  const methods = positionals[1] === undefined ? require('./demo-methods') : await loadMethods(positionals[1])
  const log = options.verbose ? (line) => io.stderr.write(`${line}\n`) : undefined
  const stop = signalled()
  const server = await listen(target, (stream) => attachMethods(stream, methods, log))
  io.stderr.write(`listening on ${describe(boundTarget(target, server))}\n`)
  const signal = await stop
  if (log) log(`${signal}: closing`)
  await server.close()
  return EXIT.OK
}

module.exports = { name: 'serve', summary: 'serve a module\'s functions, or demo methods', help, spec, run }
