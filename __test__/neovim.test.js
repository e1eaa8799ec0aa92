'use strict'
// Interop with a real Neovim (Debian package `neovim`): our client against
// `nvim --listen` (unix socket and TCP) and `nvim --embed`, and Neovim as the
// client of our server and as the parent of a Node job using rpc.stdio().
const test = require('node:test')
const assert = require('node:assert/strict')
const path = require('node:path')
const net = require('node:net')
const { spawn, execFileSync } = require('node:child_process')
const { rpc, socketPath, freePort } = require('./helpers')

let nvimVersion
try {
  nvimVersion = execFileSync('nvim', ['--version'], { encoding: 'utf8' }).split('\n')[0]
} catch {}
const skip = !nvimVersion && 'Neovim is not installed: apt-get install neovim (.ci/run installs it)'

/** Starts `nvim --headless --clean --listen address`; resolves once it accepts. */
async function headless(address) {
  const child = spawn('nvim', ['--headless', '--clean', '--listen', address], { stdio: 'ignore' })
  for (let i = 0; i < 200; i++) {
    const ok = await new Promise((resolve) => {
      const s = address.includes(':') ? net.connect(Number(address.split(':')[1]), '127.0.0.1') : net.connect(address)
      s.once('connect', () => {
        s.destroy()
        resolve(true)
      })
      s.once('error', () => resolve(false))
    })
    if (ok) return child
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
  child.kill()
  throw new Error(`nvim did not listen on ${address}`)
}


async function exercise(client) {
  assert.equal(await client.invoke('nvim_eval', '1 + 2'), 3)
  const [channel, metadata] = await client.invoke('nvim_get_api_info')
  assert.equal(typeof channel, 'number')
  assert.ok(metadata.functions.some((f) => f.name === 'nvim_eval'))
  // Buffers travel as an extension type.
  const buffer = await client.invoke('nvim_get_current_buf')
  assert.ok(buffer instanceof rpc.Ext)
  assert.equal(buffer.type, metadata.types.Buffer.id)
  assert.equal(await client.invoke('nvim_buf_line_count', buffer), 1)
  // A notification whose effect is read back.
  client.notify('nvim_set_var', 'msgpack_rpc_test', { list: [1, 'two'], big: 2 ** 40 })
  assert.deepEqual(await client.invoke('nvim_get_var', 'msgpack_rpc_test'), { list: [1, 'two'], big: 2 ** 40 })
  // An error arrives as Neovim's [type, message] error value.
  await assert.rejects(client.invoke('nvim_eval', 'no_such_variable'), (err) => {
    assert.equal(err.code, 'ERR_MSGPACK_RPC_REMOTE')
    assert.ok(Array.isArray(err.data) && err.data.length === 2)
    assert.match(err.message, /E121/)
    return true
  })
  // The legacy callback gets the raw value.
  const raw = await new Promise((resolve) => client.invoke('nvim_eval', 'no_such_variable', (err) => resolve(err)))
  assert.ok(Array.isArray(raw))
}

test('our client against nvim --listen on a unix socket', { skip }, async () => {
  const address = socketPath('nvim')
  const nvim = await headless(address)
  try {
    const client = await rpc.connect(address)
    await exercise(client)
    await client.close()
  } finally {
    nvim.kill()
  }
})

test('our client against nvim --listen on TCP', { skip }, async () => {
  const port = await freePort()
  const nvim = await headless(`127.0.0.1:${port}`)
  try {
    const client = await rpc.connect(port, '127.0.0.1')
    await exercise(client)
    await client.close()
  } finally {
    nvim.kill()
  }
})

test('our client drives nvim --embed through spawn()', { skip }, async () => {
  const nvim = rpc.spawn('nvim', ['--embed', '--headless', '--clean'])
  await exercise(nvim)
  const exited = new Promise((resolve) => nvim.process.once('exit', resolve))
  nvim.notify('nvim_command', 'qall!')
  await exited
})

test('Neovim as the client of our server, which calls back into Neovim while answering', { skip }, async () => {
  const address = socketPath('nvim-client')
  const server = rpc.createServer({
    add: (a, b) => a + b,
    async describe(response) {
      // While Neovim waits in rpcrequest(), ask it something.
      const answer = await this.stream.invoke('nvim_eval', '6 * 7')
      response.result(`neovim says ${answer}`)
    },
    remember(value) {
      remembered = value
    },
  })
  let remembered
  server.on('connection', (stream) => {
    server.handler.stream = stream
  })
  await new Promise((resolve) => server.listen(address, resolve))
  const nvim = rpc.spawn('nvim', ['--embed', '--headless', '--clean'])
  try {
    await nvim.invoke('nvim_command', `let g:chan = sockconnect('pipe', '${address}', {'rpc': v:true})`)
    assert.equal(await nvim.invoke('nvim_eval', "rpcrequest(g:chan, 'add', 2, 3)"), 5)
    assert.equal(await nvim.invoke('nvim_eval', "rpcrequest(g:chan, 'describe')"), 'neovim says 42')
    await nvim.invoke('nvim_command', "call rpcnotify(g:chan, 'remember', 'from vim')")
    for (let i = 0; i < 100 && remembered === undefined; i++) await new Promise((resolve) => setTimeout(resolve, 10))
    assert.equal(remembered, 'from vim')
    // An error from our handler reaches Vim script as an exception.
    await assert.rejects(nvim.invoke('nvim_eval', "rpcrequest(g:chan, 'missing')"), (err) => /unknown method: missing/.test(err.message))
  } finally {
    nvim.notify('nvim_command', 'qall!')
    await new Promise((resolve) => nvim.process.once('exit', resolve))
    await server.close()
  }
})

test('Neovim spawns a Node job that serves with rpc.stdio()', { skip }, async () => {
  const job = path.join(__dirname, 'fixtures', 'nvim-job.js')
  const nvim = rpc.spawn('nvim', ['--embed', '--headless', '--clean'])
  try {
    await nvim.invoke('nvim_command', `let g:job = jobstart(['${process.execPath}', '${job}'], {'rpc': v:true})`)
    assert.equal(await nvim.invoke('nvim_eval', "rpcrequest(g:job, 'add', 20, 22)"), 42)
    assert.equal(await nvim.invoke('nvim_eval', "rpcrequest(g:job, 'whoCalls')"), 'node job')
    await nvim.invoke('nvim_command', 'call jobstop(g:job)')
  } finally {
    nvim.notify('nvim_command', 'qall!')
    await new Promise((resolve) => nvim.process.once('exit', resolve))
  }
})
