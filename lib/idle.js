'use strict'
// Watching connections for silence and for slow messages, with one unref'd
// sweep timer per owner (a server, a session pool) instead of timers per
// connection. A connection is idle when nothing was delivered to it, no
// byte of a message arrived, it handles no request and awaits no reply for
// `idleTimeout` ms. A message is slow (slowloris) when its first bytes have
// been buffered for `maxMessageTime` ms without it being complete.

const { kClient, kDeliveries, kIncoming, kPending, kTransport } = require('./constants')
const errors = require('./errors')

class IdleSweeper {
  /**
   * @param {{idleTimeout?: number, maxMessageTime?: number}} limits ms; either may be left out
   * @param {function(import('./stream').RpcStream): void} onIdle called once per idle stream (then forgotten)
   */
  constructor(limits, onIdle) {
    this._idleTimeout = limits.idleTimeout
    this._maxMessageTime = limits.maxMessageTime
    this._onIdle = onIdle
    /** stream -> what the last sweep saw, and since when it was busy / a message was partial */
    this._entries = new Map()
    this._timer = undefined
    // A limit is acted on between 1 and 1.25 times its value.
    this._every = Math.max(1, Math.floor(Math.min(this._idleTimeout || Infinity, this._maxMessageTime || Infinity) / 4))
  }

  add(stream) {
    this._entries.set(stream, { deliveries: stream[kDeliveries], partial: 0, since: Date.now(), partialSince: -1 })
    if (this._timer === undefined) {
      this._timer = setInterval(() => this._sweep(), this._every)
      this._timer.unref()
    }
  }

  /** Counts as activity now (a pool handing its client out again). */
  touch(stream) {
    const entry = this._entries.get(stream)
    if (entry !== undefined) entry.since = Date.now()
  }

  delete(stream) {
    this._entries.delete(stream)
    if (this._entries.size === 0) this.stop()
  }

  stop() {
    if (this._timer !== undefined) clearInterval(this._timer)
    this._timer = undefined
  }

  _sweep() {
    const now = Date.now()
    const idle = []
    const slow = []
    for (const [stream, entry] of this._entries) {
      const partial = partialBytes(stream)
      const delivered = stream[kDeliveries] !== entry.deliveries
      if (delivered || partial !== entry.partial || stream[kIncoming] > 0 || stream[kPending].size > 0 || waiting(stream)) {
        entry.since = now
      }
      entry.deliveries = stream[kDeliveries]
      entry.partial = partial
      if (this._maxMessageTime !== undefined) {
        // A delivery since the last sweep completed a message: what is partial now is a new one.
        if (partial === 0) entry.partialSince = -1
        else if (entry.partialSince < 0 || delivered) entry.partialSince = now
        else if (now - entry.partialSince >= this._maxMessageTime) {
          slow.push([stream, partial])
          continue
        }
      }
      if (this._idleTimeout !== undefined && now - entry.since >= this._idleTimeout) idle.push(stream)
    }
    for (const [stream, partial] of slow) {
      this.delete(stream)
      stream._onProtocolError(
        new errors.RpcError(
          errors.codes.PROTOCOL,
          `protocol error; a message was still incomplete ${this._maxMessageTime} ms after its first bytes arrived (maxMessageTime; ${partial} bytes buffered)`
        )
      )
    }
    for (const stream of idle) {
      this.delete(stream)
      this._onIdle(stream)
    }
  }
}

function partialBytes(stream) {
  const native = stream[kTransport]
  return native !== undefined && typeof native.partialBytes === 'function' && !stream.closed ? native.partialBytes() : 0
}

/** A reconnecting client with calls queued is not idle. */
function waiting(stream) {
  return stream[kClient] !== undefined && stream[kClient].queued > 0
}

module.exports = { IdleSweeper }
