'use strict'
const test = require('node:test')
const assert = require('node:assert/strict')
const { execFile } = require('node:child_process')
const path = require('node:path')

const CHILD = path.join(__dirname, 'fixtures', 'debuglog-child.js')

/** Runs the fixture with `env` added; resolves with its stderr. */
function run(env) {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [CHILD], { env: { ...process.env, ...env }, timeout: 20000 }, (err, stdout, stderr) => {
      if (err) reject(Object.assign(err, { stderr }))
      else resolve(stderr)
    })
  })
}

test('NODE_DEBUG=msgpack-rpc logs connects, accepts, timeouts, protocol errors and closes with their reason, one line each', async () => {
  const stderr = await run({ NODE_DEBUG: 'msgpack-rpc' })
  const lines = stderr.trim().split('\n')
  for (const line of lines) assert.match(line, /^MSGPACK-RPC \d+: /)
  const has = (re) => assert.equal(lines.filter((line) => re.test(line)).length >= 1, true, `no line matches ${re} in:\n${stderr}`)
  has(/: connected to 127\.0\.0\.1:\d+$/)
  has(/: accepted 127\.0\.0\.1:\d+$/)
  has(/: timeout: call to "hang" \(msgid \d+\) on 127\.0\.0\.1:\d+ had no reply in 20 ms$/)
  has(/: error from 127\.0\.0\.1:\d+: protocol error.* \(ERR_MSGPACK_RPC_PROTOCOL\)$/)
  has(/: closed 127\.0\.0\.1:\d+: connection closed locally$/)
  has(/: closed 127\.0\.0\.1:\d+: connection closed by peer$/)
  has(/: closed 127\.0\.0\.1:\d+: protocol error/)
  // Two accepts (the client, the raw socket), one connect, three closes.
  assert.equal(lines.filter((line) => / accepted /.test(line)).length, 2)
  assert.equal(lines.filter((line) => / closed /.test(line)).length, 3)
})

test('without NODE_DEBUG nothing is logged', async () => {
  const env = { NODE_DEBUG: '' }
  assert.equal(await run(env), '')
})
