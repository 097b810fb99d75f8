// One command for the device example: the thermostat service and a controller on a private bus.
//   node examples/device/run.mjs
import { fileURLToPath } from 'node:url';
import { runExample } from '../lib/private-bus.mjs';

const here = (f) => fileURLToPath(new URL(f, import.meta.url));

await runExample('device', async (bus) => {
  const device = bus.start('thermostat', here('./thermostat.mjs'));
  await device.waitFor(/^ready:/);
  const controller = bus.start('controller', here('./controller.mjs'), ['21']);
  const code = await controller.exited;
  if (code !== 0) throw new Error(`controller exited with ${code}`);
  console.log('done: properties read, target written, changes followed, method called');
});
