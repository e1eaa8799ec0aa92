'use strict'
// The fuzzer (bench/fuzz.js) on a short budget, as a child process: random and
// mutated MessagePack over TCP, UDP and attach must not crash the server, starve
// the canary or grow its memory. A second run plants a crash in the target to
// show that the fuzzer reports one, keeps going with --keep-going, and exits 1.
const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { spawn } = require('node:child_process')

const FUZZ = path.join(__dirname, '..', 'bench', 'fuzz.js')
const KEEP = 256 * 1024

/** Runs the fuzzer; resolves with its exit code, its output and its summary. */
function fuzz(args, timeoutMs) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [FUZZ, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    const keep = (d) => {
      out = (out + d).slice(-KEEP)
    }
    child.stdout.on('data', keep)
    child.stderr.on('data', keep)
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
    child.once('close', (code, signal) => {
      clearTimeout(timer)
      const m = /^FUZZ_SUMMARY (.*)$/m.exec(out)
      resolve({ code, signal, out, summary: m ? JSON.parse(m[1]) : undefined })
    })
  })
}

function tempDir() {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'msgpack-rpc-fuzz-'))
}

test('a short fuzz run over tcp, udp and attach tries inputs on each and finds nothing', { timeout: 120000 }, async () => {
  const dir = tempDir()
  try {
    // The canary may wait 2 s (the fuzzer's default is 1 s): the test suite shares the machine.
    const args = ['--seconds', '4', '--transport', 'all', '--canary-limit', '2000', '--findings-dir', dir]
    const { code, out, summary } = await fuzz(args, 110000)
    assert.ok(summary, `the fuzzer printed a summary:\n${out}`)
    for (const transport of ['tcp', 'udp', 'attach']) {
      assert.ok(summary.inputs[transport] > 0, `inputs were tried over ${transport}`)
    }
    assert.equal(summary.findings, 0, `no findings:\n${out}`)
    assert.equal(code, 0)
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
})

test('a planted crash is reported and saved, the target restarts with --keep-going, and the exit code is 1', { timeout: 120000 }, async () => {
  const dir = tempDir()
  try {
    // One sender: seed 3's inputs go in a fixed order, and its sixth calls the
    // planted echo, before anything else (the library's own faults included) crashes it.
    const args = ['--seconds', '30', '--transport', 'tcp', '--seed', '3', '--concurrency', '1', '--plant-bug=crash', '--keep-going', '--max-findings', '3', '--findings-dir', dir]
    const { code, out, summary } = await fuzz(args, 110000)
    assert.ok(summary, `the fuzzer printed a summary:\n${out}`)
    assert.equal(code, 1, out)
    assert.ok(summary.kinds['crash: exit 70'] >= 1, `the planted crash (exit code 70) was found:\n${out}`)
    assert.equal(summary.findings, 3, `the run went on after the first finding, up to --max-findings:\n${out}`)
    assert.equal(out.match(/--keep-going: restarting the target/g).length, 2)
    const saved = fs.readdirSync(dir).map((f) => fs.readFileSync(path.join(dir, f), 'utf8'))
    assert.ok(
      saved.some((text) => text.includes('exit 70')),
      `a findings file names the planted crash:\n${out}`
    )
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
})
