// `npm run prebuilds -w @ipnbus/native` (also run by `prepack`): compiles the
// addon against Node-API (NAPI_VERSION in binding.gyp, no Node ABI, so one
// binary serves every Node >= 20) and writes it where node-gyp-build looks:
// prebuilds/linux-x64/ipnbus_native.napi.glibc.node. The build happens in a
// temporary copy of the sources, so the checkout's build/ (which processes
// may be loading) is left alone. Not committed: made when packing.
'use strict';
const { spawnSync } = require('node:child_process');
const { cpSync, copyFileSync, mkdirSync, mkdtempSync, rmSync, statSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { dirname, join } = require('node:path');
const { missingTools, nodeGypArgs, which } = require('./toolchain.cjs');

const dir = join(__dirname, '..');
if (process.platform !== 'linux') {
  console.error(`prebuilds: only linux is supported, not ${process.platform}`);
  process.exit(1);
}
const missing = missingTools();
if (missing.length > 0) {
  console.error(`prebuilds: cannot compile, missing: ${missing.join(', ')}`);
  process.exit(1);
}
const work = mkdtempSync(join(tmpdir(), 'ipnbus-prebuild-'));
try {
  for (const part of ['binding.gyp', 'package.json', 'src', 'include']) cpSync(join(dir, part), join(work, part), { recursive: true });
  // binding.gyp asks node for node-addon-api's include dir: let it resolve from the copy.
  const addonApi = dirname(dirname(require.resolve('node-addon-api/package.json', { paths: [dir] })));
  const env = { ...process.env, NODE_PATH: addonApi };
  const r = spawnSync(process.execPath, [...nodeGypArgs(dir, 'rebuild'), '--release'], { cwd: work, stdio: 'inherit', env });
  if (r.status !== 0) process.exit(r.status ?? 1);
  const built = join(work, 'build', 'Release', 'ipnbus_native.node');
  // Debug symbols are most of the file; the prebuild does not need them.
  if (which('strip')) spawnSync('strip', ['--strip-unneeded', built], { stdio: 'inherit' });
  const out = join(dir, 'prebuilds', `${process.platform}-${process.arch}`);
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  // node-gyp-build tags: napi (any Node with this Node-API version), glibc
  // (not loaded on musl, where a glibc binary would fail).
  const target = join(out, 'ipnbus_native.napi.glibc.node');
  copyFileSync(built, target);
  console.log(`prebuilds: wrote ${target} (${statSync(target).size} bytes)`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
