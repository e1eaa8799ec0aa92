'use strict'
// `npm run test:package`: installs the tarballs of `npm run pack` the way a
// user would (an empty project, no cargo, rustc or C compiler on PATH) under
// every tested Node.js major version, then runs the README's first example and
// its async/await example (taken from README.md, so they cannot drift), an ESM
// import and a `tsc --strict` compile. Prints per version the install time,
// the installed size and pass/fail; exits 1 on any failure, an install over
// MAX_INSTALL_S or node_modules over MAX_SIZE_MB.
//
//   node scripts/test-package.js [--no-pack] [major or x.y.z ...]   (default 18 20 22 24 26)

const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { spawnSync } = require('node:child_process')
const { nodeFor } = require('./node-cache')

const ROOT = path.join(__dirname, '..')
const MAJORS = [18, 20, 22, 24, 26]
const MAX_INSTALL_S = 10
const MAX_SIZE_MB = 5
const FORBIDDEN = ['cargo', 'rustc', 'rustup', 'cc', 'gcc', 'clang', 'c++', 'g++', 'ld', 'make']

function run(cmd, args, options) {
  const child = spawnSync(cmd, args, { encoding: 'utf8', timeout: 120000, ...options })
  const output = `${child.stdout || ''}${child.stderr || ''}${child.error ? child.error.message : ''}`
  return { ok: child.status === 0, output, stdout: child.stdout || '' }
}

/** The first ```js block after the heading `heading` in README.md. */
function readmeExample(heading) {
  const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8')
  const at = readme.indexOf(`\n${heading}\n`)
  if (at < 0) throw new Error(`README.md has no heading ${JSON.stringify(heading)}`)
  const block = /```js\n([\s\S]*?)```/.exec(readme.slice(at))
  if (!block) throw new Error(`no js block after ${heading}`)
  const code = block[1]
  // What it prints is written as `console.log(...) // output` in the example itself.
  const expected = [...code.matchAll(/console\.log\(.*\)\s*\/\/ (.*)$/gm)].map((m) => m[1].trim())
  return { code, expected }
}

const ESM = `import rpc, { connect, listen } from 'msgpack-rpc'
const server = await listen({ port: 0, host: '127.0.0.1' }, { echo: async (v) => v })
const client = await connect(server.address().port, '127.0.0.1')
const echoed = await client.invoke('echo', ['esm', 1])
if (rpc.connect !== connect || JSON.stringify(echoed) !== '["esm",1]') throw new Error('ESM import broken: ' + JSON.stringify(echoed))
await client.close()
await server.close()
console.log('esm ok')
`

const TS = `import rpc, { connect, listen, RemoteError, codes, type RpcStream, type Response } from 'msgpack-rpc'

async function main(): Promise<void> {
  const server = await listen({ port: 0, host: '127.0.0.1' }, {
    async add(a: number, b: number): Promise<number> {
      return a + b
    },
  })
  const address = server.address()
  if (!address || typeof address !== 'object') throw new Error('no port')
  const client = await connect(address.port, '127.0.0.1')
  const sum: number = await client.invoke<number>('add', 1, 2)
  try {
    await client.request('missing', [], { timeout: 1000 })
  } catch (err) {
    if (err instanceof RemoteError) console.log(err.code === codes.REMOTE, sum)
  }
  await client.close()
  await server.close()
}

const legacy = rpc.createServer((stream: RpcStream) => {
  stream.on('request', (method: string, params: unknown[], response: Response) => response.result(method))
})
legacy.close()
main()
`

const TSCONFIG = {
  compilerOptions: {
    strict: true,
    noEmit: true,
    target: 'es2022',
    module: 'nodenext',
    moduleResolution: 'nodenext',
    types: ['node'],
    typeRoots: [path.join(ROOT, 'node_modules', '@types')],
  },
  files: ['usage.ts'],
}

/** A PATH of one directory holding only `node` (the version under test). */
function sandboxPath(node) {
  const bin = fs.mkdtempSync(path.join(os.tmpdir(), 'msgpack-rpc-bin-'))
  fs.symlinkSync(node, path.join(bin, 'node'))
  for (const tool of FORBIDDEN) {
    if (fs.existsSync(path.join(bin, tool))) throw new Error(`${tool} is on the sandbox PATH`)
  }
  return bin
}

/**
 * The machine's environment (proxies, CA bundles and npm's own config stay)
 * less what `npm run` adds, with PATH reduced to the sandbox.
 */
function userEnv(bin) {
  const env = {}
  for (const [k, v] of Object.entries(process.env)) {
    if (!/^npm_/i.test(k) && !['INIT_CWD', 'NODE', 'NODE_OPTIONS', 'NODE_PATH'].includes(k)) env[k] = v
  }
  env.PATH = bin
  return env
}

/** What `du` would say: allocated blocks of everything under dir. */
function diskUsage(dir) {
  let bytes = 0
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name)
    const st = fs.lstatSync(p)
    bytes += st.blocks * 512
    if (entry.isDirectory()) bytes += diskUsage(p)
  }
  return bytes
}

function testVersion(major, tarballs, examples) {
  const { version, node, npmCli } = nodeFor(major)
  const bin = sandboxPath(node)
  const project = fs.mkdtempSync(path.join(os.tmpdir(), `msgpack-rpc-user-${major}-`))
  const env = userEnv(bin)
  const checks = []
  const result = { version, checks, installS: NaN, sizeMB: NaN }
  try {
    fs.writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'user-project', version: '1.0.0', private: true }))
    const started = process.hrtime.bigint()
    const install = run(node, [npmCli, 'install', '--no-audit', '--no-fund', ...tarballs], { cwd: project, env })
    result.installS = Number(process.hrtime.bigint() - started) / 1e9
    checks.push({ name: 'install', ...install })
    if (!install.ok) return result
    result.sizeMB = diskUsage(path.join(project, 'node_modules')) / 1e6

    for (const [name, { code, expected }] of Object.entries(examples)) {
      fs.writeFileSync(path.join(project, `${name}.js`), code)
      const r = run(node, [`${name}.js`], { cwd: project, env, timeout: 30000 })
      const lines = r.stdout.split('\n').filter(Boolean)
      const matches = JSON.stringify(lines) === JSON.stringify(expected)
      checks.push({ name, ok: r.ok && matches, output: matches ? r.output : `expected ${JSON.stringify(expected)}, got:\n${r.output}` })
    }

    fs.writeFileSync(path.join(project, 'esm.mjs'), ESM)
    const esm = run(node, ['esm.mjs'], { cwd: project, env, timeout: 30000 })
    checks.push({ name: 'esm', ok: esm.ok && esm.stdout.trim() === 'esm ok', output: esm.output })

    fs.writeFileSync(path.join(project, 'usage.ts'), TS)
    fs.writeFileSync(path.join(project, 'tsconfig.json'), JSON.stringify(TSCONFIG, null, 2))
    const tsc = run(node, [require.resolve('typescript/bin/tsc', { paths: [ROOT] }), '-p', 'tsconfig.json'], { cwd: project, env })
    checks.push({ name: 'tsc --strict', ...tsc })
    return result
  } finally {
    fs.rmSync(project, { recursive: true, force: true })
    fs.rmSync(bin, { recursive: true, force: true })
  }
}

function main() {
  const args = process.argv.slice(2)
  const majors = args.filter((a) => /^\d+(\.\d+\.\d+)?$/.test(a))
  if (!args.includes('--no-pack')) {
    const packed = spawnSync(process.execPath, [path.join(__dirname, 'pack.js')], { cwd: ROOT, stdio: 'inherit' })
    if (packed.status !== 0) process.exit(1)
  }
  const tarballs = fs.readdirSync(path.join(ROOT, 'pack')).filter((f) => f.endsWith('.tgz')).map((f) => path.join(ROOT, 'pack', f))
  if (tarballs.length !== 2) throw new Error(`pack/ should hold the main and one platform tarball, holds ${tarballs.length}`)
  const examples = { 'first-example': readmeExample('## First example'), 'async-await': readmeExample('### With async/await') }

  let failed = 0
  console.log('node      install   node_modules  result')
  for (const major of majors.length ? majors : MAJORS) {
    const r = testVersion(major, tarballs, examples)
    const bad = r.checks.filter((c) => !c.ok)
    const slow = !(r.installS <= MAX_INSTALL_S)
    const big = !(r.sizeMB <= MAX_SIZE_MB)
    const ok = !bad.length && !slow && !big && r.checks.length === 5
    if (!ok) failed++
    const verdict = ok
      ? `pass (${r.checks.map((c) => c.name).join(', ')})`
      : `FAIL${bad.length ? `: ${bad.map((c) => c.name).join(', ')}` : ''}${slow ? `: install over ${MAX_INSTALL_S} s` : ''}${big ? `: over ${MAX_SIZE_MB} MB` : ''}`
    console.log(`${r.version.padEnd(9)} ${`${r.installS.toFixed(1)} s`.padStart(7)}   ${`${r.sizeMB.toFixed(2)} MB`.padStart(10)}  ${verdict}`)
    for (const c of bad) console.log(`  ${c.name}:\n${c.output.replace(/^/gm, '    ')}`)
  }
  const total = majors.length || MAJORS.length
  console.log(`${total - failed} passed, ${failed} failed`)
  process.exit(failed ? 1 : 0)
}

module.exports = { readmeExample }

if (require.main === module) main()
