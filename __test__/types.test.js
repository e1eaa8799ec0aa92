'use strict'
// index.d.ts stays honest: correct usage compiles, wrong usage does not.
const test = require('node:test')
const assert = require('node:assert/strict')
const path = require('node:path')
const { execFile } = require('node:child_process')

const tsc = require.resolve('typescript/bin/tsc')
const dir = path.join(__dirname, 'types')

function compile(args) {
  return new Promise((resolve) => {
    execFile(process.execPath, [tsc, ...args], { cwd: dir, timeout: 120000 }, (err, stdout, stderr) =>
      resolve({ code: err ? err.code : 0, output: stdout + stderr })
    )
  })
}

test('the typings accept every documented form (tsc --noEmit)', async () => {
  const { code, output } = await compile(['-p', 'tsconfig.json'])
  assert.equal(code, 0, output)
})

test('the typings reject wrong usage', async () => {
  const wrong = await compile(['--noEmit', '--strict', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2022', '--types', 'node', 'wrong.ts'])
  assert.notEqual(wrong.code, 0)
  for (const line of [5, 6, 7, 8]) {
    assert.match(wrong.output, new RegExp(`wrong\\.ts\\(${line},`), `line ${line} should fail:\n${wrong.output}`)
  }
})
