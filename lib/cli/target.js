'use strict'
// Targets on the command line, and opening them with the public API:
//   host:port, [v6]:port, tcp://host:port   TCP
//   port                                    TCP on 127.0.0.1
//   udp://host:port                         UDP
//   unix:/path, or anything else            a unix socket path
//   --spawn '<command line>'                a child process over its stdio

const path = require('node:path')
const rpc = require('../..')
const { UsageError } = require('./args')

/**
 * @param {string} text
 * @returns {{kind: 'tcp'|'udp', host: string, port: number} | {kind: 'unix', path: string}}
 */
function parseTarget(text) {
  if (typeof text !== 'string' || text === '') throw new UsageError('a target is required (host:port, port, unix:/path or udp://host:port)')
  let m = /^udp:\/\/(.+)$/.exec(text)
  if (m) return { kind: 'udp', ...hostPort(m[1], text) }
  m = /^tcp:\/\/(.+)$/.exec(text)
  if (m) return { kind: 'tcp', ...hostPort(m[1], text) }
  m = /^unix:(.+)$/.exec(text)
  if (m) return { kind: 'unix', path: path.resolve(m[1]) }
  if (/^\d+$/.test(text) || /^(\[[^\]]*\]|[^/:[\]]*):\d+$/.test(text)) return { kind: 'tcp', ...hostPort(text, text) }
  if (/^[^/]*:[^/]*$/.test(text)) throw new UsageError(`bad target ${JSON.stringify(text)}: expected host:port with a numeric port`)
  return { kind: 'unix', path: path.resolve(text) }
}

function hostPort(s, whole) {
  let host = '127.0.0.1'
  let port = s
  const m = /^(?:\[([^\]]*)\]|([^:]*)):(\d+)$/.exec(s)
  if (m) {
    host = m[1] !== undefined ? m[1] : m[2] || '127.0.0.1'
    port = m[3]
  } else if (!/^\d+$/.test(s)) {
    throw new UsageError(`bad target ${JSON.stringify(whole)}: expected host:port with a numeric port`)
  }
  const n = Number(port)
  if (n > 65535) throw new UsageError(`bad target ${JSON.stringify(whole)}: port ${n} is over 65535`)
  return { host, port: n }
}

/** How a target prints: the same forms it is parsed from. */
function describe(t) {
  if (t.kind === 'unix') return `unix:${t.path}`
  if (t.kind === 'spawn') return `spawn:${t.command}`
  const host = t.host.includes(':') ? `[${t.host}]` : t.host
  return `${t.kind === 'udp' ? 'udp://' : ''}${host}:${t.port}`
}

/**
 * Splits a command line the way a POSIX shell does for words and quotes:
 * 'single', "double" (with \" \\ \$ \` escapes) and backslash escapes.
 * No expansion of variables, globs or operators.
 */
function splitCommandLine(line) {
  const words = []
  let word = ''
  let inWord = false
  for (let i = 0; i < line.length; i++) {
    const c = line[i]
    if (c === "'") {
      const close = line.indexOf("'", i + 1)
      if (close === -1) throw new UsageError(`unterminated ' in --spawn ${JSON.stringify(line)}`)
      word += line.slice(i + 1, close)
      i = close
      inWord = true
    } else if (c === '"') {
      i++
      for (; i < line.length && line[i] !== '"'; i++) {
        if (line[i] === '\\' && i + 1 < line.length && '"\\$`'.includes(line[i + 1])) i++
        word += line[i]
      }
      if (i >= line.length) throw new UsageError(`unterminated " in --spawn ${JSON.stringify(line)}`)
      inWord = true
    } else if (c === '\\') {
      if (i + 1 < line.length) word += line[++i]
      inWord = true
    } else if (/\s/.test(c)) {
      if (inWord) words.push(word)
      word = ''
      inWord = false
    } else {
      word += c
      inWord = true
    }
  }
  if (inWord) words.push(word)
  if (words.length === 0) throw new UsageError('--spawn needs a command')
  return words
}

/** The target of call/notify/tap: `--spawn` or the first positional. */
function clientTarget(options, positionals) {
  if (options.spawn !== undefined) {
    const argv = splitCommandLine(options.spawn)
    return { kind: 'spawn', command: options.spawn, argv }
  }
  return parseTarget(positionals.shift())
}

/**
 * Opens a client stream; resolves once it is connected. Rejects with the
 * connect error (ECONNREFUSED, ENOENT, ...).
 * @param {object} t a parsed target
 * @param {{timeout?: number, handler?: object}} [options]
 */
function open(t, options = {}) {
  let stream
  if (t.kind === 'tcp') return rpc.connect(t.port, t.host, options)
  if (t.kind === 'unix') return rpc.connect({ ...options, path: t.path })
  if (t.kind === 'udp') stream = rpc.createUdpClient(t.port, t.host, options)
  else stream = rpc.spawn(t.argv[0], t.argv.slice(1), { ...options, stdio: ['pipe', 'pipe', 'inherit'] })
  return new Promise((resolve, reject) => {
    let error
    const onError = (err) => {
      error = err
    }
    const onClose = () => {
      if (!error) {
        error = new Error(`${describe(t)} closed before it was ready`)
        error.code = rpc.codes.CLOSED
      }
      reject(error)
    }
    stream.on('error', onError)
    stream.once('close', onClose)
    stream.once('ready', () => {
      stream.removeListener('close', onClose)
      stream.removeListener('error', onError)
      resolve(stream)
    })
  })
}

/**
 * Closes a client stream and, for a spawned child, waits for it to exit
 * (SIGTERM if it outlives its stdin by a second).
 */
async function shut(stream) {
  if (!stream) return
  const child = stream.process
  await stream.close()
  if (!child || child.exitCode !== null || child.signalCode !== null) return
  await new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGTERM'), 1000)
    child.once('exit', () => {
      clearTimeout(timer)
      resolve()
    })
  })
}

module.exports = { parseTarget, describe, splitCommandLine, clientTarget, open, shut }
