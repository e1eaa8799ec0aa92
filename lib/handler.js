'use strict'
// Handler rules: which of a handler object's functions a peer may call, and
// how a request handler's answer is taken (README "Handlers").
//
// A peer names the method, so only what the handler itself defines is
// callable: its own properties and the methods of its classes, never what
// comes from a built-in prototype (Object, Function, EventEmitter, Array…)
// and never `constructor`.

const { kHandlerFault, kNotificationFault } = require('./constants')
const { EventEmitter } = require('node:events')

/** Prototypes whose methods are never callable, whatever inherits them. */
const BUILTIN_PROTOTYPES = new Set([
  Object.prototype,
  Function.prototype,
  EventEmitter.prototype,
  Array.prototype,
  Map.prototype,
  Set.prototype,
  Promise.prototype,
  Error.prototype,
])
/** Answers for other prototypes met on the way, computed once each. */
const builtinSeen = new WeakMap()
const NATIVE_CODE = /\{\s*\[native code\]\s*\}\s*$/
const MAX_CHAIN = 64

function isBuiltinPrototype(proto) {
  if (BUILTIN_PROTOTYPES.has(proto)) return true
  let known = builtinSeen.get(proto)
  if (known === undefined) {
    const ctor = Object.getOwnPropertyDescriptor(proto, 'constructor')
    const fn = ctor && ctor.value
    known = typeof fn === 'function' && fn.prototype === proto && NATIVE_CODE.test(Function.prototype.toString.call(fn))
    builtinSeen.set(proto, known)
  }
  return known
}

/**
 * The handler's function for `method`, or undefined when the handler does
 * not define one a peer may call.
 * @param {object} handler
 * @param {string} method
 */
function lookup(handler, method) {
  if (method === 'constructor' || method === '__proto__') return undefined
  let owner = handler
  for (let depth = 0; owner !== null && depth < MAX_CHAIN; depth++) {
    if (depth > 0 && isBuiltinPrototype(owner)) return undefined
    if (Object.prototype.hasOwnProperty.call(owner, method)) {
      const fn = handler[method]
      return typeof fn === 'function' ? fn : undefined
    }
    owner = Object.getPrototypeOf(owner)
  }
  return undefined
}

function isThenable(value) {
  return value !== null && (typeof value === 'object' || typeof value === 'function') && typeof value.then === 'function'
}

/**
 * Runs a request handler and takes its answer.
 *
 * `appendResponse` (the drop-in rule): `fn(...params, response)`. Unless it
 * answered through `response`, a returned value (not undefined) or a
 * Promise answers; a Promise resolving to undefined answers null unless the
 * handler declares the response parameter (`fn.length` > params sent).
 * Otherwise: `fn(...params)` exactly, and what it returns or resolves to is
 * the answer (undefined answers null).
 * Either way a throw or rejection before an answer answers the error; one
 * after an answer goes to `stream[kHandlerFault](method, err)` (no closure
 * per request: this runs for every call).
 */
function runRequestHandler(fn, handler, params, response, appendResponse, stream, method) {
  const count = params.length
  let returned
  let thenable
  try {
    returned = appendResponse ? callWithResponse(fn, handler, params, response) : fn.apply(handler, params)
    thenable = isThenable(returned)
  } catch (err) {
    if (!response.sent) return response.error(err)
    return stream[kHandlerFault](method, err)
  }
  const answersUndefined = !appendResponse || fn.length <= count
  if (thenable) {
    const settled = (value) => {
      if (!response.sent && (value !== undefined || answersUndefined)) answer(response, value, stream, method)
    }
    const failed = (err) => {
      if (!response.sent) response.error(err)
      else stream[kHandlerFault](method, err)
    }
    try {
      returned.then(settled, failed)
    } catch (err) {
      failed(err)
    }
  } else if (!response.sent && (returned !== undefined || !appendResponse)) {
    // Returning undefined from a plain function answers nothing in the
    // drop-in rule: legacy handlers answer later through `response`.
    answer(response, returned, stream, method)
  }
}

/** Answers with what a handler returned; a value that cannot be sent has
 * already been answered with an error, and is a fault of the handler. */
function answer(response, value, stream, method) {
  try {
    response.result(value)
  } catch (err) {
    stream[kHandlerFault](method, err)
  }
}

/** `fn(...params, response)`; the common arities without building an array. */
function callWithResponse(fn, handler, params, response) {
  switch (params.length) {
    case 0:
      return fn.call(handler, response)
    case 1:
      return fn.call(handler, params[0], response)
    case 2:
      return fn.call(handler, params[0], params[1], response)
    case 3:
      return fn.call(handler, params[0], params[1], params[2], response)
  }
  // The decoded params array is ours: append the response for the call.
  params.push(response)
  try {
    return fn.apply(handler, params)
  } finally {
    params.pop()
  }
}

/**
 * Runs a notification handler: `fn(...params)`; a throw or a rejection goes
 * to `stream[kNotificationFault](method, err)`.
 */
function runNotificationHandler(fn, handler, params, stream, method) {
  try {
    const returned = fn.apply(handler, params)
    if (isThenable(returned)) returned.then(undefined, (err) => stream[kNotificationFault](method, err))
  } catch (err) {
    stream[kNotificationFault](method, err)
  }
}

module.exports = { lookup, runRequestHandler, runNotificationHandler }
