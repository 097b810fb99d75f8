// `npm run test:unit`: each package's unit tests, the ones that run in this
// process alone (no member processes, no bus, no stock tools), in seconds.
// Everything else is an integration suite (`npm run test:integration`);
// `npm test` runs both (vitest.config.ts). A new test file that starts a
// process or a bus goes in the integration suites, not in this list.
import { defineConfig } from 'vitest/config';

export const UNIT_TESTS = [
  'packages/bus/test/wire/{compat-dbus-next,frame-reader,malformed,roundtrip,signature-names}.test.ts',
  'packages/bus/test/core/{activation-files,address,bloom,match-rule,match-set,name-state,proxied-credentials,unique-name}.test.ts',
  'packages/bus/test/api/{pure,properties}.test.ts',
  'packages/bus/test/gateway/sasl.test.ts',
  'packages/transport-ipn/test/{bpf,native}.test.ts',
];

export default defineConfig({
  test: {
    include: UNIT_TESTS,
    testTimeout: 60_000,
    pool: 'forks',
  },
});
