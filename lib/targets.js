'use strict'
// Where a balancer sends its calls: parsing the `targets` argument of
// createBalancer() into endpoints, and resolving a host name into one
// endpoint per address. lib/balancer.js owns what happens to them.

const v = require('./validate')

/**
 * @typedef {object} Endpoint
 * @property {string} address `host:port` (`[v6]:port`) or the socket path: the key and the name users see
 * @property {string} [host]
 * @property {number} [port]
 * @property {string} [path] a unix socket (or Windows pipe)
 */

/**
 * The `targets` argument, checked: a list of endpoints, or a host name whose
 * every address is one (`{ name, port }`). Bad input throws Node-style errors.
 * @param {Array|string|number} targets
 * @returns {{ list: Endpoint[] } | { name: string, port: number }}
 */
function parseTargets(targets) {
  if (Array.isArray(targets)) {
    if (targets.length === 0) throw v.invalidArgValue('targets', targets, 'must list at least one target')
    const seen = new Map()
    targets.forEach((entry, i) => {
      const endpoint = parseEntry(entry, `targets[${i}]`)
      // The same server twice would be one client counted as two.
      if (!seen.has(endpoint.address)) seen.set(endpoint.address, endpoint)
    })
    return { list: [...seen.values()] }
  }
  if (typeof targets === 'string') {
    const endpoint = parseEntry(targets, 'targets')
    if (endpoint.path !== undefined) return { list: [endpoint] }
    return { name: endpoint.host, port: endpoint.port }
  }
  if (typeof targets === 'number') return { list: [parseEntry(targets, 'targets')] }
  throw v.invalidArgType('targets', ['string', 'number', 'Array'], targets)
}

/** One target: `7777`, `'host:port'`, `'[::1]:7777'`, `'/path.sock'`, `{ host, port }` or `{ path }`. */
function parseEntry(entry, name) {
  if (typeof entry === 'number') return endpoint('localhost', v.validatePort(entry, name, false))
  if (typeof entry === 'string') {
    if (/^\d+$/.test(entry)) return endpoint('localhost', v.validatePort(entry, name, false))
    // A host:port never holds a slash; a path (or \\.\pipe\name) does.
    if (entry.includes('/') || entry.includes('\\')) return { address: entry, path: entry }
    const m = /^\[([^\]]+)\]:(\d+)$/.exec(entry) || /^([^:[\]]+):(\d+)$/.exec(entry)
    if (m === null) throw v.invalidArgValue(name, entry, 'is not a port, "host:port" or a socket path')
    return endpoint(m[1], v.validatePort(m[2], name, false))
  }
  if (entry !== null && typeof entry === 'object' && !Array.isArray(entry)) {
    if (entry.path !== undefined) {
      v.validateString(entry.path, `${name}.path`)
      return { address: entry.path, path: entry.path }
    }
    const host = entry.host === undefined ? 'localhost' : entry.host
    v.validateString(host, `${name}.host`)
    return endpoint(host, v.validatePort(entry.port, `${name}.port`, false))
  }
  throw v.invalidArgType(name, ['number', 'string', 'object'], entry)
}

function endpoint(host, port) {
  return { address: require('node:net').isIPv6(host) ? `[${host}]:${port}` : `${host}:${port}`, host, port }
}

/**
 * Resolves `name` to one endpoint per address with `lookup` (dns.lookup's
 * signature, `all: true`). Calls `cb(err, endpoints)` exactly once; a lookup
 * that throws or finds nothing is an error, so the caller keeps what it had.
 * @param {string} name
 * @param {number} port
 * @param {function} lookup
 * @param {function(Error|null, Endpoint[]=): void} cb
 */
function resolve(name, port, lookup, cb) {
  let called = false
  const done = (err, addresses) => {
    if (called) return
    called = true
    if (err) return cb(err)
    const list = Array.isArray(addresses) ? addresses : []
    const seen = new Map()
    for (const entry of list) {
      const address = typeof entry === 'string' ? entry : entry && entry.address
      if (typeof address !== 'string' || require('node:net').isIP(address) === 0) continue
      const ep = endpoint(address, port)
      seen.set(ep.address, ep)
    }
    if (seen.size === 0) return cb(notFound(name, `lookup of ${name} returned no addresses`))
    cb(null, [...seen.values()])
  }
  try {
    lookup(name, { all: true }, done)
  } catch (err) {
    done(err)
  }
}

/** dns.lookup's own error shape, for a lookup that "succeeded" with nothing. */
function notFound(name, message) {
  const err = new Error(message)
  err.code = 'ENOTFOUND'
  err.hostname = name
  return err
}

module.exports = { parseTargets, resolve }
