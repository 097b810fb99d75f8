// A bus member process for the stalled-reader test: a publisher at a fixed
// rate, a subscriber that counts what it gets and the losses the bus
// reports to it, and a callee. Driven by the test over IPC; runs the
// compiled core (dist/).
import { connect } from '../../packages/bus/dist/core/index.js';
import { serveOps } from './helpers/serve-ops.mjs';
import { BACKEND as backend } from '../backend.mjs';

const IFACE = 'org.example.Stall';
let received = 0;
let lost = 0;
/** The number of the last Tick received (they are numbered from 0). */
let lastSeq = -1;
const conn = await connect({ address: process.env.IPNBUS_ADDRESS, backend });
// The connection reports what the transport lost for it, with the count.
conn.on('dropped', (count) => {
  lost += count;
});
conn.on('message', (msg) => {
  if (msg.interface === IFACE && msg.member === 'Tick') {
    received++;
    lastSeq = msg.body[0];
  }
});
conn.on('methodCall', (call) => conn.reply(call.msg, 's', ['pong']));

let sent = 0;
let timer = null;

const ops = {
  subscribe: () => conn.addMatch(`type='signal',interface='${IFACE}',member='Tick'`),
  counts: () => ({ received, lost, lastSeq, sent, rss: process.memoryUsage().rss }),
  /** Bytes the transport holds for receivers that are full (user backend statistic). */
  waiting: () => conn.network.waitingBytes ?? 0,
  /**
   * Emits `perSecond` Tick signals with a body of `size` bytes, in slices
   * every 10 ms. A publisher starved of CPU catches up at most 250 ms of
   * signals in one go: under TCG at load 15 a schedule kept from the start
   * made it emit seconds of 48 KiB signals in one turn, which starved the
   * subscribers in turn (an IPC question took 25 s, then minutes).
   */
  publish: (perSecond, size) => {
    const text = 'x'.repeat(size);
    let owed = 0;
    let last = performance.now();
    timer = setInterval(() => {
      const now = performance.now();
      owed = Math.min(owed + ((now - last) / 1000) * perSecond, Math.max(1, perSecond / 4));
      last = now;
      for (; owed >= 1; owed--) conn.emitSignal('/org/example/Stall', IFACE, 'Tick', 'us', [sent++, text]);
    }, 10);
  },
  stopPublishing: () => {
    clearInterval(timer);
    return sent;
  },
  /** One more Tick: a loss is reported on the next message after it, so the last loss needs one. */
  publishOne: (size) => {
    conn.emitSignal('/org/example/Stall', IFACE, 'Tick', 'us', [sent++, 'x'.repeat(size)]);
    return sent;
  },
  /** A method call to `name`; resolves with its round-trip time in ms. */
  ping: async (name) => {
    const t0 = performance.now();
    await conn.call({ destination: name, path: '/', interface: IFACE, member: 'Ping' }, { timeoutMs: 30_000 });
    return performance.now() - t0;
  },
};

serveOps(ops, { uniqueName: conn.uniqueName });
