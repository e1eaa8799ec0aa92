'use strict'
// Interop with a Python msgpack-rpc implementation from PyPI (pynvim's
// session layer), installed by this test into a virtualenv under the OS temp
// dir: Python calls our server, and answers the calls our server makes back.
const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { execFile, execFileSync } = require('node:child_process')
const { rpc, socketPath, listen } = require('./helpers')

const PYNVIM = 'pynvim==0.6.0'
const venv = path.join(os.tmpdir(), 'msgpack-rpc-test-venv')
const python = path.join(venv, 'bin', 'python')
const peer = path.join(__dirname, 'fixtures', 'python-peer.py')

/** The venv's python with pynvim, or a reason to skip. */
function setup() {
  try {
    if (!fs.existsSync(python)) execFileSync('python3', ['-m', 'venv', venv], { stdio: 'ignore' })
    execFileSync(python, ['-c', 'import pynvim'], { stdio: 'ignore' })
    return undefined
  } catch {}
  try {
    execFileSync(python, ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', PYNVIM], { stdio: 'ignore', timeout: 180000 })
    execFileSync(python, ['-c', 'import pynvim'], { stdio: 'ignore' })
    return undefined
  } catch (err) {
    return `Python peer unavailable (${err.message.split('\n')[0]}): needs python3 with venv and pip access to PyPI for ${PYNVIM}`
  }
}
const skip = setup()

function server() {
  return rpc.createServer((stream) => {
    stream.on('notify', async (method, params) => {
      if (method !== 'call_me') return
      const product = await stream.invoke('py_mul', params[0], params[1])
      stream.notify('done', product)
    })
  }).setHandler({
    add: (a, b) => a + b,
    echo: (v) => v,
    fails: (response) => response.error([1, 'boom from node']),
  })
}

function runPeer(target) {
  return new Promise((resolve, reject) => {
    execFile(python, [peer, String(target)], { timeout: 30000 }, (err, stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(JSON.parse(stdout.trim().split('\n').pop()))))
  })
}

function check(seen) {
  assert.equal(seen.add, 3)
  assert.deepEqual(seen.echo, { list: [1, 'two', null], n: 2 ** 40 })
  assert.equal(seen.missing_raised, true)
  assert.equal(seen.error, 'boom from node')
  assert.equal(seen.callback_result, 42)
}

test('pynvim over TCP: calls our server and answers our calls back', { skip }, async () => {
  const s = server()
  const port = await listen(s)
  check(await runPeer(port))
  await s.close()
})

test('pynvim over a unix socket', { skip }, async () => {
  const s = server()
  const address = socketPath('python')
  await new Promise((resolve) => s.listen(address, resolve))
  check(await runPeer(address))
  await s.close()
})
