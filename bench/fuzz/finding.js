'use strict'
// What happens after the target dies: find which recent input kills a fresh
// target on its own (or, failing that, which inputs do when sent in order),
// shrink it by removing bytes while it still kills the target the same way,
// and save it as hex for `--replay`.

const fs = require('node:fs')
const path = require('node:path')
const rpc = require('../..')
const { Target } = require('./child')
const { sendStream, DatagramSender } = require('./send')
const { describe, hex } = require('./text')

const SINGLE = { mode: 'single', chunks: [], close: 'linger' }

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

/**
 * What a crash looks like, to tell two crashes apart: the exit and the first
 * `SomeError: message` line of stderr, digits blurred.
 */
function signature(exit, stderr) {
  const line = /^(?:\w*Error|Uncaught|thread '.*' panicked|FATAL|#).*$/m.exec(stderr || '')
  const text = line ? line[0].replace(/\d+/g, 'N').slice(0, 200) : ''
  return `exit ${exit.code === null ? exit.signal : exit.code}${text ? `: ${text}` : ''}`
}

/** Runs inputs one at a time against its own target, restarting it after each crash. */
class Reproducer {
  constructor(options = {}) {
    this.options = options
    this.target = undefined
    this.client = undefined
    this.probes = 0
    this.live = new Set()
  }

  async _ensure() {
    if (this.target && this.target.alive && this.client && !this.client.closed) return
    await this._drop()
    this.target = await Target.start({ plantBug: this.options.plantBug, lib: this.options.lib })
    let timer
    const client = rpc.createClient(this.target.ports.tcp, '127.0.0.1')
    client.on('error', () => {})
    this.client = client
    await new Promise((resolve, reject) => {
      timer = setTimeout(() => reject(new Error('could not connect to a fresh fuzz target')), 5000)
      client.once('ready', resolve)
      client.once('close', () => reject(new Error('a fresh fuzz target refused the connection')))
    }).finally(() => clearTimeout(timer))
  }

  async _drop() {
    if (this.client) this.client.close().catch(() => {})
    this.client = undefined
    if (this.target) await this.target.kill()
  }

  /**
   * Sends `bytes` alone over `transport` to a live target. Resolves with
   * `{ exit, stderr, signature }` if the target died of it, else undefined.
   */
  crash(transport, bytes) {
    return this.crashSequence(transport, [bytes])
  }

  /**
   * Sends each of `inputs` in order over `transport` (over UDP all from one
   * source port, i.e. one peer; over a stream, a connection each), then checks
   * as crash() does.
   */
  async crashSequence(transport, inputs) {
    await this._ensure()
    this.probes++
    const target = this.target
    if (transport === 'udp') {
      const sender = new DatagramSender(target.ports.udp, Infinity)
      for (const bytes of inputs) if (target.alive) await sender.send(bytes)
      sender.close()
    } else {
      for (const bytes of inputs) if (target.alive) await sendStream(target.ports[transport], bytes, SINGLE, this.live)
    }
    // A round trip after the input: whatever the input set off has run by now.
    if (target.alive) {
      const answered = await this.client.request('add', [1, 2], { timeout: 2000 }).then(
        (v) => v === 3,
        () => false
      )
      if (answered) await sleep(10)
      else await target.waitExit(1000)
    }
    if (target.alive) return undefined
    const stderr = await target.stderr()
    return { exit: target.exit, stderr, signature: signature(target.exit, stderr) }
  }

  /**
   * Sends `inputs` in order from one UDP source port, then calls `add` from
   * that port: resolves with whether the target still answers that peer.
   */
  async peerAnswers(inputs) {
    await this._ensure()
    this.probes++
    const sender = new DatagramSender(this.target.ports.udp, Infinity)
    for (const bytes of inputs) await sender.send(bytes)
    const answered = await sender.probe()
    sender.close()
    return answered
  }

  async close() {
    for (const s of this.live) s.destroy()
    await this._drop()
  }
}

/**
 * Tries `candidates` (most likely first) each alone; resolves with the first
 * that crashes a fresh target with signature `sig` (else the first that
 * crashes it at all), as `{ candidate, crash }`, or undefined.
 */
async function reproduce(reproducer, candidates, sig, deadline) {
  let other
  for (const candidate of candidates) {
    if (Date.now() > deadline) break
    const crash = await reproducer.crash(candidate.transport, candidate.bytes)
    if (crash && crash.signature === sig) return { candidate, crash }
    if (crash && !other) other = { candidate, crash }
  }
  return other
}

/**
 * Removes ever smaller runs of bytes while the input still crashes the target
 * with the same signature. Bounded by `deadline` and `maxProbes`.
 */
function minimise(reproducer, transport, bytes, sig, deadline, maxProbes = 400) {
  const fails = async (b) => (await reproducer.crash(transport, b))?.signature === sig
  return shrinkBytes(reproducer, fails, bytes, deadline, maxProbes)
}

/** minimise() with `fails(bytes)` deciding whether `bytes` still shows the fault. */
async function shrinkBytes(reproducer, fails, bytes, deadline, maxProbes) {
  let current = bytes
  const start = reproducer.probes
  for (let run = Math.max(1, current.length >> 1); run >= 1; run >>= 1) {
    for (let i = 0; i < current.length; ) {
      if (Date.now() > deadline || reproducer.probes - start >= maxProbes) return current
      const shorter = Buffer.concat([current.subarray(0, i), current.subarray(i + run)])
      if (shorter.length > 0 && (await fails(shorter))) current = shorter
      else i += run
    }
  }
  return current
}

/**
 * When no input crashes alone: tries each group of suspects (same transport,
 * and over UDP the same source port) in the order they were sent. Resolves
 * with `{ transport, inputs, crash }` for the first group that reproduces
 * signature `sig`, or undefined.
 */
async function reproduceSequence(reproducer, suspects, sig, deadline) {
  const groups = new Map()
  for (const r of suspects) {
    const key = `${r.transport}:${r.peer || 0}`
    if (!groups.has(key)) groups.set(key, [])
    groups.get(key).push(r)
  }
  for (const group of groups.values()) {
    if (Date.now() > deadline) break
    group.sort((a, b) => a.sentAt - b.sentAt)
    const inputs = group.map((r) => r.bytes)
    const crash = await reproducer.crashSequence(group[0].transport, inputs)
    if (crash && crash.signature === sig) return { transport: group[0].transport, inputs, crash }
  }
  return undefined
}

/**
 * Drops inputs from a sequence (halves, then quarters, ...) while
 * `fails(inputs)` still holds, then bytes from each input that is left.
 */
async function minimiseSequence(reproducer, fails, inputs, deadline, maxProbes = 400) {
  let current = inputs
  const start = reproducer.probes
  for (let run = Math.max(1, current.length >> 1); run >= 1; run >>= 1) {
    for (let i = 0; i < current.length; ) {
      if (Date.now() > deadline || reproducer.probes - start >= maxProbes) return current
      const shorter = current.slice(0, i).concat(current.slice(i + run))
      if (shorter.length > 0 && (await fails(shorter))) current = shorter
      else i += run
    }
  }
  for (let k = 0; k < current.length; k++) {
    const left = maxProbes - (reproducer.probes - start)
    if (left <= 0) break
    const failsWith = (b) => fails(current.slice(0, k).concat([b], current.slice(k + 1)))
    current[k] = await shrinkBytes(reproducer, failsWith, current[k], deadline, left)
  }
  return current
}

/** Writes `lines` to `<dir>/<seed>.hex` (or `<seed>-N.hex` if taken); returns the path. */
function save(dir, seed, lines) {
  fs.mkdirSync(dir, { recursive: true })
  let file = path.join(dir, `${seed}.hex`)
  for (let n = 2; fs.existsSync(file); n++) file = path.join(dir, `${seed}-${n}.hex`)
  fs.writeFileSync(file, lines.join('\n') + '\n')
  return file
}

/** The marker of a .hex file whose inputs crash only when sent in order. */
const SEQUENCE = '# sequence'

/**
 * The inputs of a .hex file, one per line (`#` lines are comments), and
 * whether they are a sequence (a `# sequence` line) or each stands alone.
 */
function load(file) {
  const lines = fs.readFileSync(file, 'utf8').split('\n')
  return {
    sequence: lines.some((l) => l.trim() === SEQUENCE),
    inputs: lines.filter((l) => l.trim() && !l.trim().startsWith('#')).map((l) => Buffer.from(l.replace(/\s+/g, ''), 'hex')),
  }
}

/**
 * Finds the input (or the sequence of inputs) behind crash `sig` among
 * `candidates` (records of recent inputs, most likely first), shrinks it and
 * saves it under `dir`, printing what it does.
 */
async function analyseCrash(reproducer, candidates, sig, { seed, dir, budget }) {
  const deadline = Date.now() + budget
  const found = await reproduce(reproducer, candidates, sig, deadline)
  const replayHint = (file, transport) => console.log(`  replay: npm run fuzz -- --replay ${path.relative(process.cwd(), file)} --transport ${transport}`)
  if (found && found.crash.signature === sig) {
    const { candidate, crash } = found
    console.log(`  input: ${describe(candidate)} (${candidate.bytes.length} bytes): ${hex(candidate.bytes)}`)
    console.log(`  reproduced alone: ${crash.signature}`)
    const small = await minimise(reproducer, candidate.transport, candidate.bytes, sig, deadline)
    console.log(`  minimised (${small.length} bytes, ${reproducer.probes} probes): ${hex(small)}`)
    const file = save(dir, seed, [`# seed ${seed}, ${describe(candidate)}: ${sig}`, small.toString('hex')])
    console.log(`  saved: ${file}`)
    return replayHint(file, candidate.transport)
  }
  console.log(`  no single suspect (of ${candidates.length}) reproduces it alone; trying them in the order they were sent`)
  const sequence = await reproduceSequence(reproducer, candidates, sig, deadline)
  if (sequence) {
    const fails = async (seq) => (await reproducer.crashSequence(sequence.transport, seq))?.signature === sig
    const inputs = await minimiseSequence(reproducer, fails, sequence.inputs, deadline)
    console.log(`  reproduced by ${sequence.inputs.length} inputs in order over ${sequence.transport}${sequence.transport === 'udp' ? ' from one source port' : ''}; ${inputs.length} of them suffice (${reproducer.probes} probes):`)
    for (const bytes of inputs) console.log(`    ${hex(bytes)}`)
    const file = save(dir, seed, [`# seed ${seed}: ${sig}, by these inputs in order over ${sequence.transport}`, SEQUENCE, ...inputs.map((b) => b.toString('hex'))])
    console.log(`  saved: ${file}`)
    return replayHint(file, sequence.transport)
  }
  console.log('  not reproduced; the most recent suspects were:')
  for (const r of candidates.slice(0, 8)) console.log(`    ${describe(r)}: ${hex(r.bytes)}`)
  const file = save(dir, seed, [`# seed ${seed}: suspects for a crash (${sig}) that none reproduces`, ...candidates.map((r) => `# ${describe(r)}\n${r.bytes.toString('hex')}`)])
  console.log(`  saved: ${file}`)
  if (found) {
    // Not the crash we saw, but a crash all the same: worth its own line.
    console.log(`  on the way, ${describe(found.candidate)} crashed a fresh target with "${found.crash.signature}": ${hex(found.candidate.bytes)}`)
  }
}

/**
 * A UDP peer got no answers after `records` (its datagrams, in order): checks
 * that a fresh target does the same, shrinks the sequence and saves it.
 */
async function analysePeer(reproducer, records, { seed, dir, budget }) {
  const deadline = Date.now() + budget
  const inputs = records.map((r) => r.bytes)
  const fails = async (seq) => !(await reproducer.peerAnswers(seq))
  if (!(await fails(inputs))) {
    console.log(`  not reproduced: a fresh target answers a peer after the same ${inputs.length} datagrams`)
    const file = save(dir, seed, [`# seed ${seed}: datagrams after which a UDP peer got no answer (not reproduced)`, SEQUENCE, ...inputs.map((b) => b.toString('hex'))])
    return console.log(`  saved: ${file}`)
  }
  const small = await minimiseSequence(reproducer, fails, inputs, deadline)
  console.log(`  reproduced; after these ${small.length} datagram(s) (of ${inputs.length}) from one source port, add from that port gets no answer (${reproducer.probes} probes):`)
  for (const bytes of small) console.log(`    ${hex(bytes)}`)
  const file = save(dir, seed, [`# seed ${seed}: after these datagrams from one source port, that peer gets no answers`, SEQUENCE, ...small.map((b) => b.toString('hex'))])
  console.log(`  saved: ${file}`)
  console.log(`  replay: npm run fuzz -- --replay ${path.relative(process.cwd(), file)} --transport udp`)
}

module.exports = { Reproducer, analyseCrash, analysePeer, reproduce, reproduceSequence, minimise, minimiseSequence, save, load, signature, SEQUENCE }
