import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { bashCompletion, zshCompletion } from '../src/commands/completion.js';
import { COMMANDS } from '../src/main.js';
import { ensureBuilt, expectOneLineError, runCli } from './run-cli.js';

beforeAll(ensureBuilt, 180_000);

/** What bash offers for the command line `words` (the last word is the one being completed). */
async function complete(script: string, words: readonly string[]): Promise<string[]> {
  const quoted = words.map((w) => `'${w}'`).join(' ');
  const program = `${script}\nCOMP_WORDS=(etcdkit ${quoted}); COMP_CWORD=${words.length}; _etcdkit; printf '%s\\n' "\${COMPREPLY[@]}"`;
  const { stdout } = await promisify(execFile)('bash', ['--norc', '--noprofile', '-c', program]);
  return stdout.split('\n').filter(Boolean);
}

describe('etcdkit completion', () => {
  it('prints a bash script that completes commands, global options and each command’s options', async () => {
    const r = await runCli(['completion', 'bash']);
    expect(r).toMatchObject({ code: 0, stderr: '' });
    const script = r.stdout;
    expect(script).toBe(`${bashCompletion(COMMANDS)}\n`);
    expect(await complete(script, [''])).toEqual(COMMANDS.map((c) => c.name));
    expect(await complete(script, ['l'])).toEqual(['lock', 'ls']);
    expect(await complete(script, ['--end'])).toEqual(['--endpoints']);
    // The value of -e is not the command: `ls` after it gets ls's options.
    expect(await complete(script, ['-e', 'host:2379', 'ls', '--pa'])).toEqual(['--page-size']);
    expect(await complete(script, ['lock', '--in'])).toEqual(['--inspect']);
    expect(await complete(script, ['elect', '-'])).toEqual(
      expect.arrayContaining(['--observe', '-l', '--ttl', '--endpoints', '--json']),
    );
    // A value is not completed from the word lists; after -- the shell's default takes over.
    expect(await complete(script, ['--dial-timeout', ''])).toEqual([]);
    expect(await complete(script, ['lock', 'x', '--', 'l'])).toEqual([]);
  });

  it('prints a zsh script that loads the bash one through bashcompinit', async () => {
    const r = await runCli(['completion', 'zsh']);
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(r.stdout).toBe(`${zshCompletion(COMMANDS)}\n`);
    expect(r.stdout).toContain('bashcompinit');
    expect(r.stdout).toContain(bashCompletion(COMMANDS));
  });

  it('needs bash or zsh', async () => {
    for (const args of [['completion'], ['completion', 'fish'], ['completion', 'bash', 'x']]) {
      const r = await runCli(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(expectOneLineError(r.stderr)).toMatch(
        /completion needs the shell: bash or zsh|unexpected argument/,
      );
    }
  });
});
