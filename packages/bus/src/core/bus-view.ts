// The replicated view of the bus each member keeps: members, well-known names, owner changes.
import type { MemberInfo } from '@ipnbus/transport-ipn';
import { BUS_NAME } from './constants.js';
import { dropMembers, type NameState } from './name-state.js';

const MAX_DEPARTED = 16384;

/**
 * ':<generation>.<member id>'. The generation (see bus-dir.ts) is counted
 * up each time a dead kernel network is replaced, so a unique name is never
 * reused in the bus's life although member ids restart with each network.
 */
export function uniqueNameOf(id: bigint, generation = 1): string {
  return `:${generation}.${id}`;
}

/** The member id of a ':<generation>.<id>' name of `generation`, or undefined for anything else. */
export function memberIdOf(name: string, generation = 1): bigint | undefined {
  const m = /^:(\d{1,15})\.(\d{1,20})$/.exec(name);
  if (m === null || Number(m[1]) !== generation) return undefined;
  const id = BigInt(m[2]!);
  return id > 0n && id < 1n << 64n ? id : undefined;
}

/** One owner change: undefined means "no owner" (NameOwnerChanged uses ''). */
export type OwnerChangeListener = (name: string, oldOwner: bigint | undefined, newOwner: bigint | undefined) => void;

/**
 * The view is changed from three sources only: the snapshot at connect,
 * announcements (a whole name record, newest version wins) and membership
 * events (or, when the transport lost some, a rescan of the bus
 * directory: diffMembers()). A leave is applied by every member in the same way (drop the
 * member's claims, queue heads move up), so all views agree on the new
 * owner before the new owner has even written its record.
 */
export class BusView {
  readonly self: MemberInfo;
  readonly #members = new Map<bigint, MemberInfo>();
  readonly #departed = new Set<bigint>();
  readonly #names = new Map<string, NameState>();
  readonly #onChange: OwnerChangeListener;
  readonly #probe: (id: bigint) => boolean;

  /**
   * `probe` answers "is this member alive?" from the bus directory, for ids
   * the transport has not announced yet (the kernel backend delivers its
   * membership snapshot as events after connect returns).
   */
  constructor(
    self: MemberInfo,
    members: MemberInfo[],
    onChange: OwnerChangeListener,
    probe: (id: bigint) => boolean,
    readonly generation = 1,
  ) {
    this.self = self;
    this.#onChange = onChange;
    this.#probe = probe;
    for (const m of members) this.#members.set(m.id, m);
  }

  /** Unique name of member `id` of this view's network generation. */
  uniqueNameOf(id: bigint): string {
    return uniqueNameOf(id, this.generation);
  }

  /** Member id behind a unique name of this generation (undefined for another generation's). */
  memberIdOf(name: string): bigint | undefined {
    return memberIdOf(name, this.generation);
  }

  /** Known to have left, or unknown to the transport and dead on disk. */
  #gone(id: bigint): boolean {
    if (id === this.self.id || this.#members.has(id)) return false;
    return this.#departed.has(id) || !this.#probe(id);
  }

  /** A member we may address: announced, or not yet announced but alive. */
  #reachable(id: bigint): boolean {
    return this.hasMember(id) || (!this.#departed.has(id) && this.#probe(id));
  }

  member(id: bigint): MemberInfo | undefined {
    return id === this.self.id ? this.self : this.#members.get(id);
  }

  hasMember(id: bigint): boolean {
    return id === this.self.id || this.#members.has(id);
  }

  /** Left the bus: ids are never reused, so this stays true. */
  departed(id: bigint): boolean {
    return this.#departed.has(id);
  }

  memberIds(): bigint[] {
    return [this.self.id, ...this.#members.keys()];
  }

  nameState(name: string): NameState | undefined {
    return this.#names.get(name);
  }

  /** Names whose record lists `id` as owner or in the queue. */
  namesOf(id: bigint): string[] {
    const out: string[] = [];
    for (const [n, s] of this.#names) if (s.owners.some((c) => c.id === id)) out.push(n);
    return out;
  }

  primaryOf(name: string): bigint | undefined {
    return this.#names.get(name)?.owners[0]?.id;
  }

  /** The unique name owning `name` (a unique name owns itself), if any. */
  ownerOf(name: string): string | undefined {
    if (name === BUS_NAME) return BUS_NAME;
    if (name.startsWith(':')) {
      const id = this.memberIdOf(name);
      return id !== undefined && this.#reachable(id) ? name : undefined;
    }
    const id = this.primaryOf(name);
    return id === undefined ? undefined : this.uniqueNameOf(id);
  }

  /** Member id a message for `name` goes to. */
  resolve(name: string): bigint | undefined {
    if (name.startsWith(':')) {
      const id = this.memberIdOf(name);
      return id !== undefined && this.#reachable(id) ? id : undefined;
    }
    return this.primaryOf(name);
  }

  listNames(): string[] {
    const out = [BUS_NAME];
    for (const id of this.memberIds()) out.push(this.uniqueNameOf(id));
    for (const [n, s] of this.#names) if (s.owners.length > 0) out.push(n);
    return out;
  }

  /**
   * Takes a record (snapshot or announcement) if newer than what we hold.
   * Claims of members known to have left are dropped on the way: a record
   * written just before a leave must not bring a dead owner back.
   */
  apply(state: NameState): void {
    const cur = this.#names.get(state.name);
    if (cur !== undefined && cur.version >= state.version) return;
    this.#set(this.withoutGone(state), cur);
  }

  /** `state` as apply() would keep it: without the claims of members known to have left or dead on disk. */
  withoutGone(state: NameState): NameState {
    return dropMembers(state, (id) => this.#gone(id)).state;
  }

  #set(next: NameState, cur: NameState | undefined): void {
    const before = cur?.owners[0]?.id;
    if (next.owners.length === 0 && next.version === 0) this.#names.delete(next.name);
    else this.#names.set(next.name, next);
    const after = next.owners[0]?.id;
    if (before !== after) this.#onChange(next.name, before, after);
  }

  /**
   * After the transport lost membership events: compare the view with the
   * members `alive` on disk. `joined`: alive but unknown here; `missing`:
   * known here but not alive on disk (the caller confirms before it
   * applies a leave, since a newcomer's lock file follows its join).
   */
  diffMembers(alive: MemberInfo[]): { joined: MemberInfo[]; missing: bigint[] } {
    const ids = new Set(alive.map((m) => m.id));
    const joined = alive.filter((m) => m.id !== this.self.id && !this.#members.has(m.id) && !this.#departed.has(m.id));
    const missing = [...this.#members.keys()].filter((id) => !ids.has(id));
    return { joined, missing };
  }

  joined(info: MemberInfo): void {
    if (info.id === this.self.id || this.#members.has(info.id) || this.#departed.has(info.id)) return;
    this.#members.set(info.id, info);
    // Ids only grow: a smaller id than ours was on the bus before us, and
    // its join is the transport's membership snapshot, not an arrival.
    if (info.id > this.self.id) this.#onChange(this.uniqueNameOf(info.id), undefined, info.id);
  }

  /**
   * A member left (closed, exited or was killed). Returns the names whose
   * new primary owner is this member: it must now take them on disk.
   */
  left(id: bigint): string[] {
    if (id === this.self.id || this.#departed.has(id)) return [];
    this.#departed.add(id);
    // Bounded: a long-lived member on a bus with endless churn must not grow
    // without end. Forgotten ids are still found dead by the probe.
    if (this.#departed.size > MAX_DEPARTED) {
      let drop = this.#departed.size - MAX_DEPARTED / 2;
      for (const old of this.#departed) {
        if (drop-- <= 0) break;
        this.#departed.delete(old);
      }
    }
    const wasMember = this.#members.delete(id);
    const promoted: string[] = [];
    // Well-known names first, then the unique name, as dbus-daemon orders
    // NameOwnerChanged on a disconnect.
    for (const name of this.namesOf(id)) {
      const cur = this.#names.get(name)!;
      const { state } = dropMembers(cur, (c) => c === id);
      this.#set(state, cur);
      if (state.owners[0]?.id === this.self.id && cur.owners[0]?.id === id) promoted.push(name);
    }
    if (wasMember) this.#onChange(this.uniqueNameOf(id), id, undefined);
    return promoted;
  }
}
