'use strict'
// This project.
const rpc = require('../..')
const { handlers } = require('../workloads')

exports.serve = async (target) => {
  const h = handlers()
  const server = rpc.createServer({
    add: (a, b, res) => res.result(a + b),
    echo: (v, res) => res.result(v),
    note: () => h.note(),
    count: (res) => res.result(h.count()),
  })
  await new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(target.path ? target.path : { port: 0, host: '127.0.0.1' }, resolve)
  })
  const address = server.address()
  return { address: typeof address === 'string' ? { path: address } : { port: address.port }, close: () => server.close() }
}

exports.connect = async (target) => {
  const client = await rpc.connect(target.path ? { path: target.path } : { port: target.port, host: '127.0.0.1' })
  return {
    call: (method, params) => client.request(method, params),
    notify: (method, params) => client.notify(method, ...params),
    close: () => client.close(),
  }
}
