// Bus addresses: ipnbus:path= parsing, escapes, lists, defaults, and typed errors for bad input.
import { afterEach, describe, expect, it } from 'vitest';
import { defaultAddress, defaultBusPath, escapeAddressValue, parseAddress } from '../../src/core/address.js';
import { DBusError } from '../../src/core/errors.js';

const saved = { ...process.env };
afterEach(() => {
  process.env = { ...saved };
});

function bad(address: string): void {
  expect(() => parseAddress(address), address).toThrow(DBusError);
  try {
    parseAddress(address);
  } catch (e) {
    expect((e as DBusError).name).toBe('org.freedesktop.DBus.Error.BadAddress');
  }
}

describe('addresses', () => {
  it('parses paths, escapes and the first ipnbus entry of a list', () => {
    expect(parseAddress('ipnbus:path=/run/bus')).toEqual({ path: '/run/bus' });
    expect(parseAddress('ipnbus:path=/tmp/a%20b%2c')).toEqual({ path: '/tmp/a b,' });
    expect(parseAddress('unix:path=/x;ipnbus:path=/y;ipnbus:path=/z')).toEqual({ path: '/y' });
    expect(parseAddress(`ipnbus:path=${escapeAddressValue('/t/é ;,=')}`)).toEqual({ path: '/t/é ;,=' });
  });

  it.each(['', 'ipnbus', 'ipnbus:', 'ipnbus:path=', 'ipnbus:path=rel/dir', 'unix:path=/x', 'ipnbus:path=/a,path=/b', 'ipnbus:path=/a b', 'ipnbus:path=/%zz', 'ipnbus:nokey'])(
    'rejects %j with BadAddress',
    (a) => bad(a),
  );

  it('defaults to $IPNBUS_ADDRESS, then $XDG_RUNTIME_DIR/ipnbus/session, then /tmp/ipnbus-<uid>', () => {
    process.env.IPNBUS_ADDRESS = 'ipnbus:path=/custom';
    expect(defaultAddress()).toBe('ipnbus:path=/custom');
    delete process.env.IPNBUS_ADDRESS;
    process.env.XDG_RUNTIME_DIR = '/run/user/42';
    expect(defaultBusPath()).toBe('/run/user/42/ipnbus/session');
    expect(parseAddress(defaultAddress()).path).toBe('/run/user/42/ipnbus/session');
    delete process.env.XDG_RUNTIME_DIR;
    expect(defaultBusPath()).toBe(`/tmp/ipnbus-${process.getuid!()}/session`);
  });
});
