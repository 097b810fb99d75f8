// Fetching an object's introspection XML from the bus, for the verbs that print or compile it.
import { DEFAULT_CALL_TIMEOUT_MS, INTROSPECTABLE_INTERFACE } from '../core/constants.js';
import { openBus } from './open-bus.js';
import type { GlobalOptions } from './verb.js';

/** Calls Introspect on `dest` at `path` over a connection of its own, closed afterwards. */
export async function fetchIntrospection(
  globals: GlobalOptions, dest: string, path: string, timeoutMs = DEFAULT_CALL_TIMEOUT_MS,
): Promise<string> {
  const conn = await openBus(globals);
  try {
    const { reply } = await conn.call({
      destination: dest, path, interface: INTROSPECTABLE_INTERFACE, member: 'Introspect', signature: '', body: [],
    }, { timeoutMs });
    return String(reply.body[0] ?? '');
  } finally {
    conn.disconnect();
  }
}
