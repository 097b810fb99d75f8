// What an endpoint receives, handed to its application: replies to its calls, signals its rules match, method calls (the Peer interface answered here), each as an event a throwing listener cannot break.
import type { EventEmitter } from 'node:events';
import { MessageType, type Message } from '../wire/index.js';
import type { Calls } from './calls.js';
import { PEER_INTERFACE } from './constants.js';
import { ErrorNames, errorText } from './errors.js';
import { closeFds } from './fds.js';
import type { Logger } from './logger.js';

/** A METHOD_CALL addressed to this connection that the core does not answer itself. */
export interface IncomingCall {
  msg: Message;
  fds: number[];
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

export interface EndpointInboxInit {
  /** Where the events go: the Connection. */
  events: EventEmitter;
  stats: ConnectionStats;
  /** The endpoint's calls: replies settle them. */
  calls: Calls;
  log: Logger;
  /** Does a broadcast signal match one of the endpoint's rules? */
  wants(msg: Message): boolean;
  reply(call: Message, signature: string, body: unknown[]): void;
  replyError(call: Message, errorName: string, text: string): void;
  machineId(): string;
}

export class EndpointInbox {
  readonly #init: EndpointInboxInit;

  constructor(init: EndpointInboxInit) {
    this.#init = init;
  }

  /** Emits `event`; a throwing application handler must not break message dispatch. */
  emit(event: string, ...args: unknown[]): void {
    try {
      this.#init.events.emit(event, ...args);
    } catch (e) {
      this.#listenerThrew(event, e);
    }
  }

  /** Hands a message to the application as 'message' (once per message received: no rest arrays). */
  deliver(msg: Message, fds: number[]): void {
    this.#init.stats.delivered++;
    try {
      this.#init.events.emit('message', msg, fds);
    } catch (e) {
      this.#listenerThrew('message', e);
    }
  }

  #listenerThrew(event: string, e: unknown): void {
    const { events, log } = this.#init;
    log.error({ event, err: errorText(e) }, 'a listener threw');
    if (events.listenerCount('error') > 0 && event !== 'error') events.emit('error', e);
  }

  readonly #show = (msg: Message, fds: number[]): void => this.deliver(msg, fds);

  /** A message for this (open) endpoint: from its member, the transport, a local endpoint, or the bus driver. */
  dispatch(msg: Message, fds: number[], unicast: boolean): void {
    const { stats, calls } = this.#init;
    stats.received++;
    switch (msg.type) {
      case MessageType.METHOD_RETURN:
      case MessageType.ERROR:
        calls.reply(msg, fds, this.#show);
        return;
      case MessageType.SIGNAL:
        if (unicast || msg.destination !== undefined || this.#init.wants(msg)) this.deliver(msg, fds);
        else {
          stats.filtered++;
          closeFds(fds);
        }
        return;
      case MessageType.METHOD_CALL:
        this.deliver(msg, fds);
        this.#methodCall(msg, fds);
        return;
    }
  }

  #methodCall(msg: Message, fds: number[]): void {
    const { reply, replyError } = this.#init;
    if (msg.interface === PEER_INTERFACE) {
      if (msg.member === 'Ping') return reply(msg, '', []);
      if (msg.member === 'GetMachineId') return reply(msg, 's', [this.#init.machineId()]);
      return replyError(msg, ErrorNames.UnknownMethod, `org.freedesktop.DBus.Peer has no method ${msg.member}`);
    }
    if (this.#init.events.listenerCount('methodCall') > 0) {
      const call: IncomingCall = { msg, fds };
      this.emit('methodCall', call);
      return;
    }
    closeFds(fds);
    replyError(
      msg,
      ErrorNames.UnknownMethod,
      `No such method '${msg.member}' in interface '${msg.interface ?? ''}' at object path '${msg.path}'`,
    );
  }
}
