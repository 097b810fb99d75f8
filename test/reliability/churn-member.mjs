// A bus member process for the churn test: joins and leaves on command
// (several times in one process), answers Echo and calls other members.
// Driven by the test over IPC; runs the compiled core (dist/).
import { connect } from '../../packages/bus/dist/core/index.js';
import { serveOps } from './helpers/serve-ops.mjs';

const backend = process.env.IPNBUS_TEST_BACKEND || 'user';
const address = process.env.IPNBUS_ADDRESS;
const IFACE = 'org.example.Churn';
let conn = null;

function serve(c) {
  c.on('methodCall', (call) => {
    if (call.msg.interface === IFACE && call.msg.member === 'Echo') c.reply(call.msg, call.msg.signature, call.msg.body);
    else c.replyError(call.msg, 'org.freedesktop.DBus.Error.UnknownMethod', `no ${call.msg.member}`);
  });
}

const ops = {
  rss: () => process.memoryUsage().rss,
  /** Connects (after leaving, if connected) and serves Echo; returns the unique name. */
  join: async () => {
    conn?.disconnect();
    conn = await connect({ address, backend });
    serve(conn);
    return conn.uniqueName;
  },
  /** Leaves and at once joins again: the leave and the join reach the others together. */
  rejoin: async () => ops.join(),
  leave: () => {
    conn?.disconnect();
    conn = null;
  },
  /** Calls Echo on `name`; resolves with the time it took in ms. */
  echo: async (name, timeoutMs) => {
    const t0 = performance.now();
    const { reply } = await conn.call({ destination: name, path: '/', interface: IFACE, member: 'Echo', signature: 's',
      body: [`hi from ${conn.uniqueName}`] }, { timeoutMs });
    if (reply.body[0] !== `hi from ${conn.uniqueName}`) throw new Error(`wrong echo ${String(reply.body[0])}`);
    return performance.now() - t0;
  },
};

serveOps(ops);
