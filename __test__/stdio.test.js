'use strict'
// rpc.stdio() in a spawned child: channels can follow one another.
const test = require('node:test')
const assert = require('node:assert/strict')
const path = require('node:path')
const { rpc, once } = require('./helpers')

const fixture = path.join(__dirname, 'fixtures', 'stdio-twice.js')

test('a second stdio() after the first closed still writes the protocol to the real stdout', async () => {
  const child = rpc.spawn(process.execPath, [fixture], { stdio: ['pipe', 'pipe', 'pipe'], timeout: 5000 })
  const stderr = []
  child.process.stderr.on('data', (d) => stderr.push(d))
  const stderrEnded = once(child.process.stderr, 'end')
  const exited = once(child.process, 'exit')
  try {
    assert.equal(await child.invoke('which'), 'first')
    const ready = once(child, 'notify')
    assert.equal(await child.invoke('quit'), 'bye')
    // Before the fix the notification went to the child's stderr.
    const [method] = await Promise.race([ready, exited.then(() => ['(child exited)'])])
    assert.equal(method, 'ready')
    assert.equal(await child.invoke('which'), 'second')
    // stderr is another pipe: all of it is in once the child is gone.
    await child.close()
    await stderrEnded
    assert.match(Buffer.concat(stderr).toString(), /stray output of the second channel/)
  } finally {
    await child.close()
    if (child.process.exitCode === null && child.process.signalCode === null) child.process.kill()
    await exited
  }
})
