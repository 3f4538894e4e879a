import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  EtcdNotFoundError,
  etcdctl,
  probeDocker,
  resetDockerProbe,
  startCluster,
  startEtcd,
  TestkitError,
} from '../src/index.js';

const saved = { ...process.env };

afterEach(() => {
  resetDockerProbe();
  for (const key of ['ETCD_BIN', 'ETCDCTL_BIN', 'ETCD_ENDPOINTS', 'PATH', 'ETCDKIT_DOCKER', 'DOCKER_HOST']) {
    if (saved[key] === undefined) delete process.env[key];
    else process.env[key] = saved[key];
  }
});

const hint = [
  'apt-get install -y etcd-server etcd-client',
  'brew install etcd',
  'Docker engine',
  'ETCD_ENDPOINTS',
];

describe('missing etcd', () => {
  it('throws EtcdNotFoundError with install hints when ETCD_BIN does not exist and no Docker engine answers', async () => {
    delete process.env.ETCD_ENDPOINTS;
    process.env.ETCD_BIN = '/nonexistent/etcd';
    const docker = await probeDocker();
    // Where Docker runs, startEtcd would rightly fall back to it; the docker:false case below still covers the error.
    if (docker.available) return;
    const started = Date.now();
    const error = await startEtcd().catch((e: unknown) => e);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(error).toBeInstanceOf(EtcdNotFoundError);
    const message = (error as Error).message;
    expect(message).toContain('ETCD_BIN=/nonexistent/etcd does not exist');
    for (const h of hint) expect(message).toContain(h);
  });

  it('throws at once with docker: false, also for etcd not on PATH', async () => {
    delete process.env.ETCD_ENDPOINTS;
    delete process.env.ETCD_BIN;
    process.env.PATH = '/nonexistent';
    const started = Date.now();
    const error = await startEtcd({ docker: false }).catch((e: unknown) => e);
    expect(Date.now() - started).toBeLessThan(1000);
    expect(error).toBeInstanceOf(EtcdNotFoundError);
    expect((error as Error).message).toContain('no `etcd` on PATH');
    for (const h of hint) expect((error as Error).message).toContain(h);
  });

  it('startCluster and etcdctl report the missing binary the same way', async () => {
    process.env.ETCD_BIN = '/nonexistent/etcd';
    process.env.ETCDCTL_BIN = '/nonexistent/etcdctl';
    await expect(startCluster()).rejects.toThrow(EtcdNotFoundError);
    await expect(etcdctl(['version'], { endpoints: [] })).rejects.toThrow(
      /ETCDCTL_BIN=\/nonexistent\/etcdctl/,
    );
  });

  it('falls back to testcontainers when a Docker engine answers, and reports its failure without hanging', async () => {
    if ((await probeDocker()).available) return; // a real engine would really start a container
    resetDockerProbe();
    // A docker CLI that claims an engine: testcontainers then finds no runtime and says so.
    const dir = await mkdtemp(join(tmpdir(), 'etcdkit-fake-docker-'));
    try {
      await writeFile(join(dir, 'docker'), '#!/bin/sh\necho 27.0.0\n');
      await chmod(join(dir, 'docker'), 0o755);
      process.env.PATH = `${dir}${delimiter}${process.env.PATH}`;
      process.env.DOCKER_HOST = 'unix:///nonexistent/docker.sock';
      delete process.env.ETCD_ENDPOINTS;
      process.env.ETCD_BIN = '/nonexistent/etcd';
      expect(await probeDocker()).toMatchObject({ available: true });
      const started = Date.now();
      const error = await startEtcd().catch((e: unknown) => e);
      expect(Date.now() - started).toBeLessThan(15_000);
      expect(error).toBeInstanceOf(TestkitError);
      expect(error).not.toBeInstanceOf(EtcdNotFoundError);
      expect((error as Error).message).toMatch(
        /starting etcd in Docker \(quay\.io\/coreos\/etcd:v3\.5\.\d+\) failed/,
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('ETCDKIT_DOCKER=0 turns the Docker fallback off', async () => {
    process.env.ETCDKIT_DOCKER = '0';
    expect(await probeDocker()).toEqual({ available: false, reason: 'ETCDKIT_DOCKER=0' });
  });
});
