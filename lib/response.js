'use strict'
// Response: the answer handle given to request handlers. One request is
// answered once; a second answer throws.

const { kErrorFields, kRespond } = require('./constants')
const errors = require('./errors')

class Response {
  constructor(stream, msgid) {
    this._stream = stream
    this.msgid = msgid
    this.sent = false
  }

  /**
   * Answers with `value`.
   * @returns {boolean} whether the answer was queued for the peer (false once
   *   the connection is closing or closed: it will never arrive)
   */
  result(value) {
    return this._send(null, value === undefined ? null : value)
  }

  /**
   * Answers with an error value, sent as is. An `Error` is sent as its
   * message, or as `{ message, code, ...own enumerable fields }` when the
   * stream was created with `errorFields: true`.
   * @returns {boolean} as for `result`
   */
  error(error) {
    return this._send(errorValue(error, this._stream[kErrorFields]), null)
  }

  _send(error, result) {
    if (this.sent) {
      throw new errors.RpcError(errors.codes.ALREADY_RESPONDED, `request ${this.msgid} was already answered`)
    }
    this.sent = true
    return this._stream[kRespond](this.msgid, error, result)
  }
}

/** What goes on the wire for an error answer. */
function errorValue(error, fields) {
  if (error === undefined || error === null) return 'error'
  if (!(error instanceof Error)) return error
  if (!fields) return String(error.message)
  const out = { message: String(error.message) }
  if (error.code !== undefined) out.code = error.code
  for (const key of Object.keys(error)) {
    if (key !== 'message' && key !== 'stack' && typeof error[key] !== 'function') out[key] = error[key]
  }
  return out
}

module.exports = { Response, errorValue }
