// One command for the notifications example: a private bus, the service, the client.
//   node examples/notifications/run.mjs
import { fileURLToPath } from 'node:url';
import { runExample } from '../lib/private-bus.mjs';

const here = (f) => fileURLToPath(new URL(f, import.meta.url));

await runExample('notifications', async (bus) => {
  const service = bus.start('service', here('./service.mjs'));
  await service.waitFor(/^ready:/);
  const client = bus.start('client', here('./client.mjs'));
  const code = await client.exited;
  if (code !== 0) throw new Error(`client exited with ${code}`);
  console.log('done: both notifications delivered and closed as expected');
});
