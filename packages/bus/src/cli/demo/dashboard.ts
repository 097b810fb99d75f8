// The demo's live view: per-process rates computed from the Stats signals each
// process broadcasts, and the bus's names, redrawn in place on a terminal.
import type { Connection } from '../../core/index.js';
import type { Counters } from './protocol.js';

export interface ProcessRow {
  label: string;
  pid: number;
  uniqueName: string;
  /** Latest counters seen on the bus, and when. */
  last?: { at: number; c: Counters };
  /** Rates over the last interval between two Stats signals. */
  rates?: { signalsOut: number; signalsIn: number; callsOut: number; callsIn: number };
}

/** Fold one Stats signal into its row; rates come from the previous sample. */
export function updateRow(row: ProcessRow, c: Counters, at: number): void {
  if (row.last && at > row.last.at) {
    const dt = (at - row.last.at) / 1000;
    row.rates = {
      signalsOut: (c.signalsOut - row.last.c.signalsOut) / dt,
      signalsIn: (c.signalsIn - row.last.c.signalsIn) / dt,
      callsOut: (c.callsOut - row.last.c.callsOut) / dt,
      callsIn: (c.callsIn - row.last.c.callsIn) / dt,
    };
  }
  row.last = { at, c };
}

const rate = (n: number | undefined) => (n === undefined ? '-' : Math.round(n).toString());

export function renderFrame(conn: Connection, rows: ProcessRow[], header: string): string[] {
  const lines: string[] = [header, ''];
  lines.push('Names on the bus (from this member\'s replicated view, no daemon asked):');
  for (const name of conn.listNames().filter((n) => !n.startsWith(':') && n !== 'org.freedesktop.DBus').sort()) {
    const owner = conn.getNameOwner(name);
    const pid = owner ? conn.getCredentials(owner)?.pid : undefined;
    lines.push(`  ${name.padEnd(28)} owner ${String(owner ?? '-').padEnd(10)} pid ${pid ?? '-'}`);
  }
  const members = conn.listNames().filter((n) => n.startsWith(':')).length;
  lines.push(`  (${members} unique names = members, this dashboard included)`, '');
  lines.push(`${'PROCESS'.padEnd(14)} ${'PID'.padStart(7)} ${'NAME'.padEnd(10)} ${'sig out/s'.padStart(10)} ${'sig in/s'.padStart(9)} ${'calls out/s'.padStart(12)} ${'calls in/s'.padStart(11)}`);
  for (const r of rows) {
    lines.push(`${r.label.padEnd(14)} ${String(r.pid).padStart(7)} ${r.uniqueName.padEnd(10)} ${rate(r.rates?.signalsOut).padStart(10)} ${rate(r.rates?.signalsIn).padStart(9)} ${rate(r.rates?.callsOut).padStart(12)} ${rate(r.rates?.callsIn).padStart(11)}`);
  }
  return lines;
}

/** Draws frames: in place on a TTY, as appended plain lines otherwise. */
export class Screen {
  private drawn = 0;
  constructor(private readonly out: NodeJS.WriteStream = process.stdout) {}

  get tty(): boolean {
    return this.out.isTTY === true;
  }

  draw(lines: string[]): void {
    if (this.tty) {
      // Move up over the previous frame and clear to the end of the screen.
      const up = this.drawn > 0 ? `\x1b[${this.drawn}F\x1b[J` : '';
      this.out.write(up + lines.join('\n') + '\n');
      this.drawn = lines.length;
    } else {
      this.out.write(lines.join('\n') + '\n');
    }
  }
}
