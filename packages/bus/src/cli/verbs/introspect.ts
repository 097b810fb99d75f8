// `ipnbus introspect`: the introspection XML of one object (org.freedesktop.DBus.Introspectable).
import { openBus } from '../connect.js';
import { EXIT_OK, UsageError } from '../errors.js';
import { checkBusName, checkPath } from '../names.js';
import { intOption, parseVerbArgs, type Verb } from '../verb.js';

const help = `Usage: ipnbus introspect [--timeout MS] DEST [PATH]

Prints the introspection XML of object PATH (default /) of bus name DEST.

Options:
  --timeout MS   reply timeout (default 25000)
  -h, --help     this text
`;

export const introspectVerb: Verb = {
  name: 'introspect',
  summary: "print an object's introspection XML",
  help,
  async run(argv, globals) {
    const { values, positionals, globals: g, help: wantHelp } = parseVerbArgs('introspect', argv, {
      timeout: { type: 'string' },
    }, globals);
    if (wantHelp) {
      process.stdout.write(help);
      return EXIT_OK;
    }
    const [dest, path = '/', extra] = positionals;
    if (dest === undefined) throw new UsageError('expected DEST [PATH]', 'introspect');
    if (extra !== undefined) throw new UsageError(`unexpected argument '${extra}'`, 'introspect');
    checkBusName('introspect', dest);
    checkPath('introspect', path);
    const timeoutMs = intOption('introspect', 'timeout', values.timeout, 25_000);
    const conn = await openBus(g);
    try {
      const { reply } = await conn.call({
        destination: dest, path, interface: 'org.freedesktop.DBus.Introspectable', member: 'Introspect', signature: '', body: [],
      }, { timeoutMs });
      process.stdout.write(String(reply.body[0] ?? '') + (String(reply.body[0] ?? '').endsWith('\n') ? '' : '\n'));
      return EXIT_OK;
    } finally {
      conn.disconnect();
    }
  },
};
