// A bus member process for the many-rules test: adds thousands of match
// rules, counts the signals it gets, emits signals. Driven over IPC; runs
// the compiled core (dist/).
import { connect } from '../../packages/bus/dist/core/index.js';
import { serveOps } from './helpers/serve-ops.mjs';
import { BACKEND as backend } from '../backend.mjs';

const IFACE = 'org.example.Many';
const conn = await connect({ address: process.env.IPNBUS_ADDRESS, backend });
const got = new Set();
let other = 0;
conn.on('message', (msg) => {
  if (msg.interface !== IFACE) return;
  if (msg.member === 'Other') other++;
  else got.add(msg.member);
});

const ops = {
  /** Adds rules for Sig0 .. Sig<n-1>; resolves with the ms it took, once every member holds the filter. */
  addRules: async (n) => {
    const t0 = performance.now();
    for (let i = 0; i < n; i++) conn.addMatch(`type='signal',interface='${IFACE}',member='Sig${i}'`);
    await conn.settle(30_000);
    return performance.now() - t0;
  },
  subscribeOther: async () => {
    conn.addMatch(`type='signal',interface='${IFACE}',member='Other'`);
    await conn.settle();
  },
  got: () => ({ members: [...got], other }),
  emit: (members) => {
    for (const m of members) conn.emitSignal('/org/example/Many', IFACE, m, 's', ['x']);
  },
  /** Emits `count` Other signals, waiting for the transport when it pushes back; resolves with signals per second. */
  flood: async (count) => {
    const t0 = performance.now();
    for (let i = 0; i < count; i++) {
      conn.emitSignal('/org/example/Many', IFACE, 'Other', 's', ['x']);
      if (conn.backpressured) await new Promise((r) => conn.once('drain', r));
      if (i % 1000 === 999) await new Promise((r) => setImmediate(r));
    }
    return (count * 1000) / (performance.now() - t0);
  },
};

serveOps(ops, { uniqueName: conn.uniqueName });
