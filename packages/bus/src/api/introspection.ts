// Introspection data: the model of nodes/interfaces/members, its XML form
// (org.freedesktop.DBus.Introspectable) both ways, with a small XML reader.
import { isValidSignature } from '../wire/signature.js';

export interface Annotation {
  name: string;
  value: string;
}
export interface ArgInfo {
  name?: string;
  type: string;
}
export interface MethodInfo {
  name: string;
  inArgs: ArgInfo[];
  outArgs: ArgInfo[];
  annotations: Annotation[];
}
export interface SignalInfo {
  name: string;
  args: ArgInfo[];
  annotations: Annotation[];
}
export type PropertyAccess = 'read' | 'write' | 'readwrite';
export interface PropertyInfo {
  name: string;
  type: string;
  access: PropertyAccess;
  annotations: Annotation[];
}
export interface InterfaceInfo {
  name: string;
  methods: MethodInfo[];
  signals: SignalInfo[];
  properties: PropertyInfo[];
  annotations: Annotation[];
}
export interface NodeInfo {
  /** Relative name of a child node; absent (or absolute) on the root. */
  name?: string;
  interfaces: InterfaceInfo[];
  nodes: NodeInfo[];
}

/** The XML could not be read as introspection data. */
export class IntrospectionError extends Error {
  override name = 'IntrospectionError';
}

export const INTROSPECT_DOCTYPE =
  '<!DOCTYPE node PUBLIC "-//freedesktop//DTD D-BUS Object Introspection 1.0//EN"\n' +
  ' "http://www.freedesktop.org/standards/dbus/1.0/introspect.dtd">';

// ---------------------------------------------------------------- writing

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function annotationsXml(list: Annotation[], pad: string): string {
  return list.map((a) => `${pad}<annotation name="${esc(a.name)}" value="${esc(a.value)}"/>\n`).join('');
}

function argXml(a: ArgInfo, direction: string | undefined, pad: string): string {
  const name = a.name ? ` name="${esc(a.name)}"` : '';
  const dir = direction ? ` direction="${direction}"` : '';
  return `${pad}<arg${name} type="${esc(a.type)}"${dir}/>\n`;
}

/** One <interface> element, indented by `pad`. */
export function interfaceToXml(i: InterfaceInfo, pad = '  '): string {
  const p2 = pad + '  ';
  const p3 = p2 + '  ';
  let x = `${pad}<interface name="${esc(i.name)}">\n`;
  for (const m of i.methods) {
    const body = m.inArgs.map((a) => argXml(a, 'in', p3)).join('') + m.outArgs.map((a) => argXml(a, 'out', p3)).join('') + annotationsXml(m.annotations, p3);
    x += body ? `${p2}<method name="${esc(m.name)}">\n${body}${p2}</method>\n` : `${p2}<method name="${esc(m.name)}"/>\n`;
  }
  for (const s of i.signals) {
    const body = s.args.map((a) => argXml(a, undefined, p3)).join('') + annotationsXml(s.annotations, p3);
    x += body ? `${p2}<signal name="${esc(s.name)}">\n${body}${p2}</signal>\n` : `${p2}<signal name="${esc(s.name)}"/>\n`;
  }
  for (const pr of i.properties) {
    const open = `${p2}<property name="${esc(pr.name)}" type="${esc(pr.type)}" access="${pr.access}"`;
    x += pr.annotations.length ? `${open}>\n${annotationsXml(pr.annotations, p3)}${p2}</property>\n` : `${open}/>\n`;
  }
  x += annotationsXml(i.annotations, p2);
  return x + `${pad}</interface>\n`;
}

/** A whole introspection document for one node and its direct children. */
export function nodeToXml(node: NodeInfo): string {
  let x = `${INTROSPECT_DOCTYPE}\n<node${node.name ? ` name="${esc(node.name)}"` : ''}>\n`;
  for (const i of node.interfaces) x += interfaceToXml(i);
  for (const c of node.nodes) x += `  <node name="${esc(c.name ?? '')}"/>\n`;
  return x + '</node>\n';
}

// ---------------------------------------------------------------- reading

interface Element {
  tag: string;
  attrs: Record<string, string>;
  children: Element[];
}

function unescape(s: string, at: number): string {
  return s.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|[a-z]+);/g, (m, e: string) => {
    if (e === 'lt') return '<';
    if (e === 'gt') return '>';
    if (e === 'amp') return '&';
    if (e === 'quot') return '"';
    if (e === 'apos') return "'";
    if (e.startsWith('#')) {
      const n = e[1] === 'x' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10);
      if (n > 0x10ffff) throw new IntrospectionError(`bad character reference ${m} near offset ${at}`);
      return String.fromCodePoint(n);
    }
    throw new IntrospectionError(`unknown entity ${m} near offset ${at}`);
  });
}

const MAX_NESTING = 64;

// Introspection XML is a tiny, regular subset of XML: elements, attributes,
// comments, a prolog and a doctype, no meaningful text. This reader accepts
// that and rejects anything malformed with the offset of the problem.
function parseXml(xml: string): Element {
  const root: Element = { tag: '#root', attrs: {}, children: [] };
  const stack: Element[] = [root];
  let i = 0;
  const n = xml.length;
  while (i < n) {
    const lt = xml.indexOf('<', i);
    if (lt < 0) {
      if (xml.slice(i).trim()) throw new IntrospectionError(`text outside elements at offset ${i}`);
      break;
    }
    // Text inside elements (e.g. GDBus <doc:doc> comments) carries nothing
    // we use; text outside the root element means this is not XML we know.
    if (stack.length === 1 && xml.slice(i, lt).trim()) throw new IntrospectionError(`text outside elements at offset ${i}`);
    i = lt;
    if (xml.startsWith('<!--', i)) {
      const end = xml.indexOf('-->', i + 4);
      if (end < 0) throw new IntrospectionError(`unterminated comment at offset ${i}`);
      i = end + 3;
    } else if (xml.startsWith('<?', i)) {
      const end = xml.indexOf('?>', i + 2);
      if (end < 0) throw new IntrospectionError(`unterminated processing instruction at offset ${i}`);
      i = end + 2;
    } else if (xml.startsWith('<!', i)) {
      const end = xml.indexOf('>', i + 2);
      if (end < 0) throw new IntrospectionError(`unterminated declaration at offset ${i}`);
      i = end + 1;
    } else if (xml.startsWith('</', i)) {
      const m = /^<\/([A-Za-z_][\w.:-]*)\s*>/.exec(xml.slice(i, i + 256));
      if (!m) throw new IntrospectionError(`malformed end tag at offset ${i}`);
      const top = stack.pop();
      if (!top || top.tag !== m[1] || stack.length === 0) throw new IntrospectionError(`unexpected </${m[1]}> at offset ${i}`);
      i += m[0].length;
    } else {
      const tm = /^<([A-Za-z_][\w.:-]*)/.exec(xml.slice(i, i + 256));
      if (!tm) throw new IntrospectionError(`malformed tag at offset ${i}`);
      const el: Element = { tag: tm[1]!, attrs: {}, children: [] };
      i += tm[0].length;
      const attrRe = /\s*([A-Za-z_][\w.:-]*)\s*=\s*("([^"]*)"|'([^']*)')|\s*(\/?>)/y;
      for (;;) {
        attrRe.lastIndex = i;
        const am = attrRe.exec(xml);
        if (!am) throw new IntrospectionError(`malformed attribute in <${el.tag}> at offset ${i}`);
        i = attrRe.lastIndex;
        if (am[5]) {
          stack[stack.length - 1]!.children.push(el);
          if (am[5] === '>') {
            // Real documents nest a handful of levels; a bound keeps a
            // hostile one from exhausting the stack in readNode().
            if (stack.length > MAX_NESTING) throw new IntrospectionError(`elements nested deeper than ${MAX_NESTING} at offset ${i}`);
            stack.push(el);
          }
          break;
        }
        el.attrs[am[1]!] = unescape(am[3] ?? am[4] ?? '', i);
      }
    }
  }
  if (stack.length !== 1) throw new IntrospectionError(`<${stack[stack.length - 1]!.tag}> is not closed`);
  return root;
}

function need(el: Element, attr: string): string {
  const v = el.attrs[attr];
  if (v === undefined) throw new IntrospectionError(`<${el.tag}> lacks the '${attr}' attribute`);
  return v;
}

function type(el: Element): string {
  const t = need(el, 'type');
  if (!isValidSignature(t)) throw new IntrospectionError(`<${el.tag}> has an invalid type '${t}'`);
  return t;
}

function annotations(el: Element): Annotation[] {
  return el.children.filter((c) => c.tag === 'annotation').map((c) => ({ name: need(c, 'name'), value: c.attrs['value'] ?? '' }));
}

function arg(el: Element): ArgInfo {
  const a: ArgInfo = { type: type(el) };
  if (el.attrs['name']) a.name = el.attrs['name'];
  return a;
}

function readInterface(el: Element): InterfaceInfo {
  const info: InterfaceInfo = { name: need(el, 'name'), methods: [], signals: [], properties: [], annotations: annotations(el) };
  for (const c of el.children) {
    if (c.tag === 'method') {
      const args = c.children.filter((a) => a.tag === 'arg');
      info.methods.push({
        name: need(c, 'name'),
        inArgs: args.filter((a) => (a.attrs['direction'] ?? 'in') === 'in').map(arg),
        outArgs: args.filter((a) => a.attrs['direction'] === 'out').map(arg),
        annotations: annotations(c),
      });
    } else if (c.tag === 'signal') {
      info.signals.push({ name: need(c, 'name'), args: c.children.filter((a) => a.tag === 'arg').map(arg), annotations: annotations(c) });
    } else if (c.tag === 'property') {
      const access = need(c, 'access');
      if (access !== 'read' && access !== 'write' && access !== 'readwrite') {
        throw new IntrospectionError(`property ${c.attrs['name']} has invalid access '${access}'`);
      }
      info.properties.push({ name: need(c, 'name'), type: type(c), access, annotations: annotations(c) });
    }
  }
  return info;
}

function readNode(el: Element): NodeInfo {
  const node: NodeInfo = { interfaces: [], nodes: [] };
  if (el.attrs['name'] !== undefined) node.name = el.attrs['name'];
  for (const c of el.children) {
    if (c.tag === 'interface') node.interfaces.push(readInterface(c));
    else if (c.tag === 'node') node.nodes.push(readNode(c));
  }
  return node;
}

/** Parse an introspection document; throws IntrospectionError when malformed. */
export function parseIntrospection(xml: string): NodeInfo {
  if (typeof xml !== 'string') throw new IntrospectionError('introspection data must be a string');
  const root = parseXml(xml);
  const top = root.children.filter((c) => c.tag === 'node');
  if (top.length !== 1 || root.children.length !== 1) throw new IntrospectionError('expected exactly one top-level <node>');
  return readNode(top[0]!);
}
