'use strict'
// The benchmark: client and server in separate processes over 127.0.0.1 and a
// unix socket, implementations interleaved round by round so ratios survive a
// noisy machine. Prints a table and JSON.
//   npm run bench            (3 rounds × 2 s per run)
//   npm run bench -- --quick (1 round × 0.5 s, under a minute)
const { spawn, execFileSync } = require('node:child_process')
const fs = require('node:fs')
const path = require('node:path')
const os = require('node:os')

const quick = process.argv.includes('--quick')
const rounds = quick ? 1 : Number(arg('--rounds')) || 3
const seconds = quick ? 0.5 : Number(arg('--seconds')) || 2
const only = arg('--only') // comma-separated workloads
const root = path.join(__dirname, '..')
const rustPeer = path.join(root, 'target', 'release', 'examples', 'rust_peer')

function arg(name) {
  const i = process.argv.indexOf(name)
  return i > 0 ? process.argv[i + 1] : undefined
}

// [label, server impl, client impl]; 'rust' is the pure-Rust peer.
const pairs = {
  ours: ['ours', 'ours'],
  // This project's protocol layer over Node's own net sockets (rpc.attach): shows the cost of the thread hop.
  'ours over net (attach)': ['ours-attach', 'ours-attach'],
  baseline: ['baseline', 'baseline'],
  msgpack5rpc: ['msgpack5rpc', 'msgpack5rpc'],
  'msgpack-rpc-lite': ['msgpack-rpc-lite', 'msgpack-rpc-lite'],
  rust: ['rust', 'rust'],
  'ours client → rust server': ['rust', 'ours'],
  'rust client → ours server': ['ours', 'rust'],
  'baseline client → rust server': ['rust', 'baseline'],
  'rust client → baseline server': ['baseline', 'rust'],
}

// Which pairs run each workload, and over which transports.
const everyone = ['ours', 'baseline', 'rust', 'ours client → rust server', 'rust client → ours server', 'baseline client → rust server', 'rust client → baseline server']
const plan = [
  ['pingpong', [...everyone, 'ours over net (attach)', 'msgpack5rpc', 'msgpack-rpc-lite'], ['tcp', 'unix']],
  ['pipelined', [...everyone, 'ours over net (attach)', 'msgpack5rpc', 'msgpack-rpc-lite'], ['tcp', 'unix']],
  ['conns32', everyone, ['tcp']],
  ['notify', everyone, ['tcp']],
  ['echo64k', everyone, ['tcp', 'unix']],
  ['echo1k', everyone, ['tcp']],
  ['object', everyone, ['tcp']],
].filter(([w]) => !only || only.split(',').includes(w))

function start(impl, transport) {
  const child =
    impl === 'rust'
      ? spawn(rustPeer, ['serve', transport], { stdio: ['ignore', 'pipe', 'inherit'] })
      : spawn(process.execPath, [path.join(__dirname, 'server.js'), impl, transport], { stdio: ['ignore', 'pipe', 'inherit'] })
  return new Promise((resolve, reject) => {
    child.once('error', reject)
    child.stdout.once('data', (d) => resolve({ child, address: String(d).trim() }))
  })
}

function peakRss(pid) {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))
    return m ? Number(m[1]) * 1024 : 0
  } catch {
    return 0
  }
}

function runClient(impl, address, workload) {
  const [cmd, args] =
    impl === 'rust'
      ? [rustPeer, ['client', address, workload, String(seconds)]]
      : [process.execPath, [path.join(__dirname, 'client.js'), impl, address, workload, String(seconds)]]
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'] })
    let out = ''
    const timer = setTimeout(() => child.kill('SIGKILL'), (seconds + 30) * 1000)
    child.stdout.on('data', (d) => (out += d))
    child.on('exit', (code) => {
      clearTimeout(timer)
      if (code !== 0) return reject(new Error(`${impl} client ${workload} exited ${code}`))
      try {
        resolve(JSON.parse(out.trim().split('\n').pop()))
      } catch {
        reject(new Error(`${impl} client ${workload} printed no result: ${JSON.stringify(out)}`))
      }
    })
  })
}

async function runOne(label, workload, transport) {
  const [serverImpl, clientImpl] = pairs[label]
  const { child, address } = await start(serverImpl, transport)
  try {
    const r = await runClient(clientImpl, address, workload)
    return { ...r, serverRss: peakRss(child.pid) }
  } finally {
    child.kill('SIGTERM')
    await new Promise((resolve) => child.once('exit', resolve))
    // The Rust peer leaves its unix socket behind when stopped.
    const { path: socketPath } = JSON.parse(address)
    if (socketPath) fs.rmSync(socketPath, { force: true })
  }
}

const median = (xs) => {
  const s = xs.filter((x) => x !== undefined && x !== null).sort((a, b) => a - b)
  return s.length ? s[s.length >> 1] : undefined
}

async function main() {
  if (!fs.existsSync(rustPeer)) {
    console.error('building the pure-Rust peer (cargo build --release --example rust_peer)…')
    execFileSync('cargo', ['build', '--release', '--example', 'rust_peer', '--no-default-features'], { cwd: root, stdio: 'inherit' })
  }
  const results = {}
  for (let round = 0; round < rounds; round++) {
    for (const [workload, labels, transports] of plan) {
      for (const transport of transports) {
        for (const label of labels) {
          const key = `${workload}|${transport}|${label}`
          const r = await runOne(label, workload, transport)
          ;(results[key] ||= []).push(r)
          process.stderr.write(`round ${round + 1}/${rounds} ${key}: ${Math.round(r.ops / r.seconds)}/s\n`)
        }
      }
    }
  }
  const rows = []
  for (const [key, runs] of Object.entries(results)) {
    const [workload, transport, label] = key.split('|')
    const rate = median(runs.map((r) => r.ops / r.seconds))
    const baseline = results[`${workload}|${transport}|baseline`]
    const rust = results[`${workload}|${transport}|rust`]
    const row = {
      workload,
      transport,
      impl: label,
      'ops/s': Math.round(rate),
      'MB/s': runs[0].bytes ? +(median(runs.map((r) => r.bytes / r.seconds)) / 1e6).toFixed(1) : undefined,
      'p50 µs': median(runs.map((r) => r.p50)) !== undefined ? +median(runs.map((r) => r.p50)).toFixed(1) : undefined,
      'p99 µs': median(runs.map((r) => r.p99)) !== undefined ? +median(runs.map((r) => r.p99)).toFixed(1) : undefined,
      '× baseline': baseline ? +(rate / median(baseline.map((r) => r.ops / r.seconds))).toFixed(2) : undefined,
      '% of rust': rust ? Math.round((100 * rate) / median(rust.map((r) => r.ops / r.seconds))) : undefined,
      'client RSS MiB': +(median(runs.map((r) => r.rss)) / 1048576).toFixed(1),
      'server RSS MiB': +(median(runs.map((r) => r.serverRss)) / 1048576).toFixed(1),
    }
    rows.push(row)
  }
  console.log(`\n${os.cpus().length} × ${os.cpus()[0].model}, Node ${process.version}, ${rounds} round(s) × ${seconds} s, medians`)
  console.table(rows)
  console.log(JSON.stringify({ machine: { cpus: os.cpus().length, model: os.cpus()[0].model, node: process.version }, rounds, seconds, rows }))
}

main().catch((err) => {
  console.error(err)
  process.exit(1)
})
