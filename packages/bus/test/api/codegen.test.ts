// Codegen from real introspection XML (dbus-daemon's own, fetched with
// gdbus) and the typed API's compile-time behaviour, checked by real tsc.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, writeFileSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateTypeScript, parseIntrospection, IntrospectionError, interfacesFromXml } from '../../src/api/index.js';

const run = promisify(execFile);
const here = dirname(fileURLToPath(import.meta.url));
const apiIndex = resolve(here, '../../src/api/index.js');
const repoRoot = resolve(here, '../../../..');

let daemon: ChildProcess;
let busXml = '';
let tmp = '';

beforeAll(async () => {
  daemon = spawn('dbus-daemon', ['--session', '--nofork', '--print-address=1'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const address = await new Promise<string>((res, rej) => {
    let buf = '';
    daemon.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      if (buf.includes('\n')) res(buf.split('\n')[0]!);
    });
    daemon.on('error', rej);
  });
  const { stdout } = await run('gdbus', ['introspect', '--address', address, '--dest', 'org.freedesktop.DBus', '--object-path', '/org/freedesktop/DBus', '--xml']);
  busXml = stdout;
  tmp = mkdtempSync(join(tmpdir(), 'ipnbus-codegen-'));
});

afterAll(() => {
  daemon?.kill();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

/** The README's API example, pointed at the sources, as an ES module file. */
function readmeExample(): string {
  const readme = readFileSync(resolve(here, '../../README.md'), 'utf8');
  const api = readme.slice(readme.indexOf('## API'));
  const code = /```ts\n([\s\S]*?)```/.exec(api)![1]!;
  const file = join(tmp, 'readme-example.mts');
  writeFileSync(file, code.replace("from 'ipnbus'", `from ${JSON.stringify(resolve(here, '../../src/index.js'))}`) + '\nexport {};\n');
  return file;
}

describe('generateTypeScript', () => {
  it('reads dbus-daemon introspection and declares its interfaces', () => {
    const node = parseIntrospection(busXml);
    const bus = node.interfaces.find((i) => i.name === 'org.freedesktop.DBus')!;
    expect(bus.methods.find((m) => m.name === 'RequestName')).toMatchObject({ inArgs: [{ type: 's' }, { type: 'u' }], outArgs: [{ type: 'u' }] });
    expect(bus.signals.map((s) => s.name)).toContain('NameOwnerChanged');
    const code = generateTypeScript(busXml);
    expect(code).toContain("export const OrgFreedesktopDBus = defineInterface('org.freedesktop.DBus', {");
    expect(code).toContain("RequestName: { in: 'su', out: 'u' },");
    expect(code).toContain("NameOwnerChanged: 'sss',");
    expect(code).not.toContain("'org.freedesktop.DBus.Introspectable'");
    expect(generateTypeScript(busXml, { includeStandard: true })).toContain("'org.freedesktop.DBus.Introspectable'");
  });

  it('output compiles with tsc, typed-API misuse is rejected, the README example compiles', async () => {
    const code = generateTypeScript(busXml, { importFrom: apiIndex });
    const gen = join(tmp, 'generated.ts');
    writeFileSync(gen, code + `
// Typed use of the generated definition: names and types flow from the XML.
import type { MessageBus } from ${JSON.stringify(apiIndex)};
export async function use(bus: MessageBus): Promise<number> {
  const p = OrgFreedesktopDBus.proxy(bus, 'org.freedesktop.DBus', '/org/freedesktop/DBus');
  const names: string[] = await p.ListNames();
  // @ts-expect-error RequestName takes (string, number)
  await p.RequestName(1, 'x');
  return (await p.RequestName('a.b', 0)) + names.length;
}
`);
    writeFileSync(
      join(tmp, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          strict: true, noEmit: true, target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', skipLibCheck: true,
          types: ['node'], typeRoots: [join(repoRoot, 'node_modules/@types')],
        },
        files: [gen, resolve(here, 'fixtures/typed-usage.ts'), readmeExample()],
      }),
    );
    const tsc = join(repoRoot, 'node_modules/typescript/bin/tsc');
    const res = await run(process.execPath, [tsc, '-p', join(tmp, 'tsconfig.json')]).catch((e: { stdout: string }) => ({ stdout: e.stdout, failed: true }));
    expect(res.stdout).toBe('');
    // And it loads: the runtime definition matches the XML.
    const mod = (await import(gen)) as Record<string, { name: string; info: { methods: { name: string }[] } }>;
    expect(mod['OrgFreedesktopDBus']!.name).toBe('org.freedesktop.DBus');
    expect(mod['OrgFreedesktopDBus']!.info.methods.map((m) => m.name)).toContain('GetConnectionUnixProcessID');
  }, 60_000);

  it('interfacesFromXml gives runtime definitions equal to the XML', () => {
    const defs = interfacesFromXml(busXml);
    const node = parseIntrospection(busXml);
    for (const i of node.interfaces) expect(defs.get(i.name)!.info).toEqual(i);
    const xml = `<node><interface name="com.example.A">
      <method name="M"><annotation name="x.y" value="1"/><arg name="a" type="s" direction="in"/><annotation name="org.freedesktop.DBus.Method.NoReply" value="true"/></method>
      <property name="P" type="u" access="read"><annotation name="org.freedesktop.DBus.Property.EmitsChangedSignal" value="const"/></property>
      <annotation name="i.f" value="v"/></interface></node>`;
    const a = interfacesFromXml(xml).get('com.example.A')!;
    expect(a.spec).toEqual({
      methods: { M: { in: [['a', 's']], noReply: true, annotations: { 'x.y': '1' } } },
      signals: {},
      properties: { P: { type: 'u', access: 'read', emitsChanged: 'const' } },
      annotations: { 'i.f': 'v' },
    });
    const sorted = (list: { name: string }[]) => [...list].sort((x, y) => x.name.localeCompare(y.name));
    expect(sorted(a.info.methods[0]!.annotations)).toEqual(sorted(parseIntrospection(xml).interfaces[0]!.methods[0]!.annotations));
  });

  it('keeps argument names, annotations and property access; rejects bad XML', () => {
    const xml = `<node><interface name="com.example.Thing">
      <method name="Do"><arg name="what" type="s" direction="in"/><arg name="ok" type="b" direction="out"/>
        <annotation name="org.freedesktop.DBus.Method.NoReply" value="true"/></method>
      <signal name="Changed"><arg name="new-value" type="a{sv}"/></signal>
      <property name="Level" type="u" access="readwrite"><annotation name="org.freedesktop.DBus.Property.EmitsChangedSignal" value="invalidates"/></property>
      </interface><node name="child"/></node>`;
    const code = generateTypeScript(xml);
    expect(code).toContain("Do: { in: [['what', 's']], out: [['ok', 'b']], noReply: true },");
    expect(code).toContain("Changed: [['new-value', 'a{sv}']],");
    expect(code).toContain("Level: { type: 'u', access: 'readwrite', emitsChanged: 'invalidates' },");
    expect(() => generateTypeScript('<node><interface name="x.y">')).toThrow(IntrospectionError);
    expect(() => generateTypeScript('<node><interface name="x.y"><method name="M"><arg type="a{" direction="in"/></method></interface></node>')).toThrow(/invalid type/);
  });
});
