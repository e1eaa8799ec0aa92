'use strict'
// Listening in a node:cluster worker. Node shares a port between workers
// through the primary: round-robin (the primary accepts and passes each
// connection over IPC) or, with SCHED_NONE, one shared listening handle.
// Only a net.Server can take part in that handshake, so a hidden one does,
// with pauseOnConnect so Node never reads; each socket it is given is handed
// to the native side by descriptor (duplicated there) and the Node socket is
// destroyed, which closes only the original descriptor. Everything Node and
// pm2 rely on (the primary's 'listening' event, its scheduling, sharing a
// port 0) keeps working, and the connections run natively.

const { kOnEvent } = require('./constants')
const binding = require('./binding')
const errors = require('./errors')

/**
 * Whether `listen()` with this target goes through the cluster primary:
 * in a worker, unless it names a descriptor or asks to bind itself
 * (`exclusive`, or `reusePort`, where each worker binds with SO_REUSEPORT).
 */
function sharesThroughPrimary(target) {
  if (target.fd !== undefined || target.exclusive || target.reusePort) return false
  // A worker talks to its primary over an IPC channel; a process without
  // one is not a worker and need not load node:cluster (nor the node:net it
  // loads). Node sets a worker's up (and loads both) before user code runs.
  return process.channel !== undefined && require('node:cluster').isWorker
}

/**
 * A listener with the NativeServer interface the Server uses (`close`,
 * `address`, `setRef`; events to `onEvent(kind, payload)`), fed by a hidden
 * net.Server. `onListening(err)` reports the outcome of listening.
 */
class ClusterListener {
  constructor(target, nativeOptions, onEvent, onListening) {
    this[kOnEvent] = onEvent
    this._closed = false
    this._adopter = new binding.native.NativeAdopter(nativeOptions)
    this._server = require('node:net').createServer({ pauseOnConnect: true }, (socket) => this._adopt(socket))
    const fail = (err) => {
      this._server.removeListener('listening', ok)
      if (!this._closed) onListening(err)
    }
    const ok = () => {
      this._server.removeListener('error', fail)
      // close() came first: the primary's handle arrived late; let it go.
      if (this._closed) return this._server.close()
      // Accept errors from here on are transient, as the native server's are.
      this._server.on('error', (err) => this[kOnEvent](binding.ERROR, err))
      onListening(null)
    }
    this._server.once('error', fail)
    this._server.once('listening', ok)
    // Only the keys given: net reads a `port: undefined` next to a path as port 0.
    const where = target.path !== undefined ? { path: target.path } : { port: target.port, host: target.host }
    if (target.backlog !== undefined) where.backlog = target.backlog
    this._server.listen(where)
  }

  _adopt(socket) {
    const fd = socket._handle && socket._handle.fd
    let native
    try {
      if (typeof fd !== 'number' || fd < 0) {
        throw new errors.RpcError(errors.codes.INTERNAL, 'a connection from the cluster primary has no file descriptor')
      }
      native = this._adopter.adopt(fd)
    } catch (err) {
      this[kOnEvent](binding.ERROR, err)
    } finally {
      // Closes Node's descriptor; the native side holds its own duplicate.
      socket.destroy()
    }
    if (native) this[kOnEvent](binding.CONNECTION, native)
  }

  close() {
    this._closed = true
    this._server.close(() => this[kOnEvent](binding.CLOSE))
  }

  address() {
    const a = this._server.address()
    if (a === null || typeof a === 'string') return { localAddress: a }
    return { localAddress: a.address, localPort: a.port, remoteFamily: a.family }
  }

  setRef(referenced) {
    if (referenced) this._server.ref()
    else this._server.unref()
  }
}

module.exports = { sharesThroughPrimary, ClusterListener }
