'use strict'
// index.d.ts stays honest: correct usage compiles, wrong usage does not, and
// the error codes it declares are the ones the library has.
const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')
const { execFile } = require('node:child_process')
const ts = require('typescript')
const rpc = require('..')

const tsc = require.resolve('typescript/bin/tsc')
const dir = path.join(__dirname, 'types')

function compile(args) {
  return new Promise((resolve) => {
    execFile(process.execPath, [tsc, ...args], { cwd: dir, timeout: 120000 }, (err, stdout, stderr) =>
      resolve({ code: err ? err.code : 0, output: stdout + stderr })
    )
  })
}

test('the typings accept every documented form (tsc --noEmit)', async () => {
  const { code, output } = await compile(['-p', 'tsconfig.json'])
  assert.equal(code, 0, output)
})

test('the typings reject every line of wrong.ts marked @ts-expect-error', async () => {
  // tsc reports "Unused '@ts-expect-error' directive" for a marked line that compiles.
  const marked = fs.readFileSync(path.join(dir, 'wrong.ts'), 'utf8').match(/^\s*\/\/ @ts-expect-error/gm)
  assert.ok(marked && marked.length >= 30, `wrong.ts should hold its marked lines, found ${marked && marked.length}`)
  const { code, output } = await compile(['-p', 'tsconfig.wrong.json'])
  assert.equal(code, 0, output)
})

let typings
/** index.d.ts as the compiler reads it: its checker and its exports. */
function loadTypings() {
  if (typings) return typings
  const file = path.join(__dirname, '..', 'index.d.ts')
  const program = ts.createProgram([file], {
    strict: true,
    noEmit: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    types: ['node'],
  })
  const checker = program.getTypeChecker()
  typings = { checker, exported: checker.getExportsOfModule(checker.getSymbolAtLocation(program.getSourceFile(file))) }
  return typings
}

/** The string literal types of an exported type or const of index.d.ts, as tsc sees them. */
function declared(name) {
  const { checker, exported } = loadTypings()
  const symbol = exported.find((s) => s.name === name)
  assert.ok(symbol, `index.d.ts exports ${name}`)
  if (symbol.flags & ts.SymbolFlags.TypeAlias) {
    const type = checker.getDeclaredTypeOfSymbol(symbol)
    return (type.isUnion() ? type.types : [type]).map((t) => t.value).sort()
  }
  const props = checker.getPropertiesOfType(checker.getTypeOfSymbol(symbol))
  return Object.fromEntries(props.map((p) => [p.name, checker.getTypeOfSymbol(p).value]))
}

test('the ErrorCode type lists exactly the codes in rpc.codes', () => {
  assert.deepEqual(declared('ErrorCode'), Object.values(rpc.codes).sort())
})

test('the declared codes object matches rpc.codes key for key', () => {
  assert.deepEqual(declared('codes'), { ...rpc.codes })
})
