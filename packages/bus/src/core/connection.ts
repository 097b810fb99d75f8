// Connection: one member of a brokerless bus, with D-Bus semantics (routing, calls, names, matches).
import { EventEmitter } from 'node:events';
import { join } from 'node:path';
import type { IncomingMessage, MemberInfo, Network } from '@ipnbus/transport-ipn';
import {
  MessageFlags,
  MessageType,
  WireError,
  decodeMessage,
  encodeMessage,
  isValidBusName,
  type Message,
} from '../wire/index.js';
import {
  ANNOUNCE_INTERFACE,
  ANNOUNCE_PATH,
  SYNC_MEMBER,
  SYNC_REPLY_BODY,
  isAnnouncement,
  isSyncCall,
  isSyncReply,
} from './announce.js';
import { messageBloom } from './bloom.js';
import type { BusDir } from './bus-dir.js';
import type { DriverHost } from './bus-driver.js';
import { BusEndpoint } from './bus-endpoint.js';
import { BusView, uniqueNameOf } from './bus-view.js';
import { BUS_NAME, DEFAULT_CALL_TIMEOUT_MS, PEER_INTERFACE, StartReply } from './constants.js';
import { DBusError, ErrorNames, errorText } from './errors.js';
import { closeFds } from './fds.js';
import { liveMembers, probeAlive, type LiveLock } from './liveness.js';
import { logger as rootLogger, type Logger } from './logger.js';
import { DEFAULT_LIMITS, limitExceeded, type ConnectionLimits } from './limits.js';
import { MatchSet } from './match-set.js';
import { NameOwnership } from './name-ownership.js';
import { NameStore } from './name-store.js';
import { machineId } from './machine-id.js';
import { native } from './native.js';
import { PendingCalls, type CallResult } from './pending-calls.js';
import { readProxiedCredentials, type ProxiedCredentials } from './proxied-credentials.js';
import { SerialCounter } from './serial-counter.js';
import { Activator, updateActivationEnv, type ActivationOptions } from './activation/index.js';
import { escapeAddressValue } from './address.js';
import { fromTransport, peerGone } from './transport-errors.js';

export type { CallResult };

/** How long a member known to us but without a lock file has to make one. */
const RESCAN_CONFIRM_MS = 1000;

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

export interface ConnectionInit {
  network: Network;
  dir: BusDir;
  live: LiveLock;
  logger?: Logger;
  /** Reported instead of this process's (a gateway's stock client): see proxied-credentials.ts. */
  credentials?: ProxiedCredentials;
  /** Per-connection limits (default: dbus-daemon's session values, see limits.ts). */
  limits?: ConnectionLimits;
  /** Service activation for this connection (see activation/activator.ts). */
  activation?: ActivationOptions;
}

/**
 * Built by connect(); see core/index.ts for the contract. Events:
 * 'message' (msg, fds), 'methodCall' (IncomingCall), 'disconnect', 'error'.
 */
export class Connection extends EventEmitter implements DriverHost {
  readonly uniqueName: string;
  readonly memberId: bigint;
  readonly busId: string;
  /** The transport under this connection (diagnostics, benchmarks). */
  readonly network: Network;
  readonly stats: ConnectionStats = { received: 0, delivered: 0, filtered: 0, sent: 0 };
  readonly view: BusView;

  readonly #dir: BusDir;
  readonly #names: NameOwnership;
  readonly #bus: BusEndpoint;
  readonly #live: LiveLock;
  readonly #log: Logger;
  readonly #matches = new MatchSet();
  readonly #pending = new PendingCalls();
  readonly #limits: ConnectionLimits;
  /** Rules added and not removed, each AddMatch counted (MatchSet keys duplicates together). */
  #ruleCount = 0;
  readonly #serials = new SerialCounter();
  readonly #activator: Activator;
  #closed = false;
  #ready = false;
  readonly #onMessage = (m: IncomingMessage): void => this.#receive(m);
  readonly #onJoin = (info: MemberInfo): void => this.#joined(info);
  readonly #onLeave = (info: MemberInfo): void => this.#left(info.id);
  readonly #onOverrun = (lost: number): void => this.#rescanMembers(lost);
  readonly #onError = (e: Error): void => this.#transportError(e);
  readonly #onDrain = (): void => {
    this.#backpressured = false;
    this.#emitSafe('drain');
  };
  #backpressured = false;

  /** Use connect(); this assembles an already opened network and bus directory. */
  constructor(init: ConnectionInit) {
    super();
    this.network = init.network;
    this.#dir = init.dir;
    this.#live = init.live;
    this.#limits = init.limits ?? DEFAULT_LIMITS;
    this.memberId = init.network.id;
    this.uniqueName = uniqueNameOf(this.memberId, init.dir.generation);
    this.busId = init.dir.busId;
    this.#log = (init.logger ?? rootLogger).child({ member: this.uniqueName });
    const self: MemberInfo = init.credentials
      ? { id: this.memberId, pid: init.credentials.pid, uid: init.credentials.uid, gid: init.credentials.gid }
      : { id: this.memberId, pid: process.pid, uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 };
    this.#activator = new Activator(
      {
        busPath: init.dir.path,
        busAddress: `ipnbus:path=${escapeAddressValue(init.dir.path)}`,
        ownerOf: (name) => this.view.ownerOf(name),
        startUnit: async (unit) => {
          await this.call({
            destination: 'org.freedesktop.systemd1',
            path: '/org/freedesktop/systemd1',
            interface: 'org.freedesktop.systemd1.Manager',
            member: 'StartUnit',
            signature: 'ss',
            body: [unit, 'replace'],
          });
        },
        log: this.#log,
      },
      init.activation,
    );
    this.#bus = new BusEndpoint(this, (msg, fds, unicast) => this.#dispatch(msg, fds, unicast), this.#log);
    this.view = new BusView(
      self,
      init.network.members(),
      (name, oldOwner, newOwner) => {
        if (this.#closed) return;
        if (!name.startsWith(':')) this.#names.ownerChanged(name, oldOwner, newOwner);
        if (this.#ready) this.#bus.ownerChanged(name, oldOwner, newOwner);
      },
      (id) => this.#probe(id),
      init.dir.generation,
    );
    this.#names = new NameOwnership({
      store: new NameStore(init.dir),
      view: this.view,
      network: init.network,
      memberId: this.memberId,
      uniqueName: this.uniqueName,
      alive: (id) => this.#probe(id),
      livePath: (id) => join(init.dir.liveDir, id.toString()),
      log: this.#log,
      limits: this.#limits,
    });
    // Listen before reading the names directory: a record written after the
    // read is announced to us; one written before is in the file.
    this.network.on('message', this.#onMessage);
    this.network.on('join', this.#onJoin);
    this.network.on('leave', this.#onLeave);
    this.network.on('overrun', this.#onOverrun);
    this.network.on('error', this.#onError);
    this.network.on('drain', this.#onDrain);
    this.#names.loadSnapshot();
    // No rules yet: no signal needs to wake us.
    this.network.setFilter(this.#matches.filter());
    this.#ready = true;
    this.#log.debug({ members: this.view.memberIds().length }, 'connected');
  }

  /**
   * True after a send the transport had to queue (a receiver is full);
   * 'drain' is emitted when the queue has gone out. Lets a relay (the
   * gateway) stop reading its source instead of queueing without bound.
   */
  get backpressured(): boolean {
    // The user transport coalesces broadcasts at the end of a turn and may
    // only then find a receiver full: its `queued` says so.
    return this.#backpressured || this.network.queued === true;
  }

  get closed(): boolean {
    return this.#closed;
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
      const bytes = this.#encode(full);
      try {
        if (!this.network.broadcast(bytes, messageBloom(full))) this.#backpressured = true;
      } catch (e) {
        throw fromTransport(e, 'send', 'broadcast failed');
      }
      this.stats.sent++;
      // dbus-daemon delivers a signal to its own sender too when it matches.
      if (this.#wants(full)) {
        const copy = decodeMessage(bytes, { copyBytes: true });
        setImmediate(() => this.#dispatch(copy, [], false));
      }
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
    const bytes = this.#encode(full);
    if (target === this.memberId) {
      const copy = decodeMessage(bytes, { copyBytes: true });
      copy.sender = this.uniqueName;
      // The receiver owns the fds it gets, as after SCM_RIGHTS: give it its
      // own (dup), so the sender may close the ones it passed.
      const own = (fds ?? []).map((fd) => this.#dup(fd));
      setImmediate(() => this.#dispatch(copy, own, true));
    } else {
      try {
        if (!this.network.send(target, bytes, fds)) this.#backpressured = true;
      } catch (e) {
        if (peerGone(e)) {
          throw new DBusError(ErrorNames.NoReply, `${dest} (${this.view.uniqueNameOf(target)}) left the bus`, { cause: e });
        }
        throw fromTransport(e, 'send', `send to ${dest} failed`);
      }
    }
    this.stats.sent++;
    return full.serial;
  }

  /**
   * A call that expects no reply, to a name whose service must be started
   * first: sent once it has its name. A failure has no one to go to (the
   * caller asked for no reply), so it is logged.
   */
  #startThenSend(full: Message, fds: number[] | undefined): void {
    const own = (fds ?? []).map((fd) => this.#dup(fd));
    const { serial, sender: _sender, ...rest } = full;
    this.#activator
      .start(full.destination!)
      .then(() => {
        if (!this.#closed) this.send(rest, own, { serial });
      })
      .catch((e: unknown) => this.#log.debug({ to: full.destination, err: errorText(e) }, 'no-reply call not delivered: activation failed'))
      .finally(() => closeFds(own));
  }

  #dup(fd: number): number {
    try {
      return native().dup(fd);
    } catch (e) {
      throw new DBusError(ErrorNames.InvalidArgs, `cannot pass fd ${fd}: ${errorText(e)}`, { cause: e });
    }
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
      const fds = (opts.fds ?? []).map((fd) => this.#dup(fd));
      return this.#activator
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
    if (!this.#closed) this.network.setFilter(this.#matches.filter());
  }

  /** Does a broadcast (or bus-generated) signal match one of our rules? */
  #wants(msg: Message): boolean {
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

  /**
   * Liveness from the member's lock file. A file we may not read (a bus
   * shared between users with a strict umask) falls back to what the
   * transport told us.
   */
  #probe(id: bigint): boolean {
    try {
      return probeAlive(this.#dir.liveDir, id);
    } catch (e) {
      this.#log.debug({ id: id.toString(), err: errorText(e) }, 'cannot probe a member lock');
      return this.view.hasMember(id);
    }
  }

  /** RequestName; resolves with the spec's reply code (RequestNameReply). */
  requestName(name: string, flags = 0): Promise<number> {
    return this.#names.request(name, flags);
  }

  /** ReleaseName; resolves with the spec's reply code (ReleaseNameReply). */
  releaseName(name: string): Promise<number> {
    return this.#names.release(name);
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
    const id = owner === undefined ? undefined : this.view.memberIdOf(owner);
    const m = id === undefined ? undefined : this.view.member(id);
    if (m === undefined) return undefined;
    if (id !== this.memberId) {
      const proxied = readProxiedCredentials(this.#dir.liveDir, m.id, m.uid);
      if (proxied !== undefined) return proxied;
    }
    return { pid: m.pid, uid: m.uid, gid: m.gid };
  }

  /** StartServiceByName: StartReply.SUCCESS once started, ALREADY_RUNNING if owned. Throws the activation errors. */
  async startService(name: string): Promise<number> {
    const r = await this.#activator.start(name);
    return r === 'running' ? StartReply.ALREADY_RUNNING : StartReply.SUCCESS;
  }

  /** The names .service files provide (empty when activation is off). */
  listActivatableNames(): Promise<string[]> {
    return this.#activator.activatable();
  }

  /** UpdateActivationEnvironment: merged into the bus's activation environment, for every member's activations. */
  updateActivationEnvironment(vars: Record<string, string>): Promise<void> {
    return updateActivationEnv(this.#dir.path, vars);
  }

  machineId(): string {
    return machineId(this.busId);
  }

  // ---- receiving ----------------------------------------------------------

  #receive(m: IncomingMessage): void {
    this.stats.received++;
    if (this.#closed) {
      closeFds(m.fds);
      return;
    }
    let msg: Message;
    try {
      msg = decodeMessage(m.bytes, { copyBytes: true });
    } catch (e) {
      this.#log.warn({ from: m.from.toString(), err: errorText(e) }, 'dropping an undecodable message');
      closeFds(m.fds);
      return;
    }
    // The transport's id is the only trusted identity: whatever SENDER the
    // message claims is overwritten.
    msg.sender = this.view.uniqueNameOf(m.from);
    if (m.dropped > 0) this.#log.warn({ dropped: m.dropped }, 'the transport dropped messages for us');
    if (isAnnouncement(msg)) {
      this.#names.noticeRecord(msg);
      return;
    }
    if (isSyncCall(msg)) {
      this.#replyTo(msg, { type: MessageType.METHOD_RETURN, signature: 's', body: [SYNC_REPLY_BODY] });
      return;
    }
    if ((msg.unixFds ?? 0) !== m.fds.length) {
      this.#log.warn({ declared: msg.unixFds ?? 0, got: m.fds.length }, 'dropping a message whose fd count is wrong');
      closeFds(m.fds);
      return;
    }
    this.#dispatch(msg, m.fds, m.unicast);
  }

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

  #dispatch(msg: Message, fds: number[], unicast: boolean): void {
    if (this.#closed) {
      closeFds(fds);
      return;
    }
    switch (msg.type) {
      case MessageType.METHOD_RETURN:
      case MessageType.ERROR: {
        const from = msg.sender === BUS_NAME ? 0n : this.view.memberIdOf(msg.sender ?? '');
        // A sync reply is core's own, never the application's.
        const internal = isSyncReply(msg) && from !== 0n;
        const key = this.#pending.match(msg, from, internal);
        if (!internal) this.#deliver(msg, fds);
        if (key !== undefined) this.#pending.complete(key, msg, fds);
        return;
      }
      case MessageType.SIGNAL:
        if (unicast || msg.destination !== undefined || this.#wants(msg)) this.#deliver(msg, fds);
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

  // ---- membership ---------------------------------------------------------

  #joined(info: MemberInfo): void {
    if (this.#closed) return;
    this.view.joined(info);
    this.#names.sendRecordsTo(info.id);
  }

  #left(id: bigint): void {
    if (this.#closed) return;
    this.#pending.failMember(id);
    this.#names.beforeLeave(id);
    for (const name of this.view.left(id)) void this.#names.takeOver(name);
  }

  /**
   * The transport lost `lost` membership events (our queue was full): take
   * the membership from the bus directory's member locks instead. A member
   * known here without a lock is given RESCAN_CONFIRM_MS to make one (a
   * newcomer's lock follows its join) before it counts as gone.
   */
  #rescanMembers(lost: number): void {
    if (this.#closed) return;
    this.#log.warn({ lost }, 'membership events lost: rescanning the bus directory');
    let alive: MemberInfo[];
    try {
      alive = liveMembers(this.#dir.liveDir);
    } catch (e) {
      this.#log.error({ err: errorText(e) }, 'cannot rescan the bus directory');
      return;
    }
    const { joined, missing } = this.view.diffMembers(alive);
    for (const info of joined) this.#joined(info);
    if (missing.length === 0) return;
    setTimeout(() => {
      for (const id of missing) if (this.view.hasMember(id) && !this.#probe(id)) this.#left(id);
    }, RESCAN_CONFIRM_MS).unref();
  }

  #transportError(e: Error): void {
    this.#log.error({ err: errorText(e) }, 'transport error');
    if (this.listenerCount('error') > 0) this.emit('error', e);
  }

  /** Leaves the bus. Pending calls fail with Disconnected; our names pass to the next in queue. */
  disconnect(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#names.close();
    this.#bus.close();
    this.#pending.failAll(() => new DBusError(ErrorNames.Disconnected, 'the connection was closed'));
    this.network.off('message', this.#onMessage);
    this.network.off('join', this.#onJoin);
    this.network.off('leave', this.#onLeave);
    this.network.off('overrun', this.#onOverrun);
    this.network.off('error', this.#onError);
    this.network.off('drain', this.#onDrain);
    // Unlink our member lock before leaving: whoever sees the leave finds us
    // dead on disk too.
    this.#live.release();
    this.network.close();
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
