'use strict'
// attach(duplex), spawn(command) and stdio(): MessagePack-RPC over streams
// the user (or the operating system) already has.

const { kOnEvent, kTransport } = require('./constants')
const { EventEmitter } = require('node:events')
const { DuplexTransport } = require('./duplex-transport')
const { RpcStream } = require('./stream')
const v = require('./validate')

function makeStream(transport, options, connecting) {
  const stream = new RpcStream(transport, { ...v.streamOptions(options), connecting })
  transport.start(stream[kOnEvent])
  return stream
}

/**
 * `(handler, options)` or `({ handler, ...options })` as validated options;
 * `fn` names the entry point in errors.
 */
function handlerAndOptions(handler, options, fn) {
  if (handler !== null && typeof handler === 'object' && options === undefined && 'handler' in handler) {
    return v.validateOptions(handler, v.CONNECTION_OPTIONS, fn)
  }
  v.validateHandler(handler, 'handler')
  const opts = v.validateOptions(options, v.CONNECTION_OPTIONS, fn)
  if (handler !== undefined && handler !== null) opts.handler = handler
  return opts
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
    throw v.invalidArgType('duplex', 'Duplex', duplex)
  }
  const opts = handlerAndOptions(handler, options, 'attach()')
  const connecting = !!(duplex.connecting || duplex.pending)
  const stream = makeStream(new DuplexTransport(duplex, duplex, opts), opts, connecting)
  if (connecting) {
    const event = typeof duplex.getPeerCertificate === 'function' ? 'secureConnect' : 'connect'
    duplex.once(event, () => stream[kOnEvent](require('./binding').CONNECT, stream[kTransport].endpoints()))
  }
  return stream
}

/**
 * Starts `command` and talks MessagePack-RPC over its stdin/stdout (e.g.
 * `nvim --embed`). `close()` ends its stdin; the stream closes when it exits.
 * `stream.process` is the ChildProcess.
 */
function spawn(command, args, options) {
  v.validateString(command, 'command')
  if (args !== undefined && args !== null && !Array.isArray(args)) {
    if (options !== undefined || typeof args !== 'object') throw v.invalidArgType('args', 'Array', args)
    options = args
    args = undefined
  }
  // Ours are checked here; the rest is child_process.spawn's to check.
  const { ours, rest: spawnOptions } = v.splitOptions(options, v.CONNECTION_OPTIONS, 'spawn()')
  const stdio = spawnOptions.stdio || ['pipe', 'pipe', 'inherit']
  // node:child_process is loaded only by the processes that spawn peers.
  const child = require('node:child_process').spawn(command, args || [], { ...spawnOptions, stdio: ['pipe', 'pipe', stdio[2]] })
  const transport = new DuplexTransport(child.stdout, child.stdin, { ...ours, handle: child })
  const stream = makeStream(transport, ours, true)
  stream.process = child
  child.once('spawn', () => stream[kOnEvent](require('./binding').CONNECT, {}))
  child.once('error', (err) => transport._fail(err))
  // The process is gone: whatever it did not answer never will be.
  child.once('exit', () => setImmediate(() => transport.destroy()))
  return stream
}

let stdioStream
/**
 * `process.stdout.write` as it was before the first stdio() sent stray
 * output to stderr. Kept here, so a later stdio() writes the protocol to the
 * real stdout and not to that redirect.
 */
let stdoutWrite

/**
 * `process.stdin` as one stdio() channel sees it. Ending the channel takes
 * its listeners off and pauses stdin instead of destroying it, so a later
 * stdio() can read on from where this one stopped.
 */
class StdinChannel extends EventEmitter {
  constructor(stdin) {
    super()
    this._stdin = stdin
    this._forwarders = []
    this.destroyed = !!(stdin.destroyed || stdin.readableEnded)
    if (this.destroyed) return
    for (const event of ['data', 'end', 'error', 'close']) {
      const forward = (arg) => this.emit(event, arg)
      this._forwarders.push([event, forward])
      stdin.on(event, forward)
    }
    // A stdin paused by an earlier channel does not resume on a new 'data'
    // listener, and its handle was unref'd.
    this.ref()
    stdin.resume()
  }

  /**
   * Stops reading for this channel; stdin stays open for a later one. A
   * paused socketpair stdin (child_process' 'pipe') still holds the process
   * alive, so it is unref'd too.
   */
  detach() {
    for (const [event, forward] of this._forwarders) this._stdin.removeListener(event, forward)
    this._forwarders = []
    this._stdin.pause()
    this.unref()
  }

  destroy() {
    this.detach()
    this.destroyed = true
  }

  pause() {
    if (this._forwarders.length > 0) this._stdin.pause()
  }

  resume() {
    if (this._forwarders.length > 0) this._stdin.resume()
  }

  ref() {
    if (typeof this._stdin.ref === 'function') this._stdin.ref()
  }

  unref() {
    if (typeof this._stdin.unref === 'function') this._stdin.unref()
  }
}

/**
 * Serves (and calls) over this process's stdin/stdout, so this program can be
 * spawned as a MessagePack-RPC peer (Neovim's `jobstart(…, { rpc: v:true })`).
 * From then on anything else written to stdout (console.log included) goes
 * to stderr, so it cannot corrupt the channel. One channel at a time: while
 * one is open, stdio() returns it.
 */
function stdio(handler, options) {
  if (stdioStream) return stdioStream
  const opts = handlerAndOptions(handler, options, 'stdio()')
  const out = process.stdout
  if (stdoutWrite === undefined) {
    stdoutWrite = out.write
    // Stray output goes to stderr from now on.
    out.write = (...a) => process.stderr.write(...a)
  }
  const channel = {
    write: (chunk, cb) => stdoutWrite.call(out, chunk, cb),
    on: (...a) => out.on(...a),
    once: (...a) => out.once(...a),
    end: () => {},
    destroy: () => {},
    get writableLength() {
      return out.writableLength
    },
  }
  const input = new StdinChannel(process.stdin)
  const transport = new DuplexTransport(input, channel, {
    ...opts,
    // Ending the channel: stop reading stdin; stdout stays open for the process.
    onEnd: (t) => {
      input.detach()
      process.nextTick(() => t._close())
    },
  })
  const stream = makeStream(transport, opts, false)
  stdioStream = stream
  stream.once('close', () => {
    if (stdioStream === stream) stdioStream = undefined
  })
  return stream
}

module.exports = { attach, spawn, stdio }
