import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Etcd } from '@etcdkit/core';
import { spawnTs, uniquePrefix, until, useEtcd } from '@etcdkit/testkit/vitest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Change,
  decoders,
  LastKnownGoodError,
  type MirrorStatus,
  mirror,
  type ResyncEvent,
} from '../src/index.js';

const t = useEtcd();
let etcd: Etcd;
let dir: string;

beforeAll(async () => {
  etcd = t.etcd;
  dir = await mkdtemp(join(tmpdir(), 'config-sync-lkg-'));
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** What fixtures/mirror-child.ts prints, one JSON line per status change and per snapshot. */
interface Report {
  event: string;
  status: string;
  source: string;
  values: Record<string, string>;
}

/** Runs fixtures/mirror-child.ts in its own node process, etcdkit from its sources. */
function spawnMirrorChild(endpoint: string, prefix: string, file: string) {
  const child = spawnTs(new URL('./fixtures/mirror-child.ts', import.meta.url), [endpoint, prefix, file]);
  return {
    ...child,
    /** The first report (printed already or to come) that `match` accepts. */
    async waitFor(match: (r: Report) => boolean, what: string): Promise<Report> {
      const line = await child.waitForLine((l) => match(JSON.parse(l) as Report), {
        what,
        timeoutMs: 30_000,
      });
      return JSON.parse(line) as Report;
    },
    stop: () => child.kill('SIGTERM'),
  };
}

interface FileEntry {
  key: string;
  modRevision: string;
  value?: string;
  base64?: string;
}

async function readEntries(file: string): Promise<{ revision: string; entries: FileEntry[] }> {
  return JSON.parse(await readFile(file, 'utf8'));
}

/** A client for an address where nothing listens. */
function unreachable(): Etcd {
  return new Etcd({ endpoints: ['127.0.0.1:1'], dialTimeoutMs: 300 });
}

describe('last-known-good file', () => {
  it('is rewritten atomically after every change, with text and binary values', async () => {
    const p = uniquePrefix('write');
    const file = join(dir, 'write', 'config.json');
    await etcd.put(`${p}a`, 'text');
    await etcd.put(`${p}bin`, Buffer.from([0, 0xff]));
    const cfg = await mirror(etcd, p, { lastKnownGoodFile: file, decode: decoders.buffer });
    try {
      await until(async () => (await readEntries(file).catch(() => undefined))?.entries.length === 2, {
        what: 'the file',
      });
      const first = await readEntries(file);
      expect(first.revision).toBe(String(cfg.revision));
      expect(first.entries.find((e) => e.key === 'a')).toMatchObject({ value: 'text' });
      expect(first.entries.find((e) => e.key === 'bin')).toMatchObject({ base64: 'AP8=' });
      const r = await etcd.put(`${p}b`, 'more');
      await etcd.delete(`${p}a`);
      await until(
        async () => {
          const f = await readEntries(file);
          return (
            f.entries.length === 2 &&
            f.entries.some((e) => e.key === 'b' && e.modRevision === String(r.revision))
          );
        },
        { what: 'the rewritten file' },
      );
    } finally {
      await cfg.close();
    }
    // Nothing but the file itself is left behind.
    expect(await readdir(join(dir, 'write'))).toEqual(['config.json']);
  });

  it('starts a mirror from the file while etcd is unreachable', async () => {
    const p = uniquePrefix('start-from-file');
    const file = join(dir, 'start.json');
    await etcd.put(`${p}db/url`, 'pg://a');
    const first = await mirror(etcd, p, { lastKnownGoodFile: file });
    await until(async () => (await readEntries(file).catch(() => undefined))?.entries.length === 1, {
      what: 'the file',
    });
    const revision = first.revision;
    await first.close();

    const down = unreachable();
    try {
      const cfg = await mirror(down, p, { lastKnownGoodFile: file, initial: { 'db/url': 'unused default' } });
      expect(cfg.status).toBe('stale');
      expect(cfg.source).toBe('last-known-good');
      expect(cfg.revision).toBe(revision);
      expect(cfg.toObject()).toEqual({ db: { url: 'pg://a' } });
      await cfg.close();
    } finally {
      await down.close();
    }
  });

  it('refuses a missing, torn or foreign file with a LastKnownGoodError, unless initial values are given', async () => {
    const down = unreachable();
    try {
      const missing = join(dir, 'missing.json');
      await expect(mirror(down, 'x/', { lastKnownGoodFile: missing })).rejects.toThrow(
        /no last-known-good file/,
      );
      const torn = join(dir, 'torn.json');
      await writeFile(torn, '{"format": "etcdkit.config-sync.last-known-good/1", "entr');
      const err = await mirror(down, 'x/', { lastKnownGoodFile: torn }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(LastKnownGoodError);
      expect((err as Error).message).toMatch(/etcd is unreachable.*not JSON/);
      // A file written for another prefix is never served.
      const p = uniquePrefix('foreign');
      const foreign = join(dir, 'foreign.json');
      const cfg = await mirror(etcd, p, { lastKnownGoodFile: foreign });
      await until(async () => (await readEntries(foreign).catch(() => undefined)) !== undefined, {
        what: 'the file',
      });
      await cfg.close();
      await expect(mirror(down, 'other/', { lastKnownGoodFile: foreign })).rejects.toThrow(
        /written for prefix/,
      );
      // With initial values the mirror still starts, from those.
      const fallback = await mirror(down, 'x/', { lastKnownGoodFile: torn, initial: new Map([['k', 'v']]) });
      expect(fallback.source).toBe('initial');
      expect(fallback.get('k')).toBe('v');
      await fallback.close();
    } finally {
      await down.close();
    }
  });

  it('catches up when etcd returns: missed puts and deletes, status stale → syncing → live', async () => {
    const p = uniquePrefix('recover');
    const file = join(dir, 'recover.json');
    await etcd.put(`${p}same`, '1');
    await etcd.put(`${p}changed`, 'old');
    await etcd.put(`${p}gone`, 'x');
    const first = await mirror(etcd, p, { lastKnownGoodFile: file });
    await until(async () => (await readEntries(file).catch(() => undefined))?.entries.length === 3, {
      what: 'the file',
    });
    await first.close();
    await etcd.put(`${p}changed`, 'new');
    await etcd.delete(`${p}gone`);
    await etcd.put(`${p}added`, '+');

    await t.server.stop();
    const own = new Etcd({ endpoints: t.endpoints, dialTimeoutMs: 500 });
    try {
      const cfg = await mirror(own, p, { lastKnownGoodFile: file });
      const statuses: MirrorStatus[] = [];
      cfg.on('status', (s) => statuses.push(s));
      const resyncs: ResyncEvent[] = [];
      cfg.on('resync', (e) => resyncs.push(e));
      const it = cfg.changes();
      expect(cfg.status).toBe('stale');
      expect(Object.fromEntries(cfg.snapshot())).toEqual({ same: '1', changed: 'old', gone: 'x' });

      await t.server.restart();
      const got: Change<string>[] = [];
      for (let i = 0; i < 3; i++) got.push((await it.next()).value as Change<string>);
      expect(got.map((c) => `${c.type} ${c.key} ${c.prev} → ${c.value}`).sort()).toEqual([
        'delete gone x → undefined',
        'put added undefined → +',
        'put changed old → new',
      ]);
      await until(() => cfg.status === 'live', { what: 'live' });
      expect(statuses).toEqual(['syncing', 'live']);
      expect(cfg.source).toBe('etcd');
      expect(resyncs).toMatchObject([{ reason: 'recovered', puts: 2, deletes: 1 }]);
      await until(async () => (await readEntries(file)).entries.some((e) => e.key === 'added'), {
        what: 'the file to catch up',
      });
      await cfg.close();
    } finally {
      await own.close();
    }
  });

  it('lets a process started with etcd down come up from its file and go live when etcd returns', async () => {
    const p = uniquePrefix('process');
    const file = join(dir, 'process.json');
    await etcd.put(`${p}mode`, 'blue');
    await etcd.put(`${p}limit`, '10');
    const first = await mirror(etcd, p, { lastKnownGoodFile: file });
    await until(async () => (await readEntries(file).catch(() => undefined))?.entries.length === 2, {
      what: 'the file',
    });
    await first.close();
    await etcd.put(`${p}limit`, '20');

    await t.server.stop();
    const child = spawnMirrorChild(t.endpoints[0]!, p, file);
    try {
      const started = await child.waitFor((r) => r.event === 'started', 'the child to start');
      expect(started).toMatchObject({
        status: 'stale',
        source: 'last-known-good',
        values: { mode: 'blue', limit: '10' },
      });

      await t.server.restart();
      await child.waitFor((r) => r.status === 'live', 'the child to go live');
      await child.waitFor((r) => r.event === 'snapshot' && r.values.limit === '20', 'the missed change');
      await etcd.put(`${p}mode`, 'green');
      const latest = await child.waitFor((r) => r.values.mode === 'green', 'a change made while live');
      expect(latest.values).toEqual({ mode: 'green', limit: '20' });
      expect(latest.source).toBe('etcd');
    } finally {
      await child.stop();
    }
    expect(child.child.exitCode).toBe(0);
  });
});
