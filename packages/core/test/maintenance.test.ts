import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { etcdctl } from '@etcdkit/testkit';
import { uniquePrefix, useEtcd } from '@etcdkit/testkit/vitest';
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../src/index.js';

const t = useEtcd();

describe('maintenance', () => {
  it('saves a snapshot that etcdctl accepts', async () => {
    const etcd = t.client();
    for (let i = 0; i < 50; i++) await etcd.put(`${uniquePrefix('snap')}k`, 'x'.repeat(100));
    const dir = await mkdtemp(join(tmpdir(), 'etcdkit-snap-'));
    try {
      const file = join(dir, 'db');
      const { bytes } = await etcd.maintenance.snapshotToFile(file);
      expect(bytes).toBeGreaterThan(0);
      expect((await stat(file)).size).toBe(bytes);
      const check = await etcdctl(['snapshot', 'status', file, '-w', 'json'], {
        endpoints: t.server.endpoints,
      });
      expect(check.code).toBe(0);
      expect(JSON.parse(check.stdout).totalKey).toBeGreaterThan(0);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('defragments, reports status and hashes, and lists no alarms', async () => {
    const etcd = t.client();
    const p = uniquePrefix('defrag');
    for (let i = 0; i < 100; i++) await etcd.put(`${p}${i}`, 'y'.repeat(1000));
    const last = await etcd.delete({ prefix: p });
    await etcd.compact(last.revision, { physical: true });
    await etcd.maintenance.defragment();
    const status = await etcd.maintenance.status();
    expect(status.isLeader).toBe(true);
    expect(status.dbSizeInUse).toBeLessThanOrEqual(status.dbSize);
    expect(typeof (await etcd.maintenance.hash())).toBe('number');
    expect(await etcd.maintenance.alarms()).toEqual([]);
    expect(await etcd.maintenance.disarm()).toEqual([]);
    expect((await etcd.maintenance.health()).healthy).toBe(true);
    await expect(etcd.maintenance.status({ endpoint: 'nowhere:1' })).rejects.toBeInstanceOf(
      InvalidArgumentError,
    );
  });
});
