// The desktop notifications interface (org.freedesktop.Notifications, spec 1.2),
// declared once and shared by the service and its clients.
import { defineInterface } from 'ipnbus';

export const NOTIFICATIONS_NAME = 'org.freedesktop.Notifications';
export const NOTIFICATIONS_PATH = '/org/freedesktop/Notifications';

export const Notifications = defineInterface('org.freedesktop.Notifications', {
  methods: {
    Notify: {
      in: [['app_name', 's'], ['replaces_id', 'u'], ['app_icon', 's'], ['summary', 's'], ['body', 's'],
        ['actions', 'as'], ['hints', 'a{sv}'], ['expire_timeout', 'i']],
      out: [['id', 'u']],
    },
    CloseNotification: { in: [['id', 'u']] },
    GetCapabilities: { out: [['capabilities', 'as']] },
    GetServerInformation: { out: [['name', 's'], ['vendor', 's'], ['version', 's'], ['spec_version', 's']] },
  },
  signals: {
    NotificationClosed: [['id', 'u'], ['reason', 'u']],
    ActionInvoked: [['id', 'u'], ['action_key', 's']],
  },
});

/** Reasons of NotificationClosed, from the specification. */
export const CLOSE_REASONS = { 1: 'expired', 2: 'dismissed by the user', 3: 'closed by CloseNotification', 4: 'undefined' };
