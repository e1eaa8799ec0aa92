'use strict'
// The names objects of this library use to reach into each other (ws's
// kWebSocket habit): symbols, so no user property can collide with them and
// every cross-object access is greppable here. Plus the transport contract
// (docs/design.md, "Transport contract") as a JSDoc type.

/**
 * What RpcStream needs of a transport: NativeConnection (TCP, unix, adopted
 * sockets), DuplexTransport (attach, spawn, stdio) and DatagramTransport (UDP).
 *
 * @typedef {object} Transport
 * @property {(onEvent: (kind: number, payload?: *, length?: number) => (boolean|undefined)) => void} [start]
 *   starts delivering events (accepted connections and JS-side transports)
 * @property {(bytes: Uint8Array) => number} write bytes now queued, or -1 once it refuses writes
 * @property {() => number} pendingBytes bytes queued and not yet written
 * @property {() => void} end flush what is queued, then close
 * @property {() => void} destroy close at once
 * @property {(referenced: boolean) => void} setRef whether it keeps the event loop alive
 * @property {() => object} endpoints `net.Socket`-style addresses of both ends
 * @property {() => void} dispose release what outlives the close
 * @property {() => void} [resumeReading] deliver again after MESSAGES returned true
 * @property {boolean} [datagram] one message per datagram (UDP)
 * @property {number} [maxDatagramSize] with `datagram`
 */

module.exports = {
  /** RpcStream → its Transport. */
  kTransport: Symbol('msgpack-rpc.transport'),
  /** RpcStream: the bound event callback a transport reports to. */
  kOnEvent: Symbol('msgpack-rpc.onEvent'),
  /** RpcStream: answer a request (Response calls it). */
  kRespond: Symbol('msgpack-rpc.respond'),
  /** RpcStream: whether Error answers carry their fields. */
  kErrorFields: Symbol('msgpack-rpc.errorFields'),
  /** RpcStream: 'connecting' | 'open' | 'closing' | 'closed'. */
  kState: Symbol('msgpack-rpc.state'),
  /** RpcStream: flush, then end the transport. */
  kEnd: Symbol('msgpack-rpc.end'),
  /** RpcStream: close the transport at once. */
  kDestroy: Symbol('msgpack-rpc.destroy'),
  /** RpcStream: bytes encoded or queued and not yet written. */
  kBufferedBytes: Symbol('msgpack-rpc.bufferedBytes'),
  /** RpcStream: one `net.Socket`-style address field. */
  kEndpoint: Symbol('msgpack-rpc.endpoint'),
  /** RpcStream: the server is closing (finish what was received, refuse the rest). */
  kCloseForServer: Symbol('msgpack-rpc.closeForServer'),
  /** RpcStream: requests received and not yet answered. */
  kIncoming: Symbol('msgpack-rpc.incoming'),
  /** RpcStream: its stats counters. */
  kCounters: Symbol('msgpack-rpc.counters'),
  /** RpcStream: a printable name of the peer, for debug lines. */
  kPeerName: Symbol('msgpack-rpc.peerName'),
  /** Server / UdpServer: a stream of theirs closed. */
  kForget: Symbol('msgpack-rpc.forget'),
}
