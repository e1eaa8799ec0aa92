'use strict'
// SessionPool: one shared client per address.

const { createClient } = require('./client')
const v = require('./validate')

class SessionPool {
  /**
   * @param {object} [options] what every client of the pool gets: the
   *   connection options of `createClient` (limits, `timeout`, `handler`, ...)
   */
  constructor(options) {
    this._options = v.validateOptions(options, v.CONNECTION_OPTIONS, 'SessionPool()')
    this.clients = {}
  }

  /** The pool's client for `host:port` (or a socket path), created on first use. */
  getClient(port, host) {
    const address = `${host}:${port}`
    const existing = this.clients[address]
    if (existing && !existing.closed) return existing
    const client = createClient(port, host, this._options)
    this.clients[address] = client
    return client
  }

  /** Closes every client of the pool. Returns a Promise of all closed. */
  closeClients() {
    const clients = Object.values(this.clients)
    this.clients = {}
    return Promise.all(clients.map((c) => c.close()))
  }
}

module.exports = { SessionPool }
