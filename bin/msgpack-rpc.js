#!/usr/bin/env node
'use strict'
// The `msgpack-rpc` command: call, notify, serve, tap and bench from a shell.
// Each subcommand lives in lib/cli/<name>.js and resolves with an exit status.

const { parse } = require('../lib/cli/args')
const { EXIT, exitCodeFor } = require('../lib/cli/exit')
const { format } = require('../lib/cli/json')

const commands = ['call', 'notify', 'serve', 'tap', 'bench']

function usage() {
  const lines = commands.map((name) => {
    const c = require(`../lib/cli/${name}`)
    return `  ${name.padEnd(8)}${c.summary}`
  })
  return `Usage: msgpack-rpc <command> [options]

MessagePack-RPC from the shell.

Commands:
${lines.join('\n')}

Run \`msgpack-rpc <command> --help\` for a command's arguments and options,
\`msgpack-rpc --version\` for the version.
Exit status: 0 success, 1 the peer answered an error, 2 usage error,
3 cannot connect, connection lost or timed out.
`
}

async function main(argv) {
  const name = argv[0]
  if (name === undefined || name === '-h' || name === '--help' || name === 'help') {
    process.stdout.write(usage())
    return name === undefined ? EXIT.USAGE : EXIT.OK
  }
  if (name === '--version' || name === '-v') {
    process.stdout.write(`${require('../package.json').version}\n`)
    return EXIT.OK
  }
  if (!commands.includes(name)) {
    process.stderr.write(`msgpack-rpc: unknown command ${JSON.stringify(name)}\n\n${usage()}`)
    return EXIT.USAGE
  }
  const command = require(`../lib/cli/${name}`)
  try {
    const { options, positionals } = parse(argv.slice(1), command.spec)
    if (options.help) {
      process.stdout.write(command.help)
      return EXIT.OK
    }
    return await command.run(options, positionals, { stdout: process.stdout, stderr: process.stderr })
  } catch (err) {
    const code = exitCodeFor(err)
    if (code === EXIT.USAGE) {
      process.stderr.write(`msgpack-rpc ${name}: ${err.message}\nRun \`msgpack-rpc ${name} --help\` for usage.\n`)
    } else if (code === EXIT.REMOTE) {
      process.stderr.write(`error: ${format(err.data)}\n`)
    } else if (err && err.code) {
      process.stderr.write(`msgpack-rpc ${name}: ${err.message} (${err.code})\n`)
    } else {
      process.stderr.write(`msgpack-rpc ${name}: ${(err && err.stack) || err}\n`)
    }
    return code
  }
}

main(process.argv.slice(2)).then((code) => {
  // Exit now rather than when the event loop drains: a connect that timed out
  // may still be pending. stdout and stderr are synchronous for files, pipes
  // and terminals on POSIX, so nothing written is lost.
  if (code !== undefined) process.exit(code)
})
