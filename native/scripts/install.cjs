// npm's install step for @ipnbus/native: nothing to do when a prebuilt
// binary for this platform ships in prebuilds/ (linux-x64 and linux-arm64
// with glibc, Node-API: any Node >= 20); otherwise compile with node-gyp,
// after checking that the toolchain is there, so a missing compiler is one
// clear message instead of node-gyp's stack. IPNBUS_NATIVE_FROM_SOURCE=1
// compiles even when a prebuild matches.
'use strict';
const { spawnSync } = require('node:child_process');
const { existsSync } = require('node:fs');
const { join } = require('node:path');
const { missingTools, nodeGypArgs } = require('./toolchain.cjs');

const dir = join(__dirname, '..');

function prebuildFor() {
  try {
    // PREBUILDS_ONLY: ask node-gyp-build about prebuilds/, not a local build/.
    process.env.PREBUILDS_ONLY = '1';
    return require('node-gyp-build').resolve(dir);
  } catch {
    return null;
  } finally {
    delete process.env.PREBUILDS_ONLY;
  }
}

if (process.env.IPNBUS_NATIVE_FROM_SOURCE !== '1') {
  const prebuilt = prebuildFor();
  if (prebuilt) process.exit(0);
}
const missing = missingTools();
if (missing.length > 0) {
  process.stderr.write(
    `@ipnbus/native: no prebuilt binary matches ${process.platform}-${process.arch} ` +
      `(prebuilds ship for linux-x64 and linux-arm64 with glibc), so it must be compiled, and this is missing:\n` +
      missing.map((m) => `  - ${m}\n`).join('') +
      'Install them (Debian/Ubuntu: apt-get install python3 make g++) and run npm install again.\n',
  );
  process.exit(1);
}
// Incremental when already configured (a checkout being reinstalled):
// `rebuild` first deletes build/, under any process loading the addon.
const verb = existsSync(join(dir, 'build', 'config.gypi')) ? 'build' : 'rebuild';
const r = spawnSync(process.execPath, nodeGypArgs(dir, verb), { cwd: dir, stdio: 'inherit' });
process.exit(r.status ?? 1);
