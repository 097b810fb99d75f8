// The setup the call tests share: a fresh bus, this process connected to
// it, a member process serving org.example.Server, and a scratch directory.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import { BACKEND, freshBus, type TestBus } from './bus.js';
import { Member } from './member.js';
import { until } from './until.js';
import { connect, type Connection } from '../../../src/core/index.js';

export interface ServerFixture {
  bus: TestBus;
  me: Connection;
  server: Member;
  scratch: string;
  close(): Promise<void>;
}

/** Starts the fixture; resolves once this process sees the server own its name. */
export async function startServerFixture(label: string): Promise<ServerFixture> {
  const bus = freshBus(label);
  const scratch = mkdtempSync(join(tmpdir(), `ipnbus-${label}-`));
  const me = await connect({ address: bus.address, backend: BACKEND });
  const server = await Member.start(bus.address);
  await server.do('serve');
  expect(await server.do('requestName', 'org.example.Server', 0)).toBe(1);
  // The announcement reaches us asynchronously.
  await until(() => me.getNameOwner('org.example.Server') !== undefined, 5000, 'the server name to be seen');
  return {
    bus,
    me,
    server,
    scratch,
    async close() {
      me.disconnect();
      await server.stop();
      bus.cleanup();
      rmSync(scratch, { recursive: true, force: true });
    },
  };
}
