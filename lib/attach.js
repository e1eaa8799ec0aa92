'use strict'
// attach(duplex), spawn(command) and stdio(): MessagePack-RPC over streams
// the user (or the operating system) already has.

const childProcess = require('node:child_process')
const { DuplexTransport } = require('./duplex-transport')
const { RpcStream, argError } = require('./stream')

function makeStream(transport, options, connecting) {
  const stream = new RpcStream(transport, {
    handler: options.handler,
    timeout: options.timeout,
    highWaterMark: options.highWaterMark,
    maxPendingCalls: options.maxPendingCalls,
    connecting,
  })
  transport.start(stream._onEvent)
  return stream
}

function splitHandler(handler, options) {
  if (handler !== null && typeof handler === 'object' && options === undefined && 'handler' in handler) return handler
  return { ...(options || {}), handler }
}

/**
 * Runs MessagePack-RPC over a Duplex stream you already have: a
 * `tls.connect()` socket, a pipe, a WebSocket stream.
 * @param {import('stream').Duplex} duplex
 * @param {object} [handler]
 * @param {object} [options]
 */
function attach(duplex, handler, options) {
  if (!duplex || typeof duplex.on !== 'function' || typeof duplex.write !== 'function') {
    throw argError('duplex', 'a Duplex stream', duplex)
  }
  const opts = splitHandler(handler, options)
  const connecting = !!(duplex.connecting || duplex.pending)
  const stream = makeStream(new DuplexTransport(duplex, duplex, opts), opts, connecting)
  if (connecting) {
    const event = typeof duplex.getPeerCertificate === 'function' ? 'secureConnect' : 'connect'
    duplex.once(event, () => stream._onEvent(require('./binding').CONNECT, stream._native.endpoints()))
  }
  return stream
}

/**
 * Starts `command` and talks MessagePack-RPC over its stdin/stdout (e.g.
 * `nvim --embed`). `close()` ends its stdin; the stream closes when it exits.
 * `stream.process` is the ChildProcess.
 */
function spawn(command, args = [], options = {}) {
  if (!Array.isArray(args)) {
    options = args || {}
    args = []
  }
  const { handler, timeout, maxMessageSize, maxDepth, highWaterMark, maxPendingCalls, ...spawnOptions } = options
  const stdio = spawnOptions.stdio || ['pipe', 'pipe', 'inherit']
  const child = childProcess.spawn(command, args, { ...spawnOptions, stdio: ['pipe', 'pipe', stdio[2]] })
  const opts = { handler, timeout, maxMessageSize, maxDepth, highWaterMark, maxPendingCalls, handle: child }
  const transport = new DuplexTransport(child.stdout, child.stdin, opts)
  const stream = makeStream(transport, opts, true)
  stream.process = child
  child.once('spawn', () => stream._onEvent(require('./binding').CONNECT, {}))
  child.once('error', (err) => transport._fail(err))
  // The process is gone: whatever it did not answer never will be.
  child.once('exit', () => setImmediate(() => transport.destroy()))
  return stream
}

let stdioStream

/**
 * Serves (and calls) over this process's stdin/stdout, so this program can be
 * spawned as a MessagePack-RPC peer (Neovim's `jobstart(…, { rpc: v:true })`).
 * From then on anything else written to stdout (console.log included) goes
 * to stderr, so it cannot corrupt the channel.
 */
function stdio(handler, options) {
  if (stdioStream) return stdioStream
  const opts = splitHandler(handler, options)
  const out = process.stdout
  const rawWrite = out.write.bind(out)
  const channel = {
    write: (chunk, cb) => rawWrite(chunk, cb),
    on: (...a) => out.on(...a),
    once: (...a) => out.once(...a),
    end: () => {},
    destroy: () => {},
    get writableLength() {
      return out.writableLength
    },
  }
  // Stray output goes to stderr from now on.
  out.write = (...a) => process.stderr.write(...a)
  const transport = new DuplexTransport(process.stdin, channel, {
    ...opts,
    // Ending the channel: stop reading stdin; stdout stays open for the process.
    onEnd: (t) => {
      process.stdin.destroy()
      process.nextTick(() => t._close())
    },
  })
  stdioStream = makeStream(transport, opts, false)
  stdioStream.once('close', () => {
    stdioStream = undefined
  })
  return stdioStream
}

module.exports = { attach, spawn, stdio }
