// Numeric constants of the org.freedesktop.DBus interface (spec values).

/** RequestName flags. */
export const NameFlag = {
  ALLOW_REPLACEMENT: 0x1,
  REPLACE_EXISTING: 0x2,
  DO_NOT_QUEUE: 0x4,
} as const;

/** RequestName replies. */
export const RequestNameReply = {
  PRIMARY_OWNER: 1,
  IN_QUEUE: 2,
  EXISTS: 3,
  ALREADY_OWNER: 4,
} as const;

/** ReleaseName replies. */
export const ReleaseNameReply = {
  RELEASED: 1,
  NON_EXISTENT: 2,
  NOT_OWNER: 3,
} as const;

/** StartServiceByName replies. */
export const StartReply = {
  SUCCESS: 1,
  ALREADY_RUNNING: 2,
} as const;

export const BUS_NAME = 'org.freedesktop.DBus';
export const BUS_PATH = '/org/freedesktop/DBus';
export const BUS_INTERFACE = 'org.freedesktop.DBus';
export const PEER_INTERFACE = 'org.freedesktop.DBus.Peer';
export const PROPERTIES_INTERFACE = 'org.freedesktop.DBus.Properties';
export const INTROSPECTABLE_INTERFACE = 'org.freedesktop.DBus.Introspectable';
export const MONITORING_INTERFACE = 'org.freedesktop.DBus.Monitoring';

/** Default method call timeout, as dbus-daemon and libdbus use. */
export const DEFAULT_CALL_TIMEOUT_MS = 25_000;
