'use strict'
// What `msgpack-rpc tap` prints for each message: a text line or a JSON line.

const { performance } = require('node:perf_hooks')
const rpc = require('../..')
const { format, toJSONValue } = require('./json')

/** Calls in flight whose start time is kept, per connection (the library's default limit). */
const MAX_TRACKED = 65536

/** Prints what one connection carries. */
class Printer {
  constructor(id, json, write) {
    this.id = id
    this.json = json
    this.write = write
    this.started = new Map() // `${dir}${msgid}` of a request → when it was seen
  }

  event(event, detail) {
    if (this.json) this.write(JSON.stringify({ conn: this.id, event, ...(detail && { detail }) }))
    else this.write(`#${this.id} ${event}${detail ? ` ${detail}` : ''}`)
  }

  message(dir, bytes) {
    let m
    try {
      m = rpc.decode(bytes)
    } catch (err) {
      return this.event('undecodable', err.message)
    }
    const [kind, a, b, c] = Array.isArray(m) ? m : []
    const back = dir === '->' ? '<-' : '->'
    if (kind === 0 && m.length === 4) {
      // Requests never answered must not pile up: forget the oldest.
      if (this.started.size >= MAX_TRACKED) this.started.delete(this.started.keys().next().value)
      this.started.set(`${dir}${a}`, performance.now())
      this.line({ dir, kind: 'request', msgid: a, method: b, params: c }, `request ${a} ${b} ${format(c)}`)
    } else if (kind === 1 && m.length === 4) {
      const start = this.started.get(`${back}${a}`)
      this.started.delete(`${back}${a}`)
      const ms = start === undefined ? undefined : Number((performance.now() - start).toFixed(3))
      const took = ms === undefined ? '' : ` (${ms} ms)`
      const text = b === null ? `response ${a} ${format(c)}${took}` : `response ${a} error ${format(b)}${took}`
      this.line({ dir, kind: 'response', msgid: a, error: b, result: c, ms }, text)
    } else if (kind === 2 && m.length === 3) {
      this.line({ dir, kind: 'notify', method: a, params: b }, `notify ${a} ${format(b)}`)
    } else {
      this.line({ dir, kind: 'invalid', message: m }, `invalid ${format(m)}`)
    }
  }

  line(fields, text) {
    if (!this.json) return this.write(`#${this.id} ${fields.dir} ${text}`)
    const out = { conn: this.id }
    for (const [k, v] of Object.entries(fields)) if (v !== undefined) out[k] = k === 'dir' || k === 'kind' || k === 'ms' ? v : toJSONValue(v)
    this.write(JSON.stringify(out))
  }
}

module.exports = { Printer }
