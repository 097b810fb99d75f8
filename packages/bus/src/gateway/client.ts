// One stock D-Bus client on the gateway: SASL, framing, and its own ipnbus member Connection.
//
// Each client becomes a first-class member of the bus (see README
// "Gateway"): its Connection owns its unique name, its well-known names,
// its match rules and its credentials, so the rest of the bus cannot tell a
// gdbus client from a native one. This file only translates: socket bytes
// <-> Message objects <-> Connection calls.
//
// Flow control, both ways, per client:
//  - in:  decoded messages wait in `queue`; when it is full, or too many
//         calls await replies, the socket is paused, so the kernel buffer
//         fills and the client's own writes block. Others are not affected.
//  - out: bytes the client has not read accumulate in the socket's write
//         buffer; past `maxOutgoingBytes` the client is disconnected with a
//         log line, rather than growing memory or stalling the bus.
import type { Socket } from 'node:net';
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
import { BUS_NAME, driverSignal, errorReply, methodReturn } from './bus-errors.js';
import type { MonitorHub } from './monitor.js';

const MONITORING_INTERFACE = 'org.freedesktop.DBus.Monitoring';
/** Messages handled per event-loop turn, so one busy client cannot starve others. */
const BATCH = 64;
/** How long a hung-up client's member stays on the bus (see close()). */
const LINGER_MS = 50;

/** What a client needs from the gateway that accepted it. */
export interface ClientContext {
  guid: string;
  limits: GatewayLimits;
  log: Logger;
  /** Joins the bus as a new member that reports `creds` as its credentials. */
  connectMember(creds: PeerCredentials | undefined): Promise<Connection>;
  /** May a client running as `uid` use this gateway? */
  allowUid(uid: number): boolean;
  monitors: MonitorHub;
  /** Unique names of all clients of this gateway (to avoid double monitor copies). */
  isLocalClient(uniqueName: string): boolean;
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
  private queue: Message[] = [];
  private pumping = false;
  private paused = false;
  private pendingCalls = 0;
  private peerGone = false;
  private outChunks: Buffer[] = [];
  private outBytes = 0;
  private flushScheduled = false;
  private conn: Connection | undefined;
  private helloStarted = false;
  private outSerial = 0;
  private authTimer: NodeJS.Timeout | undefined;
  private lingerTimer: NodeJS.Timeout | undefined;
  private readonly log: Logger;

  constructor(
    private readonly ctx: ClientContext,
    private readonly socket: Socket,
  ) {
    this.log = ctx.log.child({ client: this.id });
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (err: NodeJS.ErrnoException) => {
      // EPIPE/ECONNRESET: the client hung up; anything else is worth a line.
      const hangup = err.code === 'EPIPE' || err.code === 'ECONNRESET';
      this.close(`socket error: ${err.message}`, hangup ? 'debug' : 'info', hangup);
    });
    // A client may write its last messages and hang up at once (gdbus emit,
    // dbus-send): what it sent is still delivered before its member leaves.
    socket.on('end', () => this.hangup());
    socket.on('close', () => this.hangup());
    this.authTimer = setTimeout(() => this.close('authentication timed out'), ctx.limits.authTimeoutMs);
    this.authTimer.unref();
    // Credentials come first: no byte is interpreted before we know who sent it.
    this.start();
  }

  private start(): void {
    this.creds = peerCredentials(this.socket);
    const uid = this.creds?.uid;
    if (uid === undefined) this.log.warn('no SO_PEERCRED for client: EXTERNAL authentication will be rejected');
    this.sasl = new SaslServer({
      guid: this.ctx.guid,
      peerUid: uid !== undefined && this.ctx.allowUid(uid) ? uid : undefined,
      unixFdSupported: false,
      maxFailures: this.ctx.limits.maxAuthFailures,
    });
    this.log.debug({ creds: this.creds }, 'client connected');
    this.socket.resume();
  }

  private onData(chunk: Buffer): void {
    if (this.phase === 'closed') return;
    if (this.phase === 'auth') {
      const step = this.sasl!.feed(chunk);
      if (step.replies.length > 0) this.socket.write(step.replies.map((r) => r + '\r\n').join(''));
      if (step.close !== undefined) {
        this.log.info({ reason: step.close }, 'client failed authentication; disconnecting');
        this.phase = 'closed';
        this.socket.end();
        this.ctx.closed(this);
        clearTimeout(this.authTimer);
        return;
      }
      if (step.begun === undefined) return;
      clearTimeout(this.authTimer);
      this.phase = 'messages';
      this.frames = new FrameReader({ maxMessageLength: this.ctx.limits.maxMessageBytes });
      chunk = step.begun.rest;
      if (chunk.length === 0) return;
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
      if ((msg.unixFds ?? 0) > 0) {
        // We answered ERROR to NEGOTIATE_UNIX_FD, so this client broke the protocol.
        return this.close('client sent unix fds without negotiating them');
      }
      this.queue.push(msg);
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
      this.socket.pause();
      this.log.debug({ queued: this.queue.length, pending: this.pendingCalls }, 'client backpressured: reading paused');
    } else if (this.paused && low) {
      this.paused = false;
      this.socket.resume();
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
        const msg = this.queue.shift()!;
        if (this.conn === undefined) await this.beforeHello(msg);
        else this.handle(msg);
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
  private async beforeHello(msg: Message): Promise<void> {
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
      conn = await this.ctx.connectMember(this.creds);
    } catch (err) {
      this.log.error({ err }, 'could not join the ipnbus bus for a client');
      this.writeRaw(errorReply(msg, 'org.freedesktop.DBus.Error.Failed', `gateway could not join the bus: ${String(err)}`));
      return this.close('bus connect failed', 'info', false, true);
    }
    if (this.phase === 'closed') {
      conn.disconnect();
      return;
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
    this.log.info({ uniqueName: conn.uniqueName, creds: this.creds }, 'client registered');
    const helloMsg = { ...msg, sender: conn.uniqueName };
    this.deliver(methodReturn(helloMsg, 's', [conn.uniqueName]));
    this.deliver(driverSignal(conn.uniqueName, 'NameAcquired', 's', [conn.uniqueName]));
  }

  /** A message from the registered client, on its way to the bus. */
  private handle(msg: Message): void {
    if (this.monitoring) {
      // The spec: a monitor may not send anything; dbus-daemon drops it.
      return this.close('monitor sent a message');
    }
    msg.sender = this.uniqueName!;
    if (msg.destination === BUS_NAME) {
      this.ctx.monitors.copy(msg, this);
      return this.toDriver(msg);
    }
    if (msg.destination !== undefined) this.ctx.monitors.copy(msg, this);
    this.toBus(msg);
  }

  private toBus(msg: Message): void {
    const conn = this.conn!;
    const noReply = (msg.flags & MessageFlags.NO_REPLY_EXPECTED) !== 0;
    if (msg.type === MessageType.METHOD_CALL && !noReply) {
      this.forwardCall(msg);
      return;
    }
    try {
      conn.send(outgoing(msg));
    } catch (err) {
      // Replies and signals to vanished peers are dropped as dbus-daemon does;
      // a no-reply call gets no error by definition.
      this.log.debug({ err: String(err), member: msg.member }, 'message to the bus not delivered');
    }
  }

  /** A method call awaiting a reply: core tracks it; we map the serial back. */
  private forwardCall(msg: Message): void {
    const conn = this.conn!;
    this.pendingCalls++;
    const req = outgoing(msg) as Partial<Message> & { destination: string; path: string; member: string };
    conn
      .call(req, { timeoutMs: this.ctx.limits.callTimeoutMs })
      .then(({ reply, fds }) => {
        closeAll(fds);
        this.deliver({ ...reply, replySerial: msg.serial, destination: this.uniqueName! });
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
   * org.freedesktop.DBus: core answers from its replicated view; the gateway
   * answers only what is about this socket (match rules, becoming a monitor).
   */
  private toDriver(msg: Message): void {
    if (msg.type !== MessageType.METHOD_CALL) return;
    const iface = msg.interface;
    const conn = this.conn!;
    const driverIface = iface === undefined || iface === BUS_NAME;
    if (driverIface && msg.member === 'Hello') {
      return this.replyDriver(msg, () => {
        throw new DBusError('org.freedesktop.DBus.Error.Failed', 'Already handled an Hello message');
      });
    }
    if (driverIface && (msg.member === 'AddMatch' || msg.member === 'RemoveMatch') && msg.signature === 's') {
      const rule = msg.body[0] as string;
      return this.replyDriver(msg, () => {
        if (msg.member === 'AddMatch') conn.addMatch(rule);
        else conn.removeMatch(rule);
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
    closeAll(fds);
    if (msg.type !== MessageType.SIGNAL) return;
    if (this.monitoring) {
      this.ctx.monitors.deliverBroadcast(this, msg);
      return;
    }
    this.deliver(msg);
  }

  private callFromBus(msg: Message, fds: number[]): void {
    if (fds.length > 0) {
      closeAll(fds);
      this.conn?.replyError(msg, 'org.freedesktop.DBus.Error.NotSupported', 'the destination is a gateway client without unix fd support');
      return;
    }
    if (this.monitoring) {
      this.conn?.replyError(msg, 'org.freedesktop.DBus.Error.UnknownObject', 'the destination is a monitor');
      return;
    }
    this.deliver(msg);
  }

  /** Write to the client, with a copy to monitors when no one else copied it. */
  deliver(msg: Message): void {
    if (this.phase === 'closed') return;
    const unicast = msg.type !== MessageType.SIGNAL || msg.destination !== undefined;
    if (unicast && !this.monitoring && (msg.sender === undefined || !this.ctx.isLocalClient(msg.sender))) {
      this.ctx.monitors.copy(msg, this);
    }
    this.writeRaw(msg);
  }

  /** Encode and queue for the client; disconnect one that lets its buffer grow without bound. */
  writeRaw(msg: Message): void {
    if (this.phase === 'closed' || this.peerGone) return;
    // Serial 0 is invalid on the wire; keep the sender's serial otherwise so a
    // forwarded call's reply_serial names the caller's own serial.
    const out = msg.serial > 0 ? msg : { ...msg, serial: this.nextSerial() };
    let bytes: Buffer;
    try {
      bytes = encodeMessage(out);
    } catch (err) {
      this.log.warn({ err: String(err), member: msg.member }, 'could not encode a message for a client; dropped');
      return;
    }
    this.outChunks.push(bytes);
    this.outBytes += bytes.length;
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
    const data = this.outChunks.length === 1 ? this.outChunks[0]! : Buffer.concat(this.outChunks, this.outBytes);
    this.outChunks = [];
    this.outBytes = 0;
    this.socket.write(data);
    // What the kernel would not take stays in node's buffer: that backlog,
    // not one turn's burst, says whether the client keeps up.
    const queued = this.socket.writableLength;
    if (queued > this.ctx.limits.maxOutgoingBytes) {
      this.close(`client is not reading: ${queued} bytes queued (limit ${this.ctx.limits.maxOutgoingBytes})`);
    }
  };

  private nextSerial(): number {
    this.outSerial = this.outSerial >= 0xffffffff ? 1 : this.outSerial + 1;
    return this.outSerial;
  }

  /**
   * Drop the client and its bus membership. Idempotent. With `linger`, the
   * member stays on the bus a moment longer: a client that sends and hangs
   * up at once (dbus-send) has its last messages still in flight in the
   * transport, and leaving at once was seen to lose them (user backend).
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
    this.queue = [];
    this.outChunks = [];
    if (flushFirst) {
      // Let the last words (an error reply) reach the client, but not wait on it.
      this.socket.end();
      setTimeout(() => this.socket.destroy(), 1000).unref();
    } else {
      this.socket.destroy();
    }
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

/** The fields a member sends; SENDER and SERIAL are core's to set. */
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
