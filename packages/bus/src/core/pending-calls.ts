// Method calls waiting for their reply: matched by serial and callee, failed on timeout, departure or close.
import { MessageType, type Message } from '../wire/index.js';
import { DBusError, ErrorNames } from './errors.js';

export interface CallResult {
  reply: Message;
  fds: number[];
}

interface Pending {
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

export class PendingCalls {
  readonly #calls = new Map<number, Pending>();

  add(serial: number, call: NewCall, timeoutMs: number): void {
    const timer = setTimeout(() => {
      this.#calls.delete(serial);
      call.reject(
        new DBusError(
          ErrorNames.NoReply,
          `Did not receive a reply to ${call.interface ?? ''}.${call.member} from ${call.destination} within ${timeoutMs} ms`,
        ),
      );
    }, timeoutMs);
    this.#calls.set(serial, { ...call, internal: call.internal === true, timer });
  }

  /**
   * Is `reply` the answer to one of our calls? Only when it came from the
   * member the call went to: a reply with a matching serial from anyone
   * else answers nothing. Tells whether the call was core-internal.
   */
  match(reply: Message, from: bigint | undefined): { internal: boolean } | undefined {
    if (reply.replySerial === undefined) return undefined;
    const p = this.#calls.get(reply.replySerial);
    if (p === undefined || p.target !== from) return undefined;
    return { internal: p.internal };
  }

  /** Completes the call `reply` answers (after match()). */
  complete(reply: Message, fds: number[]): void {
    const p = this.#calls.get(reply.replySerial!);
    if (p === undefined) return;
    this.#calls.delete(reply.replySerial!);
    clearTimeout(p.timer);
    if (reply.type === MessageType.ERROR) p.reject(DBusError.fromReply(reply));
    else p.resolve({ reply, fds });
  }

  /** The callee left: its calls will never be answered. */
  failMember(id: bigint): void {
    for (const [serial, p] of this.#calls) {
      if (p.target !== id) continue;
      this.#calls.delete(serial);
      clearTimeout(p.timer);
      p.reject(new DBusError(ErrorNames.NoReply, `${p.destination} left the bus before replying to ${p.member}`));
    }
  }

  failAll(err: () => Error): void {
    for (const p of this.#calls.values()) {
      clearTimeout(p.timer);
      p.reject(err());
    }
    this.#calls.clear();
  }
}
