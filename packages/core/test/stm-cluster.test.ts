import { uniquePrefix, useCluster } from '@etcdkit/testkit/vitest';
import { describe, expect, it } from 'vitest';
import type { Etcd } from '../src/index.js';
import { checkTotalAtEveryRevision, openAccounts, runTransfers } from './stm-workload.js';

const t = useCluster({ members: 3, client: { dialTimeoutMs: 2000 } });

/** A client whose endpoint list starts at member `rotate % 3`, so workers spread over the members. */
function client(rotate: number): Etcd {
  const eps = [...t.endpoints];
  return t.client({ endpoints: [...eps.slice(rotate % 3), ...eps.slice(0, rotate % 3)] });
}

describe('etcd.stm() on a 3-member cluster', () => {
  for (const isolation of ['serializable-snapshot', 'repeatable-read'] as const) {
    it(`${isolation}: 8 workers x 100 transfers keep the total at every revision while the leader is killed mid-run`, async () => {
      const admin = client(0);
      const p = uniquePrefix(`cluster-bank-${isolation}`);
      const start = await openAccounts(admin, p, 10, 100);
      const workers = Array.from({ length: 8 }, (_, i) => client(i));
      let killing: Promise<void> | undefined;
      const stats = await runTransfers(workers, p, 10, 100, isolation, (commits) => {
        if (commits !== 250) return;
        killing = (async () => {
          const leader = await t.cluster.leader();
          await leader!.kill();
          await t.cluster.waitForLeader();
          await leader!.restart();
        })();
      });
      expect(killing).toBeDefined(); // the leader was killed mid-run
      await killing;
      expect(stats.commits).toBe(800);
      await t.cluster.waitHealthy();
      const revisions = await checkTotalAtEveryRevision(admin, p, start, 1000);
      // a commit whose answer was lost may have been applied too
      expect(revisions).toBeGreaterThanOrEqual(800);
      expect(revisions).toBeLessThanOrEqual(800 + stats.unknown);
    });
  }
});
