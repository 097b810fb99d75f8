// org.freedesktop.DBus answered inside the connection, from the replicated view.
import { Variant, isValidBusName, type Message } from '../wire/index.js';
import type { BusView } from './bus-view.js';
import {
  BUS_INTERFACE,
  BUS_NAME,
  INTROSPECTABLE_INTERFACE,
  MONITORING_INTERFACE,
  PEER_INTERFACE,
  PROPERTIES_INTERFACE,
  StartReply,
} from './constants.js';
import { DEBUG_STATS_INTERFACE as DBUS_STATS, debugStats, type StatsHost } from './debug-stats.js';
import { DBusError, ErrorNames } from './errors.js';


/** What the driver needs from its connection. */
export interface DriverHost extends StatsHost {
  readonly uniqueName: string;
  /** This endpoint's id (unique-name.ts). */
  readonly endpointId: bigint;
  readonly busId: string;
  readonly view: BusView;
  machineId(): string;
  requestName(name: string, flags: number): Promise<number>;
  releaseName(name: string): Promise<number>;
  addMatch(rule: string): void;
  /** Waits until every member applies our current filter (see Connection.settle). */
  settle(): Promise<void>;
  removeMatch(rule: string): void;
  getCredentials(name: string): { pid: number; uid: number; gid: number } | undefined;
  /** BecomeMonitor, before its reply (see Connection.startMonitoring). */
  startMonitoring(rules: string[]): void;
  /** BecomeMonitor, after its reply (see Connection.monitorReplied). */
  monitorReplied(): void;
  /** Starts `name` from its .service file unless owned: StartReply.SUCCESS or ALREADY_RUNNING. */
  startService(name: string): Promise<number>;
  listActivatableNames(): Promise<string[]>;
  updateActivationEnvironment(vars: Record<string, string>): Promise<void>;
}

export interface DriverReply {
  signature: string;
  body: unknown[];
  /** BecomeMonitor: after the reply, DriverHost.monitorReplied(). */
  becameMonitor?: true;
}

const NONE: DriverReply = { signature: '', body: [] };

/** Properties of org.freedesktop.DBus (spec: both read-only 'as'). */
const BUS_PROPERTIES: Record<string, () => Variant> = {
  // No optional feature is offered: no header filtering, no activation.
  Features: () => new Variant('as', []),
  // Extra interfaces of the bus object beyond org.freedesktop.DBus.
  Interfaces: () => new Variant('as', [MONITORING_INTERFACE, DBUS_STATS]),
};

export const BUS_INTROSPECTION = `<!DOCTYPE node PUBLIC "-//freedesktop//DTD D-BUS Object Introspection 1.0//EN"
"http://www.freedesktop.org/standards/dbus/1.0/introspect.dtd">
<node>
  <interface name="org.freedesktop.DBus">
    <method name="Hello"><arg direction="out" type="s"/></method>
    <method name="RequestName"><arg direction="in" type="s"/><arg direction="in" type="u"/><arg direction="out" type="u"/></method>
    <method name="ReleaseName"><arg direction="in" type="s"/><arg direction="out" type="u"/></method>
    <method name="StartServiceByName"><arg direction="in" type="s"/><arg direction="in" type="u"/><arg direction="out" type="u"/></method>
    <method name="UpdateActivationEnvironment"><arg direction="in" type="a{ss}"/></method>
    <method name="NameHasOwner"><arg direction="in" type="s"/><arg direction="out" type="b"/></method>
    <method name="ListNames"><arg direction="out" type="as"/></method>
    <method name="ListActivatableNames"><arg direction="out" type="as"/></method>
    <method name="AddMatch"><arg direction="in" type="s"/></method>
    <method name="RemoveMatch"><arg direction="in" type="s"/></method>
    <method name="GetNameOwner"><arg direction="in" type="s"/><arg direction="out" type="s"/></method>
    <method name="ListQueuedOwners"><arg direction="in" type="s"/><arg direction="out" type="as"/></method>
    <method name="GetConnectionUnixUser"><arg direction="in" type="s"/><arg direction="out" type="u"/></method>
    <method name="GetConnectionUnixProcessID"><arg direction="in" type="s"/><arg direction="out" type="u"/></method>
    <method name="GetAdtAuditSessionData"><arg direction="in" type="s"/><arg direction="out" type="ay"/></method>
    <method name="GetConnectionSELinuxSecurityContext"><arg direction="in" type="s"/><arg direction="out" type="ay"/></method>
    <method name="GetConnectionCredentials"><arg direction="in" type="s"/><arg direction="out" type="a{sv}"/></method>
    <method name="ReloadConfig"/>
    <method name="GetId"><arg direction="out" type="s"/></method>
    <signal name="NameOwnerChanged"><arg type="s"/><arg type="s"/><arg type="s"/></signal>
    <signal name="NameLost"><arg type="s"/></signal>
    <signal name="NameAcquired"><arg type="s"/></signal>
    <property name="Features" type="as" access="read"/>
    <property name="Interfaces" type="as" access="read"/>
  </interface>
  <interface name="org.freedesktop.DBus.Monitoring">
    <method name="BecomeMonitor"><arg direction="in" type="as"/><arg direction="in" type="u"/></method>
  </interface>
  <interface name="org.freedesktop.DBus.Debug.Stats">
    <method name="GetStats"><arg direction="out" type="a{sv}"/></method>
    <method name="GetConnectionStats"><arg direction="in" type="s"/><arg direction="out" type="a{sv}"/></method>
  </interface>
  <interface name="org.freedesktop.DBus.Properties">
    <method name="Get"><arg direction="in" type="s"/><arg direction="in" type="s"/><arg direction="out" type="v"/></method>
    <method name="GetAll"><arg direction="in" type="s"/><arg direction="out" type="a{sv}"/></method>
    <method name="Set"><arg direction="in" type="s"/><arg direction="in" type="s"/><arg direction="in" type="v"/></method>
  </interface>
  <interface name="org.freedesktop.DBus.Introspectable">
    <method name="Introspect"><arg direction="out" type="s"/></method>
  </interface>
  <interface name="org.freedesktop.DBus.Peer">
    <method name="Ping"/>
    <method name="GetMachineId"><arg direction="out" type="s"/></method>
  </interface>
</node>
`;

function args(msg: Message, signature: string): unknown[] {
  if (msg.signature !== signature) {
    throw new DBusError(
      ErrorNames.InvalidArgs,
      `Call to ${msg.member} has wrong args (${msg.signature || 'none'}, expected ${signature || 'none'})`,
    );
  }
  return msg.body;
}

/** The unique owner of `name` or NameHasNoOwner, as GetNameOwner and friends need. */
function ownerOrThrow(host: DriverHost, name: string): string {
  if (!isValidBusName(name) && name !== BUS_NAME) {
    throw new DBusError(ErrorNames.InvalidArgs, `'${name}' is not a valid bus name`);
  }
  const owner = host.view.ownerOf(name);
  if (owner === undefined) {
    throw new DBusError(ErrorNames.NameHasNoOwner, `Could not get owner of name '${name}': no such name`);
  }
  return owner;
}

function credsOrThrow(host: DriverHost, name: string): { pid: number; uid: number; gid: number } {
  ownerOrThrow(host, name);
  if (name === BUS_NAME) return { pid: process.pid, uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 };
  const creds = host.getCredentials(name);
  if (creds === undefined) {
    throw new DBusError(ErrorNames.NameHasNoOwner, `Could not get credentials of '${name}'`);
  }
  return creds;
}

function one(signature: string, value: unknown): DriverReply {
  return { signature, body: [value] };
}

/**
 * Answers one METHOD_CALL addressed to org.freedesktop.DBus. Throws
 * DBusError for errors the caller must see as ERROR replies.
 */
export async function handleBusCall(host: DriverHost, msg: Message): Promise<DriverReply> {
  const iface = msg.interface;
  const member = msg.member ?? '';
  if (iface === PEER_INTERFACE) {
    if (member === 'Ping') return (args(msg, ''), NONE);
    if (member === 'GetMachineId') return (args(msg, ''), one('s', host.machineId()));
  } else if (iface === INTROSPECTABLE_INTERFACE) {
    if (member === 'Introspect') return (args(msg, ''), one('s', BUS_INTROSPECTION));
  } else if (iface === PROPERTIES_INTERFACE) {
    return properties(msg, member);
  } else if (iface === MONITORING_INTERFACE) {
    if (member === 'BecomeMonitor') {
      const [rules] = args(msg, 'asu') as [string[], number];
      host.startMonitoring(rules);
      return { ...NONE, becameMonitor: true };
    }
  } else if (iface === DBUS_STATS) {
    return debugStats(host, msg, member);
  } else if (iface === undefined || iface === BUS_INTERFACE) {
    return busMethod(host, msg, member);
  } else {
    throw new DBusError(ErrorNames.UnknownInterface, `org.freedesktop.DBus does not understand interface ${iface}`);
  }
  throw new DBusError(ErrorNames.UnknownMethod, `${iface}.${member} is not a method of org.freedesktop.DBus`);
}

function properties(msg: Message, member: string): DriverReply {
  if (member === 'Get') {
    const [iface, prop] = args(msg, 'ss') as [string, string];
    const get = iface === BUS_INTERFACE ? BUS_PROPERTIES[prop] : undefined;
    if (get === undefined) throw new DBusError(ErrorNames.UnknownProperty, `no property ${iface}.${prop}`);
    return one('v', get());
  }
  if (member === 'GetAll') {
    const [iface] = args(msg, 's') as [string];
    const all: Record<string, Variant> = {};
    if (iface === BUS_INTERFACE || iface === '') for (const [k, get] of Object.entries(BUS_PROPERTIES)) all[k] = get();
    return one('a{sv}', all);
  }
  if (member === 'Set') {
    const [iface, prop] = args(msg, 'ssv') as [string, string];
    if (iface === BUS_INTERFACE && BUS_PROPERTIES[prop] !== undefined) {
      throw new DBusError(ErrorNames.PropertyReadOnly, `${iface}.${prop} is read-only`);
    }
    throw new DBusError(ErrorNames.UnknownProperty, `no property ${iface}.${prop}`);
  }
  throw new DBusError(ErrorNames.UnknownMethod, `org.freedesktop.DBus.Properties has no method ${member}`);
}

async function busMethod(host: DriverHost, msg: Message, member: string): Promise<DriverReply> {
  switch (member) {
    case 'Hello':
      args(msg, '');
      return one('s', host.uniqueName);
    case 'RequestName': {
      const [name, flags] = args(msg, 'su') as [string, number];
      return one('u', await host.requestName(name, flags));
    }
    case 'ReleaseName': {
      const [name] = args(msg, 's') as [string];
      return one('u', await host.releaseName(name));
    }
    case 'StartServiceByName': {
      const [name] = args(msg, 'su') as [string, number];
      if (!isValidBusName(name) || name.startsWith(':')) {
        throw new DBusError(ErrorNames.InvalidArgs, `'${name}' is not a valid well-known bus name`);
      }
      if (name === BUS_NAME) return one('u', StartReply.ALREADY_RUNNING);
      return one('u', await host.startService(name));
    }
    case 'UpdateActivationEnvironment': {
      const [vars] = args(msg, 'a{ss}') as [Record<string, string>];
      await host.updateActivationEnvironment(vars);
      return NONE;
    }
    case 'NameHasOwner': {
      const [name] = args(msg, 's') as [string];
      if (!isValidBusName(name) && name !== BUS_NAME) {
        throw new DBusError(ErrorNames.InvalidArgs, `'${name}' is not a valid bus name`);
      }
      return one('b', host.view.ownerOf(name) !== undefined);
    }
    case 'ListNames':
      args(msg, '');
      return one('as', host.view.listNames());
    case 'ListActivatableNames': {
      args(msg, '');
      const names = await host.listActivatableNames();
      return one('as', [BUS_NAME, ...names.filter((n) => n !== BUS_NAME)]);
    }
    case 'AddMatch': {
      const [rule] = args(msg, 's') as [string];
      host.addMatch(rule);
      // As with dbus-daemon, the reply means the rule is in force everywhere.
      await host.settle();
      return NONE;
    }
    case 'RemoveMatch': {
      const [rule] = args(msg, 's') as [string];
      host.removeMatch(rule);
      return NONE;
    }
    case 'GetNameOwner': {
      const [name] = args(msg, 's') as [string];
      return one('s', ownerOrThrow(host, name));
    }
    case 'ListQueuedOwners': {
      const [name] = args(msg, 's') as [string];
      if (name === BUS_NAME || name.startsWith(':')) return one('as', [ownerOrThrow(host, name)]);
      ownerOrThrow(host, name);
      const state = host.view.nameState(name)!;
      return one('as', state.owners.map((c) => host.view.uniqueNameOf(c.id)));
    }
    case 'GetConnectionUnixUser': {
      const [name] = args(msg, 's') as [string];
      return one('u', credsOrThrow(host, name).uid);
    }
    case 'GetConnectionUnixProcessID': {
      const [name] = args(msg, 's') as [string];
      return one('u', credsOrThrow(host, name).pid);
    }
    case 'GetConnectionCredentials': {
      const [name] = args(msg, 's') as [string];
      const c = credsOrThrow(host, name);
      return one('a{sv}', {
        UnixUserID: new Variant('u', c.uid),
        UnixGroupIDs: new Variant('au', [c.gid]),
        ProcessID: new Variant('u', c.pid),
      });
    }
    case 'GetAdtAuditSessionData': {
      const [name] = args(msg, 's') as [string];
      ownerOrThrow(host, name);
      throw new DBusError(ErrorNames.AdtAuditDataUnknown, `no audit data for '${name}'`);
    }
    case 'GetConnectionSELinuxSecurityContext': {
      const [name] = args(msg, 's') as [string];
      ownerOrThrow(host, name);
      throw new DBusError(ErrorNames.SELinuxSecurityContextUnknown, `no SELinux context for '${name}'`);
    }
    case 'ReloadConfig':
      args(msg, '');
      return NONE;
    case 'GetId':
      args(msg, '');
      return one('s', host.busId);
    default:
      throw new DBusError(ErrorNames.UnknownMethod, `org.freedesktop.DBus has no method ${member}`);
  }
}
