// `ipnbus introspect`: the introspection XML of one object (org.freedesktop.DBus.Introspectable).
import { DEFAULT_CALL_TIMEOUT_MS } from '../../core/constants.js';
import { fetchIntrospection } from '../introspect-xml.js';
import { EXIT_OK, UsageError } from '../errors.js';
import { checkBusName, checkPath } from '../name-args.js';
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
    const { values, positionals, globals: g } = parseVerbArgs('introspect', argv, {
      timeout: { type: 'string' },
    }, globals);
    const [dest, path = '/', extra] = positionals;
    if (dest === undefined) throw new UsageError('expected DEST [PATH]', 'introspect');
    if (extra !== undefined) throw new UsageError(`unexpected argument '${extra}'`, 'introspect');
    checkBusName('introspect', dest);
    checkPath('introspect', path);
    const timeoutMs = intOption('introspect', 'timeout', values.timeout, DEFAULT_CALL_TIMEOUT_MS);
    const xml = await fetchIntrospection(g, dest, path, timeoutMs);
    process.stdout.write(xml.endsWith('\n') ? xml : xml + '\n');
    return EXIT_OK;
  },
};
