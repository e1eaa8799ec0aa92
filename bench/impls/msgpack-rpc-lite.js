'use strict'
// npm msgpack-rpc-lite (msgpack-lite over net).
const rpc = require('msgpack-rpc-lite')
const { handlers, listenNet } = require('../workloads')

exports.serve = async (target) => {
  const h = handlers()
  const server = rpc.createServer()
  server.on('add', (params, cb) => cb(null, params[0] + params[1]))
  server.on('echo', (params, cb) => cb(null, params[0]))
  server.on('count', (params, cb) => cb(null, h.count()))
  server.on('note', () => h.note())
  return listenNet(server, target)
}

exports.connect = async (target) => {
  const client = new rpc.Client(target.path ? { path: target.path } : { port: target.port, host: '127.0.0.1' })
  client.setMaxListeners(0)
  await new Promise((resolve, reject) => client.once('connect', resolve).once('error', reject))
  return {
    call: (method, params) => client.request(method, ...params).then(([result]) => result),
    notify: (method, params) => client.notify(method, ...params),
    close: () => client.close && client.close(),
  }
}
