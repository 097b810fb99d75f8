// A fresh bus directory per test file, and the backend under test.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BACKEND } from '../../../../../test/backend.mjs';

/** 'user' by default; the kernel VM runs the suite with IPNBUS_TEST_BACKEND=kernel. */
export { BACKEND };
export { timeout } from '../../../../../test/backend.mjs';

export interface TestBus {
  address: string;
  path: string;
  cleanup(): void;
}

export function freshBus(label: string): TestBus {
  const base = mkdtempSync(join(tmpdir(), `ipnbus-core-${label}-`));
  const path = join(base, 'bus');
  return {
    address: `ipnbus:path=${path}`,
    path,
    cleanup: () => rmSync(base, { recursive: true, force: true }),
  };
}
