import { existsSync } from 'node:fs';
import { dirname } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isAlive, type SpawnedProcess, spawnTs, until } from '../src/vitest.js';

/**
 * The owner of an etcd is a separate Node process running the real testkit code
 * (fixtures/etcd-owner.ts, run from its sources), so it can be SIGKILLed.
 */
interface Owner {
  owner: SpawnedProcess;
  pids: number[];
  /** The workspace roots (parents of the data dirs). */
  roots: string[];
}

async function startOwner(mode: 'kill' | 'exit' | 'cluster'): Promise<Owner> {
  const owner = spawnTs(new URL('./fixtures/etcd-owner.ts', import.meta.url), [mode]);
  const line = await owner.waitForLine(/^\{/, { what: 'the pids of its etcd', timeoutMs: 60_000 });
  const { pids, dirs } = JSON.parse(line) as { pids: number[]; dirs: string[] };
  // An 'exit' owner may already be gone, and its etcd with it.
  if (mode !== 'exit') expect(pids.every((pid) => isAlive(pid))).toBe(true);
  return { owner, pids, roots: [...new Set(dirs.map((d) => dirname(d)))] };
}

describe('no leaked etcd processes', () => {
  it('kills the etcd and removes its data when its owning process is SIGKILLed', async () => {
    const { owner, pids, roots } = await startOwner('kill');
    await owner.kill('SIGKILL');
    await until(() => pids.every((pid) => !isAlive(pid)), { what: 'etcd to die with its owner' });
    // No hook ran in the killed owner: the watchdog removed its temp dir.
    await until(() => roots.every((r) => !existsSync(r)), { what: 'the data dir to be removed' });
  });

  it('kills every member of a cluster when its owner is SIGKILLed', async () => {
    const { owner, pids, roots } = await startOwner('cluster');
    expect(pids).toHaveLength(2);
    await owner.kill('SIGKILL');
    await until(() => pids.every((pid) => !isAlive(pid)), { what: 'members to die with their owner' });
    await until(() => roots.every((r) => !existsSync(r)), { what: 'the data dirs to be removed' });
  });

  it('kills the etcd and removes its data when the owner exits without closing it', async () => {
    const { owner, pids, roots } = await startOwner('exit');
    const { code } = await owner.exited;
    expect(code).toBe(0);
    // The exit hook kills synchronously, so the pid is gone (or a zombie) right away.
    await until(() => !isAlive(pids[0]!), { what: 'etcd to die at exit' });
    await until(() => roots.every((r) => !existsSync(r)), { what: 'the data dir to be removed' });
  });
});
