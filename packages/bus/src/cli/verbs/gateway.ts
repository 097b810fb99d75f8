// `ipnbus gateway`: a D-Bus bus socket so stock clients (gdbus, busctl, dbus-send, dbus-next) join the bus unchanged.
import { parseListenAddress, startGateway } from '../../gateway/index.js';
import { cliLogger } from '../open-bus.js';
import { EXIT_OK, UsageError } from '../errors.js';
import { backendOption, parseVerbArgs, type Verb } from '../verb.js';

const help = `Usage: ipnbus gateway --listen unix:path=SOCKET [--backend auto|user|kernel] [--mode OCTAL]

Listens on SOCKET and speaks the D-Bus bus protocol (SASL EXTERNAL, Hello,
org.freedesktop.DBus); every stock client that connects becomes a member of
the ipnbus bus. Prints the address to give clients, then runs until
SIGINT/SIGTERM. Example:
  ipnbus gateway --listen unix:path=/tmp/gw.sock &
  DBUS_SESSION_BUS_ADDRESS=unix:path=/tmp/gw.sock busctl --user list

Options:
  --listen ADDR     unix:path=... or unix:abstract=... (required)
  --backend KIND    transport when this creates the bus (default auto)
  --mode OCTAL      mode of the socket file (default 600)
  -h, --help        this text
`;

export const gatewayVerb: Verb = {
  name: 'gateway',
  summary: 'serve stock D-Bus clients on a unix socket',
  help,
  async run(argv, globals) {
    const { values, positionals, globals: g } = parseVerbArgs('gateway', argv, {
      listen: { type: 'string' },
      backend: { type: 'string' },
      mode: { type: 'string' },
    }, globals);
    if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`, 'gateway');
    if (typeof values.listen !== 'string') throw new UsageError('--listen unix:path=... is required', 'gateway');
    try {
      parseListenAddress(values.listen);
    } catch (err) {
      throw new UsageError(`--listen: ${(err as Error).message}`, 'gateway');
    }
    const backend = backendOption('gateway', values.backend, 'auto');
    let socketMode = 0o600;
    if (values.mode !== undefined) {
      if (typeof values.mode !== 'string' || !/^[0-7]{3,4}$/.test(values.mode)) throw new UsageError(`--mode expects octal like 660, not '${String(values.mode)}'`, 'gateway');
      socketMode = parseInt(values.mode, 8);
    }
    const gw = await startGateway({
      listen: values.listen,
      backend: backend,
      socketMode,
      logger: cliLogger(g, 'warn'),
      ...(g.address !== undefined ? { busAddress: g.address } : {}),
    });
    process.stdout.write(`DBUS_SESSION_BUS_ADDRESS=${gw.address}\n`);
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
    await gw.close();
    return EXIT_OK;
  },
};
