'use strict'
// A fixed-bucket latency histogram (stream stats, `msgpack-rpc bench`):
// buckets grow by 2% from 1 µs to about an hour, so recording a call
// allocates nothing and a percentile is within 2% of the true value.

const GROWTH = 1.02
const LOG_GROWTH = Math.log(GROWTH)
const BUCKETS = Math.ceil(Math.log(3600e6) / LOG_GROWTH) + 1

class Histogram {
  constructor() {
    // Float64: a long-lived stream's bucket can pass 2^32 calls.
    this.counts = new Float64Array(BUCKETS)
    this.count = 0
    this.max = 0
    // The calls of one batch share their send and receive clock reads, so
    // consecutive records often repeat a value: its bucket is remembered.
    this._lastMs = -1
    this._lastBucket = 0
  }

  /** @param {number} ms */
  record(ms) {
    let i = this._lastBucket
    if (ms !== this._lastMs) {
      const us = ms * 1000
      i = us <= 1 ? 0 : Math.min(BUCKETS - 1, Math.ceil(Math.log(us) / LOG_GROWTH))
      this._lastMs = ms
      this._lastBucket = i
    }
    this.counts[i]++
    this.count++
    if (ms > this.max) this.max = ms
  }

  /** Adds `other`'s calls to this one (a server's stats sum its streams'). */
  add(other) {
    if (other.count === 0) return this
    const counts = this.counts
    const theirs = other.counts
    for (let i = 0; i < BUCKETS; i++) counts[i] += theirs[i]
    this.count += other.count
    if (other.max > this.max) this.max = other.max
    return this
  }

  /** The latency (ms) under which `p` percent of the calls finished. */
  percentile(p) {
    if (this.count === 0) return 0
    const rank = Math.ceil((p / 100) * this.count)
    let seen = 0
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.counts[i]
      if (seen >= rank) return Math.min(this.max, GROWTH ** i / 1000)
    }
    return this.max
  }
}

module.exports = { Histogram }
