'use strict'
// A worker thread has its own poller: when the worker goes, with
// connections open in every reader state, their sockets must be closed
// (the peers see them close) and the poller's own descriptor released.
const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')
const { Worker } = require('node:worker_threads')
const { rpc, listen, closeAll, stalledListener } = require('./helpers')

const fixture = path.join(__dirname, 'fixtures', 'poller-worker.js')

/** How many epoll/kqueue descriptors this process holds (Linux only: /proc). */
function pollDescriptors() {
  let count = 0
  for (const fd of fs.readdirSync('/proc/self/fd')) {
    try {
      if (fs.readlinkSync(`/proc/self/fd/${fd}`) === 'anon_inode:[eventpoll]') count++
    } catch {}
  }
  return count
}


const linux = process.platform === 'linux'

for (const how of ['terminate', 'exit']) {
  test(`a worker that ${how === 'exit' ? 'calls process.exit()' : 'is terminated'} with idle, connecting, paused and backpressured connections closes them all and leaks no poller`, { timeout: 60000 }, async () => {
    const outside = rpc.createServer({ ping: () => 'pong' })
    const outsidePort = await listen(outside)
    const stalled = await stalledListener()
    let client
    try {
      let baseline
      for (let round = 0; round < 6; round++) {
        let open = 0
        let closedAll
        const allClosed = new Promise((resolve) => (closedAll = resolve))
        const onConnection = (stream) => {
          open++
          stream.on('close', () => {
            if (--open === 0) closedAll()
          })
        }
        outside.on('connection', onConnection)
        const worker = new Worker(fixture, { workerData: { outsidePort, stalledPort: stalled.port, how } })
        const exited = new Promise((resolve) => worker.once('exit', resolve))
        const said = await new Promise((resolve, reject) => {
          worker.once('message', resolve)
          worker.once('error', reject)
        })
        assert.equal(said, 'ready')
        const during = linux ? pollDescriptors() : 0
        if (how === 'terminate') await worker.terminate()
        await exited
        // The worker's connections to this thread's server close with it.
        await allClosed
        outside.off('connection', onConnection)
        // The first round may make what stays for the process (a runtime's reactor).
        if (linux) {
          if (round === 1) baseline = pollDescriptors()
          if (round > 1) assert.equal(pollDescriptors(), baseline, `round ${round}: epoll descriptors left behind`)
          // The count does see a live worker's (its event loop's, its poller's);
          // one that exits by itself may be gone already.
          if (how === 'terminate') assert.ok(during > pollDescriptors(), `round ${round}: ${during} while the worker ran`)
        }
      }
      client = await rpc.connect(outsidePort, '127.0.0.1')
      assert.equal(await client.invoke('ping'), 'pong')
    } finally {
      await closeAll(client, outside)
      await stalled.close()
    }
  })
}
