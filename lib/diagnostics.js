'use strict'
// The `node:diagnostics_channel` channels this library publishes, as undici
// and node:http publish theirs (README "Observability"). Publishers check
// `traced(channel)` once per call: nothing is built for a channel nobody
// subscribes to.

const dc = require('node:diagnostics_channel')
const { Response } = require('./response')

/** Around each outgoing request: `{ method, params, stream }`, then `result` or `error`. */
const call = dc.tracingChannel('msgpack-rpc:call')
/** Around the handling of each incoming request, the same context fields. */
const handle = dc.tracingChannel('msgpack-rpc:handle')
/** `{ method, params, stream }` for each notification sent. */
const notifySent = dc.channel('msgpack-rpc:notify:sent')
/** `{ method, params, stream }` for each notification received. */
const notifyReceived = dc.channel('msgpack-rpc:notify:received')
/** `{ stream, server }` when a connection opens (server undefined for a client). */
const connectionOpen = dc.channel('msgpack-rpc:connection:open')
/** `{ stream, server, reason }` when it closes; `reason` is the Error it closed with. */
const connectionClose = dc.channel('msgpack-rpc:connection:close')

/**
 * Whether any of a tracing channel's five channels has a subscriber.
 * Node 18 has tracing channels without their `hasSubscribers`.
 */
const traced =
  'hasSubscribers' in call
    ? (tc) => tc.hasSubscribers
    : (tc) =>
        tc.start.hasSubscribers || tc.end.hasSubscribers || tc.asyncStart.hasSubscribers || tc.asyncEnd.hasSubscribers || tc.error.hasSubscribers

/**
 * The Response of a traced request: its answer ends the `msgpack-rpc:handle`
 * trace (`result`, or `error` and the error channel; then asyncStart and
 * asyncEnd around the write).
 */
class TracedResponse extends Response {
  constructor(stream, msgid, trace) {
    super(stream, msgid)
    this._trace = trace
  }

  error(error) {
    // The handler's own Error for subscribers; the peer gets its wire form.
    if (!this.sent) this._trace.error = error
    return super.error(error)
  }

  _send(error, result) {
    if (this.sent) return super._send(error, result)
    const trace = this._trace
    if (error === null) trace.result = result
    else {
      if (trace.error === undefined) trace.error = error
      handle.error.publish(trace)
    }
    handle.asyncStart.publish(trace)
    try {
      return super._send(error, result)
    } finally {
      handle.asyncEnd.publish(trace)
    }
  }
}

module.exports = { TracedResponse, call, handle, notifySent, notifyReceived, connectionOpen, connectionClose, traced }
