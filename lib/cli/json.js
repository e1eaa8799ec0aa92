'use strict'
// How the command line shows MessagePack values as JSON, and reads them back.
// JSON has no binary, big integers, extensions, timestamps, non-string map
// keys or non-finite floats, so those print as one-key objects, and the same
// objects are accepted as arguments, so output can be pasted back in:
//   Buffer (bin)           {"$bin":"<base64>"}
//   BigInt (beyond ±2^53)  {"$bigint":"123456789012345678901"}
//   Ext                    {"$ext":[type,"<base64>"]}
//   Date (timestamp)       {"$date":"2024-01-02T03:04:05.678Z"}
//   Map (non-string keys)  {"$map":[[key,value],...]}
//   NaN, ±Infinity         {"$float":"NaN"}
// A plain object whose only key is one of these tags prints as a $map, so it
// cannot be mistaken for the tagged value.

const rpc = require('../..')
const { UsageError } = require('./args')

const TAGS = new Set(['$bin', '$bigint', '$ext', '$date', '$map', '$float'])

/** A JSON-ready copy of a decoded value. */
function toJSONValue(value) {
  if (value === null || value === undefined) return null
  switch (typeof value) {
    case 'boolean':
    case 'string':
      return value
    case 'number':
      return Number.isFinite(value) ? value : { $float: String(value) }
    case 'bigint':
      return { $bigint: value.toString() }
  }
  if (value instanceof Uint8Array) return { $bin: Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64') }
  if (value instanceof rpc.Ext) return { $ext: [value.type, value.data.toString('base64')] }
  if (value instanceof Date) return { $date: Number.isNaN(value.getTime()) ? null : value.toISOString() }
  if (Array.isArray(value)) return value.map(toJSONValue)
  if (value instanceof Map) return { $map: Array.from(value, ([k, v]) => [toJSONValue(k), toJSONValue(v)]) }
  const keys = Object.keys(value)
  if (keys.length === 1 && TAGS.has(keys[0])) return { $map: [[keys[0], toJSONValue(value[keys[0]])]] }
  // Null prototype: a "__proto__" key stays a key.
  const out = Object.create(null)
  for (const k of keys) out[k] = toJSONValue(value[k])
  return out
}

/** One line of JSON for a decoded value. */
function format(value, indent) {
  return JSON.stringify(toJSONValue(value), null, indent)
}

/**
 * A command-line argument as a value: JSON (with the tags above), or, when
 * it is not JSON, the string itself. Integers beyond ±2^53 become BigInts.
 * @param {string} text
 * @param {string} what names the argument in errors
 */
function parseArg(text, what) {
  if (/^-?\d+$/.test(text) && !Number.isSafeInteger(Number(text))) return BigInt(text)
  let value
  try {
    value = JSON.parse(text)
  } catch (err) {
    // Looks like JSON but is broken: say so rather than send a string.
    if (/^\s*[[{"]/.test(text)) throw new UsageError(`${what} is not valid JSON: ${err.message}`)
    return text
  }
  return revive(value, what)
}

/** Turns the tagged objects of parsed JSON into the values they stand for. */
function revive(value, what) {
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) value[i] = revive(value[i], what)
    return value
  }
  if (value === null || typeof value !== 'object') return value
  const keys = Object.keys(value)
  if (keys.length === 1 && TAGS.has(keys[0])) return tagged(keys[0], value[keys[0]], what)
  // In place: JSON.parse made "__proto__" an own key, and assignment keeps it one.
  for (const k of keys) value[k] = revive(value[k], what)
  return value
}

function tagged(tag, v, what) {
  const bad = (expected) => new UsageError(`${what}: ${tag} needs ${expected}, got ${JSON.stringify(v)}`)
  switch (tag) {
    case '$bin':
      if (typeof v !== 'string' || !isBase64(v)) throw bad('a base64 string')
      return Buffer.from(v, 'base64')
    case '$bigint':
      if (typeof v !== 'string' || !/^-?\d+$/.test(v)) throw bad('a string of decimal digits')
      return BigInt(v)
    case '$ext':
      if (!Array.isArray(v) || v.length !== 2 || !Number.isInteger(v[0]) || v[0] < -128 || v[0] > 127 || typeof v[1] !== 'string' || !isBase64(v[1])) {
        throw bad('[type -128..127, "<base64>"]')
      }
      return new rpc.Ext(v[0], Buffer.from(v[1], 'base64'))
    case '$date': {
      const d = typeof v === 'string' || typeof v === 'number' ? new Date(v) : new Date(NaN)
      if (Number.isNaN(d.getTime())) throw bad('an ISO 8601 date or milliseconds since 1970')
      return d
    }
    case '$map':
      if (!Array.isArray(v) || !v.every((e) => Array.isArray(e) && e.length === 2)) throw bad('an array of [key, value] pairs')
      return new Map(v.map(([k, val]) => [revive(k, what), revive(val, what)]))
    case '$float':
      if (v !== 'NaN' && v !== 'Infinity' && v !== '-Infinity') throw bad('"NaN", "Infinity" or "-Infinity"')
      return Number(v)
  }
}

function isBase64(s) {
  return /^[A-Za-z0-9+/]*={0,2}$/.test(s) && s.length % 4 === 0
}

module.exports = { toJSONValue, format, parseArg, TAGS }
