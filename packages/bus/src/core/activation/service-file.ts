// A session .service file: the [D-BUS Service] group of a desktop-entry-style key file.
import { isValidBusName } from '../../wire/index.js';

export interface ServiceFile {
  /** The well-known name it provides (Name=). */
  name: string;
  /** Exec= as written; split with parseExecLine when run. */
  exec?: string;
  /** SystemdService=: the unit systemd --user starts instead, when it runs. */
  systemdService?: string;
  /** Where it was read from. */
  path: string;
}

const GROUP = 'D-BUS Service';

/**
 * Parses the file's text; undefined (with `why`) when it is not a usable
 * service file: no [D-BUS Service] group, no valid Name=, or neither Exec=
 * nor SystemdService=. Blank lines and '#' comments are skipped; spaces
 * around '=' are ignored, as the desktop entry format says; other groups
 * and unknown keys (User=, AssumedAppArmorLabel=...) are ignored.
 */
export function parseServiceFile(text: string, path: string): { file?: ServiceFile; why?: string } {
  let group: string | undefined;
  const keys = new Map<string, string>();
  for (const raw of text.split('\n')) {
    const line = raw.replace(/\r$/, '').trim();
    if (line === '' || line.startsWith('#')) continue;
    if (line.startsWith('[')) {
      if (!line.endsWith(']')) return { why: `bad group header ${JSON.stringify(line)}` };
      group = line.slice(1, -1);
      continue;
    }
    if (group !== GROUP) continue;
    const eq = line.indexOf('=');
    if (eq <= 0) return { why: `line ${JSON.stringify(line)} is not Key=Value` };
    const key = line.slice(0, eq).trim();
    // The first occurrence wins, as GKeyFile and dbus-daemon's parser agree on.
    if (!keys.has(key)) keys.set(key, line.slice(eq + 1).trim());
  }
  const name = keys.get('Name');
  if (name === undefined) return { why: 'no Name= in [D-BUS Service]' };
  if (!isValidBusName(name) || name.startsWith(':')) return { why: `Name=${name} is not a valid well-known bus name` };
  const exec = keys.get('Exec');
  const systemdService = keys.get('SystemdService');
  if (exec === undefined && systemdService === undefined) return { why: 'neither Exec= nor SystemdService=' };
  const file: ServiceFile = { name, path };
  if (exec !== undefined) file.exec = exec;
  if (systemdService !== undefined) file.systemdService = systemdService;
  return { file };
}
