// `ipnbus demo` (what `npm start` runs): a private bus in a temp dir, a service and
// subscriber processes, live figures, a summary after ~10 s, then everything cleaned up.
import { fork, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type Connection } from '../../core/index.js';
import { MessageType, type Message } from '../../wire/index.js';
import { cliLogger } from '../open-bus.js';
import { renderFrame, Screen, updateRow, type ProcessRow } from '../demo/dashboard.js';
import { DEMO_IFACE, STATS, STATS_RULE, type ChildArgs, type ChildReport, type Counters } from '../demo/protocol.js';
import { EXIT_FAILURE, EXIT_OK, UsageError } from '../errors.js';
import { backendOption, intOption, parseVerbArgs, type Verb } from '../verb.js';

const CHILD = new URL('../demo/child.js', import.meta.url);

const help = `Usage: ipnbus demo [--seconds N] [--subscribers N] [--rate N] [--backend auto|user|kernel]

Creates a private bus in a temporary directory (no daemon anywhere), starts a
clock service process and subscriber processes, and shows live what flows:
names and owners, signals/s and calls/s per process. Ends by itself with a
summary and removes everything it created. Needs no root and no kernel module
(with ipn.ko loaded, --backend auto uses it).

Options:
  --seconds N       how long to run (default 10)
  --subscribers N   subscriber processes (default 3, at most 32)
  --rate N          Tick signals per second from the service (default 200)
  --backend KIND    auto (default), user or kernel
  -h, --help        this text
`;

interface Child {
  label: string;
  proc: ChildProcess;
  ready: Promise<{ uniqueName: string; pid: number }>;
  final: Promise<{ counters: Counters; seconds: number } | undefined>;
  /** Set by the first stopChild(): stopping twice must not signal twice. */
  stopped?: Promise<{ counters: Counters; seconds: number } | undefined>;
}

function startChild(args: ChildArgs): Child {
  const proc = fork(CHILD, [JSON.stringify(args)], { stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
  // A child that is already leaving makes IPC sends fail with EPIPE; its exit is
  // what we wait for anyway, so the error carries no news.
  proc.on('error', () => {});
  let stderr = '';
  proc.stderr?.on('data', (d: Buffer) => { stderr = (stderr + d.toString()).slice(-2000); });
  const ready = new Promise<{ uniqueName: string; pid: number }>((resolve, reject) => {
    proc.on('message', (r: ChildReport) => {
      if (r.t === 'ready') resolve(r);
      if (r.t === 'error') reject(new Error(`${args.label}: ${r.message}`));
    });
    proc.once('exit', (code) => reject(new Error(`${args.label} exited (${code}) before it was ready${stderr ? `: ${stderr.trim()}` : ''}`)));
  });
  const final = new Promise<{ counters: Counters; seconds: number } | undefined>((resolve) => {
    proc.on('message', (r: ChildReport) => {
      if (r.t === 'final') resolve({ counters: r.counters, seconds: r.seconds });
    });
    proc.once('exit', () => resolve(undefined));
  });
  ready.catch(() => {}); // observed by the caller; avoid an unhandled rejection meanwhile
  return { label: args.label, proc, ready, final };
}

function stopChild(c: Child): Promise<{ counters: Counters; seconds: number } | undefined> {
  c.stopped ??= (async () => {
    if (c.proc.exitCode !== null || c.proc.signalCode !== null) return c.final;
    if (c.proc.connected) c.proc.send({ t: 'stop' });
    const killer = setTimeout(() => c.proc.kill('SIGKILL'), 3000);
    const counters = await c.final;
    clearTimeout(killer);
    return counters;
  })();
  return c.stopped;
}

export const demoVerb: Verb = {
  name: 'demo',
  summary: 'a private bus with a service and subscribers, live (npm start)',
  help,
  async run(argv, globals) {
    const { values, positionals, globals: g } = parseVerbArgs('demo', argv, {
      seconds: { type: 'string' },
      subscribers: { type: 'string' },
      rate: { type: 'string' },
      backend: { type: 'string' },
    }, globals);
    if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`, 'demo');
    const seconds = intOption('demo', 'seconds', values.seconds, 10);
    const nSubs = intOption('demo', 'subscribers', values.subscribers, 3);
    const tickRate = intOption('demo', 'rate', values.rate, 200);
    if (seconds < 1 || seconds > 3600) throw new UsageError('--seconds must be 1..3600', 'demo');
    if (nSubs < 1 || nSubs > 32) throw new UsageError('--subscribers must be 1..32', 'demo');
    if (tickRate < 1 || tickRate > 100_000) throw new UsageError('--rate must be 1..100000', 'demo');
    const backend = backendOption('demo', values.backend, 'auto');
    if (g.address !== undefined) throw new UsageError('demo always makes its own private bus; --address does not apply', 'demo');

    const dir = await mkdtemp(join(tmpdir(), 'ipnbus-demo-'));
    const address = `ipnbus:path=${join(dir, 'bus')}`;
    const kernelLoaded = existsSync('/sys/module/ipn');
    const backendShown = backend === 'auto' ? (kernelLoaded ? 'kernel (ipn.ko loaded)' : 'user (ipn.ko not loaded)') : backend;
    const children: Child[] = [];
    let conn: Connection | undefined;
    const screen = new Screen();
    const out = (s: string) => process.stdout.write(s + '\n');
    try {
      // The dashboard creates the bus; everyone else joins what it finds.
      conn = await connect({ address, backend: backend, logger: cliLogger(g) });
      out(`ipnbus demo: private bus ${address}, backend ${backendShown}; no daemon, every process is a peer.`);
      out(`Starting 1 service + ${nSubs} subscriber processes for ${seconds} s ...`);
      const rows = new Map<string, ProcessRow>();
      conn.addMatch(STATS_RULE);
      conn.on('message', (msg: Message) => {
        if (msg.type !== MessageType.SIGNAL || msg.interface !== DEMO_IFACE || msg.member !== STATS || !msg.sender) return;
        const row = rows.get(msg.sender);
        if (row) updateRow(row, msg.body[1] as Counters, Date.now());
      });

      const service = startChild({ role: 'service', label: 'service', address, rate: tickRate });
      children.push(service);
      const sReady = await service.ready;
      rows.set(sReady.uniqueName, { label: 'service', ...sReady });
      for (let i = 1; i <= nSubs; i++) children.push(startChild({ role: 'subscriber', label: `subscriber-${i}`, address, rate: 100 }));
      for (const c of children.slice(1)) {
        const r = await c.ready;
        rows.set(r.uniqueName, { label: c.label, ...r });
      }

      let interrupted = false;
      const started = Date.now();
      await new Promise<void>((resolve) => {
        const onSignal = () => {
          interrupted = true;
          resolve();
        };
        process.once('SIGINT', onSignal);
        let frames = 0;
        const tick = setInterval(() => {
          const t = (Date.now() - started) / 1000;
          frames++;
          if (screen.tty) {
            screen.draw(renderFrame(conn!, [...rows.values()], `t = ${t.toFixed(1)} s of ${seconds} s   (Ctrl-C to stop early)`));
          } else if (frames % 4 === 0) {
            // Plain output (pipes, CI): one compact line per process every 2 s.
            for (const r of rows.values()) {
              const x = r.rates;
              out(`[t=${t.toFixed(0)}s] ${r.label} pid ${r.pid} ${r.uniqueName}: signals out ${Math.round(x?.signalsOut ?? 0)}/s in ${Math.round(x?.signalsIn ?? 0)}/s, calls out ${Math.round(x?.callsOut ?? 0)}/s in ${Math.round(x?.callsIn ?? 0)}/s`);
            }
          }
          if (t >= seconds) {
            clearInterval(tick);
            process.off('SIGINT', onSignal);
            resolve();
          }
        }, 500);
      });

      // All at once: each child stops sending at once but stays on the bus a
      // moment, so in-flight calls get answered and the last Ticks arrive.
      const finals = await Promise.all(children.map(stopChild));
      const elapsed = (Date.now() - started) / 1000;
      out('');
      out(`Summary after ${elapsed.toFixed(1)} s${interrupted ? ' (interrupted)' : ''}:`);
      let ok = true;
      children.forEach((c, i) => {
        const fin = finals[i];
        if (!fin) {
          ok = false;
          out(`  ${c.label}: no final report (process died)`);
          return;
        }
        const f = fin.counters;
        const per = (n: number) => Math.round(n / Math.max(fin.seconds, 0.001));
        if (c.label === 'service') {
          out(`  ${c.label}: ${f.signalsOut} Ticks broadcast (${per(f.signalsOut)}/s), ${f.callsIn} calls answered (${per(f.callsIn)}/s)`);
        } else {
          out(`  ${c.label}: ${f.signalsIn} Ticks received (${per(f.signalsIn)}/s), ${f.signalsMissed} missing in the sequence; ${f.callsOut} calls ok (${per(f.callsOut)}/s), ${f.callErrors} failed`);
          if (f.signalsIn === 0 || f.callsOut === 0 || f.signalsMissed > 0 || f.callErrors > 0) ok = false;
        }
      });
      out(ok ? 'No gaps in any subscriber\'s Tick sequence, every call answered correctly.' : 'Something went wrong: see the lines above.');
      out('Cleaned up: all processes stopped, bus directory removed.');
      return ok ? EXIT_OK : EXIT_FAILURE;
    } finally {
      await Promise.all(children.map(stopChild));
      conn?.disconnect();
      await rm(dir, { recursive: true, force: true });
    }
  },
};
