// One command for the pub/sub example: two dashboards and one sensor on a private bus.
//   node examples/pubsub/run.mjs
import { fileURLToPath } from 'node:url';
import { runExample } from '../lib/private-bus.mjs';

const here = (f) => fileURLToPath(new URL(f, import.meta.url));
const COUNT = 5; // readings per room; the sensor has two rooms

await runExample('pubsub', async (bus) => {
  const dashboards = [bus.start('dashboard-1', here('./dashboard.mjs'), [String(COUNT * 2)]),
    bus.start('dashboard-2', here('./dashboard.mjs'), [String(COUNT * 2)])];
  await Promise.all(dashboards.map((d) => d.waitFor(/^subscribed/)));
  const sensor = bus.start('sensor', here('./sensor.mjs'), [String(COUNT), '50']);
  if ((await sensor.exited) !== 0) throw new Error('sensor failed');
  const codes = await Promise.all(dashboards.map((d) => Promise.race([
    d.exited,
    new Promise((r) => setTimeout(() => r('timeout'), 10_000)),
  ])));
  if (codes.some((c) => c !== 0)) throw new Error(`dashboards ended with ${codes.join(', ')}`);
  console.log(`done: both dashboards received all ${COUNT * 2} readings`);
});
