// Plain pub/sub on the bus: JS values packed with msgpackr, carried as
// ordinary D-Bus signals (org.ipnbus.PubSub1.Message, body 'say' = topic +
// bytes) on the topic's path, so D-Bus tools can see them.
import { Packr } from 'msgpackr';
import { PEER_INTERFACE } from '../core/constants.js';
import type { Message } from '../wire/message.js';
import type { BusConnection } from './connection.js';
import type { SignalRouter } from './signal-router.js';
import { PUBSUB_INTERFACE, PUBSUB_MEMBER, PUBSUB_SIGNATURE, topicPatternToFilter, topicToPath } from './topic.js';

// Maps decode as objects; records off so every message is self-describing
// (a record structure would need state shared between processes). Dates,
// bigints (64-bit), Buffers, Maps, Sets and typed arrays survive the trip.
const packr = new Packr({ useRecords: false, moreTypes: true, int64AsType: 'bigint' });

export interface PublishInfo {
  /** The topic exactly as the publisher wrote it. */
  topic: string;
  /** Unique bus name of the publisher. */
  sender: string;
  /** The raw signal. */
  message: Message;
}

/** Calling it unsubscribes; `synced()` resolves once every current member
 *  follows the subscription (on the user backend rules reach publishers one
 *  hop later), so a publish made after it is sure to arrive. */
export interface Subscription {
  (): void;
  synced(): Promise<void>;
}

export type TopicHandler<T = unknown> = (value: T, info: PublishInfo) => void;

export interface SubscribeOptions {
  /** Called for a message on the topic that does not decode; default: dropped. */
  onError?: (err: Error, msg: Message) => void;
}

/** Encode a value as the publish() body bytes. */
export function packValue(value: unknown): Buffer {
  try {
    return packr.pack(value);
  } catch (e) {
    // Symbols, cyclic structures (stack overflow) and the like.
    throw new TypeError(`cannot publish this value: ${e instanceof Error ? e.message : String(e)}`);
  }
}

export function unpackValue(bytes: Buffer): unknown {
  return packr.unpack(bytes);
}

export class PubSub {
  constructor(
    private readonly conn: BusConnection,
    private readonly signals: SignalRouter,
  ) {}

  publish(topic: string, value: unknown): void {
    const path = topicToPath(topic);
    this.conn.emitSignal(path, PUBSUB_INTERFACE, PUBSUB_MEMBER, PUBSUB_SIGNATURE, [topic, packValue(value)]);
  }

  subscribe<T = unknown>(pattern: string, handler: TopicHandler<T>, opts: SubscribeOptions = {}): Subscription {
    if (typeof handler !== 'function') throw new TypeError('subscribe() needs a handler function');
    const filter = topicPatternToFilter(pattern);
    const off = this.signals.subscribe({ ...filter, interface: PUBSUB_INTERFACE, member: PUBSUB_MEMBER }, (msg) => {
      if (msg.signature !== PUBSUB_SIGNATURE) {
        opts.onError?.(new TypeError(`pub/sub message with signature '${msg.signature}', expected 'say'`), msg);
        return;
      }
      const [topic, bytes] = msg.body as [string, Buffer];
      let value: T;
      try {
        value = packr.unpack(bytes) as T;
      } catch (e) {
        opts.onError?.(e instanceof Error ? e : new Error(String(e)), msg);
        return;
      }
      handler(value, { topic, sender: msg.sender ?? '', message: msg });
    });
    return Object.assign(() => off(), { synced: () => this.syncAll() });
  }

  // Publishers can be any member, so syncing means a Ping round trip with
  // each one (in parallel); members that leave meanwhile do not matter.
  private async syncAll(): Promise<void> {
    const me = this.conn.uniqueName;
    const members = this.conn.listNames().filter((n) => n.startsWith(':') && n !== me);
    await Promise.all(
      members.map((m) =>
        this.conn
          .call({ destination: m, path: '/', interface: PEER_INTERFACE, member: 'Ping', signature: '', body: [] }, { timeoutMs: 5000 })
          .catch(() => undefined),
      ),
    );
  }
}
