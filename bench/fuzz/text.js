'use strict'
// How the fuzzer prints inputs, sizes and child output.

const MIB = 1024 * 1024

/** An input record in a few words: where it went, which one, how it was made and sent. */
function describe(r) {
  return `${r.transport} input #${r.index} (${r.strategy}${r.plan ? `, ${r.plan.mode}/${r.plan.close}` : ''})`
}

/** Bytes as hex, cut after 200 bytes. */
function hex(bytes) {
  const s = bytes.toString('hex')
  return s.length > 400 ? `${s.slice(0, 400)}… (${bytes.length} bytes)` : s
}

/** The last 30 lines of `text`. */
function tail(text) {
  const lines = (text || '').trimEnd().split('\n')
  return lines.slice(-30).join('\n') || '(empty)'
}

/** `text` under `title`, each line marked as quoted. */
function indent(title, text) {
  return `  ${title}:\n${text.replace(/^/gm, '    | ')}`
}

/** Bytes in MiB, one decimal. */
function mib(bytes) {
  return `${(bytes / MIB).toFixed(1)} MiB`
}

module.exports = { describe, hex, tail, indent, mib, MIB }
