// One stock D-Bus client on the gateway, relayed to and from the Connection the gateway's member hosts for it.
//
// Each client is an endpoint of the gateway's one member (see README
// "Gateway"): its hosted Connection owns its unique name
// ':<generation>.<member>.<n>', its well-known names, its match rules and
// its credentials, so the rest of the bus cannot tell a gdbus client from
// a native one. This file only translates: messages read from the socket
// (client-input.ts) <-> Connection calls <-> messages written to it
// (client-output.ts); the driver calls about the socket itself are
// answered in client-driver.ts.
//
// Flow control, both ways, per client:
//  - in:  decoded messages wait in `queue`; when it is full, or too many
//         calls await replies, the socket is paused, so the kernel buffer
//         fills and the client's own writes block. Others are not affected.
//  - out: bytes the client has not read accumulate in the I/O's write
//         queue; past `maxOutgoingBytes` the client is disconnected with a
//         log line, rather than growing memory or stalling the bus.
//
// Unix fds (when negotiated) travel beside the messages: claimed in order
// by each message's UNIX_FDS count, handed to core with the message, and
// closed here once sent.
import type { Logger } from 'pino';
import { MessageFlags, MessageType, type Message } from '../wire/index.js';
import { DBusError, ErrorNames, childLogger, closeFds, type CallMessage, type Connection } from '../core/index.js';
import { peerCredentials, type PeerCredentials } from './peercred.js';
import type { GatewayLimits } from './options.js';
import { BUS_NAME, errorReply } from './driver-messages.js';
import type { MonitorHub } from './monitor.js';
import type { ClientIO } from './client-io.js';
import { ClientInput, type IncomingMessage } from './client-input.js';
import { ClientOutput } from './client-output.js';
import { answerDriverCall, answeredHere, helloReplies, isHello, notRegisteredError, type DriverCaller } from './client-driver.js';
/** Messages handled per event-loop turn, so one busy client cannot starve others. */
const BATCH = 64;
/** How long a hung-up client's endpoint stays on the bus (see close()). */
const LINGER_MS = 50;

/** What a client needs from the gateway that accepted it. */
export interface ClientContext {
  guid: string;
  limits: GatewayLimits;
  log: Logger;
  /**
   * A new endpoint of the gateway's member that reports `creds` (the
   * gateway's own when unknown); `beforeAnnounce` as Connection.host's.
   * Throws DBusError.
   */
  hostClient(creds: PeerCredentials | undefined, beforeAnnounce?: (ep: Connection) => void): Connection;
  /** May a client running as `uid` use this gateway? */
  allowUid(uid: number): boolean;
  monitors: MonitorHub;
  closed(client: GatewayClient): void;
}

type Phase = 'auth' | 'messages' | 'closed';

let nextClientId = 1;

export class GatewayClient {
  /** Gateway-local number, for log lines only. */
  readonly id = nextClientId++;
  creds: PeerCredentials | undefined;
  uniqueName: string | undefined;
  /** Set once BecomeMonitor succeeded: the client only receives from then on. */
  monitoring = false;
  private phase: Phase = 'auth';
  private readonly input: ClientInput;
  private readonly output: ClientOutput;
  private queue: IncomingMessage[] = [];
  private pumping = false;
  private paused = false;
  private pendingCalls = 0;
  private peerGone = false;
  private conn: Connection | undefined;
  private helloStarted = false;
  private authTimer: NodeJS.Timeout | undefined;
  private lingerTimer: NodeJS.Timeout | undefined;
  private readonly log: Logger;
  /** This client as the gateway's own driver answers see it (client-driver.ts), once registered. */
  private driverCaller: DriverCaller | undefined;

  constructor(
    private readonly ctx: ClientContext,
    private readonly io: ClientIO,
  ) {
    this.log = childLogger(ctx.log, { client: this.id });
    io.on('data', (chunk: Buffer, fds: number[]) => this.onData(chunk, fds));
    io.on('error', (err: NodeJS.ErrnoException) => {
      // EPIPE/ECONNRESET: the client hung up; anything else is worth a line.
      const hangup = err.code === 'EPIPE' || err.code === 'ECONNRESET';
      this.close(`socket error: ${err.message}`, hangup ? 'debug' : 'info', hangup);
    });
    // A client may write its last messages and hang up at once (dbus-send):
    // what it sent is still delivered before its member leaves.
    io.on('end', () => this.hangup());
    this.authTimer = setTimeout(() => this.close('authentication timed out'), ctx.limits.authTimeoutMs);
    this.authTimer.unref();
    this.output = new ClientOutput({
      io,
      limits: ctx.limits,
      log: this.log,
      writable: () => this.phase !== 'closed' && !this.peerGone,
      busSerial: () => this.conn?.busSerial(),
      tooSlow: (reason) => this.close(reason),
    });
    // Credentials come first: no byte is interpreted before we know who sent it.
    this.creds = io.fd === undefined ? undefined : peerCredentials(io.fd);
    const uid = this.creds?.uid;
    if (uid === undefined) this.log.warn('no SO_PEERCRED for client: EXTERNAL authentication will be rejected');
    this.input = new ClientInput({
      guid: ctx.guid,
      limits: ctx.limits,
      peerUid: uid !== undefined && ctx.allowUid(uid) ? uid : undefined,
      supportsFds: io.supportsFds,
      reply: (bytes) => io.write(bytes),
      authFailed: (reason) => {
        this.log.info({ reason }, 'client failed authentication; disconnecting');
        this.phase = 'closed';
        this.io.end();
        this.ctx.closed(this);
        clearTimeout(this.authTimer);
      },
      authenticated: () => {
        clearTimeout(this.authTimer);
        this.phase = 'messages';
      },
      invalid: (reason) => this.close(reason),
    });
    this.log.debug({ creds: this.creds, fdPassing: io.supportsFds }, 'client connected');
    io.resume();
  }

  /** Did the client negotiate unix fd passing (NEGOTIATE_UNIX_FD + AGREE)? */
  get unixFds(): boolean {
    return this.input.unixFds;
  }

  private onData(chunk: Buffer, fds: number[]): void {
    if (this.phase === 'closed') {
      closeFds(fds);
      return;
    }
    const messages = this.input.read(chunk, fds);
    if (messages === undefined) return;
    for (const m of messages) this.queue.push(m);
    this.updateFlow();
    this.pump();
  }

  /** Pause reading when the client is ahead of the bus (or the bus is full); resume at half. */
  private updateFlow(): void {
    if (this.phase === 'closed') return;
    const lim = this.ctx.limits;
    const busFull = this.conn?.backpressured === true;
    const full = busFull || this.queue.length >= lim.maxQueuedMessages || this.pendingCalls >= lim.maxPendingCalls;
    const low = !busFull && this.queue.length <= lim.maxQueuedMessages / 2 && this.pendingCalls <= lim.maxPendingCalls / 2;
    if (full && !this.paused) {
      this.paused = true;
      this.io.pause();
      this.log.debug({ queued: this.queue.length, pending: this.pendingCalls }, 'client backpressured: reading paused');
    } else if (this.paused && low) {
      this.paused = false;
      this.io.resume();
    }
  }

  /**
   * Hands queued messages to the bus, BATCH per loop turn (the rest in a
   * later turn, so one busy client cannot starve the others). Synchronous:
   * called for every chunk read, it costs no promise.
   */
  private pump(): void {
    if (this.pumping) return;
    this.pumping = true;
    let yielded = false;
    try {
      let n = 0;
      while (this.queue.length > 0 && this.phase === 'messages') {
        // The transport queued our last send: hold the rest until 'drain'.
        if (this.conn?.backpressured === true) break;
        if (n === BATCH) {
          yielded = true;
          setImmediate(this.pumpLater);
          break;
        }
        n++;
        const { msg, fds } = this.queue.shift()!;
        if (this.conn === undefined) {
          closeFds(fds);
          this.beforeHello(msg);
        } else this.handle(msg, fds);
      }
    } catch (err) {
      yielded = false;
      this.log.error({ err }, 'gateway bug while handling a client message');
      this.close('internal error');
    } finally {
      this.updateFlow();
      if (!yielded) {
        this.pumping = false;
        if (this.peerGone && this.queue.length === 0) this.close('client hung up', 'debug', true);
      }
    }
  }

  /** The pump's next batch, a loop turn later. */
  private readonly pumpLater = (): void => {
    this.pumping = false;
    this.pump();
  };

  private hangup(): void {
    this.peerGone = true;
    if (this.phase !== 'messages' || (!this.pumping && this.queue.length === 0)) this.close('client hung up', 'debug', true);
  }

  /** Until Hello, the only thing a client may do is say Hello (dbus-daemon rule). */
  private beforeHello(msg: Message): void {
    if (!isHello(msg) || this.helloStarted) {
      this.writeRaw(notRegisteredError(msg));
      return this.close('message before Hello', 'info', false, true);
    }
    this.helloStarted = true;
    let conn: Connection;
    let replies: Message[] = [];
    try {
      conn = this.ctx.hostClient(this.creds, (ep) => {
        // Monitors see the Hello and its reply before the client's
        // NameOwnerChanged and NameAcquired, as dbus-daemon shows them.
        replies = helloReplies(msg, ep.uniqueName);
        replies[0]!.serial = ep.busSerial();
        ep.showToMonitors({ ...msg, sender: ep.uniqueName });
        ep.showToMonitors(replies[0]!);
      });
    } catch (err) {
      this.log.error({ err }, 'could not host a client on the bus');
      this.writeRaw(errorReply(msg, ErrorNames.Failed, `gateway could not join the bus: ${String(err)}`));
      return this.close('bus connect failed', 'info', false, true);
    }
    this.conn = conn;
    this.uniqueName = conn.uniqueName;
    this.driverCaller = {
      uniqueName: conn.uniqueName,
      deliver: (m) => {
        // What the gateway answers for the bus driver, monitors see too.
        if (m.serial === 0) m.serial = conn.busSerial();
        conn.showToMonitors(m);
        this.deliver(m);
      },
      addMonitor: (rules) => this.ctx.monitors.add(this, rules, conn),
      becameMonitor: (rules) => {
        this.monitoring = true;
        conn.monitorReplied();
        this.log.info({ uniqueName: this.uniqueName, rules }, 'client became a monitor');
      },
    };
    conn.on('message', (m: Message, fds: number[]) => this.fromBus(m, fds));
    conn.on('methodCall', (call: { msg: Message; fds: number[] }) => this.callFromBus(call.msg, call.fds));
    conn.on('disconnect', () => this.close('bus connection lost'));
    conn.on('drain', () => {
      this.updateFlow();
      this.pump();
    });
    conn.on('error', (err: Error) => this.log.warn({ err }, 'bus connection error'));
    this.log.debug({ uniqueName: conn.uniqueName, creds: this.creds }, 'client registered');
    for (const reply of replies) this.deliver(reply);
  }

  /** A message from the registered client, on its way to the bus. */
  private handle(msg: Message, fds: number[]): void {
    if (this.monitoring) {
      // The spec: a monitor may not send anything; dbus-daemon drops it.
      closeFds(fds);
      return this.close('monitor sent a message');
    }
    msg.sender = this.uniqueName!;
    if (msg.destination === BUS_NAME) {
      closeFds(fds);
      // Answered here: monitors see the call (core's driver shows them the rest).
      if (answeredHere(msg)) {
        this.conn!.showToMonitors(msg);
        answerDriverCall(msg, this.driverCaller!);
      } else if (msg.type === MessageType.METHOD_CALL) this.askBus(msg);
      else this.toBus(msg);
      return;
    }
    this.toBus(msg, fds);
  }

  /**
   * A call to core's bus driver (all but Hello and BecomeMonitor): our
   * endpoint's driver answers it directly, and its reply is encoded once,
   * here (Connection.askBus), rather than tracked as a pending call and
   * round-tripped through the wire format as a call to a member is. A
   * client's Introspect and GetId, say, are most of a short-lived client's
   * traffic.
   */
  private askBus(msg: Message): void {
    this.pendingCalls++;
    const noReply = (msg.flags & MessageFlags.NO_REPLY_EXPECTED) !== 0;
    // As is: core stamps its own copy. A call that asked for no reply gets no error either.
    this.conn!.askBus(msg, msg.serial).then(
      (reply) => this.callSettled(msg, reply, []),
      (err: unknown) => this.callSettled(msg, undefined, [], noReply ? undefined : err),
    );
  }

  /** Hands a message to the member; `fds` are sent with it, then our copies closed. */
  private toBus(msg: Message, fds: number[] = []): void {
    const conn = this.conn!;
    const noReply = (msg.flags & MessageFlags.NO_REPLY_EXPECTED) !== 0;
    if (msg.type === MessageType.METHOD_CALL && !noReply) {
      this.forwardCall(msg, fds);
      return;
    }
    try {
      // The client's serial goes with it, as dbus-daemon forwards it; core
      // stamps the sender and the fd count on its own copy.
      conn.send(msg, fds.length > 0 ? fds : undefined, { serial: msg.serial });
    } catch (err) {
      // Replies and signals to vanished peers are dropped as dbus-daemon does;
      // a no-reply call gets no error by definition.
      this.log.debug({ err: String(err), member: msg.member }, 'message to the bus not delivered');
    } finally {
      closeFds(fds);
    }
  }

  /** A method call awaiting a reply: core tracks it, under the client's own serial. */
  private forwardCall(msg: Message, fds: number[]): void {
    this.pendingCalls++;
    // Callbacks, not a promise: the reply is written in the turn it arrives.
    this.conn!.callThen(
      msg as CallMessage,
      { timeoutMs: this.ctx.limits.callTimeoutMs, serial: msg.serial, ...(fds.length > 0 ? { fds } : {}) },
      (r) => this.callSettled(msg, r.reply, r.fds),
      (err) => this.callSettled(msg, undefined, [], err),
    );
    // call() has sent synchronously: the receiver holds its own references.
    closeFds(fds);
  }

  /**
   * A call's reply (or the error for it) to the client: the message
   * monitors saw. Neither (a call that asked for no reply): nothing.
   */
  private callSettled(call: Message, reply: Message | undefined, fds: number[], err?: unknown): void {
    this.pendingCalls--;
    try {
      if (reply === undefined && err instanceof DBusError && err.reply !== undefined) {
        // An error reply, or the error core makes up as the bus (a limit, the call timeout, the
        // callee gone; calls.ts) and showed monitors: the client gets the message they saw.
        reply = err.reply;
      }
      if (reply !== undefined) this.deliver(asReplyTo(reply, call.serial, this.uniqueName!), fds);
      else if (err instanceof DBusError) this.deliver(errorReply(call, err.name, err.message)); // our connection closed: nobody else sees it
      else if (err !== undefined) this.deliver(errorReply(call, ErrorNames.Failed, String(err)));
      this.updateFlow();
    } catch (e) {
      // Called from core's receive path: a bug here must not unwind into it.
      this.log.error({ err: e }, 'gateway bug while forwarding a reply');
      this.close('internal error');
    }
  }

  /** Messages core delivers to our member: signals here (a monitor: everything); calls via 'methodCall'; replies via call(). */
  private fromBus(msg: Message, fds: number[]): void {
    if (this.monitoring) {
      this.ctx.monitors.deliver(this, msg, fds);
      return;
    }
    if (msg.type !== MessageType.SIGNAL) {
      // Replies come with call()'s result, calls with 'methodCall': their
      // fds are handed over there, not here.
      return;
    }
    if (fds.length > 0 && !this.unixFds) {
      closeFds(fds);
      this.log.debug({ member: msg.member }, 'signal with unix fds dropped: the client did not negotiate fd passing');
      return;
    }
    this.deliver(msg, fds);
  }

  private callFromBus(msg: Message, fds: number[]): void {
    if (fds.length > 0 && !this.unixFds) {
      closeFds(fds);
      this.conn?.replyError(msg, ErrorNames.NotSupported, 'the destination did not negotiate unix fd passing');
      return;
    }
    if (this.monitoring) {
      closeFds(fds);
      this.conn?.replyError(msg, ErrorNames.UnknownObject, 'the destination is a monitor');
      return;
    }
    this.deliver(msg, fds);
  }

  /** Write to the client (monitors got their copy from core: the sender's member made it). */
  deliver(msg: Message, fds: number[] = []): void {
    if (this.phase === 'closed') {
      closeFds(fds);
      return;
    }
    if (fds.length > 0 && !this.unixFds) {
      // A reply carrying fds to a client that cannot take them.
      closeFds(fds);
      if (msg.type === MessageType.METHOD_RETURN && msg.replySerial !== undefined) {
        this.writeRaw(errorReply({ ...msg, serial: msg.replySerial, sender: this.uniqueName! }, ErrorNames.NotSupported,
          'the reply carries unix fds and this client did not negotiate fd passing', msg.sender));
      }
      return;
    }
    this.writeRaw(msg, fds);
  }

  /** Bytes written for the client that it has not read yet. */
  get backlogBytes(): number {
    return this.output.backlogBytes;
  }

  /** Encode and queue for the client (the fds go with it and are closed once sent). */
  writeRaw(msg: Message, fds: number[] = []): void {
    this.output.write(msg, fds);
  }

  /**
   * Drop the client and its endpoint. Idempotent. With `linger`, the
   * endpoint stays on the bus a moment longer: a client that sends and
   * hangs up at once (dbus-send) may still get replies it asked for (a
   * forwarded call's reply goes nowhere once the endpoint has left).
   * Calling close() again (gateway shutdown) ends a linger immediately.
   */
  close(reason: string, level: 'info' | 'debug' = 'info', linger = false, flushFirst = false): void {
    if (this.phase === 'closed') {
      if (!linger) this.leaveBus();
      return;
    }
    if (flushFirst) this.output.flush();
    this.phase = 'closed';
    clearTimeout(this.authTimer);
    this.log[level]({ reason, uniqueName: this.uniqueName }, 'client disconnected');
    for (const q of this.queue) closeFds(q.fds);
    this.queue = [];
    this.output.discard();
    this.input.discard();
    // Let last words (an error reply) reach the client, but not wait on it.
    if (flushFirst) this.io.end();
    else this.io.destroy();
    this.ctx.monitors.remove(this);
    if (linger && this.conn !== undefined) {
      this.lingerTimer = setTimeout(() => this.leaveBus(), LINGER_MS);
      return;
    }
    this.leaveBus();
  }

  private leaveBus(): void {
    clearTimeout(this.lingerTimer);
    const conn = this.conn;
    this.conn = undefined;
    if (conn !== undefined) {
      try {
        conn.disconnect();
      } catch (err) {
        this.log.warn({ err }, 'error leaving the bus');
      }
    }
    this.ctx.closed(this);
  }
}

/** `reply` addressed as its caller's client knows it (as core matched it, it already is: then no copy). */
function asReplyTo(reply: Message, serial: number, destination: string): Message {
  if (reply.replySerial === serial && reply.destination === destination) return reply;
  return { ...reply, replySerial: serial, destination };
}
