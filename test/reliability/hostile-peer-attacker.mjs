// A hostile same-uid process for the hostile-peer test: it connects to a
// member's mesh socket directly (no bus, no transport) and sends what an
// honest member never would. Driven by the test over IPC.
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fragmentBomb, header } from './helpers/datagram-header.mjs';
import { serveOps } from './helpers/serve-ops.mjs';

const require = createRequire(import.meta.url);
const native = require('@ipnbus/native');
const C = native.constants;
const dir = process.env.IPNBUS_NETWORK;

/** A whole datagram's header (message 7, one fragment). */
const whole = (kind, totalLen) => header(kind, 7, 0, 1, totalLen);

function send(fd, parts) {
  const r = native.sendmsg(fd, parts, C.AF_UNIX, null, null, C.MSG_DONTWAIT);
  if (r < 0) throw new Error(`sendmsg: ${r}`);
  return r;
}

/** Sends, waiting while the receiver's socket is full. */
async function sendAll(fd, parts) {
  for (;;) {
    const r = native.sendmsg(fd, parts, C.AF_UNIX, null, null, C.MSG_DONTWAIT);
    if (r >= 0) return r;
    if (r !== -C.EAGAIN) throw new Error(`sendmsg: ${r}`);
    await new Promise((res) => setTimeout(res, 1));
  }
}

let listenFd = -1;

const ops = {
  /** Listens on <id>.sock like a member, so that a hello claiming `id` checks out as ours. */
  listenAs: (id) => {
    listenFd = native.socket(C.AF_UNIX, C.SOCK_SEQPACKET, 0);
    native.bindUnix(listenFd, join(dir, `${id}.sock`));
    native.listen(listenFd, 16);
    return listenFd;
  },
  /** A fragment bomb on connection `fd` (fragmentBomb). */
  bomb: (fd, announced, sendBytes) => fragmentBomb((parts) => sendAll(fd, parts), announced, sendBytes),
  /** Connects to member `id`'s socket; returns the fd. */
  connect: (id) => {
    const fd = native.socket(C.AF_UNIX, C.SOCK_SEQPACKET, 0);
    if (native.connectUnix(fd, join(dir, `${id}.sock`)) < 0) throw new Error('connect would block');
    return fd;
  },
  /** A hello claiming to be member `claimed` (no filter). */
  hello: (fd, claimed) => {
    const body = Buffer.alloc(12);
    body.writeBigUInt64LE(BigInt(claimed), 0);
    body.writeUInt32LE(0xffffffff, 8);
    return send(fd, [whole(3, body.length), body]);
  },
  empty: (fd) => send(fd, [Buffer.alloc(0)]),
  /** A filter message whose count promises 1,000 masks and carries none. */
  truncatedFilter: (fd) => {
    const body = Buffer.alloc(4);
    body.writeUInt32LE(1000, 0);
    return send(fd, [whole(4, 16004), body]);
  },
  /** A hello cut short: 4 bytes where the id takes 8. */
  truncatedHello: (fd) => send(fd, [whole(3, 4), Buffer.alloc(4)]),
  /** Has the member hung up on us? (A hang-up reads as 0 bytes with the peer shut down.) */
  hungUp: (fd) => {
    const items = native.recvmmsg(fd, 16, 70000);
    return items.eof === true;
  },
};

serveOps(ops);
