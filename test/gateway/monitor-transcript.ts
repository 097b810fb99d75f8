// dbus-monitor's output reduced to what must match between ipnbus and dbus-daemon: who sent what to whom, in what order.
//
// Unique names differ between two buses, and so do serials (each bus
// numbers its own messages) and times. A transcript names the parties by
// role, replaces a reply's reply_serial with the member of the call it
// answers, and leaves out error texts (each bus words its own) but not
// error names. A record naming a unique name with no role (the gateway's
// own member, a helper connection) is left out.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { until } from './helpers.js';

const HEADER = /^(method call|method return|error|signal) (.*)$/;

/** One message as dbus-monitor printed it: its header line and its argument lines. */
interface Printed {
  kind: string;
  fields: Map<string, string>;
  args: string[];
}

function parse(output: string): Printed[] {
  const out: Printed[] = [];
  for (const line of output.split('\n')) {
    const h = HEADER.exec(line);
    if (h !== null) {
      const fields = new Map<string, string>();
      for (const m of h[2]!.matchAll(/(\w+)=([^\s;]+)/g)) fields.set(m[1]!, m[2]!);
      out.push({ kind: h[1]!, fields, args: [] });
    } else if (out.length > 0 && line.trim() !== '') out.at(-1)!.args.push(line.trim());
  }
  return out;
}

/**
 * The records of `output` from the first call of `from` (a member name)
 * up to, not including, the first message of member `to`, as lines like
 * "error bus -> caller NoReply reply_to=Slow" (see the file's comment).
 * `roles` maps unique names to the role they play.
 */
export function transcript(output: string, roles: Record<string, string>, from: string, to: string): string[] {
  let stranger = false;
  const role = (name: string | undefined): string => {
    if (name === undefined || name === '(null') return '*';
    if (name === 'org.freedesktop.DBus') return 'bus';
    if (!name.startsWith(':')) return name;
    if (roles[name] === undefined) stranger = true;
    return roles[name] ?? '?';
  };
  const calls = new Map<string, string>(); // "<caller role>/<serial>" -> member
  const lines: string[] = [];
  let started = false;
  for (const p of parse(output)) {
    const f = p.fields;
    if (p.kind === 'method call') calls.set(`${role(f.get('sender'))}/${f.get('serial')}`, f.get('member')!);
    if (!started && !(p.kind === 'method call' && f.get('member') === from)) continue;
    started = true;
    if (f.get('member') === to) return lines;
    stranger = false;
    const parts = [p.kind, role(f.get('sender')), '->', role(f.get('destination'))];
    for (const key of ['interface', 'member', 'error_name']) if (f.has(key)) parts.push(f.get(key)!);
    if (f.has('reply_serial')) parts.push(`reply_to=${calls.get(`${role(f.get('destination'))}/${f.get('reply_serial')}`) ?? '?'}`);
    const args = p.kind === 'error' ? [] : p.args.map((a) => a.replace(/:[\d.]+/g, (n) => role(n)));
    const line = [parts.join(' '), ...args].join(' | ');
    if (!stranger) lines.push(line);
  }
  return lines;
}

/** A private dbus-daemon with session policy and these <limit>s, listening in a temp dir. */
export async function startDbusDaemon(limits: Record<string, number>): Promise<{ address: string; close(): Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'ipnbus-dbus-daemon-'));
  const address = `unix:path=${join(dir, 'bus')}`;
  const config = join(dir, 'bus.conf');
  writeFileSync(config, `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>${address}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default"><allow send_destination="*" eavesdrop="true"/><allow eavesdrop="true"/><allow own="*"/></policy>
${Object.entries(limits).map(([k, v]) => `  <limit name="${k}">${v}</limit>`).join('\n')}
</busconfig>
`);
  const daemon = spawn('dbus-daemon', ['--config-file', config, '--nofork', '--print-address'], { stdio: ['ignore', 'pipe', 'ignore'] });
  let printed = '';
  daemon.stdout!.on('data', (d: Buffer) => (printed += d.toString()));
  try {
    await until(() => printed.includes('\n'), 10_000, 'dbus-daemon to print its address');
  } catch (e) {
    daemon.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  return {
    address,
    close: () =>
      new Promise<void>((resolve) => {
        daemon.once('close', () => {
          rmSync(dir, { recursive: true, force: true });
          resolve();
        });
        daemon.kill('SIGTERM');
      }),
  };
}
