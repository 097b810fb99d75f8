// Introspection data of the standard interfaces every object offers
// (Peer, Introspectable, Properties) and ObjectManager where enabled.
import { specToInfo } from './definition.js';
import type { InterfaceInfo } from './introspection.js';

export const PEER = specToInfo('org.freedesktop.DBus.Peer', {
  methods: { Ping: {}, GetMachineId: { out: [['machine_uuid', 's']] } },
});

export const INTROSPECTABLE = specToInfo('org.freedesktop.DBus.Introspectable', {
  methods: { Introspect: { out: [['xml_data', 's']] } },
});

export const PROPERTIES = specToInfo('org.freedesktop.DBus.Properties', {
  methods: {
    Get: { in: [['interface_name', 's'], ['property_name', 's']], out: [['value', 'v']] },
    GetAll: { in: [['interface_name', 's']], out: [['props', 'a{sv}']] },
    Set: { in: [['interface_name', 's'], ['property_name', 's'], ['value', 'v']] },
  },
  signals: { PropertiesChanged: [['interface_name', 's'], ['changed_properties', 'a{sv}'], ['invalidated_properties', 'as']] },
});

export const OBJECT_MANAGER = specToInfo('org.freedesktop.DBus.ObjectManager', {
  methods: { GetManagedObjects: { out: [['object_paths_interfaces_and_properties', 'a{oa{sa{sv}}}']] } },
  signals: {
    InterfacesAdded: [['object_path', 'o'], ['interfaces_and_properties', 'a{sa{sv}}']],
    InterfacesRemoved: [['object_path', 'o'], ['interfaces', 'as']],
  },
});

export const STANDARD_INTERFACES: ReadonlyMap<string, InterfaceInfo> = new Map(
  [PEER, INTROSPECTABLE, PROPERTIES, OBJECT_MANAGER].map((i) => [i.name, i]),
);
