// The three sides of the pub/sub benchmark behind one interface, each used
// the way its documentation shows: ipnbus `bus.publish`/`bus.subscribe`,
// ipnbus raw D-Bus signals on a core connection, and ZeroMQ PUB/SUB. Every
// side carries the same bytes (a Buffer whose first 8 bytes are the send
// stamp) under the same topic.
import { once } from 'node:events';
import { setImmediate as yieldToLoop, setTimeout as sleep } from 'node:timers/promises';
import type { PubsubWorkerArgs } from './protocol.js';

export const TOPIC = 'bench.tick';
/** The raw-signal side's names (the pub/sub side derives its own from TOPIC). */
const SIGNAL_PATH = '/org/ipnbus/Bench';
const SIGNAL_IFACE = 'org.ipnbus.Bench';
const SIGNAL_MEMBER = 'Tick';
const SIGNAL_TYPE = 4; // D-Bus message type SIGNAL

/** The longest a publisher waits for one full receiver before sending on (what it then loses is counted). */
const DRAIN_WAIT_MS = 2000;

/**
 * Waits until the connection no longer reports backpressure: woken by
 * 'drain', re-checked every 10 ms as well (the flag also covers the end-of-
 * turn batch, whose state changes without an event), for at most DRAIN_WAIT_MS.
 */
async function untilDrained(conn: import('ipnbus').Connection): Promise<void> {
  const end = Date.now() + DRAIN_WAIT_MS;
  while (conn.backpressured && Date.now() < end) {
    const ac = new AbortController();
    await Promise.race([once(conn, 'drain', { signal: ac.signal }).catch(() => undefined), sleep(10)]);
    ac.abort();
  }
}

export interface PubsubClient {
  /** Receive every message of TOPIC; resolves once this member follows it. */
  subscribe(onPayload: (payload: Uint8Array) => void): Promise<void>;
  /** Send one payload; a promise when the client must not be called again before it settles (ZeroMQ). */
  send(payload: Buffer): void | Promise<void>;
  /**
   * A promise when a receiver is full and the side asks its publisher to wait
   * (ipnbus, lossless: past its bound a receiver loses broadcasts); ZeroMQ
   * with no high-water mark never asks (its send() is awaited anyway).
   */
  whenFull(): Promise<void> | undefined;
  /** Resolves once everything sent has left this process's queues. */
  flush(): Promise<void>;
  close(): Promise<void>;
}

/** whenFull() and flush() of an ipnbus side: both follow the connection's backpressure flag. */
function backpressureOf(conn: import('ipnbus').Connection): Pick<PubsubClient, 'whenFull' | 'flush'> {
  return {
    whenFull() {
      return conn.backpressured ? untilDrained(conn) : undefined;
    },
    async flush() {
      await yieldToLoop();
      while (conn.backpressured) await once(conn, 'drain');
    },
  };
}


async function publishSide(address: string): Promise<PubsubClient> {
  const { connect } = await import('ipnbus');
  const bus = await connect({ address });
  // connect() wraps a core Connection; its backpressure flag is what flush() waits on.
  const conn = bus.connection as unknown as import('ipnbus').Connection;
  return {
    async subscribe(onPayload) {
      const sub = bus.subscribe<Uint8Array>(TOPIC, (value) => onPayload(value));
      await sub.synced();
    },
    send(payload) {
      bus.publish(TOPIC, payload);
    },
    ...backpressureOf(conn),
    async close() {
      bus.disconnect();
    },
  };
}

async function signalSide(address: string): Promise<PubsubClient> {
  const { connectRaw } = await import('ipnbus');
  const conn = await connectRaw({ address });
  return {
    async subscribe(onPayload) {
      conn.on('message', (msg) => {
        if (msg.type === SIGNAL_TYPE && msg.member === SIGNAL_MEMBER && msg.interface === SIGNAL_IFACE) {
          onPayload(msg.body[0] as Uint8Array);
        }
      });
      conn.addMatch(`type='signal',interface='${SIGNAL_IFACE}',member='${SIGNAL_MEMBER}'`);
      await conn.settle();
    },
    send(payload) {
      conn.emitSignal(SIGNAL_PATH, SIGNAL_IFACE, SIGNAL_MEMBER, 'ay', [payload]);
    },
    ...backpressureOf(conn),
    async close() {
      conn.disconnect();
    },
  };
}

/**
 * ZeroMQ v6: PUB binds, SUB connects and subscribes to the topic frame.
 * Both high-water marks are 0 (no limit), so PUB queues instead of dropping;
 * the runner still counts what arrived.
 */
async function zmqSide(address: string, role: PubsubWorkerArgs['role']): Promise<PubsubClient> {
  const zmq = await import('zeromq');
  if (role === 'pub') {
    const pub = new zmq.Publisher({ sendHighWaterMark: 0, linger: 0 });
    await pub.bind(address);
    const topic = Buffer.from(TOPIC);
    return {
      async subscribe() {
        throw new Error('a publisher does not subscribe');
      },
      send(payload) {
        return pub.send([topic, payload]);
      },
      whenFull: () => undefined,
      async flush() {
        // send() resolved means libzmq holds the message; its I/O thread writes it.
      },
      async close() {
        pub.close();
      },
    };
  }
  const sub = new zmq.Subscriber({ receiveHighWaterMark: 0, linger: 0 });
  sub.connect(address);
  sub.subscribe(TOPIC);
  return {
    async subscribe(onPayload) {
      void (async () => {
        for await (const frames of sub) onPayload(frames[1]!);
      })().catch((err: unknown) => {
        // Closing the socket ends the loop with an error; anything else is a failure.
        if (!sub.closed) process.send?.({ t: 'error', message: String((err as Error)?.stack ?? err) });
      });
      // Whether the subscription reached the publisher is only known when a
      // message arrives: the runner's join handshake (probes) waits for that.
    },
    send() {
      throw new Error('a subscriber does not send');
    },
    whenFull: () => undefined,
    async flush() {},
    async close() {
      sub.close();
    },
  };
}

export async function openClient(args: PubsubWorkerArgs): Promise<PubsubClient> {
  switch (args.side) {
    case 'publish':
      return publishSide(args.address);
    case 'signal':
      return signalSide(args.address);
    case 'zmq':
      return zmqSide(args.address, args.role);
  }
}
