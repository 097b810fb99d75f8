// A desktop-notifications-style service: owns org.freedesktop.Notifications,
// "shows" notifications on stdout and closes them when they expire.
import { openBus, exitOnSignals } from '../lib/bus.mjs';
import { Notifications, NOTIFICATIONS_NAME, NOTIFICATIONS_PATH } from './interface.mjs';

const bus = await openBus();
const open = new Map(); // id -> expiry timer
let lastId = 0;

function close(id, reason) {
  clearTimeout(open.get(id));
  open.delete(id);
  service.emitSignal('NotificationClosed', id, reason);
}

const service = Notifications.implement({
  Notify(appName, replacesId, _icon, summary, body, actions, _hints, expireTimeout, ctx) {
    const id = replacesId !== 0 && open.has(replacesId) ? replacesId : ++lastId;
    clearTimeout(open.get(id));
    const who = ctx.credentials ? `pid ${ctx.credentials.pid}` : ctx.sender;
    console.log(`#${id} from ${appName} (${who}): ${summary} - ${body}${actions.length ? ` [actions: ${actions.join(', ')}]` : ''}`);
    // -1 means "server default"; 0 means "never expires".
    const ms = expireTimeout < 0 ? 3000 : expireTimeout;
    open.set(id, ms === 0 ? undefined : setTimeout(() => close(id, 1), ms));
    return id;
  },
  CloseNotification(id) {
    if (open.has(id)) close(id, 3);
  },
  GetCapabilities() {
    return ['body', 'actions'];
  },
  GetServerInformation() {
    return ['ipnbus-notifications-example', 'ipnbus', '0.1.0', '1.2'];
  },
});

bus.export(NOTIFICATIONS_PATH, service);
const reply = await bus.requestName(NOTIFICATIONS_NAME, 4 /* DO_NOT_QUEUE */);
if (reply !== 1) {
  console.error(`${NOTIFICATIONS_NAME} is already owned on this bus (reply ${reply})`);
  bus.disconnect();
  process.exit(1);
}
console.log(`ready: ${NOTIFICATIONS_NAME} at ${NOTIFICATIONS_PATH} as ${bus.name}`);
exitOnSignals(bus, () => open.forEach((t) => clearTimeout(t)));
