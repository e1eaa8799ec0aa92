'use strict'
// The `msgpack-rpc` command, run as a child process against real servers:
// ours (started here), its own `serve`, and Neovim for `call --spawn`.
const nodeTest = require('node:test')
const assert = require('node:assert/strict')
const path = require('node:path')
const net = require('node:net')
const { spawn, execFileSync } = require('node:child_process')
const { rpc, socketPath, removeSocket, closeAll, freePort } = require('./helpers')

const cli = path.join(__dirname, '..', 'bin', 'msgpack-rpc.js')
const stdioPeer = path.join(__dirname, 'fixtures', 'stdio-peer.js')
const cjsModule = path.join(__dirname, 'fixtures', 'cli-methods.js')
const esmModule = path.join(__dirname, 'fixtures', 'cli-methods.mjs')
/** No test command should come near this; it bounds a hung child. */
const CHILD_LIMIT = 30000

let nvimVersion
try {
  nvimVersion = execFileSync('nvim', ['--version'], { encoding: 'utf8' }).split('\n')[0]
} catch {}

/** Every test is bounded: a hung child or socket fails that test, not the run. */
function test(name, options, fn) {
  if (typeof options === 'function') [options, fn] = [{}, options]
  return nodeTest(name, { timeout: 60000, ...options }, fn)
}

/** Runs the command to completion: { status, stdout, stderr }. */
function run(args, options = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cli, ...args], { stdio: ['ignore', 'pipe', 'pipe'], ...options })
    const out = []
    const err = []
    child.stdout.on('data', (d) => out.push(d))
    child.stderr.on('data', (d) => err.push(d))
    const timer = setTimeout(() => child.kill('SIGKILL'), CHILD_LIMIT)
    child.once('error', reject)
    child.once('close', (status, signal) => {
      clearTimeout(timer)
      resolve({ status, signal, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() })
    })
  })
}

/**
 * Starts a long-running subcommand (serve, tap); resolves once it prints
 * "listening on <address>" on stderr. `stop(signal)` resolves with
 * { status, stdout, stderr } once it has exited; the test `t` kills it at
 * the end whatever happens.
 */
function start(t, args) {
  const child = spawn(process.execPath, [cli, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
  const out = []
  let stderr = ''
  child.stdout.on('data', (d) => out.push(d))
  const exited = new Promise((resolve) => child.once('close', (status, signal) => resolve({ status, signal })))
  const killer = setTimeout(() => child.kill('SIGKILL'), CHILD_LIMIT)
  exited.then(() => clearTimeout(killer))
  const stop = async (signal = 'SIGTERM') => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal)
    const { status, signal: by } = await exited
    return { status, signal: by, stdout: Buffer.concat(out).toString(), stderr }
  }
  t.after(() => stop('SIGKILL'))
  return new Promise((resolve, reject) => {
    child.stderr.on('data', (d) => {
      const before = stderr
      stderr += d
      const m = /listening on (\S+?),?\s/.exec(stderr)
      if (m && !/listening on/.test(before)) resolve({ child, address: m[1], stop, stderr: () => stderr, stdout: () => Buffer.concat(out).toString() })
    })
    exited.then(({ status }) => reject(new Error(`exited with ${status} before listening: ${stderr}`)))
  })
}


/** What our test servers answer; `seen` records what they were sent. */
function methods(seen) {
  return {
    add: (a, b) => a + b,
    // A handler gets the response object after the params.
    echo: (...args) => {
      const response = args.pop()
      seen.push(args)
      response.result(args)
    },
    fail: () => {
      throw new Error('it failed on purpose')
    },
    never: () => new Promise(() => {}),
    types: () => ({
      bin: Buffer.from([0, 1, 2, 255]),
      big: 2n ** 63n,
      ext: new rpc.Ext(7, Buffer.from('hi')),
      date: new Date('2024-05-06T07:08:09.010Z'),
      map: new Map([[1, 'one']]),
      nan: NaN,
      tricky: { $bin: 'not binary' },
    }),
    remember: (...args) => {
      seen.push(['remember', ...args])
    },
  }
}

async function tcpServer(seen = []) {
  const server = await rpc.listen({ port: 0, host: '127.0.0.1' }, methods(seen))
  return { server, port: server.address().port, seen }
}

async function waitFor(predicate, what) {
  for (let i = 0; i < 400; i++) {
    if (predicate()) return
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
  throw new Error(`timed out waiting for ${what}`)
}

test('each subcommand has --help, and no or an unknown command is a usage error', async () => {
  for (const name of ['call', 'notify', 'serve', 'tap', 'bench']) {
    const r = await run([name, '--help'])
    assert.equal(r.status, 0, name)
    assert.match(r.stdout, new RegExp(`^Usage: msgpack-rpc ${name} `), name)
    assert.equal(r.stderr, '')
  }
  const top = await run(['--help'])
  assert.equal(top.status, 0)
  assert.match(top.stdout, /Commands:[\s\S]*call[\s\S]*bench/)
  const version = await run(['--version'])
  assert.deepEqual([version.status, version.stdout], [0, `${require('../package.json').version}\n`])
  assert.equal((await run([])).status, 2)
  const unknown = await run(['frobnicate'])
  assert.equal(unknown.status, 2)
  assert.match(unknown.stderr, /unknown command "frobnicate"/)
})

test('call prints the result as JSON for host:port and bare port targets', async (t) => {
  const { server, port } = await tcpServer()
  t.after(() => closeAll(server))
  const r = await run(['call', `127.0.0.1:${port}`, 'add', '1', '2'])
  assert.deepEqual(r, { status: 0, signal: null, stdout: '3\n', stderr: '' })
  const bare = await run(['call', String(port), 'echo', 'hello', '{"a":[1,true,null]}', '"42"', '-1.5'])
  assert.equal(bare.status, 0)
  assert.equal(bare.stdout, '["hello",{"a":[1,true,null]},"42",-1.5]\n')
  const pretty = await run(['call', String(port), 'add', '1', '2', '--pretty'])
  assert.equal(pretty.stdout, '3\n')
})

test('call prints binary, big integers, ext, dates, maps and NaN as tagged JSON', async (t) => {
  const { server, port } = await tcpServer()
  t.after(() => closeAll(server))
  const r = await run(['call', String(port), 'types'])
  assert.equal(r.status, 0, r.stderr)
  assert.deepEqual(JSON.parse(r.stdout), {
    bin: { $bin: 'AAEC/w==' },
    big: { $bigint: '9223372036854775808' },
    ext: { $ext: [7, 'aGk='] },
    date: { $date: '2024-05-06T07:08:09.010Z' },
    map: { $map: [[1, 'one']] },
    nan: { $float: 'NaN' },
    // An object that looks like a tag prints as a map, so it cannot be misread.
    tricky: { $map: [['$bin', 'not binary']] },
  })
})

test('call accepts the printed forms as arguments and sends the values they stand for', async (t) => {
  const seen = []
  const { server, port } = await tcpServer(seen)
  t.after(() => closeAll(server))
  const args = [
    '{"$bin":"AAEC/w=="}',
    '{"$bigint":"9223372036854775808"}',
    '12345678901234567890',
    '{"$ext":[7,"aGk="]}',
    '{"$date":"2024-05-06T07:08:09.010Z"}',
    '{"$map":[[1,"one"]]}',
    '{"$map":[["$bin","not binary"]]}',
    '{"$float":"-Infinity"}',
  ]
  const r = await run(['call', String(port), 'echo', ...args])
  assert.equal(r.status, 0, r.stderr)
  // Output can be fed back in: it is the same text.
  assert.equal(r.stdout, `[${args.slice(0, 2).join(',')},{"$bigint":"12345678901234567890"},${args.slice(3).join(',')}]\n`)
  const [got] = seen
  assert.deepEqual(got[0], Buffer.from([0, 1, 2, 255]))
  assert.equal(got[1], 2n ** 63n)
  assert.equal(got[2], 12345678901234567890n)
  assert.ok(got[3] instanceof rpc.Ext)
  assert.deepEqual([got[3].type, got[3].data.toString()], [7, 'hi'])
  assert.deepEqual(got[4], new Date('2024-05-06T07:08:09.010Z'))
  assert.deepEqual(got[5], new Map([[1, 'one']]))
  assert.deepEqual(got[6], { $bin: 'not binary' })
  assert.equal(got[7], -Infinity)
})

test('call over a unix socket, by unix:/path and by plain path', async (t) => {
  const file = socketPath('cli')
  const server = await rpc.listen(file, methods([]))
  t.after(async () => {
    await closeAll(server)
    removeSocket(file)
  })
  for (const target of [`unix:${file}`, file]) {
    const r = await run(['call', target, 'add', '20', '22'])
    assert.deepEqual([r.status, r.stdout, r.stderr], [0, '42\n', ''], target)
  }
})

test('call and notify over UDP', async (t) => {
  const seen = []
  const server = rpc.createUdpServer(methods(seen))
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.after(() => server.close())
  const target = `udp://127.0.0.1:${server.address().port}`
  const r = await run(['call', target, 'add', '2', '3'])
  assert.deepEqual([r.status, r.stdout, r.stderr], [0, '5\n', ''])
  const n = await run(['notify', target, 'remember', 'over udp'])
  assert.deepEqual([n.status, n.stdout, n.stderr], [0, '', ''])
  await waitFor(() => seen.length === 1, 'the notification')
  assert.deepEqual(seen, [['remember', 'over udp']])
})

test('call --spawn talks to a child process over its stdio', async () => {
  const r = await run(['call', '--spawn', `'${process.execPath}' "${stdioPeer}"`, 'add', '4', '5'])
  assert.deepEqual([r.status, r.stdout, r.stderr], [0, '9\n', ''])
  const missing = await run(['call', '--spawn', 'no-such-program-for-msgpack-rpc --flag', 'add'])
  assert.equal(missing.status, 3)
  assert.match(missing.stderr, /ENOENT/)
})

test('call --spawn runs Neovim: nvim_eval "1+2" prints 3', { skip: !nvimVersion && 'Neovim is not installed: apt-get install neovim' }, async () => {
  const r = await run(['call', '--spawn', 'nvim --embed --headless --clean', 'nvim_eval', '"1+2"'])
  assert.deepEqual([r.status, r.stdout, r.stderr], [0, '3\n', ''])
  // Neovim's errors are [type, message]: exit status 1, printed on stderr.
  const bad = await run(['call', '--spawn', 'nvim --embed --headless --clean', 'nvim_eval', 'no_such_variable'])
  assert.equal(bad.status, 1)
  assert.equal(bad.stdout, '')
  assert.match(bad.stderr, /^error: \[0,"Vim:E121: Undefined variable: no_such_variable"\]\n$/)
})

test('a remote error exits with status 1 and prints the error on stderr', async (t) => {
  const { server, port } = await tcpServer()
  t.after(() => closeAll(server))
  const r = await run(['call', String(port), 'fail'])
  assert.deepEqual([r.status, r.stdout, r.stderr], [1, '', 'error: "it failed on purpose"\n'])
  const unknown = await run(['call', String(port), 'no_such_method'])
  assert.deepEqual([unknown.status, unknown.stderr], [1, 'error: "unknown method: no_such_method"\n'])
})

test('usage errors exit with status 2 and say what was wrong', async (t) => {
  const { server, port } = await tcpServer()
  t.after(() => closeAll(server))
  const cases = [
    [['call', String(port)], /a method name is required/],
    [['call'], /a target is required/],
    [['call', String(port), 'add', '--frob'], /unknown option --frob/],
    [['call', String(port), 'add', '--timeout', 'soon'], /--timeout must be a number/],
    [['call', String(port), 'add', '{"a":'], /argument 1 is not valid JSON/],
    [['call', String(port), 'echo', '1', '{"$bin":"*"}'], /argument 2: \$bin needs a base64 string/],
    [['call', String(port), 'echo', '{"$bigint":"1.5"}'], /\$bigint needs a string of decimal digits/],
    [['call', 'localhost:http', 'add'], /bad target "localhost:http"/],
    [['call', '127.0.0.1:70000', 'add'], /port 70000 is over 65535/],
    [['notify', String(port)], /a method name is required/],
    [['bench', String(port), '--connections', '0'], /--connections must be an integer ≥ 1/],
    [['bench', String(port), '--args', '{"a":1}'], /--args must be a JSON array/],
    [['serve', '127.0.0.1:0', path.join(__dirname, 'fixtures', 'no-such-module.js')], /cannot load/],
    [['tap', '0', 'udp://127.0.0.1:9'], /tap forwards UDP to UDP only/],
    [['tap', 'udp://127.0.0.1:0', '--spawn', 'cat'], /tap forwards UDP to UDP only/],
  ]
  for (const [args, message] of cases) {
    const r = await run(args)
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`)
    assert.equal(r.stdout, '')
    assert.match(r.stderr, message)
    assert.match(r.stderr, /--help` for usage/)
  }
})

test('a refused connection exits with status 3', async () => {
  const port = await freePort()
  for (const command of ['call', 'notify', 'bench']) {
    const r = await run([command, `127.0.0.1:${port}`, ...(command === 'bench' ? ['--duration', '1'] : ['add'])])
    assert.equal(r.status, 3, command)
    assert.equal(r.stdout, '')
    assert.match(r.stderr, /ECONNREFUSED/)
  }
  const r = await run(['call', socketPath('nobody-listens'), 'add'])
  assert.equal(r.status, 3)
  assert.match(r.stderr, /ENOENT/)
})

test('a peer that drops the connection, or a port already taken, exits with status 3', async (t) => {
  const rude = net.createServer((socket) => socket.destroy())
  await new Promise((resolve) => rude.listen(0, '127.0.0.1', resolve))
  t.after(() => new Promise((resolve) => rude.close(resolve)))
  const port = rude.address().port
  const r = await run(['call', String(port), 'add', '1', '2'])
  assert.equal(r.status, 3)
  assert.equal(r.stdout, '')
  assert.match(r.stderr, /\(ERR_MSGPACK_RPC_CLOSED\)\n$/)
  const taken = await run(['serve', `127.0.0.1:${port}`])
  assert.equal(taken.status, 3)
  assert.match(taken.stderr, /EADDRINUSE/)
})

test('a call that times out exits with status 3', async (t) => {
  const { server, port } = await tcpServer()
  t.after(() => closeAll(server))
  const r = await run(['call', String(port), 'never', '--timeout', '200'])
  assert.equal(r.status, 3)
  assert.equal(r.stdout, '')
  assert.match(r.stderr, /call to "never" timed out after 200 ms \(ERR_MSGPACK_RPC_TIMEOUT\)/)
})

test('notify sends a notification and exits once it is written', async (t) => {
  const seen = []
  const { server, port } = await tcpServer(seen)
  t.after(() => closeAll(server))
  const r = await run(['notify', `127.0.0.1:${port}`, 'remember', 'x', '{"$bin":"AQI="}'])
  assert.deepEqual([r.status, r.stdout, r.stderr], [0, '', ''])
  await waitFor(() => seen.length === 1, 'the notification')
  assert.deepEqual(seen, [['remember', 'x', Buffer.from([1, 2])]])
})

test('serve answers the demo methods, logs them with --verbose and exits 0 on SIGTERM', async (t) => {
  const served = await start(t, ['serve', '127.0.0.1:0', '--verbose'])
  assert.match(served.address, /^127\.0\.0\.1:\d+$/)
  const [, port] = served.address.split(':')
  assert.notEqual(port, '0')
  const client = await rpc.connect(Number(port), '127.0.0.1')
  try {
    assert.equal(await client.invoke('ping'), 'pong')
    assert.deepEqual(await client.invoke('echo', 'a', 1, Buffer.from([9])), ['a', 1, Buffer.from([9])])
    assert.equal(await client.invoke('add', 1, 2), 3)
    assert.equal(await client.invoke('sleep', 20), null)
    await assert.rejects(client.invoke('sleep', 'soon'), (err) => err.code === rpc.codes.REMOTE && /ms must be a number/.test(err.message))
    await assert.rejects(client.invoke('nope'), (err) => err.data === 'unknown method: nope')
  } finally {
    await client.close()
  }
  const { status, stdout, stderr } = await served.stop('SIGTERM')
  assert.equal(status, 0)
  assert.equal(stdout, '')
  assert.match(stderr, /^listening on 127\.0\.0\.1:\d+\n/)
  assert.match(stderr, /\ncall ping \[\] -> "pong" \(\d+\.\d ms\)\n/)
  assert.match(stderr, /\ncall echo \["a",1,\{"\$bin":"CQ=="\}\] -> \["a",1,\{"\$bin":"CQ=="\}\]/)
  assert.match(stderr, /\ncall add \[1,2\] -> 3 /)
  assert.match(stderr, /\ncall nope \[\] !! "unknown method: nope" /)
  assert.match(stderr, /\nSIGTERM: closing\n$/)
})

test('serve serves a CommonJS module\'s functions and exits 0 on SIGINT', async (t) => {
  const served = await start(t, ['serve', '0', cjsModule])
  const port = Number(served.address.split(':')[1])
  const greeting = await run(['call', String(port), 'greet', 'Ada'])
  assert.deepEqual([greeting.status, greeting.stdout], [0, '"hello, Ada"\n'])
  assert.equal((await run(['call', String(port), 'double', '21'])).stdout, '42\n')
  assert.equal((await run(['call', String(port), 'bump'])).stdout, '1\n')
  assert.equal((await run(['call', String(port), 'bump'])).stdout, '2\n')
  const failed = await run(['call', String(port), 'fail'])
  assert.deepEqual([failed.status, failed.stderr], [1, 'error: "this method always fails"\n'])
  // Not a function: not served.
  assert.equal((await run(['call', String(port), 'count'])).status, 1)
  const { status, stderr } = await served.stop('SIGINT')
  assert.equal(status, 0)
  assert.doesNotMatch(stderr, /call /) // no --verbose, no log
})

test('serve serves an ES module\'s named exports over a unix socket and UDP', async (t) => {
  const file = socketPath('cli-serve')
  const onUnix = await start(t, ['serve', `unix:${file}`, esmModule])
  const onUdp = await start(t, ['serve', 'udp://127.0.0.1:0', esmModule])
  t.after(() => removeSocket(file))
  assert.equal(onUnix.address, `unix:${file}`)
  assert.match(onUdp.address, /^udp:\/\/127\.0\.0\.1:\d+$/)
  assert.equal((await run(['call', file, 'shout', 'quiet'])).stdout, '"QUIET"\n')
  const udp = await run(['call', onUdp.address, 'sum', '1', '2', '3'])
  assert.deepEqual([udp.status, udp.stdout], [0, '6\n'])
  assert.equal((await onUnix.stop()).status, 0)
  assert.equal((await onUdp.stop()).status, 0)
})

test('tap forwards calls both ways and prints each message with the call\'s duration', async (t) => {
  // The server calls its client back while answering: requests flow both ways.
  const server = await rpc.listen({ port: 0, host: '127.0.0.1' }, {
    add: (a, b) => a + b,
    fail: () => {
      throw new Error('nope')
    },
  })
  server.on('connection', (stream) => {
    stream.on('notify', async (method) => {
      if (method === 'askBack') stream.notify('told', await stream.invoke('whoAreYou'))
    })
  })
  t.after(() => closeAll(server))
  const tap = await start(t, ['tap', '127.0.0.1:0', `127.0.0.1:${server.address().port}`, '--json'])
  const [host, port] = tap.address.split(':')
  const client = await rpc.connect(Number(port), host, { handler: { whoAreYou: () => 'the client' } })
  const told = new Promise((resolve) => client.on('notify', (method, params) => resolve([method, params])))
  try {
    assert.equal(await client.invoke('add', 1, 2), 3)
    await assert.rejects(client.invoke('fail', Buffer.from([1])), (err) => err.data === 'nope')
    client.notify('askBack')
    assert.deepEqual(await told, ['told', ['the client']])
  } finally {
    await client.close()
  }
  await waitFor(() => tap.stdout().includes('"event":"closed"'), 'the tap to see the close')
  const { status, stdout } = await tap.stop()
  assert.equal(status, 0)
  const lines = stdout.trim().split('\n').map((l) => JSON.parse(l))
  const ms = lines.filter((l) => l.kind === 'response').map((l) => l.ms)
  assert.ok(ms.length === 3 && ms.every((x) => typeof x === 'number' && x >= 0), stdout)
  const plain = lines.map(({ ms: _, detail: __, ...rest }) => rest)
  assert.deepEqual(plain, [
    { conn: 1, event: 'open' },
    { conn: 1, dir: '->', kind: 'request', msgid: 0, method: 'add', params: [1, 2] },
    { conn: 1, dir: '<-', kind: 'response', msgid: 0, error: null, result: 3 },
    { conn: 1, dir: '->', kind: 'request', msgid: 1, method: 'fail', params: [{ $bin: 'AQ==' }] },
    { conn: 1, dir: '<-', kind: 'response', msgid: 1, error: 'nope', result: null },
    { conn: 1, dir: '->', kind: 'notify', method: 'askBack', params: [] },
    { conn: 1, dir: '<-', kind: 'request', msgid: 0, method: 'whoAreYou', params: [] },
    { conn: 1, dir: '->', kind: 'response', msgid: 0, error: null, result: 'the client' },
    { conn: 1, dir: '<-', kind: 'notify', method: 'told', params: ['the client'] },
    { conn: 1, event: 'closed' },
  ])
})

test('tap passes bytes through unchanged, however they are split or half-closed, and prints text lines', async (t) => {
  const request = rpc.encode([0, 7, 'echo', ['x'.repeat(3000), Buffer.alloc(5000, 1)]])
  const notification = rpc.encode([2, 'note', [{ k: 2n ** 60n }]])
  const reply = rpc.encode([1, 7, null, 'done'])
  const received = []
  const upstream = net.createServer({ allowHalfOpen: true }, (socket) => {
    socket.on('data', (d) => {
      received.push(d)
      if (Buffer.concat(received).length === request.length + notification.length) {
        // Answer in two pieces, split inside the message.
        socket.write(reply.subarray(0, 3))
        setTimeout(() => socket.end(reply.subarray(3)), 20)
      }
    })
  })
  await new Promise((resolve) => upstream.listen(0, '127.0.0.1', resolve))
  t.after(() => new Promise((resolve) => upstream.close(resolve)))
  const tap = await start(t, ['tap', '0', String(upstream.address().port)])
  const socket = net.connect({ port: Number(tap.address.split(':')[1]), host: '127.0.0.1', allowHalfOpen: true })
  t.after(() => socket.destroy())
  const back = []
  socket.on('data', (d) => back.push(d))
  const ended = new Promise((resolve) => socket.once('end', resolve))
  // Bytes in odd-sized pieces, messages split across writes.
  const sent = Buffer.concat([request, notification])
  for (let i = 0; i < sent.length; i += 777) {
    socket.write(sent.subarray(i, i + 777))
    await new Promise((resolve) => setImmediate(resolve))
  }
  // Done sending: the answer must still come back through the half-closed tap.
  socket.end()
  await ended
  socket.destroy()
  assert.deepEqual(Buffer.concat(received), sent)
  assert.deepEqual(Buffer.concat(back), reply)
  await waitFor(() => tap.stdout().includes('closed'), 'the tap to see the close')
  const { status, stdout } = await tap.stop()
  assert.equal(status, 0)
  const lines = stdout.trim().split('\n')
  assert.match(lines[0], /^#1 open 127\.0\.0\.1:\d+$/)
  assert.equal(lines[1], `#1 -> request 7 echo ["${'x'.repeat(3000)}",{"$bin":"${Buffer.alloc(5000, 1).toString('base64')}"}]`)
  assert.equal(lines[2], '#1 -> notify note [{"k":{"$bigint":"1152921504606846976"}}]')
  assert.match(lines[3], /^#1 <- response 7 "done" \(\d+(\.\d+)? ms\)$/)
  assert.equal(lines[4], '#1 closed')
})

test('tap --spawn puts a child process behind the listening address', async (t) => {
  const file = socketPath('cli-tap')
  t.after(() => removeSocket(file))
  const tap = await start(t, ['tap', file, '--spawn', `'${process.execPath}' '${stdioPeer}'`])
  assert.equal(tap.address, `unix:${file}`)
  const r = await run(['call', file, 'add', '40', '2'])
  assert.deepEqual([r.status, r.stdout], [0, '42\n'])
  await waitFor(() => tap.stdout().includes('closed'), 'the tap to see the close')
  const { status, stdout } = await tap.stop()
  assert.equal(status, 0)
  assert.match(stdout, /^#1 open\n#1 -> request 0 add \[40,2\]\n#1 <- response 0 42 \(\d+(\.\d+)? ms\)\n#1 closed/)
})

test('tap forwards UDP datagrams to a UDP server and prints them', async (t) => {
  const server = rpc.createUdpServer({ add: (a, b) => a + b })
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.after(() => server.close())
  const tap = await start(t, ['tap', 'udp://127.0.0.1:0', `udp://127.0.0.1:${server.address().port}`])
  assert.match(tap.address, /^udp:\/\/127\.0\.0\.1:\d+$/)
  const r = await run(['call', tap.address, 'add', '3', '4', '--timeout', '5000'])
  assert.deepEqual([r.status, r.stdout, r.stderr], [0, '7\n', ''])
  const { status, stdout } = await tap.stop()
  assert.equal(status, 0)
  assert.match(stdout, /^#1 open 127\.0\.0\.1:\d+\n#1 -> request 0 add \[3,4\]\n#1 <- response 0 7 \(\d+(\.\d+)? ms\)\n#1 closed tap stopped\n$/)
})

test('bench --json runs calls for the given duration and prints a summary', async (t) => {
  const { server, port } = await tcpServer()
  t.after(() => closeAll(server))
  const r = await run(['bench', `127.0.0.1:${port}`, '--duration', '1', '--connections', '4', '--pipeline', '8', '--json'])
  assert.equal(r.status, 0, r.stderr)
  // Not a terminal: no progress line.
  assert.equal(r.stderr, '')
  const summary = JSON.parse(r.stdout)
  assert.equal(summary.target, `127.0.0.1:${port}`)
  assert.deepEqual([summary.method, summary.args, summary.connections, summary.pipeline], ['add', [1, 2], 4, 8])
  assert.ok(summary.calls > 0)
  assert.equal(summary.errors, 0)
  assert.ok(summary.duration >= 1)
  const { p50, p90, p99, max } = summary.latency
  assert.ok(p50 > 0 && p50 <= p90 && p90 <= p99 && p99 <= max, JSON.stringify(summary.latency))
})

let hasScript = false
try {
  execFileSync('script', ['--version'], { stdio: 'ignore' })
  hasScript = true
} catch {}

test('bench shows a progress line when stderr is a terminal', { skip: !hasScript && 'script(1) from util-linux is not installed' }, async (t) => {
  const { server, port } = await tcpServer()
  t.after(() => closeAll(server))
  // script(1) gives the command a pseudo-terminal; its output comes back on our pipe.
  const command = `'${process.execPath}' '${cli}' bench ${port} --duration 1.5 --connections 2 --pipeline 2`
  const r = await new Promise((resolve) => {
    const child = spawn('script', ['-qec', command, '/dev/null'], { stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    child.stdout.on('data', (d) => (out += d))
    child.stderr.resume()
    const timer = setTimeout(() => child.kill('SIGKILL'), CHILD_LIMIT)
    child.once('close', (status) => {
      clearTimeout(timer)
      resolve({ status, out })
    })
  })
  assert.equal(r.status, 0)
  assert.match(r.out, /\r\x1b\[K1 s: [\d,]+ calls, [\d,]+\/s, 0 errors/)
  // The line is cleared before the summary.
  assert.match(r.out, /\r\x1b\[K127\.0\.0\.1:\d+ add\(1,2\), 2 connections × 2 in flight/)
})

test('bench counts failed calls as errors and prints a text summary', async (t) => {
  const { server, port } = await tcpServer()
  t.after(() => closeAll(server))
  const r = await run(['bench', String(port), '--method', 'fail', '--args', '[]', '--duration', '0.5', '--connections', '1', '--pipeline', '2'])
  assert.equal(r.status, 0, r.stderr)
  assert.match(r.stdout, /\ncalls +0 \(0\/s\)\n/)
  assert.match(r.stdout, /\nerrors +[1-9][\d,]* \(first: it failed on purpose\)\n$/)
})

test('npm run demo starts a server, calls it through the command and stops it', async () => {
  const r = await new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(__dirname, '..', 'scripts', 'demo.js')], { stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    child.stdout.on('data', (d) => (stdout += d))
    child.stderr.resume()
    const timer = setTimeout(() => child.kill('SIGKILL'), CHILD_LIMIT)
    child.once('close', (status) => {
      clearTimeout(timer)
      resolve({ status, stdout })
    })
  })
  assert.equal(r.status, 0)
  assert.match(r.stdout, /add 1 2\n3\n/)
  assert.match(r.stdout, /echo hello\n\["hello"\]\n/)
  assert.match(r.stdout, /server stopped/)
})
