'use strict'
// `npm run pack`: the tarballs a release publishes, written to pack/.
//
//   node scripts/pack.js              release build for this machine, stripped:
//                                     pack/msgpack-rpc-<v>.tgz + msgpack-rpc-<triple>-<v>.tgz
//   node scripts/pack.js --from DIR   no build: one platform tarball for every
//                                     msgpack-rpc.<triple>.node under DIR (the
//                                     release workflow's downloaded artifacts);
//                                     every npm/<triple> must have one, unless
//                                     --allow-missing (testing one platform)
//
// Platform packages are npm/<triple>/package.json plus the .node file, the
// README and the LICENSE, assembled in a scratch directory so the checkout
// never holds a copy of the binary outside .gitignore.

const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { execFileSync } = require('node:child_process')

const ROOT = path.join(__dirname, '..')
const OUT = path.join(ROOT, 'pack')
const manifest = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'))

function fail(message) {
  console.error(`pack: ${message}`)
  process.exit(1)
}

function run(cmd, args, cwd) {
  return execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] })
}

/** Every platform package agrees with the main package: version, and one per optional dependency. */
function checkPlatformPackages() {
  const dirs = fs.readdirSync(path.join(ROOT, 'npm'))
  const listed = Object.keys(manifest.optionalDependencies || {})
  for (const triple of dirs) {
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'npm', triple, 'package.json'), 'utf8'))
    if (pkg.name !== `${manifest.name}-${triple}`) fail(`npm/${triple}/package.json is named ${pkg.name}`)
    if (pkg.version !== manifest.version) fail(`${pkg.name} is at ${pkg.version}, the main package at ${manifest.version}`)
    if (manifest.optionalDependencies[pkg.name] !== manifest.version) fail(`optionalDependencies lacks ${pkg.name}@${manifest.version}`)
    if (pkg.main !== `${manifest.name}.${triple}.node`) fail(`${pkg.name}'s main is ${pkg.main}`)
  }
  for (const name of listed) {
    if (!dirs.includes(name.slice(manifest.name.length + 1))) fail(`optional dependency ${name} has no npm/ directory`)
  }
}

/** A manifest for a platform this repository does not publish (a from-source build). */
function manifestFor(triple) {
  const [platform, arch, abi] = triple.split('-')
  const file = `${manifest.name}.${triple}.node`
  return {
    name: `${manifest.name}-${triple}`,
    version: manifest.version,
    description: `The ${triple} native addon of msgpack-rpc, built from source`,
    main: file,
    files: [file],
    os: [platform],
    cpu: [arch],
    ...(abi === 'gnu' || abi === 'musl' ? { libc: [abi === 'gnu' ? 'glibc' : 'musl'] } : {}),
    license: manifest.license,
    engines: manifest.engines,
  }
}

function strip(file) {
  const args = process.platform === 'darwin' ? ['-x', file] : ['--strip-unneeded', file]
  try {
    run('strip', args)
  } catch (err) {
    console.warn(`pack: could not strip ${path.basename(file)} (${err.message.split('\n')[0]}); packing it as built`)
  }
}

/** npm pack in `dir`, into pack/; returns the tarball's path. */
function npmPack(dir) {
  const [info] = JSON.parse(run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', OUT], dir))
  return path.join(OUT, info.filename)
}

function packPlatform(addon, { stripIt }) {
  const triple = path.basename(addon).slice(manifest.name.length + 1, -'.node'.length)
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'msgpack-rpc-pack-'))
  try {
    const source = path.join(ROOT, 'npm', triple)
    if (fs.existsSync(source)) {
      fs.cpSync(source, scratch, { recursive: true })
    } else {
      console.warn(`pack: no npm/${triple}; writing a package.json for this from-source build`)
      fs.writeFileSync(path.join(scratch, 'package.json'), JSON.stringify(manifestFor(triple), null, 2) + '\n')
    }
    fs.copyFileSync(path.join(ROOT, 'LICENSE'), path.join(scratch, 'LICENSE'))
    const target = path.join(scratch, path.basename(addon))
    fs.copyFileSync(addon, target)
    if (stripIt) strip(target)
    const tarball = npmPack(scratch)
    console.log(`${path.basename(addon)}: ${(fs.statSync(target).size / 1e6).toFixed(2)} MB${stripIt ? ' (stripped)' : ''}`)
    return tarball
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true })
  }
}

function findAddons(dir) {
  const found = []
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name)
    if (entry.isDirectory()) found.push(...findAddons(p))
    else if (entry.name.startsWith(`${manifest.name}.`) && entry.name.endsWith('.node')) found.push(p)
  }
  return found
}

/** The addon `npm run build` just wrote for this machine (napi names it by triple). */
function builtAddon() {
  const prefix = `${manifest.name}.${process.platform}-${process.arch}`
  const candidates = fs
    .readdirSync(ROOT)
    .filter((f) => f.startsWith(prefix) && f.endsWith('.node'))
    .map((f) => path.join(ROOT, f))
    .sort((a, b) => fs.statSync(b).mtimeMs - fs.statSync(a).mtimeMs)
  if (!candidates.length) fail(`npm run build wrote no ${prefix}*.node`)
  return candidates[0]
}

/**
 * The main package, from a scratch copy whose package.json has no scripts or
 * devDependencies: `prepare` builds from source in a checkout only, yet npm
 * would list it among "install scripts" to every user.
 */
function mainPackage() {
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'msgpack-rpc-pack-'))
  try {
    const { scripts, devDependencies, ...published } = manifest
    fs.writeFileSync(path.join(scratch, 'package.json'), JSON.stringify(published, null, 2) + '\n')
    for (const f of [...manifest.files, 'README.md', 'LICENSE']) {
      fs.cpSync(path.join(ROOT, f), path.join(scratch, f), { recursive: true })
    }
    const tarball = npmPack(scratch)
    const listing = run('tar', ['tzf', tarball]).split('\n').filter(Boolean)
    const stray = listing.filter((f) => f.endsWith('.node') || f.startsWith('package/src/') || f.includes('/target/'))
    if (stray.length) fail(`the main package holds ${stray.join(', ')}`)
    return tarball
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true })
  }
}

function main() {
  const args = process.argv.slice(2)
  const fromIndex = args.indexOf('--from')
  checkPlatformPackages()
  fs.rmSync(OUT, { recursive: true, force: true })
  fs.mkdirSync(OUT)
  const tarballs = []
  if (fromIndex >= 0) {
    const dir = path.resolve(args[fromIndex + 1] || fail('--from needs a directory'))
    const addons = findAddons(dir)
    if (!addons.length) fail(`no ${manifest.name}.*.node under ${dir}`)
    const have = addons.map((a) => path.basename(a))
    const missing = fs.readdirSync(path.join(ROOT, 'npm')).filter((t) => !have.includes(`${manifest.name}.${t}.node`))
    // A release must not publish a main package whose optional dependency for some platform does not exist.
    if (missing.length && !args.includes('--allow-missing')) fail(`no addon under ${dir} for ${missing.join(', ')}`)
    // Release builds are stripped by cargo (CARGO_PROFILE_RELEASE_STRIP), and the host's strip cannot read other architectures.
    for (const addon of addons) tarballs.push(packPlatform(addon, { stripIt: false }))
  } else {
    execFileSync('npm', ['run', 'build'], { cwd: ROOT, stdio: 'inherit' })
    tarballs.push(packPlatform(builtAddon(), { stripIt: true }))
  }
  tarballs.unshift(mainPackage())
  for (const t of tarballs) console.log(`${path.relative(ROOT, t)}: ${(fs.statSync(t).size / 1e3).toFixed(0)} kB`)
}

main()
