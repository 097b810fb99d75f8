// Method calls waiting for their reply: matched by serial, callee and kind, failed on timeout, departure or close.
import { MessageType, type Message } from '../wire/index.js';
import { DBusError, ErrorNames } from './errors.js';
import { memberOf, subOf } from './unique-name.js';

export interface CallResult {
  reply: Message;
  fds: number[];
}

interface Pending {
  serial: number;
  resolve: (r: CallResult) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
  /** Member the call went to; 0n for org.freedesktop.DBus (answered locally). */
  target: bigint;
  destination: string;
  member: string;
  /** A core-internal call (settle): its reply is not shown to the application. */
  internal: boolean;
}

export interface NewCall {
  resolve: (r: CallResult) => void;
  reject: (e: Error) => void;
  target: bigint;
  destination: string;
  member: string;
  interface?: string;
  internal?: boolean;
}

/**
 * Keyed by serial, callee and kind (application or core-internal), not by
 * serial alone: a gateway's member sends with the serials its stock client
 * chose, so its own sync calls may carry a serial one of the client's calls
 * to the same member also carries. A sync reply says it is one (see
 * announce.ts), so each reply still finds its call.
 */
export class PendingCalls {
  readonly #calls = new Map<string, Pending>();
  readonly #unanswered: (serial: number, err: DBusError) => void;

  /** `unanswered`: an application call sent as `serial` fails without a reply on the wire (its timeout, its callee gone). */
  constructor(unanswered: (serial: number, err: DBusError) => void = () => undefined) {
    this.#unanswered = unanswered;
  }

  static #key(serial: number, target: bigint, internal: boolean): string {
    return `${serial}/${target}${internal ? '/i' : ''}`;
  }

  /** Calls waiting for their reply (core-internal ones included). */
  get size(): number {
    return this.#calls.size;
  }

  /** Is a call with this serial to this callee already waiting? */
  has(serial: number, target: bigint): boolean {
    return this.#calls.has(PendingCalls.#key(serial, target, false));
  }

  /** Throws DBusError InvalidArgs if a call with the same serial to the same callee is waiting. */
  add(serial: number, call: NewCall, timeoutMs: number): void {
    const key = PendingCalls.#key(serial, call.target, call.internal === true);
    if (this.#calls.has(key)) {
      throw new DBusError(
        ErrorNames.InvalidArgs,
        `serial ${serial} is already waiting for a reply from ${call.destination}: a sender's serials must be unique among its calls in flight`,
      );
    }
    const timer = setTimeout(() => {
      this.#calls.delete(key);
      this.#fail(serial, call.internal === true, call.reject, new DBusError(
        ErrorNames.NoReply,
        `Did not receive a reply to ${call.interface ?? ''}.${call.member} from ${call.destination} within ${timeoutMs} ms`,
      ));
    }, timeoutMs);
    this.#calls.set(key, { ...call, serial, internal: call.internal === true, timer });
  }

  /**
   * Is `reply` the answer to one of our calls? Only when it came from the
   * member the call went to: a reply with a matching serial from anyone
   * else answers nothing. `internal` says whether the reply is one to a
   * core-internal call (a sync reply). Returns the key for complete().
   */
  match(reply: Message, from: bigint | undefined, internal: boolean): string | undefined {
    if (reply.replySerial === undefined || from === undefined) return undefined;
    const key = PendingCalls.#key(reply.replySerial, from, internal);
    return this.#calls.has(key) ? key : undefined;
  }

  /** Completes the call `key` (from match()) with `reply`. */
  complete(key: string, reply: Message, fds: number[]): void {
    const p = this.#calls.get(key);
    if (p === undefined) return;
    this.#calls.delete(key);
    clearTimeout(p.timer);
    if (reply.type === MessageType.ERROR) p.reject(DBusError.fromReply(reply));
    else p.resolve({ reply, fds });
  }

  /** Endpoint `id` left (a member: with the clients it hosts): its calls will never be answered. */
  failMember(id: bigint): void {
    const member = subOf(id) === 0;
    for (const [key, p] of this.#calls) {
      if (p.target !== id && !(member && p.target !== 0n && memberOf(p.target) === id)) continue;
      this.#calls.delete(key);
      clearTimeout(p.timer);
      this.#fail(p.serial, p.internal, p.reject, new DBusError(ErrorNames.NoReply, `${p.destination} left the bus before replying to ${p.member}`));
    }
  }

  #fail(serial: number, internal: boolean, reject: (e: Error) => void, err: DBusError): void {
    if (!internal) this.#unanswered(serial, err);
    reject(err);
  }

  failAll(err: () => Error): void {
    for (const p of this.#calls.values()) {
      clearTimeout(p.timer);
      p.reject(err());
    }
    this.#calls.clear();
  }
}
