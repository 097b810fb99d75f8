// A bus member process for the churn test: joins and leaves on command
// (several times in one process), answers Echo and calls other members.
// Driven by the test over IPC; runs the compiled core (dist/).
import { connect } from '../../packages/bus/dist/core/index.js';
import { serveOps } from './helpers/serve-ops.mjs';
import { BACKEND as backend } from '../backend.mjs';

const address = process.env.IPNBUS_ADDRESS;
const IFACE = 'org.example.Churn';
let conn = null;
/** What the connection's 'rejected' events said: datagrams refused from a broken or hostile peer. */
const rejections = [];
/** Senders of the Note signals received, as the bus stamped them. */
const notes = [];

function serve(c) {
  c.on('methodCall', (call) => {
    if (call.msg.interface === IFACE && call.msg.member === 'Echo') c.reply(call.msg, call.msg.signature, call.msg.body);
    else c.replyError(call.msg, 'org.freedesktop.DBus.Error.UnknownMethod', `no ${call.msg.member}`);
  });
}

const ops = {
  rss: () => process.memoryUsage().rss,
  rejections: () => rejections,
  notes: () => notes,
  /** Connects (after leaving, if connected) and serves Echo; returns the unique name. */
  join: async () => {
    conn?.disconnect();
    conn = await connect({ address, backend });
    conn.on('rejected', (r) => rejections.push(r));
    conn.on('message', (msg) => {
      if (msg.interface === IFACE && msg.member === 'Note') notes.push(msg.sender);
    });
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
