// Well-known name ownership for one connection: RequestName/ReleaseName on disk, records to and from peers.
import type { Network } from '@ipnbus/transport-ipn';
import { encodeMessage, isValidBusName, type Message } from '../wire/index.js';
import { announcement, parseAnnouncement } from './announce.js';
import type { BusView } from './bus-view.js';
import { BUS_NAME } from './constants.js';
import { DBusError, ErrorNames, errorText } from './errors.js';
import { limitExceeded, type ConnectionLimits } from './limits.js';
import type { Logger } from './logger.js';
import {
  releaseName as releaseNameOp,
  requestName as requestNameOp,
  type NameState,
  type Outcome,
} from './name-state.js';
import type { NameStore } from './name-store.js';
import { SerialCounter } from './serial-counter.js';

export interface NameOwnershipInit {
  store: NameStore;
  view: BusView;
  network: Network;
  memberId: bigint;
  uniqueName: string;
  /** Is member `id` alive (its member lock held)? */
  alive: (id: bigint) => boolean;
  log: Logger;
  limits: ConnectionLimits;
}

/**
 * The names directory is the truth and the view a replica of it: every
 * change is made there under the name's guard lock, then applied to our
 * view and announced to every member (a record carries only which name to
 * re-read). Owner-change signals come from the view, not from here.
 */
export class NameOwnership {
  readonly #store: NameStore;
  readonly #view: BusView;
  readonly #network: Network;
  readonly #memberId: bigint;
  readonly #uniqueName: string;
  readonly #alive: (id: bigint) => boolean;
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
    this.#log = init.log;
    this.#limits = init.limits;
  }

  /** Known to have left, or dead on disk (never ourselves). */
  readonly gone = (id: bigint): boolean =>
    id !== this.#memberId && (this.#view.departed(id) || !this.#alive(id));

  /** Fills the view from the names directory (at connect: listen for records first). */
  loadSnapshot(): void {
    for (const state of this.#store.readAll()) {
      this.#view.apply({ ...state, owners: state.owners.filter((c) => !this.gone(c.id)) });
    }
  }

  /** RequestName; resolves with the spec's reply code (RequestNameReply). */
  async request(name: string, flags: number): Promise<number> {
    this.#checkName(name);
    if (!Number.isInteger(flags) || flags < 0 || flags > 0xffffffff) {
      throw new DBusError(ErrorNames.InvalidArgs, `RequestName flags must be a uint32, got ${flags}`);
    }
    this.#checkOpen();
    this.#checkNameLimit(name);
    const out = await this.#mutate(name, (s) => requestNameOp(s, this.#memberId, flags));
    if (!this.#closed) this.#view.apply(out.state);
    this.#log.debug({ name, flags, reply: out.reply }, 'RequestName');
    return out.reply;
  }

  /** ReleaseName; resolves with the spec's reply code (ReleaseNameReply). */
  async release(name: string): Promise<number> {
    this.#checkName(name);
    this.#checkOpen();
    const out = await this.#mutate(name, (s) => releaseNameOp(s, this.#memberId));
    if (!this.#closed) this.#view.apply(out.state);
    this.#log.debug({ name, reply: out.reply }, 'ReleaseName');
    return out.reply;
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
      this.#view.apply(this.#store.read(hint.name));
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
    for (const name of this.#view.namesOf(id)) {
      const cur = this.#view.nameState(name);
      if (cur === undefined || cur.owners[0]?.id !== id || cur.owners.length > 1) continue;
      let disk: NameState;
      try {
        disk = this.#store.read(name);
      } catch (e) {
        this.#log.warn({ name, err: errorText(e) }, 'cannot read a name record');
        continue;
      }
      if (disk.owners[0]?.id === id || disk.handedOverFrom === id) this.#view.apply(disk);
    }
  }

  /**
   * A record we wrote after a newcomer read the names directory but before
   * our transport knew it may have missed it: send it our records again (it
   * keeps whichever version is newest).
   */
  sendRecordsTo(id: bigint): void {
    for (const name of this.#view.namesOf(this.#memberId)) {
      const state = this.#view.nameState(name)!;
      try {
        this.#network.send(id, encodeMessage(this.#record(state)));
      } catch (e) {
        this.#log.debug({ to: id.toString(), err: errorText(e) }, 'could not send a name record to a newcomer');
      }
    }
  }

  /** No more changes to the view (the connection is closing). */
  close(): void {
    this.#closed = true;
  }

  #checkOpen(): void {
    if (this.#closed) throw new DBusError(ErrorNames.Disconnected, 'the connection is closed');
  }

  /** A name we hold no claim to yet would be one too many past limits.maxNames. */
  #checkNameLimit(name: string): void {
    const held = this.#view.namesOf(this.#memberId);
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
    // No bloom: every member must see every record. Out now, not at the end
    // of the turn: the caller may tell others it owns the name before that
    // (as dbus-daemon sends NameOwnerChanged before the RequestName reply).
    this.#network.broadcast(encodeMessage(this.#record(state)));
    this.#network.flushPending();
  };

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
