'use strict'
// npm msgpack-rpc-lite (msgpack-lite over net).
const rpc = require('msgpack-rpc-lite')
const { handlers } = require('../workloads')

exports.serve = async (target) => {
  const h = handlers()
  const server = rpc.createServer()
  server.on('add', (params, cb) => cb(null, params[0] + params[1]))
  server.on('echo', (params, cb) => cb(null, params[0]))
  server.on('count', (params, cb) => cb(null, h.count()))
  server.on('note', () => h.note())
  await new Promise((resolve) => server.listen(target.path ? target.path : { port: 0, host: '127.0.0.1' }, resolve))
  const address = server.address()
  return { address: typeof address === 'string' ? { path: address } : { port: address.port }, close: () => new Promise((r) => server.close(r)) }
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
