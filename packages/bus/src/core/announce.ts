// Messages members exchange among themselves: name records and hosted-client records (broadcast at every change), sync calls.
import { MessageType, isValidBusName, type Message } from '../wire/index.js';
import type { NameState } from './name-state.js';
import { endpointId, memberOf, subOf } from './unique-name.js';

/**
 * A plain D-Bus signal on a private interface, so it travels like any other
 * message; the core consumes it and never shows it to applications. It is
 * broadcast without a bloom, which every member's filter lets through.
 */
export const ANNOUNCE_INTERFACE = 'org.ipnbus.Core';
export const ANNOUNCE_PATH = '/org/ipnbus/Core';
export const ANNOUNCE_MEMBER = 'NameRecord';
/** Name, version, then each claim as (member id, hosted sub-id or 0, flags). */
export const ANNOUNCE_SIGNATURE = 'sta(tuu)';

/** A signal of the private core interface (a record members consume themselves). */
function coreSignal(member: string, signature: string, body: unknown[], serial: number): Message {
  return { type: MessageType.SIGNAL, flags: 0, serial, path: ANNOUNCE_PATH, interface: ANNOUNCE_INTERFACE, member, signature, body };
}

export function announcement(state: NameState, serial: number): Message {
  const owners = state.owners.map((c) => [memberOf(c.id), subOf(c.id), c.flags]);
  return coreSignal(ANNOUNCE_MEMBER, ANNOUNCE_SIGNATURE, [state.name, BigInt(state.version), owners], serial);
}

export function isAnnouncement(msg: Message): boolean {
  return msg.type === MessageType.SIGNAL && msg.interface === ANNOUNCE_INTERFACE;
}

/** A round trip that proves a member has taken everything we sent before (Connection.settle). */
export const SYNC_MEMBER = 'Sync';

export function isSyncCall(msg: Message): boolean {
  return msg.type === MessageType.METHOD_CALL && msg.interface === ANNOUNCE_INTERFACE && msg.member === SYNC_MEMBER;
}

/**
 * A sync call's reply carries this one string, so the caller can tell it
 * from a reply to an application call that has the same serial (a
 * gateway's member sends with its stock client's serials).
 */
export const SYNC_REPLY_BODY = 'org.ipnbus.Core.Sync';

export function isSyncReply(msg: Message): boolean {
  return msg.type === MessageType.METHOD_RETURN && msg.signature === 's' && msg.body[0] === SYNC_REPLY_BODY;
}

/** The record carried, or undefined for a malformed announcement. */
export function parseAnnouncement(msg: Message): NameState | undefined {
  if (msg.member !== ANNOUNCE_MEMBER || msg.signature !== ANNOUNCE_SIGNATURE) return undefined;
  const [name, version, owners] = msg.body as [string, bigint, Array<[bigint, number, number]>];
  // A record from a faulty peer must not put garbage into ListNames.
  if (!isValidBusName(name) || name.startsWith(':') || version > BigInt(Number.MAX_SAFE_INTEGER)) return undefined;
  return { name, version: Number(version), owners: owners.map(([id, sub, flags]) => ({ id: endpointId(id, sub), flags })) };
}

/**
 * A host's clients joining (present) or leaving: (sub-id, pid, uid, gid)
 * each. Broadcast at every change, and sent to a newcomer with them all.
 */
export const HOSTED_MEMBER = 'Hosted';
export const HOSTED_SIGNATURE = 'ba(uuuu)';

export interface HostedEntry {
  sub: number;
  pid: number;
  uid: number;
  gid: number;
}

export function hostedRecord(present: boolean, entries: HostedEntry[], serial: number): Message {
  return coreSignal(HOSTED_MEMBER, HOSTED_SIGNATURE, [present, entries.map((e) => [e.sub, e.pid, e.uid, e.gid])], serial);
}

/** The entries of a hosted record, or undefined for a malformed one (sub-id 0 is the host itself). */
export function parseHostedRecord(msg: Message): { present: boolean; entries: HostedEntry[] } | undefined {
  if (msg.member !== HOSTED_MEMBER || msg.signature !== HOSTED_SIGNATURE) return undefined;
  const [present, rows] = msg.body as [boolean, Array<[number, number, number, number]>];
  if (rows.some(([sub]) => sub === 0)) return undefined;
  return { present, entries: rows.map(([sub, pid, uid, gid]) => ({ sub, pid, uid, gid })) };
}
