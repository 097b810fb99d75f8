// A hostile same-uid process for the AF_IPN variant of the hostile-peer
// test: it joins the bus's AF_IPN network with a raw socket (no bus, no
// transport) and sends members what an honest one never would. The kernel
// stamps its real member id and pid on everything it sends. Driven by the
// test over IPC.
import { createRequire } from 'node:module';
import { encodeMessage } from '../../packages/bus/dist/wire/index.js';
import { fragmentBomb, header } from './helpers/datagram-header.mjs';
import { serveOps } from './helpers/serve-ops.mjs';

const require = createRequire(import.meta.url);
const native = require('@ipnbus/native');
const C = native.constants;
const family = native.ipnFamily();
const fd = native.socket(family, C.SOCK_RAW, C.IPN_ANY);
native.connectIpn(fd, family, process.env.IPNBUS_NETWORK);
// It reads (and ignores) what the members broadcast: a member that stops
// reading is another attack, the module's stall rule's business, not this test's.
const poller = new native.Poller();
poller.start(fd, true, false, () => {
  native.recvmmsg(fd, 64, 256 * 1024);
});

/** A unicast to member `to`; the network is lossy-or-lossless as the bus made it, so wait while the receiver is full. */
async function sendTo(to, parts) {
  for (;;) {
    const r = native.sendmsg(fd, parts, family, BigInt(to), null, C.MSG_DONTWAIT);
    if (r >= 0) return r;
    if (r !== -C.EAGAIN) throw new Error(`sendmsg: ${r}`);
    // The kernel said full: poll again after the receiver has read (no
    // condition to wait on from here but the socket's own readiness).
    await new Promise((res) => setImmediate(res));
  }
}

const ops = {
  /** Our member id as the kernel assigned it. */
  id: () => native.getsockoptU64(fd, C.SOL_IPN, C.IPN_SO_MEMBER_ID).toString(),
  empty: (to) => sendTo(to, [Buffer.alloc(0)]),
  garbage: (to) => sendTo(to, [Buffer.from('not an ipnbus datagram at all, just bytes')]),
  /** A user-backend hello over AF_IPN, claiming to be member `claimed`: a kind the kernel backend never takes. */
  hello: (to, claimed) => {
    const body = Buffer.alloc(12);
    body.writeBigUInt64LE(BigInt(claimed), 0);
    return sendTo(to, [header(3, 1, 0, 1, body.length), body]);
  },
  /** A batch whose record lengths overrun the datagram. */
  badBatch: (to) => {
    const body = Buffer.alloc(8);
    body.writeUInt32LE(1_000_000, 0);
    return sendTo(to, [header(5, 2, 0, 1, body.length), body]);
  },
  /** A first fragment announcing more than the D-Bus message limit. */
  oversized: (to, announced) => sendTo(to, [header(2, 3, 0, 4096, announced), Buffer.alloc(1024)]),
  /** A signal to member `to` (unique name `dest`) whose SENDER field claims `claimed`. */
  forgedSignal: (to, dest, claimed) => {
    const bytes = encodeMessage({ type: 4, flags: 0, serial: 1, sender: claimed, destination: dest,
      path: '/', interface: 'org.example.Churn', member: 'Note', signature: 's', body: ['from the impostor'] });
    return sendTo(to, [header(2, 4, 0, 1, bytes.length), bytes]);
  },
  /** A fragment bomb to member `to` (fragmentBomb), continuations past the announced length. */
  bomb: (to, announced, sendBytes) => fragmentBomb((parts) => sendTo(to, parts), announced, sendBytes),
};

serveOps(ops);
