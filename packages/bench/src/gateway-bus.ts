// `ipnbus gateway` as a bench side: the ipnbus CLI serving stock D-Bus
// clients (the same dbus-next clients as the brokers get) on a unix socket,
// started through its public command only.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { PrivateDaemon } from './daemon.js';
import { scaledMs } from './time-scale.js';

/** The ipnbus CLI of the installed library (dist/cli/main.js beside its entry point). */
function ipnbusCli(): string {
  return fileURLToPath(new URL('./cli/main.js', import.meta.resolve('ipnbus')));
}

/** The private ipnbus bus behind the gateway started in `dir` (native members join it directly). */
export function gatewayBusAddress(dir: string): string {
  return `ipnbus:path=${join(dir, 'ipnbus-gateway')}`;
}

/** Start a gateway in front of a private ipnbus bus in `dir`; resolves once it prints its address. */
export async function startGatewayBus(dir: string, backend: 'auto' | 'kernel' | 'user'): Promise<PrivateDaemon> {
  const socket = join(dir, 'gateway.sock');
  const child = spawn(process.execPath, [
    ipnbusCli(), '--address', gatewayBusAddress(dir),
    'gateway', '--listen', `unix:path=${socket}`, '--backend', backend,
  ], { stdio: ['ignore', 'pipe', 'pipe'] });
  const address = await new Promise<string>((resolve, reject) => {
    let out = '';
    let err = '';
    const timer = setTimeout(() => reject(new Error(`ipnbus gateway did not start within ${scaledMs(20_000) / 1000} s: ${err}`)), scaledMs(20_000));
    child.stderr.on('data', (d: Buffer) => {
      err = (err + d.toString()).slice(-4000);
    });
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /DBUS_SESSION_BUS_ADDRESS=(\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    child.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`ipnbus gateway exited with ${code}: ${err}`));
    });
  });
  return {
    address,
    pids: [child.pid!],
    version: 'ipnbus gateway (this checkout)',
    async stop() {
      if (child.exitCode !== null) return;
      const gone = new Promise<void>((r) => child.once('exit', () => r()));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), scaledMs(5000));
      await gone;
      clearTimeout(timer);
    },
  };
}
