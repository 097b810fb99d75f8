// The one polling wait of the test suites (TypeScript tests and the member
// scripts node runs directly): for state that settles asynchronously,
// across processes or within one. Plain JavaScript, like backend.mjs.

/**
 * Resolves once `cond` holds, checking it every 10 ms; throws naming `what`
 * after `ms`.
 * @param {() => boolean | Promise<boolean>} cond
 * @param {number} [ms]
 * @param {string} [what]
 * @returns {Promise<void>}
 */
export async function until(cond, ms = 5000, what = 'a condition') {
  const deadline = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
