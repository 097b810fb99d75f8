// Subscribes to every sensor topic with a pattern and prints the values as they
// arrive; exits after EXPECT values (0 = run until Ctrl-C).
//   node examples/pubsub/dashboard.mjs [EXPECT]
import { openBus, exitOnSignals } from '../lib/bus.mjs';

const expect = Number(process.argv[2] ?? 0);
const bus = await openBus();
let seen = 0;
bus.subscribe('sensors.*', (reading, info) => {
  seen++;
  console.log(`${info.topic}: ${reading.celsius} C (reading ${reading.seq}, from ${info.sender})`);
  if (expect > 0 && seen >= expect) {
    console.log(`received all ${seen} readings`);
    bus.disconnect();
    process.exit(0);
  }
});
console.log(`subscribed to sensors.* as ${bus.name}`);
exitOnSignals(bus);
