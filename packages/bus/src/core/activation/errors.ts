// The D-Bus error names activation reports (the spec's and dbus-daemon's).
export const ActivationErrors = {
  ServiceUnknown: 'org.freedesktop.DBus.Error.ServiceUnknown',
  ExecFailed: 'org.freedesktop.DBus.Error.Spawn.ExecFailed',
  ChildExited: 'org.freedesktop.DBus.Error.Spawn.ChildExited',
  ChildSignaled: 'org.freedesktop.DBus.Error.Spawn.ChildSignaled',
  FileInvalid: 'org.freedesktop.DBus.Error.Spawn.FileInvalid',
  TimedOut: 'org.freedesktop.DBus.Error.TimedOut',
} as const;
