// `ipnbus codegen`: introspection XML (a file, stdin, or a live object) -> TypeScript interface definitions.
import { readFile, writeFile } from 'node:fs/promises';
import { generateTypeScript } from '../../api/index.js';
import { fetchIntrospection } from '../introspect-xml.js';
import { EXIT_OK, UsageError } from '../errors.js';
import { checkBusName, checkPath } from '../name-args.js';
import { parseVerbArgs, type Verb } from '../verb.js';

const help = `Usage: ipnbus codegen [OPTIONS] FILE.xml|-
       ipnbus codegen [OPTIONS] --dest NAME --path PATH

Turns D-Bus introspection XML into TypeScript defineInterface() declarations,
so a client gets typed proxies (bus.proxy(Def, name, path)) for free. The XML
comes from FILE (- for stdin) or from a live object's Introspect.

Options:
  -o, --out FILE       write there instead of stdout
  --import-from MOD    module to import defineInterface from (default ipnbus)
  --standard           also emit the org.freedesktop.DBus.* standard interfaces
  --dest NAME          introspect this bus name ...
  --path PATH          ... at this object path (default /)
  -h, --help           this text
`;

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export const codegenVerb: Verb = {
  name: 'codegen',
  summary: 'generate typed TypeScript interfaces from introspection XML',
  help,
  async run(argv, globals) {
    const { values, positionals, globals: g } = parseVerbArgs('codegen', argv, {
      out: { type: 'string', short: 'o' },
      'import-from': { type: 'string' },
      standard: { type: 'boolean' },
      dest: { type: 'string' },
      path: { type: 'string' },
    }, globals);
    const live = typeof values.dest === 'string';
    if (live && positionals.length > 0) throw new UsageError('give either FILE or --dest, not both', 'codegen');
    if (!live && positionals.length !== 1) throw new UsageError('expected one FILE (or - for stdin), or --dest NAME', 'codegen');
    if (!live && values.path !== undefined) throw new UsageError('--path goes with --dest', 'codegen');

    let xml: string;
    if (live) {
      const dest = checkBusName('codegen', values.dest as string);
      const path = checkPath('codegen', typeof values.path === 'string' ? values.path : '/');
      xml = await fetchIntrospection(g, dest, path);
    } else {
      const file = positionals[0]!;
      xml = file === '-' ? await readStdin() : await readFile(file, 'utf8');
    }
    const ts = generateTypeScript(xml, {
      ...(typeof values['import-from'] === 'string' ? { importFrom: values['import-from'] } : {}),
      includeStandard: values.standard === true,
    });
    if (typeof values.out === 'string') await writeFile(values.out, ts);
    else process.stdout.write(ts.endsWith('\n') ? ts : ts + '\n');
    return EXIT_OK;
  },
};
