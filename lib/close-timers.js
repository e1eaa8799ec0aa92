'use strict'
// The closeTimeout of every closing client (lib/reconnect.js): one unref'd
// Node timer for the process, not one per close. A clean close ends long
// before its bound, so all it costs here is an add and a delete, where a
// Node timer of its own cost an object, the timer list's bookkeeping and
// libuv calls to reference, unreference and read the loop's clock. Closes
// with the same timeout expire in the order they began, so each timeout
// value keeps its closes in insertion order and the timer is armed for the
// earliest deadline among the first of each.

const clock = require('./clock')

/** Timeout ms -> the closes waiting with that timeout (objects with `closeDeadline` and `closeTimedOut()`), oldest first. */
const waiting = new Map()
let timer
/** The deadline (clock.now() time) the timer is armed for; Infinity when it is not. */
let armedFor = Infinity

/**
 * Starts `closing`'s bound of `ms`: `closing.closeTimedOut()` runs then
 * unless `remove(closing)` came first. `closing.closeDeadline` is not 0
 * while it waits.
 */
function add(closing, ms) {
  const now = clock.now()
  closing.closeDeadline = now + ms
  closing.closeTimeoutMs = ms
  let list = waiting.get(ms)
  if (list === undefined) waiting.set(ms, (list = new Set()))
  list.add(closing)
  if (closing.closeDeadline < armedFor) arm(closing.closeDeadline, now)
}

/** Ends `closing`'s bound (it closed); whether it was waiting. */
function remove(closing) {
  closing.closeDeadline = 0
  const list = waiting.get(closing.closeTimeoutMs)
  return list !== undefined && list.delete(closing)
}

function arm(deadline, now) {
  if (timer !== undefined) clearTimeout(timer)
  armedFor = deadline
  // A timer fires no earlier than asked, but measured by the loop's clock; never sooner than 1 ms.
  timer = setTimeout(fire, Math.max(1, Math.ceil(deadline - now)))
  timer.unref()
}

function fire() {
  timer = undefined
  armedFor = Infinity
  const now = clock.now()
  const expired = []
  let next = Infinity
  for (const [ms, list] of waiting) {
    for (const closing of list) {
      if (closing.closeDeadline > now) {
        if (closing.closeDeadline < next) next = closing.closeDeadline
        break
      }
      list.delete(closing)
      closing.closeDeadline = 0
      expired.push(closing)
    }
    if (list.size === 0) waiting.delete(ms)
  }
  if (next !== Infinity) arm(next, now)
  for (const closing of expired) closing.closeTimedOut()
}

module.exports = { add, remove }
