// Monitors (org.freedesktop.DBus.Monitoring.BecomeMonitor) without a broker: every sender copies its unicasts to them.
//
// dbus-daemon's monitors see every message because every message crosses
// it. Here a unicast goes from its sender's member straight to its
// destination's, so the sender is the only one that can show it to a
// monitor. So:
//  - a member with a monitor endpoint announces it (a Monitor record:
//    its sub-id and match rules), broadcast when it becomes one and sent
//    to each newcomer at its join, as hosted-client records are;
//  - every member, when one of its endpoints sends a unicast (method call,
//    reply, error, signal with a destination) or talks to the bus driver,
//    copies it to each monitor whose rules want it: to a monitor of its
//    own directly, to another member once per member (one Monitored
//    envelope carrying the message's bytes, serial and SENDER unchanged,
//    and its unix fds: as dbus-daemon, a monitor gets the message whole,
//    its own copies of the fds included);
//  - broadcasts need no copy: a monitor's filter takes every broadcast.
// Copies go out with Network.sendLossy: a monitor that does not read loses
// copies (counted here, in `dropped`), never holds a sender back, as
// dbus-daemon drops what a slow monitor cannot take.
//
// Who may monitor: as dbus-daemon, root or the bus's owner (the uid owning
// the bus directory). A member checks its own endpoint when it asks, and
// every member checks a record against the uid the transport verified for
// the announcing member (for a hosted client: the credentials its host may
// vouch for, hosted.ts); a record that fails gets no copies.
import { statSync } from 'node:fs';
import type { Network } from '@ipnbus/transport-ipn';
import { MessageFlags, MessageType, decodeMessage, encodeMessage, type Message } from '../wire/index.js';
import { ANNOUNCE_INTERFACE, ANNOUNCE_PATH, isSyncReply } from './announce.js';
import type { BusView } from './bus-view.js';
import { BUS_NAME } from './constants.js';
import { DBusError, ErrorNames, errorText } from './errors.js';
import { closeFds, dupFd } from './fds.js';
import type { Logger } from './logger.js';
import { matchesRule, parseMatchRule, type MatchRule } from './match-rule.js';
import { SerialCounter } from './serial-counter.js';
import { endpointId, memberOf, subOf } from './unique-name.js';

/** A member's monitors: (sub-id, match rules) each. */
export const MONITOR_MEMBER = 'Monitor';
export const MONITOR_SIGNATURE = 'a(uas)';
/** A copy for the monitors of the member it is sent to: the message's bytes as its sender sent them. */
export const MONITORED_MEMBER = 'Monitored';
export const MONITORED_SIGNATURE = 'ay';
/** A member's last broadcast as it leaves while monitors exist: nothing to read, it is there for its place in order (farewell()). */
export const FAREWELL_MEMBER = 'Farewell';

export function isMonitorSignal(msg: Message): boolean {
  return msg.member === MONITOR_MEMBER || msg.member === MONITORED_MEMBER || msg.member === FAREWELL_MEMBER;
}

/** What Monitors needs of its member. */
export interface MonitorHost {
  readonly view: BusView;
  readonly memberId: bigint;
  readonly network: Network;
  readonly busPath: string;
  readonly log: Logger;
  /** The uid our own endpoint (sub-id 0) has in the others' eyes: the one the transport stamps. */
  readonly processUid: number;
  /** Our endpoint `id` as a monitor, to hand it a copy; undefined once gone. */
  localMonitor(id: bigint): MonitorEndpoint | undefined;
}

/** A monitor endpoint of ours (Connection). */
export interface MonitorEndpoint {
  readonly endpointId: bigint;
  readonly uniqueName: string;
  readonly credentials: { uid: number };
  /** The next serial of org.freedesktop.DBus's messages to it. */
  busSerial(): number;
  /** A copy of someone else's message, with the monitor's own copies of its fds. */
  monitored(msg: Message, fds: number[]): void;
}

interface Entry {
  id: bigint;
  name: string;
  rules: MatchRule[];
  ruleTexts: string[];
}

/** Does one of `rules` (all messages when none) take `msg`? */
function takes(rules: MatchRule[], msg: Message, ownerOf: (n: string) => string | undefined): boolean {
  return rules.length === 0 || rules.some((r) => matchesRule(r, msg, ownerOf));
}

export class Monitors {
  /** Every monitor on the bus that we believe, by endpoint id (ours included). */
  readonly #entries = new Map<bigint, Entry>();
  readonly #host: MonitorHost;
  readonly #serial = new SerialCounter();
  #ownerUid: number | undefined;
  /** Copies made, and copies a full (or gone) monitor member did not take. */
  copied = 0;
  dropped = 0;

  constructor(host: MonitorHost) {
    this.#host = host;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** The uid owning the bus (its directory): with root, the only one that may monitor. */
  get ownerUid(): number {
    this.#ownerUid ??= statSync(this.#host.busPath).uid;
    return this.#ownerUid;
  }

  #mayMonitor(uid: number | undefined): boolean {
    return uid !== undefined && (uid === 0 || uid === this.ownerUid);
  }

  /** The uid others believe for endpoint `id` (undefined: not known, or not vouched for). */
  #uidOf(id: bigint): number | undefined {
    if (subOf(id) !== 0) return this.#host.view.hostedCredentials(id)?.uid;
    if (id === this.#host.memberId) return this.#host.processUid;
    return this.#host.view.member(id)?.uid;
  }

  /**
   * Our endpoint `ep` becomes a monitor of the messages `rules` match (all
   * when empty): it gets copies at once, the others learn of it with
   * announce(). Throws AccessDenied (not root nor the bus owner) or
   * MatchRuleInvalid, leaving everything as it was.
   */
  add(ep: MonitorEndpoint, rules: string[]): void {
    const uid = this.#uidOf(ep.endpointId);
    if (!this.#mayMonitor(uid)) {
      throw new DBusError(ErrorNames.AccessDenied,
        `only root and the bus owner (uid ${this.ownerUid}) may become a monitor; ${ep.uniqueName} is uid ${uid ?? 'unknown'}`);
    }
    const parsed = rules.map((r) => parseMatchRule(r));
    this.#entries.set(ep.endpointId, { id: ep.endpointId, name: ep.uniqueName, rules: parsed, ruleTexts: rules });
  }

  /**
   * After BecomeMonitor's reply (each member shows the monitor's unique
   * name going when this arrives, and the reply must come first): every
   * member learns of our monitor `id`, and its unique name goes here too.
   */
  announce(id: bigint): void {
    if (!this.#entries.has(id)) return;
    this.#announce([id]);
    this.#host.view.unname(id);
  }

  /** Tells `to` (a newcomer), or everyone, of our monitors `ids` (all of ours when omitted). */
  #announce(ids?: bigint[], to?: bigint): void {
    const own = ids ?? [...this.#entries.keys()].filter((id) => memberOf(id) === this.#host.memberId);
    if (own.length === 0) return;
    const rows = own.map((id) => [subOf(id), this.#entries.get(id)!.ruleTexts]);
    const msg: Message = {
      type: MessageType.SIGNAL, flags: 0, serial: this.#serial.next(), path: ANNOUNCE_PATH, interface: ANNOUNCE_INTERFACE,
      member: MONITOR_MEMBER, signature: MONITOR_SIGNATURE, body: [rows], sender: this.#host.view.uniqueNameOf(this.#host.memberId),
    };
    try {
      const bytes = encodeMessage(msg);
      if (to === undefined) this.#host.network.broadcast(bytes);
      else this.#host.network.send(to, bytes);
      this.#host.network.flushPending();
    } catch (e) {
      this.#host.log.debug({ err: errorText(e) }, 'could not send a monitor record');
    }
  }

  /**
   * We are leaving. On the user backend a member's leave takes the place
   * of its last broadcast in the network's order, which may be long
   * before it left: a copy another member made meanwhile (a call to us
   * still waiting) would reach a monitor after the NameLost and
   * NameOwnerChanged our leave makes there. One broadcast now puts the
   * leave after everything made before it, as dbus-daemon shows a
   * disconnect after the messages that came before.
   */
  farewell(): void {
    const msg: Message = {
      type: MessageType.SIGNAL, flags: MessageFlags.NO_REPLY_EXPECTED, serial: this.#serial.next(), path: ANNOUNCE_PATH,
      interface: ANNOUNCE_INTERFACE, member: FAREWELL_MEMBER, signature: '', body: [],
    };
    try {
      this.#host.network.broadcast(encodeMessage(msg));
      this.#host.network.flushPending();
    } catch (e) {
      this.#host.log.debug({ err: errorText(e) }, 'could not send a farewell');
    }
  }

  /** Member `id` joined: it learns of our monitors. */
  joined(id: bigint): void {
    this.#announce(undefined, id);
  }

  /** Endpoint `id` left (a member: with all it hosted). */
  left(id: bigint): void {
    if (this.#entries.size === 0) return;
    const wholeMember = subOf(id) === 0;
    for (const e of this.#entries.keys()) {
      if (e === id || (wholeMember && memberOf(e) === id)) this.#entries.delete(e);
    }
  }

  /** A Monitor record or a Monitored copy (with its fds, which this takes) from member `from` (transport-verified). */
  receive(from: bigint, msg: Message, fds: number[]): void {
    if (msg.member === MONITORED_MEMBER) return this.#copyArrived(from, msg, fds);
    closeFds(fds);
    if (msg.member === MONITOR_MEMBER) this.#record(from, msg);
  }

  #record(from: bigint, msg: Message): void {
    if (msg.signature !== MONITOR_SIGNATURE || from === this.#host.memberId) return;
    for (const [sub, texts] of msg.body[0] as Array<[number, string[]]>) {
      const id = endpointId(from, sub);
      const uid = this.#uidOf(id);
      if (!this.#mayMonitor(uid)) {
        this.#host.log.warn({ monitor: this.#host.view.uniqueNameOf(id), uid }, 'refused a monitor record: not root nor the bus owner');
        continue;
      }
      try {
        const rules = texts.map((t) => parseMatchRule(t));
        this.#entries.set(id, { id, name: this.#host.view.uniqueNameOf(id), rules, ruleTexts: texts });
        this.#host.view.unname(id);
      } catch (e) {
        this.#host.log.debug({ err: errorText(e) }, 'ignored a monitor record with a bad rule');
      }
    }
  }

  /**
   * One of our endpoints sent `msg` (a unicast, or a call to the bus
   * driver), or our driver sent one to it: a copy for every monitor whose
   * rules take it, but not for the monitor it is from or to. `bytes`: its
   * encoding, when the caller has it; `fds`: its unix fds (still the
   * caller's: each monitor gets its own copies).
   */
  copy(msg: Message, bytes?: Buffer, fds?: readonly number[]): void {
    if (this.#entries.size === 0) return;
    // The members' own round trips (Connection.settle) are not D-Bus traffic.
    if (msg.interface === ANNOUNCE_INTERFACE || isSyncReply(msg)) return;
    const ownerOf = (n: string): string | undefined => this.#host.view.ownerOf(n);
    let members: Set<bigint> | undefined;
    for (const e of this.#entries.values()) {
      if (e.name === msg.sender || e.name === msg.destination || !takes(e.rules, msg, ownerOf)) continue;
      const m = memberOf(e.id);
      if (m === this.#host.memberId) {
        // A monitor of ours (a gateway's client) gets it now: before the
        // message itself, which reaches an endpoint of ours in the next
        // turn, and in the order the bus driver's own signals reach it.
        const ep = this.#host.localMonitor(e.id);
        const own = ep === undefined ? undefined : dupAll(fds);
        if (own === undefined) continue;
        bytes ??= encodeMessage(msg);
        this.copied++;
        ep!.monitored(decodeMessage(bytes, { copyBytes: true }), own);
      } else (members ??= new Set()).add(m);
    }
    if (members === undefined) return;
    bytes ??= encodeMessage(msg);
    const envelope = encodeMessage({
      type: MessageType.SIGNAL, flags: MessageFlags.NO_REPLY_EXPECTED, serial: this.#serial.next(), path: ANNOUNCE_PATH,
      interface: ANNOUNCE_INTERFACE, member: MONITORED_MEMBER, signature: MONITORED_SIGNATURE, body: [bytes],
    }); // no SENDER: the receiver stamps it from the transport
    const withFds = fds !== undefined && fds.length > 0 ? [...fds] : undefined;
    for (const m of members) {
      this.copied++;
      if (!this.#host.network.sendLossy(m, envelope, withFds)) this.dropped++;
    }
  }

  /**
   * A message of the bus that every member makes from its own view, as it
   * makes NameOwnerChanged (NameLost and NameAcquired for an owner change:
   * Member), so none copies it: handed to each monitor of ours whose rules
   * take it, but not to the one it is for (that one gets it as itself).
   */
  showHere(msg: Message): void {
    const ownerOf = (n: string): string | undefined => this.#host.view.ownerOf(n);
    for (const e of this.#entries.values()) {
      if (memberOf(e.id) !== this.#host.memberId || e.name === msg.destination || !takes(e.rules, msg, ownerOf)) continue;
      const ep = this.#host.localMonitor(e.id);
      if (ep !== undefined) ep.monitored({ ...msg, serial: ep.busSerial() }, []);
    }
  }

  /**
   * A copy made by member `from`: believed only for what that member may
   * send (its own endpoints' messages, its driver's to its endpoints), and
   * handed to each of our monitors whose rules take it. An endpoint of
   * `from` we have no record of yet counts as its: a member speaks for
   * all its sub-ids, and a gateway shows a client's Hello before its
   * record goes out (dbus-daemon shows Hello before NameOwnerChanged).
   */
  #copyArrived(from: bigint, env: Message, fds: number[]): void {
    let msg: Message;
    try {
      if (env.signature !== MONITORED_SIGNATURE) throw new Error(`signature '${env.signature}'`);
      msg = decodeMessage(env.body[0] as Buffer, { copyBytes: true });
      if ((msg.unixFds ?? 0) !== fds.length) throw new Error(`${fds.length} fds for a message declaring ${msg.unixFds ?? 0}`);
    } catch (e) {
      this.#host.log.debug({ err: errorText(e) }, 'dropped a malformed monitor copy');
      closeFds(fds);
      return;
    }
    const view = this.#host.view;
    const fromBus = msg.sender === BUS_NAME;
    const about = fromBus ? msg.destination : msg.sender;
    const id = about === undefined ? undefined : view.endpointOf(about);
    const believed = id !== undefined && memberOf(id) === from;
    if (!believed) {
      this.#host.log.debug({ sender: msg.sender, from: view.uniqueNameOf(from) }, 'dropped a monitor copy its member could not have sent');
      closeFds(fds);
      return;
    }
    const ownerOf = (n: string): string | undefined => view.ownerOf(n);
    for (const e of this.#entries.values()) {
      if (memberOf(e.id) !== this.#host.memberId || !takes(e.rules, msg, ownerOf)) continue;
      const ep = this.#host.localMonitor(e.id);
      const own = ep === undefined ? undefined : dupAll(fds);
      if (own !== undefined) ep!.monitored(msg, own);
    }
    closeFds(fds);
  }
}

/** Our own copies of `fds` (none: []), or undefined when one cannot be duplicated (that monitor gets no copy). */
function dupAll(fds: readonly number[] | undefined): number[] | undefined {
  const out: number[] = [];
  try {
    for (const fd of fds ?? []) out.push(dupFd(fd));
    return out;
  } catch {
    closeFds(out);
    return undefined;
  }
}
