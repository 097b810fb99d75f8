// `ipnbus emit`: broadcast one signal built from busctl-style arguments.
import { once } from 'node:events';
import { parseArgsForSignature } from '../busctl-args.js';
import { openBus } from '../open-bus.js';
import { EXIT_OK, UsageError } from '../errors.js';
import { checkInterface, checkMember, checkPath } from '../name-args.js';
import { parseVerbArgs, type Verb } from '../verb.js';

const help = `Usage: ipnbus emit PATH IFACE MEMBER [SIGNATURE [ARGS...]]

Broadcasts the signal IFACE.MEMBER from object PATH to every member whose
match rules accept it. Arguments use busctl's syntax, e.g.
  ipnbus emit /org/example/Dev org.example.Dev Changed sa{sv} temp 1 celsius d 21.5

Options:
  -h, --help   this text
`;

export const emitVerb: Verb = {
  name: 'emit',
  summary: 'broadcast a signal',
  help,
  async run(argv, globals) {
    const { positionals, globals: g } = parseVerbArgs('emit', argv, {}, globals, 4);
    const [path, iface, member, signature, ...args] = positionals;
    if (member === undefined) throw new UsageError('expected PATH IFACE MEMBER', 'emit');
    checkPath('emit', path!);
    checkInterface('emit', iface!);
    checkMember('emit', member);
    const body = signature !== undefined ? parseArgsForSignature(signature, args) : [];
    const conn = await openBus(g);
    try {
      conn.emitSignal(path!, iface!, member, signature ?? '', body);
      // A full receiver makes the transport queue the broadcast; leaving before
      // the queue drains would drop it for that receiver.
      if (conn.backpressured) {
        const timeout = AbortSignal.timeout(10_000);
        try {
          await once(conn, 'drain', { signal: timeout });
        } catch {
          throw new Error('a receiver did not take the signal within 10 s');
        }
      }
      return EXIT_OK;
    } finally {
      conn.disconnect();
    }
  },
};
