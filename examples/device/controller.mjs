// A controller for the thermostat: reads all properties, raises the target,
// follows PropertiesChanged until the room is warm, then uses Boost.
//   node examples/device/controller.mjs [TARGET]
import { openBus } from '../lib/bus.mjs';
import { DEVICE_NAME, DEVICE_PATH, Thermostat } from './interface.mjs';

const wanted = Number(process.argv[2] ?? 21);
const bus = await openBus();
const thermostat = bus.proxy(Thermostat, DEVICE_NAME, DEVICE_PATH);

const all = await thermostat.getAllProperties();
console.log(`${all.Room}: ${all.Temperature} C, target ${all.Target} C, heating ${all.Heating ? 'on' : 'off'}`);

const warm = new Promise((resolve) => {
  thermostat.on('PropertiesChanged', (changed) => {
    for (const [k, v] of Object.entries(changed)) console.log(`changed: ${k} = ${v}`);
    if (typeof changed.Temperature === 'number' && changed.Temperature >= wanted) resolve(changed.Temperature);
  });
});
// Give the subscription a moment to be in force everywhere before acting.
await new Promise((r) => setTimeout(r, 100));
await thermostat.setProperty('Target', wanted);
console.log(`asked for ${wanted} C`);
const reached = await warm;
console.log(`reached ${reached} C`);
const boosted = await thermostat.Boost(1.5);
console.log(`boosted: target now ${boosted} C (read back: ${await thermostat.getProperty('Target')} C)`);
bus.disconnect();
process.exit(boosted === wanted + 1.5 ? 0 : 1);
