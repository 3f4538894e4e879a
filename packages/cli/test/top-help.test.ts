import { killChildren } from '@etcdkit/testkit/vitest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COMMANDS, main } from '../src/main.js';
import type { Output } from '../src/output.js';
import { COMMAND_SUMMARIES, quickAnswer, topHelp, version } from '../src/top-help.js';
import { ensureBuilt, runCli } from './run-cli.js';

beforeAll(() => ensureBuilt(), 180_000);
afterAll(() => killChildren());

function captured(): { out: Output; text: () => string } {
  const lines: string[] = [];
  const out = { line: (s: string) => lines.push(s), note: (s: string) => lines.push(s) } as unknown as Output;
  return { out, text: () => lines.join('\n') };
}

describe('etcdkit --help and --version, without loading the commands', () => {
  it('lists every command with its own summary (add a new command to COMMAND_SUMMARIES too)', () => {
    expect(COMMAND_SUMMARIES.map(([name, summary]) => ({ name, summary }))).toEqual(
      COMMANDS.map((c) => ({ name: c.name, summary: c.summary })),
    );
  });

  it('answers only command lines that need no command', () => {
    expect(quickAnswer([])).toBe(topHelp());
    expect(quickAnswer(['--help'])).toBe(topHelp());
    expect(quickAnswer(['-h'])).toBe(topHelp());
    expect(quickAnswer(['--version'])).toBe(version());
    expect(quickAnswer(['--help', '--version'])).toBe(version());
    expect(version()).toMatch(/^\d+\.\d+\.\d+/);
    for (const argv of [['--json'], ['ls', '--help'], ['--bogus'], ['--endpoints', 'x', '--help'], ['-hx']])
      expect(quickAnswer(argv), argv.join(' ')).toBeUndefined();
  });

  it('prints what main() prints for the same command line', async () => {
    for (const argv of [[], ['--help'], ['--version']]) {
      const c = captured();
      expect(await main(argv, { out: c.out })).toBe(0);
      expect(quickAnswer(argv)).toBe(c.text());
    }
  });

  it('does not load the client or gRPC for them, and does for a command', async () => {
    // NODE_DEBUG=esm makes node name every module it loads; the `status` run shows the check sees them.
    for (const argv of [['--help'], ['--version'], []]) {
      const r = await runCli(argv, { env: { NODE_DEBUG: 'esm' } });
      expect(r.code).toBe(0);
      expect(r.stdout).toBe(`${quickAnswer(argv)}\n`);
      expect(r.stderr).toContain('top-help.js');
      expect(r.stderr).not.toMatch(/grpc-js|main\.js|@etcdkit[/\\]core|packages[/\\]core/);
    }
    const loaded = await runCli(['status', '--endpoints', '127.0.0.1:1', '--dial-timeout', '100ms'], {
      env: { NODE_DEBUG: 'esm' },
    });
    expect(loaded.code).toBe(1);
    expect(loaded.stderr).toMatch(/main\.js/);
    expect(loaded.stderr).toMatch(/grpc-js/);
  });
});
