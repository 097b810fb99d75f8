// Where session .service files are looked for, and finding the one that provides a name.
import { promises as fsp } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { parseServiceFile, type ServiceFile } from './service-file.js';

/**
 * The session service directories, first match wins: those the bus is
 * configured with (activation.json, connect options), then, as the D-Bus
 * spec names them, $XDG_DATA_HOME/dbus-1/services (default
 * ~/.local/share) and each $XDG_DATA_DIRS entry's dbus-1/services (default
 * /usr/local/share:/usr/share). Relative XDG entries are ignored, as the
 * base-directory spec says.
 */
export function sessionServiceDirs(configured: string[], env: NodeJS.ProcessEnv = process.env): string[] {
  const dirs = [...configured];
  const dataHome = env.XDG_DATA_HOME && env.XDG_DATA_HOME.startsWith('/') ? env.XDG_DATA_HOME : join(env.HOME || homedir(), '.local/share');
  dirs.push(join(dataHome, 'dbus-1/services'));
  const dataDirs = env.XDG_DATA_DIRS && env.XDG_DATA_DIRS.trim() !== '' ? env.XDG_DATA_DIRS : '/usr/local/share:/usr/share';
  for (const d of dataDirs.split(':')) if (d.startsWith('/')) dirs.push(join(d, 'dbus-1/services'));
  return [...new Set(dirs)];
}

/** The .service files of one directory, parsed; missing directories and unreadable or invalid files are skipped. */
async function readDir(dir: string, skipped: (path: string, why: string) => void): Promise<ServiceFile[]> {
  let names: string[];
  try {
    names = (await fsp.readdir(dir)).filter((n) => n.endsWith('.service')).sort();
  } catch {
    return [];
  }
  const out: ServiceFile[] = [];
  for (const n of names) {
    const path = join(dir, n);
    let text: string;
    try {
      text = await fsp.readFile(path, 'utf8');
    } catch (e) {
      skipped(path, (e as Error).message);
      continue;
    }
    const r = parseServiceFile(text, path);
    if (r.file) out.push(r.file);
    else skipped(path, r.why ?? 'invalid');
  }
  return out;
}

/**
 * The service file that provides `name`: in the first directory that has
 * one, the file named `<name>.service` if it declares the name, else the
 * first (by file name) that does (dunst ships org.knopwob.dunst.service
 * with Name=org.freedesktop.Notifications).
 */
export async function findServiceFile(
  name: string,
  dirs: string[],
  skipped: (path: string, why: string) => void = () => undefined,
): Promise<ServiceFile | undefined> {
  for (const dir of dirs) {
    const files = (await readDir(dir, skipped)).filter((f) => f.name === name);
    if (files.length === 0) continue;
    return files.find((f) => f.path === join(dir, `${name}.service`)) ?? files[0];
  }
  return undefined;
}

/** Every name some service file in `dirs` provides, sorted. */
export async function activatableNames(dirs: string[], skipped: (path: string, why: string) => void = () => undefined): Promise<string[]> {
  const names = new Set<string>();
  for (const dir of dirs) for (const f of await readDir(dir, skipped)) names.add(f.name);
  return [...names].sort();
}
