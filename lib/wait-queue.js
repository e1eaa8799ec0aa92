'use strict'
// Calls waiting for a connection (a reconnecting client that is down, a
// balancer with no target up): oldest first, each with its timeout and its
// AbortSignal watched until it leaves the queue, whichever way it leaves.

const { AbortWatch } = require('./abort-watch')

class WaitQueue {
  /**
   * @param {{onTimeout: (entry: object) => void, onAbort: (entry: object) => void}} handlers
   *   called with an entry that has just left the queue
   */
  constructor({ onTimeout, onAbort }) {
    this._entries = new Set()
    this._onTimeout = onTimeout
    this._signals = new AbortWatch((entry) => {
      if (this.delete(entry)) onAbort(entry)
    })
  }

  get size() {
    return this._entries.size
  }

  /**
   * Queues `entry`, watching `entry.signal` if it has one; a `ms` over 0
   * starts its timeout (`entry.timer`), which keeps the process alive only
   * if `referenced`.
   */
  add(entry, ms, referenced = true) {
    if (ms > 0) {
      entry.timer = setTimeout(() => {
        if (this.delete(entry)) this._onTimeout(entry)
      }, ms)
      if (!referenced) entry.timer.unref()
    }
    if (entry.signal !== undefined) this._signals.add(entry.signal, entry)
    this._entries.add(entry)
  }

  /** Takes `entry` out, its timer and signal released; whether it was queued. */
  delete(entry) {
    if (!this._entries.delete(entry)) return false
    if (entry.timer !== undefined) clearTimeout(entry.timer)
    entry.timer = undefined
    if (entry.signal !== undefined) this._signals.delete(entry.signal, entry)
    return true
  }

  /** Whether the entries' timeouts keep the process alive. */
  setRef(referenced) {
    for (const entry of this._entries) if (entry.timer !== undefined) referenced ? entry.timer.ref() : entry.timer.unref()
  }

  /** Takes every entry out, oldest first. */
  drain() {
    const entries = [...this._entries]
    for (const entry of entries) this.delete(entry)
    return entries
  }

  [Symbol.iterator]() {
    return this._entries.values()
  }
}

module.exports = { WaitQueue }
