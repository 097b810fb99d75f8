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
} as const;

/**
 * A D-Bus error: `name` is the D-Bus error name (not "Error"), `reply` the
 * ERROR message when one came over the bus. Callers branch on `name`.
 */
export class DBusError extends Error {
  override name: string;
  reply?: Message;

  constructor(name: string, message: string, reply?: Message) {
    super(message);
    this.name = name;
    if (reply !== undefined) this.reply = reply;
  }

  /** Builds the error a caller sees for an ERROR reply message. */
  static fromReply(reply: Message): DBusError {
    const first = reply.body?.[0];
    const text = reply.signature?.startsWith('s') && typeof first === 'string' ? first : '';
    return new DBusError(reply.errorName ?? ErrorNames.Failed, text, reply);
  }
}
