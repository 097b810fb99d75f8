// The baseline client: dbus-next over a private dbus-daemon or dbus-broker, used through its
// low-level Message API (the fastest path dbus-next offers, so the baseline is not weakened).
import { sessionBus, Message, MessageType, type MessageBus } from 'dbus-next';
import {
  BENCH_IFACE, BENCH_METHOD, BENCH_PATH, BENCH_SERVICE, BENCH_SIGNAL, TICK_MATCH, TICK_SIGNATURE,
  type BenchClient,
} from './client.js';
import type { Backend } from './protocol.js';

export async function connectDbusNext(address: string, kind: Backend): Promise<BenchClient> {
  const bus: MessageBus = sessionBus({ busAddress: address });
  // Hello must complete before the bus is usable; dbus-next emits 'connect' then.
  await new Promise<void>((resolve, reject) => {
    bus.once('connect', () => resolve());
    bus.once('error', reject);
  });
  const busCall = (member: string, signature: string, body: unknown[]) =>
    bus.call(new Message({
      destination: 'org.freedesktop.DBus', path: '/org/freedesktop/DBus',
      interface: 'org.freedesktop.DBus', member, signature, body,
    }));
  // The socket stream behind the bus, reached for flush(); dbus-next keeps it internal.
  const stream = (bus as unknown as { _connection: { stream: NodeJS.WritableStream & { writableLength: number } } })._connection.stream;

  return {
    kind,
    async subscribe(onTick) {
      bus.on('message', (msg: Message) => {
        if (msg.type === MessageType.SIGNAL && msg.member === BENCH_SIGNAL && msg.interface === BENCH_IFACE) {
          onTick(msg.body[0] as bigint, (msg.body[1] as string).length);
        }
      });
      await busCall('AddMatch', 's', [TICK_MATCH]);
    },
    emitTick(stamp, payload) {
      bus.send(new Message({
        type: MessageType.SIGNAL, path: BENCH_PATH, interface: BENCH_IFACE, member: BENCH_SIGNAL,
        signature: TICK_SIGNATURE, body: [stamp, payload],
      }));
    },
    async serveEcho() {
      bus.addMethodHandler((msg: Message) => {
        if (msg.member !== BENCH_METHOD || msg.interface !== BENCH_IFACE) return false;
        bus.send(Message.newMethodReturn(msg, 's', [msg.body[0]]));
        return true;
      });
      const reply = await busCall('RequestName', 'su', [BENCH_SERVICE, 4 /* DO_NOT_QUEUE */]);
      if (reply?.body[0] !== 1) throw new Error(`could not own ${BENCH_SERVICE}: reply ${String(reply?.body[0])}`);
    },
    async callEcho(arg) {
      await bus.call(new Message({
        destination: BENCH_SERVICE, path: BENCH_PATH, interface: BENCH_IFACE, member: BENCH_METHOD,
        signature: 's', body: [arg],
      }));
    },
    async flush() {
      while (stream.writableLength > 0) await new Promise((r) => setTimeout(r, 1));
    },
    close() {
      bus.disconnect();
    },
  };
}
