'use strict'
// This project's protocol layer over Node's own net sockets (rpc.attach):
// libuv does the socket I/O on the JS thread, Rust frames each chunk.
const net = require('node:net')
const rpc = require('../..')
const { handlers, listenNet } = require('../workloads')

exports.serve = async (target) => {
  const h = handlers()
  const handler = {
    add: (a, b, res) => res.result(a + b),
    echo: (v, res) => res.result(v),
    note: () => h.note(),
    count: (res) => res.result(h.count()),
  }
  const server = net.createServer((socket) => {
    socket.setNoDelay(true)
    rpc.attach(socket, handler)
  })
  return listenNet(server, target)
}

exports.connect = async (target) => {
  const socket = net.connect(target.path ? { path: target.path } : { port: target.port, host: '127.0.0.1' })
  socket.setNoDelay(true)
  const client = rpc.attach(socket)
  await new Promise((resolve) => client.once('ready', resolve))
  return {
    call: (method, params) => client.request(method, params),
    notify: (method, params) => client.notify(method, ...params),
    close: () => client.close(),
  }
}
