import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { freePorts } from '../src/free-port.js';
import { type EtcdServer, EtcdStartError, etcdctl, startEtcd, trackedPids } from '../src/index.js';

// Lets a test hand startEtcd a port that is already taken.
vi.mock('../src/free-port.js', async (importOriginal) => {
  const real = await importOriginal<typeof import('../src/free-port.js')>();
  return { ...real, freePorts: vi.fn(real.freePorts) };
});

describe('startup failures', () => {
  let other: EtcdServer;

  beforeAll(async () => {
    other = await startEtcd({ useEnv: false, name: 'other' });
  });
  afterAll(async () => {
    await other?.close();
  });

  it('retries on new ports when its port is taken, even by another etcd that looks healthy', async () => {
    const takenClientPort = Number(new URL(other.clientUrl).port);
    const [peerPort] = await freePorts(1);
    vi.mocked(freePorts).mockClear().mockResolvedValueOnce([takenClientPort, peerPort!]);
    await using server = await startEtcd({ useEnv: false });
    expect(vi.mocked(freePorts)).toHaveBeenCalledTimes(2);
    expect(server.endpoints[0]).not.toBe(other.endpoints[0]);
    expect((await etcdctl(['put', 'mine', '1'], server)).code).toBe(0);
    expect((await etcdctl(['get', 'mine'], other)).stdout).toBe('');
  });

  it('reports etcd’s own output when it exits during startup', async () => {
    const before = trackedPids().length;
    const error = await startEtcd({ useEnv: false, args: ['--no-such-flag'] }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EtcdStartError);
    expect((error as EtcdStartError).message).toMatch(/exited during startup \(code \d+\)/);
    expect((error as EtcdStartError).log).toMatch(/no-such-flag/);
    expect(trackedPids()).toHaveLength(before);
  });

  it('kills etcd and reports a timeout when it does not become healthy in time', async () => {
    // A stand-in etcd that prints a line and never serves.
    const dir = await mkdtemp(join(tmpdir(), 'etcdkit-fake-'));
    const fake = join(dir, 'etcd');
    await writeFile(fake, '#!/bin/sh\necho "fake etcd is thinking" >&2\nexec sleep 30\n', { mode: 0o755 });
    const saved = process.env.ETCD_BIN;
    process.env.ETCD_BIN = fake;
    try {
      const before = trackedPids().length;
      const error = await startEtcd({ useEnv: false, startTimeoutMs: 300 }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(EtcdStartError);
      expect((error as Error).message).toMatch(
        /did not become healthy at http:\/\/127\.0\.0\.1:\d+ within 300ms/,
      );
      expect((error as EtcdStartError).log).toContain('fake etcd is thinking');
      expect(trackedPids()).toHaveLength(before);
    } finally {
      if (saved === undefined) delete process.env.ETCD_BIN;
      else process.env.ETCD_BIN = saved;
      await rm(dir, { recursive: true, force: true });
    }
  });
});
