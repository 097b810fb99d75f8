// `npm run test:integration`: the multi-process suites (members, buses,
// gateways, stock D-Bus tools, the CLI) on the host's user backend: what
// vitest.config.ts runs minus the unit tests (vitest.unit.config.ts).
import { defineConfig, mergeConfig } from 'vitest/config';
import base from './vitest.config.js';
import { UNIT_TESTS } from './vitest.unit.config.js';

export default mergeConfig(base, defineConfig({
  test: {
    exclude: [...(base.test?.exclude ?? []), ...UNIT_TESTS],
  },
}));
