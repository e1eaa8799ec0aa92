'use strict'
// `msgpack-rpc call <target> <method> [args...]`: one request, its result
// printed as JSON on stdout.

const { UsageError } = require('./args')
const { format, parseArg } = require('./json')
const { clientTarget, describe, open, shut } = require('./target')
const { EXIT, withDeadline } = require('./exit')

const DEFAULT_TIMEOUT = 10000

const help = `Usage: msgpack-rpc call <target> <method> [args...]
       msgpack-rpc call --spawn '<command line>' <method> [args...]

Calls <method> with the arguments and prints the result as JSON on stdout.

Each argument is JSON; an argument that is not JSON is a string
(hello -> "hello", 42 -> 42, '"42"' -> "42", '[1,{"a":2}]' -> an array).
Values JSON lacks are written, and printed, as one-key objects:
  {"$bin":"<base64>"}   binary (a Buffer)
  {"$bigint":"<digits>"} an integer beyond ±2^53 (bare big integers work too)
  {"$ext":[type,"<base64>"]}  a MessagePack extension
  {"$date":"<ISO 8601>"}  a timestamp
  {"$map":[[key,value],...]}  a map with keys that are not strings
  {"$float":"NaN"}       NaN, Infinity, -Infinity

Targets: host:port, port (127.0.0.1), unix:/path or a path, udp://host:port.

Options:
  --timeout <ms>         give up after this long, connecting included
                         (default ${DEFAULT_TIMEOUT}; 0: wait forever)
  --spawn <command line> start this program and talk over its stdin/stdout
                         (e.g. 'nvim --embed --headless')
  --pretty               indent the JSON
  -h, --help             show this help

Exit status: 0 success, 1 the peer answered an error (printed on stderr),
2 usage error, 3 cannot connect, connection lost or timed out.
`

const spec = {
  timeout: { type: 'number', default: DEFAULT_TIMEOUT, min: 0 },
  spawn: { type: 'string' },
  pretty: { type: 'boolean' },
}

/** The target, method and parsed arguments shared by call and notify. */
function request(options, positionals) {
  const target = clientTarget(options, positionals)
  const method = positionals.shift()
  if (method === undefined) throw new UsageError('a method name is required')
  const params = positionals.map((text, i) => parseArg(text, `argument ${i + 1}`))
  return { target, method, params }
}

async function run(options, positionals, io) {
  const { target, method, params } = request(options, positionals)
  const timeout = options.timeout
  const stream = await withDeadline(open(target, { timeout }), timeout, `connecting to ${describe(target)}`)
  try {
    const result = await stream.request(method, params, { timeout })
    io.stdout.write(`${format(result, options.pretty ? 2 : undefined)}\n`)
    return EXIT.OK
  } finally {
    await shut(stream)
  }
}

module.exports = { name: 'call', summary: 'call a method and print its result as JSON', help, spec, run, request, DEFAULT_TIMEOUT }
