// connect()/sessionBus(): join the bus and get a MessageBus (the
// high-level handle); the core Connection stays reachable as bus.connection.
import { connect as connectCore, type ConnectOptions } from '../core/index.js';
import { MessageBus } from './message-bus.js';

export type { ConnectOptions };

/** Join (or create) the bus at `opts.address` (default: the session bus). */
export async function connect(opts: ConnectOptions = {}): Promise<MessageBus> {
  return new MessageBus(await connectCore(opts));
}

/** The session bus: $IPNBUS_ADDRESS, else $XDG_RUNTIME_DIR/ipnbus/session. */
export function sessionBus(opts: ConnectOptions = {}): Promise<MessageBus> {
  return connect(opts);
}
