'use strict'
// Calls that share an AbortSignal share one 'abort' listener. A listener per
// call would trip Node's MaxListenersExceededWarning once eleven calls wait
// on one signal, the usual way to cancel a batch.

class AbortWatch {
  /** @param {(item: *) => void} onAbort called for each watched item when its signal aborts */
  constructor(onAbort) {
    this._onAbort = onAbort
    /** AbortSignal -> { items: Set, listener } */
    this._signals = new Map()
  }

  /** Watches `item` until `delete`, or until `signal` aborts (then `onAbort(item)`). */
  add(signal, item) {
    let entry = this._signals.get(signal)
    if (entry === undefined) {
      entry = { items: new Set(), listener: () => this._aborted(signal) }
      signal.addEventListener('abort', entry.listener, { once: true })
      this._signals.set(signal, entry)
    }
    entry.items.add(item)
  }

  delete(signal, item) {
    const entry = this._signals.get(signal)
    if (entry === undefined || !entry.items.delete(item) || entry.items.size > 0) return
    signal.removeEventListener('abort', entry.listener)
    this._signals.delete(signal)
  }

  /** Stops watching everything. */
  clear() {
    for (const [signal, entry] of this._signals) signal.removeEventListener('abort', entry.listener)
    this._signals.clear()
  }

  _aborted(signal) {
    const entry = this._signals.get(signal)
    if (entry === undefined) return
    this._signals.delete(signal)
    for (const item of entry.items) this._onAbort(item)
  }
}

module.exports = { AbortWatch }
