'use strict'
// Argument and option checks for the public entry points. The errors are
// Node's own (class, `code` and message text, as lib/internal/errors.js
// words them), thrown synchronously as `net` throws them, so a typo in an
// option fails where it was written instead of silently doing something else.

const { inspect } = require('node:util')

const U32_MAX = 2 ** 32 - 1
const I32_MAX = 2 ** 31 - 1

/**
 * The options every connection takes (server, client, attach, spawn, stdio,
 * UDP), with their ranges. `timeout` 0 turns it off.
 */
const CONNECTION_OPTIONS = {
  maxMessageSize: integer(1, U32_MAX),
  maxDepth: integer(1, 100000),
  highWaterMark: integer(1, U32_MAX),
  maxPendingCalls: integer(1, U32_MAX),
  timeout: integer(0, I32_MAX),
  handler: objectOrNull,
  appendResponse: boolean,
  errorFields: boolean,
}

/** TCP keepalive, as `net` takes it; applied to every connection. */
const KEEPALIVE_OPTIONS = {
  keepAlive: boolean,
  keepAliveInitialDelay: integer(0, I32_MAX),
}

const SERVER_OPTIONS = {
  ...CONNECTION_OPTIONS,
  ...KEEPALIVE_OPTIONS,
  idleTimeout: integer(1, I32_MAX),
  maxMessageTime: integer(1, I32_MAX),
  maxQueuedReplies: integer(1, U32_MAX),
  maxConnections: integer(0, I32_MAX),
  closeTimeout: integer(0, I32_MAX),
  maxBufferedBytes: integer(1, Number.MAX_SAFE_INTEGER),
}

const CLIENT_OPTIONS = {
  ...CONNECTION_OPTIONS,
  ...KEEPALIVE_OPTIONS,
  reconnect: reconnectValue,
  maxQueuedCalls: integer(0, U32_MAX),
  connectTimeout: integer(0, I32_MAX),
  closeTimeout: integer(0, I32_MAX),
  port: portValue,
  host: string,
  path: string,
}

/** The largest UDP payload over IPv4. */
const MAX_DATAGRAM_SIZE = 65507

const UDP_CLIENT_OPTIONS = {
  ...CONNECTION_OPTIONS,
  maxDatagramSize: integer(1, MAX_DATAGRAM_SIZE),
}

const UDP_SERVER_OPTIONS = {
  ...UDP_CLIENT_OPTIONS,
  peerIdleTimeout: integer(1, I32_MAX),
}

const LISTEN_OPTIONS = {
  port: portValue,
  host: string,
  path: string,
  backlog: integer(0, I32_MAX),
  // A listening socket inherited or handed over (systemd passes fd 3).
  fd: integer(0, I32_MAX),
  handle: object,
  // SO_REUSEPORT: several processes bind one port, the kernel spreads connections.
  reusePort: boolean,
  // In a cluster worker: bind here instead of sharing through the primary.
  exclusive: boolean,
}

// ---- the errors, worded as Node words them ---------------------------------

/** Node's `determineSpecificType`: the "Received ..." part of a message. */
function received(value) {
  if (value === null) return 'null'
  if (value === undefined) return 'undefined'
  switch (typeof value) {
    case 'bigint':
      return `type bigint (${value}n)`
    case 'number':
      if (value === 0) return 1 / value === -Infinity ? 'type number (-0)' : 'type number (0)'
      return `type number (${value})`
    case 'boolean':
      return `type boolean (${value})`
    case 'symbol':
      return `type symbol (${String(value)})`
    case 'function':
      return `function ${value.name}`
    case 'object':
      if (value.constructor && 'name' in value.constructor) return `an instance of ${value.constructor.name}`
      return inspect(value, { depth: -1 })
    case 'string': {
      const s = value.length > 28 ? `${value.slice(0, 25)}...` : value
      return s.includes("'") ? `type string (${JSON.stringify(s)})` : `type string ('${s}')`
    }
  }
  return `type ${typeof value} (${inspect(value, { colors: false })})`
}

/** "The "x" argument" or, for a dotted name, "The "options.x" property". */
function subject(name) {
  return `The "${name}" ${name.includes('.') ? 'property' : 'argument'}`
}

const PRIMITIVE_TYPES = new Set(['string', 'function', 'number', 'object', 'boolean', 'bigint', 'symbol'])

/** "of type number", "one of type string or number", "an instance of Duplex". */
function expectation(expected) {
  const list = Array.isArray(expected) ? expected : [expected]
  const types = list.filter((t) => PRIMITIVE_TYPES.has(t))
  const instances = list.filter((t) => !PRIMITIVE_TYPES.has(t))
  const parts = []
  if (types.length === 1) parts.push(`of type ${types[0]}`)
  else if (types.length === 2) parts.push(`one of type ${types[0]} or ${types[1]}`)
  else if (types.length > 2) parts.push(`one of type ${types.slice(0, -1).join(', ')}, or ${types[types.length - 1]}`)
  if (instances.length > 0) parts.push(`an instance of ${instances.join(' or ')}`)
  return parts.join(' or ')
}

/** `TypeError` ERR_INVALID_ARG_TYPE: "The "options.timeout" property must be of type number. Received ..." */
function invalidArgType(name, expected, value) {
  return coded(TypeError, 'ERR_INVALID_ARG_TYPE', `${subject(name)} must be ${expectation(expected)}. Received ${received(value)}`)
}

/** `TypeError` ERR_INVALID_ARG_VALUE: "The property 'options.prot' is not a known option ... Received 4567" */
function invalidArgValue(name, value, reason = 'is invalid') {
  const kind = name.includes('.') ? 'property' : 'argument'
  let shown = inspect(value)
  if (shown.length > 128) shown = `${shown.slice(0, 128)}...`
  return coded(TypeError, 'ERR_INVALID_ARG_VALUE', `The ${kind} '${name}' ${reason}. Received ${shown}`)
}

/** `RangeError` ERR_OUT_OF_RANGE: "The value of "options.maxMessageSize" is out of range. ..." */
function outOfRange(name, range, value) {
  let shown
  if (Number.isInteger(value) && Math.abs(value) > 2 ** 32) shown = separateThousands(String(value))
  else shown = inspect(value)
  return coded(RangeError, 'ERR_OUT_OF_RANGE', `The value of "${name}" is out of range. It must be ${range}. Received ${shown}`)
}

/**
 * `TypeError` ERR_MISSING_ARGS: "The "command" argument must be specified";
 * an array names alternatives: "The "options" or "port" or "path" argument ...".
 */
function missingArgs(...names) {
  const quoted = names.map((n) => (Array.isArray(n) ? n.map((a) => `"${a}"`).join(' or ') : `"${n}"`))
  let list
  if (quoted.length === 1) list = `${quoted[0]} argument`
  else if (quoted.length === 2) list = `${quoted[0]} and ${quoted[1]} arguments`
  else list = `${quoted.slice(0, -1).join(', ')}, and ${quoted[quoted.length - 1]} arguments`
  return coded(TypeError, 'ERR_MISSING_ARGS', `The ${list} must be specified`)
}

/** `RangeError` ERR_SOCKET_BAD_PORT, as `net` words it. */
function badPort(name, value, allowZero = true) {
  return coded(RangeError, 'ERR_SOCKET_BAD_PORT', `${name} should be ${allowZero ? '>=' : '>'} 0 and < 65536. Received ${received(value)}.`)
}

/** Node's `addNumericalSeparator`: 4294967296 -> 4_294_967_296. */
function separateThousands(digits) {
  const sign = digits[0] === '-' ? '-' : ''
  let rest = sign ? digits.slice(1) : digits
  let out = ''
  while (rest.length > 3) {
    out = `_${rest.slice(-3)}${out}`
    rest = rest.slice(0, -3)
  }
  return `${sign}${rest}${out}`
}

function coded(Class, code, message) {
  const err = new Class(message)
  err.code = code
  Error.captureStackTrace(err, coded)
  return err
}

// ---- checks ----------------------------------------------------------------

function validateObject(value, name, { nullable = false } = {}) {
  if (value === null && nullable) return
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw invalidArgType(name, 'object', value)
}

function validateString(value, name) {
  if (typeof value !== 'string') throw invalidArgType(name, 'string', value)
}

function validateBoolean(value, name) {
  if (typeof value !== 'boolean') throw invalidArgType(name, 'boolean', value)
}

function validateFunction(value, name) {
  if (typeof value !== 'function') throw invalidArgType(name, 'function', value)
}

/** An integer in `[min, max]`; a number that is not an integer is out of range, as in Node. */
function validateInteger(value, name, min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER) {
  if (typeof value !== 'number') throw invalidArgType(name, 'number', value)
  if (!Number.isInteger(value)) throw outOfRange(name, 'an integer', value)
  if (value < min || value > max) throw outOfRange(name, `>= ${min} && <= ${max}`, value)
}

/**
 * A port as `net` takes it: a number or a decimal string in 0..65535, or
 * undefined/null for "any" (0). Returns the number. `allowZero: false` for a
 * port to send to.
 */
function validatePort(port, name = 'Port', allowZero = true) {
  if (allowZero && (port === undefined || port === null)) return 0
  if ((typeof port !== 'number' && typeof port !== 'string') || (typeof port === 'string' && port.trim() === '')) {
    throw badPort(name, port, allowZero)
  }
  const n = Number(port)
  if (!Number.isInteger(n) || n < 0 || n > 65535 || (n === 0 && !allowZero)) throw badPort(name, port, allowZero)
  return n
}

/**
 * Checks an options object against `allowed` (key -> check) and returns a
 * new object holding only the keys that were given a value: unknown keys
 * throw ERR_INVALID_ARG_VALUE, bad values the check's error. `undefined`
 * counts as not given, as in Node.
 * @param {object|undefined|null} options
 * @param {object} allowed
 * @param {string} fn the entry point named in the unknown-key message, e.g. 'createClient()'
 * @param {string} [name='options']
 */
function validateOptions(options, allowed, fn, name = 'options') {
  if (options === undefined || options === null) return {}
  validateObject(options, name)
  const out = {}
  for (const key of Object.keys(options)) {
    const value = options[key]
    if (!Object.prototype.hasOwnProperty.call(allowed, key)) {
      throw invalidArgValue(`${name}.${key}`, value, `is not a known option of ${fn}; known options: ${Object.keys(allowed).join(', ')}`)
    }
    if (value === undefined) continue
    const normalised = allowed[key](value, `${name}.${key}`)
    out[key] = normalised === undefined ? value : normalised
  }
  return out
}

/** Picks our keys out of `options` (validated) and returns the rest untouched. */
function splitOptions(options, allowed, fn, name = 'options') {
  if (options === undefined || options === null) return { ours: {}, rest: {} }
  validateObject(options, name)
  const mine = {}
  const rest = {}
  for (const key of Object.keys(options)) {
    if (Object.prototype.hasOwnProperty.call(allowed, key)) mine[key] = options[key]
    else rest[key] = options[key]
  }
  return { ours: validateOptions(mine, allowed, fn, name), rest }
}

/** A handler: an object, or null/undefined for none. */
function validateHandler(value, name) {
  if (value === undefined || value === null) return
  if (typeof value !== 'object') throw invalidArgType(name, 'object', value)
}

// Option checks, in the shape validateOptions wants.
function integer(min, max) {
  return (value, name) => validateInteger(value, name, min, max)
}
function objectOrNull(value, name) {
  validateHandler(value, name)
}
function object(value, name) {
  validateObject(value, name)
}
function boolean(value, name) {
  validateBoolean(value, name)
}
function string(value, name) {
  validateString(value, name)
}
function portValue(value, name) {
  return validatePort(value, name)
}

/** The keys of `reconnect: { ... }` (ms; `jitter` a fraction of each delay). */
const RECONNECT_OPTIONS = {
  initialDelay: integer(0, I32_MAX),
  maxDelay: integer(0, I32_MAX),
  factor: number(1, 1000),
  jitter: number(0, 1),
  maxAttempts: (value, name) => {
    if (value !== Infinity) validateInteger(value, name, 0, Number.MAX_SAFE_INTEGER)
  },
}

/** `reconnect`: true/false, or an object of RECONNECT_OPTIONS. Returns the normalised value. */
function reconnectValue(value, name) {
  if (typeof value === 'boolean') return value
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw invalidArgType(name, ['boolean', 'object'], value)
  return validateOptions(value, RECONNECT_OPTIONS, 'the reconnect option', name)
}

/**
 * `createBalancer(targets, options)`: the connection options every target's
 * client gets, and the balancer's own. `reconnect` is the targets' backoff:
 * a target is never given up, so it has no `maxAttempts`.
 */
const BALANCER_BACKOFF_OPTIONS = { ...RECONNECT_OPTIONS }
delete BALANCER_BACKOFF_OPTIONS.maxAttempts

const BALANCER_OPTIONS = {
  ...CONNECTION_OPTIONS,
  ...KEEPALIVE_OPTIONS,
  strategy: oneOf(['least-pending', 'round-robin']),
  resolveInterval: integer(1, I32_MAX),
  lookup: (value, name) => validateFunction(value, name),
  maxQueuedCalls: integer(0, U32_MAX),
  reconnect: (value, name) => {
    if (value === true) return {}
    if (value === null || typeof value !== 'object' || Array.isArray(value)) throw invalidArgType(name, ['boolean', 'object'], value)
    return validateOptions(value, BALANCER_BACKOFF_OPTIONS, 'the reconnect option of createBalancer()', name)
  },
  connectTimeout: integer(0, I32_MAX),
  closeTimeout: integer(0, I32_MAX),
}

/** The per-call options of `balancer.request()`: a stream's, plus `idempotent`. */
const BALANCER_CALL_OPTIONS = {
  timeout: number(0, I32_MAX),
  signal: abortSignal,
  idempotent: boolean,
}

function abortSignal(value, name) {
  const ok =
    value !== null &&
    typeof value === 'object' &&
    typeof value.aborted === 'boolean' &&
    typeof value.addEventListener === 'function' &&
    typeof value.removeEventListener === 'function'
  if (!ok) throw invalidArgType(name, 'AbortSignal', value)
}

/** One of a fixed set of strings. */
function oneOf(values) {
  return (value, name) => {
    if (typeof value !== 'string') throw invalidArgType(name, 'string', value)
    if (!values.includes(value)) throw invalidArgValue(name, value, `must be one of ${values.map((s) => `'${s}'`).join(', ')}`)
  }
}

/** A finite number in `[min, max]`. */
function number(min, max) {
  return (value, name) => {
    if (typeof value !== 'number') throw invalidArgType(name, 'number', value)
    if (!(value >= min && value <= max)) throw outOfRange(name, `>= ${min} && <= ${max}`, value)
  }
}

/** The RpcStream constructor's share of validated connection options. */
function streamOptions(options) {
  return {
    handler: options.handler === null ? undefined : options.handler,
    timeout: options.timeout,
    highWaterMark: options.highWaterMark,
    maxPendingCalls: options.maxPendingCalls,
    appendResponse: options.appendResponse,
    errorFields: options.errorFields,
  }
}

module.exports = {
  CONNECTION_OPTIONS,
  SERVER_OPTIONS,
  CLIENT_OPTIONS,
  KEEPALIVE_OPTIONS,
  UDP_CLIENT_OPTIONS,
  UDP_SERVER_OPTIONS,
  LISTEN_OPTIONS,
  BALANCER_OPTIONS,
  BALANCER_CALL_OPTIONS,
  MAX_DATAGRAM_SIZE,
  validateObject,
  validateString,
  validateBoolean,
  validateFunction,
  validateInteger,
  validatePort,
  validateOptions,
  validateHandler,
  splitOptions,
  streamOptions,
  invalidArgType,
  invalidArgValue,
  outOfRange,
  missingArgs,
}
