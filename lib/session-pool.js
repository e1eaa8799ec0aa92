'use strict'
// SessionPool: one shared client per address.

const { createClient } = require('./client')
const { IdleSweeper } = require('./idle')
const v = require('./validate')

/** What every client of a pool gets: a client's options without its address. */
const POOL_OPTIONS = { ...v.CLIENT_OPTIONS, idleTimeout: v.SERVER_OPTIONS.idleTimeout }
delete POOL_OPTIONS.port
delete POOL_OPTIONS.host
delete POOL_OPTIONS.path

class SessionPool {
  /**
   * @param {object} [options] what every client of the pool gets: the
   *   options of `createClient` (limits, `timeout`, `handler`, `reconnect`,
   *   ...), and `idleTimeout`: close and evict a client that made no call
   *   and received nothing for that many ms
   */
  constructor(options) {
    const { idleTimeout, ...clientOptions } = v.validateOptions(options, POOL_OPTIONS, 'SessionPool()')
    this._options = clientOptions
    this._idle = idleTimeout ? new IdleSweeper({ idleTimeout }, (client) => this._evict(client)) : undefined
    this.clients = {}
  }

  /**
   * The pool's client for `host:port` (or a socket path), created on first
   * use. A reconnecting client stays in the pool while it is down.
   */
  getClient(port, host) {
    const address = `${host}:${port}`
    const existing = this.clients[address]
    if (existing && !existing.closed) {
      if (this._idle !== undefined) this._idle.touch(existing)
      return existing
    }
    const client = createClient(port, host, this._options)
    this.clients[address] = client
    if (this._idle !== undefined) {
      this._idle.add(client)
      client.once('close', () => this._idle.delete(client))
    }
    return client
  }

  _evict(client) {
    for (const [address, c] of Object.entries(this.clients)) {
      if (c === client) delete this.clients[address]
    }
    client.close()
  }

  /** Closes every client of the pool. Returns a Promise of all closed. */
  closeClients() {
    const clients = Object.values(this.clients)
    this.clients = {}
    if (this._idle !== undefined) this._idle.stop()
    return Promise.all(clients.map((c) => c.close()))
  }
}

module.exports = { SessionPool }
