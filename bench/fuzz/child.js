'use strict'
// The target process (target.js) seen from the fuzzer: start it, learn its
// ports, read its RSS, keep the tail of its stderr, kill it. And the canary:
// a client of our own library on a separate connection that calls `add`
// throughout and must keep getting the right answer.

const childProcess = require('node:child_process')
const fs = require('node:fs')
const path = require('node:path')
const rpc = require('../..')

const TARGET = path.join(__dirname, 'target.js')
const STDERR_KEEP = 64 * 1024

class Target {
  /**
   * Forks target.js and resolves once it reports its ports.
   * @param {{ plantBug?: string, lib?: string, startTimeout?: number }} [options]
   */
  static async start(options = {}) {
    const t = new Target(options)
    await t._ready
    return t
  }

  constructor(options) {
    const args = options.plantBug ? [`--plant-bug=${options.plantBug}`] : []
    const env = options.lib ? { ...process.env, MSGPACK_RPC_FUZZ_LIB: options.lib } : process.env
    this.child = childProcess.fork(TARGET, args, { stdio: ['ignore', 'pipe', 'pipe', 'ipc'], execArgv: [], env })
    this.pid = this.child.pid
    this.exit = undefined
    this.killed = false // set when we kill it: that exit is not a finding
    Target.all.add(this)
    this._stderr = ''
    this._stderrDone = new Promise((resolve) => this.child.stderr.once('close', resolve))
    this.child.stderr.setEncoding('utf8')
    this.child.stderr.on('data', (s) => {
      this._stderr = (this._stderr + s).slice(-STDERR_KEEP)
    })
    this.child.stdout.resume()
    this.exited = new Promise((resolve) => {
      this.child.once('exit', (code, signal) => {
        Target.all.delete(this)
        this.exit = { code, signal, at: Date.now() }
        resolve(this.exit)
      })
    })
    this._ready = new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('fuzz target did not report its ports in time')), options.startTimeout || 15000)
      this.child.once('error', (err) => {
        clearTimeout(timer)
        reject(err)
      })
      this.child.once('message', (m) => {
        clearTimeout(timer)
        this.ports = m.ports
        resolve()
      })
      this.exited.then(() => {
        clearTimeout(timer)
        reject(new Error(`fuzz target exited while starting\n${this._stderr}`))
      })
    })
    this._ready.catch(() => {})
  }

  get alive() {
    return this.exit === undefined
  }

  /** Resident set size in bytes (from /proc), or 0 once the process is gone. */
  rss() {
    try {
      const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${this.pid}/status`, 'utf8'))
      return m ? Number(m[1]) * 1024 : 0
    } catch {
      return 0
    }
  }

  /** Its process.memoryUsage(), or undefined if it does not answer within `ms`. */
  stats(ms = 1000) {
    return new Promise((resolve) => {
      if (!this.alive || !this.child.connected) return resolve(undefined)
      const done = (m) => {
        if (!m || !m.stats) return
        clearTimeout(timer)
        this.child.removeListener('message', done)
        resolve(m.stats)
      }
      const timer = setTimeout(() => {
        this.child.removeListener('message', done)
        resolve(undefined)
      }, ms)
      this.child.on('message', done)
      this.child.send('stats', () => {})
    })
  }

  /** The tail of its stderr, once the pipe has closed (or after `wait` ms). */
  async stderr(wait = 1000) {
    let timer
    await Promise.race([this._stderrDone, new Promise((resolve) => (timer = setTimeout(resolve, wait)))])
    clearTimeout(timer)
    return this._stderr
  }

  /** Resolves with the exit once it exits, or undefined after `ms`. */
  async waitExit(ms) {
    let timer
    const r = await Promise.race([this.exited, new Promise((resolve) => (timer = setTimeout(resolve, ms)))])
    clearTimeout(timer)
    return r
  }

  /** Kills it (SIGKILL) and waits, bounded, for the exit. */
  async kill() {
    this.killed = true
    if (this.alive) this.child.kill('SIGKILL')
    await this.waitExit(5000)
  }
}

/** Targets still running: killed when the fuzzer exits, whatever the reason. */
Target.all = new Set()
process.on('exit', () => {
  for (const t of Target.all) t.child.kill('SIGKILL')
})

/**
 * Calls `add(a, b)` every `interval` ms over one transport, several calls in
 * flight if need be (a UDP datagram can be lost), and remembers when the last
 * correct answer came.
 */
class Canary {
  constructor(transport, port, { interval = 100, timeout = 1000 } = {}) {
    this.transport = transport
    this.interval = interval
    this.timeout = timeout
    this.lastOk = Date.now()
    this.maxLatency = 0
    this.ok = 0
    this.wrong = undefined // the first wrong answer, as text
    this._stopped = false
    this._inFlight = 0
    if (transport === 'udp') {
      this.client = rpc.createUdpClient(port, '127.0.0.1', { timeout })
    } else {
      // attach serves plain TCP too: our client talks to both servers the same way.
      this.client = rpc.createClient(port, '127.0.0.1')
    }
    this.client.on('error', () => {})
    this._timer = setInterval(() => this._call(), interval)
    this._call()
  }

  _call() {
    if (this._stopped || this._inFlight >= 20) return
    const a = Math.floor(Math.random() * 1e6)
    const b = Math.floor(Math.random() * 1e6)
    const started = Date.now()
    this._inFlight++
    this.client.request('add', [a, b], { timeout: this.timeout }).then(
      (sum) => {
        this._inFlight--
        if (this._stopped) return
        if (sum !== a + b) {
          this.wrong = this.wrong || `add(${a}, ${b}) answered ${JSON.stringify(sum)}`
          return
        }
        const now = Date.now()
        this.ok++
        this.lastOk = now
        this.maxLatency = Math.max(this.maxLatency, now - started)
      },
      () => {
        this._inFlight--
      }
    )
  }

  /** The canary has been restarted after `gap` ms of the fuzzer's own lag: do not count it. */
  excuse(gap) {
    this.lastOk += gap
  }

  stop() {
    this._stopped = true
    clearInterval(this._timer)
    this.client.close().catch(() => {})
  }
}

module.exports = { Target, Canary }
