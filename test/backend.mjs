// The backend every suite and member script runs on, read once from the
// environment: IPNBUS_TEST_BACKEND=user (default, the host) or kernel (the
// VM, ipn.ko loaded; scripts/test-kernel.sh). Plain JavaScript so that the
// member scripts node runs directly can import it as the tests do.
//
// IPNBUS_TEST_SCALE scales message counts and rounds: 1 on the user
// backend, 0.05 on the kernel one by default (Node runs 5-10x slower under
// the VM's TCG emulation).

/** @returns {'user' | 'kernel'} */
function parseBackend(value) {
  if (value === undefined || value === '' || value === 'user') return 'user';
  if (value === 'kernel') return 'kernel';
  throw new Error(`IPNBUS_TEST_BACKEND must be 'user' or 'kernel', got '${value}'`);
}

/** @returns {number} */
function parseScale(value, backend) {
  if (value === undefined || value === '') return backend === 'kernel' ? 0.05 : 1;
  const n = Number(value);
  if (!(n > 0)) throw new Error(`IPNBUS_TEST_SCALE must be a number > 0, got '${value}'`);
  return n;
}

/** @type {'user' | 'kernel'} */
export const BACKEND = parseBackend(process.env.IPNBUS_TEST_BACKEND);

/** True when the suite runs over AF_IPN in the VM. */
export const ON_KERNEL = BACKEND === 'kernel';

/** @type {number} */
export const SCALE = parseScale(process.env.IPNBUS_TEST_SCALE, BACKEND);

/**
 * `n` scaled by SCALE, at least `min`.
 * @param {number} n
 * @param {number} [min]
 * @returns {number}
 */
export function scaled(n, min = 1) {
  return Math.max(min, Math.round(n * SCALE));
}

/**
 * The value for the backend under test: `byBackend.kernel` in the VM,
 * `byBackend.user` on the host. For sizes that TCG cannot sustain (rates,
 * rounds), each stated beside the test rather than scaled blindly.
 * @template T
 * @param {{ user: T, kernel: T }} byBackend
 * @returns {T}
 */
export function perBackend(byBackend) {
  return byBackend[BACKEND];
}

/**
 * IPNBUS_TEST_TIMEOUT_SCALE (test:kernel:debug --node-only sets 3: its
 * KASAN kernel checks every memory access): vitest.kernel.config.ts scales
 * the default timeouts by it, and a test that sets its own uses timeout().
 * @type {number}
 */
export const TIMEOUT_SCALE = Number(process.env.IPNBUS_TEST_TIMEOUT_SCALE ?? '1') || 1;

/**
 * A test's own timeout, scaled by TIMEOUT_SCALE.
 * @param {number} ms
 * @returns {number}
 */
export function timeout(ms) {
  return ms * TIMEOUT_SCALE;
}
