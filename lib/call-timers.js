'use strict'
// The timeouts of one stream's pending calls: one Node timer per stream, not
// one per call. Calls with the same timeout expire in the order they were
// sent, so each timeout value keeps its calls in a list linked through the
// calls themselves (`timedPrev`/`timedNext`): adding or removing a call
// allocates nothing, and the stream's timer is armed for the earliest
// deadline. Calls with yet another timeout value, past MAX_LISTS in use,
// or one longer than a Node timer can wait, get a Node timer of their own,
// as every call used to.

const clock = require('./clock')

/** Distinct timeout values kept in lists; a stream rarely uses more than one or two. */
const MAX_LISTS = 8
/** Node's longest timer; a longer timeout is Node's to handle (it fires after 1 ms, with a warning). */
const TIMEOUT_MAX = 0x7fffffff

class TimeoutList {
  constructor(ms) {
    this.ms = ms
    this.head = undefined
    this.tail = undefined
  }
}

class CallTimers {
  /** @param {(call: object, ms: number) => void} onExpire the call's time is up (it is still in its list) */
  constructor(onExpire) {
    this._onExpire = onExpire
    /** @type {TimeoutList[]} */
    this._lists = []
    this._timer = undefined
    /** The deadline (clock.now() time) the timer is armed for. */
    this._armedFor = Infinity
    this._referenced = true
    /** Inside `_fire`: calls added meanwhile wait for its re-arming. */
    this._firing = false
    this._fire = this._fire.bind(this)
  }

  /**
   * Starts `call`'s timeout of `ms` from `now`, a clock.now() read
   * when the call was made (so deadlines in one list only grow).
   */
  add(call, ms, now) {
    const list = ms > TIMEOUT_MAX ? undefined : this._list(ms)
    if (list === undefined) {
      call.timer = setTimeout(this._onExpire, ms, call, ms)
      if (!this._referenced) call.timer.unref()
      return
    }
    call.deadline = now + ms
    call.timedList = list
    call.timedPrev = list.tail
    call.timedNext = undefined
    if (list.tail === undefined) list.head = call
    else list.tail.timedNext = call
    list.tail = call
    if (!this._firing && call.deadline < this._armedFor) this._arm(call.deadline, now)
  }

  /** Stops `call`'s timeout (it was answered, aborted or failed). */
  remove(call) {
    if (call.timer !== undefined) {
      clearTimeout(call.timer)
      call.timer = undefined
      return
    }
    const list = call.timedList
    if (list === undefined) return
    const { timedPrev: prev, timedNext: next } = call
    if (prev === undefined) list.head = next
    else prev.timedNext = next
    if (next === undefined) list.tail = prev
    else next.timedPrev = prev
    call.timedList = call.timedPrev = call.timedNext = undefined
    // The timer stays armed: when it fires with nothing due it re-arms or stops.
  }

  /** Forgets every timeout (the stream closed; its calls were failed). */
  clear() {
    for (const list of this._lists) {
      for (let call = list.head; call !== undefined; ) {
        const next = call.timedNext
        call.timedList = call.timedPrev = call.timedNext = undefined
        call = next
      }
    }
    this._lists = []
    this._disarm()
  }

  /** Whether the timer keeps the event loop alive; own timers are the caller's to set. */
  setRef(referenced) {
    this._referenced = referenced
    if (this._timer !== undefined) {
      if (referenced) this._timer.ref()
      else this._timer.unref()
    }
  }

  _list(ms) {
    const lists = this._lists
    for (let i = 0; i < lists.length; i++) if (lists[i].ms === ms) return lists[i]
    if (lists.length >= MAX_LISTS) return undefined
    const list = new TimeoutList(ms)
    lists.push(list)
    return list
  }

  _arm(deadline, now) {
    if (this._timer !== undefined) clearTimeout(this._timer)
    this._armedFor = deadline
    this._timer = setTimeout(this._fire, Math.max(1, Math.ceil(deadline - now)))
    if (!this._referenced) this._timer.unref()
  }

  _disarm() {
    if (this._timer !== undefined) clearTimeout(this._timer)
    this._timer = undefined
    this._armedFor = Infinity
  }

  /** Expires every call now due, earliest deadline first, then re-arms for the next. */
  _fire() {
    this._timer = undefined
    this._armedFor = Infinity
    this._firing = true
    try {
      this._expireDue()
    } finally {
      this._firing = false
    }
    let next
    const lists = this._lists
    for (let i = lists.length - 1; i >= 0; i--) {
      const head = lists[i].head
      if (head === undefined) lists.splice(i, 1)
      else if (next === undefined || head.deadline < next) next = head.deadline
    }
    if (next !== undefined) this._arm(next, clock.now())
  }

  _expireDue() {
    for (;;) {
      const now = clock.now()
      let due
      for (const list of this._lists) {
        const head = list.head
        if (head !== undefined && head.deadline <= now && (due === undefined || head.deadline < due.deadline)) due = head
      }
      if (due === undefined) break
      // onExpire settles the call, which removes it; user code it runs may add or clear.
      const list = due.timedList
      this.remove(due)
      this._onExpire(due, list.ms)
    }
  }
}

module.exports = { CallTimers }
