// notify-send with no notification daemon running: dunst is started by activation (under Xvfb), and --wait sees NotificationClosed.
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { desktopSessionPerFile } from './session.js';
import { until } from '../until.mjs';

const NOTIFICATIONS = 'org.freedesktop.Notifications';
const s = desktopSessionPerFile(true);

describe('notifications through activation', () => {
  it('notify-send starts dunst from its .service file and gets its notification shown', async () => {
    expect(s.conn.getNameOwner(NOTIFICATIONS)).toBeUndefined();
    const t0 = Date.now();
    const r = await s.tool('notify-send', ['--print-id', 'hello from ipnbus', 'started by activation'], 30_000);
    const ms = Date.now() - t0;
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toMatch(/^\d+$/);
    console.log(`notify-send with dunst started by activation: ${ms} ms`);
    const owner = s.conn.getNameOwner(NOTIFICATIONS);
    expect(owner).toBeDefined();
    // It is dunst, a stock client of the gateway.
    const info = await s.tool('gdbus', ['call', '--session', '--dest', NOTIFICATIONS, '--object-path', '/org/freedesktop/Notifications',
      '--method', 'org.freedesktop.Notifications.GetServerInformation']);
    expect(info.stdout).toMatch(/^\('dunst', /);
  });

  it('notify-send --wait sees NotificationClosed when dunstctl closes the notification', async () => {
    const displayed = async (): Promise<number> => {
      const r = await s.tool('dunstctl', ['count', 'displayed']);
      return r.code === 0 ? Number(r.stdout.trim()) : -1;
    };
    // The first test's notification may still be up.
    expect((await s.tool('dunstctl', ['close-all'])).code).toBe(0);
    await until(async () => (await displayed()) === 0, 10_000, 'no notification displayed');
    const waiter = spawn('env', [`DBUS_SESSION_BUS_ADDRESS=${s.gw.address}`, 'notify-send', '--wait', '--expire-time=0', 'waiting', 'close me'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let err = '';
    waiter.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const exited = new Promise<number | null>((resolve) => waiter.once('close', (code) => resolve(code)));
    try {
      await until(async () => (await displayed()) === 1, 15_000, 'the notification to be displayed');
      expect(waiter.exitCode).toBeNull();
      // Closing it makes dunst emit NotificationClosed, which notify-send waits for.
      const closed = await s.tool('dunstctl', ['close-all']);
      expect(closed.code, closed.stderr).toBe(0);
      expect(await exited).toBe(0);
      expect(err).toBe('');
    } finally {
      if (waiter.exitCode === null) waiter.kill();
    }
  });
});

