'use strict'
// Closing connections that sit idle: one unref'd sweep timer per owner (a
// server, a session pool) instead of a timer per connection. A connection
// is idle when nothing was delivered to it, it handles no request and
// awaits no reply for `ms`.

class IdleSweeper {
  /**
   * @param {number} ms
   * @param {function(import('./stream').RpcStream): void} onIdle called once per idle stream (then forgotten)
   */
  constructor(ms, onIdle) {
    this._ms = ms
    this._onIdle = onIdle
    /** stream -> { deliveries seen at the last sweep, when it was last busy } */
    this._entries = new Map()
    this._timer = undefined
  }

  add(stream) {
    this._entries.set(stream, { deliveries: stream._deliveries, since: Date.now() })
    if (this._timer === undefined) {
      // A stream is closed between `ms` and 1.25 * `ms` after it fell silent.
      this._timer = setInterval(() => this._sweep(), Math.max(1, Math.floor(this._ms / 4)))
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
    for (const [stream, entry] of this._entries) {
      if (stream._deliveries !== entry.deliveries || stream._incoming > 0 || stream._pending.size > 0 || waiting(stream)) {
        entry.deliveries = stream._deliveries
        entry.since = now
      } else if (now - entry.since >= this._ms) {
        idle.push(stream)
      }
    }
    for (const stream of idle) {
      this.delete(stream)
      this._onIdle(stream)
    }
  }
}

/** A reconnecting client with calls queued is not idle. */
function waiting(stream) {
  return stream._client !== undefined && stream._client._queue.size > 0
}

module.exports = { IdleSweeper }
