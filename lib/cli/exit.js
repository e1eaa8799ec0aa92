'use strict'
// Exit statuses of the command, which one an error means, and when the
// long-running subcommands (serve, tap) stop.

const rpc = require('../..')
const { UsageError } = require('./args')

const EXIT = Object.freeze({
  OK: 0,
  /** The peer answered with an error. */
  REMOTE: 1,
  /** The command was called wrongly (options, arguments, a value that cannot be sent). */
  USAGE: 2,
  /** Cannot connect, the connection broke, or the call timed out. */
  UNREACHABLE: 3,
})

/** The exit status an error thrown by a subcommand stands for. */
function exitCodeFor(err) {
  if (err instanceof UsageError) return EXIT.USAGE
  if (err && err.code === rpc.codes.REMOTE) return EXIT.REMOTE
  if (err && err.code === rpc.codes.ENCODE) return EXIT.USAGE
  return EXIT.UNREACHABLE
}

/**
 * Resolves with `promise`'s value, or rejects with a TimeoutError after `ms`
 * (0: never). For the steps before a call has its own deadline (connecting).
 */
function withDeadline(promise, ms, what) {
  if (!ms) return promise
  let timer
  const deadline = new Promise((resolve, reject) => {
    timer = setTimeout(() => {
      const err = new Error(`${what} timed out after ${ms} ms`)
      err.code = rpc.codes.TIMEOUT
      reject(err)
    }, ms)
  })
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer))
}

/**
 * Resolves on the first SIGINT or SIGTERM; a second one is not caught, so it
 * ends the process at once if closing hangs.
 */
function signalled() {
  return new Promise((resolve) => {
    const on = (signal) => {
      process.removeListener('SIGINT', on)
      process.removeListener('SIGTERM', on)
      resolve(signal)
    }
    process.on('SIGINT', on)
    process.on('SIGTERM', on)
  })
}

module.exports = { EXIT, exitCodeFor, withDeadline, signalled }
