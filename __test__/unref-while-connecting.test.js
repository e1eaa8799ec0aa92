'use strict'
// A connection unreferenced before it is connected must stay unreferenced
// once connected: the reader started at connect time inherits the setting.
const test = require('node:test')
const assert = require('node:assert/strict')
const { execFile } = require('node:child_process')
const path = require('node:path')
const rpc = require('..')
const { listen } = require('./helpers')

/** Runs `script` in a child node; resolves how it ended (killed after 4 s). */
function run(script) {
  return new Promise((resolve) => {
    execFile(process.execPath, ['-e', script], { cwd: path.join(__dirname, '..'), timeout: 4000 }, (err, stdout, stderr) =>
      resolve({ code: err ? err.code : 0, killed: err ? err.killed : false, stdout, stderr })
    )
  })
}

test('a client unref()ed while connecting lets the process exit once it has connected', async () => {
  // The server lives in this process, so the child's connection stays open.
  const server = rpc.createServer()
  try {
    const port = await listen(server)
    const { code, killed, stdout, stderr } = await run(`
      const rpc = require('.')
      const client = rpc.createClient(${port}, '127.0.0.1')
      client.unref()
      // Keeps the process up until the connection is open, then lets go.
      const keep = setInterval(() => {}, 1000)
      client.on('ready', () => {
        clearInterval(keep)
        console.log('connected')
      })
    `)
    assert.equal(killed, false, `the open, unreferenced client kept the process alive; stdout: ${stdout}; stderr: ${stderr}`)
    assert.equal(code, 0, stderr)
    assert.equal(stdout.trim(), 'connected')
  } finally {
    await new Promise((resolve) => server.close(resolve))
  }
})
