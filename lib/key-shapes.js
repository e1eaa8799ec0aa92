'use strict'
// The decoder's memory of map key sequences. Most maps a peer sends repeat
// the keys of earlier ones in the same order (records, replies of one
// method). A tree of recently seen sequences lets the decoder check the next
// key's bytes against the key it predicts instead of decoding and hashing
// them, and a sequence seen often enough gets a builder: a function whose
// object literal makes the whole object in one allocation with its final
// shape, where assigning the keys one by one walks V8 through a transition
// per key and a megamorphic keyed store each time.
//
// Everything here is bounded whatever a peer sends: at most MAX_NODES keys of
// at most MAX_KEY_BYTES bytes are learnt, and at most MAX_BUILDERS builders
// made, before the tree is dropped whole (at the start of the next map) and
// learnt again; a node with MAX_CHILDREN children forgets them all when it
// needs another, so no peer can stop the learning.

/** Maps with more entries than this are decoded without the tree. */
const MAX_KEYS = 32
/** A key longer than this (in bytes) ends the walk: the rest of that map is decoded plainly. */
const MAX_KEY_BYTES = 31
const MAX_NODES = 4096
const MAX_CHILDREN = 64
const MAX_BUILDERS = 256
/** A sequence gets a builder once it has been decoded this many times. */
const BUILD_AFTER = 4
/**
 * Compiling a builder costs as much as decoding thousands of keys: after
 * one, this many keys are decoded before the next, so that no stream of
 * ever-new sequences makes the decoder spend most of its time compiling.
 */
const KEYS_PER_BUILD = 4096

class KeyNode {
  /**
   * @param {string} key the key that leads here ('' at the root)
   * @param {boolean} ascii whether `key` was a fixstr of ASCII bytes, so that its bytes are its char codes
   */
  constructor(key, ascii) {
    this.key = key
    this.ascii = ascii
    /** The child reached last: the prediction for the next key. */
    this.child = null
    /** Every child by key, once there is more than one. */
    this.children = null
    /** Maps ending here: how many were decoded, and their builder once made. */
    this.seen = 0
    this.build = null
  }
}

let root = new KeyNode('', true)
let nodes = 0
let builders = 0
let full = false
/** Keys decoded since the last builder was made; starts full, so the first one is made when due. */
let credit = KEYS_PER_BUILD
/** False where code generation from strings is disallowed (--disallow-code-generation-from-strings). */
let canCompile = true

/** Called before each map of `len` entries: drops a full tree so it can be learnt again. */
function shapeRoot(len) {
  credit += len
  if (full) {
    root = new KeyNode('', true)
    nodes = 0
    builders = 0
    full = false
  }
  return root
}

/**
 * The child of `node` reached by `key`, or null; it becomes the prediction.
 * @param {KeyNode} node
 * @param {string} key
 */
function findChild(node, key) {
  const c = node.children === null ? (node.child !== null && node.child.key === key ? node.child : undefined) : node.children.get(key)
  if (c === undefined) return null
  node.child = c
  return c
}

/**
 * A new child of `node` for `key` (the prediction from now on), or null when
 * the tree cannot follow: no room left or a key too long to keep.
 * @param {KeyNode} node
 * @param {string} key
 * @param {number} byteLength the key's encoded length, header included
 * @param {boolean} ascii whether it was a fixstr of ASCII bytes
 */
function addChild(node, key, byteLength, ascii) {
  if (byteLength > MAX_KEY_BYTES + 1) return null
  if (nodes >= MAX_NODES) {
    full = true
    return null
  }
  const c = new KeyNode(key, ascii)
  if (node.children !== null && node.children.size >= MAX_CHILDREN) {
    // Forget this node's children rather than stop learning below it; what
    // they held still counts towards MAX_NODES until the tree is dropped.
    node.children = null
    node.child = null
  }
  if (node.child !== null) {
    if (node.children === null) node.children = new Map([[node.child.key, node.child]])
    node.children.set(key, c)
  }
  nodes++
  node.child = c
  return c
}

/**
 * Counts one more map that ended at `node` (keys `keys[base..base+len)`) and
 * makes its builder when it is due. A literal builds what assigning the keys
 * in order builds (a repeated key keeps its first place and its last value)
 * except for `__proto__`, which a literal takes for the prototype: sequences
 * with it never get a builder.
 */
function noteShape(node, keys, base, len) {
  if (++node.seen < BUILD_AFTER || credit < KEYS_PER_BUILD || !canCompile || builders >= MAX_BUILDERS) return
  let body = ''
  for (let i = 0; i < len; i++) {
    const key = keys[base + i]
    if (key === '__proto__') {
      node.seen = -Infinity
      return
    }
    // JSON.stringify makes any string a safe string literal.
    body += `${JSON.stringify(key)}:v[b+${i}],`
  }
  credit = 0
  try {
    node.build = new Function('v', 'b', `return {${body}}`)
    builders++
  } catch {
    canCompile = false
  }
}

module.exports = { MAX_KEYS, shapeRoot, findChild, addChild, noteShape }
