// One stock D-Bus client on the gateway: SASL, framing, and the Connection the gateway's member hosts for it.
//
// Each client is an endpoint of the gateway's one member (see README
// "Gateway"): its hosted Connection owns its unique name
// ':<generation>.<member>.<n>', its well-known names, its match rules and
// its credentials, so the rest of the bus cannot tell a gdbus client from
// a native one. This file only translates: socket bytes <-> Message
// objects <-> Connection calls.
//
// Flow control, both ways, per client:
//  - in:  decoded messages wait in `queue`; when it is full, or too many
//         calls await replies, the socket is paused, so the kernel buffer
//         fills and the client's own writes block. Others are not affected.
//  - out: bytes the client has not read accumulate in the I/O's write
//         queue; past `maxOutgoingBytes` the client is disconnected with a
//         log line, rather than growing memory or stalling the bus.
//
// Unix fds (when negotiated) travel beside the messages: queued on arrival,
// claimed in order by each message's UNIX_FDS count, handed to core with
// the message, and closed here once sent.
import { closeSync } from 'node:fs';
import type { Logger } from 'pino';
import {
  MessageFlags,
  MessageType,
  WireError,
  decodeMessage,
  encodeMessage,
  FrameReader,
  type Message,
} from '../wire/index.js';
import { DBusError, type Connection } from '../core/index.js';
import { SaslServer } from './sasl.js';
import { peerCredentials, type PeerCredentials } from './peercred.js';
import type { GatewayLimits } from './options.js';
import { BUS_NAME, driverSignal, errorReply, methodReturn } from './driver-messages.js';
import type { MonitorHub } from './monitor.js';
import type { ClientIO } from './client-io.js';

const MONITORING_INTERFACE = 'org.freedesktop.DBus.Monitoring';
/** Messages handled per event-loop turn, so one busy client cannot starve others. */
const BATCH = 64;
/** How long a hung-up client's endpoint stays on the bus (see close()). */
const LINGER_MS = 50;

/** What a client needs from the gateway that accepted it. */
export interface ClientContext {
  guid: string;
  limits: GatewayLimits;
  log: Logger;
  /** A new endpoint of the gateway's member that reports `creds` (the gateway's own when unknown). Throws DBusError. */
  hostClient(creds: PeerCredentials | undefined): Connection;
  /** May a client running as `uid` use this gateway? */
  allowUid(uid: number): boolean;
  monitors: MonitorHub;
  /** Unique names of all clients of this gateway (to avoid double monitor copies). */
  isLocalClient(uniqueName: string): boolean;
  /** The client said Hello and has its unique name. */
  registered(client: GatewayClient): void;
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
  private sasl: SaslServer | undefined;
  private frames: FrameReader | undefined;
  private queue: Array<{ msg: Message; fds: number[] }> = [];
  /** Fds received and not yet claimed by a message (they arrive with its first bytes). */
  private inFds: number[] = [];
  /** Did the client negotiate unix fd passing (NEGOTIATE_UNIX_FD + AGREE)? */
  unixFds = false;
  private pumping = false;
  private paused = false;
  private pendingCalls = 0;
  private peerGone = false;
  private outChunks: Array<{ buf: Buffer; fds: number[] }> = [];
  private flushScheduled = false;
  private conn: Connection | undefined;
  private helloStarted = false;
  private outSerial = 0;
  private authTimer: NodeJS.Timeout | undefined;
  private lingerTimer: NodeJS.Timeout | undefined;
  private readonly log: Logger;

  constructor(
    private readonly ctx: ClientContext,
    private readonly io: ClientIO,
  ) {
    this.log = ctx.log.child({ client: this.id });
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
    // Credentials come first: no byte is interpreted before we know who sent it.
    this.start();
  }

  private start(): void {
    this.creds = this.io.fd === undefined ? undefined : peerCredentials(this.io.fd);
    const uid = this.creds?.uid;
    if (uid === undefined) this.log.warn('no SO_PEERCRED for client: EXTERNAL authentication will be rejected');
    this.sasl = new SaslServer({
      guid: this.ctx.guid,
      peerUid: uid !== undefined && this.ctx.allowUid(uid) ? uid : undefined,
      unixFdSupported: this.io.supportsFds,
      maxFailures: this.ctx.limits.maxAuthFailures,
    });
    this.log.debug({ creds: this.creds, fdPassing: this.io.supportsFds }, 'client connected');
    this.io.resume();
  }

  private onData(chunk: Buffer, fds: number[]): void {
    if (this.phase === 'closed') {
      closeAll(fds);
      return;
    }
    if (this.phase === 'auth') {
      // Fds during SASL are not part of any message: close them.
      closeAll(fds);
      const step = this.sasl!.feed(chunk);
      if (step.replies.length > 0) this.io.write(Buffer.from(step.replies.map((r) => r + '\r\n').join(''), 'latin1'));
      if (step.close !== undefined) {
        this.log.info({ reason: step.close }, 'client failed authentication; disconnecting');
        this.phase = 'closed';
        this.io.end();
        this.ctx.closed(this);
        clearTimeout(this.authTimer);
        return;
      }
      if (step.begun === undefined) return;
      clearTimeout(this.authTimer);
      this.phase = 'messages';
      this.unixFds = step.begun.unixFds;
      this.frames = new FrameReader({ maxMessageLength: this.ctx.limits.maxMessageBytes });
      chunk = step.begun.rest;
      if (chunk.length === 0) return;
      fds = [];
    }
    if (fds.length > 0) {
      if (!this.unixFds) {
        closeAll(fds);
        return this.close('client sent unix fds without negotiating them');
      }
      this.inFds.push(...fds);
      if (this.inFds.length > this.ctx.limits.maxIncomingFds) {
        return this.close(`client has ${this.inFds.length} unix fds in flight (limit ${this.ctx.limits.maxIncomingFds})`);
      }
    }
    this.onMessageBytes(chunk);
  }

  private onMessageBytes(chunk: Buffer): void {
    let frames: Buffer[];
    try {
      frames = this.frames!.pushRaw(chunk);
    } catch (err) {
      return this.protocolError(err);
    }
    for (const frame of frames) {
      let msg: Message;
      try {
        msg = decodeMessage(frame);
      } catch (err) {
        return this.protocolError(err);
      }
      const n = msg.unixFds ?? 0;
      if (n > 0 && (!this.unixFds || this.inFds.length < n)) {
        return this.close(`message declares ${n} unix fds but ${this.inFds.length} arrived`);
      }
      this.queue.push({ msg, fds: n > 0 ? this.inFds.splice(0, n) : [] });
    }
    this.updateFlow();
    void this.pump();
  }

  private protocolError(err: unknown): void {
    const why = err instanceof WireError ? err.message : String(err);
    this.close(`malformed message from client: ${why}`);
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

  private async pump(): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    try {
      let n = 0;
      while (this.queue.length > 0 && this.phase === 'messages') {
        // The transport queued our last send: hold the rest until 'drain'.
        if (this.conn?.backpressured === true) break;
        const { msg, fds } = this.queue.shift()!;
        if (this.conn === undefined) {
          closeAll(fds);
          this.beforeHello(msg);
        } else this.handle(msg, fds);
        if (++n % BATCH === 0) {
          this.updateFlow();
          await new Promise<void>((resolve) => setImmediate(resolve));
        }
      }
    } catch (err) {
      this.log.error({ err }, 'gateway bug while handling a client message');
      this.close('internal error');
    } finally {
      this.pumping = false;
      this.updateFlow();
      if (this.peerGone && this.queue.length === 0) this.close('client hung up', 'debug', true);
    }
  }

  private hangup(): void {
    this.peerGone = true;
    if (this.phase !== 'messages' || (!this.pumping && this.queue.length === 0)) this.close('client hung up', 'debug', true);
  }

  /** Until Hello, the only thing a client may do is say Hello (dbus-daemon rule). */
  private beforeHello(msg: Message): void {
    const isHello =
      msg.type === MessageType.METHOD_CALL &&
      msg.destination === BUS_NAME &&
      msg.member === 'Hello' &&
      (msg.interface === undefined || msg.interface === BUS_NAME);
    if (!isHello || this.helloStarted) {
      this.writeRaw(
        errorReply(
          msg,
          'org.freedesktop.DBus.Error.AccessDenied',
          'Client tried to send a message other than Hello without being registered',
        ),
      );
      return this.close('message before Hello', 'info', false, true);
    }
    this.helloStarted = true;
    let conn: Connection;
    try {
      conn = this.ctx.hostClient(this.creds);
    } catch (err) {
      this.log.error({ err }, 'could not host a client on the bus');
      this.writeRaw(errorReply(msg, 'org.freedesktop.DBus.Error.Failed', `gateway could not join the bus: ${String(err)}`));
      return this.close('bus connect failed', 'info', false, true);
    }
    this.conn = conn;
    this.uniqueName = conn.uniqueName;
    conn.on('message', (m: Message, fds: number[]) => this.fromBus(m, fds));
    conn.on('methodCall', (call: { msg: Message; fds: number[] }) => this.callFromBus(call.msg, call.fds));
    conn.on('disconnect', () => this.close('bus connection lost'));
    conn.on('drain', () => {
      this.updateFlow();
      void this.pump();
    });
    conn.on('error', (err: Error) => this.log.warn({ err }, 'bus connection error'));
    this.ctx.registered(this);
    this.log.debug({ uniqueName: conn.uniqueName, creds: this.creds }, 'client registered');
    const helloMsg = { ...msg, sender: conn.uniqueName };
    this.deliver(methodReturn(helloMsg, 's', [conn.uniqueName]));
    this.deliver(driverSignal(conn.uniqueName, 'NameAcquired', 's', [conn.uniqueName]));
  }

  /** A message from the registered client, on its way to the bus. */
  private handle(msg: Message, fds: number[]): void {
    if (this.monitoring) {
      // The spec: a monitor may not send anything; dbus-daemon drops it.
      closeAll(fds);
      return this.close('monitor sent a message');
    }
    msg.sender = this.uniqueName!;
    if (msg.destination === BUS_NAME) {
      closeAll(fds);
      this.ctx.monitors.copy(msg, this);
      return this.toDriver(msg);
    }
    if (msg.destination !== undefined) this.ctx.monitors.copy(msg, this);
    this.toBus(msg, fds);
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
      // The client's serial goes with it, as dbus-daemon forwards it.
      conn.send(outgoing(msg), fds.length > 0 ? fds : undefined, { serial: msg.serial });
    } catch (err) {
      // Replies and signals to vanished peers are dropped as dbus-daemon does;
      // a no-reply call gets no error by definition.
      this.log.debug({ err: String(err), member: msg.member }, 'message to the bus not delivered');
    } finally {
      closeAll(fds);
    }
  }

  /** A method call awaiting a reply: core tracks it, under the client's own serial. */
  private forwardCall(msg: Message, fds: number[] = []): void {
    const conn = this.conn!;
    this.pendingCalls++;
    const req = outgoing(msg) as Partial<Message> & { destination: string; path: string; member: string };
    const pending = conn.call(req, {
      timeoutMs: this.ctx.limits.callTimeoutMs,
      serial: msg.serial,
      ...(fds.length > 0 ? { fds } : {}),
    });
    // call() has sent synchronously: the receiver holds its own references.
    closeAll(fds);
    pending
      .then(({ reply, fds: replyFds }) => {
        this.deliver({ ...reply, replySerial: msg.serial, destination: this.uniqueName! }, replyFds);
      })
      .catch((err: unknown) => {
        if (err instanceof DBusError && err.reply !== undefined) {
          this.deliver({ ...err.reply, replySerial: msg.serial, destination: this.uniqueName! });
        } else if (err instanceof DBusError) {
          this.deliver(errorReply(msg, err.name, err.message));
        } else {
          this.deliver(errorReply(msg, 'org.freedesktop.DBus.Error.Failed', String(err)));
        }
      })
      .finally(() => {
        this.pendingCalls--;
        this.updateFlow();
      });
  }

  /**
   * org.freedesktop.DBus: core answers from its replicated view, AddMatch
   * included (its reply waits until every member holds the rule, as
   * dbus-daemon's does); the gateway answers only what is about this
   * socket (Hello, becoming a monitor).
   */
  private toDriver(msg: Message): void {
    if (msg.type !== MessageType.METHOD_CALL) return;
    const iface = msg.interface;
    const driverIface = iface === undefined || iface === BUS_NAME;
    if (driverIface && msg.member === 'Hello') {
      return this.replyDriver(msg, () => {
        throw new DBusError('org.freedesktop.DBus.Error.Failed', 'Already handled an Hello message');
      });
    }
    if ((iface === MONITORING_INTERFACE || iface === undefined) && msg.member === 'BecomeMonitor') {
      return this.becomeMonitor(msg);
    }
    // toBus() keeps NO_REPLY_EXPECTED calls fire-and-forget.
    this.toBus(msg);
  }

  private replyDriver(msg: Message, fn: () => void): void {
    try {
      fn();
      if ((msg.flags & MessageFlags.NO_REPLY_EXPECTED) === 0) this.deliver(methodReturn(msg, '', []));
    } catch (err) {
      if ((msg.flags & MessageFlags.NO_REPLY_EXPECTED) !== 0) return;
      if (err instanceof DBusError) this.deliver(errorReply(msg, err.name, err.message));
      else this.deliver(errorReply(msg, 'org.freedesktop.DBus.Error.Failed', String(err)));
    }
  }

  private becomeMonitor(msg: Message): void {
    if (msg.signature !== 'asu') {
      return this.deliver(errorReply(msg, 'org.freedesktop.DBus.Error.InvalidArgs', 'BecomeMonitor takes (as, u)'));
    }
    const [rules, flags] = msg.body as [string[], number];
    if (flags !== 0) {
      return this.deliver(errorReply(msg, 'org.freedesktop.DBus.Error.InvalidArgs', 'BecomeMonitor flags must be 0'));
    }
    try {
      this.ctx.monitors.add(this, rules, this.conn!);
    } catch (err) {
      const name = err instanceof DBusError ? err.name : 'org.freedesktop.DBus.Error.Failed';
      return this.deliver(errorReply(msg, name, err instanceof Error ? err.message : String(err)));
    }
    this.deliver(methodReturn(msg, '', []));
    // As dbus-daemon: the monitor's unique name is gone from its point of view.
    this.deliver(driverSignal(this.uniqueName!, 'NameLost', 's', [this.uniqueName!]));
    this.monitoring = true;
    this.log.info({ uniqueName: this.uniqueName, rules }, 'client became a monitor');
  }

  /** Messages core delivers to our member: signals here; calls via 'methodCall'; replies via call(). */
  private fromBus(msg: Message, fds: number[]): void {
    if (msg.type !== MessageType.SIGNAL) {
      // Replies come with call()'s result, calls with 'methodCall': their
      // fds are handed over there, not here.
      return;
    }
    if (this.monitoring) {
      closeAll(fds);
      this.ctx.monitors.deliverBroadcast(this, msg);
      return;
    }
    if (fds.length > 0 && !this.unixFds) {
      closeAll(fds);
      this.log.debug({ member: msg.member }, 'signal with unix fds dropped: the client did not negotiate fd passing');
      return;
    }
    this.deliver(msg, fds);
  }

  private callFromBus(msg: Message, fds: number[]): void {
    if (fds.length > 0 && !this.unixFds) {
      closeAll(fds);
      this.conn?.replyError(msg, 'org.freedesktop.DBus.Error.NotSupported', 'the destination did not negotiate unix fd passing');
      return;
    }
    if (this.monitoring) {
      closeAll(fds);
      this.conn?.replyError(msg, 'org.freedesktop.DBus.Error.UnknownObject', 'the destination is a monitor');
      return;
    }
    this.deliver(msg, fds);
  }

  /** Write to the client, with a copy to monitors when no one else copied it. */
  deliver(msg: Message, fds: number[] = []): void {
    if (this.phase === 'closed') {
      closeAll(fds);
      return;
    }
    if (fds.length > 0 && !this.unixFds) {
      // A reply carrying fds to a client that cannot take them.
      closeAll(fds);
      if (msg.type === MessageType.METHOD_RETURN && msg.replySerial !== undefined) {
        this.writeRaw(errorReply({ ...msg, serial: msg.replySerial, sender: this.uniqueName! }, 'org.freedesktop.DBus.Error.NotSupported',
          'the reply carries unix fds and this client did not negotiate fd passing', msg.sender));
      }
      return;
    }
    const unicast = msg.type !== MessageType.SIGNAL || msg.destination !== undefined;
    if (unicast && !this.monitoring && (msg.sender === undefined || !this.ctx.isLocalClient(msg.sender))) {
      this.ctx.monitors.copy(msg, this);
    }
    this.writeRaw(msg, fds);
  }

  /** Encode and queue for the client (the fds go with it and are closed once sent). */
  writeRaw(msg: Message, fds: number[] = []): void {
    if (this.phase === 'closed' || this.peerGone) {
      closeAll(fds);
      return;
    }
    // Serial 0 is invalid on the wire; keep the sender's serial otherwise so a
    // forwarded call's reply_serial names the caller's own serial. What the
    // gateway writes itself comes from org.freedesktop.DBus: it takes the
    // serials of core's driver for this client, so the bus's serials to it
    // never repeat.
    const out = msg.serial > 0 ? msg : { ...msg, serial: this.conn?.busSerial() ?? this.nextSerial() };
    let bytes: Buffer;
    try {
      bytes = encodeMessage(out);
    } catch (err) {
      closeAll(fds);
      this.log.warn({ err: String(err), member: msg.member }, 'could not encode a message for a client; dropped');
      return;
    }
    this.outChunks.push({ buf: bytes, fds });
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(this.flush);
    }
  }

  /**
   * Writes go out once per loop turn, after libuv polled for input. Why:
   * a client like dbus-send sends its last message and exits as soon as it
   * has its Hello reply; a write to it after that fails with EPIPE, and
   * node then destroys the socket with that last message still unread.
   * Batching sends the Hello reply and NameAcquired in one write, and lets
   * input that already arrived be read before we write again.
   */
  private readonly flush = (): void => {
    this.flushScheduled = false;
    if (this.phase === 'closed' || this.peerGone || this.outChunks.length === 0) return;
    const chunks = this.outChunks;
    this.outChunks = [];
    // Runs without fds go out as one write. A message with fds starts a
    // write of its own: receivers (GDBus) give all fds read so far to the
    // next message they complete, so fds must not arrive ahead of it.
    let run: Buffer[] = [];
    const writeRun = (): void => {
      if (run.length > 0) this.io.write(run.length === 1 ? run[0]! : Buffer.concat(run));
      run = [];
    };
    for (const c of chunks) {
      if (c.fds.length === 0) {
        run.push(c.buf);
        continue;
      }
      writeRun();
      this.io.write(c.buf, c.fds);
    }
    writeRun();
    // What the kernel would not take stays queued here: that backlog,
    // not one turn's burst, says whether the client keeps up.
    const queued = this.io.writableLength;
    if (queued > this.ctx.limits.maxOutgoingBytes) {
      this.close(`client is not reading: ${queued} bytes queued (limit ${this.ctx.limits.maxOutgoingBytes})`);
    }
  };

  private nextSerial(): number {
    this.outSerial = this.outSerial >= 0xffffffff ? 1 : this.outSerial + 1;
    return this.outSerial;
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
    if (flushFirst) this.flush();
    this.phase = 'closed';
    clearTimeout(this.authTimer);
    this.log[level]({ reason, uniqueName: this.uniqueName }, 'client disconnected');
    for (const q of this.queue) closeAll(q.fds);
    this.queue = [];
    for (const c of this.outChunks) closeAll(c.fds);
    this.outChunks = [];
    closeAll(this.inFds);
    this.inFds = [];
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

/** The fields a member sends; SENDER is core's to set, SERIAL is passed beside (SendOptions). */
function outgoing(msg: Message): Partial<Message> & Pick<Message, 'type'> {
  const out: Partial<Message> & Pick<Message, 'type'> = {
    type: msg.type,
    flags: msg.flags,
    signature: msg.signature,
    body: msg.body,
  };
  if (msg.path !== undefined) out.path = msg.path;
  if (msg.interface !== undefined) out.interface = msg.interface;
  if (msg.member !== undefined) out.member = msg.member;
  if (msg.errorName !== undefined) out.errorName = msg.errorName;
  if (msg.replySerial !== undefined) out.replySerial = msg.replySerial;
  if (msg.destination !== undefined) out.destination = msg.destination;
  return out;
}

function closeAll(fds: number[]): void {
  for (const fd of fds) {
    try {
      closeSync(fd);
    } catch {
      // Already closed: nothing left to leak.
    }
  }
}
