// What a monitor sees of the messages the bus makes up, on ipnbus and on a real dbus-daemon, compared message for message.
//
// The same scenario runs twice: on a private dbus-daemon, its parties
// dbus-next clients (the bus makes the errors: its reply_timeout, its
// max_replies_per_connection), and on ipnbus, its parties native members
// (each member's core makes them: its call timeout, its maxPendingCalls).
// dbus-monitor watches both; its output, reduced to who sent what to whom
// in what order (monitor-transcript.ts), must be the same.
import dbus from 'dbus-next';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from '../../packages/bus/src/core/index.js';
import { BACKEND, perBackend } from '../backend.mjs';
import { startTestBus, until, Watched, type TestBus } from './helpers.js';
import { startDbusDaemon, transcript } from './monitor-transcript.js';

const SLOW = 'com.example.Slow';
const X = 'com.example.X';
const TIMEOUT_MS = 700;

/** One connection of a scenario, on either bus. */
interface Party {
  readonly name: string;
  requestName(name: string): Promise<void>;
  /** ListNames and GetNameOwner: is `name` listed, and who owns it (undefined: NameHasNoOwner)? */
  lookUp(name: string): Promise<{ listed: boolean; owner: string | undefined }>;
  /** Calls X.<member> on `dest`: 'ok', or the error's name. */
  call(dest: string, member: string): Promise<string>;
  /** Takes method calls and never answers them. */
  neverReply(): void;
  becomeMonitor(): Promise<void>;
  /** Broadcasts com.example.Test.End: the end of a transcript. */
  end(): void;
  leave(): void;
}

interface PartyOptions {
  /** ipnbus: the member's call timeout (dbus-daemon: its reply_timeout). */
  timeoutMs?: number;
  /** ipnbus: the member's maxPendingCalls (dbus-daemon: its max_replies_per_connection). */
  maxPendingCalls?: number;
}

async function nextParty(address: string): Promise<Party> {
  const bus = dbus.sessionBus({ busAddress: address });
  await new Promise<void>((resolve, reject) => {
    bus.once('connect', () => resolve());
    bus.once('error', reject);
  });
  const driver = (member: string, signature: string, body: unknown[], iface = 'org.freedesktop.DBus'): Promise<unknown> =>
    bus.call(new dbus.Message({ destination: 'org.freedesktop.DBus', path: '/org/freedesktop/DBus', interface: iface, member, signature, body }));
  return {
    name: bus.name!,
    requestName: async (name) => void (await driver('RequestName', 'su', [name, 0])),
    lookUp: async (name) => {
      const list = (await driver('ListNames', '', [])) as { body: string[][] };
      const owner = await driver('GetNameOwner', 's', [name]).then((r) => (r as { body: string[] }).body[0], () => undefined);
      return { listed: list.body[0]!.includes(name), owner };
    },
    call: (dest, member) =>
      bus.call(new dbus.Message({ destination: dest, path: '/', interface: X, member })).then(
        () => 'ok',
        (e: { type?: string }) => e.type ?? String(e),
      ),
    neverReply: () => bus.addMethodHandler(() => true),
    becomeMonitor: async () => void (await driver('BecomeMonitor', 'asu', [[], 0], 'org.freedesktop.DBus.Monitoring')),
    end: () => bus.send(new dbus.Message({ type: dbus.MessageType.SIGNAL, path: '/', interface: 'com.example.Test', member: 'End' })),
    leave: () => {
      try {
        bus.disconnect();
      } catch {
        // Already gone.
      }
    },
  };
}

let ipn: TestBus;

beforeAll(async () => {
  ipn = await startTestBus();
});

afterAll(async () => {
  await ipn?.close();
});

/**
 * A native member that has the gateway's monitor record: a round trip to
 * the gateway's member, which sent it the record at its join, proves it.
 */
async function nativeParty(opts: PartyOptions): Promise<Party> {
  const conn = await connect({
    address: ipn.busAddress,
    backend: BACKEND,
    ...(opts.maxPendingCalls !== undefined ? { limits: { maxPendingCalls: opts.maxPendingCalls } } : {}),
  });
  const gw = ipn.gw.connection;
  await until(() => conn.listNames().includes(gw.uniqueName) && gw.listNames().includes(conn.uniqueName), 10_000, 'the member and the gateway to know each other');
  await conn.call({ destination: gw.uniqueName, path: '/', interface: 'org.freedesktop.DBus.Peer', member: 'Ping' });
  return {
    name: conn.uniqueName,
    requestName: async (name) => void (await conn.requestName(name, 0)),
    lookUp: async (name) => ({ listed: conn.listNames().includes(name), owner: conn.getNameOwner(name) }),
    call: (dest, member) =>
      conn.call({ destination: dest, path: '/', interface: X, member }, opts.timeoutMs !== undefined ? { timeoutMs: opts.timeoutMs } : {}).then(
        () => 'ok',
        (e: Error) => e.name,
      ),
    neverReply: () => conn.on('methodCall', () => undefined),
    becomeMonitor: async () => conn.becomeMonitor([]),
    end: () => conn.emitSignal('/', 'com.example.Test', 'End', '', []),
    leave: () => conn.disconnect(),
  };
}

/** What a scenario does with its parties; it returns the roles of the unique names it used. */
type Scenario = (party: (opts?: PartyOptions) => Promise<Party>, known: (name: string) => Promise<void>) => Promise<Record<string, string>>;

/**
 * Runs `scenario` on a dbus-daemon with `limits` and on ipnbus (parties
 * made with `opts`), each watched by dbus-monitor: the two transcripts
 * from the call of member `from` on, and the ipnbus one.
 */
async function both(limits: Record<string, number>, opts: PartyOptions, from: string, scenario: Scenario): Promise<{ daemon: string[]; ipnbus: string[] }> {
  const run = async (address: string, make: (o?: PartyOptions) => Promise<Party>, known: (n: string) => Promise<void>): Promise<string[]> => {
    const mon = new Watched('dbus-monitor', ['--address', address], perBackend({ user: 30_000, kernel: 120_000 }));
    const parties: Party[] = [];
    const party = async (o?: PartyOptions): Promise<Party> => {
      const p = await make(o);
      parties.push(p);
      return p;
    };
    try {
      await mon.waitFor(/member=NameLost/);
      const roles = await scenario(party, known);
      // The end marker once all the scenario made is shown; the parties leave after it (their order is no part of it).
      const ender = await party();
      ender.end();
      await mon.waitFor(/member=End/, perBackend({ user: 10_000, kernel: 30_000 }));
      return transcript(mon.output, roles, from, 'End');
    } finally {
      for (const p of parties) p.leave();
      await mon.stop();
    }
  };
  const daemonBus = await startDbusDaemon(limits);
  let daemon: string[];
  try {
    daemon = await run(daemonBus.address, () => nextParty(daemonBus.address), async () => undefined);
  } finally {
    await daemonBus.close();
  }
  const gw = ipn.gw.connection;
  const ipnbus = await run(ipn.gw.address, (o) => nativeParty({ ...opts, ...o }), (name) =>
    until(() => gw.getNameOwner(name) !== undefined, 10_000, `${name} to be known to the gateway`));
  return { daemon, ipnbus };
}

describe('errors a native member\'s core makes up for its own calls, shown to monitors as dbus-daemon shows its own', () => {
  it('NoReply when the call times out', async () => {
    const { daemon, ipnbus } = await both({ reply_timeout: TIMEOUT_MS }, {}, 'Timeout', async (party, known) => {
      const svc = await party();
      await svc.requestName(SLOW);
      svc.neverReply();
      await known(SLOW);
      const caller = await party({ timeoutMs: TIMEOUT_MS });
      expect(await caller.call(SLOW, 'Timeout')).toBe('org.freedesktop.DBus.Error.NoReply');
      return { [svc.name]: 'svc', [caller.name]: 'caller' };
    });
    expect(daemon).toEqual([
      `method call caller -> ${SLOW} ${X} Timeout`,
      'error bus -> caller org.freedesktop.DBus.Error.NoReply reply_to=Timeout',
    ]);
    expect(ipnbus).toEqual(daemon);
  });

  it('LimitsExceeded past the pending-call limit, then NameLost, NameOwnerChanged and NoReply as the callee leaves', async () => {
    const { daemon, ipnbus } = await both({ max_replies_per_connection: 1 }, { maxPendingCalls: 1 }, 'Pending', async (party, known) => {
      const svc = await party();
      await svc.requestName(SLOW);
      svc.neverReply();
      await known(SLOW);
      const caller = await party();
      const pending = caller.call(SLOW, 'Pending');
      expect(await caller.call(SLOW, 'OverLimit')).toBe('org.freedesktop.DBus.Error.LimitsExceeded');
      svc.leave();
      expect(await pending).toBe('org.freedesktop.DBus.Error.NoReply');
      return { [svc.name]: 'svc', [caller.name]: 'caller' };
    });
    const BUS = 'org.freedesktop.DBus';
    expect(daemon).toEqual([
      `method call caller -> ${SLOW} ${X} Pending`,
      `method call caller -> ${SLOW} ${X} OverLimit`,
      `error bus -> caller ${BUS}.Error.LimitsExceeded reply_to=OverLimit`,
      `signal bus -> svc ${BUS} NameLost | string "${SLOW}"`,
      `signal bus -> * ${BUS} NameOwnerChanged | string "${SLOW}" | string "svc" | string ""`,
      'signal bus -> svc org.freedesktop.DBus NameLost | string "svc"',
      `signal bus -> * ${BUS} NameOwnerChanged | string "svc" | string "svc" | string ""`,
      `error bus -> caller ${BUS}.Error.NoReply reply_to=Pending`,
    ]);
    expect(ipnbus).toEqual(daemon);
  });
});

describe('a native member becoming a monitor, as dbus-daemon shows BecomeMonitor', () => {
  it('the call, its reply, then NameLost and NameOwnerChanged for its unique name and for the name it owned', async () => {
    const { daemon, ipnbus } = await both({}, {}, 'BecomeMonitor', async (party, known) => {
      const m = await party();
      await m.requestName('com.example.Watcher');
      await known('com.example.Watcher');
      await m.becomeMonitor();
      // Its name is gone for the others too (on ipnbus once the monitor's record reached them).
      const other = await party();
      await until(async () => !(await other.lookUp(m.name)).listed, 10_000, 'the monitor to leave ListNames');
      expect(await other.lookUp(m.name)).toEqual({ listed: false, owner: undefined });
      // Released after the reply (on ipnbus: once its record went out, before the end marker).
      await until(async () => (await other.lookUp('com.example.Watcher')).owner === undefined, 10_000, 'the monitor\'s name to be released');
      return { [m.name]: 'm' };
    });
    const BUS = 'org.freedesktop.DBus';
    expect(daemon).toEqual([
      `method call m -> bus ${BUS}.Monitoring BecomeMonitor | array [ | ] | uint32 0`,
      'method return bus -> m reply_to=BecomeMonitor',
      `signal bus -> m ${BUS} NameLost | string "m"`,
      `signal bus -> * ${BUS} NameOwnerChanged | string "m" | string "m" | string ""`,
      `signal bus -> m ${BUS} NameLost | string "com.example.Watcher"`,
      `signal bus -> * ${BUS} NameOwnerChanged | string "com.example.Watcher" | string "m" | string ""`,
    ]);
    expect(ipnbus).toEqual(daemon);
  });
});
