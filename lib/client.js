'use strict'
// createClient / connect: a client RpcStream over TCP or a unix socket.

const binding = require('./binding')
const { RpcStream, argError } = require('./stream')
const { connectionOptions, toPort } = require('./server')

/**
 * `createClient(port[, host][, readyCb])`, `createClient(path[, readyCb])`
 * or `createClient({ port, host, path, timeout, handler, ...limits }[, readyCb])`.
 * Calls made before the connection is up are queued.
 */
function createClient(target, host, readyCb, extra) {
  if (typeof host === 'function') {
    extra = readyCb
    readyCb = host
    host = undefined
  }
  const options = normalize(target, host, extra)
  const stream = new RpcStream(undefined, {
    connecting: true,
    handler: options.handler,
    timeout: options.timeout,
    highWaterMark: options.highWaterMark,
    maxPendingCalls: options.maxPendingCalls,
  })
  if (typeof readyCb === 'function') stream.once('ready', readyCb)
  stream._native = binding.native.NativeConnection.connect(
    { path: options.path, host: options.host, port: options.port },
    connectionOptions(options),
    stream._onEvent
  )
  return stream
}

/**
 * Connects and resolves with a ready client, or rejects with the connect error.
 * @returns {Promise<RpcStream>}
 */
function connect(target, host, options) {
  if (host !== null && typeof host === 'object') {
    options = host
    host = undefined
  }
  return new Promise((resolve, reject) => {
    const client = createClient(target, host, undefined, options)
    const onClose = () => reject(client._closeError)
    client.once('close', onClose)
    client.once('ready', () => {
      client.removeListener('close', onClose)
      resolve(client)
    })
  })
}

function normalize(target, host, extra = {}) {
  if (target !== null && typeof target === 'object') {
    const options = { ...extra, ...target }
    if (options.path === undefined) options.port = toPort(options.port)
    return options
  }
  if (typeof target === 'string' && !/^\d+$/.test(target)) return { ...extra, path: target }
  if (typeof target === 'number' || typeof target === 'string') {
    return { ...extra, port: toPort(target), host: host || extra.host || 'localhost' }
  }
  throw argError('port', 'a number, a string or an options object', target)
}

module.exports = { createClient, connect }
