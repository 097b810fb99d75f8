// The bus verbs against a real private bus with a real service process:
// list, call (busctl syntax both ways), introspect, monitor + emit, codegen, gateway.
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, spawnCli } from './run-cli.js';

const SERVICE = fileURLToPath(new URL('./fixtures/service.mjs', import.meta.url));
const DEST = 'org.ipnbus.test.Svc';
const PATH = '/org/ipnbus/test';

let dir: string;
let address: string;
let service: ChildProcess;
let servicePid: number;

/** Resolves with the first line of `stream` matching `re`. */
function lineMatching(stream: NodeJS.ReadableStream, re: RegExp, timeoutMs = 15_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const rl = createInterface({ input: stream });
    const timer = setTimeout(() => reject(new Error(`no line matching ${re}`)), timeoutMs);
    rl.on('line', (l) => {
      if (re.test(l)) {
        clearTimeout(timer);
        rl.close();
        resolve(l);
      }
    });
  });
}

function exitOf(p: ChildProcess): Promise<number | null> {
  if (p.exitCode !== null) return Promise.resolve(p.exitCode);
  return new Promise((r) => p.once('exit', (code) => r(code)));
}

const cli = (args: string[], timeoutMs?: number) => runCli(['--address', address, ...args], timeoutMs ? { timeoutMs } : {});

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ipnbus-cli-test-'));
  address = `ipnbus:path=${join(dir, 'bus')}`;
  service = spawn(process.execPath, [SERVICE], { env: { ...process.env, IPNBUS_ADDRESS: address }, stdio: ['ignore', 'pipe', 'inherit'] });
  const ready = await lineMatching(service.stdout!, /^ready /);
  servicePid = Number(ready.split(' ')[1]);
});

afterAll(async () => {
  if (service && service.exitCode === null) {
    service.kill('SIGTERM');
    await exitOf(service);
  }
  await rm(dir, { recursive: true, force: true });
});

describe('ipnbus list', () => {
  it('shows the service name with its owner and the owner pid', async () => {
    const r = await cli(['list', '--json']);
    expect(r.code).toBe(0);
    const rows = JSON.parse(r.stdout) as { name: string; owner: string; pid: number }[];
    const row = rows.find((x) => x.name === DEST);
    expect(row).toBeDefined();
    expect(row!.owner).toMatch(/^:1\.\d+$/);
    expect(row!.pid).toBe(servicePid);
    // The owner's unique name is listed too, and the listing member itself.
    expect(rows.some((x) => x.name === row!.owner)).toBe(true);
  });

  it('prints a table by default', async () => {
    const r = await cli(['list', '--acquired']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^NAME\s+OWNER\s+PID\s+UID/);
    expect(r.stdout).toMatch(new RegExp(`^${DEST.replace(/\./g, '\\.')}\\s+:1\\.\\d+\\s+${servicePid}\\s`, 'm'));
    expect(r.stdout).not.toMatch(/^:1\./m);
  });
});

describe('ipnbus call', () => {
  it('calls a typed method and prints the reply in busctl syntax', async () => {
    const r = await cli(['call', DEST, PATH, 'org.ipnbus.test.Echo', 'Hello', 's', 'world']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('s "hello world"\n');
  });

  it('round-trips every container kind through the service unchanged', async () => {
    const sig = 'sia{sv}as(ub)ayxdv';
    const words = ['hi there', '-5', '2', 'k1', 's', 'v1', 'k2', 'i', '7', '2', 'x', 'y', '3', 'true', '3', '1', '2', '255', '-9000000000', '2.5', 'ai', '2', '4', '5'];
    const r = await cli(['call', DEST, PATH, 'org.ipnbus.test.Raw', 'Echo', sig, ...words]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`${sig} "hi there" -5 2 "k1" s "v1" "k2" i 7 2 "x" "y" 3 true 3 1 2 255 -9000000000 2.5 ai 2 4 5\n`);
  });

  it('prints JSON with --json', async () => {
    const r = await cli(['call', '--json', DEST, PATH, 'org.ipnbus.test.Raw', 'Echo', 'ta{si}', '18446744073709551615', '1', 'a', '1']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual(['18446744073709551615', { a: 1 }]);
  });

  it('reads a property through org.freedesktop.DBus.Properties', async () => {
    const r = await cli(['call', DEST, PATH, 'org.freedesktop.DBus.Properties', 'Get', 'ss', 'org.ipnbus.test.Echo', 'Greeting']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('v s "hello"\n');
  });

  it('fails with ServiceUnknown (exit 1) for a name nobody owns', async () => {
    const r = await cli(['call', 'org.ipnbus.test.Nobody', PATH, 'org.ipnbus.test.Echo', 'Hello', 's', 'x']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/org\.freedesktop\.DBus\.Error\.ServiceUnknown/);
  });

  it('fails with UnknownMethod (exit 1) for a method the service lacks', async () => {
    const r = await cli(['call', DEST, PATH, 'org.ipnbus.test.Echo', 'Nope']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/org\.freedesktop\.DBus\.Error\.UnknownMethod/);
  });

  it('answers org.freedesktop.DBus itself, with no daemon', async () => {
    const r = await cli(['call', 'org.freedesktop.DBus', '/org/freedesktop/DBus', 'org.freedesktop.DBus', 'GetNameOwner', 's', DEST]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^s ":1\.\d+"\n$/);
  });
});

describe('ipnbus introspect and codegen', () => {
  it('prints the XML of the exported object', async () => {
    const r = await cli(['introspect', DEST, PATH]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('<interface name="org.ipnbus.test.Echo">');
    expect(r.stdout).toMatch(/<method name="Hello">/);
  });

  it('generates TypeScript from a live object and from a file', async () => {
    const live = await cli(['codegen', '--dest', DEST, '--path', PATH]);
    expect(live.code).toBe(0);
    expect(live.stdout).toMatch(/defineInterface\('org\.ipnbus\.test\.Echo'/);
    const xml = (await cli(['introspect', DEST, PATH])).stdout;
    const file = join(dir, 'echo.xml');
    await writeFile(file, xml);
    const fromFile = await runCli(['codegen', file]);
    expect(fromFile.code).toBe(0);
    expect(fromFile.stdout).toBe(live.stdout);
  });

  it('rejects malformed XML with exit 1', async () => {
    const file = join(dir, 'bad.xml');
    await writeFile(file, '<node><interface name="x"');
    const r = await runCli(['codegen', file]);
    expect(r.code).toBe(1);
    expect(r.stderr).not.toBe('');
  });
});

describe('ipnbus monitor + emit', () => {
  it('prints matching broadcasts decoded, and only those', async () => {
    const mon = spawnCli(['--address', address, 'monitor', '--json', '--count', '2', "type='signal',interface='org.ipnbus.test.Sig'"]);
    const out: string[] = [];
    createInterface({ input: mon.stdout! }).on('line', (l) => out.push(l));
    await lineMatching(mon.stderr!, /^Monitoring /);
    const other = await cli(['emit', '/org/ipnbus/test', 'org.ipnbus.test.Other', 'Ignored', 's', 'no']);
    expect(other.code).toBe(0);
    const a = await cli(['emit', '/org/ipnbus/test', 'org.ipnbus.test.Sig', 'Changed', 'sa{sv}', 'temp', '1', 'celsius', 'd', '21.5']);
    expect(a.code).toBe(0);
    const b = await cli(['emit', '/org/ipnbus/test/sub', 'org.ipnbus.test.Sig', 'Bare']);
    expect(b.code).toBe(0);
    expect(await exitOf(mon)).toBe(0);
    expect(out).toHaveLength(2);
    const [m1, m2] = out.map((l) => JSON.parse(l));
    expect(m1).toMatchObject({ type: 'signal', path: '/org/ipnbus/test', interface: 'org.ipnbus.test.Sig', member: 'Changed', signature: 'sa{sv}' });
    expect(m1.body).toEqual(['temp', { celsius: { signature: 'd', value: 21.5 } }]);
    expect(m1.sender).toMatch(/^:1\.\d+$/);
    expect(m2).toMatchObject({ member: 'Bare', path: '/org/ipnbus/test/sub', signature: '', body: [] });
  });

  it('prints text lines by default', async () => {
    const mon = spawnCli(['--address', address, 'monitor', '--count', '1', "interface='org.ipnbus.test.Text'"]);
    let out = '';
    mon.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
    await lineMatching(mon.stderr!, /^Monitoring /);
    expect((await cli(['emit', '/a', 'org.ipnbus.test.Text', 'Hi', 'as', '2', 'x', 'y'])).code).toBe(0);
    expect(await exitOf(mon)).toBe(0);
    expect(out).toMatch(/^signal serial=\d+ sender=:1\.\d+ path=\/a interface=org\.ipnbus\.test\.Text member=Hi\n {2}as 2 "x" "y"\n$/);
  });
});

describe('ipnbus monitor as a bus monitor', () => {
  it('sees a call between two other members and its reply, with their serials and senders (BecomeMonitor)', async () => {
    const mon = spawnCli(['--address', address, 'monitor', '--json', '--count', '2', "interface='org.ipnbus.test.Echo'", "type='method_return'"]);
    const out: string[] = [];
    createInterface({ input: mon.stdout! }).on('line', (l) => out.push(l));
    await lineMatching(mon.stderr!, /^Monitoring .*\(interface='org\.ipnbus\.test\.Echo' \| type='method_return'\)$/);
    const r = await cli(['call', DEST, PATH, 'org.ipnbus.test.Echo', 'Hello', 's', 'monitored']);
    expect(r.code).toBe(0);
    expect(await exitOf(mon)).toBe(0);
    const [call, reply] = out.map((l) => JSON.parse(l));
    expect(call).toMatchObject({ type: 'method_call', destination: DEST, path: PATH, interface: 'org.ipnbus.test.Echo', member: 'Hello', body: ['monitored'] });
    expect(call.sender).toMatch(/^:1\.\d+$/);
    expect(reply).toMatchObject({ type: 'method_return', destination: call.sender, replySerial: call.serial, body: ['hello monitored'] });
  });
});

describe('ipnbus gateway', () => {
  it('lets a stock client (gdbus) call the service', async () => {
    const sock = join(dir, 'gw.sock');
    const gw = spawnCli(['--address', address, 'gateway', '--listen', `unix:path=${sock}`]);
    try {
      const line = await lineMatching(gw.stdout!, /^DBUS_SESSION_BUS_ADDRESS=/);
      const gwAddress = line.slice('DBUS_SESSION_BUS_ADDRESS='.length);
      expect(gwAddress).toContain(`unix:path=${sock}`);
      const out = await new Promise<string>((resolve, reject) => {
        execFile('gdbus', ['call', '--address', gwAddress, '--dest', DEST, '--object-path', PATH, '--method', 'org.ipnbus.test.Echo.Hello', 'gateway'],
          { timeout: 15_000 }, (err, stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout)));
      });
      expect(out.trim()).toBe("('hello gateway',)");
    } finally {
      gw.kill('SIGTERM');
    }
    expect(await exitOf(gw)).toBe(0);
  });
});
