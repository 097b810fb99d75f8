// org.freedesktop.DBus.Debug.Stats: the fields of dbus-daemon's that a member without a broker can know.
import { Variant, isValidBusName, type Message } from '../wire/index.js';
import type { BusView } from './bus-view.js';
import { BUS_NAME } from './constants.js';
import { DBusError, ErrorNames } from './errors.js';
import { nextSerial } from './serial-counter.js';

export const DEBUG_STATS_INTERFACE = 'org.freedesktop.DBus.Debug.Stats';

/** What the statistics come from. */
export interface StatsHost {
  readonly uniqueName: string;
  readonly view: BusView;
  readonly stats: { received: number; sent: number };
  matchRuleCount(): number;
}

let statsSerial = 0;

/**
 * GetStats and GetConnectionStats, with dbus-daemon's field names. There is
 * no broker that sees every message, so only what this member knows is
 * reported: the members and names of the replicated view for the bus, and
 * for a connection its unique name and well-known names, plus its message
 * and match-rule counts when it is the caller's own connection. Fields
 * dbus-daemon has and ipnbus cannot know (memory, peaks, other members'
 * traffic) are left out rather than reported as zero.
 */
export function debugStats(host: StatsHost, msg: Message, member: string): { signature: string; body: unknown[] } {
  statsSerial = nextSerial(statsSerial);
  const u = (n: number): Variant => new Variant('u', n);
  if (member === 'GetStats') {
    if (msg.signature !== '') throw new DBusError(ErrorNames.InvalidArgs, 'GetStats takes no arguments');
    const names = host.view.listNames().filter((n) => n !== BUS_NAME);
    return {
      signature: 'a{sv}',
      body: [{ Serial: u(statsSerial), ActiveConnections: u(host.view.endpointCount()), BusNames: u(names.length) }],
    };
  }
  if (member === 'GetConnectionStats') {
    if (msg.signature !== 's') throw new DBusError(ErrorNames.InvalidArgs, 'GetConnectionStats takes (s)');
    const name = msg.body[0] as string;
    if (!isValidBusName(name)) throw new DBusError(ErrorNames.InvalidArgs, `'${name}' is not a valid bus name`);
    const owner = host.view.ownerOf(name);
    const id = owner === undefined ? undefined : host.view.endpointOf(owner);
    if (owner === undefined || id === undefined) {
      throw new DBusError(ErrorNames.NameHasNoOwner, `Could not get connection stats of '${name}': no such name`);
    }
    const out: Record<string, Variant> = {
      Serial: u(statsSerial),
      UniqueName: new Variant('s', owner),
      BusNames: u(host.view.namesOf(id).length),
    };
    if (owner === host.uniqueName) {
      out.IncomingMessages = u(host.stats.received);
      out.OutgoingMessages = u(host.stats.sent);
      out.MatchRules = u(host.matchRuleCount());
    }
    return { signature: 'a{sv}', body: [out] };
  }
  throw new DBusError(ErrorNames.UnknownMethod, `${DEBUG_STATS_INTERFACE} has no method ${member}`);
}
