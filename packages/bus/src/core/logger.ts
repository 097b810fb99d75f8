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
 * A child of `log` carrying `bindings`, made when first used for a line
 * `log`'s level lets through; `log` itself when it writes nothing. pino
 * serialises a child's bindings when it is made, and a gateway makes two
 * per accepted client (its own and the client's Connection) while logging
 * nothing for most clients at its default level: making them was ~2% of
 * a short-lived client's CPU.
 */
export function childLogger(log: Logger, bindings: Record<string, unknown>): Logger {
  if (log.level === 'silent') return log;
  let child: Logger | undefined;
  return new Proxy(log, {
    get(target, prop) {
      // A level that writes nothing is pino's no-op: no child is needed to call it.
      if (child === undefined && typeof prop === 'string' && prop in target.levels.values && !target.isLevelEnabled(prop)) {
        return noop;
      }
      child ??= target.child(bindings);
      const v: unknown = Reflect.get(child, prop, child);
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(child) : v;
    },
  });
}

function noop(): void {}
