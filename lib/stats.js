'use strict'
// The counts behind `stream.stats()` and `server.stats()` (README
// "Observability"). A stream counts as it goes; a server sums its open
// streams when asked and keeps what its closed ones counted.

const { kCounters } = require('./constants')
const { Histogram } = require('./histogram')

class Counters {
  constructor() {
    this.callsSent = 0
    this.callsReceived = 0
    /** Calls sent that ended in an error other than a timeout (answered with an error, closed, aborted). */
    this.failed = 0
    this.timedOut = 0
    this.notificationsSent = 0
    this.notificationsReceived = 0
    this.bytesSent = 0
    this.bytesReceived = 0
    /** Made at the first reply timed: most server streams never call, and a histogram is not small. */
    this.latency = undefined
  }

  /** A reply to a call of ours came `ms` after it was sent. */
  reply(ms) {
    if (this.latency === undefined) this.latency = new Histogram()
    this.latency.record(ms)
  }

  /** Adds `other`'s counts to these. */
  add(other) {
    this.callsSent += other.callsSent
    this.callsReceived += other.callsReceived
    this.failed += other.failed
    this.timedOut += other.timedOut
    this.notificationsSent += other.notificationsSent
    this.notificationsReceived += other.notificationsReceived
    this.bytesSent += other.bytesSent
    this.bytesReceived += other.bytesReceived
    if (other.latency !== undefined) {
      if (this.latency === undefined) this.latency = new Histogram()
      this.latency.add(other.latency)
    }
    return this
  }
}

/** The public shape of `stats()`; `pending` is the calls now awaiting a reply. */
function report(counters, pending) {
  const h = counters.latency
  return {
    calls: { sent: counters.callsSent, received: counters.callsReceived, failed: counters.failed, timedOut: counters.timedOut, pending },
    notifications: { sent: counters.notificationsSent, received: counters.notificationsReceived },
    bytes: { sent: counters.bytesSent, received: counters.bytesReceived },
    latency:
      h === undefined
        ? { count: 0, p50: 0, p90: 0, p99: 0, max: 0 }
        : { count: h.count, p50: h.percentile(50), p90: h.percentile(90), p99: h.percentile(99), max: h.max },
  }
}

/**
 * A server's stats: what its closed streams counted plus its open ones,
 * and `connections: { open, total }`.
 * @param {Counters} closed
 * @param {Iterable} streams the open RpcStreams
 * @param {number} total connections ever accepted
 */
function serverReport(closed, streams, total) {
  const sum = new Counters().add(closed)
  let pending = 0
  let open = 0
  for (const stream of streams) {
    sum.add(stream[kCounters])
    pending += stream.pendingCalls
    open++
  }
  const out = report(sum, pending)
  out.connections = { open, total }
  return out
}

module.exports = { Counters, report, serverReport }
