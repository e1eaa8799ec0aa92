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

/** A tree per map length: a map's length picks its root, so maps of other lengths (nested ones) do not upset its first prediction. */
let roots = newRoots()
let nodes = 0
let builders = 0
let full = false
/** Keys decoded since the last builder was made; starts full, so the first one is made when due. */
let credit = KEYS_PER_BUILD
/** False where code generation from strings is disallowed (--disallow-code-generation-from-strings). */
let canCompile = true

/** Called before each map of `len` (1..MAX_KEYS) entries: drops a full tree so it can be learnt again. */
function shapeRoot(len) {
  credit += len
  if (full) {
    roots = newRoots()
    nodes = 0
    builders = 0
    full = false
  }
  return roots[len]
}

function newRoots() {
  return Array.from({ length: MAX_KEYS + 1 }, () => new KeyNode('', true))
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

// ---- encoding ----------------------------------------------------------------
// The encoder's side of the same habit: objects a program sends again and
// again have the same keys in the same order. A key list seen often enough
// (compared string by string with the last few lists of its length) gets an
// encoder whose code writes the map header and each key's bytes as constants
// and reads each value by name, where the plain path encodes every key
// character by character and reads values with a megamorphic keyed load.

/** Objects with more keys than this are encoded without a shape. */
const MAX_ENCODE_KEYS = 32
/** Key lists remembered per length, replaced in turn. */
const WAYS = 4

class ObjectShape {
  constructor() {
    /** The key list (an `Object.keys` result), or null while the slot is free. */
    this.keys = null
    this.seen = 0
    /** `(encoder, object, depth)`, once made. */
    this.encode = null
  }
}

const objectShapes = Array.from({ length: (MAX_ENCODE_KEYS + 1) * WAYS }, () => new ObjectShape())
const nextWay = new Uint8Array(MAX_ENCODE_KEYS + 1)
/** As `credit` for the decoder: keys encoded since the last encoder was made. */
let encodeCredit = KEYS_PER_BUILD

/**
 * The compiled encoder for an object whose own enumerable keys are `keys`
 * (1 to MAX_ENCODE_KEYS of them), or null: the caller encodes it plainly.
 * @param {string[]} keys
 * @param {(key: string) => Uint8Array} keyBytes a key's MessagePack encoding
 */
function objectEncoder(keys, keyBytes) {
  const len = keys.length
  encodeCredit += len
  const base = len * WAYS
  for (let w = 0; w < WAYS; w++) {
    const shape = objectShapes[base + w]
    const known = shape.keys
    if (known === null) break
    let same = true
    for (let i = 0; i < len; i++) {
      if (known[i] !== keys[i]) {
        same = false
        break
      }
    }
    if (!same) continue
    if (shape.encode === null && ++shape.seen >= BUILD_AFTER && encodeCredit >= KEYS_PER_BUILD && canCompile) {
      compileEncoder(shape, keyBytes)
    }
    return shape.encode
  }
  const shape = objectShapes[base + nextWay[len]]
  nextWay[len] = (nextWay[len] + 1) % WAYS
  shape.keys = keys
  shape.seen = 1
  shape.encode = null
  return null
}

/**
 * Makes `shape.encode`: the map header and each key written as constant
 * bytes, each value read by name (what `object[key]` reads) and handed to
 * the encoder as the plain path would. A key over MAX_KEY_BYTES keeps the
 * shape plain for good.
 */
function compileEncoder(shape, keyBytes) {
  const keys = shape.keys
  const len = keys.length
  let body = ''
  for (let i = 0; i < len; i++) {
    const key = keyBytes(keys[i])
    if (key.length > MAX_KEY_BYTES + 1) {
      shape.seen = -Infinity
      return
    }
    const bytes = i === 0 ? [...mapHeader(len), ...key] : [...key]
    body += `e._ensure(${bytes.length});b=e._buf;p=e._pos;`
    for (let j = 0; j < bytes.length; j++) body += `b[p+${j}]=${bytes[j]};`
    // Numbers and strings straight to their writers (each call site sees
    // one type); anything else through the dispatch, as the plain path does.
    body += `e._pos=p+${bytes.length};v=o[${JSON.stringify(keys[i])}];`
    body += "if(typeof v==='number')e._number(v);else if(typeof v==='string')e._string(v);else e._value(v,d);\n"
  }
  encodeCredit = 0
  try {
    shape.encode = new Function('e', 'o', 'd', `let b,p,v;\n${body}`)
  } catch {
    canCompile = false
  }
}

/** A map header for `len` (at most MAX_ENCODE_KEYS) entries. */
function mapHeader(len) {
  return len < 16 ? [0x80 | len] : [0xde, len >>> 8, len & 0xff]
}

module.exports = { MAX_KEYS, shapeRoot, findChild, addChild, noteShape, MAX_ENCODE_KEYS, objectEncoder }
