// xdg-desktop-portal and its gtk backend, both started by activation through the gateway, answer org.freedesktop.portal.Settings.
import { beforeAll, describe, expect, it } from 'vitest';
import { desktopSessionPerFile } from './session.js';

const PORTAL = 'org.freedesktop.portal.Desktop';
const OBJECT = '/org/freedesktop/portal/desktop';
const GTK = 'org.freedesktop.impl.portal.desktop.gtk';
// The gtk backend opens a display; the portal picks backends by the desktop (gtk.portal: UseIn=gnome).
const s = desktopSessionPerFile(true);

beforeAll(async () => {
  const up = await s.tool('dbus-update-activation-environment', ['XDG_CURRENT_DESKTOP=GNOME']);
  expect(up.code, up.stderr).toBe(0);
});

describe('xdg-desktop-portal through activation', () => {
  it('Settings.Read answers, with the portal and its gtk backend started by activation', async () => {
    expect(s.conn.getNameOwner(PORTAL)).toBeUndefined();
    const t0 = Date.now();
    const r = await s.tool('gdbus', ['call', '--session', '--dest', PORTAL, '--object-path', OBJECT,
      '--method', 'org.freedesktop.portal.Settings.Read', 'org.freedesktop.appearance', 'color-scheme'], 60_000);
    console.log(`Settings.Read with the portal started by activation: ${Date.now() - t0} ms`);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    // No preference: the gtk backend's answer for a session with no color scheme set.
    expect(r.stdout.trim()).toBe('(<<uint32 0>>,)');
    // The portal asked its gtk backend, itself started by activation.
    expect(s.conn.getNameOwner(PORTAL)).toBeDefined();
    expect(s.conn.getNameOwner(GTK)).toBeDefined();
    // A key the gtk backend reads from GSettings (the schema's default).
    const clock = await s.tool('gdbus', ['call', '--session', '--dest', PORTAL, '--object-path', OBJECT,
      '--method', 'org.freedesktop.portal.Settings.Read', 'org.gnome.desktop.interface', 'clock-format']);
    expect(clock.stderr).toBe('');
    expect(clock.stdout.trim()).toBe("(<<'24h'>>,)");
    const version = await s.tool('gdbus', ['call', '--session', '--dest', PORTAL, '--object-path', OBJECT,
      '--method', 'org.freedesktop.DBus.Properties.Get', 'org.freedesktop.portal.Settings', 'version']);
    expect(version.stderr).toBe('');
    expect(version.stdout.trim()).toMatch(/^\(<uint32 [1-9]\d*>,\)$/);
  });
});
