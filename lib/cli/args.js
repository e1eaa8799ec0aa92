'use strict'
// Command-line parsing shared by every subcommand: `--name value`,
// `--name=value`, boolean `--flag`, `-h`/`--help`, and `--` to end options.
// Anything else (including `-1`, which is a number argument) is positional.

/** A mistake in how the command was called: exit status 2. */
class UsageError extends Error {
  constructor(message) {
    super(message)
    this.name = 'UsageError'
  }
}

/**
 * @param {string[]} argv the arguments after the subcommand's name
 * @param {Record<string, {type: 'string'|'number'|'integer'|'boolean', default?: any, min?: number}>} spec
 * @returns {{ options: Record<string, any>, positionals: string[] }}
 */
function parse(argv, spec) {
  const options = {}
  for (const [name, s] of Object.entries(spec)) if (s.default !== undefined) options[name] = s.default
  const positionals = []
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]
    if (arg === '--') {
      positionals.push(...argv.slice(i + 1))
      break
    }
    if (arg === '-h' || arg === '--help') {
      options.help = true
      continue
    }
    if (!/^--[a-z]/.test(arg)) {
      positionals.push(arg)
      continue
    }
    const eq = arg.indexOf('=')
    const name = arg.slice(2, eq === -1 ? undefined : eq)
    const s = Object.hasOwn(spec, name) ? spec[name] : undefined
    if (!s) throw new UsageError(`unknown option --${name}`)
    if (s.type === 'boolean') {
      if (eq !== -1) throw new UsageError(`--${name} takes no value`)
      options[name] = true
      continue
    }
    let value
    if (eq !== -1) value = arg.slice(eq + 1)
    else if (i + 1 < argv.length) value = argv[++i]
    else throw new UsageError(`--${name} needs a value`)
    options[name] = convert(name, s, value)
  }
  return { options, positionals }
}

function convert(name, s, value) {
  if (s.type === 'string') return value
  const n = Number(value)
  const ok = value.trim() !== '' && Number.isFinite(n) && (s.type !== 'integer' || Number.isInteger(n))
  if (!ok || (s.min !== undefined && n < s.min)) {
    const what = s.type === 'integer' ? 'an integer' : 'a number'
    throw new UsageError(`--${name} must be ${what}${s.min !== undefined ? ` ≥ ${s.min}` : ''}, got ${JSON.stringify(value)}`)
  }
  return n
}

module.exports = { parse, UsageError }
