// A thermostat device interface: read-only Temperature and Heating, writable
// Target, a Boost method; property changes are announced with PropertiesChanged.
import { defineInterface } from 'ipnbus';

export const DEVICE_NAME = 'org.ipnbus.examples.Thermostat';
export const DEVICE_PATH = '/org/ipnbus/examples/Thermostat';

export const Thermostat = defineInterface('org.ipnbus.examples.Thermostat', {
  methods: {
    /** Heat at full power for a while whatever the target; returns the new Target. */
    Boost: { in: [['degrees', 'd']], out: [['target', 'd']] },
  },
  properties: {
    Temperature: { type: 'd', access: 'read' },
    Target: { type: 'd', access: 'readwrite' },
    Heating: { type: 'b', access: 'read' },
    Room: { type: 's', access: 'read', emitsChanged: 'const' },
  },
});
