// A typed definition of org.freedesktop.DBus (answered by core in every
// connection), so NameOwnerChanged & co. are typed events on a proxy.
import { BUS_INTERFACE } from '../core/constants.js';
import { defineInterface } from './define-interface.js';

export const FreedesktopDBus = defineInterface(BUS_INTERFACE, {
  methods: {
    Hello: { out: 's' },
    RequestName: { in: [['name', 's'], ['flags', 'u']], out: 'u' },
    ReleaseName: { in: [['name', 's']], out: 'u' },
    StartServiceByName: { in: [['name', 's'], ['flags', 'u']], out: 'u' },
    UpdateActivationEnvironment: { in: [['environment', 'a{ss}']] },
    NameHasOwner: { in: [['name', 's']], out: 'b' },
    ListNames: { out: 'as' },
    ListActivatableNames: { out: 'as' },
    AddMatch: { in: [['rule', 's']] },
    RemoveMatch: { in: [['rule', 's']] },
    GetNameOwner: { in: [['name', 's']], out: 's' },
    ListQueuedOwners: { in: [['name', 's']], out: 'as' },
    GetConnectionUnixUser: { in: [['name', 's']], out: 'u' },
    GetConnectionUnixProcessID: { in: [['name', 's']], out: 'u' },
    GetAdtAuditSessionData: { in: [['name', 's']], out: 'ay' },
    GetConnectionSELinuxSecurityContext: { in: [['name', 's']], out: 'ay' },
    GetConnectionCredentials: { in: [['name', 's']], out: 'a{sv}' },
    ReloadConfig: {},
    GetId: { out: 's' },
  },
  signals: {
    NameOwnerChanged: [['name', 's'], ['old_owner', 's'], ['new_owner', 's']],
    NameLost: [['name', 's']],
    NameAcquired: [['name', 's']],
  },
  properties: { Features: { type: 'as' }, Interfaces: { type: 'as' } },
});

// The driver's name and path are core's constants under the API's names.
export { BUS_NAME as BUS_DRIVER_NAME, BUS_PATH as BUS_DRIVER_PATH } from '../core/constants.js';
