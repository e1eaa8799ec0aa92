'use strict'
// `msgpack-rpc notify <target> <method> [args...]`: one notification, sent
// and flushed; nothing is printed.

const { request, DEFAULT_TIMEOUT } = require('./call')
const { describe, open, shut } = require('./target')
const { EXIT, withDeadline } = require('./exit')

const help = `Usage: msgpack-rpc notify <target> <method> [args...]
       msgpack-rpc notify --spawn '<command line>' <method> [args...]

Sends a notification (no answer is expected) and exits once it is written.
Arguments are read as for \`msgpack-rpc call\` (JSON, or a bare string;
see \`msgpack-rpc call --help\` for binary, big integers, ext, dates, maps).

Targets: host:port, port (127.0.0.1), unix:/path or a path, udp://host:port.

Options:
  --timeout <ms>         give up connecting after this long (default ${DEFAULT_TIMEOUT})
  --spawn <command line> start this program and talk over its stdin/stdout
  -h, --help             show this help

Exit status: 0 sent, 2 usage error, 3 cannot connect.
`

const spec = {
  timeout: { type: 'number', default: DEFAULT_TIMEOUT, min: 0 },
  spawn: { type: 'string' },
}

async function run(options, positionals) {
  const { target, method, params } = request(options, positionals)
  const stream = await withDeadline(open(target), options.timeout, `connecting to ${describe(target)}`)
  try {
    stream.notify(method, ...params)
  } finally {
    // close() flushes what was sent before closing.
    await shut(stream)
  }
  return EXIT.OK
}

module.exports = { name: 'notify', summary: 'send a notification', help, spec, run }
