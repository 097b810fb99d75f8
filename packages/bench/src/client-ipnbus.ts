// The ipnbus side of the benchmark: a core Connection joined to a private bus,
// driven exactly like the dbus-next baseline.
import { once } from 'node:events';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { connectRaw as connect, type Message } from 'ipnbus';
import {
  BENCH_IFACE, BENCH_METHOD, BENCH_PATH, BENCH_SERVICE, BENCH_SIGNAL, TICK_MATCH, TICK_SIGNATURE,
  type BenchClient,
} from './client.js';

// D-Bus message type codes from the specification.
const METHOD_CALL = 1;
const SIGNAL = 4;

export async function connectIpnbus(address: string, backend: 'auto' | 'kernel' | 'user'): Promise<BenchClient> {
  const conn = await connect({ address, backend });
  return {
    kind: 'ipnbus',
    async subscribe(onTick) {
      conn.on('message', (msg: Message) => {
        if (msg.type === SIGNAL && msg.member === BENCH_SIGNAL && msg.interface === BENCH_IFACE) {
          onTick(msg.body[0] as bigint, (msg.body[1] as string).length);
        }
      });
      conn.addMatch(TICK_MATCH);
    },
    emitTick(stamp, payload) {
      conn.emitSignal(BENCH_PATH, BENCH_IFACE, BENCH_SIGNAL, TICK_SIGNATURE, [stamp, payload]);
    },
    async serveEcho() {
      conn.on('methodCall', ({ msg }: { msg: Message }) => {
        if (msg.type === METHOD_CALL && msg.member === BENCH_METHOD && msg.interface === BENCH_IFACE) {
          conn.reply(msg, 's', [msg.body[0]]);
        }
      });
      const code = await conn.requestName(BENCH_SERVICE, 4 /* DO_NOT_QUEUE */);
      if (code !== 1) throw new Error(`could not own ${BENCH_SERVICE}: reply ${code}`);
    },
    async callEcho(arg) {
      await conn.call({ destination: BENCH_SERVICE, path: BENCH_PATH, interface: BENCH_IFACE, member: BENCH_METHOD, signature: 's', body: [arg] });
    },
    async flush() {
      // Sends the transport had to queue (a receiver was full) leave on 'drain'.
      await yieldToLoop();
      while (conn.backpressured) await once(conn, 'drain');
    },
    close() {
      conn.disconnect();
    },
  };
}
