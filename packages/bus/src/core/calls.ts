// The method calls one endpoint makes: limits, serial checks, activation first when needed, the pending table, core's sync calls.
import { MessageFlags, MessageType, isValidBusName, type Message } from '../wire/index.js';
import type { Activator } from './activation/index.js';
import { ANNOUNCE_INTERFACE, ANNOUNCE_PATH, SYNC_MEMBER, isSyncReply } from './announce.js';
import type { BusView } from './bus-view.js';
import { BUS_NAME, DEFAULT_CALL_TIMEOUT_MS } from './constants.js';
import { DBusError, ErrorNames, errorText } from './errors.js';
import { closeFds } from './fds.js';
import { limitExceeded, type ConnectionLimits } from './limits.js';
import type { Logger } from './logger.js';
import { PendingCalls, type CallResult } from './pending-calls.js';
import { checkSerial } from './serial-counter.js';

export interface CallOptions {
  /**
   * Send with this serial (1..0xffffffff) instead of the next of our own:
   * a relay (the gateway) forwards its client's calls with the serials the
   * client chose, as dbus-daemon does.
   */
  serial?: number;
  /** Default 25000, as libdbus. */
  timeoutMs?: number;
  fds?: number[];
  /** Set NO_REPLY_EXPECTED: resolve once sent, with an empty placeholder reply. */
  noReply?: boolean;
}

export type CallMessage = Partial<Message> & { destination: string; path: string; member: string };

/** What the calls need from their endpoint. */
export interface CallsInit {
  /** Sends as the endpoint does (Connection.send); returns the serial. */
  send: (msg: Partial<Message> & Pick<Message, 'type'>, fds?: number[], serial?: number) => number;
  view: BusView;
  activator: Activator;
  limits: ConnectionLimits;
  log: Logger;
  /** The endpoint's own copy of a caller's fd (they may close theirs once call() returns). */
  dup: (fd: number) => number;
  /** A call refused before it was sent (its service could not be started): shown to monitors (EndpointSender.refused). */
  refused: (msg: Partial<Message> & Pick<Message, 'type'>, fds: readonly number[], serial: number | undefined, err: unknown) => void;
  /** A call sent as `serial` failed without a reply on the wire (timeout, callee gone): shown to monitors (EndpointSender.unanswered). */
  unanswered: (serial: number, err: Error) => void;
}

export class Calls {
  readonly #pending: PendingCalls;
  readonly #init: CallsInit;
  /**
   * Per destination name being started: settles once the last call queued
   * behind the start was sent. Calls to that name wait for it, so they
   * reach the service in the order they were made, as dbus-daemon queues
   * them behind a pending activation.
   */
  readonly #startQueue = new Map<string, Promise<void>>();
  /** True while a queued call is being sent: its own send must not queue it again. */
  #sendingQueued = false;

  constructor(init: CallsInit) {
    this.#init = init;
    this.#pending = new PendingCalls((serial, err) => init.unanswered(serial, err));
  }

  /** Calls waiting for replies (core's own sync calls included). */
  get size(): number {
    return this.#pending.size;
  }

  /**
   * A method call; resolves with the METHOD_RETURN, rejects with DBusError
   * for an ERROR reply, NoReply on timeout or when the callee leaves,
   * ServiceUnknown for a name nobody owns.
   */
  call(msg: CallMessage, opts: CallOptions = {}): Promise<CallResult> {
    return new Promise<CallResult>((resolve, reject) => this.callThen(msg, opts, resolve, reject));
  }

  /**
   * call() without a promise: `resolve` or `reject` is called once, with
   * what call() would settle with, perhaps before this returns (a relay's
   * per-call path: no promise and no microtask hops between a reply and
   * its forwarding). Neither may throw.
   */
  callThen(msg: CallMessage, opts: CallOptions, resolve: (r: CallResult) => void, reject: (e: unknown) => void): void {
    const noReply = opts.noReply === true || ((msg.flags ?? 0) & MessageFlags.NO_REPLY_EXPECTED) !== 0;
    const flags = (msg.flags ?? 0) | (noReply ? MessageFlags.NO_REPLY_EXPECTED : 0);
    const timeoutMs = opts.timeoutMs ?? DEFAULT_CALL_TIMEOUT_MS;
    if (typeof timeoutMs !== 'number' || !(timeoutMs > 0) || timeoutMs > 0x7fffffff) {
      reject(new DBusError(ErrorNames.InvalidArgs, `timeoutMs must be a positive number of ms, got ${String(timeoutMs)}`));
      return;
    }
    if (this.mustWait(msg.destination, flags)) {
      this.#callAfterStart(msg, opts, flags, noReply, timeoutMs, this.#startQueue.get(msg.destination)).then(resolve, reject);
      return;
    }
    this.#callNow(msg, opts, flags, noReply, timeoutMs, resolve, reject);
  }

  /**
   * Must a call to `dest` wait: its service must be started first, or
   * calls to it are already queued behind a start (this one goes after
   * them)?
   */
  mustWait(dest: string, flags: number): boolean {
    return !this.#sendingQueued && (this.#startQueue.has(dest) || this.needsStart(dest, flags));
  }

  /**
   * Held until the service has its name (or activation fails) and every
   * earlier call queued for the same name was sent. The caller's timeout
   * covers the wait and the reply, as a client's own timer does on
   * dbus-daemon: whichever ends first, the bus's start timeout (TimedOut)
   * or the caller's (NoReply, at once, the start going on for the others),
   * is the answer; a call given up on is never sent. One that expects no
   * reply waits as long as the start takes. Our own copies of the
   * fds, as the caller may close its own once call() returns.
   */
  #callAfterStart(
    msg: CallMessage,
    opts: CallOptions,
    flags: number,
    noReply: boolean,
    timeoutMs: number,
    before: Promise<void> | undefined,
  ): Promise<CallResult> {
    const t0 = Date.now();
    const dest = msg.destination;
    const fds = (opts.fds ?? []).map((fd) => this.#init.dup(fd));
    let sent!: () => void;
    const queued = new Promise<void>((resolve) => (sent = resolve));
    this.#startQueue.set(dest, queued);
    void queued.then(() => {
      if (this.#startQueue.get(dest) === queued) this.#startQueue.delete(dest);
    });
    const autoStart = (flags & MessageFlags.NO_AUTO_START) === 0;
    const late = (): DBusError =>
      new DBusError(ErrorNames.NoReply, `Did not receive a reply to ${msg.member} from ${dest} within ${timeoutMs} ms (it was being started)`);
    let gaveUp = false;
    let timer: NodeJS.Timeout | undefined;
    // A call that expects no reply has no one waiting on a timer: it waits as long as the start may take.
    const expired = new Promise<never>((_, reject) => {
      if (noReply) return;
      timer = setTimeout(() => {
        gaveUp = true;
        // Never sent: monitors see the call and the bus's error, as a refused one.
        const err = late();
        this.#init.refused({ ...msg, flags, type: MessageType.METHOD_CALL }, fds, opts.serial, err);
        reject(err);
      }, timeoutMs);
    });
    const reply = (before ?? Promise.resolve())
      .then(() => (autoStart && !gaveUp && this.needsStart(dest, flags) ? this.#init.activator.start(dest) : undefined))
      .then(() => {
        const left = timeoutMs - (Date.now() - t0);
        if (gaveUp || (left <= 0 && !noReply)) throw late();
        return left;
      })
      .catch((e: unknown) => {
        // Never sent: monitors see the call and the bus's error, as dbus-daemon shows a failed
        // activation (not after the caller's own timeout: that showed its own). Racing callers
        // share the activation's error: each gets its own, for its own reply.
        const own = e instanceof DBusError ? new DBusError(e.name, e.message, { cause: e }) : e;
        if (!gaveUp) this.#init.refused({ ...msg, flags, type: MessageType.METHOD_CALL }, fds, opts.serial, own);
        throw own;
      })
      .then((left) => {
        try {
          // Sent (or refused) before this returns: the next in line may go.
          this.#sendingQueued = true;
          // Sent: from here the pending table's timer (the time left) is the caller's.
          clearTimeout(timer);
          return new Promise<CallResult>((resolve, reject) =>
            this.#callNow(msg, { ...opts, fds }, flags, noReply, Math.max(left, 1), resolve, reject));
        } finally {
          this.#sendingQueued = false;
          sent();
        }
      });
    // A failed start lets the next in line try (and report) on its own.
    reply.catch(() => sent());
    // The fds are ours until the queued call was sent or dropped, even when the caller stopped waiting.
    const done = reply.finally(() => {
      clearTimeout(timer);
      closeFds(fds);
    });
    done.catch(() => undefined);
    return Promise.race([done, expired]);
  }

  /**
   * Does a call to `dest` first need its service started? A well-known
   * name nobody owns, and the caller did not say NO_AUTO_START.
   */
  needsStart(dest: string, flags: number): boolean {
    return (
      (flags & MessageFlags.NO_AUTO_START) === 0 &&
      dest !== BUS_NAME &&
      !dest.startsWith(':') &&
      isValidBusName(dest) &&
      this.#init.view.resolve(dest) === undefined
    );
  }

  #callNow(
    msg: CallMessage,
    opts: CallOptions,
    flags: number,
    noReply: boolean,
    timeoutMs: number,
    resolve: (r: CallResult) => void,
    reject: (e: unknown) => void,
  ): void {
    const { view, limits } = this.#init;
    // The caller's message itself when it is one as sent (a relay's): send() copies it anyway.
    const out = msg.type === MessageType.METHOD_CALL && msg.flags === flags ? msg : { ...msg, flags, type: MessageType.METHOD_CALL };
    let serial: number;
    let sending = false;
    try {
      if (!noReply && this.#pending.size >= limits.maxPendingCalls) {
        throw limitExceeded(limits, 'maxPendingCalls', `cannot call ${msg.destination} ${msg.member}: ${this.#pending.size} calls are waiting for replies`);
      }
      if (opts.serial !== undefined && !noReply) {
        const target = msg.destination === BUS_NAME ? 0n : view.resolve(msg.destination);
        if (target !== undefined && this.#pending.has(checkSerial(opts.serial), target)) {
          throw new DBusError(
            ErrorNames.InvalidArgs,
            `serial ${opts.serial} is already waiting for a reply from ${msg.destination}: a sender's serials must be unique among its calls in flight`,
          );
        }
      }
      sending = true;
      serial = this.#init.send(out as Partial<Message> & Pick<Message, 'type'>, opts.fds, opts.serial);
    } catch (e) {
      // Refused before it went out (a limit): monitors see it and the bus's error.
      if (!sending) this.#init.refused({ ...msg, flags, type: MessageType.METHOD_CALL }, opts.fds ?? [], opts.serial, e);
      reject(e);
      return;
    }
    if (noReply) {
      resolve({
        reply: { type: MessageType.METHOD_RETURN, flags: 0, serial: 0, replySerial: serial, signature: '', body: [] },
        fds: [],
      });
      return;
    }
    const target = msg.destination === BUS_NAME ? 0n : view.resolve(msg.destination) ?? 0n;
    try {
      this.#pending.add(serial, { resolve, reject, target, destination: msg.destination, member: msg.member, interface: msg.interface }, timeoutMs);
    } catch (e) {
      reject(e);
    }
  }

  /**
   * Round trips to members `ids` (Connection.settle): each answers after
   * everything we sent it before. A member that does not answer in time
   * is logged, not an error.
   */
  async sync(ids: bigint[], timeoutMs: number): Promise<void> {
    await Promise.all(
      ids.map((id) =>
        this.#internalCall(id, SYNC_MEMBER, timeoutMs).catch((e: unknown) => {
          this.#init.log.debug({ id: id.toString(), err: errorText(e) }, 'member did not answer a sync');
        }),
      ),
    );
  }

  #internalCall(id: bigint, member: string, timeoutMs: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const destination = this.#init.view.uniqueNameOf(id);
      let serial: number;
      try {
        serial = this.#init.send({ type: MessageType.METHOD_CALL, destination, path: ANNOUNCE_PATH, interface: ANNOUNCE_INTERFACE, member });
      } catch (e) {
        reject(e);
        return;
      }
      this.#pending.add(serial, { resolve: () => resolve(), reject, target: id, destination, member, internal: true }, timeoutMs);
    });
  }

  /**
   * A METHOD_RETURN or ERROR for our endpoint: shown to the application
   * (`show`) unless it answers core's own sync call, then completes the
   * call it answers, if any (only a reply from the member the call went
   * to answers it).
   */
  reply(msg: Message, fds: number[], show: (msg: Message, fds: number[]) => void): void {
    const from = msg.sender === BUS_NAME ? 0n : this.#init.view.endpointOf(msg.sender ?? '');
    const internal = isSyncReply(msg) && from !== 0n;
    const key = this.#pending.match(msg, from, internal);
    if (!internal) show(msg, fds);
    if (key !== undefined) this.#pending.complete(key, msg, fds);
  }

  /** Endpoint `id` left (a member: with its hosted clients): our calls to it will never be answered. */
  peerLeft(id: bigint): void {
    this.#pending.failMember(id);
  }

  /** The endpoint closed: every call fails with Disconnected. */
  close(): void {
    this.#pending.failAll(() => new DBusError(ErrorNames.Disconnected, 'the connection was closed'));
  }
}
