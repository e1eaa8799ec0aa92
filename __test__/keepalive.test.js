'use strict'
// TCP keepalive, checked on the real sockets with ss(8).

const test = require('node:test')
const assert = require('node:assert/strict')
const { execFileSync } = require('node:child_process')
const { rpc, listen, once, closeAll } = require('./helpers')

/** ss's line for the established connection whose `side` port is `port` (sport or dport). */
function ssLine(side, port) {
  return execFileSync('ss', ['-tnoH', 'state', 'established', `( ${side} = :${port} )`]).toString()
}

/** The keepalive timer of that connection: seconds until the next probe, or undefined. */
function keepaliveSeconds(side, port) {
  const m = /timer:\(keepalive,(?:(\d+)min)?(\d+)(?:\.\d+)?sec/.exec(ssLine(side, port))
  return m ? Number(m[1] || 0) * 60 + Number(m[2]) : undefined
}

const haveSs = (() => {
  try {
    execFileSync('ss', ['-V'])
    return true
  } catch {
    return false
  }
})()

test('the keepAlive client options turn TCP keepalive on with the given delay', { skip: !haveSs && 'ss(8) missing' }, async () => {
  const server = rpc.createServer()
  const port = await listen(server)
  const plain = rpc.createClient({ port, host: '127.0.0.1' })
  const client = rpc.createClient({ port, host: '127.0.0.1', keepAlive: true, keepAliveInitialDelay: 45000 })
  try {
    await Promise.all([once(plain, 'ready'), once(client, 'ready')])
    const seconds = keepaliveSeconds('sport', client.stream.localPort)
    assert.ok(seconds > 30 && seconds <= 45, `keepalive timer ${seconds}`)
    assert.equal(keepaliveSeconds('sport', plain.stream.localPort), undefined)
  } finally {
    await closeAll(plain, client, server)
  }
})

test('stream.setKeepAlive(enable, delay) sets and clears keepalive on a live connection', { skip: !haveSs && 'ss(8) missing' }, async () => {
  const server = rpc.createServer()
  server.setHandler({})
  const port = await listen(server)
  const client = rpc.createClient({ port, host: '127.0.0.1', timeout: 5000 })
  try {
    await once(client, 'ready')
    const local = client.stream.localPort
    assert.equal(client.stream.setKeepAlive(true, 100000), client.stream)
    const seconds = keepaliveSeconds('sport', local)
    assert.ok(seconds > 60 && seconds <= 100, `keepalive timer ${seconds}`)
    client.stream.setKeepAlive(false)
    assert.equal(keepaliveSeconds('sport', local), undefined)
    assert.equal(client.stream.setNoDelay(false), client.stream)
    // Still a working connection after both.
    assert.equal(await client.invoke('missing').catch((e) => e.code), 'ERR_MSGPACK_RPC_REMOTE')
  } finally {
    await closeAll(client, server)
  }
})

test('the keepAlive server options apply to every accepted connection', { skip: !haveSs && 'ss(8) missing' }, async () => {
  const server = rpc.createServer({}, { keepAlive: true, keepAliveInitialDelay: 50000 })
  server.setHandler({})
  const port = await listen(server)
  const client = rpc.createClient({ port, host: '127.0.0.1', timeout: 5000 })
  try {
    await once(client, 'ready')
    // Once the server has accepted (and set its options), a call round-trips.
    await client.request('missing').catch(() => {})
    const seconds = keepaliveSeconds('dport', client.stream.localPort)
    assert.ok(seconds > 30 && seconds <= 50, `keepalive timer ${seconds}`)
  } finally {
    await closeAll(client, server)
  }
})

test('keepalive options are checked like the other options', () => {
  assert.throws(() => rpc.createClient({ port: 1, keepAlive: 'yes' }), { code: 'ERR_INVALID_ARG_TYPE' })
  assert.throws(() => rpc.createServer({}, { keepAliveInitialDelay: -1 }), { code: 'ERR_OUT_OF_RANGE' })
})
