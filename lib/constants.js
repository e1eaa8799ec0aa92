'use strict'
// The names objects of this library use to reach into each other (ws's
// kWebSocket habit): symbols, so no user property can collide with them and
// every cross-object access can be found here.

module.exports = {
  /** RpcStream: 'connecting' | 'open' | 'closing' | 'closed'. */
  kState: Symbol('msgpack-rpc.state'),
  /** RpcStream: whether it keeps the event loop alive. */
  kReferenced: Symbol('msgpack-rpc.referenced'),
  /** RpcStream: its Transport (lib/stream.js has the contract). */
  kTransport: Symbol('msgpack-rpc.transport'),
  /** RpcStream: a transport error arrived. */
  kOnTransportError: Symbol('msgpack-rpc.onTransportError'),
  /** RpcStream: the default per-call timeout. */
  kTimeout: Symbol('msgpack-rpc.timeout'),
  /** RpcStream: send a request for a pending call. */
  kCall: Symbol('msgpack-rpc.call'),
  /** RpcStream: fail a call that was never sent. */
  kRefuse: Symbol('msgpack-rpc.refuse'),
  /** RpcStream: why it closed (or is closing). */
  kCloseError: Symbol('msgpack-rpc.closeError'),
  /** RpcStream: fail every pending call. */
  kFailAll: Symbol('msgpack-rpc.failAll'),
  /** RpcStream: emit where a throwing listener is a reported fault. */
  kEmitGuarded: Symbol('msgpack-rpc.emitGuarded'),
  /** RpcStream: the transport closed. */
  kOnClose: Symbol('msgpack-rpc.onClose'),
  /** RpcStream: forget a lost connection before the next one. */
  kResetForReconnect: Symbol('msgpack-rpc.resetForReconnect'),
  /** Socket: apply keepalive/nodelay to a new transport. */
  kApplySocketOptions: Symbol('msgpack-rpc.applySocketOptions'),
  /** RpcStream: flush, then end the transport. */
  kEnd: Symbol('msgpack-rpc.end'),
  /** RpcStream: close the transport at once. */
  kDestroy: Symbol('msgpack-rpc.destroy'),
  /** RpcStream: bytes encoded or queued, not yet written. */
  kBufferedBytes: Symbol('msgpack-rpc.bufferedBytes'),
  /** RpcStream: one `net.Socket`-style address field. */
  kEndpoint: Symbol('msgpack-rpc.endpoint'),
  /** RpcStream: close once every request received is answered. */
  kCloseWhenIdle: Symbol('msgpack-rpc.closeWhenIdle'),
  /** RpcStream: a printable name of the peer (debug lines). */
  kPeerName: Symbol('msgpack-rpc.peerName'),
  /** Transports report events to this bound callback (RpcStream, Server). */
  kOnEvent: Symbol('msgpack-rpc.onEvent'),
  /** RpcStream: its server is closing. */
  kCloseForServer: Symbol('msgpack-rpc.closeForServer'),
  /** RpcStream: its stats counters. */
  kCounters: Symbol('msgpack-rpc.counters'),
  /** Server / UdpServer: a stream of theirs closed. */
  kForget: Symbol('msgpack-rpc.forget'),
  /** RpcStream: requests received, not yet answered. */
  kIncoming: Symbol('msgpack-rpc.incoming'),
  /** RpcStream: answer a request (Response calls it). */
  kRespond: Symbol('msgpack-rpc.respond'),
  /** RpcStream: whether Error answers carry their fields. */
  kErrorFields: Symbol('msgpack-rpc.errorFields'),
  /** RpcStream: report a request handler fault. */
  kHandlerFault: Symbol('msgpack-rpc.handlerFault'),
  /** RpcStream: report a notification handler fault. */
  kNotificationFault: Symbol('msgpack-rpc.notificationFault'),
  /** RpcStream: batches delivered so far (idle sweeps compare it). */
  kDeliveries: Symbol('msgpack-rpc.deliveries'),
  /** RpcStream: a client's connection manager (lib/reconnect.js). */
  kClient: Symbol('msgpack-rpc.client'),
  /** RpcStream: run a legacy callback, a throw reported. */
  kCallback: Symbol('msgpack-rpc.callback'),
  /** RpcStream: emit 'error' where someone listens. */
  kEmitError: Symbol('msgpack-rpc.emitError'),
  /** RpcStream: msgid -> pending call. */
  kPending: Symbol('msgpack-rpc.pending'),
}
