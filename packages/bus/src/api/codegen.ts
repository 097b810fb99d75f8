// Code generation: introspection XML -> TypeScript defineInterface()
// declarations (the `ipnbus codegen` verb), so clients of an existing
// service get typed proxies without writing the definition by hand.
import { parseIntrospection, type Annotation, type ArgInfo, type InterfaceInfo } from './introspection.js';

export interface CodegenOptions {
  /** Module to import defineInterface from (default 'ipnbus'). */
  importFrom?: string;
  /** Also emit the standard org.freedesktop.DBus.{Peer,Introspectable,Properties,ObjectManager} (default false). */
  includeStandard?: boolean;
}

const STANDARD = new Set([
  'org.freedesktop.DBus.Peer',
  'org.freedesktop.DBus.Introspectable',
  'org.freedesktop.DBus.Properties',
  'org.freedesktop.DBus.ObjectManager',
]);

const RESERVED = new Set([
  'break', 'case', 'catch', 'class', 'const', 'continue', 'debugger', 'default', 'delete', 'do', 'else', 'enum',
  'export', 'extends', 'false', 'finally', 'for', 'function', 'if', 'import', 'in', 'instanceof', 'new', 'null',
  'return', 'super', 'switch', 'this', 'throw', 'true', 'try', 'typeof', 'var', 'void', 'while', 'with',
]);

/** 'org.freedesktop.DBus' -> 'OrgFreedesktopDBus' (a valid, unused identifier). */
function constName(iface: string, used: Set<string>): string {
  let base = iface
    .split('.')
    .map((p) => p.replace(/[^A-Za-z0-9_$]/g, '_'))
    .map((p) => p.charAt(0).toUpperCase() + p.slice(1))
    .join('');
  if (!/^[A-Za-z_$]/.test(base)) base = '_' + base;
  if (RESERVED.has(base)) base += '_';
  let name = base;
  for (let i = 2; used.has(name); i++) name = `${base}${i}`;
  used.add(name);
  return name;
}

const q = (s: string): string => JSON.stringify(s).replace(/'/g, "\\'").replace(/^"|"$/g, "'");

/** A property key: bare when it is an identifier, quoted otherwise. */
const key = (s: string): string => (/^[A-Za-z_$][A-Za-z0-9_$]*$/.test(s) ? s : q(s));

function args(list: ArgInfo[]): string {
  // Named arguments keep their names (for docs and error messages); one
  // unnamed argument makes the whole list a plain signature.
  if (list.every((a) => a.name)) return '[' + list.map((a) => `[${q(a.name!)}, ${q(a.type)}]`).join(', ') + ']';
  return q(list.map((a) => a.type).join(''));
}

function has(list: Annotation[], name: string): boolean {
  return list.some((a) => a.name === name && a.value === 'true');
}

function extraAnnotations(list: Annotation[], handled: string[]): string {
  const rest = list.filter((a) => !handled.includes(a.name));
  if (!rest.length) return '';
  return `, annotations: { ${rest.map((a) => `${q(a.name)}: ${q(a.value)}`).join(', ')} }`;
}

function interfaceCode(i: InterfaceInfo, constId: string): string {
  const lines: string[] = [`/** ${i.name} */`, `export const ${constId} = defineInterface(${q(i.name)}, {`];
  if (i.methods.length) {
    lines.push('  methods: {');
    for (const m of i.methods) {
      const parts: string[] = [];
      if (m.inArgs.length) parts.push(`in: ${args(m.inArgs)}`);
      if (m.outArgs.length) parts.push(`out: ${args(m.outArgs)}`);
      if (has(m.annotations, 'org.freedesktop.DBus.Method.NoReply')) parts.push('noReply: true');
      if (has(m.annotations, 'org.freedesktop.DBus.Deprecated')) parts.push('deprecated: true');
      const extra = extraAnnotations(m.annotations, ['org.freedesktop.DBus.Method.NoReply', 'org.freedesktop.DBus.Deprecated']);
      lines.push(`    ${key(m.name)}: { ${parts.join(', ')}${extra} },`.replace('{ , ', '{ ').replace('{  }', '{}'));
    }
    lines.push('  },');
  }
  if (i.signals.length) {
    lines.push('  signals: {');
    for (const s of i.signals) lines.push(`    ${key(s.name)}: ${s.args.length ? args(s.args) : "''"},`);
    lines.push('  },');
  }
  if (i.properties.length) {
    lines.push('  properties: {');
    for (const p of i.properties) {
      const ec = p.annotations.find((a) => a.name === 'org.freedesktop.DBus.Property.EmitsChangedSignal')?.value;
      const emits = ec === 'false' ? ', emitsChanged: false' : ec === 'invalidates' || ec === 'const' ? `, emitsChanged: ${q(ec)}` : '';
      const extra = extraAnnotations(p.annotations, ['org.freedesktop.DBus.Property.EmitsChangedSignal']);
      lines.push(`    ${key(p.name)}: { type: ${q(p.type)}, access: ${q(p.access)}${emits}${extra} },`);
    }
    lines.push('  },');
  }
  if (i.annotations.length) lines.push(`  annotations: { ${i.annotations.map((a) => `${q(a.name)}: ${q(a.value)}`).join(', ')} },`);
  lines.push('});');
  return lines.join('\n');
}

/**
 * TypeScript source declaring every interface in the introspection XML
 * (nested nodes included, each interface once). Throws IntrospectionError
 * for malformed XML.
 */
export function generateTypeScript(xml: string, opts: CodegenOptions = {}): string {
  const root = parseIntrospection(xml);
  const seen = new Map<string, InterfaceInfo>();
  const walk = (n: typeof root): void => {
    for (const i of n.interfaces) if (!seen.has(i.name) && (opts.includeStandard || !STANDARD.has(i.name))) seen.set(i.name, i);
    n.nodes.forEach(walk);
  };
  walk(root);
  const used = new Set<string>(['defineInterface']);
  const out = [
    '// Generated by ipnbus codegen from introspection XML; edit the XML, not this file.',
    `import { defineInterface } from ${q(opts.importFrom ?? 'ipnbus')};`,
    '',
  ];
  for (const i of seen.values()) out.push(interfaceCode(i, constName(i.name, used)), '');
  return out.join('\n');
}
