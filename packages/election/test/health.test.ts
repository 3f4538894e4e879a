import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { DIAGNOSTICS_CHANNELS, type SessionMessage } from '@etcdkit/core';
import { uniqueName, until, useEtcd } from '@etcdkit/testkit/vitest';
import { describe, expect, it, vi } from 'vitest';
import { runForLeader } from '../src/index.js';

// An etcd of its own: these tests pause it.
const fx = useEtcd();

const lead = (signal: AbortSignal) => new Promise((resolve) => signal.addEventListener('abort', resolve));

describe('runner.health()', () => {
  it('healthy while leading; unhealthy while the leader’s keepalive is overdue (etcd paused); healthy once stopped', async () => {
    const etcd = fx.client({ requestTimeoutMs: 1000, dialTimeoutMs: 1000 });
    const runner = runForLeader({
      etcd,
      name: uniqueName('health'),
      value: 'a',
      ttl: 6,
      onLeading: lead,
      onError: () => {},
    });
    try {
      await until(() => runner.leading, { what: 'leadership' });
      const ok = runner.health();
      expect(ok).toMatchObject({ ok: true, leader: true, stopped: false });
      expect(ok.leaseRemainingMs).toBeGreaterThan(0);
      fx.server.pause();
      try {
        const h = await until(
          () => {
            const x = runner.health();
            return !x.ok && x;
          },
          { what: 'the keepalive to be overdue', timeoutMs: 15_000, intervalMs: 10 },
        );
        expect(h.leader).toBe(true);
        expect(h.problem).toMatch(/keepalive overdue/);
        expect(h.sinceRenewalMs).toBeGreaterThan(3000);
      } finally {
        fx.server.resume();
      }
    } finally {
      await runner.stop();
    }
    expect(runner.health()).toEqual({ ok: true, leader: false, stopped: true });
  });
});

describe('an outage under leader-runners without onError', () => {
  it('prints nothing without a logger; with one, each condition is logged once per window', async () => {
    const warnings: Error[] = [];
    const onWarning = (w: Error) => warnings.push(w);
    process.on('warning', onWarning);
    const stderr = vi.spyOn(process.stderr, 'write');
    const lines: { obj: Record<string, unknown>; msg?: string | undefined }[] = [];
    const at = (obj: object, msg?: string) => void lines.push({ obj: obj as Record<string, unknown>, msg });
    const logger = { debug: at, info: at, warn: at, error: at };
    const lost: SessionMessage[] = [];
    const onSession = (m: unknown) => {
      if ((m as SessionMessage).type === 'lost') lost.push(m as SessionMessage);
    };
    subscribe(DIAGNOSTICS_CHANNELS.session, onSession);
    const name = uniqueName('outage');
    const options = { requestTimeoutMs: 1000, dialTimeoutMs: 500 };
    const silent = runForLeader({ etcd: fx.client(options), name, value: 'silent', ttl: 3, onLeading: lead });
    const logged = runForLeader({
      etcd: fx.client({ ...options, logger, logIntervalMs: 60_000 }),
      name,
      value: 'logged',
      ttl: 3,
      onLeading: lead,
    });
    try {
      await until(() => silent.leading || logged.leading, { what: 'a leader' });
      fx.server.pause();
      try {
        // Both sessions are lost, then each runner fails to start a new one, again and again.
        await until(() => lost.length >= 2, { what: 'both sessions lost', timeoutMs: 15_000 });
        await until(
          () => lines.filter((l) => String(l.obj.condition).startsWith('leader-runner:')).length >= 2,
          {
            what: 'the logged runner to report its failures',
            timeoutMs: 15_000,
          },
        );
      } finally {
        fx.server.resume();
      }
      await until(() => silent.leading || logged.leading, { what: 'a leader again', timeoutMs: 30_000 });
      expect(warnings).toEqual([]);
      const ours = stderr.mock.calls.map((c) => String(c[0])).filter((s) => /etcdkit|leader/i.test(s));
      expect(ours).toEqual([]);
      const counts = new Map<unknown, number>();
      for (const l of lines) counts.set(l.obj.condition, (counts.get(l.obj.condition) ?? 0) + 1);
      for (const [condition, n] of counts) expect({ condition, n }).toEqual({ condition, n: 1 });
    } finally {
      unsubscribe(DIAGNOSTICS_CHANNELS.session, onSession);
      process.off('warning', onWarning);
      stderr.mockRestore();
      await silent.stop();
      await logged.stop();
    }
  });
});
