import { useEtcd } from '@etcdkit/testkit/vitest';
import { beforeAll, describe, expect, it } from 'vitest';
import { main } from '../src/index.js';
import { ensureBuilt, expectOneLineError, runCli } from './run-cli.js';

/** Run main() in this process, capturing what it writes. */
async function inProcess(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await main(args, {
    out: {
      line: (l) => {
        stdout += `${l}\n`;
      },
      note: (l) => {
        stderr += `${l}\n`;
      },
    },
  });
  return { code, stdout, stderr };
}

describe('help and usage errors', () => {
  beforeAll(() => ensureBuilt(), 180_000);

  it('prints help (exit 0) for etcdkit, --help and <command> --help', async () => {
    for (const args of [[], ['--help'], ['-h']]) {
      const r = await inProcess(args);
      expect(r.code).toBe(0);
      for (const c of ['lock', 'elect', 'mirror', 'services', 'ls', 'status', 'dev'])
        expect(r.stdout).toMatch(new RegExp(`^  ${c} `, 'm'));
    }
    const lock = await runCli(['lock', '--help']);
    expect(lock.code).toBe(0);
    expect(lock.stdout).toContain('ETCDKIT_FENCING_TOKEN');
    expect(lock.stdout).toContain('--endpoints');
    const v = await runCli(['--version']);
    expect(v).toMatchObject({ code: 0, stderr: '' });
    expect(v.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('a bad flag, an unknown command: one line on stderr, exit 2 (spawned)', async () => {
    const a = await runCli(['ls', '--bogus']);
    expect(a.code).toBe(2);
    expect(a.stdout).toBe('');
    expect(expectOneLineError(a.stderr)).toMatch(/unknown option '--bogus'.*etcdkit ls --help/);
    const b = await runCli(['frobnicate']);
    expect(b.code).toBe(2);
    expect(expectOneLineError(b.stderr)).toMatch(/unknown command "frobnicate"/);
  });

  // The same code path as the binary, run in this process for speed.
  it.each([
    [['--bogus'], /unknown option '--bogus'/],
    [['ls', '--bogus'], /unknown option '--bogus'.*etcdkit ls --help/],
    [['frobnicate'], /unknown command "frobnicate"/],
    [['lock'], /lock needs a lock name/],
    [['lock', 'x', '--ttl', '0', '--', 'true'], /--ttl must be a whole number of seconds >= 1/],
    [['lock', 'x', '--timeout', 'soon', '--', 'true'], /--timeout takes a duration/],
    [['lock', 'x', '--'], /no command after --/],
    [['elect'], /elect needs an election name/],
    [['elect', '--observe', 'x', 'y'], /unexpected argument "y"/],
    [['dev', '--members', '0'], /--members must be a whole number from 1 to 9/],
    [['ls', '--user', 'alice'], /no password for user "alice".*ETCDKIT_PASSWORD/],
    [['ls', '--cert', '/tmp/c.pem'], /--cert and --key go together/],
    [
      ['ls', '--cacert', '/nonexistent/ca.pem'],
      /cannot read the --cacert file "\/nonexistent\/ca.pem" \(ENOENT\)/,
    ],
    [['ls', '--endpoints', 'http://a/b'], /"http:\/\/a\/b" is not a valid etcd endpoint \(it has a path/],
    [['ls', '--dial-timeout', 'x'], /--dial-timeout takes a duration/],
  ])('etcdkit %j: one line, exit 2', async (args, message) => {
    const r = await inProcess(args);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(expectOneLineError(r.stderr)).toMatch(message);
  });
});

describe('connection and authentication errors', () => {
  const t = useEtcd({ useEnv: false });
  beforeAll(async () => {
    await ensureBuilt();
    const etcd = t.client();
    try {
      await etcd.auth.userAdd('root', 'root-pw');
      await etcd.auth.userGrantRole('root', 'root');
      await etcd.auth.enable();
    } finally {
      await etcd.close();
    }
  }, 180_000);

  it('an unreachable etcd is one line that says what to do (exit 1); --debug adds the stack', async () => {
    const r = await runCli(['ls', '--endpoints', '127.0.0.1:1', '--dial-timeout', '500ms']);
    expect(r.code).toBe(1);
    expect(expectOneLineError(r.stderr)).toMatch(
      /^etcdkit: cannot reach etcd at 127\.0\.0\.1:1 \(.*ECONNREFUSED.*\)\. Start one with `etcdkit dev` or pass --endpoints\.$/,
    );
    const d = await runCli(['ls', '--endpoints', '127.0.0.1:1', '--dial-timeout', '500ms', '--debug']);
    expect(d.code).toBe(1);
    expect(d.stderr.split('\n')[0]).toMatch(/^etcdkit: cannot reach etcd/);
    expect(d.stderr).toMatch(/\n\s+at /);
  });

  it('ETCD_ENDPOINTS is the default endpoint list', async () => {
    const r = await runCli(['ls', '--dial-timeout', '500ms'], { env: { ETCD_ENDPOINTS: '127.0.0.1:1' } });
    expect(r.code).toBe(1);
    expect(expectOneLineError(r.stderr)).toMatch(/cannot reach etcd at 127\.0\.0\.1:1 /);
    const ok = await runCli(['ls'], {
      env: { ETCD_ENDPOINTS: t.endpoints.join(','), ETCDKIT_PASSWORD: 'root-pw' },
    });
    // Auth is on: without --user the read is refused, as one line.
    expect(ok.code).toBe(1);
    expect(expectOneLineError(ok.stderr)).toMatch(/requires authentication: pass --user/);
  });

  it('--user name:password and --user name with ETCDKIT_PASSWORD authenticate; a wrong password is one line', async () => {
    const endpoints = t.endpoints.join(',');
    const good = await runCli(['--endpoints', endpoints, '--user', 'root:root-pw', 'ls']);
    expect(good).toMatchObject({ code: 0, stderr: '' });
    const env = await runCli(['--endpoints', endpoints, '--user', 'root', 'ls'], {
      env: { ETCDKIT_PASSWORD: 'root-pw' },
    });
    expect(env).toMatchObject({ code: 0, stderr: '' });
    const bad = await runCli(['--endpoints', endpoints, '--user', 'root:wrong', 'ls']);
    expect(bad.code).toBe(1);
    expect(expectOneLineError(bad.stderr)).toMatch(/authentication failed for user "root".*--user/);
  });
});
