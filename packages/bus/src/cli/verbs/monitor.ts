// `ipnbus monitor`: prints every broadcast this member can see, decoded, optionally filtered by match rules.
import { openBus } from '../connect.js';
import { EXIT_OK } from '../errors.js';
import { formatMessageJson, formatMessageText } from '../format-message.js';
import { intOption, parseVerbArgs, type Verb } from '../verb.js';
import type { Message } from '../../wire/index.js';

const help = `Usage: ipnbus monitor [--json] [--count N] [--timeout MS] [MATCH-RULE...]

Prints every signal broadcast on the bus, decoded. With match rules (full
D-Bus syntax, e.g. "type='signal',interface='org.example.Dev'") only what one
of them accepts. Method calls and replies travel member to member and are not
visible here (there is no broker to eavesdrop on).

Options:
  --json         one JSON object per message
  --count N      exit after N messages
  --timeout MS   exit after MS milliseconds (exit 0)
  -h, --help     this text
`;

export const monitorVerb: Verb = {
  name: 'monitor',
  summary: 'print broadcasts as they happen (match rules as filters)',
  help,
  async run(argv, globals, io) {
    const { values, positionals, globals: g, help: wantHelp } = parseVerbArgs('monitor', argv, {
      json: { type: 'boolean' },
      count: { type: 'string' },
      timeout: { type: 'string' },
    }, globals);
    if (wantHelp) {
      io.stdout(help);
      return EXIT_OK;
    }
    const count = intOption('monitor', 'count', values.count, 0);
    const timeoutMs = intOption('monitor', 'timeout', values.timeout, 0);
    const rules = positionals.length > 0 ? positionals : ["type='signal'"];
    const conn = await openBus(g);
    try {
      for (const rule of rules) conn.addMatch(rule);
      process.stderr.write(`Monitoring ${g.address ?? 'the session bus'} as ${conn.uniqueName} (${rules.join(' | ')})\n`);
      await new Promise<void>((resolve, reject) => {
        let seen = 0;
        const done = () => resolve();
        conn.on('message', (msg: Message) => {
          process.stdout.write((values.json ? formatMessageJson(msg) : formatMessageText(msg)) + '\n');
          if (count > 0 && ++seen >= count) done();
        });
        conn.once('disconnect', () => reject(new Error('disconnected from the bus')));
        process.once('SIGINT', done);
        process.once('SIGTERM', done);
        if (timeoutMs > 0) setTimeout(done, timeoutMs).unref();
      });
      return EXIT_OK;
    } finally {
      conn.disconnect();
    }
  },
};
