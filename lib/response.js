'use strict'
// Response: the answer handle given to request handlers. One request is
// answered once; a second answer throws.

const errors = require('./errors')

class Response {
  constructor(stream, msgid) {
    this._stream = stream
    this.msgid = msgid
    this.sent = false
  }

  /** Answers with `value`. */
  result(value) {
    return this._send(null, value === undefined ? null : value)
  }

  /** Answers with an error value (sent as is; an Error is sent as its message). */
  error(error) {
    return this._send(error === undefined || error === null ? 'error' : error, null)
  }

  _send(error, result) {
    if (this.sent) {
      throw new errors.RpcError(errors.codes.ALREADY_RESPONDED, `request ${this.msgid} was already answered`)
    }
    this.sent = true
    return this._stream._respond(this.msgid, error, result)
  }
}

module.exports = { Response }
