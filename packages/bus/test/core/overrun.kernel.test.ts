// Kernel backend only (the user backend loses no events): a member whose
// receive queue overflowed with membership events is told so by the kernel
// (IPN_EVENT_OVERRUN) and rebuilds its view from the bus directory, with
// the real pid of a member whose JOIN was lost (the transport re-reads
// /proc/net/ipn).
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { freshBus } from './helpers/bus.js';
import { Member } from './helpers/member.js';
import { until } from './helpers/until.js';
import { connect } from '../../src/core/index.js';

const CHURN = fileURLToPath(new URL('../../../../kernel/test/bin/ipn_limits', import.meta.url));
const CORE = fileURLToPath(new URL('../../dist/core/index.js', import.meta.url));
// The transport asks for an 8 MiB SO_RCVBUF (16 MiB of queue as root); an
// event takes ~770 bytes of it and each cycle makes two: 15,000 cycles
// overflow it.
const CYCLES = 15_000;

const bus = freshBus('overrun');
afterAll(() => bus.cleanup());

describe('membership overrun (kernel backend)', () => {
  it('a JOIN and a LEAVE lost in an event flood are recovered from the bus directory, with the pid', async () => {
    const me = await connect({ address: bus.address, backend: 'kernel' });
    const b = await Member.start(bus.address);
    const joinerFile = join(bus.path, 'joiner');
    let joinerPid = 0;
    try {
      await until(() => me.listNames().includes(b.uniqueName), 30_000, 'b known');
      // Our event loop is blocked while this runs, so nothing is read: the
      // churn fills our queue, then c joins (its JOIN finds the queue full),
      // then b is killed and its LEAVE finds it full too. c is started from
      // the script (a test member needs our event loop for its IPC) and
      // writes "<unique name> <pid>" once connected.
      const joiner = `const { connect } = await import(process.argv[1]);
        const c = await connect({ address: process.argv[2], backend: 'kernel' });
        require('node:fs').writeFileSync(process.argv[3], c.uniqueName + ' ' + process.pid);
        setInterval(() => {}, 60_000);`;
      const script = `"$0" --churn "$1" ${CYCLES} &&
        { node --input-type=commonjs -e "(async () => { $2 })()" "$3" "$4" "$5" & } &&
        until [ -s "$5" ]; do sleep 0.01; done && kill -9 ${b.pid} &&
        until grep -q ') Z' /proc/${b.pid}/stat; do sleep 0.01; done`;
      execFileSync('bash', ['-c', script, CHURN, join(bus.path, 'bus'), joiner, CORE, bus.address, joinerFile], { stdio: 'inherit' });
      const [joinerName, pid] = readFileSync(joinerFile, 'utf8').split(' ');
      joinerPid = Number(pid);
      const lost = new Promise<number>((resolve) => me.network.once('overrun', resolve));
      expect(await lost).toBeGreaterThan(0);
      expect(me.listNames()).toContain(b.uniqueName);
      await until(() => !me.listNames().includes(b.uniqueName), 30_000, 'b dropped after the rescan');
      expect(me.listNames()).toContain(joinerName);
      // Its pid, as the bus driver reports it (GetConnectionUnixProcessID).
      expect(me.getCredentials(joinerName!)?.pid).toBe(joinerPid);
    } finally {
      if (joinerPid > 0) process.kill(joinerPid, 'SIGKILL');
      await b.exited;
      me.disconnect();
    }
  });
});
