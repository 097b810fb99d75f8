// Typed D-Bus errors raised by the core, and the standard error names it uses.
import type { Message } from '../wire/index.js';

/** Error names from the D-Bus specification that the core produces. */
export const ErrorNames = {
  Failed: 'org.freedesktop.DBus.Error.Failed',
  NoMemory: 'org.freedesktop.DBus.Error.NoMemory',
  ServiceUnknown: 'org.freedesktop.DBus.Error.ServiceUnknown',
  NameHasNoOwner: 'org.freedesktop.DBus.Error.NameHasNoOwner',
  NoReply: 'org.freedesktop.DBus.Error.NoReply',
  Timeout: 'org.freedesktop.DBus.Error.Timeout',
  Disconnected: 'org.freedesktop.DBus.Error.Disconnected',
  InvalidArgs: 'org.freedesktop.DBus.Error.InvalidArgs',
  InvalidSignature: 'org.freedesktop.DBus.Error.InvalidSignature',
  UnknownMethod: 'org.freedesktop.DBus.Error.UnknownMethod',
  UnknownObject: 'org.freedesktop.DBus.Error.UnknownObject',
  UnknownInterface: 'org.freedesktop.DBus.Error.UnknownInterface',
  UnknownProperty: 'org.freedesktop.DBus.Error.UnknownProperty',
  PropertyReadOnly: 'org.freedesktop.DBus.Error.PropertyReadOnly',
  MatchRuleInvalid: 'org.freedesktop.DBus.Error.MatchRuleInvalid',
  MatchRuleNotFound: 'org.freedesktop.DBus.Error.MatchRuleNotFound',
  AccessDenied: 'org.freedesktop.DBus.Error.AccessDenied',
  NotSupported: 'org.freedesktop.DBus.Error.NotSupported',
  LimitsExceeded: 'org.freedesktop.DBus.Error.LimitsExceeded',
  InconsistentMessage: 'org.freedesktop.DBus.Error.InconsistentMessage',
  AdtAuditDataUnknown: 'org.freedesktop.DBus.Error.AdtAuditDataUnknown',
  SELinuxSecurityContextUnknown: 'org.freedesktop.DBus.Error.SELinuxSecurityContextUnknown',
  BadAddress: 'org.freedesktop.DBus.Error.BadAddress',
} as const;

/** What a DBusError may carry besides its name and text. */
export interface DBusErrorOptions {
  /** The ERROR message, when the error came over the bus. */
  reply?: Message;
  /** The lower-level error this one reports (a transport or file-system error). */
  cause?: unknown;
}

/**
 * A D-Bus error: `name` is the D-Bus error name (not "Error"), `reply` the
 * ERROR message when one came over the bus. Callers branch on `name`.
 */
export class DBusError extends Error {
  override name: string;
  reply?: Message;

  constructor(name: string, message: string, options: DBusErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = name;
    if (options.reply !== undefined) this.reply = options.reply;
  }

  /** Builds the error a caller sees for an ERROR reply message. */
  static fromReply(reply: Message): DBusError {
    const first = reply.body?.[0];
    const text = reply.signature?.startsWith('s') && typeof first === 'string' ? first : '';
    return new DBusError(reply.errorName ?? ErrorNames.Failed, text, { reply });
  }
}

/** The text of anything thrown, for logs and error messages. */
export function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
