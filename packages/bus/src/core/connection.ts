// Connection: one endpoint of the bus (a member, or a client a member hosts), with D-Bus semantics (calls, matches, names).
import { EventEmitter } from 'node:events';
import type { Network } from '@ipnbus/transport-ipn';
import {
  MessageFlags,
  MessageType,
  WireError,
  encodeMessage,
  isValidBusName,
  type Message,
} from '../wire/index.js';
import { ANNOUNCE_INTERFACE, ANNOUNCE_PATH, SYNC_MEMBER, SYNC_REPLY_BODY, isSyncReply } from './announce.js';
import type { DriverHost } from './bus-driver.js';
import { BusEndpoint } from './bus-endpoint.js';
import type { BusView, EndpointCredentials } from './bus-view.js';
import { BUS_NAME, DEFAULT_CALL_TIMEOUT_MS, PEER_INTERFACE, StartReply } from './constants.js';
import { DBusError, ErrorNames, errorText } from './errors.js';
import { closeFds } from './fds.js';
import type { Logger } from './logger.js';
import { limitExceeded, type ConnectionLimits } from './limits.js';
import { MatchSet } from './match-set.js';
import { machineId } from './machine-id.js';
import type { Member } from './member.js';
import { dupFd } from './member.js';
import { PendingCalls, type CallResult } from './pending-calls.js';
import { readProxiedCredentials } from './proxied-credentials.js';
import { SerialCounter } from './serial-counter.js';
import { updateActivationEnv } from './activation/index.js';
import { memberOf, subOf } from './unique-name.js';

export type { CallResult };

/** A METHOD_CALL addressed to this connection that the core does not answer itself. */
export interface IncomingCall {
  msg: Message;
  fds: number[];
}

export interface SendOptions {
  /**
   * Send with this serial (1..0xffffffff) instead of the next of our own:
   * a relay (the gateway) forwards its client's messages with the serials
   * the client chose, as dbus-daemon does. The caller keeps its serials
   * unique among its calls in flight.
   */
  serial?: number;
}

export interface CallOptions extends SendOptions {
  /** Default 25000, as libdbus. */
  timeoutMs?: number;
  fds?: number[];
  /** Set NO_REPLY_EXPECTED: resolve once sent, with an empty placeholder reply. */
  noReply?: boolean;
}

/** Counters for tests and benchmarks. */
export interface ConnectionStats {
  /** Messages the transport handed us (every wake-up for a message). */
  received: number;
  /** Messages emitted as 'message'. */
  delivered: number;
  /** Broadcasts received that no match rule wanted (prefilter false positives). */
  filtered: number;
  sent: number;
}

/**
 * Built by connect() (the member's own endpoint) or Connection.host() (a
 * hosted client); see core/index.ts for the contract. Events: 'message'
 * (msg, fds), 'methodCall' (IncomingCall), 'disconnect', 'drain', 'error',
 * and on the member's own endpoint 'dropped' (count: messages the transport
 * lost for us just before the next one) and 'rejected' (PeerRejection).
 */
/** A peer's datagram the transport refused ('rejected'): the peer broke the protocol; nobody else is affected. */
export interface PeerRejection {
  /** The sender's unique name; null when the transport had not believed its id yet (user backend hello). */
  sender: string | null;
  /** Its process id (kernel-stamped or SO_PEERCRED; 0 when unknown). */
  pid: number;
  /** What was refused, naming the rule or limit (e.g. "reassembly budget: ..."). */
  reason: string;
}

export class Connection extends EventEmitter implements DriverHost {
  readonly uniqueName: string;
  /** The member (network node) this endpoint is carried by. */
  readonly memberId: bigint;
  /** This endpoint: memberId for a member, with a sub-id for a hosted client (unique-name.ts). */
  readonly endpointId: bigint;
  readonly busId: string;
  /** The transport under this connection (diagnostics, benchmarks). */
  readonly network: Network;
  readonly stats: ConnectionStats = { received: 0, delivered: 0, filtered: 0, sent: 0 };
  readonly view: BusView;
  /** What this endpoint reports as its credentials. */
  readonly credentials: EndpointCredentials;

  readonly #member: Member;
  readonly #bus: BusEndpoint;
  readonly #log: Logger;
  readonly #matches = new MatchSet();
  readonly #pending = new PendingCalls();
  readonly #limits: ConnectionLimits;
  /** Rules added and not removed, each AddMatch counted (MatchSet keys duplicates together). */
  #ruleCount = 0;
  readonly #serials = new SerialCounter();
  #closed = false;

  /** Use connect() or host(): an endpoint of an assembled Member. */
  constructor(member: Member, endpointId: bigint, credentials: EndpointCredentials) {
    super();
    this.#member = member;
    this.network = member.network;
    this.view = member.view;
    this.#limits = member.limits;
    this.memberId = member.memberId;
    this.endpointId = endpointId;
    this.credentials = credentials;
    this.uniqueName = member.view.uniqueNameOf(endpointId);
    this.busId = member.dir.busId;
    this.#log = subOf(endpointId) === 0 ? member.log : member.log.child({ client: this.uniqueName });
    this.#bus = new BusEndpoint(this, (msg, fds, unicast) => this.dispatch(msg, fds, unicast), this.#log);
  }

  /**
   * True after a send the transport had to queue (a receiver is full);
   * 'drain' is emitted when the queue has gone out. Lets a relay (the
   * gateway) stop reading its source instead of queueing without bound.
   */
  get backpressured(): boolean {
    return this.#member.backpressured;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Hosts a client behind this connection's member (a gateway's stock
   * client): a new Connection with its own unique name
   * ':<generation>.<member id>.<n>', match rules, names and calls, that
   * reports `credentials` (see hosted.ts for what others believe). It
   * shares the member's one transport endpoint. Its disconnect() leaves
   * only it; this connection's leaves the member with all it hosts.
   */
  host(credentials: EndpointCredentials): Connection {
    return this.#member.host(credentials);
  }

  /** The next serial of org.freedesktop.DBus's messages to this connection (a relay's own driver messages use it too). */
  busSerial(): number {
    return this.#bus.nextSerial();
  }

  // ---- sending ------------------------------------------------------------

  /**
   * Sends one message: signals without destination are broadcast, the rest
   * go to the destination's owner. Returns the serial. Throws DBusError
   * (ServiceUnknown, InvalidArgs, Disconnected, NoReply when the member
   * vanished just now).
   */
  send(msg: Partial<Message> & Pick<Message, 'type'>, fds?: number[], opts?: SendOptions): number {
    if (this.#closed) throw new DBusError(ErrorNames.Disconnected, 'the connection is closed');
    const full: Message = {
      flags: 0,
      signature: '',
      body: [],
      ...msg,
      serial: opts?.serial === undefined ? this.#serials.next() : checkSerial(opts.serial),
      sender: this.uniqueName,
    } as Message;
    if (fds !== undefined && fds.length > 0) full.unixFds = fds.length;
    else delete full.unixFds;
    const dest = full.destination;
    if (dest === undefined) {
      if (full.type !== MessageType.SIGNAL) {
        throw new DBusError(ErrorNames.InvalidArgs, 'only signals may be sent without a destination');
      }
      if (full.unixFds) throw new DBusError(ErrorNames.InvalidArgs, 'unix fds can only go with a unicast message');
      this.#member.broadcast(full, this.#encode(full));
      this.stats.sent++;
      return full.serial;
    }
    if (dest === BUS_NAME) {
      this.#encode(full); // validate as if it went on the wire
      void this.#bus.answer(full);
      return full.serial;
    }
    if (!isValidBusName(dest)) throw new DBusError(ErrorNames.InvalidArgs, `'${dest}' is not a valid bus name`);
    const target = this.view.resolve(dest);
    if (target === undefined) {
      // A no-reply call is activated here; one expecting a reply goes
      // through call() for that (a bare send() has no way to report it).
      const noReply = (full.flags & MessageFlags.NO_REPLY_EXPECTED) !== 0;
      if (full.type === MessageType.METHOD_CALL && noReply && this.#needsStart(dest, full.flags)) {
        this.#startThenSend(full, fds);
        return full.serial;
      }
      throw new DBusError(ErrorNames.ServiceUnknown, `The name ${dest} was not provided by any .service files`);
    }
    this.#member.transmit(target, this.#encode(full), fds, dest);
    this.stats.sent++;
    return full.serial;
  }

  /**
   * A call that expects no reply, to a name whose service must be started
   * first: sent once it has its name. A failure has no one to go to (the
   * caller asked for no reply), so it is logged.
   */
  #startThenSend(full: Message, fds: number[] | undefined): void {
    const own = (fds ?? []).map((fd) => dupFd(fd));
    const { serial, sender: _sender, ...rest } = full;
    this.#member.activator
      .start(full.destination!)
      .then(() => {
        if (!this.#closed) this.send(rest, own, { serial });
      })
      .catch((e: unknown) => this.#log.debug({ to: full.destination, err: errorText(e) }, 'no-reply call not delivered: activation failed'))
      .finally(() => closeFds(own));
  }

  #encode(msg: Message): Buffer {
    try {
      return encodeMessage(msg);
    } catch (e) {
      if (e instanceof WireError) {
        throw new DBusError(ErrorNames.InvalidArgs, `cannot send message: ${e.message}`, { cause: e });
      }
      throw e;
    }
  }

  /**
   * A method call; resolves with the METHOD_RETURN, rejects with DBusError
   * for an ERROR reply, NoReply on timeout or when the callee leaves,
   * ServiceUnknown for a name nobody owns.
   */
  call(
    msg: Partial<Message> & { destination: string; path: string; member: string },
    opts: CallOptions = {},
  ): Promise<CallResult> {
    const noReply = opts.noReply === true || ((msg.flags ?? 0) & MessageFlags.NO_REPLY_EXPECTED) !== 0;
    const flags = (msg.flags ?? 0) | (noReply ? MessageFlags.NO_REPLY_EXPECTED : 0);
    const timeoutMs = opts.timeoutMs ?? DEFAULT_CALL_TIMEOUT_MS;
    if (typeof timeoutMs !== 'number' || !(timeoutMs > 0) || timeoutMs > 0x7fffffff) {
      return Promise.reject(
        new DBusError(ErrorNames.InvalidArgs, `timeoutMs must be a positive number of ms, got ${String(timeoutMs)}`),
      );
    }
    if (this.#needsStart(msg.destination, flags)) {
      // Held until the service has its name (or activation fails); the
      // caller's timeout covers the wait. Our own copies of the fds, as the
      // caller may close its own once call() returns.
      const t0 = Date.now();
      const fds = (opts.fds ?? []).map((fd) => dupFd(fd));
      return this.#member.activator
        .start(msg.destination)
        .then(() => {
          const left = timeoutMs - (Date.now() - t0);
          if (left <= 0) {
            throw new DBusError(ErrorNames.NoReply, `Did not receive a reply to ${msg.member} from ${msg.destination} within ${timeoutMs} ms (it was being started)`);
          }
          return this.#callNow(msg, { ...opts, fds }, flags, noReply, left);
        })
        .finally(() => closeFds(fds));
    }
    return this.#callNow(msg, opts, flags, noReply, timeoutMs);
  }

  /**
   * Does a call to `dest` first need its service started? A well-known
   * name nobody owns, and the caller did not say NO_AUTO_START.
   */
  #needsStart(dest: string, flags: number): boolean {
    return (
      (flags & MessageFlags.NO_AUTO_START) === 0 &&
      dest !== BUS_NAME &&
      !dest.startsWith(':') &&
      isValidBusName(dest) &&
      this.view.resolve(dest) === undefined
    );
  }

  #callNow(
    msg: Partial<Message> & { destination: string; path: string; member: string },
    opts: CallOptions,
    flags: number,
    noReply: boolean,
    timeoutMs: number,
  ): Promise<CallResult> {
    return new Promise<CallResult>((resolve, reject) => {
      let serial: number;
      try {
        if (!noReply && this.#pending.size >= this.#limits.maxPendingCalls) {
          throw limitExceeded(this.#limits, 'maxPendingCalls', `cannot call ${msg.destination} ${msg.member}: ${this.#pending.size} calls are waiting for replies`);
        }
        if (opts.serial !== undefined && !noReply) {
          const target = msg.destination === BUS_NAME ? 0n : this.view.resolve(msg.destination);
          if (target !== undefined && this.#pending.has(checkSerial(opts.serial), target)) {
            throw new DBusError(
              ErrorNames.InvalidArgs,
              `serial ${opts.serial} is already waiting for a reply from ${msg.destination}: a sender's serials must be unique among its calls in flight`,
            );
          }
        }
        serial = this.send(
          { ...msg, flags, type: MessageType.METHOD_CALL },
          opts.fds,
          opts.serial === undefined ? undefined : { serial: opts.serial },
        );
      } catch (e) {
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
      const target = msg.destination === BUS_NAME ? 0n : this.view.resolve(msg.destination) ?? 0n;
      const call = { resolve, reject, target, destination: msg.destination, member: msg.member };
      this.#pending.add(serial, msg.interface === undefined ? call : { ...call, interface: msg.interface }, timeoutMs);
    });
  }

  /** METHOD_RETURN to `call`, unless it said NO_REPLY_EXPECTED. A caller gone meanwhile is not an error. */
  reply(call: Message, signature: string, body: unknown[], fds?: number[]): void {
    this.#replyTo(call, { type: MessageType.METHOD_RETURN, signature, body }, fds);
  }

  replyError(call: Message, errorName: string, text: string): void {
    this.#replyTo(call, { type: MessageType.ERROR, errorName, signature: 's', body: [text] });
  }

  #replyTo(call: Message, msg: Partial<Message> & Pick<Message, 'type'>, fds?: number[]): void {
    if (call.flags & MessageFlags.NO_REPLY_EXPECTED) return;
    if (call.sender === undefined) throw new DBusError(ErrorNames.InvalidArgs, 'the call has no sender to reply to');
    try {
      this.send({ ...msg, replySerial: call.serial, destination: call.sender }, fds);
    } catch (e) {
      if (e instanceof DBusError && (e.name === ErrorNames.ServiceUnknown || e.name === ErrorNames.NoReply)) {
        this.#log.debug({ to: call.sender }, 'reply dropped: the caller left');
        return;
      }
      throw e;
    }
  }

  emitSignal(path: string, iface: string, member: string, signature: string, body: unknown[]): void {
    this.send({ type: MessageType.SIGNAL, path, interface: iface, member, signature, body });
  }

  /**
   * Resolves once every member present has seen us join and holds our
   * current match-rule filter. On the user backend both travel one hop
   * (each member accepts our connection and reads our filter in its own
   * event loop), so this makes a round trip to each member; per-pair order
   * guarantees that a reply means everything we sent before was taken. On
   * the kernel backend membership and filters take effect at once and this
   * returns immediately. connect() and the AddMatch bus call wait for it,
   * as dbus-daemon's AddMatch reply means the rule is in force.
   */
  async settle(timeoutMs = 2000): Promise<void> {
    if (this.network.backend !== 'user' || this.#closed) return;
    // The filter and the membership are the member's: its own endpoint asks.
    if (this !== this.#member.own) return this.#member.own.settle(timeoutMs);
    const ids = this.view.memberIds().filter((id) => id !== this.memberId);
    await Promise.all(
      ids.map((id) =>
        this.#internalCall(id, SYNC_MEMBER, timeoutMs).catch((e: unknown) => {
          this.#log.debug({ id: id.toString(), err: errorText(e) }, 'member did not answer a sync');
        }),
      ),
    );
  }

  #internalCall(id: bigint, member: string, timeoutMs: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const destination = this.view.uniqueNameOf(id);
      let serial: number;
      try {
        serial = this.send({
          type: MessageType.METHOD_CALL,
          destination,
          path: ANNOUNCE_PATH,
          interface: ANNOUNCE_INTERFACE,
          member,
        });
      } catch (e) {
        reject(e);
        return;
      }
      const call = { resolve: () => resolve(), reject, target: id, destination, member, internal: true };
      this.#pending.add(serial, call, timeoutMs);
    });
  }

  // ---- match rules --------------------------------------------------------

  /**
   * Adds a rule (counted: a rule added twice needs two removals). Throws
   * MatchRuleInvalid, or LimitsExceeded past limits.maxMatchRules.
   */
  addMatch(rule: string): void {
    if (this.#ruleCount >= this.#limits.maxMatchRules) {
      throw limitExceeded(this.#limits, 'maxMatchRules', `cannot add match rule "${rule}"`);
    }
    this.#matches.add(rule);
    this.#ruleCount++;
    this.#updateFilter();
  }

  /** Match rules in force (each AddMatch counted), for Debug.Stats. */
  matchRuleCount(): number {
    return this.#ruleCount;
  }

  /** Throws MatchRuleInvalid or MatchRuleNotFound. */
  removeMatch(rule: string): void {
    this.#matches.remove(rule);
    this.#ruleCount--;
    this.#updateFilter();
  }

  #updateFilter(): void {
    if (!this.#closed) this.#member.updateFilter(this);
  }

  /** This endpoint's part of the member's transport filter (null: every broadcast). */
  filterMasks(): Uint8Array[] | null {
    return this.#matches.filter();
  }

  /** Does a broadcast (or bus-generated) signal match one of our rules? */
  wants(msg: Message): boolean {
    return this.#matches.wants(msg, this.#ownerOf);
  }

  readonly #ownerOf = (n: string): string | undefined => this.view.ownerOf(n);

  /**
   * org.freedesktop.DBus.Monitoring.BecomeMonitor: from now on every
   * broadcast this member can see (matching `rules`, all when empty) is
   * delivered. Unicast traffic between others never reaches us: there is
   * no broker to copy it.
   */
  becomeMonitor(rules: string[]): void {
    this.#matches.monitor(rules);
    this.#updateFilter();
  }

  // ---- names ------------------------------------------------------------

  /** RequestName; resolves with the spec's reply code (RequestNameReply). */
  requestName(name: string, flags = 0): Promise<number> {
    return this.#member.names.request(this.endpointId, name, flags);
  }

  /** ReleaseName; resolves with the spec's reply code (ReleaseNameReply). */
  releaseName(name: string): Promise<number> {
    return this.#member.names.release(this.endpointId, name);
  }

  /** The org.freedesktop.DBus view, synchronously. */
  listNames(): string[] {
    return this.view.listNames();
  }

  getNameOwner(name: string): string | undefined {
    return this.view.ownerOf(name);
  }

  getCredentials(name: string): { pid: number; uid: number; gid: number } | undefined {
    const owner = this.view.ownerOf(name);
    const id = owner === undefined ? undefined : this.view.endpointOf(owner);
    if (id === undefined) return undefined;
    // A hosted client: what its host vouches for, else the host's own.
    if (subOf(id) !== 0) {
      const vouched = this.view.hostedCredentials(id);
      if (vouched !== undefined) return vouched;
    }
    const m = this.view.member(memberOf(id));
    if (m === undefined) return undefined;
    if (m.id !== this.memberId) {
      const proxied = readProxiedCredentials(this.#member.dir.liveDir, m.id, m.uid);
      if (proxied !== undefined) return proxied;
    }
    return { pid: m.pid, uid: m.uid, gid: m.gid };
  }

  /** StartServiceByName: StartReply.SUCCESS once started, ALREADY_RUNNING if owned. Throws the activation errors. */
  async startService(name: string): Promise<number> {
    const r = await this.#member.activator.start(name);
    return r === 'running' ? StartReply.ALREADY_RUNNING : StartReply.SUCCESS;
  }

  /** The names .service files provide (empty when activation is off). */
  listActivatableNames(): Promise<string[]> {
    return this.#member.activator.activatable();
  }

  /** UpdateActivationEnvironment: merged into the bus's activation environment, for every member's activations. */
  updateActivationEnvironment(vars: Record<string, string>): Promise<void> {
    return updateActivationEnv(this.#member.dir.path, vars);
  }

  machineId(): string {
    return machineId(this.busId);
  }

  // ---- receiving ----------------------------------------------------------

  #emitSafe(event: string, ...args: unknown[]): void {
    try {
      this.emit(event, ...args);
    } catch (e) {
      // A throwing application handler must not break message dispatch.
      this.#log.error({ event, err: errorText(e) }, 'a listener threw');
      if (this.listenerCount('error') > 0 && event !== 'error') this.emit('error', e);
    }
  }

  #deliver(msg: Message, fds: number[]): void {
    this.stats.delivered++;
    this.#emitSafe('message', msg, fds);
  }

  /** A message for this endpoint (from its member: the transport, a local endpoint, or the bus driver). */
  dispatch(msg: Message, fds: number[], unicast: boolean): void {
    if (this.#closed) {
      closeFds(fds);
      return;
    }
    this.stats.received++;
    switch (msg.type) {
      case MessageType.METHOD_RETURN:
      case MessageType.ERROR: {
        const from = msg.sender === BUS_NAME ? 0n : this.view.endpointOf(msg.sender ?? '');
        // A sync reply is core's own, never the application's.
        const internal = isSyncReply(msg) && from !== 0n;
        const key = this.#pending.match(msg, from, internal);
        if (!internal) this.#deliver(msg, fds);
        if (key !== undefined) this.#pending.complete(key, msg, fds);
        return;
      }
      case MessageType.SIGNAL:
        if (unicast || msg.destination !== undefined || this.wants(msg)) this.#deliver(msg, fds);
        else {
          this.stats.filtered++;
          closeFds(fds);
        }
        return;
      case MessageType.METHOD_CALL:
        this.#deliver(msg, fds);
        this.#methodCall(msg, fds);
        return;
    }
  }

  /** A member's Sync call (Connection.settle): answered by the member's own endpoint. */
  replySync(msg: Message): void {
    this.#replyTo(msg, { type: MessageType.METHOD_RETURN, signature: 's', body: [SYNC_REPLY_BODY] });
  }

  #methodCall(msg: Message, fds: number[]): void {
    if (msg.interface === PEER_INTERFACE) {
      if (msg.member === 'Ping') return this.reply(msg, '', []);
      if (msg.member === 'GetMachineId') return this.reply(msg, 's', [this.machineId()]);
      return this.replyError(msg, ErrorNames.UnknownMethod, `org.freedesktop.DBus.Peer has no method ${msg.member}`);
    }
    if (this.listenerCount('methodCall') > 0) {
      const call: IncomingCall = { msg, fds };
      this.#emitSafe('methodCall', call);
      return;
    }
    closeFds(fds);
    this.replyError(
      msg,
      ErrorNames.UnknownMethod,
      `No such method '${msg.member}' in interface '${msg.interface ?? ''}' at object path '${msg.path}'`,
    );
  }

  // ---- from the member ------------------------------------------------------

  /** Owner of `name` changed in the view: the bus driver's signals for this endpoint. */
  ownerChanged(name: string, oldOwner: bigint | undefined, newOwner: bigint | undefined): void {
    if (!this.#closed) this.#bus.ownerChanged(name, oldOwner, newOwner);
  }

  /** Endpoint `id` left (a member: with its hosted clients): our calls to it will never be answered. */
  peerLeft(id: bigint): void {
    this.#pending.failMember(id);
  }

  drained(): void {
    this.#emitSafe('drain');
  }

  /** The transport lost `count` messages for this member just before the one being delivered. */
  transportDropped(count: number): void {
    this.#log.warn({ dropped: count }, 'the transport dropped messages for us');
    this.#emitSafe('dropped', count);
  }

  /** The transport refused a peer's datagram. */
  peerRejected(r: PeerRejection): void {
    this.#log.warn(r, 'refused a datagram from a peer');
    this.#emitSafe('rejected', r);
  }

  transportError(e: Error): void {
    this.#log.error({ err: errorText(e) }, 'transport error');
    if (this.listenerCount('error') > 0) this.emit('error', e);
  }

  /**
   * Leaves the bus. Pending calls fail with Disconnected; our names pass to
   * the next in queue. A hosted client leaves alone; the member's own
   * connection takes the member and everything it hosts with it.
   */
  disconnect(): void {
    if (this.#closed) return;
    if (this === this.#member.own) {
      this.#member.close();
      return;
    }
    this.#member.leaveHosted(this);
    this.closed_();
  }

  /** @internal The member closed this endpoint. */
  closed_(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#bus.close();
    this.#pending.failAll(() => new DBusError(ErrorNames.Disconnected, 'the connection was closed'));
    this.#log.debug('disconnected');
    this.#emitSafe('disconnect');
  }
}

/** A caller-chosen serial: a uint32 other than 0 (the spec forbids 0). */
function checkSerial(serial: number): number {
  if (!Number.isInteger(serial) || serial < 1 || serial > 0xffffffff) {
    throw new DBusError(ErrorNames.InvalidArgs, `a message serial must be an integer in 1..4294967295, got ${String(serial)}`);
  }
  return serial;
}
