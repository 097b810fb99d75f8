// Per-connection limits (dbus-daemon's names for them), their defaults, and the error a refusal gives.
import { DBusError, ErrorNames } from './errors.js';

/**
 * What one connection may hold at once. Defaults are dbus-daemon's session
 * bus values (/usr/share/dbus-1/session.conf): a runaway application hits
 * a clear error instead of growing every member's view or its own memory
 * without end. Messages are bounded separately, at the D-Bus maximum of
 * 128 MiB (the transport refuses larger ones: LimitsExceeded).
 */
export interface ConnectionLimits {
  /** Well-known names owned or queued for (max_names_per_connection). */
  maxNames: number;
  /** Match rules added and not removed, each AddMatch counted (max_match_rules_per_connection). */
  maxMatchRules: number;
  /** Method calls sent and still waiting for their reply (max_replies_per_connection). */
  maxPendingCalls: number;
  /**
   * User backend: bytes this member may hold for one receiver that is not
   * reading (the transport's peerQueueBytes). Past it that receiver loses
   * our signals, counted and reported to it ('dropped'), and calls to it
   * fail with LimitsExceeded. Per receiver, so N stopped receivers hold N
   * times this. The kernel backend ignores it: ipn.ko bounds each queue
   * (SO_RCVBUF) and frees senders from a stopped reader (stall rule).
   */
  peerQueueBytes: number;
  /**
   * Bytes all peers' unfinished fragmented messages may reserve in this
   * member together (the transport's reassemblyBytes, both backends). A
   * message announced larger than what is left is refused ('rejected').
   */
  reassemblyBytes: number;
}

export const DEFAULT_LIMITS: Readonly<ConnectionLimits> = Object.freeze({
  maxNames: 50_000,
  maxMatchRules: 50_000,
  maxPendingCalls: 50_000,
  peerQueueBytes: 16 * 1024 * 1024,
  reassemblyBytes: 256 * 1024 * 1024,
});

/** The limits core refuses requests by (the others bound the transport's memory). */
type RefusedLimit = 'maxNames' | 'maxMatchRules' | 'maxPendingCalls';

/** dbus-daemon's configuration name of each limit, used in error texts. */
const CONFIG_NAMES: Record<RefusedLimit, string> = {
  maxNames: 'max_names_per_connection',
  maxMatchRules: 'max_match_rules_per_connection',
  maxPendingCalls: 'max_replies_per_connection',
};

/** The defaults with `given` applied; InvalidArgs for anything but whole numbers >= 1 of known limits. */
export function resolveLimits(given: Partial<ConnectionLimits> = {}): ConnectionLimits {
  const out: ConnectionLimits = { ...DEFAULT_LIMITS };
  if (given === null || typeof given !== 'object') {
    throw new DBusError(ErrorNames.InvalidArgs, 'limits must be an object such as { maxNames: 512 }');
  }
  for (const [key, value] of Object.entries(given)) {
    if (!Object.hasOwn(DEFAULT_LIMITS, key)) {
      throw new DBusError(ErrorNames.InvalidArgs, `unknown limit '${key}' (known: ${Object.keys(DEFAULT_LIMITS).join(', ')})`);
    }
    if (value === undefined) continue;
    if (!Number.isSafeInteger(value) || (value as number) < 1) {
      throw new DBusError(ErrorNames.InvalidArgs, `limit ${key} must be a whole number >= 1, got ${String(value)}`);
    }
    out[key as keyof ConnectionLimits] = value as number;
  }
  return out;
}

/** The refusal when `what` would take this connection past `limit`. */
export function limitExceeded(limits: ConnectionLimits, limit: RefusedLimit, what: string): DBusError {
  return new DBusError(
    ErrorNames.LimitsExceeded,
    `${what}: the connection is at its limit of ${limits[limit]} (${limit}, dbus-daemon's ${CONFIG_NAMES[limit]})`,
  );
}
