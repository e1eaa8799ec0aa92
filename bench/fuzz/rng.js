'use strict'
// A small seeded PRNG (mulberry32), so that `--seed N` replays the same
// sequence of inputs on each transport.

class Rng {
  /** @param {number} seed any integer; only its low 32 bits count */
  constructor(seed) {
    this._s = seed >>> 0
  }

  /** A uniform 32-bit unsigned integer. */
  u32() {
    let t = (this._s = (this._s + 0x6d2b79f5) >>> 0)
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return (t ^ (t >>> 14)) >>> 0
  }

  /** An integer in [0, n). */
  int(n) {
    return Math.floor((this.u32() / 4294967296) * n)
  }

  /** An integer in [lo, hi]. */
  range(lo, hi) {
    return lo + this.int(hi - lo + 1)
  }

  /** True with probability p. */
  chance(p) {
    return this.u32() / 4294967296 < p
  }

  pick(items) {
    return items[this.int(items.length)]
  }

  /** Picks from `[[weight, value], ...]`. */
  weighted(table) {
    let total = 0
    for (const [w] of table) total += w
    let r = this.int(total)
    for (const [w, v] of table) {
      if (r < w) return v
      r -= w
    }
    return table[table.length - 1][1]
  }

  /** A length that is usually small and sometimes up to `max`. */
  size(max) {
    const r = this.int(100)
    if (r < 60) return this.int(Math.min(max, 8) + 1)
    if (r < 90) return this.int(Math.min(max, 64) + 1)
    return this.int(max + 1)
  }

  bytes(n) {
    const b = Buffer.allocUnsafe(n)
    for (let i = 0; i < n; i++) b[i] = this.int(256)
    return b
  }

  /** A new generator whose sequence depends only on this one's next draw. */
  fork() {
    return new Rng(this.u32())
  }
}

module.exports = { Rng }
