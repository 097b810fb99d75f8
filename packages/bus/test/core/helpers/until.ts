// The suites' one polling wait (test/until.mjs).
export { until } from '../../../../../test/until.mjs';
