// Opening a bus connection for a verb: the global --address and --verbose applied in one place.
import { pino, type Logger } from 'pino';
import { connect, type Connection } from '../core/index.js';
import type { GlobalOptions } from './verb.js';

/** A logger for verbs: silent unless -v, and then to stderr so stdout stays parseable. */
export function cliLogger(globals: GlobalOptions): Logger {
  return pino({ level: globals.verbose ? 'debug' : 'silent' }, pino.destination(2));
}

export function openBus(globals: GlobalOptions, backend?: 'auto' | 'kernel' | 'user'): Promise<Connection> {
  return connect({
    ...(globals.address !== undefined ? { address: globals.address } : {}),
    ...(backend !== undefined ? { backend } : {}),
    logger: cliLogger(globals),
  });
}
