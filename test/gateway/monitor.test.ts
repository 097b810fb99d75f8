// Monitors (BecomeMonitor) see the unicasts between other members, as dbus-daemon's do: dbus-monitor and busctl monitor through the gateway, and native members.
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, closeSync, fstatSync, mkdtempSync, openSync, readSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeFds, connect, type Connection } from '../../packages/bus/src/core/index.js';
import { startGateway } from '../../packages/bus/src/gateway/index.js';
import { MessageType, type Message } from '../../packages/bus/src/wire/index.js';
import { BACKEND, perBackend } from '../backend.mjs';
import { GatewayProcess, run, startTestBus, until, Watched, type TestBus } from './helpers.js';
import { IFACE, PATH, SERVICE, startNativeService, type NativeService } from './native-service.js';

const MEMBER = fileURLToPath(new URL('./fixtures/monitor-member.mjs', import.meta.url));
const OTHER_UID = 65534;
const isRoot = process.getuid?.() === 0;

let bus: TestBus;
let svc: NativeService;
let caller: Connection;
let A: string;

beforeAll(async () => {
  bus = await startTestBus();
  // Other uids must reach the bus for the refusal tests to mean anything.
  chmodSync(bus.dir, 0o755);
  svc = await startNativeService(bus.busAddress);
  caller = await connect({ address: bus.busAddress, backend: BACKEND });
  A = bus.gw.address;
});

afterAll(async () => {
  caller?.disconnect();
  svc?.close();
  await bus?.close();
});

const re = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * The monitor's record went out before its BecomeMonitor reply; a member
 * has it once it has everything the monitor's member sent before: a sync
 * round trip from that member proves it (replies follow what came first).
 */
async function recordSeen(by: Connection): Promise<void> {
  await by.call({ destination: bus.gw.connection.uniqueName, path: '/', interface: 'org.freedesktop.DBus.Peer', member: 'Ping' });
}

/** A native member in its own process (monitor-member.mjs), optionally of another uid. */
class Child {
  readonly proc: ChildProcess;
  out = '';
  constructor(address: string, peer: string, uid?: number) {
    this.proc = spawn(process.execPath, [MEMBER, address, BACKEND, peer], {
      stdio: ['pipe', 'pipe', 'inherit'],
      ...(uid !== undefined ? { uid, gid: uid } : {}),
    });
    this.proc.stdout!.on('data', (d: Buffer) => (this.out += d.toString()));
  }

  async line(pattern: RegExp, timeoutMs = perBackend({ user: 10_000, kernel: 30_000 })): Promise<RegExpMatchArray> {
    await until(() => pattern.test(this.out), timeoutMs, `${pattern} from a member process (got: ${this.out})`);
    return this.out.match(pattern)!;
  }

  send(line: string): void {
    this.proc.stdin!.write(`${line}\n`);
  }

  stop(): Promise<void> {
    return new Promise((resolve) => {
      if (this.proc.exitCode !== null || this.proc.signalCode !== null) return resolve();
      this.proc.once('close', () => resolve());
      this.proc.kill('SIGKILL');
    });
  }
}

describe('monitors see unicasts between others', () => {
  it('dbus-monitor: a call, its reply, an error and a unicast signal between two native members, with their serials and senders', async () => {
    const mon = new Watched('dbus-monitor', ['--address', A]);
    try {
      await mon.waitFor(/member=NameLost/);
      await recordSeen(caller);
      await recordSeen(svc.conn);
      const c = re(caller.uniqueName);
      const s = re(svc.conn.uniqueName);
      await caller.call({ destination: SERVICE, path: PATH, interface: IFACE, member: 'Echo', signature: 's', body: ['watched'] }, { serial: 4242 });
      await mon.waitFor(new RegExp(`method call time=\\S+ sender=${c} -> destination=${re(SERVICE)} serial=4242 path=${re(PATH)}; interface=${re(IFACE)}; member=Echo\\n\\s+string "watched"`));
      await mon.waitFor(new RegExp(`method return time=\\S+ sender=${s} -> destination=${c} serial=\\d+ reply_serial=4242\\n\\s+string "watched"`));
      await expect(caller.call({ destination: SERVICE, path: PATH, interface: IFACE, member: 'Fail' }, { serial: 4243 })).rejects.toThrow();
      await mon.waitFor(new RegExp(`error time=\\S+ sender=${s} -> destination=${c} error_name=com\\.example\\.Error\\.Failed reply_serial=4243`));
      caller.send({ type: MessageType.SIGNAL, destination: svc.conn.uniqueName, path: PATH, interface: IFACE, member: 'Ping', signature: 's', body: ['just you'] });
      await mon.waitFor(new RegExp(`signal time=\\S+ sender=${c} -> destination=${s} serial=\\d+ path=${re(PATH)}; interface=${re(IFACE)}; member=Ping\\n\\s+string "just you"`));
    } finally {
      await mon.stop();
    }
  });

  it('busctl monitor: gdbus calling a native service, and one stock client calling another inside the gateway', async () => {
    const mon = new Watched('busctl', [`--address=${A}`, 'monitor', '--no-pager']);
    let peer: Watched | undefined;
    try {
      await mon.waitFor(/Monitoring bus message stream/);
      await recordSeen(svc.conn);
      const r = await run('gdbus', ['call', '--address', A, '--dest', SERVICE, '--object-path', PATH, '--method', `${IFACE}.Echo`, 'seen by busctl']);
      expect(r.stdout.trim()).toBe("('seen by busctl',)");
      const call = await mon.waitFor(/Type=method_call\s+Endian=l\s+Flags=0\s+Version=1\s+Cookie=(\d+)[^\n]*\n\s+Sender=(:\S+)\s+Destination=com\.example\.Native\s+Path=\/com\/example\/Native\s+Interface=com\.example\.Native\s+Member=Echo\n[^‣]*STRING "seen by busctl"/);
      const [, cookie, sender] = call;
      expect(sender).toMatch(/^:\d+\.\d+\.\d+$/);
      await mon.waitFor(new RegExp(`Type=method_return[^\\n]*ReplyCookie=${cookie}[^\\n]*\\n\\s+Sender=${re(svc.conn.uniqueName)}\\s+Destination=${re(sender!)}\\n[^‣]*STRING "seen by busctl"`));

      // A stock client that answers org.freedesktop.DBus.Peer (GDBus does, for any connection).
      await until(() => bus.gw.clientCount === 1, 5000, 'gdbus call to leave');
      const before = new Set(svc.conn.listNames());
      peer = new Watched('gdbus', ['monitor', '--address', A, '--dest', 'com.example.Nobody']);
      await peer.waitFor(/does not have an owner|is owned by/);
      await until(() => svc.conn.listNames().some((n) => !before.has(n)), 5000, 'the stock peer in the names');
      const stockPeer = svc.conn.listNames().find((n) => !before.has(n))!;
      const ping = await run('gdbus', ['call', '--address', A, '--dest', stockPeer, '--object-path', '/', '--method', 'org.freedesktop.DBus.Peer.Ping']);
      expect(ping.stdout.trim()).toBe('()');
      const p = await mon.waitFor(new RegExp(`Type=method_call[^\\n]*Cookie=(\\d+)[^\\n]*\\n\\s+Sender=(:\\S+)\\s+Destination=${re(stockPeer)}\\s+Path=/\\s+Interface=org\\.freedesktop\\.DBus\\.Peer\\s+Member=Ping`));
      await mon.waitFor(new RegExp(`Type=method_return[^\\n]*ReplyCookie=${p[1]}[^\\n]*\\n\\s+Sender=${re(stockPeer)}\\s+Destination=${re(p[2]!)}`));
    } finally {
      await peer?.stop();
      await mon.stop();
    }
  });

  it('dbus-monitor and a native monitor see calls and replies carrying unix fds, with their own copies of the fds', async () => {
    const mon = new Watched('dbus-monitor', ['--address', A]);
    const native = await connect({ address: bus.busAddress, backend: BACKEND });
    const dir = mkdtempSync(join(tmpdir(), 'ipnbus-mon-fd-'));
    try {
      const seen: Array<{ msg: Message; fds: number[] }> = [];
      native.on('message', (msg: Message, fds: number[]) => seen.push({ msg, fds }));
      for (const c of [caller, svc.conn]) await until(() => c.listNames().includes(native.uniqueName), 10_000, 'the native monitor to be known');
      native.becomeMonitor([`interface='${IFACE}'`, "type='method_return'"]);
      await mon.waitFor(/member=NameLost/);
      for (const c of [caller, svc.conn]) {
        await recordSeen(c);
        await c.call({ destination: native.uniqueName, path: '/', interface: 'org.freedesktop.DBus.Peer', member: 'Ping' });
      }
      const file = join(dir, 'passed');
      writeFileSync(file, 'read through a monitor copy');
      const fd = openSync(file, 'r');
      const { ino } = fstatSync(fd);
      const r = await caller.call({ destination: SERVICE, path: PATH, interface: IFACE, member: 'ReadFd', signature: 'h', body: [0] }, { fds: [fd], serial: 5151 });
      closeSync(fd);
      expect(r.reply.body).toEqual(['read through a monitor copy']);
      // dbus-monitor got the fd itself: it prints what fstat says of it.
      await mon.waitFor(new RegExp(`method call time=\\S+ sender=${re(caller.uniqueName)} -> destination=${re(SERVICE)} serial=5151 path=${re(PATH)}; interface=${re(IFACE)}; member=ReadFd\\n\\s+file descriptor\\n\\s+inode: ${ino}\\n`));
      const o = await caller.call({ destination: SERVICE, path: PATH, interface: IFACE, member: 'OpenFd', signature: 's', body: ['made by the service'] }, { serial: 5152 });
      closeFds(o.fds);
      await mon.waitFor(/method return time=\S+ sender=\S+ -> destination=\S+ serial=\d+ reply_serial=5152\n\s+file descriptor\n\s+inode: \d+/);
      // The native monitor reads the files through its own fds.
      const isCall = (m: Message): boolean => m.member === 'ReadFd' && m.serial === 5151;
      const isReply = (m: Message): boolean => m.type === MessageType.METHOD_RETURN && m.replySerial === 5152;
      await until(() => seen.some((s) => isCall(s.msg)) && seen.some((s) => isReply(s.msg)), 5000, 'the native monitor to see both');
      const readAll = (f: number): string => {
        const b = Buffer.alloc(256);
        return b.subarray(0, readSync(f, b, 0, 256, 0)).toString();
      };
      const call = seen.find((s) => isCall(s.msg))!;
      expect(call.msg.unixFds).toBe(1);
      expect(call.fds).toHaveLength(1);
      expect(readAll(call.fds[0]!)).toBe('read through a monitor copy');
      const reply = seen.find((s) => isReply(s.msg))!;
      expect(reply.fds).toHaveLength(1);
      expect(readAll(reply.fds[0]!)).toBe('made by the service');
      for (const s of seen) closeFds(s.fds);
    } finally {
      native.disconnect();
      await mon.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('dbus-monitor without fd passing gets no copy of a call carrying fds, as from dbus-daemon, and the calls after it', async () => {
    // A second gateway on the bus that does not offer fd passing.
    const noFds = await startGateway({ listen: `unix:path=${join(bus.dir, 'nofds.sock')}`, busAddress: bus.busAddress, backend: BACKEND, unixFds: false });
    const mon = new Watched('dbus-monitor', ['--address', noFds.address]);
    const dir = mkdtempSync(join(tmpdir(), 'ipnbus-mon-nofd-'));
    try {
      await mon.waitFor(/member=NameLost/);
      await recordSeen(caller);
      await caller.call({ destination: noFds.connection.uniqueName, path: '/', interface: 'org.freedesktop.DBus.Peer', member: 'Ping' });
      writeFileSync(join(dir, 'f'), 'not for this monitor');
      const fd = openSync(join(dir, 'f'), 'r');
      await caller.call({ destination: SERVICE, path: PATH, interface: IFACE, member: 'ReadFd', signature: 'h', body: [0] }, { fds: [fd], serial: 5253 });
      closeSync(fd);
      await caller.call({ destination: SERVICE, path: PATH, interface: IFACE, member: 'Echo', signature: 's', body: ['after the fd'] }, { serial: 5254 });
      await mon.waitFor(/serial=5254 path=\S+; interface=\S+; member=Echo\n\s+string "after the fd"/);
      await mon.waitFor(/reply_serial=5254\n/);
      expect(mon.output).not.toMatch(/serial=5253 /);
      expect(mon.output).toMatch(/method return time=\S+ sender=\S+ -> destination=\S+ serial=\d+ reply_serial=5253\n\s+string "not for this monitor"/);
    } finally {
      await mon.stop();
      await noFds.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('dbus-monitor sees a call and its reply larger than one transport datagram (300 KiB each)', async () => {
    const mon = new Watched('dbus-monitor', ['--address', A]);
    try {
      await mon.waitFor(/member=NameLost/);
      await recordSeen(caller);
      await recordSeen(svc.conn);
      const big = Array.from({ length: 300 }, (_, i) => `${i}`.padStart(1024, '-')).join('');
      const r = await caller.call({ destination: SERVICE, path: PATH, interface: IFACE, member: 'Echo', signature: 's', body: [big] }, { serial: 6161 });
      expect(r.reply.body[0]).toBe(big);
      const tail = re(big.slice(-2048));
      await mon.waitFor(new RegExp(`serial=6161 path=${re(PATH)}; interface=${re(IFACE)}; member=Echo\\n\\s+string "-+0-+1-[^"]*${tail}"`));
      await mon.waitFor(new RegExp(`reply_serial=6161\\n\\s+string "-+0-+1-[^"]*${tail}"`));
    } finally {
      await mon.stop();
    }
  });

  it('dbus-monitor sees what the bus says itself, in dbus-daemon\'s order: Hello, ServiceUnknown, BecomeMonitor, NameLost', async () => {
    const mon = new Watched('dbus-monitor', ['--address', A]);
    let second: Watched | undefined;
    try {
      await mon.waitFor(/member=NameLost/);
      await recordSeen(caller);
      // A stock client: its Hello and the reply, then its NameOwnerChanged and NameAcquired;
      // its call to a name nobody owns and the bus's ServiceUnknown; NameLost as it leaves.
      const r = await run('gdbus', ['call', '--address', A, '--dest', 'com.example.Nobody', '--object-path', '/', '--method', 'com.example.X.Y']);
      expect(r.stderr).toContain('org.freedesktop.DBus.Error.ServiceUnknown');
      const DRIVER = 'path=/org/freedesktop/DBus; interface=org\\.freedesktop\\.DBus;';
      const hello = await mon.waitFor(new RegExp(
        `method call time=\\S+ sender=(:[\\d.]+) -> destination=org\\.freedesktop\\.DBus serial=1 ${DRIVER} member=Hello\\n` +
        `method return time=\\S+ sender=org\\.freedesktop\\.DBus -> destination=\\1 serial=\\d+ reply_serial=1\\n\\s+string "\\1"\\n` +
        `signal time=\\S+ sender=org\\.freedesktop\\.DBus -> destination=\\(null destination\\) serial=\\d+ ${DRIVER} member=NameOwnerChanged\\n\\s+string "\\1"\\n\\s+string ""\\n\\s+string "\\1"\\n` +
        `signal time=\\S+ sender=org\\.freedesktop\\.DBus -> destination=\\1 serial=\\d+ ${DRIVER} member=NameAcquired\\n`));
      const g = re(hello[1]!);
      await mon.waitFor(new RegExp(
        `method call time=\\S+ sender=${g} -> destination=com\\.example\\.Nobody serial=(\\d+) path=/; interface=com\\.example\\.X; member=Y\\n` +
        `error time=\\S+ sender=org\\.freedesktop\\.DBus -> destination=${g} error_name=org\\.freedesktop\\.DBus\\.Error\\.ServiceUnknown reply_serial=\\1\\n` +
        `\\s+string "The name com\\.example\\.Nobody was not provided by any \\.service files"`));
      await mon.waitFor(new RegExp(
        `signal time=\\S+ sender=org\\.freedesktop\\.DBus -> destination=${g} serial=\\d+ ${DRIVER} member=NameLost\\n\\s+string "${g}"\\n` +
        `signal time=\\S+ sender=org\\.freedesktop\\.DBus -> destination=\\(null destination\\) serial=\\d+ ${DRIVER} member=NameOwnerChanged\\n\\s+string "${g}"\\n\\s+string "${g}"\\n\\s+string ""`));
      // A native member elsewhere: the same for its calls refused by its own core (activation found no
      // service; a unique name that is gone).
      const c = re(caller.uniqueName);
      await expect(caller.call({ destination: 'com.example.Nobody', path: '/', interface: 'com.example.X', member: 'Z' }, { serial: 7101 })).rejects.toThrow(/ServiceUnknown|not provided/);
      await expect(caller.call({ destination: ':1.999999', path: '/', interface: 'com.example.X', member: 'Z' }, { serial: 7102 })).rejects.toThrow();
      for (const [serial, dest] of [[7101, 'com.example.Nobody'], [7102, ':1.999999']] as const) {
        await mon.waitFor(new RegExp(
          `method call time=\\S+ sender=${c} -> destination=${re(dest)} serial=${serial} path=/; interface=com\\.example\\.X; member=Z\\n` +
          `error time=\\S+ sender=org\\.freedesktop\\.DBus -> destination=${c} error_name=org\\.freedesktop\\.DBus\\.Error\\.ServiceUnknown reply_serial=${serial}\\n`));
      }
      // Another monitor: its BecomeMonitor, the reply and its NameLost.
      second = new Watched('dbus-monitor', ['--address', A, "type='error'"]);
      await second.waitFor(/member=NameLost/);
      const bm = await mon.waitFor(new RegExp(
        `method call time=\\S+ sender=(:[\\d.]+) -> destination=org\\.freedesktop\\.DBus serial=(\\d+) path=/org/freedesktop/DBus; interface=org\\.freedesktop\\.DBus\\.Monitoring; member=BecomeMonitor\\n` +
        `\\s+array \\[\\n\\s+string "eavesdrop=true,type='error'"\\n\\s+\\]\\n\\s+uint32 0\\n` +
        `method return time=\\S+ sender=org\\.freedesktop\\.DBus -> destination=\\1 serial=\\d+ reply_serial=\\2\\n` +
        `signal time=\\S+ sender=org\\.freedesktop\\.DBus -> destination=\\1 serial=\\d+ ${DRIVER} member=NameLost\\n`));
      expect(bm[1]).not.toBe(hello[1]);
    } finally {
      await second?.stop();
      await mon.stop();
    }
  });

  it('dbus-monitor sees a stock client\'s call to the bus driver and the driver\'s reply, under the client\'s serial', async () => {
    // Answered by the client's endpoint's own driver (Connection.askBus), not sent as a call is.
    const mon = new Watched('dbus-monitor', ['--address', A]);
    try {
      await mon.waitFor(/member=NameLost/);
      const r = await run('gdbus', ['call', '--address', A, '--dest', 'org.freedesktop.DBus', '--object-path', '/org/freedesktop/DBus',
        '--method', 'org.freedesktop.DBus.GetNameOwner', 'org.freedesktop.DBus']);
      expect(r.stdout).toContain("('org.freedesktop.DBus',)");
      await mon.waitFor(new RegExp(
        'method call time=\\S+ sender=(:[\\d.]+) -> destination=org\\.freedesktop\\.DBus serial=(\\d+) path=/org/freedesktop/DBus; ' +
        'interface=org\\.freedesktop\\.DBus; member=GetNameOwner\\n\\s+string "org\\.freedesktop\\.DBus"\\n' +
        'method return time=\\S+ sender=org\\.freedesktop\\.DBus -> destination=\\1 serial=\\d+ reply_serial=\\2\\n' +
        '\\s+string "org\\.freedesktop\\.DBus"'));
    } finally {
      await mon.stop();
    }
  });

  it('a native monitor sees the calls of others with their serials and senders, and only what its rules take', async () => {
    const all = await connect({ address: bus.busAddress, backend: BACKEND });
    const echoes = await connect({ address: bus.busAddress, backend: BACKEND });
    try {
      const seen: Message[] = [];
      const seenEchoes: Message[] = [];
      all.on('message', (m: Message) => seen.push(m));
      echoes.on('message', (m: Message) => seenEchoes.push(m));
      // Over AF_IPN the others learn of a newcomer when they read its join.
      for (const c of [caller, svc.conn]) {
        await until(() => [all, echoes].every((m) => c.listNames().includes(m.uniqueName)), 10_000, 'the monitors to be known');
      }
      all.becomeMonitor([]);
      echoes.becomeMonitor(["member='Echo'"]);
      // Their records went out before becomeMonitor returned; a round trip from each proves they arrived.
      for (const m of [all, echoes]) {
        await caller.call({ destination: m.uniqueName, path: '/', interface: 'org.freedesktop.DBus.Peer', member: 'Ping' });
        await svc.conn.call({ destination: m.uniqueName, path: '/', interface: 'org.freedesktop.DBus.Peer', member: 'Ping' });
      }
      seen.length = 0;
      seenEchoes.length = 0;
      await caller.call({ destination: SERVICE, path: PATH, interface: IFACE, member: 'Echo', signature: 's', body: ['native'] }, { serial: 777 });
      const isCall = (m: Message): boolean => m.type === MessageType.METHOD_CALL && m.serial === 777 && m.member === 'Echo';
      const isReply = (m: Message): boolean => m.type === MessageType.METHOD_RETURN && m.replySerial === 777;
      await until(() => seen.some(isCall) && seen.some(isReply), 5000, 'the monitor to see call and reply');
      expect(seen.find(isCall)).toMatchObject({ sender: caller.uniqueName, destination: SERVICE, body: ['native'] });
      expect(seen.find(isReply)).toMatchObject({ sender: svc.conn.uniqueName, destination: caller.uniqueName, body: ['native'] });
      // A stock client's call through the gateway: its own unique name and serial.
      const r = await run('gdbus', ['call', '--address', A, '--dest', SERVICE, '--object-path', PATH, '--method', `${IFACE}.Echo`, 'from gdbus']);
      expect(r.stdout.trim()).toBe("('from gdbus',)");
      await until(() => seen.some((m) => m.member === 'Echo' && m.body[0] === 'from gdbus'), 5000, 'the gdbus call');
      const g = seen.find((m) => m.member === 'Echo' && m.body[0] === 'from gdbus')!;
      expect(g.sender).toMatch(/^:\d+\.\d+\.\d+$/);
      await until(() => seen.some((m) => m.type === MessageType.METHOD_RETURN && m.replySerial === g.serial && m.destination === g.sender), 5000, 'its reply');
      // The Echo-only monitor saw the two Echo calls and no reply (a reply has no member).
      await caller.call({ destination: SERVICE, path: PATH, interface: IFACE, member: 'WhoAmI' });
      await until(() => seen.some((m) => m.member === 'WhoAmI'), 5000, 'WhoAmI on the first monitor');
      expect(seenEchoes.filter((m) => m.type !== MessageType.SIGNAL).map((m) => [m.member, m.body[0]])).toEqual([['Echo', 'native'], ['Echo', 'from gdbus']]);
    } finally {
      all.disconnect();
      echoes.disconnect();
    }
  });
});

/**
 * `rounds` x 100 concurrent 16 KiB Echo calls from `caller` to the
 * service: the ms they took. 5 rounds copy 16 MiB to a monitor, past what
 * its socket holds on either backend (AF_IPN: 8 MiB, SO_RCVBUFFORCE).
 */
async function echoLoad(rounds: number): Promise<number> {
  const text = 'x'.repeat(16384);
  const t0 = performance.now();
  for (let i = 0; i < rounds; i++) {
    await Promise.all(Array.from({ length: 100 }, () =>
      caller.call({ destination: SERVICE, path: PATH, interface: IFACE, member: 'Echo', signature: 's', body: [text] })));
  }
  return performance.now() - t0;
}

/**
 * A native monitor of everything in its own process (monitor-member.mjs),
 * its record held by the caller and the service (a round trip from each
 * after it became one).
 */
async function monitorChild(): Promise<{ m: Child; name: string }> {
  const m = new Child(bus.busAddress, caller.uniqueName);
  try {
    const name = (await m.line(/^ready (\S+)$/m))[1]!;
    for (const c of [caller, svc.conn]) await until(() => c.listNames().includes(name), 10_000, 'the monitor to be known');
    m.send('become');
    await m.line(/^monitoring$/m);
    for (const c of [caller, svc.conn]) await c.call({ destination: name, path: '/', interface: 'org.freedesktop.DBus.Peer', member: 'Ping' });
    return { m, name };
  } catch (e) {
    await m.stop();
    throw e;
  }
}

describe('a monitor sees a call before its reply, as on dbus-daemon', () => {
  it('the copies of a call and of its reply, made by two members, reach a monitor that reads them at once in that order', async () => {
    const { m, name } = await monitorChild();
    try {
      // Stopped, it reads both copies in one pass once resumed. The caller
      // broadcasts first, the service does not: a copy riding on its
      // sender's last broadcast (the user backend's unicasts) would put
      // the reply's first.
      m.proc.kill('SIGSTOP');
      for (let i = 0; i < 5; i++) {
        caller.emitSignal(PATH, IFACE, 'Ping', 's', [`before call ${i}`]);
        await caller.call({ destination: SERVICE, path: PATH, interface: IFACE, member: 'Echo', signature: 's', body: [`order:${i}`] }, { serial: 9000 + i });
      }
      m.proc.kill('SIGCONT');
      await m.line(/saw reply 9004\n/);
      const seen = m.out.split('\n').filter((l) => l.startsWith('saw '));
      expect(seen).toEqual([0, 1, 2, 3, 4].flatMap((i) => [`saw call ${9000 + i}`, `saw reply ${9000 + i}`]));
    } finally {
      await m.stop();
    }
  });
});

describe('a monitor that stopped reading holds nobody back', () => {
  const ROUNDS = 5;

  // The bound: a stopped monitor costs the callers no more than one that
  // reads (2x + 2 s of slack for a loaded machine); the copying itself is
  // the price of having a monitor at all (bus/README "Monitors").
  it('a stopped native monitor: calls between others keep their pace, its copies are dropped, not queued', async () => {
    await echoLoad(1); // warm up
    const alone = await echoLoad(ROUNDS);
    const { m, name } = await monitorChild();
    try {
      const reading = await echoLoad(ROUNDS);
      m.proc.kill('SIGSTOP');
      const stopped = await echoLoad(ROUNDS);
      m.proc.kill('SIGCONT');
      // What it got: copies until its socket filled (a reader slower than the callers loses some too), never all.
      caller.send({ type: MessageType.SIGNAL, destination: name, path: '/', interface: 'com.example.Test', member: 'Done' });
      const [, n] = await m.line(/^envelopes (\d+)$/m, 60_000);
      console.log(`500 16 KiB calls: ${alone.toFixed(0)} ms with no monitor, ${reading.toFixed(0)} ms with one reading, ${stopped.toFixed(0)} ms with it stopped; it got ${n} copies`);
      expect(Number(n)).toBeGreaterThan(0);
      expect(Number(n)).toBeLessThan(2 * 2 * 100 * ROUNDS);
      expect(stopped).toBeLessThan(2 * reading + 2000);
    } finally {
      await m.stop();
    }
  });

  it('a stopped dbus-monitor: calls keep their pace, it is not disconnected and sees what comes after', async () => {
    const alone = await echoLoad(ROUNDS);
    // Megabytes of output: only its tail is kept and searched.
    const mon = spawn('dbus-monitor', ['--address', A], { stdio: ['ignore', 'pipe', 'inherit'] });
    let tail = '';
    mon.stdout!.on('data', (d: Buffer) => (tail = (tail + d.toString()).slice(-65536)));
    const sees = (what: RegExp, ms: number): Promise<void> => until(() => what.test(tail), ms, `dbus-monitor to print ${what} (tail: ${tail.slice(-500)})`);
    try {
      await sees(/member=NameLost/, 10_000);
      await recordSeen(caller);
      await recordSeen(svc.conn);
      const reading = await echoLoad(ROUNDS);
      mon.kill('SIGSTOP');
      const stopped = await echoLoad(ROUNDS);
      mon.kill('SIGCONT');
      console.log(`500 16 KiB calls: ${alone.toFixed(0)} ms with no monitor, ${reading.toFixed(0)} ms with dbus-monitor reading, ${stopped.toFixed(0)} ms with it stopped`);
      expect(stopped).toBeLessThan(2 * reading + 2000);
      // Until it has read its backlog down, copies are still dropped: call until one shows.
      for (let i = 1; ; i++) {
        await caller.call({ destination: SERVICE, path: PATH, interface: IFACE, member: 'Echo', signature: 's', body: ['after the stop'] });
        try {
          await sees(/member=Echo\n\s+string "after the stop"/, 500);
          break;
        } catch (err) {
          if (i === 60) throw err;
        }
      }
      expect(mon.exitCode).toBeNull();
    } finally {
      mon.kill('SIGKILL');
    }
  });
});

describe.skipIf(!isRoot)('who may monitor: root and the bus owner only (needs root to act as a second uid)', () => {
  let shared: { dir: string; address: string; owner: Connection; svc: Connection };

  beforeAll(async () => {
    // A bus others may join (0777), owned by root.
    const dir = mkdtempSync(join(tmpdir(), 'ipnbus-mon-uid-'));
    chmodSync(dir, 0o755);
    const address = `ipnbus:path=${join(dir, 'bus')}`;
    const owner = await connect({ address, backend: BACKEND, mode: 0o777 });
    const svc2 = await connect({ address, backend: BACKEND });
    await svc2.requestName('com.example.Target', 0);
    shared = { dir, address, owner, svc: svc2 };
  });

  afterAll(() => {
    shared?.owner.disconnect();
    shared?.svc.disconnect();
    if (shared) rmSync(shared.dir, { recursive: true, force: true });
  });

  it('a member of another uid is refused BecomeMonitor', async () => {
    const m = new Child(shared.address, shared.owner.uniqueName, OTHER_UID);
    try {
      await m.line(/^ready /m);
      m.send('become');
      const [line] = await m.line(/^refused .*$/m);
      expect(line).toContain('org.freedesktop.DBus.Error.AccessDenied');
      expect(line).toContain('uid 65534');
      expect(line).toContain('bus owner (uid 0)');
    } finally {
      await m.stop();
    }
  });

  it('a forged monitor record from another uid gets no copies; the same from the owner\'s uid does', async () => {
    const count = async (uid: number | undefined): Promise<number> => {
      const m = new Child(shared.address, shared.owner.uniqueName, uid);
      try {
        const [, name] = await m.line(/^ready (\S+)$/m);
        m.send('forge');
        await m.line(/^forged$/m);
        await shared.owner.call({ destination: 'com.example.Target', path: '/', interface: 'org.freedesktop.DBus.Peer', member: 'Ping' });
        shared.owner.send({ type: MessageType.SIGNAL, destination: name, path: '/', interface: 'com.example.Test', member: 'Done' });
        const [, n] = await m.line(/^envelopes (\d+)$/m);
        return Number(n);
      } finally {
        await m.stop();
      }
    };
    expect(await count(OTHER_UID)).toBe(0);
    expect(await count(undefined)).toBeGreaterThan(0);
  });

  it('busctl monitor through a gateway of another uid is refused', async () => {
    const sockDir = mkdtempSync(join(tmpdir(), 'ipnbus-mon-gw-'));
    chmodSync(sockDir, 0o777);
    let gw: GatewayProcess | undefined;
    try {
      gw = await GatewayProcess.start(shared.address, join(sockDir, 'gw.sock'), { backend: BACKEND, uid: OTHER_UID });
      const address = gw.address!;
      const r = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
        const b = spawn('busctl', [`--address=${address}`, 'monitor', '--no-pager'], { uid: OTHER_UID, gid: OTHER_UID, stdio: ['ignore', 'ignore', 'pipe'] });
        let stderr = '';
        b.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
        const t = setTimeout(() => b.kill('SIGKILL'), perBackend({ user: 15_000, kernel: 60_000 }));
        b.on('close', (code) => {
          clearTimeout(t);
          resolve({ code, stderr });
        });
      });
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain("BecomeMonitor failed: Access denied");
    } finally {
      await gw?.kill();
      rmSync(sockDir, { recursive: true, force: true });
    }
  });
});
