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
 * @returns {Promise<Server>}
 */
function listen(target, handler, options) {
  const server = new Server(handler, options)
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(target, () => {
      server.removeListener('error', reject)
      resolve(server)
    })
  })
}

/**
 * Creates a UDP server: one message per datagram, replies to the sender.
 * @param {function|object} [listener] `function (rpcStream)` per peer, or a handler
 * @param {object} [options] `maxDatagramSize` (default 65507), `timeout`
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
