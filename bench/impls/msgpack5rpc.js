'use strict'
// npm msgpack5rpc (the session layer Neovim's older node client used).
const net = require('node:net')
const Session = require('msgpack5rpc')
const { handlers, listenNet, connectNet } = require('../workloads')

exports.serve = async (target) => {
  const h = handlers()
  const server = net.createServer((socket) => {
    socket.setNoDelay(true)
    const session = new Session()
    session.attach(socket, socket)
    session.on('request', (method, args, resp) => {
      if (method === 'add') resp.send(args[0] + args[1])
      else if (method === 'echo') resp.send(args[0])
      else if (method === 'count') resp.send(h.count())
    })
    session.on('notification', () => h.note())
    socket.on('error', () => {})
  })
  return listenNet(server, target)
}

exports.connect = async (target) => {
  const socket = await connectNet(target)
  const session = new Session()
  session.attach(socket, socket)
  return {
    call: (method, params) =>
      new Promise((resolve, reject) => session.request(method, params, (err, res) => (err ? reject(new Error(String(err))) : resolve(res)))),
    notify: (method, params) => session.notify(method, params),
    close: () => new Promise((resolve) => socket.end(resolve)),
  }
}
