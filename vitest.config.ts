// Test runner configuration: every package's tests plus the repo-level
// multi-process tests. Kernel-backend tests run inside the VM instead
// (scripts/test-kernel.sh), selected with IPNBUS_TEST_BACKEND=kernel; the
// packaging tests run after this suite (vitest.packaging.config.ts).
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['packages/*/test/**/*.test.ts', 'test/**/*.test.ts'],
    // *.kernel.test.ts need ipn.ko: they run in the VM only (vitest.kernel.config.ts).
    exclude: ['**/node_modules/**', '**/*.kernel.test.ts', 'test/packaging/**'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});
