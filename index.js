'use strict'
// msgpack-rpc: MessagePack-RPC for Node.js on a Rust core.
// The drop-in API of node-msgpack-rpc, plus promises and typed errors.

const { Server } = require('./lib/server')
const { RpcStream } = require('./lib/stream')
const { Response } = require('./lib/response')
const { createClient, connect } = require('./lib/client')
const { SessionPool } = require('./lib/session-pool')
const { Ext, encode, decode } = require('./lib/codec')
const { attach, spawn, stdio } = require('./lib/attach')
const { UdpServer, createUdpClient } = require('./lib/udp')
const { Balancer, createBalancer } = require('./lib/balancer')
const errors = require('./lib/errors')

/**
 * Creates a server. `listener(rpcStream)` runs for each connection; an
 * object instead is taken as the handler.
 * @param {function|object} [listener]
 * @param {object} [options] limits (`maxMessageSize`, `maxDepth`,
 *   `highWaterMark`), `timeout` for calls to clients, `closeTimeout`
 */
function createServer(listener, options) {
  return new Server(listener, options)
}

/**
 * Creates a server and starts listening; resolves once it listens.
 * `listen(port[, host], handler[, options])`, `listen(path, handler[, options])`
 * or `listen({ port, host, path, backlog }, handler[, options])`. Bad
 * arguments throw synchronously; a failure to listen rejects.
 * @param {number|string|object} target
 * @param {...*} rest `[host,] handler[, options]`; a function handler is a `'connection'` listener
 * @returns {Promise<Server>}
 */
function listen(target, ...rest) {
  const host = typeof rest[0] === 'string' ? rest.shift() : undefined
  const [handler, options] = rest
  const server = new Server(handler, options)
  server.listen(...(host === undefined ? [target] : [target, host]))
  // listen() reports on a later tick, so these listeners are in time.
  return new Promise((resolve, reject) => {
    const onError = (err) => {
      server.removeListener('listening', onListening)
      reject(err)
    }
    const onListening = () => {
      server.removeListener('error', onError)
      resolve(server)
    }
    server.once('error', onError)
    server.once('listening', onListening)
  })
}

/**
 * Creates a UDP server: one message per datagram, replies to the sender.
 * @param {function|object} [listener] `function (rpcStream)` per peer, or a handler
 * @param {object} [options] `maxDatagramSize` (default 65507), `peerIdleTimeout`
 *   (default 60000 ms), `timeout` and the connection options
 */
function createUdpServer(listener, options) {
  return new UdpServer(listener, options)
}

module.exports = {
  createServer,
  createUdpServer,
  createUdpClient,
  attach,
  spawn,
  stdio,
  UdpServer,
  createClient,
  createBalancer,
  Balancer,
  connect,
  listen,
  Server,
  RpcStream,
  Client: RpcStream,
  Response,
  SessionPool,
  Ext,
  encode,
  decode,
  codes: errors.codes,
  RpcError: errors.RpcError,
  RemoteError: errors.RemoteError,
  TimeoutError: errors.TimeoutError,
  ClosedError: errors.ClosedError,
  AbortError: errors.AbortError,
}
module.exports.default = module.exports
