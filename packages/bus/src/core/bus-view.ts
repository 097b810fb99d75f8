// The replicated view of the bus each member keeps: members, their hosted clients, well-known names, owner changes.
import type { MemberInfo } from '@ipnbus/transport-ipn';
import { BoundedCache } from '../wire/bounded-cache.js';
import { BUS_NAME } from './constants.js';
import { dropMembers, type NameState } from './name-state.js';
import { endpointOf, memberOf, subOf, uniqueNameOf } from './unique-name.js';

export { uniqueNameOf, memberIdOf, endpointOf } from './unique-name.js';

const MAX_DEPARTED = 16384;

/** Credentials a host vouches for one of its clients (after the trust rule of hosted.ts). */
export interface EndpointCredentials {
  pid: number;
  uid: number;
  gid: number;
}

/** One owner change: undefined means "no owner" (NameOwnerChanged uses ''). Owners are endpoint ids (unique-name.ts). */
export type OwnerChangeListener = (name: string, oldOwner: bigint | undefined, newOwner: bigint | undefined) => void;

/**
 * The view is changed from four sources only: the snapshot at connect,
 * announcements (a whole name record, newest version wins; a host's list
 * of clients joining or leaving), membership events (or, when the
 * transport lost some, a rescan of the bus directory: diffMembers()). A
 * leave is applied by every member in the same way (drop the member's
 * claims and its hosted clients', queue heads move up), so all views agree
 * on the new owner before the new owner has even written its record.
 */
export class BusView {
  readonly self: MemberInfo;
  readonly #members = new Map<bigint, MemberInfo>();
  /** Hosted clients (sub-id > 0) by endpoint id, with the credentials their host vouches for. */
  readonly #hosted = new Map<bigint, EndpointCredentials | undefined>();
  readonly #departed = new Set<bigint>();
  readonly #names = new Map<string, NameState>();
  /** Monitors: their unique name was taken away (unname()). */
  readonly #unnamed = new Set<bigint>();
  readonly #onChange: OwnerChangeListener;
  readonly #probe: (id: bigint) => boolean;
  /** uniqueNameOf's last id and answer (-1n: none; ids are never negative). */
  #lastNamed = -1n;
  #lastName = '';
  /** Unique names already parsed (endpointOf): every unicast's sender and destination are, several times on its way. */
  readonly #parsed = new BoundedCache<bigint>();

  /**
   * `probe` answers "is this endpoint alive?" from the bus directory, for
   * ids not announced yet (the kernel backend delivers its membership
   * snapshot as events after connect returns; a host's client may be
   * announced after a newcomer read the directory).
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

  /** Unique name of endpoint `id` of this view's network generation. */
  uniqueNameOf(id: bigint): string {
    // Every message received asks for its sender's name, and a run of them
    // mostly comes from one sender: the last answer is kept rather than
    // built again from the id (bigint shifts and a string each time).
    if (id !== this.#lastNamed) {
      this.#lastName = uniqueNameOf(id, this.generation);
      this.#lastNamed = id;
    }
    return this.#lastName;
  }

  /** Endpoint behind a unique name of this generation (undefined for another generation's). */
  endpointOf(name: string): bigint | undefined {
    let id = this.#parsed.get(name);
    if (id === undefined) {
      id = endpointOf(name, this.generation);
      if (id !== undefined) this.#parsed.set(name, id);
    }
    return id;
  }

  /** Known to have left (it or its host), or unknown and dead on disk. */
  #gone(id: bigint): boolean {
    if (this.hasEndpoint(id)) return false;
    return this.departed(id) || !this.#probe(id);
  }

  /** An endpoint we may address: announced, or not yet announced but alive. */
  reachable(id: bigint): boolean {
    return this.hasEndpoint(id) || (!this.departed(id) && this.#probe(id));
  }

  member(id: bigint): MemberInfo | undefined {
    return id === this.self.id ? this.self : this.#members.get(id);
  }

  hasMember(id: bigint): boolean {
    return id === this.self.id || this.#members.has(id);
  }

  /** A member, or a hosted client announced by its host. */
  hasEndpoint(id: bigint): boolean {
    return subOf(id) === 0 ? this.hasMember(id) : this.#hosted.has(id);
  }

  /** Left the bus (or its host did): ids are never reused, so this stays true. */
  departed(id: bigint): boolean {
    return this.#departed.has(id) || (subOf(id) !== 0 && this.#departed.has(memberOf(id)));
  }

  memberIds(): bigint[] {
    return [this.self.id, ...this.#members.keys()];
  }

  /** Members and hosted clients: every unique name on the bus. */
  endpointCount(): number {
    return this.#members.size + 1 + this.#hosted.size;
  }

  /** What a host vouches for its client `id` (undefined: a member, unknown, or not vouched for). */
  hostedCredentials(id: bigint): EndpointCredentials | undefined {
    return this.#hosted.get(id);
  }

  /** The hosted clients of member `host`. */
  hostedOf(host: bigint): bigint[] {
    const out: bigint[] = [];
    for (const id of this.#hosted.keys()) if (memberOf(id) === host) out.push(id);
    return out;
  }

  nameState(name: string): NameState | undefined {
    return this.#names.get(name);
  }

  /** Names whose record lists endpoint `id` as owner or in the queue. */
  namesOf(id: bigint): string[] {
    const out: string[] = [];
    for (const [n, s] of this.#names) if (s.owners.some((c) => c.id === id)) out.push(n);
    return out;
  }

  /** Names whose record lists member `id` or one of its hosted clients. */
  namesOfMember(id: bigint): string[] {
    const out: string[] = [];
    for (const [n, s] of this.#names) if (s.owners.some((c) => memberOf(c.id) === id)) out.push(n);
    return out;
  }

  primaryOf(name: string): bigint | undefined {
    return this.#names.get(name)?.owners[0]?.id;
  }

  /** The unique name owning `name` (a unique name owns itself), if any. */
  ownerOf(name: string): string | undefined {
    if (name === BUS_NAME) return BUS_NAME;
    if (name.startsWith(':')) {
      const id = this.endpointOf(name);
      return id !== undefined && this.reachable(id) && !this.#unnamed.has(id) ? name : undefined;
    }
    const id = this.primaryOf(name);
    return id === undefined ? undefined : this.uniqueNameOf(id);
  }

  /**
   * Endpoint `id` became a monitor: as dbus-daemon takes a monitor's
   * unique name away, it no longer owns it (NameOwnerChanged to '', not
   * in ListNames, GetNameOwner fails), and a leave says nothing more. What
   * is sent to it still arrives: the members' own traffic (copies, round
   * trips proving a record arrived) goes by it.
   */
  unname(id: bigint): void {
    if (this.#unnamed.has(id) || this.departed(id)) return;
    this.#unnamed.add(id);
    if (this.hasEndpoint(id)) this.#onChange(this.uniqueNameOf(id), id, undefined);
  }

  /** Endpoint a message for `name` goes to. */
  resolve(name: string): bigint | undefined {
    if (name.startsWith(':')) {
      const id = this.endpointOf(name);
      return id !== undefined && this.reachable(id) ? id : undefined;
    }
    return this.primaryOf(name);
  }

  listNames(): string[] {
    const out = [BUS_NAME];
    for (const id of this.memberIds()) if (!this.#unnamed.has(id)) out.push(this.uniqueNameOf(id));
    for (const id of this.#hosted.keys()) if (!this.#unnamed.has(id)) out.push(this.uniqueNameOf(id));
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
    if (info.id > this.self.id && !this.#unnamed.has(info.id)) this.#onChange(this.uniqueNameOf(info.id), undefined, info.id);
  }

  /**
   * A host announced its client `id` (or the snapshot found it): it has
   * the unique name from now on. `announce`: an arrival (not a snapshot).
   */
  hostedJoined(id: bigint, creds: EndpointCredentials | undefined, announce = true): void {
    if (subOf(id) === 0 || this.#hosted.has(id) || this.departed(id)) return;
    this.#hosted.set(id, creds);
    if (announce && !this.#unnamed.has(id)) this.#onChange(this.uniqueNameOf(id), undefined, id);
  }

  /**
   * A member left (closed, exited or was killed), and every client it
   * hosted with it; or a host said its client `id` left. Returns the names
   * whose new primary owner is one of this member's endpoints: it must now
   * take them on disk.
   */
  left(id: bigint): string[] {
    if (id === this.self.id || this.#departed.has(id)) return [];
    const promoted: string[] = [];
    if (subOf(id) === 0) for (const h of this.hostedOf(id)) promoted.push(...this.left(h));
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
    const wasThere = subOf(id) === 0 ? this.#members.delete(id) : this.#hosted.delete(id);
    // Well-known names first, then the unique name, as dbus-daemon orders
    // NameOwnerChanged on a disconnect.
    for (const name of this.namesOf(id)) {
      const cur = this.#names.get(name)!;
      const { state } = dropMembers(cur, (c) => c === id);
      this.#set(state, cur);
      const now = state.owners[0]?.id;
      if (now !== undefined && memberOf(now) === this.self.id && cur.owners[0]?.id === id) promoted.push(name);
    }
    const named = !this.#unnamed.delete(id);
    if (wasThere && named) this.#onChange(this.uniqueNameOf(id), id, undefined);
    return promoted;
  }
}
