'use strict'
const test = require('node:test')
const assert = require('node:assert/strict')
const { execFile } = require('node:child_process')
const path = require('node:path')

function run(script) {
  return new Promise((resolve) => {
    execFile(process.execPath, ['-e', script], { cwd: path.join(__dirname, '..'), timeout: 10000 }, (err, stdout, stderr) =>
      resolve({ code: err ? err.code : 0, killed: err && err.killed, stdout, stderr })
    )
  })
}

test('the process exits by itself after close()', async () => {
  const { code, killed, stdout, stderr } = await run(`
    const rpc = require('.')
    const server = rpc.createServer({ add: (a, b, res) => res.result(a + b) })
    server.listen(0, '127.0.0.1', () => {
      const client = rpc.createClient(server.address().port, '127.0.0.1')
      client.invoke('add', 1, 2, (err, sum) => {
        console.log(sum)
        client.close()
        server.close()
      })
    })
  `)
  assert.equal(killed, null, stderr)
  assert.equal(code, 0, stderr)
  assert.equal(stdout.trim(), '3')
})

test('an open server keeps the process alive until closed', async () => {
  const { code, stdout, stderr } = await run(`
    const rpc = require('.')
    const server = rpc.createServer()
    server.listen(0, '127.0.0.1', () => {
      setTimeout(() => { console.log('still alive'); server.close() }, 300)
    })
  `)
  assert.equal(code, 0, stderr)
  assert.equal(stdout.trim(), 'still alive')
})

test('unref() lets the process exit while a client and server are open', async () => {
  const { code, killed, stderr } = await run(`
    const rpc = require('.')
    const server = rpc.createServer()
    server.listen(0, '127.0.0.1', () => {
      const client = rpc.createClient(server.address().port, '127.0.0.1', () => {
        client.unref()
        server.unref()
      })
    })
  `)
  assert.equal(killed, null, stderr)
  assert.equal(code, 0, stderr)
})
