// The child side of test/reliability/proc.ts: answers each { id, op, args }
// message with { id, ok, result | error } from ops[op](...args), exits when
// the test goes away, and says { ready: true, ...ready } once.
export function serveOps(ops, ready = {}) {
  process.on('message', async ({ id, op, args }) => {
    try {
      process.send({ id, ok: true, result: (await ops[op](...(args ?? []))) ?? null });
    } catch (e) {
      process.send({ id, ok: false, error: `${e?.name ?? 'Error'}: ${e?.message ?? String(e)}` });
    }
  });
  process.on('disconnect', () => process.exit(0));
  process.send({ ready: true, ...ready });
}
