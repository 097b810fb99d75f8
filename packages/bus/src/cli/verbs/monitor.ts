// `ipnbus monitor`: becomes a bus monitor (BecomeMonitor, as dbus-monitor) and prints what it sees, decoded, optionally filtered by match rules.
import { openBus } from '../open-bus.js';
import { EXIT_OK } from '../errors.js';
import { formatMessageJson, formatMessageText } from '../format-message.js';
import { intOption, parseVerbArgs, type Verb } from '../verb.js';
import type { Message } from '../../wire/index.js';

const help = `Usage: ipnbus monitor [--json] [--count N] [--timeout MS] [MATCH-RULE...]

Becomes a monitor of the bus (org.freedesktop.DBus.Monitoring.BecomeMonitor,
as dbus-monitor does) and prints every message it sees, decoded: signals,
and the method calls, replies and errors between other connections (their
senders copy them to monitors). With match rules (full D-Bus syntax, e.g.
"type='signal',interface='org.example.Dev'") only what one of them accepts.
Only root and the bus's owner may monitor (else AccessDenied).

Options:
  --json         one JSON object per message
  --count N      exit after N messages
  --timeout MS   exit after MS milliseconds (exit 0)
  -h, --help     this text
`;

export const monitorVerb: Verb = {
  name: 'monitor',
  summary: 'print the messages on the bus as they happen, as a monitor (match rules as filters)',
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
    const rules = positionals;
    const conn = await openBus(g);
    try {
      conn.becomeMonitor(rules);
      // Every member holds our monitor record (and so copies to us) once
      // what we sent before this round trip has reached it.
      await conn.settle();
      process.stderr.write(`Monitoring ${g.address ?? 'the session bus'} as ${conn.uniqueName} (${rules.length > 0 ? rules.join(' | ') : 'everything'})\n`);
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
