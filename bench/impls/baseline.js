'use strict'
// The strongest pure-JS msgpack-rpc a user could write: net + msgpackr (plain
// msgpack, no records), TCP_NODELAY, one corked write per tick.
const net = require('node:net')
const { Packr, Unpackr } = require('msgpackr')
const { handlers, listenNet, connectNet } = require('../workloads')

const packr = new Packr({ useRecords: false })
const unpackr = new Unpackr({ useRecords: false, int64AsType: 'auto' })

/** Frames msgpack messages from a socket; calls onMessage for each. */
function reader(socket, onMessage) {
  let pending = null
  socket.on('data', (chunk) => {
    const data = pending ? Buffer.concat([pending, chunk]) : chunk
    pending = null
    let values
    try {
      values = unpackr.unpackMultiple(data)
    } catch (err) {
      // msgpackr reports the incomplete tail: keep it for the next chunk.
      if (err.incomplete) {
        values = err.values || []
        pending = data.subarray(err.lastPosition)
      } else throw err
    }
    for (const v of values) onMessage(v)
  })
}

/** Writes with cork/uncork so a tick's messages leave in one syscall. */
function writer(socket) {
  let corked = false
  return (msg) => {
    if (!corked) {
      corked = true
      socket.cork()
      process.nextTick(() => {
        corked = false
        socket.uncork()
      })
    }
    socket.write(packr.pack(msg))
  }
}

exports.serve = async (target) => {
  const h = handlers()
  const server = net.createServer((socket) => {
    socket.setNoDelay(true)
    const send = writer(socket)
    reader(socket, (msg) => {
      if (msg[0] === 0) {
        const [, id, method, params] = msg
        if (method === 'add') send([1, id, null, params[0] + params[1]])
        else if (method === 'echo') send([1, id, null, params[0]])
        else if (method === 'count') send([1, id, null, h.count()])
        else send([1, id, `unknown method: ${method}`, null])
      } else if (msg[0] === 2 && msg[1] === 'note') h.note()
    })
    socket.on('error', () => {})
  })
  return listenNet(server, target)
}

exports.connect = async (target) => {
  const socket = await connectNet(target)
  const send = writer(socket)
  const pending = new Map()
  let next = 0
  reader(socket, (msg) => {
    const p = pending.get(msg[1])
    pending.delete(msg[1])
    if (msg[2] !== null) p.reject(new Error(String(msg[2])))
    else p.resolve(msg[3])
  })
  return {
    call(method, params) {
      const id = (next = (next + 1) >>> 0)
      return new Promise((resolve, reject) => {
        pending.set(id, { resolve, reject })
        send([0, id, method, params])
      })
    },
    notify: (method, params) => send([2, method, params]),
    close: () => new Promise((resolve) => socket.end(resolve)),
  }
}
