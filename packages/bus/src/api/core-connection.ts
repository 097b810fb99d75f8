// What the API needs from a core Connection, stated structurally so the API
// layer depends on the contract, not on the class (and tests can see it).
import type { EventEmitter } from 'node:events';
import type { CallOptions, IncomingCall } from '../core/connection.js';
import type { Message } from '../wire/message.js';

// The call shapes are core's own, re-exported (types only), so the two cannot drift apart.
export type { CallOptions, IncomingCall };

/**
 * The subset of core's Connection the API uses. Events: 'message' (msg,
 * fds), 'methodCall' (IncomingCall), 'disconnect', 'error'.
 */
export interface BusConnection extends EventEmitter {
  readonly uniqueName: string;
  send(msg: Partial<Message> & Pick<Message, 'type'>, fds?: number[]): number;
  call(
    msg: Partial<Message> & { destination: string; path: string; member: string },
    opts?: CallOptions,
  ): Promise<{ reply: Message; fds: number[] }>;
  reply(call: Message, signature: string, body: unknown[], fds?: number[]): void;
  replyError(call: Message, errorName: string, text: string): void;
  emitSignal(path: string, iface: string, member: string, signature: string, body: unknown[]): void;
  addMatch(rule: string): void;
  removeMatch(rule: string): void;
  requestName(name: string, flags?: number): Promise<number>;
  releaseName(name: string): Promise<number>;
  listNames(): string[];
  getNameOwner(name: string): string | undefined;
  getCredentials(uniqueName: string): { pid: number; uid: number; gid: number } | undefined;
  disconnect(): void;
}
