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
    [['ls', '--cert', '/tmp/c.pem'], /--cert needs --key \(or ETCDCTL_KEY\)/],
    [
      ['ls', '--cacert', '/nonexistent/ca.pem'],
      /cannot read the --cacert file "\/nonexistent\/ca.pem" \(ENOENT\)/,
    ],
    [['ls', '--endpoints', 'http://a/b'], /"http:\/\/a\/b" is not a valid etcd endpoint \(it has a path/],
    [['ls', '--dial-timeout', 'x'], /--dial-timeout takes a duration/],
    [['ls', '-e', ''], /--endpoints must name at least one endpoint/],
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
      /^etcdkit: cannot reach etcd at 127\.0\.0\.1:1 \(.*ECONNREFUSED.*\)\. Start one with `etcdkit dev` or pass --endpoints \(-e\)\.$/,
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

  it("etcdctl's ETCDCTL_ENDPOINTS, ETCDCTL_USER and ETCDCTL_PASSWORD are the defaults; flags win", async () => {
    const endpoints = t.endpoints.join(',');
    const user = await runCli(['ls'], {
      env: { ETCDCTL_ENDPOINTS: endpoints, ETCDCTL_USER: 'root:root-pw' },
    });
    expect(user).toMatchObject({ code: 0, stderr: '' });
    const password = await runCli(['ls'], {
      env: { ETCDCTL_ENDPOINTS: endpoints, ETCDCTL_USER: 'root', ETCDCTL_PASSWORD: 'root-pw' },
    });
    expect(password).toMatchObject({ code: 0, stderr: '' });
    // --user beats ETCDCTL_USER.
    const flagWins = await runCli(['ls', '--user', 'root:wrong'], {
      env: { ETCDCTL_ENDPOINTS: endpoints, ETCDCTL_USER: 'root:root-pw' },
    });
    expect(flagWins.code).toBe(1);
    expect(expectOneLineError(flagWins.stderr)).toMatch(/authentication failed for user "root"/);
    // ETCD_ENDPOINTS (etcdkit's own, printed by `etcdkit dev`) beats ETCDCTL_ENDPOINTS.
    const ours = await runCli(['ls', '--user', 'root:root-pw'], {
      env: { ETCD_ENDPOINTS: endpoints, ETCDCTL_ENDPOINTS: '127.0.0.1:1' },
    });
    expect(ours).toMatchObject({ code: 0, stderr: '' });
    const theirs = await runCli(['ls', '--user', 'root:root-pw'], {
      env: { ETCDCTL_ENDPOINTS: '127.0.0.1:1', ETCDCTL_DIAL_TIMEOUT: '300ms' },
    });
    expect(theirs.code).toBe(1);
    expect(expectOneLineError(theirs.stderr)).toMatch(/cannot reach etcd at 127\.0\.0\.1:1 /);
    // -e is --endpoints, and beats both.
    const short = await runCli(['-e', endpoints, 'ls', '--user', 'root:root-pw'], {
      env: { ETCD_ENDPOINTS: '127.0.0.1:1', ETCDCTL_ENDPOINTS: '127.0.0.1:1' },
    });
    expect(short).toMatchObject({ code: 0, stderr: '' });
    const after = await runCli(['ls', '-e', endpoints, '--user', 'root:root-pw']);
    expect(after).toMatchObject({ code: 0, stderr: '' });
  });

  it('--json: errors are one JSON line on stderr with code, name and message; exit codes unchanged', async () => {
    const usage = await runCli(['ls', '--bogus', '--json']);
    expect(usage).toMatchObject({ code: 2, stdout: '' });
    expect(JSON.parse(usage.stderr)).toEqual({
      error: {
        code: 'USAGE',
        name: 'UsageError',
        message: expect.stringMatching(/unknown option '--bogus'/),
      },
    });
    const unreachable = await runCli(['--json', 'ls', '-e', '127.0.0.1:1', '--dial-timeout', '300ms']);
    expect(unreachable).toMatchObject({ code: 1, stdout: '' });
    const e = (JSON.parse(unreachable.stderr) as { error: { code: string; name: string; message: string } })
      .error;
    expect(e.message).toMatch(/^cannot reach etcd at 127\.0\.0\.1:1 /);
    expect(['UNAVAILABLE', 'DIAL_TIMEOUT']).toContain(e.code);
    expect(e.name).toMatch(/Error$/);
    const denied = await runCli(['ls', '--json', '-e', t.endpoints.join(','), '--user', 'root:wrong']);
    expect(denied.code).toBe(1);
    expect(JSON.parse(denied.stderr)).toMatchObject({ error: { code: 'AUTH_FAILED' } });
    // A --json that belongs to the command `lock` runs does not make etcdkit's errors JSON.
    const plain = await runCli(['lock', '--bogus', '--', 'echo', '--json']);
    expect(plain.code).toBe(2);
    expect(expectOneLineError(plain.stderr)).toMatch(/unknown option '--bogus'/);
  });
});
