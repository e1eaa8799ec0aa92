'use strict'
// `npm run demo`: the command line's main job end to end. Starts
// `msgpack-rpc serve` on an ephemeral port in a child process, calls it twice
// through `msgpack-rpc call`, prints what came back and stops the server.
// Builds nothing: `npm install` has built the addon.

const path = require('node:path')
const { spawn, execFileSync } = require('node:child_process')

const cli = path.join(__dirname, '..', 'bin', 'msgpack-rpc.js')
const SERVER_START_TIMEOUT = 10000

function startServer() {
  const server = spawn(process.execPath, [cli, 'serve', '127.0.0.1:0', '--verbose'], { stdio: ['ignore', 'inherit', 'pipe'] })
  return new Promise((resolve, reject) => {
    let seen = ''
    const timer = setTimeout(() => fail(new Error('the server did not start listening in time')), SERVER_START_TIMEOUT)
    const fail = (err) => {
      clearTimeout(timer)
      server.kill()
      reject(err)
    }
    server.once('error', fail)
    server.once('exit', (code) => fail(new Error(`the server exited with status ${code}: ${seen}`)))
    server.stderr.on('data', (chunk) => {
      process.stderr.write(String(chunk).replace(/^(?=.)/gm, '[server] '))
      if (seen === undefined) return
      seen += chunk
      const m = /listening on (\S+)/.exec(seen)
      if (m) {
        seen = undefined
        clearTimeout(timer)
        server.removeAllListeners('exit')
        resolve({ server, address: m[1] })
      }
    })
  })
}

function call(address, ...args) {
  console.log(`$ msgpack-rpc call ${address} ${args.join(' ')}`)
  const out = execFileSync(process.execPath, [cli, 'call', address, ...args], { encoding: 'utf8' })
  process.stdout.write(out)
  return out.trim()
}

async function main() {
  console.log('$ msgpack-rpc serve 127.0.0.1:0 --verbose')
  const { server, address } = await startServer()
  const exited = new Promise((resolve) => server.once('exit', (code, signal) => resolve(code ?? signal)))
  try {
    const sum = call(address, 'add', '1', '2')
    const echoed = call(address, 'echo', 'hello')
    if (sum !== '3' || echoed !== '["hello"]') throw new Error(`unexpected answers: ${sum} ${echoed}`)
  } finally {
    server.kill('SIGTERM')
  }
  const status = await exited
  if (status !== 0) throw new Error(`the server exited with ${status}`)
  console.log('server stopped (SIGTERM)')
}

main().catch((err) => {
  console.error(`demo failed: ${err.message}`)
  process.exitCode = 1
})
