// `ipnbus call`: one method call with busctl's argument syntax; prints the reply the same way.
import { DEFAULT_CALL_TIMEOUT_MS } from '../../core/constants.js';
import { parseArgsForSignature, formatBusctl } from '../busctl-args.js';
import { openBus } from '../open-bus.js';
import { EXIT_OK, UsageError } from '../errors.js';
import { toJson } from '../json.js';
import { checkBusName, checkInterface, checkMember, checkPath } from '../name-args.js';
import { intOption, parseVerbArgs, type Verb } from '../verb.js';

const help = `Usage: ipnbus call [OPTIONS] DEST PATH IFACE METHOD [SIGNATURE [ARGS...]]

Calls METHOD on the object PATH of the bus name DEST and prints the reply as
"SIGNATURE VALUES..." in busctl's syntax. Arguments use the same syntax:
  ipnbus call org.example.Foo /org/example/Foo org.example.Foo SetAll 'a{sv}' 2 name s Ann age u 7
Arrays give their element count first; variants give their signature first.

Options:
  --timeout MS   reply timeout (default 25000)
  --json         print the reply body as JSON
  --no-reply     do not ask for (or wait for) a reply
  -h, --help     this text
`;

export const callVerb: Verb = {
  name: 'call',
  summary: 'call a method (busctl argument syntax)',
  help,
  async run(argv, globals) {
    const { values, positionals, globals: g } = parseVerbArgs('call', argv, {
      timeout: { type: 'string' },
      json: { type: 'boolean' },
      'no-reply': { type: 'boolean' },
    }, globals, 5);
    const [dest, path, iface, method, signature, ...args] = positionals;
    if (method === undefined) throw new UsageError('expected DEST PATH IFACE METHOD', 'call');
    checkBusName('call', dest!);
    checkPath('call', path!);
    checkInterface('call', iface!);
    checkMember('call', method);
    const body = signature !== undefined ? parseArgsForSignature(signature, args) : [];
    const timeoutMs = intOption('call', 'timeout', values.timeout, DEFAULT_CALL_TIMEOUT_MS);

    const conn = await openBus(g);
    try {
      const msg = { destination: dest!, path: path!, interface: iface!, member: method, signature: signature ?? '', body };
      if (values['no-reply']) {
        await conn.call(msg, { noReply: true, timeoutMs });
        return EXIT_OK;
      }
      const { reply } = await conn.call(msg, { timeoutMs });
      if (values.json) process.stdout.write(toJson(reply.body) + '\n');
      else if (reply.signature) process.stdout.write(formatBusctl(reply.signature, reply.body) + '\n');
      return EXIT_OK;
    } finally {
      conn.disconnect();
    }
  },
};
