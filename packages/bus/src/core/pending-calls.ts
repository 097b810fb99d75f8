// Method calls waiting for their reply: matched by serial, callee and kind, failed on timeout, departure or close.
import { MessageType, type Message } from '../wire/index.js';
import { DBusError, ErrorNames } from './errors.js';
import { memberOf, subOf } from './unique-name.js';

export interface CallResult {
  reply: Message;
  fds: number[];
}

export interface NewCall {
  resolve: (r: CallResult) => void;
  reject: (e: unknown) => void;
  target: bigint;
  destination: string;
  member: string;
  interface?: string;
  internal?: boolean;
}

interface Pending extends NewCall {
  serial: number;
  /** A core-internal call (settle): its reply is not shown to the application. */
  internal: boolean;
  /** When it times out (performance.now() ms). */
  deadline: number;
  /** Its timeout's group (see Deadlines). */
  group: Deadlines;
  /** The next call waiting under the same serial (another callee or kind): rare, a gateway's (see below). */
  next: Pending | undefined;
}

/**
 * The calls sharing one timeout length, in the order they were made, so
 * in the order they expire: one timer, armed for the first of them,
 * instead of a timer per call (a relay forwards every call with the same
 * timeout). A call answered first leaves the set; a timer that finds
 * nothing expired is armed again for the new first; one that finds no
 * call left ends the group.
 */
interface Deadlines {
  timeoutMs: number;
  calls: Set<Pending>;
  timer: NodeJS.Timeout | undefined;
}

/**
 * Keyed by serial, callee and kind (application or core-internal), not by
 * serial alone: a gateway's member sends with the serials its stock client
 * chose, so its own sync calls may carry a serial one of the client's calls
 * to the same member also carries. A sync reply says it is one (see
 * announce.ts), so each reply still finds its call. The table is by
 * serial, each entry the head of the (almost always one-long) chain of
 * calls under it.
 */
export class PendingCalls {
  readonly #calls = new Map<number, Pending>();
  readonly #groups = new Map<number, Deadlines>();
  #size = 0;
  readonly #unanswered: (serial: number, err: DBusError) => void;

  /** `unanswered`: an application call sent as `serial` fails without a reply on the wire (its timeout, its callee gone). */
  constructor(unanswered: (serial: number, err: DBusError) => void = () => undefined) {
    this.#unanswered = unanswered;
  }

  /** Calls waiting for their reply (core-internal ones included). */
  get size(): number {
    return this.#size;
  }

  #find(serial: number, target: bigint, internal: boolean): Pending | undefined {
    for (let p = this.#calls.get(serial); p !== undefined; p = p.next) {
      if (p.target === target && p.internal === internal) return p;
    }
    return undefined;
  }

  /** Is a call with this serial to this callee already waiting? */
  has(serial: number, target: bigint): boolean {
    return this.#find(serial, target, false) !== undefined;
  }

  /** Throws DBusError InvalidArgs if a call with the same serial to the same callee is waiting. */
  add(serial: number, call: NewCall, timeoutMs: number): void {
    const internal = call.internal === true;
    if (this.#find(serial, call.target, internal) !== undefined) {
      throw new DBusError(
        ErrorNames.InvalidArgs,
        `serial ${serial} is already waiting for a reply from ${call.destination}: a sender's serials must be unique among its calls in flight`,
      );
    }
    let group = this.#groups.get(timeoutMs);
    if (group === undefined) {
      group = { timeoutMs, calls: new Set(), timer: undefined };
      this.#groups.set(timeoutMs, group);
    }
    const p: Pending = {
      resolve: call.resolve,
      reject: call.reject,
      target: call.target,
      destination: call.destination,
      member: call.member,
      interface: call.interface,
      serial,
      internal,
      deadline: performance.now() + timeoutMs,
      group,
      next: this.#calls.get(serial),
    };
    this.#calls.set(serial, p);
    this.#size++;
    group.calls.add(p);
    if (group.timer === undefined) this.#arm(group, timeoutMs);
    else if (group.calls.size === 1) group.timer.ref();
  }

  #arm(group: Deadlines, ms: number): void {
    group.timer = setTimeout(() => this.#expire(group), ms);
  }

  /** The group's timer: fails what has expired, in the order it was called, and re-arms for the rest. */
  #expire(group: Deadlines): void {
    group.timer = undefined;
    if (group.calls.size === 0) {
      this.#groups.delete(group.timeoutMs);
      return;
    }
    const now = performance.now();
    for (const p of group.calls) {
      // Timers run on the loop's millisecond clock: up to 1 ms early counts.
      if (p.deadline > now + 1) {
        // (A call made from a rejection below armed it already.)
        if (group.timer === undefined) this.#arm(group, Math.ceil(p.deadline - now));
        return;
      }
      this.#remove(p);
      this.#fail(p, new DBusError(
        ErrorNames.NoReply,
        `Did not receive a reply to ${p.interface ?? ''}.${p.member} from ${p.destination} within ${group.timeoutMs} ms`,
      ));
    }
    if (group.timer === undefined) this.#groups.delete(group.timeoutMs);
  }

  /** Takes `p` out of the table and its group. */
  #remove(p: Pending): void {
    const head = this.#calls.get(p.serial);
    if (head === p) {
      if (p.next === undefined) this.#calls.delete(p.serial);
      else this.#calls.set(p.serial, p.next);
    } else {
      let q = head;
      while (q !== undefined && q.next !== p) q = q.next;
      if (q !== undefined) q.next = p.next;
    }
    this.#size--;
    const group = p.group;
    group.calls.delete(p);
    // The timer stays for the next call (one in flight at a time: one timer per timeout
    // length, not one per call), without keeping the process alive meanwhile.
    if (group.calls.size === 0) group.timer?.unref();
  }

  /**
   * Is `reply` the answer to one of our calls? Only when it came from the
   * member the call went to: a reply with a matching serial from anyone
   * else answers nothing. `internal` says whether the reply is one to a
   * core-internal call (a sync reply). Returns the call for complete().
   */
  match(reply: Message, from: bigint | undefined, internal: boolean): object | undefined {
    if (reply.replySerial === undefined || from === undefined) return undefined;
    return this.#find(reply.replySerial, from, internal);
  }

  /** Completes the call `key` (from match()) with `reply`. */
  complete(key: object, reply: Message, fds: number[]): void {
    const p = key as Pending;
    if (!p.group.calls.has(p)) return; // settled meanwhile
    this.#remove(p);
    if (reply.type === MessageType.ERROR) p.reject(DBusError.fromReply(reply));
    else p.resolve({ reply, fds });
  }

  /** Endpoint `id` left (a member: with the clients it hosts): its calls will never be answered. */
  failMember(id: bigint): void {
    const member = subOf(id) === 0;
    const gone: Pending[] = [];
    for (const head of this.#calls.values()) {
      for (let p: Pending | undefined = head; p !== undefined; p = p.next) {
        if (p.target === id || (member && p.target !== 0n && memberOf(p.target) === id)) gone.push(p);
      }
    }
    for (const p of gone) {
      this.#remove(p);
      this.#fail(p, new DBusError(ErrorNames.NoReply, `${p.destination} left the bus before replying to ${p.member}`));
    }
  }

  #fail(p: Pending, err: DBusError): void {
    if (!p.internal) this.#unanswered(p.serial, err);
    p.reject(err);
  }

  failAll(err: () => Error): void {
    const all = [...this.#calls.values()];
    this.#calls.clear();
    this.#size = 0;
    for (const g of this.#groups.values()) clearTimeout(g.timer);
    this.#groups.clear();
    for (const head of all) {
      for (let p: Pending | undefined = head; p !== undefined; p = p.next) p.reject(err());
    }
  }
}
