// The one pino logger of the bus core: silent unless IPNBUS_LOG names a level.
import { pino, type Logger } from 'pino';

/**
 * Logs go to stderr so that programs printing results on stdout (the CLI,
 * examples) stay parseable. The level comes from IPNBUS_LOG (e.g. "debug");
 * by default nothing is written at all.
 */
export const logger: Logger = pino(
  { name: 'ipnbus', level: process.env.IPNBUS_LOG || 'silent' },
  pino.destination(2),
);

export type { Logger };

/**
 * A child of `log` carrying `bindings`, or `log` itself when it writes
 * nothing: pino serialises a child's bindings when it is made, a cost paid
 * per accepted client (two children each) by a gateway whose logs are off.
 */
export function childLogger(log: Logger, bindings: Record<string, unknown>): Logger {
  return log.level === 'silent' ? log : log.child(bindings);
}
