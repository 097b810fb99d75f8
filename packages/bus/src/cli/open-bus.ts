// Opening a bus connection for a verb: the global --address and --verbose applied in one place.
import { pino, type Logger } from 'pino';
import { connect, type Connection } from '../core/index.js';
import type { GlobalOptions } from './verb.js';

/**
 * A logger for verbs, on stderr so stdout stays parseable: debug with -v,
 * else the level IPNBUS_LOG names, else `quietLevel` (silent for one-shot
 * verbs; the gateway, a long-running server, says 'warn': a refused or
 * queued client must be visible to whoever runs it).
 */
export function cliLogger(globals: GlobalOptions, quietLevel: 'silent' | 'warn' = 'silent'): Logger {
  return pino({ level: globals.verbose ? 'debug' : process.env.IPNBUS_LOG || quietLevel }, pino.destination(2));
}

export function openBus(globals: GlobalOptions, backend?: 'auto' | 'kernel' | 'user'): Promise<Connection> {
  return connect({
    ...(globals.address !== undefined ? { address: globals.address } : {}),
    ...(backend !== undefined ? { backend } : {}),
    logger: cliLogger(globals),
  });
}
