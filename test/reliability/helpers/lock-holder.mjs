// A process that holds an exclusive flock on a file until told to let go (a stuck or slow lock holder).
import { openSync, constants } from 'node:fs';
import { createRequire } from 'node:module';

const native = createRequire(import.meta.url)('@ipnbus/native');
const path = process.argv[2];
const fd = openSync(path, constants.O_RDONLY | constants.O_CREAT, 0o644);
// Blocking on purpose: this process only holds the lock.
native.flock(fd, native.constants.LOCK_EX);
process.send({ type: 'held' });
process.on('message', (m) => {
  if (m.type !== 'release') return;
  native.flock(fd, native.constants.LOCK_UN);
  process.send({ type: 'released', at: Date.now() });
  setImmediate(() => process.exit(0));
});
process.on('disconnect', () => process.exit(0));
