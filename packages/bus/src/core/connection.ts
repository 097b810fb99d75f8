// Connection: one endpoint of the bus (a member, or a client a member hosts), with D-Bus semantics (calls, matches, names).
import { EventEmitter } from 'node:events';
import type { Filter, Network } from '@ipnbus/transport-ipn';
import { MessageFlags, MessageType, type Message } from '../wire/index.js';
import { SYNC_REPLY_BODY } from './announce.js';
import { Calls, type CallMessage, type CallOptions } from './calls.js';
import type { DriverHost } from './bus-driver.js';
import { BusEndpoint } from './bus-endpoint.js';
import type { BusView, EndpointCredentials } from './bus-view.js';
import { BUS_NAME, BUS_PATH, MONITORING_INTERFACE, StartReply } from './constants.js';
import { EndpointInbox, type ConnectionStats, type IncomingCall } from './endpoint-inbox.js';
import { EndpointSender, type SendOptions } from './endpoint-sender.js';
import { DBusError, ErrorNames, errorText } from './errors.js';
import { closeFds, dupFd } from './fds.js';
import { childLogger, type Logger } from './logger.js';
import { limitExceeded, type ConnectionLimits } from './limits.js';
import { MatchSet } from './match-set.js';
import { machineId } from './machine-id.js';
import type { Member } from './member.js';
import { ownerCredentials } from './owner-credentials.js';
import type { CallResult } from './pending-calls.js';
import { updateActivationEnv } from './activation/index.js';
import { subOf } from './unique-name.js';


export type { CallMessage, CallResult, CallOptions, ConnectionStats, IncomingCall, SendOptions };

/** A peer's datagram the transport refused ('rejected'): the peer broke the protocol; nobody else is affected. */
export interface PeerRejection {
  /** The sender's unique name; null when the transport had not believed its id yet (user backend hello). */
  sender: string | null;
  /** Its process id (kernel-stamped or SO_PEERCRED; 0 when unknown). */
  pid: number;
  /** What was refused, naming the rule or limit (e.g. "reassembly budget: ..."). */
  reason: string;
}

/**
 * Built by connect() (the member's own endpoint) or Connection.host() (a
 * hosted client); see core/index.ts for the contract. Events: 'message'
 * (msg, fds), 'methodCall' (IncomingCall), 'disconnect', 'drain', 'error',
 * and on the member's own endpoint 'dropped' (count: messages the transport
 * lost for us just before the next one) and 'rejected' (PeerRejection).
 */
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
  readonly #calls: Calls;
  readonly #limits: ConnectionLimits;
  readonly #sender: EndpointSender;
  readonly #inbox: EndpointInbox;
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
    this.#log = subOf(endpointId) === 0 ? member.log : childLogger(member.log, { client: this.uniqueName });
    this.#bus = new BusEndpoint(this, (msg, fds, unicast, everywhere) => {
      // The bus driver's replies and signals to us are unicasts monitors
      // see: a copy, unless every monitor's member makes its own.
      if (unicast && everywhere !== true) member.monitors.copy(msg);
      this.dispatch(msg, fds, unicast);
    }, this.#log);
    this.#calls = new Calls({
      send: (msg, fds, serial) => this.send(msg, fds, serial === undefined ? undefined : { serial }),
      view: this.view,
      activator: member.activator,
      limits: this.#limits,
      log: this.#log,
      dup: dupFd,
      refused: (msg, fds, serial, err) => this.#sender.refused(msg, fds, serial, err),
      unanswered: (serial, err) => this.#sender.unanswered(serial, err),
    });
    this.#sender = new EndpointSender({
      member,
      uniqueName: this.uniqueName,
      view: this.view,
      bus: this.#bus,
      calls: this.#calls,
      log: this.#log,
      closed: () => this.#closed,
      counted: () => this.stats.sent++,
    });
    this.#inbox = new EndpointInbox({
      events: this,
      stats: this.stats,
      calls: this.#calls,
      log: this.#log,
      wants: (msg) => this.wants(msg),
      reply: (call, signature, body) => this.reply(call, signature, body),
      replyError: (call, name, text) => this.replyError(call, name, text),
      machineId: () => this.machineId(),
    });
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
   * `beforeAnnounce` runs once it exists, before anyone on the bus (our
   * own endpoints included) hears of it: a relay shows the client's Hello
   * to monitors there, as dbus-daemon shows it before NameOwnerChanged.
   */
  host(credentials: EndpointCredentials, beforeAnnounce?: (ep: Connection) => void): Connection {
    return this.#member.host(credentials, beforeAnnounce);
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
    return this.#sender.send(msg, fds, opts);
  }

  /**
   * A method call; resolves with the METHOD_RETURN, rejects with DBusError
   * for an ERROR reply, NoReply on timeout or when the callee leaves,
   * ServiceUnknown for a name nobody owns (after trying to start it).
   */
  call(msg: CallMessage, opts: CallOptions = {}): Promise<CallResult> {
    return this.#calls.call(msg, opts);
  }

  /** call() with callbacks instead of a promise, for a relay's per-call path (see Calls.callThen). */
  callThen(msg: CallMessage, opts: CallOptions, resolve: (r: CallResult) => void, reject: (e: unknown) => void): void {
    this.#calls.callThen(msg, opts, resolve, reject);
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
    if (this.#closed) return;
    if (this.network.backend !== 'user') {
      // The kernel applies our filter to every broadcast as it is sent: it
      // holds once it is on our socket, where the transport otherwise puts
      // it only at the end of the turn (many rules, one update). Without
      // this, a signal sent right after settle() resolved met the old one.
      this.network.flushPending();
      return;
    }
    // The filter and the membership are the member's: its own endpoint asks.
    if (this !== this.#member.own) return this.#member.own.settle(timeoutMs);
    await this.#calls.sync(this.view.memberIds().filter((id) => id !== this.memberId), timeoutMs);
  }

  // ---- match rules --------------------------------------------------------

  /**
   * Adds a rule (counted: a rule added twice needs two removals). Throws
   * MatchRuleInvalid, or LimitsExceeded past limits.maxMatchRules.
   */
  addMatch(rule: string): void {
    if (this.#matches.size >= this.#limits.maxMatchRules) {
      throw limitExceeded(this.#limits, 'maxMatchRules', `cannot add match rule "${rule}"`);
    }
    this.#matches.add(rule);
    this.#updateFilter();
  }

  /** Match rules in force (each AddMatch counted), for Debug.Stats. */
  matchRuleCount(): number {
    return this.#matches.size;
  }

  /** Throws MatchRuleInvalid or MatchRuleNotFound. */
  removeMatch(rule: string): void {
    this.#matches.remove(rule);
    this.#updateFilter();
  }

  #updateFilter(): void {
    if (!this.#closed) this.#member.updateFilter(this);
  }

  /** This endpoint's part of the member's transport filter (null: every broadcast). */
  filterMasks(): Filter {
    return this.#matches.filter();
  }

  /** Does a broadcast (or bus-generated) signal match one of our rules? */
  wants(msg: Message): boolean {
    return this.#matches.wants(msg, this.#ownerOf);
  }

  readonly #ownerOf = (n: string): string | undefined => this.view.ownerOf(n);

  /**
   * org.freedesktop.DBus.Monitoring.BecomeMonitor: from now on every
   * broadcast (matching `rules`, all when empty) is delivered, and every
   * unicast the others send, as a copy their members make (monitors.ts),
   * as 'message'. As on dbus-daemon, our unique name is taken away
   * (NameLost, NameOwnerChanged to ''; what is sent to it still arrives)
   * and the names we own or queue for are released; other monitors see
   * the call, its reply and those. Throws AccessDenied unless we run as
   * root or as the bus's owner, MatchRuleInvalid for a bad rule.
   */
  becomeMonitor(rules: string[]): void {
    const call = this.#sender.showOwn({
      type: MessageType.METHOD_CALL, destination: BUS_NAME, path: BUS_PATH, interface: MONITORING_INTERFACE,
      member: 'BecomeMonitor', signature: 'asu', body: [rules, 0],
    });
    try {
      this.startMonitoring(rules);
    } catch (e) {
      if (e instanceof DBusError) this.#sender.showBusAnswer(call, e);
      throw e;
    }
    this.#sender.showBusAnswer(call);
    this.monitorReplied();
  }

  /**
   * BecomeMonitor up to its reply, without showing the call (a relay
   * shows its client's, the bus driver its own): we get copies from now
   * on. Throws as becomeMonitor(). monitorReplied() does the rest.
   */
  startMonitoring(rules: string[]): void {
    this.#member.monitors.add(this, rules);
    this.#matches.monitor(rules);
    this.#updateFilter();
  }

  /**
   * BecomeMonitor after its reply was shown: the others learn of the
   * monitor, our unique name goes (NameLost, NameOwnerChanged, made by
   * every member from its view) and our names are released.
   */
  monitorReplied(): void {
    if (this.#closed) return;
    this.#member.monitors.announce(this.endpointId);
    const names = this.#member.names;
    names.releaseAll(this.endpointId).catch((e: unknown) => this.#log.debug({ err: errorText(e) }, 'a monitor kept a name'));
  }

  /**
   * Shows monitors a message between this endpoint and the bus that did
   * not pass through core: a relay's client's own exchange with the bus
   * driver the relay answers (a stock client's Hello and BecomeMonitor, and
   * their replies), as dbus-daemon shows its own. A reply's serial must be
   * the one its client gets (busSerial()).
   */
  showToMonitors(msg: Message): void {
    if (!this.#closed) this.#member.monitors.copy(msg);
  }

  /**
   * A relay's client's call to org.freedesktop.DBus under the client's own
   * `serial`, answered by our driver without the pending-call table (the
   * driver always answers; what it may wait for, a name's lock, a service
   * start, a settle, has a time limit of its own): the reply as the client
   * gets it, or undefined when none goes out (NO_REPLY_EXPECTED, or we
   * closed meanwhile). The reply is not round-tripped through the wire
   * format as call()'s is: the relay encodes it once, for its client.
   * Monitors see the call and the reply as dbus-daemon shows them. Throws
   * DBusError (Disconnected) when closed.
   */
  async askBus(msg: Partial<Message> & Pick<Message, 'type'>, serial: number): Promise<Message | undefined> {
    if (this.#closed) throw new DBusError(ErrorNames.Disconnected, 'the connection is closed');
    const out = await this.#bus.respond(this.#sender.showOwn(msg, serial));
    if (out === undefined) return undefined;
    if (out.reply !== undefined) this.#member.monitors.copy(out.reply);
    if (out.becameMonitor) this.monitorReplied();
    return out.reply;
  }

  /** A copy of others' message, with our own copies of its fds, for a monitor (becomeMonitor). */
  monitored(msg: Message, fds: number[]): void {
    if (this.#closed) closeFds(fds);
    else this.#inbox.deliver(msg, fds);
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
    return ownerCredentials(this.view, this.#member.dir.liveDir, this.memberId, name);
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

  /** A message for this endpoint (from its member: the transport, a local endpoint, or the bus driver). */
  dispatch(msg: Message, fds: number[], unicast: boolean): void {
    if (this.#closed) closeFds(fds);
    else this.#inbox.dispatch(msg, fds, unicast);
  }

  /** A member's Sync call (Connection.settle): answered by the member's own endpoint. */
  replySync(msg: Message): void {
    this.#replyTo(msg, { type: MessageType.METHOD_RETURN, signature: 's', body: [SYNC_REPLY_BODY] });
  }

  // ---- from the member ------------------------------------------------------

  /**
   * Owner of `name` changed in the view: the bus driver's signals for this
   * endpoint. `signal`, the change's NameOwnerChanged made once by the
   * member: an endpoint that neither lost nor took the name and has no rule
   * for it (most of a busy gateway's clients: GDBus proxies match on arg0)
   * makes nothing, where it would make the signal only to drop it.
   */
  ownerChanged(name: string, oldOwner: bigint | undefined, newOwner: bigint | undefined, signal?: Message): void {
    if (this.#closed) return;
    const party = oldOwner === this.endpointId || newOwner === this.endpointId;
    if (signal !== undefined && !party && !this.wants(signal)) return;
    this.#bus.ownerChanged(name, oldOwner, newOwner);
  }

  /** Endpoint `id` left (a member: with its hosted clients): our calls to it will never be answered. */
  peerLeft(id: bigint): void {
    this.#calls.peerLeft(id);
  }

  drained(): void {
    this.#inbox.emit('drain');
  }

  /** The transport lost `count` messages for this member just before the one being delivered. */
  transportDropped(count: number): void {
    this.#log.warn({ dropped: count }, 'the transport dropped messages for us');
    this.#inbox.emit('dropped', count);
  }

  /** The transport refused a peer's datagram. */
  peerRejected(r: PeerRejection): void {
    this.#log.warn(r, 'refused a datagram from a peer');
    this.#inbox.emit('rejected', r);
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
    this.#calls.close();
    this.#log.debug('disconnected');
    this.#inbox.emit('disconnect');
  }
}

