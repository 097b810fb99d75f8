// A benchmark receiver process: hosts several members of one network (so 64
// members need not mean 64 Node processes on a 2-core machine) and reports to
// bench/transport.mjs over IPC when each member has received its share.
import { open } from '../../packages/transport-ipn/dist/index.js';

const nets = [];
let target = 0;
let done = 0;
let counts = [];
let echo = false;

process.on('message', async (cmd) => {
  if (cmd.op === 'open') {
    for (let i = 0; i < cmd.members; i++) {
      const net = await open(cmd.path, { backend: cmd.backend });
      const k = nets.length;
      net.on('message', (m) => {
        if (echo && k === 0 && !m.unicast) {
          net.send(m.from, m.bytes);
          return;
        }
        if (++counts[k] === target) {
          if (++done === nets.length) process.send({ op: 'done' });
        }
      });
      nets.push(net);
      counts.push(0);
    }
    process.send({ op: 'opened', ids: nets.map((n) => String(n.id)) });
  } else if (cmd.op === 'expect') {
    target = cmd.count;
    counts = counts.map(() => 0);
    done = 0;
    echo = cmd.echo === true;
    process.send({ op: 'ready' });
  } else if (cmd.op === 'close') {
    for (const n of nets) n.close();
    process.exit(0);
  }
});
process.on('disconnect', () => process.exit(0));
