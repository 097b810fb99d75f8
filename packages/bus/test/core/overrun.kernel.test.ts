// Kernel backend only (the user backend loses no events): a member whose
// receive queue overflowed with membership events is told so by the kernel
// (IPN_EVENT_OVERRUN) and rebuilds its view from the bus directory.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { freshBus } from './helpers/bus.js';
import { Member } from './helpers/member.js';
import { until } from './helpers/until.js';
import { connect } from '../../src/core/index.js';

const CHURN = fileURLToPath(new URL('../../../../kernel/test/bin/ipn_limits', import.meta.url));
// The transport asks for an 8 MiB SO_RCVBUF (16 MiB of queue as root); an
// event takes ~770 bytes of it and each cycle makes two: 15,000 cycles
// overflow it.
const CYCLES = 15_000;

const bus = freshBus('overrun');
afterAll(() => bus.cleanup());

describe('membership overrun (kernel backend)', () => {
  it('a LEAVE lost in an event flood is recovered from the bus directory', async () => {
    const me = await connect({ address: bus.address, backend: 'kernel' });
    const b = await Member.start(bus.address);
    try {
      await until(() => me.listNames().includes(b.uniqueName), 30_000, 'b known');
      // Our event loop is blocked while this runs, so nothing is read: the
      // churn fills our queue, then b is killed and its LEAVE finds it full.
      const script = `"$0" --churn "$1" ${CYCLES} && kill -9 ${b.pid} &&
        until grep -q ') Z' /proc/${b.pid}/stat; do sleep 0.01; done`;
      execFileSync('bash', ['-c', script, CHURN, join(bus.path, 'bus')], { stdio: 'inherit' });
      const lost = new Promise<number>((resolve) => me.network.once('overrun', resolve));
      expect(await lost).toBeGreaterThan(0);
      expect(me.listNames()).toContain(b.uniqueName);
      await until(() => !me.listNames().includes(b.uniqueName), 30_000, 'b dropped after the rescan');
    } finally {
      await b.exited;
      me.disconnect();
    }
  });
});
