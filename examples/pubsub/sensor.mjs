// Publishes plain JS values (readings) on topics: no interface to declare, no
// name to own; one broadcast per value reaches every subscriber.
//   node examples/pubsub/sensor.mjs [COUNT] [INTERVAL_MS]
import { openBus } from '../lib/bus.mjs';

const count = Number(process.argv[2] ?? 5);
const intervalMs = Number(process.argv[3] ?? 100);
const rooms = ['kitchen', 'garage'];

const bus = await openBus();
console.log(`publishing ${count} readings per room as ${bus.name}`);
for (let i = 1; i <= count; i++) {
  for (const room of rooms) {
    const reading = { room, celsius: Math.round((18 + Math.random() * 6) * 10) / 10, seq: i, at: new Date().toISOString() };
    bus.publish(`sensors.${room}`, reading);
  }
  await new Promise((r) => setTimeout(r, intervalMs));
}
console.log(`published ${count * rooms.length} readings`);
bus.disconnect();
