'use strict'
// npm run bench:scale: what a connection costs and how a server scales, each
// figure next to the corked pure-JS baseline (bench/impls/baseline.js)
// measured in the same run. Prints a table and JSON.
//   idle      server RSS (and JS heap, external) per idle connection at N
//             connections that each made one call; the clients live in another
//             process, so the server's RSS is its own
//   ccc       connect, call, close cycles per second, both ends the same
//             library, several loops at once so it is not latency-bound;
//             also the pure-Rust pair (bench/rust_peer.rs): the floor the
//             kernel's TCP and unix socket work leaves
//   cluster   the conns32 workload (32 connections × 16 calls in flight,
//             the Rust peer as client) against 1 and 2 node:cluster workers
//   heap      (only when asked: --only heap) the server's JavaScript objects
//             per idle connection, from heap snapshots before and after
//             --heap-connections (2,000) connections that each made one call:
//             count and bytes per connection by kind, and the total
//   npm run bench:scale                 (10,000 connections, 3 s runs)
//   npm run bench:scale -- --quick      (1,000 connections, 1 s runs)
//   options: --connections N --seconds S --loops L --rounds R --only idle,ccc,cluster,heap
//            --heap-connections N
//            --compare DIR  also measures DIR's build of this project (another
//                           checkout with its addon built), as 'ours@DIR'
// The script and its children need more descriptors than the usual soft limit
// of 1024 (Node raises its own soft limit to the hard one; where it has not,
// the script re-executes itself under `ulimit -n <hard limit>`) and scales N
// down, saying so, when the hard limit is too low.
const { spawn, fork, execFileSync } = require('node:child_process')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const v8 = require('node:v8')

const root = path.join(__dirname, '..')
const rustPeer = path.join(root, 'target', 'release', 'examples', 'rust_peer')
const argv = process.argv.slice(2)
const arg = (name) => {
  const i = argv.indexOf(name)
  return i >= 0 ? argv[i + 1] : undefined
}
const quick = argv.includes('--quick')
/** Descriptors beyond the connections: stdio, IPC, the event loop's own, the runtime's. */
const SPARE_FDS = 64
/** Connections opened at once by a client process (bounded so the listen backlog is not overrun). */
const CONNECT_BATCH = 256
const compare = arg('--compare')
const IMPLS = compare ? ['ours', `ours@${compare}`, 'baseline'] : ['ours', 'baseline']
const TRANSPORTS = ['tcp', 'unix']
/** The pure-Rust pair (bench/rust_peer.rs), measured for connect, call, close only. */
const RUST = 'rust'

// ---- child roles -----------------------------------------------------------

/** An implementation's module: `ours@DIR` is DIR's bench/impls/ours.js. */
function implModule(name) {
  const at = name.indexOf('@')
  return at < 0 ? require(`./impls/${name}`) : require(path.resolve(name.slice(at + 1), 'bench', 'impls', name.slice(0, at)))
}

/** A server, possibly as a node:cluster primary with `workers` workers; talks over IPC. */
async function serverRole(name, workers, transport) {
  const cluster = require('node:cluster')
  if (workers > 0 && cluster.isPrimary) {
    const addresses = []
    for (let i = 0; i < workers; i++) {
      const worker = cluster.fork({ SCALE_WORKER: '1' })
      worker.on('message', (m) => {
        addresses.push(m.address)
        // port 0 in a cluster: every worker gets the port the first one got.
        if (addresses.length === workers) process.send({ address: addresses[0], same: addresses.every((a) => a.port === addresses[0].port) })
      })
    }
    process.on('disconnect', () => process.exit(0))
    return
  }
  const target = transport === 'unix' ? { path: path.join(os.tmpdir(), `msgpack-rpc-scale-${process.pid}.sock`) } : {}
  const server = await implModule(name).serve(target)
  if (cluster.isWorker) return process.send({ address: server.address })
  process.on('message', (m) => {
    if (m.mem) {
      // Twice: the first collection may leave work for finalizers to free.
      global.gc()
      global.gc()
      process.send({ mem: process.memoryUsage() })
    }
    if (m.snapshot) {
      global.gc()
      global.gc()
      v8.writeHeapSnapshot(m.snapshot)
      process.send({ snapshot: m.snapshot })
    }
  })
  process.on('disconnect', () => process.exit(0))
  process.send({ address: server.address })
}

/** Opens `n` connections, one call each, reports, and closes them when told. */
async function clientsRole(name, address, n) {
  const { connect } = implModule(name)
  const target = JSON.parse(address)
  const conns = []
  for (let i = 0; i < n; i += CONNECT_BATCH) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(CONNECT_BATCH, n - i) }, async (_, j) => {
        const c = await connect(target)
        const r = await c.call('add', [i + j, 1])
        if (r !== i + j + 1) throw new Error(`wrong reply: ${r}`)
        return c
      }),
    )
    conns.push(...batch)
  }
  process.send({ ready: conns.length })
  process.once('message', async () => {
    await Promise.all(conns.map((c) => c.close()))
    process.exit(0)
  })
}

/** `loops` concurrent loops of connect, call, close for `seconds`; prints { ops, seconds }. */
async function cccRole(name, address, loops, seconds) {
  const { connect } = implModule(name)
  const target = JSON.parse(address)
  let running = true
  const timer = setTimeout(() => (running = false), seconds * 1000)
  let ops = 0
  const start = process.hrtime.bigint()
  const cpu = process.cpuUsage()
  async function loop(w) {
    let i = w * 1000003
    while (running) {
      const c = await connect(target)
      const r = await c.call('add', [i, 1])
      if (r !== i + 1) throw new Error(`wrong reply: ${r}`)
      await c.close()
      i++
      ops++
    }
  }
  await Promise.all(Array.from({ length: loops }, (_, w) => loop(w)))
  clearTimeout(timer)
  const used = process.cpuUsage(cpu)
  process.stdout.write(JSON.stringify({ ops, seconds: Number(process.hrtime.bigint() - start) / 1e9, cpuMicros: used.user + used.system }) + '\n')
  process.exit(0)
}

// ---- the parent ------------------------------------------------------------

function startServer(impl, workers = 0, transport = 'tcp') {
  const child = fork(__filename, ['--role', 'server', impl, String(workers), transport], { execArgv: ['--expose-gc'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  return new Promise((resolve, reject) => {
    child.once('error', reject)
    child.once('exit', (code) => reject(new Error(`${impl} server exited ${code}`)))
    child.once('message', (m) => {
      if (m.same === false) return reject(new Error('cluster workers listen on different ports'))
      resolve({ child, address: JSON.stringify(m.address) })
    })
  })
}

/** The pure-Rust peer's server (its unix socket under the OS temp dir). */
function startRustServer(transport) {
  const child = spawn(rustPeer, ['serve', transport], { stdio: ['ignore', 'pipe', 'inherit'] })
  return new Promise((resolve, reject) => {
    child.once('error', reject)
    child.once('exit', (code) => reject(new Error(`rust_peer serve exited ${code}`)))
    let out = ''
    child.stdout.on('data', (d) => {
      out += d
      if (out.includes('\n')) resolve({ child, address: out.split('\n')[0].trim() })
    })
  })
}

async function stopServer({ child, address }) {
  if (child.exitCode === null) {
    const exited = new Promise((resolve) => child.once('exit', resolve))
    child.kill('SIGTERM')
    await exited
  }
  // Killed, the server leaves its unix socket behind.
  const { path: socketPath } = JSON.parse(address)
  if (socketPath) fs.rmSync(socketPath, { force: true })
}

function serverMemory(child) {
  return new Promise((resolve) => {
    child.once('message', (m) => resolve(m.mem))
    child.send({ mem: true })
  })
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

/** Server memory before and after `n` idle connections made by the baseline client (the same client for every server). */
async function idle(impl, n) {
  const server = await startServer(impl)
  try {
    // Warm the server up first (code paths, the runtime's threads, shared buffers).
    await withClients(server.address, 32, async () => {})
    await sleep(200)
    const before = await serverMemory(server.child)
    let after
    await withClients(server.address, n, async () => {
      await sleep(500)
      after = await serverMemory(server.child)
    })
    const per = (key) => (after[key] - before[key]) / n
    return { rss: per('rss'), heapUsed: per('heapUsed'), heapTotal: per('heapTotal'), external: per('external'), arrayBuffers: per('arrayBuffers'), rssBefore: before.rss, rssAfter: after.rss }
  } finally {
    await stopServer(server)
  }
}

/** Takes a heap snapshot in the server child; resolves with the objects in it by kind. */
function serverHeap(child, file) {
  return new Promise((resolve, reject) => {
    child.once('message', () => {
      try {
        resolve(heapKinds(file))
      } catch (err) {
        reject(err)
      } finally {
        fs.rmSync(file, { force: true })
      }
    })
    child.send({ snapshot: file })
  })
}

/** A heap snapshot's objects grouped by type and constructor (strings by type only): kind -> { count, bytes }. */
function heapKinds(file) {
  const snap = JSON.parse(fs.readFileSync(file, 'utf8'))
  const fields = snap.snapshot.meta.node_fields
  const types = snap.snapshot.meta.node_types[0]
  const { nodes, strings } = snap
  const width = fields.length
  const typeAt = fields.indexOf('type')
  const nameAt = fields.indexOf('name')
  const sizeAt = fields.indexOf('self_size')
  const kinds = new Map()
  for (let i = 0; i < nodes.length; i += width) {
    const type = types[nodes[i + typeAt]]
    // A string's name is its text: group strings by type alone.
    const name = type.includes('string') ? '' : strings[nodes[i + nameAt]].slice(0, 60)
    const key = name ? `${type} ${name}` : type
    const kind = kinds.get(key) || { count: 0, bytes: 0 }
    kind.count++
    kind.bytes += nodes[i + sizeAt]
    kinds.set(key, kind)
  }
  return kinds
}

/** The server's JavaScript objects per idle connection: heap snapshots before and after `n` connections that each made one call. */
async function heapPerConnection(impl, n) {
  const server = await startServer(impl)
  const file = (tag) => path.join(os.tmpdir(), `msgpack-rpc-scale-${process.pid}-${tag}.heapsnapshot`)
  try {
    await withClients(server.address, 32, async () => {})
    await sleep(200)
    const before = await serverHeap(server.child, file('before'))
    let after
    await withClients(server.address, n, async () => {
      await sleep(500)
      after = await serverHeap(server.child, file('after'))
    })
    const kinds = []
    let total = 0
    for (const [key, a] of after) {
      const b = before.get(key) || { count: 0, bytes: 0 }
      total += a.bytes - b.bytes
      const count = (a.count - b.count) / n
      const bytes = (a.bytes - b.bytes) / n
      // What every connection has (or its bytes' worth), not what came and went with the run.
      if (Math.abs(count) >= 0.5 || Math.abs(bytes) >= 8) kinds.push({ kind: key, 'count/conn': +count.toFixed(2), 'bytes/conn': +bytes.toFixed(1) })
    }
    for (const [key, b] of before) if (!after.has(key)) total -= b.bytes
    kinds.sort((x, y) => y['bytes/conn'] - x['bytes/conn'])
    return { total: total / n, kinds }
  } finally {
    await stopServer(server)
  }
}

async function withClients(address, n, whileOpen) {
  const child = fork(__filename, ['--role', 'clients', 'baseline', address, String(n)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  const exited = new Promise((resolve, reject) => {
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`clients exited ${code}`))))
  })
  const ready = new Promise((resolve, reject) => {
    child.once('message', resolve)
    exited.catch(reject)
  })
  try {
    await ready
    await whileOpen()
  } finally {
    if (child.connected) child.send({ close: true })
    await exited
  }
}

function runJson(cmd, args, timeoutSeconds) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'] })
    let out = ''
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutSeconds * 1000)
    child.stdout.on('data', (d) => (out += d))
    child.on('exit', (code) => {
      clearTimeout(timer)
      if (code !== 0) return reject(new Error(`${path.basename(cmd)} ${args.join(' ')} exited ${code}`))
      resolve(JSON.parse(out.trim().split('\n').pop()))
    })
  })
}

/** CPU time (µs) a process has used, from /proc (Linux; 0 elsewhere). */
function cpuMicros(pid) {
  try {
    const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')
    // utime and stime, in clock ticks (USER_HZ, 100 on Linux).
    return ((Number(fields[11]) + Number(fields[12])) * 1e6) / 100
  } catch {
    return 0
  }
}

/** Cycles per second, and CPU µs per cycle on each end (load on a shared machine moves the rate, much less the CPU per cycle). */
async function ccc(impl, transport, loops, seconds) {
  const server = impl === RUST ? await startRustServer(transport) : await startServer(impl, 0, transport)
  try {
    const before = cpuMicros(server.child.pid)
    const client = impl === RUST ? [rustPeer, ['client', server.address, 'ccc', String(seconds)]] : [process.execPath, [__filename, '--role', 'ccc', impl, server.address, String(loops), String(seconds)]]
    const r = await runJson(...client, seconds + 60)
    const serverCpu = cpuMicros(server.child.pid) - before
    return { rate: r.ops / r.seconds, clientCpu: r.cpuMicros / r.ops, serverCpu: serverCpu / r.ops }
  } finally {
    await stopServer(server)
  }
}

/** Busy and total CPU time of the whole machine so far, in clock ticks (Linux; zeros elsewhere). */
function machineTicks() {
  try {
    const cpu = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number)
    const total = cpu.reduce((a, b) => a + b, 0)
    // idle and iowait
    return { busy: total - cpu[3] - cpu[4], total }
  } catch {
    return { busy: 0, total: 0 }
  }
}

/**
 * Calls per second, and how many of the machine's cores were busy meanwhile
 * (every process: the client, the primary, the workers, anything else), which
 * bounds what a second worker can add.
 */
async function clustered(impl, workers, seconds) {
  const server = await startServer(impl, workers)
  try {
    const before = machineTicks()
    const r = await runJson(rustPeer, ['client', server.address, 'conns32', String(seconds)], seconds + 60)
    const after = machineTicks()
    const cores = os.cpus().length
    const busyCores = after.total > before.total ? ((after.busy - before.busy) / (after.total - before.total)) * cores : 0
    return { rate: r.ops / r.seconds, busyCores }
  } finally {
    await stopServer(server)
  }
}

const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1]

/** The hard descriptor limit, and whether this process already runs under it. */
function fdLimits() {
  const out = execFileSync('sh', ['-c', 'ulimit -Sn; ulimit -Hn'], { encoding: 'utf8' }).trim().split('\n')
  const num = (s) => (s === 'unlimited' ? Infinity : Number(s))
  return { soft: num(out[0]), hard: num(out[1]) }
}

async function main() {
  let n = Number(arg('--connections')) || (quick ? 1000 : 10000)
  const seconds = Number(arg('--seconds')) || (quick ? 1 : 3)
  const loops = Number(arg('--loops')) || 32
  const rounds = Number(arg('--rounds')) || (quick ? 1 : 3)
  const only = (arg('--only') || 'idle,ccc,cluster').split(',')
  const heapConnections = Number(arg('--heap-connections')) || 2000
  const notes = []

  const { soft, hard } = fdLimits()
  const wanted = n + SPARE_FDS
  if (soft < wanted && soft < hard && !process.env.SCALE_REEXEC) {
    // Children inherit the raised limit.
    const limit = hard === Infinity ? wanted : hard
    const script = `ulimit -n ${limit} && exec "$0" "$@"`
    const child = spawn('sh', ['-c', script, process.execPath, __filename, ...argv], { stdio: 'inherit', env: { ...process.env, SCALE_REEXEC: '1' } })
    child.on('exit', (code) => process.exit(code ?? 1))
    return
  }
  const limit = Math.min(soft, hard)
  if (limit < wanted) {
    const fit = Math.max(100, Math.floor((limit - SPARE_FDS) / 100) * 100)
    notes.push(`descriptor limit ${limit} (hard ${hard}) is lower than the ${wanted} needed: ${fit} connections instead of ${n}`)
    process.stderr.write(`note: ${notes[notes.length - 1]}\n`)
    n = fit
  }
  if ((only.includes('cluster') || only.includes('ccc')) && !fs.existsSync(rustPeer)) {
    console.error('building the pure-Rust peer (cargo build --release --example rust_peer)…')
    execFileSync('cargo', ['build', '--release', '--example', 'rust_peer', '--no-default-features'], { cwd: root, stdio: 'inherit' })
  }

  const results = { idle: {}, ccc: {}, cluster: {}, heap: {} }
  const log = (what) => process.stderr.write(`${what}\n`)
  for (let round = 0; round < rounds; round++) {
    for (const impl of IMPLS) {
      if (only.includes('idle')) {
        const r = await idle(impl, n)
        ;(results.idle[impl] ||= []).push(r)
        log(`round ${round + 1}/${rounds} idle ${impl}: ${(r.rss / 1024).toFixed(2)} KiB RSS/connection`)
      }
      if (only.includes('heap')) {
        const r = await heapPerConnection(impl, Math.min(heapConnections, n))
        ;(results.heap[impl] ||= []).push(r)
        log(`round ${round + 1}/${rounds} heap ${impl}: ${r.total.toFixed(0)} bytes of JavaScript objects/connection`)
      }
      if (only.includes('ccc')) {
        for (const transport of TRANSPORTS) {
          const r = await ccc(impl, transport, loops, seconds)
          ;(results.ccc[`${impl}|${transport}`] ||= []).push(r)
          log(`round ${round + 1}/${rounds} connect-call-close ${transport} ${impl}: ${Math.round(r.rate)}/s, CPU µs/cycle client ${Math.round(r.clientCpu)} server ${Math.round(r.serverCpu)}`)
        }
      }
      if (only.includes('cluster')) {
        for (const workers of [1, 2]) {
          const r = await clustered(impl, workers, seconds)
          ;(results.cluster[`${impl}|${workers}`] ||= []).push(r)
          log(`round ${round + 1}/${rounds} conns32 ${impl} × ${workers} worker(s): ${Math.round(r.rate)}/s, machine busy ${r.busyCores.toFixed(2)} of ${os.cpus().length} cores`)
        }
      }
    }
    // The floor of connect, call, close: the pure-Rust pair.
    if (only.includes('ccc')) {
      for (const transport of TRANSPORTS) {
        const r = await ccc(RUST, transport, loops, seconds)
        ;(results.ccc[`${RUST}|${transport}`] ||= []).push(r)
        log(`round ${round + 1}/${rounds} connect-call-close ${transport} ${RUST}: ${Math.round(r.rate)}/s, CPU µs/cycle client ${Math.round(r.clientCpu)} server ${Math.round(r.serverCpu)}`)
      }
    }
  }

  const rows = []
  for (const impl of IMPLS) {
    const runs = results.heap[impl]
    if (!runs) continue
    const mid = [...runs].sort((a, b) => a.total - b.total)[runs.length >> 1]
    rows.push({
      measure: `JS objects per idle connection (heap snapshot, ${Math.min(heapConnections, n)} conns)`,
      impl,
      value: Math.round(mid.total),
      unit: 'bytes',
      '× baseline': +(mid.total / median(results.heap.baseline.map((r) => r.total))).toFixed(2),
      detail: mid.kinds
        .slice(0, 5)
        .map((k) => `${k.kind} ${k['count/conn']}×${Math.round(k['bytes/conn'] / (k['count/conn'] || 1))}`)
        .join('; '),
    })
    console.log(`\n${impl}: objects per idle connection (median round)`)
    console.table(mid.kinds)
  }
  const kib = (x) => +(x / 1024).toFixed(2)
  for (const impl of IMPLS) {
    const runs = results.idle[impl]
    if (!runs) continue
    const pick = (key) => median(runs.map((r) => r[key]))
    rows.push({
      measure: `idle memory per connection (${n} conns)`,
      impl,
      value: kib(pick('rss')),
      unit: 'KiB RSS',
      '× baseline': +(pick('rss') / median(results.idle.baseline.map((r) => r.rss))).toFixed(2),
      detail: `heap ${kib(pick('heapUsed'))} KiB (committed ${kib(pick('heapTotal'))}), external ${kib(pick('external'))} KiB (arrayBuffers ${kib(pick('arrayBuffers'))}), RSS ${(pick('rssBefore') / 1048576).toFixed(0)} → ${(pick('rssAfter') / 1048576).toFixed(0)} MiB`,
    })
  }
  for (const transport of TRANSPORTS) {
    for (const impl of [...IMPLS, RUST]) {
      const runs = results.ccc[`${impl}|${transport}`]
      if (!runs) continue
      const rate = median(runs.map((r) => r.rate))
      const client = median(runs.map((r) => r.clientCpu))
      const server = median(runs.map((r) => r.serverCpu))
      const base = results.ccc[`baseline|${transport}`]
      const baseCpu = median(base.map((r) => r.clientCpu)) + median(base.map((r) => r.serverCpu))
      rows.push({
        measure: `connect, call, close, ${transport} (${loops} loops)`,
        impl,
        value: Math.round(rate),
        unit: 'cycles/s',
        '× baseline': +(rate / median(base.map((r) => r.rate))).toFixed(2),
        detail: `CPU µs/cycle: client ${Math.round(client)}, server ${Math.round(server)} (${(baseCpu / (client + server)).toFixed(2)}× the baseline's cycles per CPU second)${transport === 'tcp' ? '; each cycle leaves a client port in TIME_WAIT' : ''}`,
      })
    }
  }
  for (const impl of IMPLS) {
    for (const workers of [1, 2]) {
      const runs = results.cluster[`${impl}|${workers}`]
      if (!runs) continue
      const rate = (key) => median(results.cluster[key].map((r) => r.rate))
      const busy = median(runs.map((r) => r.busyCores)).toFixed(2)
      const cores = os.cpus().length
      rows.push({
        measure: `conns32, Rust client, ${workers} cluster worker(s)`,
        impl,
        value: Math.round(rate(`${impl}|${workers}`)),
        unit: 'calls/s',
        '× baseline': +(rate(`${impl}|${workers}`) / rate(`baseline|${workers}`)).toFixed(2),
        detail: `${workers === 2 ? `${(rate(`${impl}|2`) / rate(`${impl}|1`)).toFixed(2)}× its 1-worker figure; ` : ''}machine busy ${busy} of ${cores} cores`,
      })
    }
  }
  const machine = { cpus: os.cpus().length, model: os.cpus()[0].model, node: process.version }
  console.log(`\n${machine.cpus} × ${machine.model}, Node ${machine.node}, ${rounds} round(s), ${seconds} s runs, medians`)
  for (const note of notes) console.log(`note: ${note}`)
  console.table(rows)
  console.log(JSON.stringify({ machine, connections: n, seconds, loops, rounds, notes, rows }))
}

const role = arg('--role')
const task =
  role === 'server'
    ? serverRole(argv[2], Number(argv[3]), argv[4])
    : role === 'clients'
      ? clientsRole(argv[2], argv[3], Number(argv[4]))
      : role === 'ccc'
        ? cccRole(argv[2], argv[3], Number(argv[4]), Number(argv[5]))
        : main()
task.catch((err) => {
  console.error(err)
  process.exit(1)
})
