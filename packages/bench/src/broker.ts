// A private dbus-broker for the second baseline, launched without systemd.
//
// dbus-broker-launch expects what a systemd user manager gives it: its
// listening socket by socket activation (fd 3, LISTEN_FDS/LISTEN_PID) and
// journald's socket for its log (it refuses to start when
// /run/systemd/journal/socket cannot be connected). systemd-socket-activate
// provides the first. When journald is not running, a stand-in datagram
// socket is bound in our temporary directory and laid over /run in a private
// mount namespace seen only by the broker (root only). The launcher also
// connects to "the user bus" for activation requests; pointing
// DBUS_SESSION_BUS_ADDRESS at the broker's own socket makes that connection
// go to itself, as it does under systemd.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { sessionBus, type MessageBus } from 'dbus-next';
import type { PrivateDaemon } from './daemon.js';
import { scaledMs } from './time-scale.js';

const JOURNAL_SOCKET = '/run/systemd/journal/socket';

export type BrokerLaunch = { ok: true; broker: PrivateDaemon } | { ok: false; reason: string };

/** Full path of `name` on PATH, or undefined. */
function onPath(name: string): string | undefined {
  const dirs = (process.env.PATH ?? '').split(delimiter).concat(['/usr/bin', '/usr/sbin', '/bin', '/sbin']);
  for (const dir of dirs) {
    if (dir && existsSync(join(dir, name))) return join(dir, name);
  }
  return undefined;
}

/**
 * The session bus's policy and limits (as dbus-daemon's session.conf sets
 * them, so neither baseline is throttled), without <listen>: the socket is
 * handed over ready-made.
 */
const CONFIG = `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*"/>
    <!-- dbus-daemon lets everything be received unless denied; dbus-broker
         wants it said (session.conf says it with eavesdrop="true", which
         dbus-broker ignores with a warning). -->
    <allow receive_sender="*"/>
    <allow own="*"/>
  </policy>
  <limit name="max_incoming_bytes">1000000000</limit>
  <limit name="max_outgoing_bytes">1000000000</limit>
  <limit name="max_message_size">1000000000</limit>
  <limit name="max_connections_per_user">100000</limit>
  <limit name="max_names_per_connection">50000</limit>
  <limit name="max_match_rules_per_connection">50000</limit>
  <limit name="max_replies_per_connection">50000</limit>
</busconfig>
`;

/** Resolves with the stderr line that says the socket is bound; rejects if the process ends first. */
function listening(child: ChildProcess, what: string, stderr: () => string): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what} did not bind its socket within ${scaledMs(10_000) / 1000} s: ${stderr()}`)), scaledMs(10_000));
    child.once('error', (e) => {
      clearTimeout(timer);
      reject(new Error(`cannot run ${what}: ${e.message}`));
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${what} exited with ${code}: ${stderr().trim()}`));
    });
    const check = () => {
      if (stderr().includes('Listening on')) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stderr!.on('data', check);
  });
}

function capture(child: ChildProcess): () => string {
  let text = '';
  child.stderr?.on('data', (d: Buffer) => {
    text = (text + d.toString()).slice(-4000);
  });
  return () => text;
}

/** The dbus-broker process the launcher forked, found by its parent pid. */
function brokerChildOf(launcherPid: number): number | undefined {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === launcherPid && comm === 'dbus-broker') return Number(entry);
    } catch {
      // The process ended while we looked.
    }
  }
  return undefined;
}

/** One Hello through the broker: proves the launcher handed it the socket and its policy. */
async function probe(address: string): Promise<void> {
  const bus: MessageBus = sessionBus({ busAddress: address });
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no Hello reply within ${scaledMs(10_000) / 1000} s`)), scaledMs(10_000));
      bus.once('connect', () => {
        clearTimeout(timer);
        resolve();
      });
      bus.once('error', (e: Error) => {
        clearTimeout(timer);
        reject(e);
      });
    });
  } finally {
    bus.disconnect();
  }
}

/** SIGTERM (at once, or after `graceMs` for a process expected to end by itself), then SIGKILL. */
async function stopChild(child: ChildProcess | undefined, graceMs = 0): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise<void>((r) => child.once('exit', () => r()));
  const term = setTimeout(() => child.kill('SIGTERM'), scaledMs(graceMs));
  const kill = setTimeout(() => child.kill('SIGKILL'), scaledMs(graceMs + 3000));
  await gone;
  clearTimeout(term);
  clearTimeout(kill);
}

/** The broker's journal lines in the stand-in log, for error messages. */
function journalMessages(logPath: string): string {
  if (!existsSync(logPath)) return '';
  return readFileSync(logPath, 'utf8').split('\n').filter((l) => l.startsWith('MESSAGE=')).map((l) => l.slice(8)).slice(-5).join('; ');
}

/**
 * Launch dbus-broker on a socket in `dir`, or say precisely why it cannot be
 * launched here. Never throws.
 */
export async function startDbusBroker(dir: string): Promise<BrokerLaunch> {
  const launch = onPath('dbus-broker-launch');
  if (!launch) return { ok: false, reason: 'not installed on this machine (not measured; apt-get install dbus-broker)' };
  const activate = onPath('systemd-socket-activate');
  if (!activate) {
    return { ok: false, reason: 'installed but not measured: systemd-socket-activate (systemd package) is needed to hand dbus-broker-launch its listening socket' };
  }
  const haveJournal = existsSync(JOURNAL_SOCKET);
  if (!haveJournal && process.getuid?.() !== 0) {
    return {
      ok: false,
      reason: `installed but not measured: dbus-broker-launch logs only to journald (${JOURNAL_SOCKET}, absent here), and a stand-in needs a private mount namespace (root)`,
    };
  }
  const socket = join(dir, 'dbus-broker.sock');
  const address = `unix:path=${socket}`;
  const configPath = join(dir, 'dbus-broker.conf');
  const runDir = join(dir, 'broker-run');
  const logPath = join(dir, 'dbus-broker.journal');
  await writeFile(configPath, CONFIG);

  let journal: ChildProcess | undefined;
  let launcher: ChildProcess | undefined;
  let launcherErr = () => '';
  try {
    if (!haveJournal) {
      await mkdir(join(runDir, 'systemd', 'journal'), { recursive: true });
      // Binds the datagram socket at once; on the first log record it becomes
      // `cat`, which keeps draining it into a file (read on failure).
      journal = spawn(activate, [
        '--datagram', '-l', join(runDir, 'systemd', 'journal', 'socket'),
        'sh', '-c', 'exec cat <&3 >>"$0"', logPath,
      ], { stdio: ['ignore', 'ignore', 'pipe'] });
      await listening(journal, 'the stand-in journal socket', capture(journal));
    }
    // systemd-socket-activate passes on only a few variables of its own, and those it is told (-E).
    const activated = [
      activate, '-E', `DBUS_SESSION_BUS_ADDRESS=${address}`, '-l', socket,
      launch, '--scope', 'user', '--config-file', configPath,
    ];
    // unshare makes the mount namespace private by default: the bind over /run
    // is seen by the broker alone. Each step execs, so the pid we hold ends up
    // being dbus-broker-launch's.
    const [cmd, ...args] = haveJournal
      ? activated
      : ['unshare', '--mount', '--', 'sh', '-c', 'mount --bind "$0" /run && exec "$@"', runDir, ...activated];
    launcher = spawn(cmd!, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    launcherErr = capture(launcher);
    await listening(launcher, 'systemd-socket-activate', launcherErr);
    // The first connection is what makes systemd-socket-activate exec the launcher.
    await probe(address);
    const brokerPid = brokerChildOf(launcher.pid!);
    if (brokerPid === undefined) throw new Error('dbus-broker-launch is up but its dbus-broker child was not found in /proc');
    let version = 'dbus-broker';
    try {
      version = `dbus-broker ${execFileSync(launch, ['--version'], { encoding: 'utf8' }).trim().split(/\s+/).pop()}`;
    } catch {
      // Version is only informative.
    }
    const how = haveJournal ? 'socket from systemd-socket-activate' : 'socket from systemd-socket-activate, stand-in journal socket in a private mount namespace';
    const l = launcher;
    const j = journal;
    return {
      ok: true,
      broker: {
        address,
        // Both processes do the bus's work: the launcher only at start, the broker all along.
        pids: [l.pid!, brokerPid],
        version: `${version} (dbus-broker-launch --scope user, ${how})`,
        async stop() {
          // The broker first: the launcher then reaps it and exits by itself,
          // leaving no orphan behind (a launcher killed first leaves its broker to init).
          try {
            process.kill(brokerPid, 'SIGTERM');
          } catch {
            // Already gone.
          }
          await stopChild(l, 3000);
          await stopChild(j);
        },
      },
    };
  } catch (err) {
    await stopChild(launcher);
    await stopChild(journal);
    const detail = [launcherErr().trim().split('\n').filter((s) => !s.startsWith('Listening on')).slice(-3).join(' / '), journalMessages(logPath)]
      .filter(Boolean).join('; ');
    return { ok: false, reason: `installed but could not be launched (not measured): ${(err as Error).message.split('\n')[0]}${detail ? ` [${detail}]` : ''}` };
  }
}
