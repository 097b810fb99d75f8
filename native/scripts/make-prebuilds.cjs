// `npm run prebuilds -w @ipnbus/native` (also run by `prepack`): compiles the
// addon against Node-API (NAPI_VERSION in binding.gyp, no Node ABI, so one
// binary serves every Node >= 20) and writes it where node-gyp-build looks:
// prebuilds/linux-<arch>/ipnbus_native.napi.glibc.node, for linux-x64 (this
// machine's compiler) and linux-arm64 (Debian's cross compiler,
// g++-aarch64-linux-gnu; skipped, saying so, when it is not installed).
// Each build happens in a temporary copy of the sources, so the checkout's
// build/ (which processes may be loading) is left alone. Not committed:
// made when packing.
'use strict';
const { spawnSync } = require('node:child_process');
const { cpSync, copyFileSync, mkdirSync, mkdtempSync, rmSync, statSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { dirname, join } = require('node:path');
const { missingTools, nodeGypArgs, which } = require('./toolchain.cjs');

const dir = join(__dirname, '..');
if (process.platform !== 'linux' || process.arch !== 'x64') {
  console.error(`prebuilds: made on linux-x64 only, not ${process.platform}-${process.arch}`);
  process.exit(1);
}
const missing = missingTools();
if (missing.length > 0) {
  console.error(`prebuilds: cannot compile, missing: ${missing.join(', ')}`);
  process.exit(1);
}

/** Targets: node-gyp's --arch, and the GNU tool prefix ('' = this machine's). */
const TARGETS = [
  { arch: 'x64', prefix: '' },
  { arch: 'arm64', prefix: 'aarch64-linux-gnu-' },
];

function build({ arch, prefix }) {
  const out = join(dir, 'prebuilds', `linux-${arch}`);
  rmSync(out, { recursive: true, force: true });
  if (prefix && !which(`${prefix}g++`)) {
    console.log(`prebuilds: skipping linux-${arch}: ${prefix}g++ not found (Debian: apt-get install g++-${prefix.slice(0, -1)})`);
    return;
  }
  const work = mkdtempSync(join(tmpdir(), `ipnbus-prebuild-${arch}-`));
  try {
    for (const part of ['binding.gyp', 'package.json', 'src', 'include']) cpSync(join(dir, part), join(work, part), { recursive: true });
    // binding.gyp asks node for node-addon-api's include dir: let it resolve from the copy.
    const addonApi = dirname(dirname(require.resolve('node-addon-api/package.json', { paths: [dir] })));
    const env = { ...process.env, NODE_PATH: addonApi };
    if (prefix) Object.assign(env, { CC: `${prefix}gcc`, CXX: `${prefix}g++`, LINK: `${prefix}g++`, AR: `${prefix}ar` });
    const r = spawnSync(process.execPath, [...nodeGypArgs(dir, 'rebuild'), '--release', `--arch=${arch}`], { cwd: work, stdio: 'inherit', env });
    if (r.status !== 0) process.exit(r.status ?? 1);
    const built = join(work, 'build', 'Release', 'ipnbus_native.node');
    // Debug symbols are most of the file; the prebuild does not need them.
    if (which(`${prefix}strip`)) spawnSync(`${prefix}strip`, ['--strip-unneeded', built], { stdio: 'inherit' });
    mkdirSync(out, { recursive: true });
    // node-gyp-build tags: napi (any Node with this Node-API version), glibc
    // (not loaded on musl, where a glibc binary would fail).
    const target = join(out, 'ipnbus_native.napi.glibc.node');
    copyFileSync(built, target);
    console.log(`prebuilds: wrote ${target} (${statSync(target).size} bytes)`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

for (const t of TARGETS) build(t);
