// Builds the addon and copies it to prebuilds/<platform>-<arch>/ in the
// layout node-gyp-build looks for, so installs can skip the compiler.
'use strict';
const { spawnSync } = require('node:child_process');
const { copyFileSync, mkdirSync } = require('node:fs');
const { join } = require('node:path');

const dir = join(__dirname, '..');
const gyp = require.resolve('node-gyp/bin/node-gyp.js', { paths: [dir] });
const { existsSync } = require('node:fs');
// Use the installed node's headers when present: no download needed.
const args = [gyp, 'rebuild'];
if (!process.env.npm_config_nodedir && existsSync('/usr/include/node/node_api.h')) args.push('--nodedir=/usr');
const r = spawnSync(process.execPath, args, { cwd: dir, stdio: 'inherit' });
if (r.status !== 0) process.exit(r.status ?? 1);
const out = join(dir, 'prebuilds', `${process.platform}-${process.arch}`);
mkdirSync(out, { recursive: true });
// node-gyp-build matches "<name>.<tags>.node"; napi marks it ABI-stable.
copyFileSync(join(dir, 'build', 'Release', 'ipnbus_native.node'), join(out, 'ipnbus_native.napi.node'));
console.log(`prebuilds: wrote ${out}/ipnbus_native.napi.node`);
