import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type EtcdCluster, etcdctl, startCluster } from '../src/index.js';
import { isAlive } from '../src/vitest.js';

const quick = ['--dial-timeout=1s', '--command-timeout=3s'];

describe('startCluster', () => {
  let cluster: EtcdCluster;

  beforeAll(async () => {
    cluster = await startCluster();
  });
  afterAll(async () => {
    await cluster?.close();
  });

  it('starts three healthy members that agree on one leader', async () => {
    expect(cluster.members.map((m) => m.name)).toEqual(['member-0', 'member-1', 'member-2']);
    expect(new Set(cluster.endpoints).size).toBe(3);
    const list = await etcdctl(['member', 'list', ...quick], cluster);
    expect(list.code).toBe(0);
    expect(list.stdout.trim().split('\n')).toHaveLength(3);
    expect(cluster.members).toContain(await cluster.leader());
  });

  it('keeps serving with one member killed, and the member rejoins with the data it missed', async () => {
    const leader = await cluster.leader();
    // Kill the leader: the hardest case, it forces an election.
    const victim = leader ?? cluster.members[0]!;
    const pid = victim.pid!;
    await victim.kill();
    expect(victim.running).toBe(false);
    expect(isAlive(pid)).toBe(false);

    const newLeader = await cluster.waitForLeader();
    expect(newLeader).not.toBe(victim);
    const others = cluster.members.filter((m) => m !== victim);
    const put = await etcdctl(['put', 'while-down', 'written', ...quick], {
      endpoints: others.map((m) => m.endpoint),
    });
    expect(put).toMatchObject({ code: 0, stdout: 'OK\n' });

    await victim.restart();
    expect(victim.running).toBe(true);
    await cluster.waitHealthy();
    // A serializable read answers from the member's own store: it has caught up.
    const get = await etcdctl(['get', 'while-down', '--print-value-only', '--consistency=s', ...quick], {
      endpoints: [victim.endpoint],
    });
    expect(get.stdout).toBe('written\n');
  });

  it('restores quorum when two members come back together', async () => {
    const [a, b] = cluster.members;
    await Promise.all([a!.stop(), b!.kill()]);
    const noQuorum = await etcdctl(['put', 'k', 'v', '--dial-timeout=300ms', '--command-timeout=700ms'], {
      endpoints: [cluster.members[2]!.endpoint],
    });
    expect(noQuorum.code).not.toBe(0);
    await Promise.all([a!.restart(), b!.restart()]);
    await cluster.waitHealthy();
    expect((await etcdctl(['put', 'k', 'v', ...quick], cluster)).code).toBe(0);
  });
});
