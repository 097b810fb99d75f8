// A bus member in its own process, driven by the test over IPC; runs the compiled core (dist/).
import { spawn } from 'node:child_process';
import { openSync, readSync, closeSync, writeFileSync, readdirSync, readlinkSync } from 'node:fs';
import { connect, DBusError } from '../../../dist/core/index.js';
import { encodeMessage } from '../../../dist/wire/index.js';
import { BACKEND as backend } from '../../../../../test/backend.mjs';

const conn = await connect({ address: process.env.IPNBUS_ADDRESS, backend });
/** Connections opened by connectAgain. */
const extras = [];

function send(m) {
  if (process.connected) process.send(m);
}

function errOut(e) {
  return { name: e?.name ?? 'Error', message: e?.message ?? String(e), dbus: e instanceof DBusError };
}

// Every delivered message goes to the test, which asserts on them.
conn.on('message', (msg, fds) => send({ type: 'message', msg, fds: fds.length }));

/** Methods this member serves once 'serve' is called (interface org.example.Test). */
const handlers = {
  Echo: (call) => conn.reply(call.msg, call.msg.signature, call.msg.body),
  Fail: (call) => conn.replyError(call.msg, 'org.example.Error.Failed', 'it failed on purpose'),
  Slow: (call) => setTimeout(() => conn.reply(call.msg, 's', ['late']), call.msg.body[0]),
  Never: () => {},
  Die: () => process.kill(process.pid, 'SIGKILL'),
  WhoAmI: (call) => conn.reply(call.msg, 's', [call.msg.sender ?? '']),
  ReadFd: (call) => {
    const buf = Buffer.alloc(256);
    const n = readSync(call.fds[0], buf, 0, 256, 0);
    for (const fd of call.fds) closeSync(fd);
    conn.reply(call.msg, 's', [buf.subarray(0, n).toString('utf8')]);
  },
  GiveFd: (call) => {
    const path = call.msg.body[0];
    writeFileSync(path, 'from the callee');
    const fd = openSync(path, 'r');
    conn.reply(call.msg, 'h', [0], [fd]);
    closeSync(fd);
  },
};

const ops = {
  info: () => ({ uniqueName: conn.uniqueName, busId: conn.busId, pid: process.pid }),
  requestName: (name, flags) => conn.requestName(name, flags),
  releaseName: (name) => conn.releaseName(name),
  addMatch: (rule) => conn.addMatch(rule),
  removeMatch: (rule) => conn.removeMatch(rule),
  listNames: () => conn.listNames(),
  getNameOwner: (name) => conn.getNameOwner(name) ?? null,
  stats: () => ({ ...conn.stats }),
  call: async (msg, opts) => {
    const { reply, fds } = await conn.call(msg, opts);
    for (const fd of fds) closeSync(fd);
    return { reply, fds: fds.length };
  },
  emit: (path, iface, member, sig, body) => conn.emitSignal(path, iface, member, sig, body),
  send: (msg) => conn.send(msg),
  /** A hostile member's broadcast: straight to the transport, no bloom (as core's name records go). */
  rawBroadcast: (msg) => {
    conn.network.broadcast(encodeMessage({ flags: 0, serial: 1, sender: conn.uniqueName, ...msg }));
    conn.network.flushPending();
  },
  serve: () => {
    conn.on('methodCall', (call) => {
      const h = call.msg.interface === 'org.example.Test' ? handlers[call.msg.member] : undefined;
      if (h) h(call);
      else conn.replyError(call.msg, 'org.freedesktop.DBus.Error.UnknownMethod', `no ${call.msg.member}`);
    });
  },
  /** Emits `count` signals member=Tick with body [index, seq], as fast as the transport takes them. */
  burst: (index, count) => {
    for (let i = 0; i < count; i++) conn.emitSignal('/org/example/Burst', 'org.example.Burst', 'Tick', 'uu', [index, i]);
    return count;
  },
  /** Waits until every member holds our current match-rule filter (Connection.settle). */
  settle: () => conn.settle(),
  disconnect: () => conn.disconnect(),
  /** This process's clock, answered at once: an IPC round trip shows whether our event loop is free. */
  now: () => Date.now(),
  /** Opens one more connection from this process (as a gateway does per client); resolves with when it was made. */
  connectAgain: async () => {
    const extra = await connect({ address: process.env.IPNBUS_ADDRESS, backend });
    extras.push(extra);
    return { uniqueName: extra.uniqueName, connectedAt: Date.now() };
  },
  /** Hosts a client on this member (as a gateway does): its unique name; it serves Echo and records what it gets. */
  host: (creds) => {
    const h = conn.host(creds);
    extras.push(h);
    h.on('message', (msg, fds) => send({ type: 'message', msg, fds: fds.length, to: h.uniqueName }));
    h.on('methodCall', (call) => h.reply(call.msg, call.msg.signature, call.msg.body));
    return h.uniqueName;
  },
  /** RequestName for the hosted client `name`. */
  hostedRequestName: (name, wellKnown, flags) => extras.find((h) => h.uniqueName === name).requestName(wellKnown, flags ?? 0),
  exit: () => setImmediate(() => process.exit(0)),
  /**
   * Starts a process that shares this member's lock files (live and owner
   * locks: the open files under the bus directory, not its sockets) and
   * outlives it: its pid. Killing this member then shows what every
   * member's exit shows for a moment, the sockets hung up while the locks
   * are still held (the kernel closes a dying process's files one by one).
   */
  shareLocks: () => {
    const dir = process.env.IPNBUS_ADDRESS.replace(/^ipnbus:path=/, '');
    const fds = readdirSync('/proc/self/fd')
      .map(Number)
      .filter((fd) => {
        try {
          const target = readlinkSync(`/proc/self/fd/${fd}`);
          return target.startsWith(dir + '/') && /\/(live|names)\//.test(target);
        } catch {
          return false;
        }
      });
    if (fds.length === 0) throw new Error(`no lock files of ${dir} open`);
    const holder = spawn('sleep', ['600'], { stdio: ['ignore', 'ignore', 'ignore', ...fds], detached: true });
    holder.unref();
    return { pid: holder.pid, fds: fds.length };
  },
};

process.on('message', async ({ id, op, args }) => {
  try {
    const result = await ops[op](...(args ?? []));
    send({ type: 'result', id, ok: true, result: result ?? null });
  } catch (e) {
    send({ type: 'result', id, ok: false, error: errOut(e) });
  }
});
process.on('disconnect', () => process.exit(0));
send({ type: 'ready', ...ops.info() });
