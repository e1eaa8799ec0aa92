'use strict'
// A Promise whose settlers an object keeps in its own fields, made without a
// closure: connect() and close() make one per short connection, and one
// executor shared by all of them allocates nothing but the Promise.

/** What the executor hands the settlers to, for the one `new Promise` under way. */
let owner
let keep

function executor(resolve, reject) {
  keep(owner, resolve, reject)
}

/**
 * `new Promise` whose `resolve` and `reject` go to `keepSettlers(target,
 * resolve, reject)`, called before this returns.
 * @returns {Promise<any>}
 */
function promiseFor(target, keepSettlers) {
  owner = target
  keep = keepSettlers
  try {
    return new Promise(executor)
  } finally {
    owner = keep = undefined
  }
}

module.exports = { promiseFor }
