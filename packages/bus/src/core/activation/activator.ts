// Starting a service for a name nobody owns, with no broker: the member that needs it starts it, once across all members.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { DBusError } from '../errors.js';
import { tryLock, unlock } from '../flock.js';
import type { Logger } from '../logger.js';
import { ActivationErrors } from './errors.js';
import { parseExecLine } from './exec-line.js';
import {
  DEFAULT_SERVICE_START_TIMEOUT_MS,
  busModes,
  checkStartTimeout,
  gatewayAddress,
  readActivationConfig,
  readActivationEnv,
} from './bus-files.js';
import { activatableNames, findServiceFile, sessionServiceDirs } from './service-dirs.js';
import type { ServiceFile } from './service-file.js';

/** How long a started service has to take its name unless the bus or the connection says otherwise (dbus-daemon's default). */
export const ACTIVATION_TIMEOUT_MS = DEFAULT_SERVICE_START_TIMEOUT_MS;
const SYSTEMD_NAME = 'org.freedesktop.systemd1';

export interface ActivationOptions {
  /** false: this connection never starts services (the bus's activation.json can also turn it off). */
  enabled?: boolean;
  /** Searched first, before the bus's configured and the XDG directories. */
  serviceDirs?: string[];
  /**
   * How long a service this connection starts has to take its name, in ms
   * (1 to 2^31-1); overrides the bus's activation.json
   * "serviceStartTimeoutMs" (default 25 s) for this connection only.
   */
  timeoutMs?: number;
}

/** What the activator needs from its connection. */
export interface ActivatorHost {
  /** The bus directory. */
  busPath: string;
  /** ipnbus:path=... of this bus, given to native services as IPNBUS_ADDRESS. */
  busAddress: string;
  ownerOf(name: string): string | undefined;
  /** org.freedesktop.systemd1.Manager.StartUnit(unit, "replace") over the bus. */
  startUnit(unit: string): Promise<void>;
  log: Logger;
}

export type StartResult = 'started' | 'running';

/**
 * Exactly once: `activation/<name>.lock` is taken without waiting; the
 * member that gets it starts the service and holds the lock until the
 * name has an owner, the child failed, or the timeout; the others poll
 * (1 to 20 ms, never blocking the event loop) for the name to appear or
 * the lock to come free. A failure is written to `<name>.failed` before
 * the lock is released, so the members that waited report the same error
 * instead of starting it again; a starter that died leaves neither, and
 * the next waiter takes over.
 */
export class Activator {
  readonly #host: ActivatorHost;
  readonly #opts: ActivationOptions;

  constructor(host: ActivatorHost, opts: ActivationOptions = {}) {
    if (opts.timeoutMs !== undefined) checkStartTimeout(opts.timeoutMs, 'activation.timeoutMs');
    this.#host = host;
    this.#opts = opts;
  }

  /** The bus's configuration (read at each use: whoever sets the bus up may change it) with this connection's options. */
  #dirs(): { enabled: boolean; dirs: string[]; timeoutMs: number } {
    const bus = readActivationConfig(this.#host.busPath);
    const enabled = bus.enabled && this.#opts.enabled !== false;
    return {
      enabled,
      dirs: sessionServiceDirs([...(this.#opts.serviceDirs ?? []), ...bus.serviceDirs]),
      timeoutMs: this.#opts.timeoutMs ?? bus.serviceStartTimeoutMs,
    };
  }

  readonly #skipped = (path: string, why: string): void => {
    this.#host.log.debug({ path, why }, 'ignoring a service file');
  };

  /** Is activation on for this connection (the bus's setting and our own)? */
  get enabled(): boolean {
    return this.#dirs().enabled;
  }

  /** ListActivatableNames: every name a service file provides (none when activation is off). */
  async activatable(): Promise<string[]> {
    const { enabled, dirs } = this.#dirs();
    return enabled ? activatableNames(dirs, this.#skipped) : [];
  }

  /**
   * Makes sure `name` has an owner: 'running' if it had one, 'started'
   * once the service started for it (by us or a member that raced us)
   * took it. Throws DBusError: ServiceUnknown, Spawn.ExecFailed,
   * Spawn.ChildExited, Spawn.ChildSignaled, Spawn.FileInvalid, TimedOut.
   */
  async start(name: string): Promise<StartResult> {
    if (this.#host.ownerOf(name) !== undefined) return 'running';
    const { enabled, dirs, timeoutMs } = this.#dirs();
    const unknown = (): DBusError =>
      new DBusError(
        ActivationErrors.ServiceUnknown,
        `The name ${name} was not provided by any .service files${enabled ? '' : ' (activation is turned off on this bus)'}`,
      );
    if (!enabled) throw unknown();
    const file = await findServiceFile(name, dirs, this.#skipped);
    if (file === undefined) throw unknown();
    const deadline = Date.now() + timeoutMs;
    const began = Date.now();
    const dir = join(this.#host.busPath, 'activation');
    const modes = busModes(this.#host.busPath);
    fs.mkdirSync(dir, { recursive: true, mode: modes.dir });
    const lockPath = join(dir, `${name}.lock`);
    const failedPath = join(dir, `${name}.failed`);
    const fd = fs.openSync(lockPath, fs.constants.O_RDONLY | fs.constants.O_CREAT, modes.file);
    try {
      let pause = 1;
      for (;;) {
        if (this.#host.ownerOf(name) !== undefined) return 'started';
        if (tryLock(fd)) {
          try {
            // Someone may have finished between our look and the lock.
            if (this.#host.ownerOf(name) !== undefined) return 'started';
            const failure = readFailure(failedPath, began);
            if (failure !== undefined) throw failure;
            try {
              await this.#launch(file, deadline, timeoutMs);
              fs.rmSync(failedPath, { force: true });
              return 'started';
            } catch (e) {
              if (e instanceof DBusError) writeFailure(failedPath, e, modes.file);
              throw e;
            }
          } finally {
            unlock(fd);
          }
        }
        if (Date.now() > deadline) {
          throw new DBusError(ActivationErrors.TimedOut, `Activation of ${name} timed out after ${timeoutMs} ms`);
        }
        await new Promise((r) => setTimeout(r, pause));
        pause = Math.min(pause * 2, 20);
      }
    } finally {
      fs.closeSync(fd);
    }
  }

  /** Starts the service (systemd --user when it runs and the file names a unit, else Exec=) and waits for its name. */
  async #launch(file: ServiceFile, deadline: number, timeoutMs: number): Promise<void> {
    const log = this.#host.log.child({ activating: file.name, file: file.path });
    const t0 = Date.now();
    let exited: DBusError | undefined;
    if (file.systemdService !== undefined && this.#host.ownerOf(SYSTEMD_NAME) !== undefined) {
      log.info({ unit: file.systemdService }, 'activating through systemd --user');
      await this.#host.startUnit(file.systemdService);
    } else {
      if (file.exec === undefined) {
        throw new DBusError(
          ActivationErrors.FileInvalid,
          `${file.path} has no Exec= and systemd --user is not on the bus to start ${file.systemdService ?? 'its unit'}`,
        );
      }
      const argv = parseExecLine(file.exec);
      const env = this.#environment();
      log.info({ argv }, 'activating');
      const child = spawn(argv[0]!, argv.slice(1), { env, stdio: 'ignore', detached: true });
      child.unref();
      await new Promise<void>((resolve, reject) => {
        child.once('spawn', () => resolve());
        child.once('error', (e: NodeJS.ErrnoException) =>
          reject(new DBusError(ActivationErrors.ExecFailed, `Failed to execute program ${argv[0]}: ${e.message}`, { cause: e })),
        );
      });
      // Exit status 0 may be a daemon that forked: keep waiting for the name, as dbus-daemon does.
      child.once('exit', (code, signal) => {
        if (signal !== null) {
          exited = new DBusError(ActivationErrors.ChildSignaled, `Process ${file.name} received signal ${signal}`);
        } else if (code !== 0) {
          exited = new DBusError(ActivationErrors.ChildExited, `Process ${file.name} exited with status ${code}`);
        }
      });
    }
    let pause = 1;
    while (this.#host.ownerOf(file.name) === undefined) {
      if (exited !== undefined) throw exited;
      if (Date.now() > deadline) {
        throw new DBusError(ActivationErrors.TimedOut, `Activation of ${file.name} timed out after ${timeoutMs} ms`);
      }
      await new Promise((r) => setTimeout(r, pause));
      pause = Math.min(pause * 2, 20);
    }
    log.info({ ms: Date.now() - t0 }, 'activated');
  }

  /**
   * What the service runs with: this process's environment, overridden by
   * the bus's activation environment, then the variables dbus-daemon sets:
   * DBUS_STARTER_BUS_TYPE=session and, when the bus has a gateway,
   * DBUS_SESSION_BUS_ADDRESS and DBUS_STARTER_ADDRESS naming it (stock
   * services find the bus there); IPNBUS_ADDRESS for native ones.
   */
  #environment(): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = { ...process.env, ...readActivationEnv(this.#host.busPath) };
    env.IPNBUS_ADDRESS = this.#host.busAddress;
    env.DBUS_STARTER_BUS_TYPE = 'session';
    const gw = gatewayAddress(this.#host.busPath);
    if (gw !== undefined) {
      env.DBUS_SESSION_BUS_ADDRESS = gw;
      env.DBUS_STARTER_ADDRESS = gw;
    } else {
      delete env.DBUS_STARTER_ADDRESS;
    }
    return env;
  }
}

function readFailure(path: string, since: number): DBusError | undefined {
  try {
    const o = JSON.parse(fs.readFileSync(path, 'utf8')) as { at: number; name: string; message: string };
    return o.at >= since ? new DBusError(o.name, o.message) : undefined;
  } catch {
    return undefined;
  }
}

function writeFailure(path: string, e: DBusError, mode: number): void {
  try {
    fs.writeFileSync(path, JSON.stringify({ at: Date.now(), name: e.name, message: e.message }), { mode });
  } catch {
    // Waiters then try themselves: a second attempt, not a wrong answer.
  }
}
