'use strict'
// createClient / connect: a client RpcStream over TCP or a unix socket.

const { kClient } = require('./constants')
const binding = require('./binding')
const { promiseFor } = require('./promise-for')
const { RpcStream, streamSettings } = require('./stream')
const { ClientConnection } = require('./reconnect')
const { connectionOptions } = require('./server')
const v = require('./validate')

/**
 * `createClient(port[, host][, options][, readyCb])`,
 * `createClient(path[, options][, readyCb])` or
 * `createClient({ port, host, path, timeout, handler, reconnect, ...limits }[, readyCb])`.
 * Calls made before the connection is up are queued (with `reconnect`,
 * also while it is down, up to `maxQueuedCalls`). Bad arguments throw
 * synchronously, as `net.connect` does.
 */
function createClient(target, ...rest) {
  const readyCb = typeof rest[rest.length - 1] === 'function' ? rest.pop() : undefined
  return open(clientOptions(target, rest[0], rest[1], 'createClient()'), readyCb)
}

/**
 * `connect(port[, host][, options])`, `connect(path[, options])` or
 * `connect({ port, host, path, ...options })`: resolves with a ready client,
 * or rejects with the connect error (with `reconnect`: once attempts run out).
 * @returns {Promise<RpcStream>}
 */
function connect(target, host, options) {
  return promiseFor(open(clientOptions(target, host, options, 'connect()')), settleOpen)
}

/** connect()'s promise is settled by the client's connection (no closures per client). */
function settleOpen(stream, resolve, reject) {
  stream[kClient].settleOpen(resolve, reject)
}

/** The stream settings of a client without options of its own, made once and shared. */
let defaultSettings

/** A client stream from validated options. */
function open(options, readyCb) {
  const stream = new RpcStream(undefined, { connecting: true, timeout: options.timeout, settings: settingsOf(options) })
  if (readyCb) stream.once('ready', readyCb)
  if (options.keepAlive !== undefined) stream.stream.setKeepAlive(options.keepAlive, options.keepAliveInitialDelay)
  const target = { path: options.path, host: options.host, port: options.port }
  // Without limits of its own, no options object at all: the addon reads an
  // object field by field on every connect, undefined fields included, and
  // none means its defaults.
  const native =
    options.maxMessageSize === undefined && options.maxDepth === undefined && options.highWaterMark === undefined
      ? undefined
      : connectionOptions(options)
  // Each attempt (one without `reconnect`) is a new native connection.
  const dial = (onEvent) => binding.native.NativeConnection.connect(target, native, onEvent)
  stream[kClient] = new ClientConnection(stream, dial, options)
  stream[kClient].start()
  return stream
}

/** What the client's RpcStream is made with: shared unless the options set some of it. */
function settingsOf(options) {
  const own =
    (options.handler !== undefined && options.handler !== null) ||
    options.highWaterMark !== undefined ||
    options.maxPendingCalls !== undefined ||
    options.appendResponse !== undefined ||
    options.errorFields !== undefined
  return own ? streamSettings(v.streamOptions(options)) : (defaultSettings ??= streamSettings({}))
}

/**
 * One validated options object from the positional forms: `target` is a
 * port, a path or an options object; `host` may be left out (an object in
 * its place is the options).
 */
function clientOptions(target, host, options, fn) {
  if (host !== null && typeof host === 'object') {
    options = host
    host = undefined
  }
  if (host !== undefined && host !== null) v.validateString(host, 'host')
  const opts = v.validateOptions(options, v.CLIENT_OPTIONS, fn)
  if (target !== null && typeof target === 'object') {
    Object.assign(opts, v.validateOptions(target, v.CLIENT_OPTIONS, fn))
  } else if (typeof target === 'string' && !/^\s*\d+\s*$/.test(target)) {
    opts.path = target
  } else if (typeof target === 'number' || typeof target === 'string') {
    opts.port = v.validatePort(target)
  } else if (target !== undefined && target !== null) {
    throw v.invalidArgType('port', ['number', 'string', 'object'], target)
  }
  if (opts.path === undefined) {
    if (opts.port === undefined) throw v.missingArgs(['options', 'port', 'path'])
    opts.host = host || opts.host || 'localhost'
  }
  return opts
}

module.exports = { createClient, connect, clientOptions }
