// Builds the Node-API addon in native/ with node-gyp, incrementally: the
// root `npm run build` (and postinstall, after native's own install step).
// In a checkout the local build always wins: node-gyp-build loads
// build/Release before prebuilds/ (which `npm pack` makes), so the build is
// never skipped, or an edit of src/ would be ignored.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const nativeDir = join(root, 'native');

if (!existsSync(join(nativeDir, 'binding.gyp'))) {
  console.error('build-native: native/binding.gyp missing');
  process.exit(1);
}
const require = createRequire(import.meta.url);
const gyp = require.resolve('node-gyp/bin/node-gyp.js', { paths: [nativeDir, root] });
// The machines here cannot download Node's headers; the distribution's
// copy in /usr/include/node matches the installed node, so point node-gyp at
// it unless the caller chose a nodedir.
// Incremental when already configured: `rebuild` first deletes build/, and
// any process loading the addon meanwhile (a test run in another shell, a
// VM sharing the checkout) would find no binary.
const configured = existsSync(join(nativeDir, 'build', 'config.gypi')) && process.env.IPNBUS_NATIVE_REBUILD !== '1';
const args = [gyp, configured ? 'build' : 'rebuild'];
if (!process.env.npm_config_nodedir && existsSync('/usr/include/node/node_api.h')) args.push('--nodedir=/usr');
const result = spawnSync(process.execPath, args, { cwd: nativeDir, stdio: 'inherit' });
process.exit(result.status ?? 1);
