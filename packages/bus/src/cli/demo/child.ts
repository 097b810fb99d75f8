// A demo process: the clock service (owns a name, broadcasts Ticks, answers Add)
// or a subscriber (listens to Ticks, calls Add). Started by `ipnbus demo` only.
import { connect, type Connection } from '../../core/index.js';
import { MessageType, type Message } from '../../wire/index.js';
import {
  ADD, DEMO_IFACE, DEMO_PATH, DEMO_SERVICE, STATS, TICK, TICK_RULE, zeroCounters,
  type ChildArgs, type ChildReport, type Counters,
} from './protocol.js';

// The dashboard may already be gone (Ctrl-C): then there is nobody to tell.
const report = (r: ChildReport) => {
  if (process.connected) process.send?.(r);
};
const counters: Counters = zeroCounters();
const timers: NodeJS.Timeout[] = [];
let stopping = false;

function runService(conn: Connection, rate: number): void {
  conn.on('methodCall', ({ msg }: { msg: Message }) => {
    if (msg.interface !== DEMO_IFACE || msg.member !== ADD) {
      conn.replyError(msg, 'org.freedesktop.DBus.Error.UnknownMethod', `no method ${msg.interface}.${msg.member}`);
      return;
    }
    counters.callsIn++;
    const [a, b] = msg.body as [number, number];
    // Int32 wrap-around, as a C service would compute it.
    conn.reply(msg, 'i', [(a + b) | 0]);
  });
  // Timers fire at best every few ms: send a small batch per 20 ms to reach `rate`.
  let seq = 0n;
  const start = Date.now();
  timers.push(setInterval(() => {
    const due = Math.floor(((Date.now() - start) / 1000) * rate);
    while (Number(seq) < due) {
      seq++;
      conn.emitSignal(DEMO_PATH, DEMO_IFACE, TICK, 'ts', [seq, `tick ${seq}`]);
      counters.signalsOut++;
    }
  }, 20));
}

function runSubscriber(conn: Connection, rate: number): void {
  let lastSeq = 0n;
  conn.addMatch(TICK_RULE);
  conn.on('message', (msg: Message) => {
    if (msg.type !== MessageType.SIGNAL || msg.member !== TICK || msg.interface !== DEMO_IFACE) return;
    const seq = msg.body[0] as bigint;
    counters.signalsIn++;
    // Joined mid-stream: the first Tick seen sets the baseline, later gaps are losses.
    if (lastSeq !== 0n && seq > lastSeq + 1n) counters.signalsMissed += Number(seq - lastSeq - 1n);
    lastSeq = seq;
  });
  // Paced calls, one in flight: the figure shown is the rate achieved, not asked.
  const loop = async () => {
    while (!stopping) {
      const t0 = Date.now();
      const a = Math.floor(Math.random() * 1000);
      const b = Math.floor(Math.random() * 1000);
      try {
        const { reply } = await conn.call({ destination: DEMO_SERVICE, path: DEMO_PATH, interface: DEMO_IFACE, member: ADD, signature: 'ii', body: [a, b] }, { timeoutMs: 5000 });
        if (reply.body[0] === a + b) counters.callsOut++;
        else counters.callErrors++;
      } catch {
        if (!stopping) counters.callErrors++;
      }
      const wait = 1000 / rate - (Date.now() - t0);
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
  };
  void loop();
}

async function main(): Promise<void> {
  const args = JSON.parse(process.argv[2] ?? 'null') as ChildArgs | null;
  if (!args || process.send === undefined) {
    process.stderr.write('demo child: run by `ipnbus demo` only\n');
    process.exit(2);
  }
  const conn = await connect({ address: args.address });
  const started = Date.now();
  if (args.role === 'service') {
    const code = await conn.requestName(DEMO_SERVICE, 4 /* DO_NOT_QUEUE */);
    if (code !== 1) throw new Error(`could not own ${DEMO_SERVICE} (reply ${code})`);
    runService(conn, args.rate);
  } else {
    runSubscriber(conn, args.rate);
  }
  // Live figures go over the bus itself: the dashboard is just another member.
  timers.push(setInterval(() => {
    conn.emitSignal(DEMO_PATH, DEMO_IFACE, STATS, 'sa{sd}', [`${args.role}:${args.label}`, { ...counters }]);
  }, 500));

  const finish = () => {
    if (stopping) return;
    stopping = true;
    for (const t of timers) clearInterval(t);
    // Let calls and Ticks in flight land before the final count.
    setTimeout(() => {
      report({ t: 'final', uniqueName: conn.uniqueName, counters, seconds: (Date.now() - started) / 1000 });
      conn.disconnect();
      process.exit(0);
    }, 200);
  };
  process.on('message', (m: { t: string }) => {
    if (m.t === 'stop') finish();
  });
  process.on('disconnect', finish);
  process.on('SIGTERM', finish);
  report({ t: 'ready', uniqueName: conn.uniqueName, pid: process.pid });
}

main().catch((err: unknown) => {
  report({ t: 'error', message: (err as Error)?.message ?? String(err) });
  process.exit(1);
});
