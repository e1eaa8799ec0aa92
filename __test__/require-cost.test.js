'use strict'
// What require('msgpack-rpc') costs a process that only serves: the Node
// modules for transports and features it does not use (net, dgram,
// child_process, dns, and the stream machinery net brings) are loaded when
// first used, not at require (about 2 MiB of RSS; docs/design.md).
const test = require('node:test')
const assert = require('node:assert/strict')
const { execFileSync } = require('node:child_process')
const path = require('node:path')

const root = path.join(__dirname, '..')

/** The Node modules a fresh process loads for `script`, beyond its own start-up, by the time it exits. */
function loadedBy(script) {
  // The list is taken before process.stdout is touched (it loads net for a pipe).
  const report = "process.on('exit', () => { const loaded = JSON.stringify(process.moduleLoadList.filter((m) => !before.has(m))); process.stdout.write(loaded) })"
  const out = execFileSync(process.execPath, ['-e', `const before = new Set(process.moduleLoadList); ${report}; ${script}`], { cwd: root, encoding: 'utf8' })
  return JSON.parse(out)
}

const lazy = ['NativeModule net', 'NativeModule dgram', 'NativeModule child_process', 'NativeModule dns', 'NativeModule stream']

test('require() and a server with a client over TCP load none of net, dgram, child_process, dns or stream', () => {
  // Finding the addon needs node:fs, which on Node 18 loads the streams itself.
  const fsLoads = loadedBy("require('node:fs')")
  const loaded = loadedBy(`
    const rpc = require('.')
    const server = rpc.createServer({ add: (a, b, res) => res.result(a + b) })
    server.listen(0, '127.0.0.1', async () => {
      const client = await rpc.connect({ port: server.address().port, host: '127.0.0.1' })
      if ((await client.request('add', [1, 2])) !== 3) process.exit(3)
      await client.close()
      await server.close()
    })
  `)
  for (const m of lazy.filter((m) => !fsLoads.includes(m))) assert.ok(!loaded.includes(m), `${m} was loaded`)
})

test('each is loaded when its feature is first used', () => {
  assert.ok(loadedBy("require('.').createUdpClient(1, '127.0.0.1').close()").includes('NativeModule dgram'))
  assert.ok(loadedBy("require('.').createBalancer('localhost:1').close()").includes('NativeModule dns'))
})
