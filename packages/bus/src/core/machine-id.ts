// The machine id for org.freedesktop.DBus.Peer.GetMachineId.
import { readFileSync } from 'node:fs';

let cached: string | undefined;

/** /etc/machine-id or D-Bus's copy; the bus id where neither exists (containers). */
export function machineId(fallback: string): string {
  if (cached !== undefined) return cached;
  for (const p of ['/etc/machine-id', '/var/lib/dbus/machine-id']) {
    try {
      const id = readFileSync(p, 'utf8').trim();
      if (/^[0-9a-f]{32}$/.test(id)) return (cached = id);
    } catch { /* try the next */ }
  }
  return fallback;
}
