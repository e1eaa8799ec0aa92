'use strict'
// A monotonic clock in milliseconds, for call latencies and timeout deadlines.
// process.hrtime, not performance.now: node:perf_hooks loads a dozen internal
// modules and its native bindings, pages a server would hold for one clock
// (docs/design.md, "Per-connection memory"); the read costs the same.

const hrtime = process.hrtime

/** Milliseconds since an arbitrary fixed point; only differences mean anything. */
function now() {
  const t = hrtime()
  return t[0] * 1e3 + t[1] / 1e6
}

module.exports = { now }
