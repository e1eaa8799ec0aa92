'use strict'
// The loader (lib/addon.js, lib/binding.js), run in a child process against a temporary
// copy of lib/: finds the platform package, prefers nothing it cannot load,
// and fails with one clear error when no addon is there.
const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { execFileSync, spawnSync } = require('node:child_process')

const root = path.join(__dirname, '..')
// The triple napi build put in the checkout's file name is the one the loader must compute.
const built = fs.readdirSync(root).find((f) => /^msgpack-rpc\..+\.node$/.test(f))
const triple = built && built.slice('msgpack-rpc.'.length, -'.node'.length)
const [platform, arch, libc] = triple ? triple.split('-') : []

/** A directory holding a copy of lib/ (and nothing else of the checkout). */
function tempPackage(t) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'msgpack-rpc-loader-'))
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }))
  fs.cpSync(path.join(root, 'lib'), path.join(dir, 'lib'), { recursive: true })
  return dir
}

/** Requires lib/binding.js in a child; returns what it loaded or the error it threw. */
function runLoader(dir) {
  const script = `
    try {
      const b = require('./lib/binding')
      console.log(JSON.stringify({ loaded: Object.keys(b.native).sort(), messages: b.MESSAGES }))
    } catch (err) {
      console.log(JSON.stringify({ code: err.code, message: err.message, package: err.package }))
    }`
  const out = execFileSync(process.execPath, ['-e', script], { cwd: dir, encoding: 'utf8', timeout: 30000 })
  return JSON.parse(out)
}

test('without a local build or a platform package, the loader throws one error naming what it looked for', { skip: !triple && 'no addon built in the checkout' }, (t) => {
  const dir = tempPackage(t)
  const result = runLoader(dir)
  assert.equal(result.code, 'ERR_MSGPACK_RPC_NO_ADDON')
  assert.equal(result.package, `msgpack-rpc-${triple}`)
  assert.doesNotMatch(result.message, /\n/, 'the message is one line')
  assert.match(result.message, new RegExp(`platform ${platform}, arch ${arch}`))
  if (libc) assert.match(result.message, new RegExp(`libc ${libc}`))
  assert.match(result.message, new RegExp(`package msgpack-rpc-${triple} `))
  assert.match(result.message, /Loader error: Cannot find module 'msgpack-rpc-/)
  assert.match(result.message, /build from source .*cargo.*npm install && npm run pack/)
})

test('the loader loads the addon from the platform package npm installed', { skip: !triple && 'no addon built in the checkout' }, (t) => {
  const dir = tempPackage(t)
  const pkgDir = path.join(dir, 'node_modules', `msgpack-rpc-${triple}`)
  fs.mkdirSync(pkgDir, { recursive: true })
  fs.copyFileSync(path.join(root, built), path.join(pkgDir, built))
  fs.writeFileSync(path.join(pkgDir, 'package.json'), JSON.stringify({ name: `msgpack-rpc-${triple}`, version: '0.0.0', main: built }))
  const result = runLoader(dir)
  assert.equal(result.code, undefined, result.message)
  assert.ok(result.loaded.includes('NativeConnection'), JSON.stringify(result.loaded))
  assert.equal(result.messages, 0)
})

test('an addon from another version of the library (it lacks the error codes lib/ reads) is refused with NO_ADDON naming it', { skip: !triple && 'no addon built in the checkout' }, (t) => {
  const dir = tempPackage(t)
  const pkgDir = path.join(dir, 'node_modules', `msgpack-rpc-${triple}`)
  fs.mkdirSync(pkgDir, { recursive: true })
  // An older addon: the event kinds and classes, none of the ERR_* constants.
  fs.writeFileSync(path.join(pkgDir, 'index.js'), 'module.exports = { MESSAGES: 0, NativeConnection: class {} }')
  fs.writeFileSync(path.join(pkgDir, 'package.json'), JSON.stringify({ name: `msgpack-rpc-${triple}`, version: '0.0.0', main: 'index.js' }))
  const result = runLoader(dir)
  assert.equal(result.code, 'ERR_MSGPACK_RPC_NO_ADDON')
  assert.match(result.message, /is a build of another version of msgpack-rpc \(it does not export ERR_CLOSED\)/)
})

test('a local build that cannot load is reported with its own error rather than the missing package', { skip: !triple && 'no addon built in the checkout' }, (t) => {
  const dir = tempPackage(t)
  fs.writeFileSync(path.join(dir, built), 'not a shared library')
  const result = runLoader(dir)
  assert.equal(result.code, 'ERR_MSGPACK_RPC_NO_ADDON')
  assert.doesNotMatch(result.message, /\n/)
  assert.ok(result.message.includes(`build from source at ${path.join(dir, built)}`), result.message)
  assert.doesNotMatch(result.message, /Loader error: Cannot find module/)
})

test('a library that cannot load its addon throws ERR_MSGPACK_RPC_NO_ADDON from require itself', { skip: !triple && 'no addon built in the checkout' }, (t) => {
  const dir = tempPackage(t)
  fs.copyFileSync(path.join(root, 'index.js'), path.join(dir, 'index.js'))
  const child = spawnSync(process.execPath, ['-e', "require('./index.js')"], { cwd: dir, encoding: 'utf8', timeout: 30000 })
  assert.notEqual(child.status, 0)
  assert.match(child.stderr, /ERR_MSGPACK_RPC_NO_ADDON/)
  assert.doesNotMatch(child.stderr, /napi/i, 'no napi-rs loader noise')
})
