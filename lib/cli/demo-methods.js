'use strict'
// What `msgpack-rpc serve` answers when given no module.

module.exports = {
  /** → "pong" */
  ping() {
    return 'pong'
  },
  /** Its arguments, as an array. */
  echo(...args) {
    return args
  },
  /** a + b (numbers, or BigInts, or strings). */
  add(a, b) {
    return a + b
  },
  /** Answers null after `ms` milliseconds. */
  sleep(ms) {
    if (typeof ms !== 'number' || !(ms >= 0)) throw new TypeError(`sleep(ms): ms must be a number ≥ 0, got ${JSON.stringify(ms)}`)
    return new Promise((resolve) => setTimeout(() => resolve(null), ms))
  },
}
