import { describe, expect, it } from 'vitest';
import { loadTestkit } from '../src/commands/dev.js';
import { CliError } from '../src/errors.js';

// testkit is an optional peer of the CLI; the pack check installs the CLI without it and runs
// `etcdkit dev` for real. These cover how a failed load is reported.
describe('etcdkit dev: loading @etcdkit/testkit', () => {
  it('loads it when installed', async () => {
    const testkit = await loadTestkit();
    expect(typeof testkit.startEtcd).toBe('function');
  });

  it('says how to install it when the package is missing', async () => {
    const missing = Object.assign(
      new Error(
        "Cannot find package '@etcdkit/testkit' imported from /app/node_modules/@etcdkit/cli/dist/commands/dev.js",
      ),
      { code: 'ERR_MODULE_NOT_FOUND' },
    );
    const err = await loadTestkit(() => Promise.reject(missing)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CliError);
    expect((err as CliError).message).toMatch(/needs @etcdkit\/testkit.*npm install @etcdkit\/testkit/);
    expect((err as CliError).cause).toBe(missing);
  });

  it('reports any other failure as it is', async () => {
    const broken = Object.assign(new Error("Cannot find package 'ssh2' imported from /x.js"), {
      code: 'ERR_MODULE_NOT_FOUND',
    });
    await expect(loadTestkit(() => Promise.reject(broken))).rejects.toBe(broken);
  });
});
