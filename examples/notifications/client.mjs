// A notifications client: sends two notifications through a typed proxy, lets
// one expire and closes the other, and reports the NotificationClosed signals.
import { openBus } from '../lib/bus.mjs';
import { CLOSE_REASONS, Notifications, NOTIFICATIONS_NAME, NOTIFICATIONS_PATH } from './interface.mjs';

const bus = await openBus();
const notifications = bus.proxy(Notifications, NOTIFICATIONS_NAME, NOTIFICATIONS_PATH);

// Resolves when the service reports `id` closed; listening first so no signal is missed.
const closed = new Map();
notifications.on('NotificationClosed', (id, reason) => {
  console.log(`notification ${id} closed: ${CLOSE_REASONS[reason] ?? reason}`);
  closed.get(id)?.(reason);
});
const whenClosed = (id) => new Promise((resolve) => closed.set(id, resolve));

const [name, vendor, version, spec] = await notifications.GetServerInformation();
console.log(`server: ${name} ${version} (${vendor}), spec ${spec}; capabilities: ${(await notifications.GetCapabilities()).join(', ')}`);

const first = await notifications.Notify('example-client', 0, '', 'Hello', 'from a peer, no daemon in between', [], {}, 300);
console.log(`sent notification ${first} (expires in 300 ms)`);
const second = await notifications.Notify('example-client', 0, '', 'Meeting', 'in 5 minutes', ['ok', 'OK'], {}, 0);
console.log(`sent notification ${second} (never expires)`);

const expired = await whenClosed(first);
const closing = whenClosed(second);
await notifications.CloseNotification(second);
const byCall = await closing;
bus.disconnect();
process.exit(expired === 1 && byCall === 3 ? 0 : 1);
