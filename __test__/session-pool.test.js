'use strict'
const test = require('node:test')
const assert = require('node:assert/strict')
const { rpc, listen, once, closeAll } = require('./helpers')

test('getClient returns the same client for the same address', async () => {
  const sp = new rpc.SessionPool()
  const server = rpc.createServer()
  const port = await listen(server)
  const client1 = sp.getClient(port, '127.0.0.1')
  const client2 = sp.getClient(port, '127.0.0.1')
  assert.equal(client1, client2)
  const other = rpc.createServer()
  const otherPort = await listen(other)
  assert.notEqual(sp.getClient(otherPort, '127.0.0.1'), client1)
  await sp.closeClients()
  await closeAll(server, other)
})

test('closeClients() closes the connections', async () => {
  const sp = new rpc.SessionPool()
  let streamClosed
  const server = rpc.createServer((rpcStream) => {
    streamClosed = once(rpcStream.stream, 'close')
  })
  const port = await listen(server)
  const client1 = sp.getClient(port, '127.0.0.1')
  await once(client1, 'ready')
  const clientClosed = once(client1, 'close')
  sp.closeClients()
  await streamClosed
  await clientClosed
  assert.equal(client1.closed, true)
  // A closed client is replaced on the next getClient.
  const again = sp.getClient(port, '127.0.0.1')
  assert.notEqual(again, client1)
  await sp.closeClients()
  await server.close()
})
