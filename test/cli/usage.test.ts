// The CLI's contract with scripts: every verb has --help (exit 0), usage
// mistakes exit 2 with a message. Run in-process through the dispatcher
// (one process per case cost ~7 s for 36 cases); a few real processes, the
// built CLI and npm's bin shim, check that the exit status reaches the shell.
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runCommand } from '../../packages/bus/src/cli/dispatch.js';
import { runCli, runNode, type CliResult } from './run-cli.js';

const BIN_SHIM = fileURLToPath(new URL('../../packages/bus/bin/ipnbus.js', import.meta.url));

/** The dispatcher on `args`, in this process, with its output captured. */
async function run(args: string[]): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  const code = await runCommand(args, { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t) });
  return { code, stdout, stderr };
}

const VERBS = ['demo', 'monitor', 'emit', 'call', 'list', 'introspect', 'gateway', 'codegen', 'bench'];

describe('ipnbus --help', () => {
  it('lists every verb and exits 0', async () => {
    const r = await run(['--help']);
    expect(r.code).toBe(0);
    for (const v of VERBS) expect(r.stdout).toMatch(new RegExp(`^  ${v}\\s`, 'm'));
  });

  it.each(VERBS)('%s --help prints its usage and exits 0', async (verb) => {
    const r = await run([verb, '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`Usage: ipnbus ${verb}`);
    expect(r.stderr).toBe('');
  });

  it('accepts --help before the verb too', async () => {
    const r = await run(['--help', 'call']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Usage: ipnbus call');
  });
});

describe('usage errors exit 2', () => {
  const cases: [string, string[], RegExp][] = [
    ['no verb', [], /Usage: ipnbus/],
    ['unknown verb', ['frobnicate'], /unknown verb 'frobnicate'/],
    ['unknown option', ['list', '--frob'], /Unknown option '--frob'/i],
    ['call without method', ['call', 'org.example.A', '/a'], /expected DEST PATH IFACE METHOD/],
    ['call with a bad bus name', ['call', 'not a name', '/a', 'org.example.A', 'M'], /not a valid bus name/],
    ['call with a bad path', ['call', 'org.example.A', 'a/b', 'org.example.A', 'M'], /not a valid object path/],
    ['call with a non-integer for i', ['call', 'org.example.A', '/a', 'org.example.A', 'M', 'i', 'x'], /'x' is not a valid 'i'/],
    ['call with an out-of-range byte', ['call', 'org.example.A', '/a', 'org.example.A', 'M', 'y', '300'], /not a valid 'y'/],
    ['call with missing array elements', ['call', 'org.example.A', '/a', 'org.example.A', 'M', 'as', '2', 'a'], /missing argument/],
    ['call with left-over words', ['call', 'org.example.A', '/a', 'org.example.A', 'M', 's', 'a', 'b'], /too many arguments/],
    ['call with a bad signature', ['call', 'org.example.A', '/a', 'org.example.A', 'M', 'a{vs}'], /dict key must be a basic type/],
    ['call with a bad timeout', ['call', '--timeout', 'soon', 'org.example.A', '/a', 'org.example.A', 'M'], /--timeout expects/],
    ['emit with a bad interface', ['emit', '/a', 'nodots', 'M'], /not a valid interface name/],
    ['emit with a bad member', ['emit', '/a', 'org.example.A', '1M'], /not a valid member name/],
    ['monitor with a bad count', ['monitor', '--count', '-3'], /--count|Option '-3'/],
    ['introspect without a destination', ['introspect'], /expected DEST/],
    ['gateway without --listen', ['gateway'], /--listen unix:path=\.\.\. is required/],
    ['gateway with a bad listen address', ['gateway', '--listen', 'tcp:host=x'], /--listen/],
    ['bench with a bad backend', ['bench', '--backend', 'floppy'], /--backend must be/],
    ['bench with both modes', ['bench', '--quick', '--smoke'], /exclude each other/],
    ['demo with zero seconds', ['demo', '--seconds', '0'], /--seconds must be/],
    ['codegen without input', ['codegen'], /expected one FILE/],
    ['--address without value', ['--address'], /--address needs a value/],
  ];
  it.each(cases)('%s', async (_name, args, message) => {
    const r = await run(args);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stdout).toBe('');
  });
});

describe('runtime failures exit 1', () => {
  it('a malformed bus address names the D-Bus error', async () => {
    const r = await run(['--address', 'bogus', 'list']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^ipnbus list: org\.freedesktop\.DBus\.Error\.BadAddress: /);
    expect(r.stdout).toBe('');
  });

  it('a codegen input file that does not exist', async () => {
    const r = await run(['codegen', '/nonexistent/ipnbus-test.xml']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/ENOENT/);
  });
});

describe('as a process', () => {
  it('the built CLI exits 0 on --help and 2 on a usage error', async () => {
    const help = await runCli(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Usage: ipnbus');
    const bad = await runCli(['frobnicate']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/unknown verb 'frobnicate'/);
  });

  it("npm's bin shim runs the same CLI", async () => {
    const r = await runNode(BIN_SHIM, ['call', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Usage: ipnbus call');
    const bad = await runNode(BIN_SHIM, ['list', '--frob']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/Unknown option '--frob'/i);
  });
});
