// Sequential short-lived stock clients: every `gdbus call` (process, connect, Hello, call, exit) succeeds.
import { describe, expect, it } from 'vitest';
import { run, until } from './helpers.js';
import { IFACE, PATH, SERVICE, servedBusPerFile } from './native-service.js';

/**
 * The 2,000 (CI's last run took 9.4 ms a call on 2 shared cores,
 * most of it gdbus's process start-up: about 20 s);
 * IPNBUS_CHURN_CALLS sets another count.
 */
const CALLS = Number(process.env.IPNBUS_CHURN_CALLS ?? 2000);


const served = servedBusPerFile();

describe('connection churn', () => {
  it(`${CALLS} sequential gdbus calls through the gateway, none failing`, async () => {
    const failures: string[] = [];
    const t0 = Date.now();
    for (let i = 0; i < CALLS; i++) {
      const r = await run('gdbus', ['call', '--address', served.bus.gw.address, '--dest', SERVICE, '--object-path', PATH, '--method', `${IFACE}.Echo`, `call ${i}`]);
      if (r.code !== 0 || r.stdout.trim() !== `('call ${i}',)`) failures.push(`#${i}: code ${r.code} ${r.stdout.trim()} ${r.stderr.trim()}`);
    }
    const ms = Date.now() - t0;
    console.log(`${CALLS} sequential gdbus calls: ${(ms / CALLS).toFixed(2)} ms each, ${failures.length} failures`);
    expect(failures).toEqual([]);
    // Every client left the bus: no hosted client is left behind, and the
    // gateway is still the one member it was.
    await until(() => served.bus.gw.clientCount === 0, 10_000, 'the clients to be gone');
    await until(() => served.svc.conn.listNames().filter((n) => n.startsWith(':')).length === 2, 10_000, 'their unique names to leave');
    expect(served.svc.conn.listNames().filter((n) => n.startsWith(':')).sort()).toEqual([served.svc.conn.uniqueName, served.bus.gw.connection.uniqueName].sort());
  }, 600_000);
});
