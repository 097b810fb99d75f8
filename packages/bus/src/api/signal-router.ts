// Signal subscriptions of one connection: each distinct filter becomes one
// match rule (reference-counted, removed with its last listener), and each
// received signal is handed to the subscriptions it matches.
import { MessageType, type Message } from '../wire/message.js';
import type { BusConnection } from './core-connection.js';

export interface SignalFilter {
  /** Bus name of the emitter, unique or well-known (matched against its current owner). */
  sender?: string;
  path?: string;
  /** The path itself or anything below it. */
  pathNamespace?: string;
  interface?: string;
  member?: string;
  arg0?: string;
}

export type SignalHandler = (msg: Message, fds: number[]) => void;

interface Subscription {
  filter: SignalFilter;
  rule: string;
  handler: SignalHandler;
}

/** The match rule text for a filter (values never hold quotes: they are D-Bus names). */
export function matchRuleFor(f: SignalFilter): string {
  const parts = ["type='signal'"];
  if (f.sender) parts.push(`sender='${f.sender}'`);
  if (f.path) parts.push(`path='${f.path}'`);
  if (f.pathNamespace) parts.push(`path_namespace='${f.pathNamespace}'`);
  if (f.interface) parts.push(`interface='${f.interface}'`);
  if (f.member) parts.push(`member='${f.member}'`);
  if (f.arg0 !== undefined) parts.push(`arg0='${f.arg0.replace(/'/g, "'\\''")}'`);
  return parts.join(',');
}

export class SignalRouter {
  /**
   * Replaced, never changed in place: route() walks the array it read while
   * handlers subscribe and unsubscribe, and a message costs no copy
   * (subscriptions change rarely, signals arrive at up to ~10^5/s).
   */
  private subs: readonly Subscription[] = [];
  private readonly rules = new Map<string, number>();
  private readonly onMessage = (msg: Message, fds: number[]): void => this.route(msg, fds);

  constructor(private readonly conn: BusConnection) {
    conn.on('message', this.onMessage);
  }

  /** Start delivering matching signals to `handler`; returns the unsubscribe function. */
  subscribe(filter: SignalFilter, handler: SignalHandler): () => void {
    const rule = matchRuleFor(filter);
    const n = this.rules.get(rule) ?? 0;
    if (n === 0) this.conn.addMatch(rule);
    this.rules.set(rule, n + 1);
    const sub: Subscription = { filter, rule, handler };
    this.subs = [...this.subs, sub];
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.subs = this.subs.filter((s) => s !== sub);
      const left = (this.rules.get(rule) ?? 1) - 1;
      if (left > 0) {
        this.rules.set(rule, left);
        return;
      }
      this.rules.delete(rule);
      try {
        this.conn.removeMatch(rule);
      } catch {
        // Already disconnected: the rule died with the connection.
      }
    };
  }

  /** Match rules currently held (for tests and diagnostics). */
  activeRules(): string[] {
    return [...this.rules.keys()];
  }

  close(): void {
    this.conn.off('message', this.onMessage);
    this.subs = [];
    this.rules.clear();
  }

  private route(msg: Message, fds: number[]): void {
    if (msg.type !== MessageType.SIGNAL) return;
    for (const s of this.subs) {
      if (!this.matches(s.filter, msg)) continue;
      try {
        s.handler(msg, fds);
      } catch (e) {
        // A throwing listener must not starve the others; surface it async.
        queueMicrotask(() => {
          throw e;
        });
      }
    }
  }

  private matches(f: SignalFilter, msg: Message): boolean {
    if (f.path && msg.path !== f.path) return false;
    if (f.pathNamespace) {
      const ns = f.pathNamespace;
      const p = msg.path ?? '';
      if (!(ns === '/' || p === ns || p.startsWith(ns + '/'))) return false;
    }
    if (f.interface && msg.interface !== f.interface) return false;
    if (f.member && msg.member !== f.member) return false;
    if (f.arg0 !== undefined && msg.body?.[0] !== f.arg0) return false;
    if (f.sender && msg.sender !== f.sender) {
      if (f.sender.startsWith(':') || this.conn.getNameOwner(f.sender) !== msg.sender) return false;
    }
    return true;
  }
}
