'use strict'
// The calls of one stream awaiting their reply, by msgid.
//
// Msgids are handed out in sequence, so the calls in flight sit in a narrow
// window of ids: an array indexed by `msgid & mask` finds a reply's call with
// one load and one compare, where a Map hashes, and its deleted entries make
// garbage for the collector. A msgid whose slot is taken (a slow call a lap
// of the ring behind, or msgids far apart after the 2^32 wrap) goes to a Map
// on the side. The ring doubles once it is half full, up to MAX_RING slots.

/** Slots of a new ring; a stream that never calls allocates none. */
const FIRST_RING = 64
/** Past this many slots, calls beyond the window wait in the Map. */
const MAX_RING = 65536

class PendingCalls {
  constructor() {
    /** @type {Array|undefined} slots of calls (`call.id` is its msgid), made at the first call */
    this._ring = undefined
    this._mask = 0
    /** msgid -> call for the calls whose ring slot was taken; undefined while empty. */
    this._overflow = undefined
    /** Insertion count: `values()` lists the calls in the order they were added, as a Map would. */
    this._added = 0
    this.size = 0
  }

  get(id) {
    if (this._ring === undefined) return undefined
    const call = this._ring[id & this._mask]
    if (call !== undefined && call.id === id) return call
    return this._overflow === undefined ? undefined : this._overflow.get(id)
  }

  has(id) {
    return this.get(id) !== undefined
  }

  /** Adds `call` under msgid `id` (not pending already); sets `call.id`. */
  set(id, call) {
    call.id = id
    call.order = this._added++
    this.size++
    if (this._ring === undefined) this._resize(FIRST_RING)
    else if (this.size > this._ring.length >> 1 && this._ring.length < MAX_RING) this._resize(this._ring.length * 2)
    this._place(call)
  }

  /** Removes msgid `id`'s call; whether there was one. */
  delete(id) {
    if (this._ring === undefined) return false
    const slot = id & this._mask
    const call = this._ring[slot]
    if (call !== undefined && call.id === id) {
      this._ring[slot] = undefined
    } else if (this._overflow === undefined || !this._overflow.delete(id)) {
      return false
    } else if (this._overflow.size === 0) {
      this._overflow = undefined
    }
    this.size--
    return true
  }

  /** Every pending call, oldest first. */
  values() {
    const calls = []
    if (this.size === 0) return calls
    for (const call of this._ring) if (call !== undefined) calls.push(call)
    if (this._overflow !== undefined) {
      for (const call of this._overflow.values()) calls.push(call)
      calls.sort(byOrder)
    } else if (calls.length > 1) {
      calls.sort(byOrder)
    }
    return calls
  }

  /** Forgets every call and the ring with them (a ring grown for a burst is not kept). */
  clear() {
    this._ring = undefined
    this._mask = 0
    this._overflow = undefined
    this.size = 0
  }

  _place(call) {
    const slot = call.id & this._mask
    if (this._ring[slot] === undefined) this._ring[slot] = call
    else (this._overflow ||= new Map()).set(call.id, call)
  }

  _resize(slots) {
    const calls = this._ring === undefined ? [] : this.values()
    this._ring = new Array(slots).fill(undefined)
    this._mask = slots - 1
    this._overflow = undefined
    for (const call of calls) this._place(call)
  }
}

function byOrder(a, b) {
  return a.order - b.order
}

module.exports = { PendingCalls }
