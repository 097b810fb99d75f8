// What a member receives, handed to its endpoints: records applied, Sync answered, a broadcast to each endpoint, a unicast to the one it names.
import type { IncomingMessage } from '@ipnbus/transport-ipn';
import { MessageFlags, MessageType, decodeMessageAt, encodeMessage, type DecodeOptions, type Message } from '../wire/index.js';
import { HOSTED_MEMBER, isAnnouncement, isSyncCall } from './announce.js';
import type { BusView } from './bus-view.js';
import type { Connection } from './connection.js';
import { ErrorNames, errorText } from './errors.js';
import { closeFds } from './fds.js';
import { applyHostedRecord, stampSender } from './hosted.js';
import type { Logger } from './logger.js';
import { isMonitorSignal, type Monitors } from './monitors.js';
import type { NameOwnership } from './name-ownership.js';
import type { SerialCounter } from './serial-counter.js';
import { memberOf } from './unique-name.js';

export interface MemberInboxInit {
  memberId: bigint;
  view: BusView;
  names: NameOwnership;
  /** The bus directory's live/ (hosted clients' files). */
  liveDir: string;
  /** The member's own endpoint: it answers Sync and hears of the transport's losses. */
  own: Connection;
  /** The member's endpoints by endpoint id (its own included); the member adds and removes them. */
  endpoints: ReadonlyMap<bigint, Connection>;
  /** The serials of the member's own messages (records, NoReply for a gone endpoint). */
  serials: SerialCounter;
  log: Logger;
  /** Has the member left the bus? */
  closed(): boolean;
  /** A hosted client of another member left (its record said so). */
  hostedLeft(id: bigint): void;
  /** Monitors on the bus (their announcements arrive here). */
  monitors: Monitors;
  /** Sends a message, encoded, to endpoint `target` (Member.transmit). */
  transmit(target: bigint, msg: Message, bytes: Buffer, fds: number[] | undefined, dest: string): void;
}

/** Byte arrays in a body are copied out, so a kept message does not pin the whole received block. */
const DECODE: DecodeOptions = { copyBytes: true };

export class MemberInbox {
  readonly #init: MemberInboxInit;

  constructor(init: MemberInboxInit) {
    this.#init = init;
  }

  /** A message the transport delivered to the member. */
  receive(m: IncomingMessage): void {
    const { view, log, own } = this.#init;
    if (this.#init.closed()) {
      closeFds(m.fds);
      return;
    }
    let msg: Message;
    try {
      msg = decodeMessageAt(m.block, m.offset, m.length, DECODE);
    } catch (e) {
      log.warn({ from: m.from.toString(), err: errorText(e) }, 'dropping an undecodable message');
      closeFds(m.fds);
      return;
    }
    msg.sender = stampSender(view, m.from, msg.sender);
    if (m.dropped > 0) own.transportDropped(m.dropped);
    if (isAnnouncement(msg)) {
      if (isMonitorSignal(msg)) return this.#init.monitors.receive(m.from, msg, m.fds);
      closeFds(m.fds);
      if (msg.member === HOSTED_MEMBER) {
        if (m.from !== this.#init.memberId) applyHostedRecord(view, this.#init.liveDir, m.from, msg, (id) => this.#init.hostedLeft(id));
      }
      else this.#init.names.noticeRecord(msg);
      return;
    }
    if (isSyncCall(msg)) {
      own.replySync(msg);
      return;
    }
    if ((msg.unixFds ?? 0) !== m.fds.length) {
      log.warn({ declared: msg.unixFds ?? 0, got: m.fds.length }, 'dropping a message whose fd count is wrong');
      closeFds(m.fds);
      return;
    }
    if (!m.unicast) {
      for (const ep of this.#init.endpoints.values()) ep.dispatch(msg, [], false);
      return;
    }
    // The transport shares one frozen empty array among messages without
    // fds; the application gets an array of its own.
    this.deliverUnicast(msg, m.fds.length > 0 ? m.fds : [], this.#destinationOf(msg));
  }

  /** The endpoint of ours a unicast is for (its destination's; the member itself for anything else). */
  #destinationOf(msg: Message): bigint {
    const { view, memberId } = this.#init;
    const dest = msg.destination;
    if (dest === undefined) return memberId;
    const id = dest.startsWith(':') ? view.endpointOf(dest) : view.resolve(dest);
    if (id !== undefined && memberOf(id) === memberId) return id;
    // A well-known name that has just moved on: a hosting member cannot
    // tell which of its endpoints meant it; a plain member has only itself.
    return this.#init.endpoints.size === 1 ? memberId : -1n;
  }

  /** A unicast for endpoint `target` of ours (from the transport, or from one of our own endpoints). */
  deliverUnicast(msg: Message, fds: number[], target: bigint): void {
    const ep = this.#init.endpoints.get(target);
    if (ep !== undefined && !this.#init.closed()) {
      ep.dispatch(msg, fds, true);
      return;
    }
    closeFds(fds);
    this.#unreachable(msg);
  }

  /**
   * A unicast for an endpoint of ours that is gone (a hosted client that
   * just left, or a sub-id never given out): a call gets NoReply, the
   * error a call to a vanished member gets, from the name it was sent to,
   * so the caller's pending call matches it.
   */
  #unreachable(msg: Message): void {
    const { view, own } = this.#init;
    if (msg.type !== MessageType.METHOD_CALL || msg.flags & MessageFlags.NO_REPLY_EXPECTED || msg.sender === undefined) return;
    const caller = view.endpointOf(msg.sender);
    if (caller === undefined) return;
    const dest = msg.destination ?? own.uniqueName;
    const reply: Message = {
      type: MessageType.ERROR,
      flags: MessageFlags.NO_REPLY_EXPECTED,
      serial: this.#init.serials.next(),
      replySerial: msg.serial,
      errorName: ErrorNames.NoReply,
      destination: msg.sender,
      sender: dest.startsWith(':') ? dest : own.uniqueName,
      signature: 's',
      body: [`${dest} left the bus before replying to ${msg.member ?? ''}`],
    };
    try {
      this.#init.transmit(caller, reply, encodeMessage(reply), undefined, msg.sender);
    } catch (e) {
      this.#init.log.debug({ to: msg.sender, err: errorText(e) }, 'could not tell a caller its callee left');
    }
  }
}
