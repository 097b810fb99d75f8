// Stock D-Bus tools (gdbus, busctl, dbus-send, dbus-monitor) on an ipnbus bus through the gateway.
import { beforeAll, describe, expect, it } from 'vitest';
import { run, until, Watched } from './helpers.js';
import { IFACE, PATH, SERVICE, servedBusPerFile } from './native-service.js';
import { ON_KERNEL } from '../backend.mjs';

let A: string;

const served = servedBusPerFile();

beforeAll(() => {
  A = served.bus.gw.address;
});

const uid = process.getuid?.() ?? 0;

/**
 * The tool has said it is watching, so the gateway has handled its AddMatch
 * (or BecomeMonitor) and sent the new filter to every member. A sync round
 * trip from the service to every member proves the service has read it
 * (each peer answers after what it sent before); then one signal is enough.
 */
async function emitOnceSeen(mon: Watched, text: string, re: RegExp): Promise<void> {
  await served.svc.conn.settle();
  served.svc.conn.emitSignal(PATH, IFACE, 'Ping', 's', [text]);
  await mon.waitFor(re, 5000);
}

/**
 * As emitOnceSeen, for a tool whose output cannot tell when its rule holds:
 * emits again every 500 ms (at most 10 times) until the tool shows the
 * signal.
 */
async function emitEverySeen(mon: Watched, text: string, re: RegExp): Promise<void> {
  for (let i = 1; ; i++) {
    await served.svc.conn.settle();
    served.svc.conn.emitSignal(PATH, IFACE, 'Ping', 's', [text]);
    try {
      await mon.waitFor(re, 500);
      return;
    } catch (err) {
      if (i === 10) throw err;
    }
  }
}

describe('gateway with stock tools', () => {
  it('dbus-send --print-reply: ListNames shows the bus, native members and names', async () => {
    const r = await run('dbus-send', [`--bus=${A}`, '--print-reply', '--dest=org.freedesktop.DBus', '/org/freedesktop/DBus', 'org.freedesktop.DBus.ListNames']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('string "org.freedesktop.DBus"');
    expect(r.stdout).toContain(`string "${SERVICE}"`);
    expect(r.stdout).toContain(`string "${served.svc.conn.uniqueName}"`);
    // Its own unique name is listed too: it is a member like any other.
    const own = /destination=(:\d+\.\d+\.\d+)/.exec(r.stdout)![1]!;
    expect(r.stdout).toContain(`string "${own}"`);
  });

  it('gdbus call reaches a native service, and the service sees gdbus\'s own credentials', async () => {
    const echo = await run('gdbus', ['call', '--address', A, '--dest', SERVICE, '--object-path', PATH, '--method', `${IFACE}.Echo`, 'hello gdbus']);
    expect(echo.stderr).toBe('');
    expect(echo.stdout.trim()).toBe("('hello gdbus',)");
    const who = await run('gdbus', ['call', '--address', A, '--dest', SERVICE, '--object-path', PATH, '--method', `${IFACE}.WhoAmI`]);
    const m = /^\(uint32 (\d+), uint32 (\d+), uint32 (\d+)\)$/.exec(who.stdout.trim());
    expect(m, who.stdout + who.stderr).not.toBeNull();
    // SO_PEERCRED of the gdbus process, not the gateway's pid.
    expect(Number(m![1])).toBe(who.pid);
    expect(Number(m![1])).not.toBe(process.pid);
    expect(Number(m![2])).toBe(uid);
  });

  it('busctl call reaches the native service with its own pid; errors come back as D-Bus errors', async () => {
    const echo = await run('busctl', [`--address=${A}`, 'call', SERVICE, PATH, IFACE, 'Echo', 's', 'hello busctl']);
    expect(echo.stdout.trim()).toBe('s "hello busctl"');
    const who = await run('busctl', [`--address=${A}`, 'call', SERVICE, PATH, IFACE, 'WhoAmI']);
    expect(who.stdout.trim()).toMatch(new RegExp(`^uuu ${who.pid} ${uid} \\d+$`));
    const fail = await run('busctl', [`--address=${A}`, 'call', SERVICE, PATH, IFACE, 'Fail']);
    expect(fail.code).not.toBe(0);
    expect(fail.stderr).toContain('failing as asked');
    const unknown = await run('dbus-send', [`--bus=${A}`, '--print-reply', '--dest=com.example.Nobody', '/', 'com.example.X.Y']);
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toContain('org.freedesktop.DBus.Error.ServiceUnknown');
  });

  it('the bus driver reports a stock client\'s credentials to other stock clients', async () => {
    // busctl asks the driver about every name: its PID column for its own
    // connection must be busctl's pid, for the native one the native pid.
    const list = await run('busctl', [`--address=${A}`, 'list', '--no-pager']);
    expect(list.code).toBe(0);
    const own = list.stdout.split('\n').find((l) => /^:\d+\.\d+\.\d+\s+\d+\s+busctl\b/.test(l));
    expect(own, list.stdout).toBeDefined();
    expect(Number(own!.split(/\s+/)[1])).toBe(list.pid);
    const native = list.stdout.split('\n').find((l) => l.startsWith(SERVICE));
    expect(Number(native!.split(/\s+/)[1])).toBe(process.pid);
  });

  it('one stock client\'s credentials as other stock clients and native members see them', async () => {
    const before = new Set(served.svc.conn.listNames());
    const mon = new Watched('gdbus', ['monitor', '--address', A, '--dest', SERVICE]);
    try {
      await mon.waitFor(/is owned by/);
      const name = served.svc.conn.listNames().find((n) => n.startsWith(':') && !before.has(n));
      expect(name).toBeDefined();
      const pid = mon.child.pid!;
      expect(served.svc.conn.getCredentials(name!)).toMatchObject({ pid, uid });
      const r = await run('dbus-send', [`--bus=${A}`, '--print-reply', '--dest=org.freedesktop.DBus', '/org/freedesktop/DBus',
        'org.freedesktop.DBus.GetConnectionUnixProcessID', `string:${name}`]);
      expect(r.stdout).toContain(`uint32 ${pid}`);
      const c = await run('busctl', [`--address=${A}`, 'call', 'org.freedesktop.DBus', '/org/freedesktop/DBus', 'org.freedesktop.DBus',
        'GetConnectionCredentials', 's', name!]);
      expect(c.stdout).toMatch(new RegExp(`"ProcessID" u ${pid}\\b`));
      expect(c.stdout).toMatch(new RegExp(`"UnixUserID" u ${uid}\\b`));
    } finally {
      await mon.stop();
    }
  });

  it('gdbus introspect and busctl introspect/tree walk the native objects', async () => {
    const gi = await run('gdbus', ['introspect', '--address', A, '--dest', SERVICE, '--object-path', PATH]);
    expect(gi.stdout).toContain(`interface ${IFACE}`);
    expect(gi.stdout).toMatch(/Echo\(in\s+s text,\s+out s echo\)/);
    const bi = await run('busctl', [`--address=${A}`, 'introspect', '--no-pager', SERVICE, PATH]);
    expect(bi.stdout).toMatch(/\.Echo\s+method\s+s\s+s/);
    const tree = await run('busctl', [`--address=${A}`, 'tree', '--no-pager', '--list', SERVICE]);
    expect(tree.stdout.split('\n')).toContain(PATH);
    const drv = await run('gdbus', ['introspect', '--address', A, '--dest', 'org.freedesktop.DBus', '--object-path', '/org/freedesktop/DBus']);
    expect(drv.stdout).toContain('BecomeMonitor');
  });

  it('unix fds pass both ways: gdbus hands its stdin to a native service, and gets an fd back', async () => {
    // gdbus's stdin is a pipe, as in a shell pipeline.
    const piped = await run('sh', ['-c', 'printf %s "written into gdbus stdin" | exec "$@"', 'sh',
      'gdbus', 'call', '--address', A, '--dest', SERVICE, '--object-path', PATH, '--method', `${IFACE}.ReadFd`, '@h 0']);
    expect(piped.stderr).toBe('');
    expect(piped.code).toBe(0);
    expect(piped.stdout.trim()).toBe("('written into gdbus stdin',)");
    // Node gives a child an AF_UNIX socketpair as its stdin. The user
    // backend carries it; ipn.ko refuses AF_UNIX sockets (they could close
    // an fd cycle; kernel/README.md, "Passing files"), and gdbus is told so.
    const { spawn } = await import('node:child_process');
    const child = spawn('gdbus', ['call', '--address', A, '--dest', SERVICE, '--object-path', PATH, '--method', `${IFACE}.ReadFd`, '@h 0'], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d));
    child.stderr.on('data', (d: Buffer) => (err += d));
    child.stdin.end('written into gdbus stdin');
    const code = await new Promise<number | null>((resolve) => {
      const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
      child.on('close', (c) => {
        clearTimeout(t);
        resolve(c);
      });
    });
    if (ON_KERNEL) {
      expect(code).not.toBe(0);
      expect(err).toContain('org.freedesktop.DBus.Error.NotSupported');
      expect(err).toContain('AF_UNIX socket');
    } else {
      expect(err).toBe('');
      expect(code).toBe(0);
      expect(out.trim()).toBe("('written into gdbus stdin',)");
    }
    const back = await run('gdbus', ['call', '--address', A, '--dest', SERVICE, '--object-path', PATH, '--method', `${IFACE}.OpenFd`, 'x']);
    expect(back.stderr).toBe('');
    expect(back.stdout.trim()).toBe('(handle 0,)');
  });

  it('a signal from dbus-send reaches a native match rule; its sender is the client\'s unique name', async () => {
    served.svc.conn.addMatch(`type='signal',interface='${IFACE}',member='FromStock'`);
    const before = served.svc.signals.length;
    const r = await run('dbus-send', [`--bus=${A}`, '--type=signal', PATH, `${IFACE}.FromStock`, 'string:over the gateway']);
    expect(r.code).toBe(0);
    await until(() => served.svc.signals.length > before, 5000, 'the stock signal');
    const sig = served.svc.signals.at(-1)!;
    expect(sig.member).toBe('FromStock');
    expect(sig.body).toEqual(['over the gateway']);
    expect(sig.sender).toMatch(/^:\d+\.\d+\.\d+$/);
    expect(sig.sender).not.toBe(served.svc.conn.uniqueName);
  });

  it('gdbus monitor sees a native signal', async () => {
    const mon = new Watched('gdbus', ['monitor', '--address', A, '--dest', SERVICE]);
    try {
      await mon.waitFor(new RegExp(`The name ${SERVICE.replace(/\./g, '\\.')} is owned by :1\\.\\d+`));
      // gdbus monitor prints the owner first and only then sends its
      // AddMatch(sender=<owner>) (seen with G_DBUS_DEBUG=message), so no
      // output of its own marks the moment its rule holds: emit until it
      // shows the signal. Over AF_IPN the first emission, right after the
      // owner line, usually comes before that AddMatch.
      await emitEverySeen(mon, 'tick', new RegExp(`${PATH}: ${IFACE.replace(/\./g, '\\.')}\\.Ping \\('tick',\\)`));
    } finally {
      await mon.stop();
    }
  });

  it('dbus-monitor (BecomeMonitor) sees broadcasts and the calls crossing the gateway', async () => {
    const mon = new Watched('dbus-monitor', ['--address', A]);
    try {
      // dbus-monitor prints the NameLost the driver sends after BecomeMonitor.
      await mon.waitFor(/member=NameLost/);
      await emitOnceSeen(mon, 'to the monitor', /interface=com\.example\.Native; member=Ping\n\s+string "to the monitor"/);
      const r = await run('gdbus', ['call', '--address', A, '--dest', SERVICE, '--object-path', PATH, '--method', `${IFACE}.Echo`, 'watched call']);
      expect(r.stdout.trim()).toBe("('watched call',)");
      await mon.waitFor(/method call .*member=Echo\n\s+string "watched call"/);
      await mon.waitFor(/method return .*\n\s+string "watched call"/);
    } finally {
      await mon.stop();
    }
  });

  it('busctl monitor sees broadcasts', async () => {
    const mon = new Watched('busctl', [`--address=${A}`, 'monitor', '--no-pager']);
    try {
      await mon.waitFor(/Monitoring bus message stream/);
      await emitOnceSeen(mon, 'to busctl', /Member=Ping[\s\S]*STRING "to busctl"/);
    } finally {
      await mon.stop();
    }
  });

  it('gateway clients come and go: their unique names leave the bus when they exit, the gateway stays one member', async () => {
    await until(() => served.bus.gw.clientCount === 0, 5000, 'all stock clients to be gone');
    const left = [served.svc.conn.uniqueName, served.bus.gw.connection.uniqueName].sort();
    await until(() => served.svc.conn.listNames().filter((n) => n.startsWith(':')).length === 2, 5000, 'hosted clients to leave');
    expect(served.svc.conn.listNames().filter((n) => n.startsWith(':')).sort()).toEqual(left);
  });
});
