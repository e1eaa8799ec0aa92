'use strict'
// Fuzzes the whole stack: random and mutated MessagePack (bench/fuzz/inputs.js)
// sent to a server in a child process (bench/fuzz/target.js) over TCP, UDP and
// rpc.attach, while checking that the process lives, that a canary client
// keeps getting correct answers, and that its memory stays bounded.
//
//   npm run fuzz -- [--seconds 60] [--seed N] [--transport tcp|udp|attach|all]
//                   [--keep-going [--max-findings N]] [--canary-limit 1000] [--rss-limit-mib 200]
//                   [--findings-dir bench/fuzz/findings] [--concurrency 8]
//   npm run fuzz -- --replay bench/fuzz/findings/<seed>.hex [--transport tcp]
//   --plant-bug[=crash|stall|memory]: the target gets a bug of that kind (see
//   bench/fuzz/target.js), to check that the fuzzer reports it.
//   --lib <checkout>: the target loads msgpack-rpc from there (another build).
//
// Exit code 0: no finding; 1: a finding (crash, canary starved or wrong, a
// UDP peer no longer answered, memory over the bound); 2: the fuzzer failed.

const crypto = require('node:crypto')
const path = require('node:path')
const { Rng } = require('./fuzz/rng')
const { Inputs } = require('./fuzz/inputs')
const { Target, Canary } = require('./fuzz/child')
const { streamPlan, sendStream, DatagramSender } = require('./fuzz/send')
const { Reproducer, analyseCrash, analysePeer, save, load, signature } = require('./fuzz/finding')
const { describe, hex, tail, indent, mib, MIB } = require('./fuzz/text')

const TRANSPORTS = ['tcp', 'udp', 'attach']
/**
 * Recent inputs kept per transport, to find the one that killed the target:
 * the exit is seen some time after the input that caused it was sent.
 */
const RECENT = 256
/** Inputs sent this long before the exit (or still in flight) are suspects; at most MAX_SUSPECTS of them. */
const SUSPECT_MS = 2000
const MAX_SUSPECTS = 128
/**
 * Every this many datagrams a UDP sender calls `add` from its own source port:
 * whatever it sent before, a well-behaved call from that peer must be answered.
 */
const PEER_PROBE_EVERY = 32
/** How often the monitor checks the target, the canaries and RSS. */
const MONITOR_MS = 100
/** How often a progress line is printed. */
const PROGRESS_MS = 10000
/**
 * Senders per stream transport (UDP gets half as many): with three canaries,
 * at most 11 + 11 + 6 + 3 = 31 sockets are open at a time.
 */
const MAX_CONCURRENCY = 11
/** Time allowed to find and shrink the input behind one crash. */
const FINDING_BUDGET_MS = 30000

function parseArgs(argv) {
  const o = {
    seconds: 60,
    seed: undefined,
    transport: 'all',
    keepGoing: false,
    maxFindings: Infinity,
    canaryLimit: 1000,
    rssLimitMib: 200,
    findingsDir: path.join(__dirname, 'fuzz', 'findings'),
    concurrency: 8,
    plantBug: false,
    replay: undefined,
    lib: undefined,
  }
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    const value = () => {
      if (i + 1 >= argv.length) usage(`${a} needs a value`)
      return argv[++i]
    }
    const number = () => {
      const v = Number(value())
      if (!Number.isFinite(v) || v < 0) usage(`${a} needs a non-negative number`)
      return v
    }
    if (a === '--seconds') o.seconds = number()
    else if (a === '--seed') o.seed = Math.floor(number()) >>> 0
    else if (a === '--transport') o.transport = value()
    else if (a === '--keep-going') o.keepGoing = true
    else if (a === '--max-findings') o.maxFindings = Math.max(1, Math.floor(number()))
    else if (a === '--canary-limit') o.canaryLimit = number()
    else if (a === '--rss-limit-mib') o.rssLimitMib = number()
    else if (a === '--findings-dir') o.findingsDir = path.resolve(value())
    else if (a === '--concurrency') o.concurrency = Math.max(1, Math.min(MAX_CONCURRENCY, Math.floor(number())))
    else if (a === '--plant-bug') o.plantBug = 'crash'
    else if (a.startsWith('--plant-bug=')) {
      o.plantBug = a.slice('--plant-bug='.length)
      if (!['crash', 'stall', 'memory'].includes(o.plantBug)) usage('--plant-bug= takes crash, stall or memory')
    }
    else if (a === '--replay') o.replay = value()
    else if (a === '--lib') o.lib = path.resolve(value())
    else usage(`unknown argument ${a}`)
  }
  if (o.transport !== 'all' && !TRANSPORTS.includes(o.transport)) usage(`--transport must be tcp, udp, attach or all`)
  o.transports = o.transport === 'all' ? TRANSPORTS : [o.transport]
  return o
}

function usage(problem) {
  console.error(`fuzz: ${problem}\nusage: node bench/fuzz.js [--seconds N] [--seed N] [--transport tcp|udp|attach|all] [--keep-going] [--replay file.hex] (all options: the header of bench/fuzz.js)`)
  process.exit(2)
}

/** Exits (code 2) when nothing has kicked it for `ms`. */
const watchdog = {
  start(ms) {
    this.ms = ms
    this.kick()
  },
  kick() {
    clearTimeout(this.timer)
    this.timer = setTimeout(() => {
      console.log(`fuzz: no progress for ${this.ms / 1000} s; giving up`)
      for (const t of Target.all) t.child.kill('SIGKILL')
      process.exit(2)
    }, this.ms)
    this.timer.unref()
  },
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

/** One fuzz run: the target, its canaries, the senders per transport, the findings. */
class Run {
  constructor(o, seed) {
    this.o = o
    this.seed = seed
    this.findings = []
    this.target = undefined
    this.canaries = []
    this.live = new Set()
    this.stopping = false
    this.paused = true
    this._resume = undefined
    this._resumed = Promise.resolve()
    this.fuzzMs = 0 // time spent sending (not finding or restarting)
    this._since = 0
    this.rss = { start: 0, max: 0, bound: 0 }
    this.canaryMax = {}
    const root = new Rng(seed)
    this.per = {}
    for (const name of TRANSPORTS) {
      // One generator per transport, forked in a fixed order: `--seed` replays each transport's sequence.
      const rng = root.fork()
      this.per[name] = { name, rng, inputs: new Inputs(rng), count: 0, recent: [] }
    }
  }

  /** The next input for `transport`, recorded among its recent ones. */
  next(transport) {
    const t = this.per[transport]
    const input = transport === 'udp' ? t.inputs.next() : t.inputs.session()
    const plan = transport === 'udp' ? undefined : streamPlan(t.rng, input.bytes.length)
    const record = { transport, index: t.count++, bytes: input.bytes, strategy: input.strategy, plan, sentAt: Date.now(), doneAt: undefined }
    t.recent.push(record)
    if (t.recent.length > RECENT) t.recent.shift()
    return record
  }

  async streamWorker(transport) {
    while (!this.stopping) {
      if (this.paused) {
        await this._resumed
        continue
      }
      const record = this.next(transport)
      await sendStream(this.target.ports[transport], record.bytes, record.plan, this.live)
      record.doneAt = Date.now()
    }
  }

  async datagramWorker() {
    let sender
    let port
    let sent = [] // this peer's datagrams since its last answered probe
    while (!this.stopping) {
      if (this.paused) {
        await this._resumed
        continue
      }
      if (port !== this.target.ports.udp) {
        if (sender) sender.close()
        port = this.target.ports.udp
        sender = new DatagramSender(port)
      }
      const record = this.next('udp')
      const peer = sender.peer
      const sending = sender.send(record.bytes)
      record.peer = sender.peer
      if (record.peer !== peer) sent = []
      sent.push(record)
      await sending
      record.doneAt = Date.now()
      if (sent.length >= PEER_PROBE_EVERY) {
        const target = this.target
        if (await sender.probe()) sent = []
        else if (!this.paused && target === this.target && target.alive) {
          this.finding('udp-peer', target, `a UDP peer got no answer to add after ${sent.length} datagrams from its source port`, sent)
        }
      }
    }
    if (sender) sender.close()
  }

  /** Starts a target and its canaries, then lets the workers send. */
  async startTarget() {
    this.target = await Target.start({ plantBug: this.o.plantBug, lib: this.o.lib })
    const target = this.target
    target.exited.then(() => {
      if (!target.killed) this.finding('crash', target)
    })
    for (const name of this.o.transports) {
      this.canaries.push(new Canary(name, target.ports[name], { timeout: this.o.canaryLimit }))
    }
    // RSS once every canary has been answered: the baseline for the bound.
    const ready = Date.now()
    while (this.canaries.some((c) => c.ok === 0) && Date.now() - ready < 5000 && target.alive) await sleep(10)
    this.rss.start = target.rss()
    this.rss.bound = this.rss.start + this.o.rssLimitMib * MIB
    this.rss.max = Math.max(this.rss.max, this.rss.start)
    for (const c of this.canaries) c.excuse(Date.now() - c.lastOk)
    // It died while starting: that finding is being handled (and restarts it if need be).
    if (this.handling || target !== this.target || !target.alive) return
    this.paused = false
    this._since = Date.now()
    if (this._resume) this._resume()
  }

  pause() {
    if (this.paused) return
    this.paused = true
    this.fuzzMs += Date.now() - this._since
    this._resumed = new Promise((resolve) => (this._resume = resolve))
    for (const s of this.live) s.destroy()
    for (const c of this.canaries) {
      this.canaryMax[c.transport] = Math.max(this.canaryMax[c.transport] || 0, c.maxLatency)
      c.stop()
    }
    this.canaries = []
  }

  /** Checks canaries and RSS; `lag` is how late this check itself ran. */
  monitor(lag) {
    if (this.paused || this.stopping) return
    const now = Date.now()
    for (const c of this.canaries) {
      // The fuzzer's own stalls are not the target's.
      if (lag > MONITOR_MS / 2) c.excuse(lag)
      if (c.wrong) return this.finding('canary', this.target, `canary on ${c.transport}: ${c.wrong}`)
      if (now - c.lastOk > this.o.canaryLimit + MONITOR_MS) {
        return this.finding('canary', this.target, `canary on ${c.transport}: no correct answer to add for ${now - c.lastOk} ms (limit ${this.o.canaryLimit} ms)`)
      }
    }
    const rss = this.target.rss()
    this.rss.max = Math.max(this.rss.max, rss)
    if (rss > this.rss.bound) return this.finding('memory', this.target, `RSS ${mib(rss)} over the bound ${mib(this.rss.bound)} (start ${mib(this.rss.start)} + ${this.o.rssLimitMib} MiB)`)
  }

  /** Records a finding: stops sending, reports it, restarts the target with --keep-going. */
  async finding(kind, target, detail, records) {
    // One finding at a time, and only about the current target (not one we killed).
    if (this.handling || target !== this.target || target.killed) return
    this.handling = true
    this.pause()
    const at = Date.now()
    // Findings of the same kind count as one (digits blurred); a crash's signature is set once known.
    const finding = { kind, detail, records, signature: detail && detail.replace(/\d+/g, 'N'), at: (this.fuzzMs / 1000).toFixed(1) }
    this.findings.push(finding)
    this._reporting = this._report(finding, target, at).catch((err) => {
      console.log(`fuzz: could not analyse the finding: ${err.stack}`)
    })
    await this._reporting
    watchdog.kick()
    this.handling = false
    if (this.o.keepGoing && !this.stopping && this.fuzzMs < this.o.seconds * 1000 && this.findings.length < this.o.maxFindings) {
      console.log('fuzz: --keep-going: restarting the target')
      await this.startTarget().catch((err) => {
        console.log(`fuzz: could not restart the target: ${err.message}`)
        this.stopping = true
      })
    } else {
      this.stopping = true
      if (this._resume) this._resume()
    }
  }

  async _report(finding, target, at) {
    const n = this.findings.length
    const o = this.o
    const candidates = []
    for (const name of o.transports) for (const r of this.per[name].recent) if (r.doneAt === undefined || r.doneAt > at - SUSPECT_MS) candidates.push(r)
    // In flight first, then the most recent.
    candidates.sort((a, b) => (b.doneAt === undefined) - (a.doneAt === undefined) || b.sentAt - a.sentAt)
    candidates.length = Math.min(candidates.length, MAX_SUSPECTS)
    if (finding.kind === 'crash') {
      const exit = target.exit
      const stderr = await target.stderr()
      const sig = signature(exit, stderr)
      finding.signature = sig
      if (this.findings.slice(0, -1).some((f) => f.signature === sig)) {
        console.log(`FINDING ${n}: the target exited again with "${sig}" after ${finding.at} s (seen before: not analysed again)`)
        return
      }
      console.log(`\nFINDING ${n}: the target exited (code ${exit.code}, signal ${exit.signal}) after ${finding.at} s of fuzzing; seed ${this.seed}`)
      console.log(indent('child stderr', tail(stderr)))
      const reproducer = new Reproducer({ plantBug: o.plantBug, lib: o.lib })
      try {
        await analyseCrash(reproducer, candidates, sig, { seed: this.seed, dir: o.findingsDir, budget: FINDING_BUDGET_MS })
      } finally {
        await reproducer.close()
      }
    } else if (this.findings.slice(0, -1).some((f) => f.signature === finding.signature)) {
      console.log(`FINDING ${n}: ${finding.detail} after ${finding.at} s (seen before: not analysed again)`)
      await target.kill()
    } else if (finding.kind === 'udp-peer') {
      console.log(`\nFINDING ${n}: ${finding.detail}, after ${finding.at} s of fuzzing; seed ${this.seed}`)
      await target.kill()
      const reproducer = new Reproducer({ plantBug: o.plantBug, lib: o.lib })
      try {
        await analysePeer(reproducer, finding.records, { seed: this.seed, dir: o.findingsDir, budget: FINDING_BUDGET_MS })
      } finally {
        await reproducer.close()
      }
    } else {
      console.log(`\nFINDING ${n}: ${finding.detail}; after ${finding.at} s of fuzzing; seed ${this.seed}`)
      for (const r of candidates.slice(0, 8)) console.log(`    ${describe(r)}: ${hex(r.bytes)}`)
      const file = save(o.findingsDir, this.seed, [`# seed ${this.seed}: ${finding.detail}; recent inputs`, ...candidates.map((r) => `# ${describe(r)}\n${r.bytes.toString('hex')}`)])
      console.log(`  saved: ${file}`)
      console.log(indent('child stderr', tail(await target.stderr(0))))
      await target.kill()
    }
  }

  async run() {
    const o = this.o
    await this.startTarget()
    const workers = []
    for (const name of o.transports) {
      if (name === 'udp') for (let i = 0; i < Math.ceil(o.concurrency / 2); i++) workers.push(this.datagramWorker())
      else for (let i = 0; i < o.concurrency; i++) workers.push(this.streamWorker(name))
    }
    const progress = setInterval(() => this.progress(), PROGRESS_MS)
    let last = Date.now()
    const monitor = setInterval(() => {
      const now = Date.now()
      if (!this.paused) watchdog.kick()
      this.monitor(now - last - MONITOR_MS)
      last = now
      if (!this.paused && this.fuzzMs + (now - this._since) >= o.seconds * 1000) this.stopping = true
      if (this.stopping && this._resume) this._resume()
    }, MONITOR_MS)
    await Promise.all(workers)
    clearInterval(monitor)
    clearInterval(progress)
    await this._reporting
    if (!this.paused) this.pause()
    if (this.target) await this.target.kill()
  }

  /** One line: inputs so far, the target's memory, the canaries' worst latency. */
  async progress() {
    if (this.paused) return
    const secs = (this.fuzzMs + Date.now() - this._since) / 1000
    const counts = this.o.transports.map((name) => `${name} ${this.per[name].count}`).join(', ')
    const latency = Math.max(0, ...this.canaries.map((c) => c.maxLatency))
    const stats = await this.target.stats()
    const memory = stats ? `RSS ${mib(stats.rss)} (heap ${mib(stats.heapUsed)}, external ${mib(stats.external)})` : `RSS ${mib(this.target.rss())}`
    console.log(`fuzz: ${secs.toFixed(0)} s: inputs ${counts}; ${memory}; canary latency max ${latency} ms; findings ${this.findings.length}`)
  }

  summary() {
    const secs = this.fuzzMs / 1000
    const inputs = {}
    console.log(`\nfuzz: seed ${this.seed}, ${secs.toFixed(1)} s of fuzzing`)
    for (const name of this.o.transports) {
      const n = this.per[name].count
      inputs[name] = n
      console.log(`  ${name}: ${n} inputs (${secs > 0 ? Math.round(n / secs) : 0}/s), canary latency max ${this.canaryMax[name] || 0} ms; ${this.per[name].inputs.coverage()}`)
    }
    const kinds = new Map()
    for (const f of this.findings) {
      const key = `${f.kind}: ${f.signature}`
      kinds.set(key, (kinds.get(key) || 0) + 1)
    }
    console.log(`  findings: ${this.findings.length}`)
    for (const [key, count] of kinds) console.log(`    ${count} x ${key}`)
    if (this.findings.length) console.log(`  time to first finding: ${this.findings[0].at} s`)
    console.log(`  target RSS: start ${mib(this.rss.start)}, max ${mib(this.rss.max)} (bound start + ${this.o.rssLimitMib} MiB)`)
    const data = { seed: this.seed, seconds: Number(secs.toFixed(2)), inputs, findings: this.findings.length, kinds: Object.fromEntries(kinds), firstFindingAt: this.findings[0] ? Number(this.findings[0].at) : null, canaryMaxMs: this.canaryMax, rss: this.rss }
    console.log(`FUZZ_SUMMARY ${JSON.stringify(data)}`)
  }
}

/** `--replay file`: each input of the file alone (or all in order, for a `# sequence` file), on each chosen transport. */
async function replay(o) {
  const { inputs, sequence } = load(o.replay)
  const reproducer = new Reproducer({ plantBug: o.plantBug, lib: o.lib })
  let crashes = 0
  const report = (name, what, crash) => {
    watchdog.kick()
    console.log(`${name}: ${what}: ${crash ? `CRASH ${crash.signature}` : 'no crash'}`)
    if (crash) {
      crashes++
      console.log(indent('child stderr', tail(crash.stderr)))
    }
  }
  try {
    for (const name of o.transports) {
      if (!sequence) {
        for (const bytes of inputs) report(name, hex(bytes), await reproducer.crash(name, bytes))
        continue
      }
      const crash = await reproducer.crashSequence(name, inputs)
      report(name, `${inputs.length} inputs in order`, crash)
      if (name === 'udp' && !crash) {
        // Over UDP the peer that sent them must still be served.
        const answered = await reproducer.peerAnswers(inputs)
        console.log(`udp: after them, that peer's add call is ${answered ? 'answered' : 'NOT answered'}`)
        if (!answered) crashes++
      }
    }
  } finally {
    await reproducer.close()
  }
  return crashes ? 1 : 0
}

async function main() {
  const o = parseArgs(process.argv.slice(2))
  // Whatever happens, never hang: a fuzzer that makes no progress for this long has failed.
  watchdog.start(FINDING_BUDGET_MS + 60000)
  if (o.replay) return replay(o)
  const seed = o.seed !== undefined ? o.seed : crypto.randomInt(2 ** 31)
  console.log(`fuzz: seed ${seed} (replay with --seed ${seed}), ${o.seconds} s on ${o.transports.join(', ')}`)
  const run = new Run(o, seed)
  await run.run()
  run.summary()
  return run.findings.length ? 1 : 0
}

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    console.log(`fuzz: ${signal}: stopping`)
    process.exit(2) // the 'exit' handler in fuzz/child.js kills the targets
  })
}

main().then(
  (code) => {
    process.exitCode = code
    // Sockets of our own library may hold the loop for a moment; nothing is left to do.
    setTimeout(() => process.exit(code), 200).unref()
  },
  (err) => {
    console.error(`fuzz: ${err.stack}`)
    for (const t of Target.all) t.child.kill('SIGKILL')
    process.exit(2)
  }
)
