// Member: one node of the network and the endpoints it carries (itself, and the clients it hosts).
import { join } from 'node:path';
import type { IncomingMessage, MemberInfo, Network, PeerViolation } from '@ipnbus/transport-ipn';
import { decodeMessage, encodeMessage, type Message } from '../wire/index.js';
import { hostedRecord, type HostedEntry } from './announce.js';
import { messageBloom } from './bloom-routing.js';
import type { BusDir } from './bus-dir.js';
import { busDriverSignal, nameOwnerChanged } from './bus-endpoint.js';
import { BusView, type EndpointCredentials } from './bus-view.js';
import { Connection } from './connection.js';
import { DBusError, ErrorNames, errorText } from './errors.js';
import { dupFd } from './fds.js';
import { FilterUnion } from './filter-union.js';
import { probeHosted, removeHostedFile, scanHosted, vouched, writeHostedFile } from './hosted.js';
import { liveMembers, probeAlive, type LiveLock } from './liveness.js';
import { logger as rootLogger, type Logger } from './logger.js';
import { DEFAULT_LIMITS, type ConnectionLimits } from './limits.js';
import { MemberInbox } from './member-inbox.js';
import { NameOwnership } from './name-ownership.js';
import { NameStore } from './name-store.js';
import { type ProxiedCredentials } from './proxied-credentials.js';
import { SerialCounter } from './serial-counter.js';
import { Activator, type ActivationOptions } from './activation/index.js';
import { escapeAddressValue } from './address.js';
import { fromTransport, peerGone } from './transport-errors.js';
import { MAX_SUB_ID, endpointId, memberOf, subOf, uniqueNameOf } from './unique-name.js';
import { Monitors } from './monitors.js';

/** How long a member known to us but without a lock file has to make one. */
const RESCAN_CONFIRM_MS = 1000;

export interface MemberInit {
  network: Network;
  dir: BusDir;
  live: LiveLock;
  logger?: Logger;
  /** Reported instead of this process's (see proxied-credentials.ts). */
  credentials?: ProxiedCredentials;
  limits?: ConnectionLimits;
  activation?: ActivationOptions;
}

/**
 * The transport, the replicated view, name ownership and activation are
 * the member's, shared by its endpoints; each endpoint (a Connection) has
 * its own unique name, match rules, pending calls and serials. A native
 * program has one endpoint, the member itself; a gateway adds one per
 * stock client (host()). Incoming unicasts go to the endpoint their
 * destination names, broadcasts to every endpoint whose rules want them,
 * and the transport's prefilter is the union of the endpoints' filters.
 */
export class Member {
  readonly network: Network;
  readonly dir: BusDir;
  readonly memberId: bigint;
  readonly view: BusView;
  readonly names: NameOwnership;
  readonly activator: Activator;
  /** Monitors on the bus, and the copies our endpoints' unicasts owe them (monitors.ts). */
  readonly monitors: Monitors;
  readonly limits: ConnectionLimits;
  readonly log: Logger;
  /** The member's own endpoint (sub-id 0): the Connection connect() returns. */
  readonly own: Connection;

  readonly #live: LiveLock;
  readonly #endpoints = new Map<bigint, Connection>();
  readonly #filters = new FilterUnion();
  readonly #recordSerial = new SerialCounter();
  readonly #inbox: MemberInbox;
  #nextSub = 1;
  /** Set by the first host(): from then on the filter is the union of the endpoints'. */
  #hosting = false;
  #closed = false;
  #ready = false;
  #backpressured = false;
  readonly #onMessage = (m: IncomingMessage): void => this.#inbox.receive(m);
  readonly #onJoin = (info: MemberInfo): void => this.#joined(info);
  readonly #onLeave = (info: MemberInfo): void => this.#left(info.id);
  readonly #onOverrun = (lost: number): void => this.#rescanMembers(lost);
  readonly #onError = (e: Error): void => this.own.transportError(e);
  readonly #onRejected = (v: PeerViolation): void => {
    if (this.#closed) return;
    const sender = v.from === null ? null : this.view.uniqueNameOf(v.from);
    this.own.peerRejected({ sender, pid: v.pid, reason: v.reason });
  };
  readonly #onDrain = (): void => {
    this.#backpressured = false;
    for (const ep of this.#endpoints.values()) ep.drained();
  };

  constructor(init: MemberInit) {
    this.network = init.network;
    this.dir = init.dir;
    this.#live = init.live;
    this.limits = init.limits ?? DEFAULT_LIMITS;
    this.memberId = init.network.id;
    this.log = (init.logger ?? rootLogger).child({ member: uniqueNameOf(this.memberId, init.dir.generation) });
    const self: MemberInfo = init.credentials
      ? { id: this.memberId, pid: init.credentials.pid, uid: init.credentials.uid, gid: init.credentials.gid }
      : { id: this.memberId, pid: process.pid, uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 };
    this.view = new BusView(
      self,
      init.network.members(),
      (name, oldOwner, newOwner) => {
        if (this.#closed) return;
        if (!name.startsWith(':')) this.names.ownerChanged(name, oldOwner, newOwner);
        if (!this.#ready) return;
        const ownerName = (id: bigint | undefined): string => (id === undefined ? '' : uniqueNameOf(id, init.dir.generation));
        // Our monitors see the change's NameLost and NameAcquired, made here
        // as its NameOwnerChanged is, in dbus-daemon's order around it: the
        // old owner may have left (crashed, even), and its member's copy
        // would race the record that made the change elsewhere.
        const shown = this.monitors.size > 0;
        if (shown && oldOwner !== undefined) this.monitors.showHere(busDriverSignal('NameLost', 's', [name], ownerName(oldOwner)));
        const signal = nameOwnerChanged(name, ownerName(oldOwner), ownerName(newOwner));
        for (const ep of this.#endpoints.values()) ep.ownerChanged(name, oldOwner, newOwner, signal);
        if (shown && newOwner !== undefined) this.monitors.showHere(busDriverSignal('NameAcquired', 's', [name], ownerName(newOwner)));
      },
      (id) => this.#probe(id),
      init.dir.generation,
    );
    this.names = new NameOwnership({
      store: new NameStore(init.dir),
      view: this.view,
      network: init.network,
      memberId: this.memberId,
      uniqueName: uniqueNameOf(this.memberId, init.dir.generation),
      alive: (id) => this.#probe(id),
      livePath: (id) => join(init.dir.liveDir, id.toString()),
      log: this.log,
      limits: this.limits,
    });
    this.monitors = new Monitors({
      view: this.view,
      memberId: this.memberId,
      network: init.network,
      busPath: init.dir.path,
      log: this.log,
      processUid: process.getuid?.() ?? 0,
      localMonitor: (id) => this.#endpoints.get(id),
    });
    this.activator = new Activator(
      {
        busPath: init.dir.path,
        busAddress: `ipnbus:path=${escapeAddressValue(init.dir.path)}`,
        ownerOf: (name) => this.view.ownerOf(name),
        startUnit: async (unit) => {
          await this.own.call({
            destination: 'org.freedesktop.systemd1',
            path: '/org/freedesktop/systemd1',
            interface: 'org.freedesktop.systemd1.Manager',
            member: 'StartUnit',
            signature: 'ss',
            body: [unit, 'replace'],
          });
        },
        log: this.log,
      },
      init.activation,
    );
    this.own = new Connection(this, this.memberId, self);
    this.#endpoints.set(this.memberId, this.own);
    this.#inbox = new MemberInbox({
      memberId: this.memberId,
      view: this.view,
      names: this.names,
      liveDir: init.dir.liveDir,
      own: this.own,
      endpoints: this.#endpoints,
      serials: this.#recordSerial,
      log: this.log,
      closed: () => this.#closed,
      hostedLeft: (id) => this.#endpointLeft(id),
      monitors: this.monitors,
      transmit: (target, msg, bytes, fds, dest) => this.transmit(target, msg, bytes, fds, dest),
    });
    // Listen before reading the bus directory: a record written after the
    // read is announced to us; one written before is in the files.
    this.network.on('message', this.#onMessage);
    this.network.on('join', this.#onJoin);
    this.network.on('leave', this.#onLeave);
    this.network.on('overrun', this.#onOverrun);
    this.network.on('rejected', this.#onRejected);
    this.network.on('error', this.#onError);
    this.network.on('drain', this.#onDrain);
    for (const h of scanHosted(init.dir.liveDir)) this.view.hostedJoined(h.id, h.creds, false);
    this.names.loadSnapshot();
    // No rules yet: no signal needs to wake us.
    this.updateFilter(this.own);
    this.#ready = true;
    this.log.debug({ members: this.view.memberIds().length }, 'connected');
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** See Connection.backpressured. */
  get backpressured(): boolean {
    return this.#backpressured || this.network.queued === true;
  }

  /**
   * Hosts a client (a gateway's stock client) as a new endpoint with its
   * own unique name ':<generation>.<member id>.<n>', reporting `creds` (its
   * SO_PEERCRED; see hosted.ts for what others believe of them). The bus
   * learns of it before this returns (a record in the bus directory, then
   * a broadcast), after `beforeAnnounce` (Connection.host).
   */
  host(creds: EndpointCredentials, beforeAnnounce?: (ep: Connection) => void): Connection {
    if (this.#closed) throw new DBusError(ErrorNames.Disconnected, 'the connection is closed');
    if (this.#nextSub > MAX_SUB_ID) throw new DBusError(ErrorNames.LimitsExceeded, `this member has hosted ${MAX_SUB_ID} clients: no sub-id left`);
    const sub = this.#nextSub++;
    if (!this.#hosting) {
      this.#hosting = true;
      this.#setFilter(this.#filters.update(this.memberId, this.own.filterMasks()));
    }
    const id = endpointId(this.memberId, sub);
    writeHostedFile(this.dir.liveDir, this.memberId, sub, creds);
    const ep = new Connection(this, id, creds);
    this.#endpoints.set(id, ep);
    this.updateFilter(ep);
    beforeAnnounce?.(ep);
    // The record first, then our own view (its NameOwnerChanged and the
    // client's NameAcquired, copied to monitors): a monitor elsewhere sees
    // them in dbus-daemon's order.
    this.#announceHosted(true, [{ sub, ...creds }]);
    this.view.hostedJoined(id, vouched(this.view.self.uid, creds));
    return ep;
  }

  /** Hosted endpoints currently open (the member's own not counted). */
  get hostedCount(): number {
    return this.#endpoints.size - 1;
  }

  #announceHosted(present: boolean, entries: HostedEntry[], to?: bigint): void {
    const msg = hostedRecord(present, entries, this.#recordSerial.next());
    msg.sender = this.own.uniqueName;
    const bytes = encodeMessage(msg);
    try {
      if (to === undefined) this.network.broadcast(bytes);
      else this.network.send(to, bytes);
      // Out before anything the client sends next (coalesced broadcasts wait for the end of the turn).
      this.network.flushPending();
    } catch (e) {
      this.log.debug({ err: errorText(e) }, 'could not send a hosted-client record');
    }
  }

  /**
   * A hosted endpoint disconnected: its names are released (with their
   * NameOwnerChanged), then its unique name goes, here and, through a
   * record, everywhere. Messages for it meanwhile get NoReply.
   */
  leaveHosted(ep: Connection): void {
    if (!this.#endpoints.has(ep.endpointId)) return;
    this.#endpoints.delete(ep.endpointId);
    this.#setFilter(this.#filters.remove(ep.endpointId));
    const id = ep.endpointId;
    void this.names.releaseAll(id).finally(() => {
      if (this.#closed) return;
      removeHostedFile(this.dir.liveDir, this.memberId, subOf(id));
      this.#endpointLeft(id);
      this.#announceHosted(false, [{ sub: subOf(id), pid: 0, uid: 0, gid: 0 }]);
    });
  }

  /** Endpoint `id` (a member: with all it hosted) is gone: its names pass on in our view, then calls to it fail. */
  #endpointLeft(id: bigint): void {
    this.monitors.left(id);
    this.names.beforeLeave(id);
    for (const name of this.view.left(id)) void this.names.takeOver(name);
    // After its names went, as dbus-daemon answers calls to a connection that left.
    for (const ep of this.#endpoints.values()) ep.peerLeft(id);
  }

  // ---- filter -------------------------------------------------------------

  /**
   * Endpoint `ep` changed its rules: the transport filter becomes the
   * union of all endpoints'. A member that never hosted anyone passes its
   * own filter through (a native member with 10,000 rules pays nothing).
   */
  updateFilter(ep: Connection): void {
    if (this.#closed) return;
    if (!this.#hosting) {
      this.network.setFilter(ep.filterMasks());
      return;
    }
    this.#setFilter(this.#filters.update(ep.endpointId, ep.filterMasks()));
  }

  #setFilter(next: Uint8Array[] | null | undefined): void {
    if (next !== undefined && !this.#closed) this.network.setFilter(next);
  }

  // ---- sending ------------------------------------------------------------

  /**
   * Sends an encoded message from one of our endpoints to endpoint
   * `target`: through the transport to its member, or, for one of ours,
   * handed over in the next turn as if it had arrived (fds dup'ed: the
   * receiver owns what it gets, as after SCM_RIGHTS).
   */
  transmit(target: bigint, msg: Message, bytes: Buffer, fds: number[] | undefined, dest: string): void {
    const to = memberOf(target);
    // Monitors' copies leave first: a reply (and its copy) can only follow.
    this.monitors.copy(msg, bytes, fds);
    if (to === this.memberId) {
      const copy = decodeMessage(bytes, { copyBytes: true });
      const own = (fds ?? []).map((fd) => dupFd(fd));
      setImmediate(() => this.#inbox.deliverUnicast(copy, own, target));
      return;
    }
    try {
      if (!this.network.send(to, bytes, fds)) this.#backpressured = true;
    } catch (e) {
      if (peerGone(e)) {
        throw new DBusError(ErrorNames.NoReply, `${dest} (${this.view.uniqueNameOf(target)}) left the bus`, { cause: e });
      }
      throw fromTransport(e, 'send', `send to ${dest} failed`);
    }
  }

  /** Broadcasts a signal of one of our endpoints; our endpoints whose rules want it get it too, as from dbus-daemon. */
  broadcast(msg: Message, bytes: Buffer): void {
    try {
      if (!this.network.broadcast(bytes, messageBloom(msg))) this.#backpressured = true;
    } catch (e) {
      throw fromTransport(e, 'send', 'broadcast failed');
    }
    let copy: Message | undefined;
    for (const ep of this.#endpoints.values()) {
      if (!ep.wants(msg)) continue;
      copy ??= decodeMessage(bytes, { copyBytes: true });
      const m = copy;
      setImmediate(() => ep.dispatch(m, [], false));
    }
  }

  // ---- membership ---------------------------------------------------------

  /** Liveness from the bus directory (member lock; a hosted client's file too). */
  #probe(id: bigint): boolean {
    const member = memberOf(id);
    try {
      const sub = subOf(id);
      return sub === 0 ? probeAlive(this.dir.liveDir, member) : probeHosted(this.dir.liveDir, member, sub);
    } catch (e) {
      this.log.debug({ id: id.toString(), err: errorText(e) }, 'cannot probe a member lock');
      return this.view.hasEndpoint(id);
    }
  }

  #joined(info: MemberInfo): void {
    if (this.#closed) return;
    this.view.joined(info);
    this.names.sendRecordsTo(info.id);
    // A newcomer may have read the directory before a client of ours
    // arrived and joined after our record of it went out.
    const hosted: HostedEntry[] = [];
    for (const ep of this.#endpoints.values()) if (ep !== this.own) hosted.push({ sub: subOf(ep.endpointId), ...ep.credentials });
    if (hosted.length > 0) this.#announceHosted(true, hosted, info.id);
    this.monitors.joined(info.id);
  }

  #left(id: bigint): void {
    if (!this.#closed) this.#endpointLeft(id);
  }

  /**
   * The transport lost `lost` membership events (our queue was full): take
   * the membership from the bus directory's member locks instead. A member
   * known here without a lock is given RESCAN_CONFIRM_MS to make one (a
   * newcomer's lock follows its join) before it counts as gone.
   */
  #rescanMembers(lost: number): void {
    if (this.#closed) return;
    this.log.warn({ lost }, 'membership events lost: rescanning the bus directory');
    let alive: MemberInfo[];
    // The directory has no pids; the transport may know them (the kernel
    // backend re-reads /proc/net/ipn on an overrun).
    const known = new Map(this.network.members().map((m) => [m.id, m]));
    try {
      alive = liveMembers(this.dir.liveDir).map((m) => ({ ...m, pid: known.get(m.id)?.pid ?? m.pid }));
    } catch (e) {
      this.log.error({ err: errorText(e) }, 'cannot rescan the bus directory');
      return;
    }
    const { joined, missing } = this.view.diffMembers(alive);
    for (const info of joined) this.#joined(info);
    if (missing.length === 0) return;
    setTimeout(() => {
      for (const id of missing) if (this.view.hasMember(id) && !this.#probe(id)) this.#left(id);
    }, RESCAN_CONFIRM_MS).unref();
  }

  /** Leaves the bus with every endpoint: pending calls fail with Disconnected; names pass to the next in queue. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.names.close();
    this.network.off('message', this.#onMessage);
    this.network.off('join', this.#onJoin);
    this.network.off('leave', this.#onLeave);
    this.network.off('overrun', this.#onOverrun);
    this.network.off('rejected', this.#onRejected);
    this.network.off('error', this.#onError);
    this.network.off('drain', this.#onDrain);
    for (const ep of this.#endpoints.values()) {
      if (ep !== this.own) removeHostedFile(this.dir.liveDir, this.memberId, subOf(ep.endpointId));
    }
    if (this.monitors.size > 0 && this.network.backend === 'user') this.monitors.farewell();
    // Unlink our member lock before leaving: whoever sees the leave finds us
    // dead on disk too.
    this.#live.release();
    this.network.close();
    const endpoints = [...this.#endpoints.values()];
    this.#endpoints.clear();
    for (const ep of endpoints) ep.closed_();
    this.log.debug('disconnected');
  }
}
