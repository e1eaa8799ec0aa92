'use strict'
// `msgpack-rpc tap udp://… udp://…`: each datagram is one message, forwarded
// as is. Each client address gets its own socket towards the target, so the
// target's answers can be sent back to the client they belong to.

const dgram = require('node:dgram')
const net = require('node:net')
const { Printer } = require('./printer')
const { describe } = require('./target')

function socketType(host) {
  return net.isIPv6(host) ? 'udp6' : 'udp4'
}

/**
 * Listens on `listenAt`; resolves with `{ bound, close() }` once bound.
 * @param {{host: string, port: number}} listenAt
 * @param {{host: string, port: number}} target
 * @param {boolean} json
 * @param {(line: string) => void} write
 */
function tapUdp(listenAt, target, json, write) {
  const server = dgram.createSocket(socketType(listenAt.host))
  const peers = new Map() // "address:port" → { socket, printer }
  let count = 0

  function peer(rinfo) {
    const key = `${rinfo.address}:${rinfo.port}`
    let p = peers.get(key)
    if (p) return p
    const printer = new Printer(++count, json, write)
    printer.event('open', key)
    const socket = dgram.createSocket(socketType(target.host))
    socket.on('message', (datagram) => {
      server.send(datagram, rinfo.port, rinfo.address)
      printer.message('<-', datagram)
    })
    // An ICMP "port unreachable" and the like: report it, keep forwarding.
    socket.on('error', (err) => printer.event('error', `target: ${err.message}`))
    socket.connect(target.port, target.host)
    p = { socket, printer, queue: [] }
    socket.once('connect', () => {
      for (const d of p.queue) socket.send(d)
      p.queue = undefined
    })
    peers.set(key, p)
    return p
  }

  server.on('message', (datagram, rinfo) => {
    const p = peer(rinfo)
    if (p.queue) p.queue.push(datagram)
    else p.socket.send(datagram)
    p.printer.message('->', datagram)
  })

  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.bind(listenAt.port, listenAt.host, () => {
      server.removeListener('error', reject)
      const a = server.address()
      resolve({
        bound: describe({ kind: 'udp', host: a.address, port: a.port }),
        close() {
          for (const { socket, printer } of peers.values()) {
            socket.close()
            printer.event('closed', 'tap stopped')
          }
          return new Promise((done) => server.close(done))
        },
      })
    })
  })
}

module.exports = { tapUdp }
