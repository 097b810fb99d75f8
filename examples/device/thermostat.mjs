// The device service: a simulated thermostat whose temperature drifts toward its
// target; every change goes out as org.freedesktop.DBus.Properties.PropertiesChanged.
import { accessor } from 'ipnbus';
import { openBus, exitOnSignals } from '../lib/bus.mjs';
import { DEVICE_NAME, DEVICE_PATH, Thermostat } from './interface.mjs';

const bus = await openBus();
let target = 20;

const device = Thermostat.implement({
  Boost(degrees) {
    device.setProperty('Target', device.getProperty('Target') + degrees);
    return device.getProperty('Target');
  },
}, {
  properties: {
    Temperature: 19,
    Heating: false,
    Room: 'living room',
    // Computed: a remote Set lands here, and the heating reacts at once.
    Target: accessor(() => target, (v) => {
      target = v;
      console.log(`target set to ${v}`);
      device.setProperty('Heating', device.getProperty('Temperature') < v);
    }),
  },
});

bus.export(DEVICE_PATH, device);
if ((await bus.requestName(DEVICE_NAME, 4)) !== 1) {
  console.error(`${DEVICE_NAME} is already owned`);
  process.exit(1);
}

// The physics: half a degree per tick toward the target.
const timer = setInterval(() => {
  const t = device.getProperty('Temperature');
  if (Math.abs(t - target) < 0.25) return;
  const next = Math.round((t + Math.sign(target - t) * 0.5) * 10) / 10;
  device.setProperty('Temperature', next);
  const heating = next < target;
  if (heating !== device.getProperty('Heating')) device.setProperty('Heating', heating);
}, 100);

console.log(`ready: ${DEVICE_NAME} at ${DEVICE_PATH}, ${device.getProperty('Temperature')} C, target ${target} C`);
exitOnSignals(bus, () => clearInterval(timer));
