// @ipnbus/native compiles against its own copy of the AF_IPN uapi header
// (native/include/linux/ipn.h, shipped in the package); the kernel's
// (kernel/include/uapi/linux/ipn.h) is the source. They must be the same
// bytes: after editing the kernel's, copy it over.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { REPO_ROOT } from './fresh-clone.js';

it('native/include/linux/ipn.h equals kernel/include/uapi/linux/ipn.h', () => {
  const kernel = readFileSync(join(REPO_ROOT, 'kernel', 'include', 'uapi', 'linux', 'ipn.h'), 'utf8');
  const native = readFileSync(join(REPO_ROOT, 'native', 'include', 'linux', 'ipn.h'), 'utf8');
  expect(native, 'copy kernel/include/uapi/linux/ipn.h to native/include/linux/ipn.h').toBe(kernel);
});
