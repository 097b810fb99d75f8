// Well-known name ownership for one member and the clients it hosts: RequestName/ReleaseName on disk, records to and from peers.
import type { Network } from '@ipnbus/transport-ipn';
import { encodeMessage, isValidBusName, type Message } from '../wire/index.js';
import { announcement, parseAnnouncement } from './announce.js';
import type { BusView } from './bus-view.js';
import { BUS_NAME, NameFlag } from './constants.js';
import { DBusError, ErrorNames, errorText } from './errors.js';
import { limitExceeded, type ConnectionLimits } from './limits.js';
import type { Logger } from './logger.js';
import { LOCK_WAIT_MS } from './flock.js';
import {
  releaseName as releaseNameOp,
  requestName as requestNameOp,
  type NameState,
  type Outcome,
} from './name-state.js';
import type { NameStore } from './name-store.js';
import { OwnerLocks, lockHolders, readLockTable, type LockTable } from './owner-locks.js';
import { SerialCounter } from './serial-counter.js';
import { memberOf, subOf } from './unique-name.js';

export interface NameOwnershipInit {
  store: NameStore;
  view: BusView;
  network: Network;
  memberId: bigint;
  uniqueName: string;
  /** Is endpoint `id` alive (its member lock held; for a hosted client, its file there too)? */
  alive: (id: bigint) => boolean;
  /** The file member `id` keeps locked for its whole life (liveness.ts). */
  livePath: (id: bigint) => string;
  log: Logger;
  limits: ConnectionLimits;
}

/**
 * The names directory is the truth and the view a replica of it: every
 * change is made there under the name's guard lock, then applied to our
 * view and announced to every member (a record carries only which name to
 * re-read). Owner-change signals come from the view, not from here.
 *
 * Claims name endpoints (unique-name.ts): the member itself or a client it
 * hosts. The member's process holds the owner lock of every name one of
 * its endpoints is primary owner of, so others verify a hosted client's
 * claim against its host's member lock exactly as a member's own.
 */
export class NameOwnership {
  readonly #store: NameStore;
  readonly #view: BusView;
  readonly #network: Network;
  readonly #memberId: bigint;
  readonly #uniqueName: string;
  readonly #alive: (id: bigint) => boolean;
  readonly #livePath: (id: bigint) => string;
  readonly #ownerLocks: OwnerLocks;
  /** Names whose owner lock we wait for (the old owner has not let go yet). */
  readonly #waiting = new Set<string>();
  readonly #log: Logger;
  readonly #limits: ConnectionLimits;
  readonly #recordSerial = new SerialCounter();
  #closed = false;

  constructor(init: NameOwnershipInit) {
    this.#store = init.store;
    this.#view = init.view;
    this.#network = init.network;
    this.#memberId = init.memberId;
    this.#uniqueName = init.uniqueName;
    this.#alive = init.alive;
    this.#livePath = init.livePath;
    this.#ownerLocks = new OwnerLocks((name) => init.store.ownerLockPath(name));
    this.#log = init.log;
    this.#limits = init.limits;
  }

  /** Is endpoint `id` the member's own or one of its hosted clients? */
  readonly #ours = (id: bigint | undefined): boolean => id !== undefined && memberOf(id) === this.#memberId;

  /** Known to have left, or dead on disk (never ourselves; our hosted clients while we host them). */
  readonly gone = (id: bigint): boolean => {
    if (id === this.#memberId) return false;
    if (this.#ours(id)) return !this.#view.hasEndpoint(id);
    return this.#view.departed(id) || !this.#alive(id);
  };

  /** Fills the view from the names directory (at connect: listen for records first). */
  loadSnapshot(): void {
    for (const state of this.#store.readAll()) this.#applyChecked(state);
  }

  /** RequestName for our endpoint `self`; resolves with the spec's reply code (RequestNameReply). */
  async request(self: bigint, name: string, flags: number): Promise<number> {
    this.#checkName(name);
    if (!Number.isInteger(flags) || flags < 0 || flags > 0xffffffff) {
      throw new DBusError(ErrorNames.InvalidArgs, `RequestName flags must be a uint32, got ${flags}`);
    }
    this.#checkOpen();
    this.#checkNameLimit(self, name);
    const out = await this.#mutate(name, (s) => requestNameOp(s, self, flags));
    if (!this.#closed) this.#view.apply(out.state);
    this.#log.debug({ name, flags, reply: out.reply }, 'RequestName');
    return out.reply;
  }

  /** ReleaseName for our endpoint `self`; resolves with the spec's reply code (ReleaseNameReply). */
  async release(self: bigint, name: string): Promise<number> {
    this.#checkName(name);
    this.#checkOpen();
    const out = await this.#mutate(name, (s) => releaseNameOp(s, self));
    if (!this.#closed) this.#view.apply(out.state);
    this.#log.debug({ name, reply: out.reply }, 'ReleaseName');
    return out.reply;
  }

  /**
   * Our hosted client `self` is leaving: each of its claims is released on
   * disk, so every member sees its names go (or pass to the next in queue)
   * with NameOwnerChanged, before its unique name goes.
   */
  async releaseAll(self: bigint): Promise<void> {
    for (const name of this.#view.namesOf(self)) {
      try {
        await this.release(self, name);
      } catch (e) {
        this.#log.warn({ name, err: errorText(e) }, 'could not release a name of a leaving client');
      }
    }
  }

  /** After a leave made us primary owner: write it down (the old owner's lock is gone). */
  async takeOver(name: string): Promise<void> {
    try {
      const out = await this.#store.mutate(
        name,
        this.gone,
        (s) => ({ state: s, reply: undefined, changed: false }),
        this.#publish,
      );
      if (!this.#closed) this.#view.apply(out.state);
    } catch (e) {
      this.#log.warn({ name, err: errorText(e) }, 'could not record a name taken over from a departed owner');
    }
  }

  /**
   * A peer's name record. It is only a hint of which name changed: the
   * names directory is the truth (written before the broadcast), so a
   * faulty or forged record cannot make us believe in an owner the
   * directory does not list.
   */
  noticeRecord(msg: Message): void {
    const hint = parseAnnouncement(msg);
    if (hint === undefined || this.#closed) return;
    try {
      if (this.#applyChecked(this.#store.read(hint.name))) return;
      // The file may have been rewritten by someone else since: the owner's
      // own announcement carries its record, believed under the same check.
      const from = msg.sender === undefined ? undefined : this.#view.endpointOf(msg.sender);
      const owner = hint.owners[0]?.id;
      if (from !== undefined && owner !== undefined && memberOf(owner) === memberOf(from)) this.#applyChecked(hint);
    } catch (e) {
      this.#log.warn({ name: hint.name, err: errorText(e) }, 'cannot read a name record');
    }
  }

  /**
   * Member `id` is leaving: for each name it is the only claimant of in our
   * view, the names directory is read first. A successor may have queued
   * (IN_QUEUE already replied) whose record we have not taken yet; without
   * it the leave would announce "no owner" and the record "new owner",
   * where dbus-daemon announces one handover. The directory lists the
   * leaving owner with its queue, or, once the successor took over, says
   * whom it was handed over from.
   */
  beforeLeave(id: bigint): void {
    if (this.#closed) return;
    // A member takes its hosted clients with it.
    const leaving = (c: bigint | undefined): boolean => c !== undefined && (c === id || memberOf(c) === id);
    for (const name of this.#view.namesOfMember(memberOf(id))) {
      const cur = this.#view.nameState(name);
      if (cur === undefined || !leaving(cur.owners[0]?.id) || cur.owners.length > 1) continue;
      let disk: NameState;
      try {
        disk = this.#store.read(name);
      } catch (e) {
        this.#log.warn({ name, err: errorText(e) }, 'cannot read a name record');
        continue;
      }
      if (leaving(disk.owners[0]?.id) || leaving(disk.handedOverFrom)) this.#applyChecked(disk, subOf(id) === 0 ? id : undefined);
    }
  }

  /**
   * A record we wrote after a newcomer read the names directory but before
   * our transport knew it may have missed it: send it our records again (it
   * keeps whichever version is newest).
   */
  sendRecordsTo(id: bigint): void {
    for (const name of this.#view.namesOfMember(this.#memberId)) {
      const state = this.#view.nameState(name)!;
      try {
        this.#network.send(id, encodeMessage(this.#record(state)));
      } catch (e) {
        this.#log.debug({ to: id.toString(), err: errorText(e) }, 'could not send a name record to a newcomer');
      }
    }
  }

  /**
   * Our view's primary owner of `name` changed: we hold its owner lock
   * exactly while we are the primary owner.
   */
  ownerChanged(name: string, oldOwner: bigint | undefined, newOwner: bigint | undefined): void {
    if (this.#closed) return;
    if (this.#ours(oldOwner) && !this.#ours(newOwner)) this.#ownerLocks.release(name);
    if (this.#ours(newOwner)) this.#takeOwnerLock(name);
  }

  /** No more changes to the view (the connection is closing); our owner locks go. */
  close(): void {
    this.#closed = true;
    this.#ownerLocks.releaseAll();
  }

  /**
   * Applies a record read from the names directory if the kernel backs it:
   * a change of primary owner is believed only if the old primary no
   * longer holds the name's owner lock and the lock is free or held by the
   * new primary (/proc/locks names the holder's pid, which must be the pid
   * holding the member's own live lock). Anyone who can write the directory
   * can write a record; only the owner holds the lock, so a name whose
   * owner is alive cannot be taken by rewriting its record. Queue order and
   * flags are not vouched for, nor who takes a name that is free.
   *
   * `leaving`: a member the transport just reported gone, whose process
   * may still hold its locks for a moment (the kernel closes a dying
   * process's files one by one: its sockets can hang up before its lock
   * files close). Its locks count as let go, so a handover record written
   * by the successor that saw the leave first is believed at once, not
   * announced as "no owner" and then "new owner".
   */
  #applyChecked(disk: NameState, leaving?: bigint): boolean {
    const cur = this.#view.nameState(disk.name);
    if (cur !== undefined && disk.version <= cur.version) return false;
    const live = this.#view.withoutGone(disk);
    const oldOwner = cur?.owners[0]?.id;
    const newOwner = live.owners[0]?.id;
    if (oldOwner === newOwner && newOwner !== undefined) {
      this.#view.apply(live);
      return true;
    }
    const table = readLockTable();
    if (table === undefined) {
      // No /proc/locks to ask: the record is all there is.
      this.#view.apply(live);
      return true;
    }
    // Passed to us: take the lock now if it is free (the old owner let go).
    const tookNow = this.#ours(newOwner) && !this.#ownerLocks.holding(disk.name) && this.#ownerLocks.tryTake(disk.name);
    const isLeaving = (c: bigint): boolean => leaving !== undefined && memberOf(c) === leaving;
    const oldHolds =
      oldOwner !== undefined && !isLeaving(oldOwner) && !this.gone(oldOwner) && this.#holdsOwnerLock(table, disk.name, oldOwner);
    // While nobody holds the lock the name is free for the taking: a record
    // passing it on (from an owner that died or let go) is believed, and its
    // new owner takes the lock next. Once held, only its holder is believed.
    const holders = new Set(lockHolders(table, this.#store.ownerLockPath(disk.name)));
    if (leaving !== undefined) for (const pid of this.#pidsOf(table, leaving)) holders.delete(pid);
    const free = holders.size === 0;
    const newHolds = free || (newOwner !== undefined && this.#holdsOwnerLock(table, disk.name, newOwner));
    if (!oldHolds && newHolds) {
      this.#view.apply(live);
      // Others saw the record before we held the lock: have them look again.
      if (tookNow) this.#announce(this.#view.nameState(disk.name) ?? live);
      return true;
    }
    if (this.#ours(oldOwner) && cur !== undefined && replacesUs(cur, live, this.#ours)) {
      // A replacement we allowed: let go, so the new owner can take the lock
      // and announce again; until then our view keeps us.
      this.#ownerLocks.release(disk.name);
    } else if (this.#ours(newOwner)) {
      // Passed to us (released or replaced): believed once we hold the lock.
      this.#takeOwnerLock(disk.name);
    } else {
      this.#log.warn(
        { name: disk.name, claimed: newOwner?.toString() ?? '', version: disk.version },
        'ignoring a name record its owner lock does not back',
      );
    }
    return false;
  }

  /** The process of member `id`: the holder of its live lock, and the pid the transport reported. */
  #pidsOf(table: LockTable, id: bigint): Set<number> {
    const pids = new Set(lockHolders(table, this.#livePath(id)));
    const pid = this.#view.member(id)?.pid;
    if (pid !== undefined && pid > 0) pids.add(pid);
    return pids;
  }

  #holdsOwnerLock(table: Map<string, Set<number>>, name: string, id: bigint): boolean {
    if (this.#ours(id)) return this.#ownerLocks.holding(name);
    const holders = lockHolders(table, this.#store.ownerLockPath(name));
    if (holders.size === 0) return false;
    // A hosted client's names are held by its host's process.
    for (const pid of lockHolders(table, this.#livePath(memberOf(id)))) if (holders.has(pid)) return true;
    return false;
  }

  /**
   * Takes the owner lock of a name we are primary owner of; if its old
   * owner still holds it (it has not seen the change yet), polls without
   * blocking until it lets go, then announces the record again so that
   * every member checks it once more.
   */
  #takeOwnerLock(name: string): void {
    if (this.#ownerLocks.tryTake(name)) return;
    if (this.#waiting.has(name)) return;
    this.#waiting.add(name);
    void (async () => {
      const deadline = Date.now() + LOCK_WAIT_MS;
      let pause = 1;
      try {
        while (!this.#closed && Date.now() < deadline) {
          await new Promise((r) => setTimeout(r, pause));
          pause = Math.min(pause * 2, 20);
          if (this.#closed) return;
          const mine = this.#store.read(name);
          if (!this.#ours(mine.owners[0]?.id)) return;
          if (!this.#ownerLocks.tryTake(name)) continue;
          this.#applyChecked(mine);
          this.#announce(this.#view.nameState(name) ?? mine);
          return;
        }
        this.#log.warn({ name }, 'the owner lock of a name we own was not released in time');
      } catch (e) {
        this.#log.warn({ name, err: errorText(e) }, 'cannot take the owner lock of a name');
      } finally {
        this.#waiting.delete(name);
      }
    })();
  }

  #checkOpen(): void {
    if (this.#closed) throw new DBusError(ErrorNames.Disconnected, 'the connection is closed');
  }

  /** A name `self` holds no claim to yet would be one too many past limits.maxNames. */
  #checkNameLimit(self: bigint, name: string): void {
    const held = this.#view.namesOf(self);
    if (held.length < this.#limits.maxNames || held.includes(name)) return;
    throw limitExceeded(this.#limits, 'maxNames', `cannot request ${name}: ${held.length} names are owned or queued for`);
  }

  #checkName(name: string): void {
    if (typeof name !== 'string' || !isValidBusName(name)) {
      throw new DBusError(ErrorNames.InvalidArgs, `'${String(name)}' is not a valid bus name`);
    }
    if (name.startsWith(':')) {
      throw new DBusError(ErrorNames.InvalidArgs, `Cannot acquire or release a unique name such as '${name}'`);
    }
    if (name === BUS_NAME) {
      throw new DBusError(ErrorNames.InvalidArgs, `'${BUS_NAME}' is reserved for the bus itself`);
    }
  }

  #record(state: NameState): Message {
    const msg = announcement(state, this.#recordSerial.next());
    msg.sender = this.#uniqueName;
    return msg;
  }

  readonly #publish = (state: NameState): void => {
    // The owner lock follows the record, before anyone reads it: taken when
    // we became primary owner (the old owner's is free unless it is being
    // replaced), dropped when we stopped being it.
    if (this.#ours(state.owners[0]?.id)) this.#takeOwnerLock(state.name);
    else this.#ownerLocks.release(state.name);
    this.#announce(state);
  };

  #announce(state: NameState): void {
    // No bloom: every member must see every record. Out now, not at the end
    // of the turn: the caller may tell others it owns the name before that
    // (as dbus-daemon sends NameOwnerChanged before the RequestName reply).
    this.#network.broadcast(encodeMessage(this.#record(state)));
    this.#network.flushPending();
  }

  /** A change to a name record; file-system trouble becomes a DBusError. */
  async #mutate<R>(name: string, fn: (s: NameState) => Outcome<R>): Promise<{ state: NameState; reply: R }> {
    try {
      return await this.#store.mutate(name, this.gone, fn, this.#publish);
    } catch (e) {
      if (e instanceof DBusError) throw e;
      throw new DBusError(ErrorNames.Failed, `cannot change the record of ${name}: ${errorText(e)}`, { cause: e });
    }
  }
}

/** Does `next` replace us (primary in `cur`, allowing it) with a member that asked to replace? */
function replacesUs(cur: NameState, next: NameState, isOurs: (id: bigint) => boolean): boolean {
  const ours = cur.owners[0];
  const theirs = next.owners[0];
  return (
    ours !== undefined &&
    isOurs(ours.id) &&
    theirs !== undefined &&
    !isOurs(theirs.id) &&
    (ours.flags & NameFlag.ALLOW_REPLACEMENT) !== 0 &&
    (theirs.flags & NameFlag.REPLACE_EXISTING) !== 0
  );
}
