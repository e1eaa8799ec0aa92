'use strict'
// `msgpack-rpc bench <target>`: a load generator in the spirit of autocannon.
// Opens N connections, keeps P calls in flight on each for D seconds, and
// reports calls/s, latency percentiles and errors.

const { performance } = require('node:perf_hooks')
const { UsageError } = require('./args')
const { parseArg } = require('./json')
const { parseTarget, describe, open } = require('./target')
const { Histogram } = require('../histogram')
const { EXIT, withDeadline } = require('./exit')

const help = `Usage: msgpack-rpc bench <target> [options]

Opens --connections connections, keeps --pipeline calls in flight on each
for --duration seconds, then prints calls/s, latency (p50, p90, p99, max)
and the number of failed calls. On a terminal a progress line is updated
every second on stderr (nothing when stderr is not a terminal).

Targets: host:port, port (127.0.0.1), unix:/path or a path, udp://host:port.

Options:
  --method <name>       the method to call (default add)
  --args <json array>   its arguments (default [1,2]; same forms as
                        \`msgpack-rpc call\`, e.g. '[{"$bin":"AAAA"}]')
  --connections <n>     connections (default 32)
  --pipeline <n>        calls in flight per connection (default 16)
  --duration <seconds>  how long to run (default 10; fractions allowed)
  --timeout <ms>        a call slower than this counts as an error
                        (default 10000)
  --json                print the summary as JSON on stdout:
                        {"target","method","args","connections","pipeline",
                        "duration","calls","errors","callsPerSecond",
                        "latency":{"p50","p90","p99","max"}} (ms)
  -h, --help            show this help

Exit status: 0 the run completed (errors are counted, not fatal), 2 usage
error, 3 cannot connect.

Example: msgpack-rpc bench 127.0.0.1:6666 --connections 8 --duration 5
`

const spec = {
  method: { type: 'string', default: 'add' },
  args: { type: 'string', default: '[1,2]' },
  connections: { type: 'integer', default: 32, min: 1 },
  pipeline: { type: 'integer', default: 16, min: 1 },
  duration: { type: 'number', default: 10, min: 0 },
  timeout: { type: 'number', default: 10000, min: 0 },
  json: { type: 'boolean' },
}

async function run(options, positionals, io) {
  const target = parseTarget(positionals[0])
  if (positionals.length > 1) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[1])}`)
  const params = parseArg(options.args, '--args')
  if (!Array.isArray(params)) throw new UsageError(`--args must be a JSON array, got ${options.args}`)
  const { method, connections, pipeline, timeout } = options

  const streams = await withDeadline(
    Promise.all(Array.from({ length: connections }, () => open(target, { timeout }))),
    timeout,
    `connecting to ${describe(target)}`
  )
  const histogram = new Histogram()
  let errors = 0
  let firstError
  let running = true
  let inFlight = 0
  let settled
  const drained = new Promise((resolve) => {
    settled = resolve
  })

  function fire(stream) {
    inFlight++
    const start = performance.now()
    stream.request(method, params, { timeout }).then(
      () => done(stream, start, true),
      (err) => {
        if (firstError === undefined) firstError = err
        done(stream, start, false)
      }
    )
  }
  function done(stream, start, ok) {
    inFlight--
    if (ok) histogram.record(performance.now() - start)
    else errors++
    // A closed connection gets no more calls (they would fail at once, in a loop).
    if (running && !stream.closed) fire(stream)
    else if (!running && inFlight === 0) settled()
  }

  const started = performance.now()
  for (const stream of streams) for (let i = 0; i < pipeline; i++) fire(stream)
  const progress = io.stderr.isTTY ? startProgress(io.stderr, started, histogram, () => errors) : undefined
  await new Promise((resolve) => setTimeout(resolve, options.duration * 1000))
  running = false
  const elapsed = (performance.now() - started) / 1000
  if (progress) progress.stop()
  // Calls still in flight finish (or time out) before the connections close.
  if (inFlight > 0) await drained
  await Promise.all(streams.map((s) => s.close()))

  const summary = {
    target: describe(target),
    method,
    args: JSON.parse(options.args),
    connections,
    pipeline,
    duration: Number(elapsed.toFixed(3)),
    calls: histogram.count,
    errors,
    callsPerSecond: Math.round(histogram.count / elapsed),
    latency: {
      p50: round(histogram.percentile(50)),
      p90: round(histogram.percentile(90)),
      p99: round(histogram.percentile(99)),
      max: round(histogram.max),
    },
  }
  if (options.json) io.stdout.write(`${JSON.stringify(summary)}\n`)
  else io.stdout.write(report(summary, firstError))
  return EXIT.OK
}

function round(ms) {
  return Number(ms.toFixed(3))
}

function report(s, firstError) {
  const n = (x) => x.toLocaleString('en-US')
  const lines = [
    `${s.target} ${s.method}(${JSON.stringify(s.args).slice(1, -1)}), ${s.connections} connections × ${s.pipeline} in flight, ${s.duration} s`,
    `calls     ${n(s.calls)} (${n(s.callsPerSecond)}/s)`,
    `latency   p50 ${s.latency.p50} ms, p90 ${s.latency.p90} ms, p99 ${s.latency.p99} ms, max ${s.latency.max} ms`,
    `errors    ${n(s.errors)}${firstError ? ` (first: ${firstError.message})` : ''}`,
  ]
  return `${lines.join('\n')}\n`
}

/** A progress line on a terminal, rewritten every second. */
function startProgress(out, started, histogram, errors) {
  let last = 0
  let lastTime = started
  const timer = setInterval(() => {
    const now = performance.now()
    const rate = Math.round(((histogram.count - last) * 1000) / (now - lastTime))
    last = histogram.count
    lastTime = now
    const secs = ((now - started) / 1000).toFixed(0)
    out.write(`\r\x1b[K${secs} s: ${histogram.count.toLocaleString('en-US')} calls, ${rate.toLocaleString('en-US')}/s, ${errors()} errors`)
  }, 1000)
  return {
    stop() {
      clearInterval(timer)
      out.write('\r\x1b[K')
    },
  }
}

module.exports = { name: 'bench', summary: 'a load generator: calls/s, latency percentiles, errors', help, spec, run }
