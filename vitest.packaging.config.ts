// The packaging tests (test/packaging): a fresh clone with its own
// `npm install`, `npm pack` of the workspaces with their prebuilds, installs
// into scratch projects. Minutes of CPU: `npm test` runs them after the main
// suite, one file at a time, so they never starve its timing-sensitive tests.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/packaging/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 660_000,
    pool: 'forks',
    fileParallelism: false,
  },
});
