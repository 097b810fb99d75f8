// A desktop session on a private ipnbus bus for the desktop tests: a gateway, an X display (Xvfb), private XDG dirs, and cleanup of what activation started.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type Connection } from '../../packages/bus/src/core/index.js';
import { startGateway, type Gateway } from '../../packages/bus/src/gateway/index.js';
import { run, until, type RunResult } from '../gateway/helpers.js';
import { BACKEND } from '../backend.mjs';
import { afterAll, beforeAll } from 'vitest';


export interface DesktopSession {
  dir: string;
  gw: Gateway;
  /** A native member, to look at the bus. */
  conn: Connection;
  display: string | undefined;
  /** Runs a stock tool with DBUS_SESSION_BUS_ADDRESS set to the gateway (and the session's XDG dirs). */
  tool(cmd: string, args: string[], timeoutMs?: number): Promise<RunResult>;
  close(): Promise<void>;
}

/** Starts Xvfb on a free display (it picks the number: -displayfd). */
async function startXvfb(): Promise<{ child: ChildProcess; display: string }> {
  const child = spawn('Xvfb', ['-displayfd', '3', '-nolisten', 'tcp', '-screen', '0', '640x480x24'], {
    stdio: ['ignore', 'ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  (child.stdio[3] as NodeJS.ReadableStream).on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  await until(() => /^\d+\n/.test(out) || child.exitCode !== null, 15_000, `Xvfb to start (${err})`);
  if (child.exitCode !== null) throw new Error(`Xvfb exited: ${err}`);
  return { child, display: `:${out.trim()}` };
}

/**
 * A bus in a temp dir with a gateway; `withDisplay` starts Xvfb. The
 * session's DISPLAY and private XDG config, data and runtime dirs go into
 * the activation environment with `dbus-update-activation-environment`,
 * as a desktop session's start-up does, so activated services use them.
 */
export async function startDesktopSession(withDisplay: boolean): Promise<DesktopSession> {
  const dir = mkdtempSync(join(tmpdir(), 'ipnbus-desk-'));
  const xdg = { XDG_CONFIG_HOME: join(dir, 'config'), XDG_CACHE_HOME: join(dir, 'cache'), XDG_RUNTIME_DIR: join(dir, 'runtime') };
  for (const d of Object.values(xdg)) mkdirSync(d, { mode: 0o700 });
  const busAddress = `ipnbus:path=${join(dir, 'bus')}`;
  const conn = await connect({ address: busAddress, backend: BACKEND });
  const gw = await startGateway({ listen: `unix:path=${join(dir, 'gw.sock')}`, busAddress, backend: BACKEND });
  let x: { child: ChildProcess; display: string } | undefined;
  const started: number[] = [];
  const env = (): string[] => [
    `DBUS_SESSION_BUS_ADDRESS=${gw.address}`,
    ...Object.entries(xdg).map(([k, v]) => `${k}=${v}`),
    ...(x ? [`DISPLAY=${x.display}`] : []),
  ];
  const tool = (cmd: string, args: string[], timeoutMs?: number): Promise<RunResult> => run('env', [...env(), cmd, ...args], timeoutMs);
  try {
    if (withDisplay) x = await startXvfb();
    const up = await tool('dbus-update-activation-environment', [...Object.keys(xdg), ...(x ? ['DISPLAY'] : [])]);
    if (up.code !== 0) throw new Error(`dbus-update-activation-environment failed: ${up.stderr}`);
  } catch (e) {
    await gw.close();
    conn.disconnect();
    x?.child.kill();
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  // Whatever activation starts is recorded by the pid the bus reports for its name.
  conn.on('message', (m: { member?: string; sender?: string; body: unknown[] }) => {
    if (m.member !== 'NameOwnerChanged' || m.sender !== 'org.freedesktop.DBus') return;
    const [name, , owner] = m.body as [string, string, string];
    if (owner === '' || name.startsWith(':')) return;
    const pid = conn.getCredentials(name)?.pid;
    if (pid !== undefined && pid !== process.pid) started.push(pid);
  });
  conn.addMatch("type='signal',sender='org.freedesktop.DBus',member='NameOwnerChanged'");
  await conn.settle();
  return {
    dir,
    gw,
    conn,
    display: x?.display,
    tool,
    async close() {
      for (const pid of started) {
        try {
          process.kill(pid, 'SIGTERM');
        } catch {
          // Already gone.
        }
      }
      await gw.close();
      conn.disconnect();
      if (x && x.child.exitCode === null) {
        const xc = x.child;
        xc.kill('SIGTERM');
        await new Promise((r) => xc.once('close', r));
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * For a test file: a desktop session started before its tests and closed
 * after them. The object returned is the session itself, filled in by the
 * file's first beforeAll.
 */
export function desktopSessionPerFile(withDisplay: boolean): DesktopSession {
  const session = {} as DesktopSession;
  beforeAll(async () => {
    Object.assign(session, await startDesktopSession(withDisplay));
  });
  afterAll(async () => {
    await session.close?.();
  });
  return session;
}
