'use strict'
// A fixed-bucket latency histogram (stream stats, `msgpack-rpc bench`):
// buckets grow by 2% from 1 µs to about an hour, so a percentile is within
// 2% of the true value. Buckets are allocated in blocks as calls first land
// in them: a connection that made one call holds one block, not the whole
// range, and recording allocates nothing once a latency range is covered.
// While every call so far landed in one bucket (a connection that made one
// call) there are no blocks at all: the count and that bucket say it all.

const GROWTH = 1.02
const LOG_GROWTH = Math.log(GROWTH)
const BUCKETS = Math.ceil(Math.log(3600e6) / LOG_GROWTH) + 1
const BLOCK_BITS = 6
const BLOCK = 1 << BLOCK_BITS
const BLOCKS = Math.ceil(BUCKETS / BLOCK)

class Histogram {
  constructor() {
    /**
     * Blocks of BLOCK bucket counts (Float64: a long-lived stream's bucket
     * can pass 2^32 calls), each undefined until used; the whole table
     * undefined while every call is in bucket `_lastBucket`.
     */
    this.blocks = undefined
    this.count = 0
    this.max = 0
    // The calls of one batch share their send and receive clock reads, so
    // consecutive records often repeat a value: its bucket is remembered.
    this._lastMs = -1
    this._lastBucket = 0
  }

  /** @param {number} ms */
  record(ms) {
    const previous = this._lastBucket
    let i = previous
    if (ms !== this._lastMs) {
      const us = ms * 1000
      i = us <= 1 ? 0 : Math.min(BUCKETS - 1, Math.ceil(Math.log(us) / LOG_GROWTH))
      this._lastMs = ms
      this._lastBucket = i
    }
    if (this.blocks !== undefined) this._block(i >> BLOCK_BITS)[i & (BLOCK - 1)]++
    else if (this.count > 0 && i !== previous) {
      this._spread(previous)
      this._block(i >> BLOCK_BITS)[i & (BLOCK - 1)]++
    }
    this.count++
    if (ms > this.max) this.max = ms
  }

  /** Makes the block table, the calls so far (all in `bucket`) counted in it. */
  _spread(bucket) {
    this.blocks = new Array(BLOCKS).fill(undefined)
    if (this.count > 0) this._block(bucket >> BLOCK_BITS)[bucket & (BLOCK - 1)] = this.count
  }

  _block(b) {
    let block = this.blocks[b]
    if (block === undefined) block = this.blocks[b] = new Float64Array(BLOCK)
    return block
  }

  /** Adds `other`'s calls to this one (a server's stats sum its streams'). */
  add(other) {
    if (other.count === 0) return this
    if (other.blocks === undefined) {
      const bucket = other._lastBucket
      if (this.blocks === undefined && (this.count === 0 || this._lastBucket === bucket)) {
        // Still one bucket: ours is theirs (a later record compares with it).
        this._lastBucket = bucket
        this._lastMs = other._lastMs
      } else {
        if (this.blocks === undefined) this._spread(this._lastBucket)
        this._block(bucket >> BLOCK_BITS)[bucket & (BLOCK - 1)] += other.count
      }
      this.count += other.count
      if (other.max > this.max) this.max = other.max
      return this
    }
    if (this.blocks === undefined) this._spread(this._lastBucket)
    for (let b = 0; b < BLOCKS; b++) {
      const theirs = other.blocks[b]
      if (theirs === undefined) continue
      const ours = this._block(b)
      for (let i = 0; i < BLOCK; i++) ours[i] += theirs[i]
    }
    this.count += other.count
    if (other.max > this.max) this.max = other.max
    return this
  }

  /** The latency (ms) under which `p` percent of the calls finished. */
  percentile(p) {
    if (this.count === 0) return 0
    if (this.blocks === undefined) return Math.min(this.max, GROWTH ** this._lastBucket / 1000)
    const rank = Math.ceil((p / 100) * this.count)
    let seen = 0
    for (let b = 0; b < BLOCKS; b++) {
      const block = this.blocks[b]
      if (block === undefined) continue
      for (let i = 0; i < BLOCK; i++) {
        seen += block[i]
        if (seen >= rank) return Math.min(this.max, GROWTH ** ((b << BLOCK_BITS) + i) / 1000)
      }
    }
    return this.max
  }
}

module.exports = { Histogram }
