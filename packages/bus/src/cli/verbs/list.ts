// `ipnbus list`: every name on the bus with its owner and the owner's credentials.
import { EXIT_OK, UsageError } from '../errors.js';
import { openBus } from '../open-bus.js';
import { toJson } from '../json.js';
import { parseVerbArgs, type Verb } from '../verb.js';

const help = `Usage: ipnbus list [--json] [--acquired]

Lists the names on the bus (unique and well-known) with their owner and the
owner's pid and uid, from the connection's replicated view of the bus.

Options:
  --acquired   only well-known names
  --json       one JSON array instead of a table
  -h, --help   this text
`;

export const listVerb: Verb = {
  name: 'list',
  summary: 'list names on the bus and their owners',
  help,
  async run(argv, globals) {
    const { values, positionals, globals: g } = parseVerbArgs('list', argv, {
      json: { type: 'boolean' },
      acquired: { type: 'boolean' },
    }, globals);
    if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`, 'list');
    const conn = await openBus(g);
    try {
      const rows = conn.listNames()
        .filter((name) => !values.acquired || !name.startsWith(':'))
        .sort()
        .map((name) => {
          const owner = name.startsWith(':') ? name : conn.getNameOwner(name);
          const creds = owner ? conn.getCredentials(owner) : undefined;
          return { name, owner: owner ?? null, pid: creds?.pid ?? null, uid: creds?.uid ?? null, self: owner === conn.uniqueName };
        });
      if (values.json) {
        process.stdout.write(toJson(rows) + '\n');
      } else {
        const w = Math.max(4, ...rows.map((r) => r.name.length));
        const ow = Math.max(5, ...rows.map((r) => String(r.owner ?? '-').length));
        process.stdout.write(`${'NAME'.padEnd(w)}  ${'OWNER'.padEnd(ow)}  ${'PID'.padStart(7)}  ${'UID'.padStart(6)}\n`);
        for (const r of rows) {
          process.stdout.write(`${r.name.padEnd(w)}  ${String(r.owner ?? '-').padEnd(ow)}  ${String(r.pid ?? '-').padStart(7)}  ${String(r.uid ?? '-').padStart(6)}${r.self ? '  (this listing)' : ''}\n`);
        }
      }
      return EXIT_OK;
    } finally {
      conn.disconnect();
    }
  },
};
