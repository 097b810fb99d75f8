// A dbus-next client in its own process, driven like helpers/member.mjs (same IPC protocol), for dbus-daemon runs.
import dbus from 'dbus-next';

const { Message } = dbus;
const bus = dbus.sessionBus({ busAddress: process.env.DBUS_ADDRESS });

function send(m) {
  if (process.connected) process.send(m);
}

function driver(member, signature, body) {
  return bus.call(new Message({
    destination: 'org.freedesktop.DBus',
    path: '/org/freedesktop/DBus',
    interface: 'org.freedesktop.DBus',
    member,
    signature,
    body,
  }));
}

bus.on('message', (msg) => {
  if (msg.type !== 4) return;
  send({ type: 'message', msg: { type: 4, sender: msg.sender, interface: msg.interface, member: msg.member, body: msg.body }, fds: 0 });
});

const ops = {
  requestName: async (name, flags) => (await driver('RequestName', 'su', [name, flags])).body[0],
  addMatch: (rule) => driver('AddMatch', 's', [rule]).then(() => null),
};

process.on('message', async ({ id, op, args }) => {
  try {
    const result = await ops[op](...(args ?? []));
    send({ type: 'result', id, ok: true, result: result ?? null });
  } catch (e) {
    send({ type: 'result', id, ok: false, error: { name: e?.type ?? e?.name ?? 'Error', message: e?.text ?? e?.message ?? String(e), dbus: true } });
  }
});
process.on('disconnect', () => process.exit(0));
bus.on('connect', () => send({ type: 'ready', uniqueName: bus.name, pid: process.pid, busId: '' }));
