import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as core from '@etcdkit/core';
import { ETCD_ERROR_CODES, EtcdError, type EtcdErrorCode } from '@etcdkit/core';
import { describe, expect, it } from 'vitest';
import * as cli from '../../cli/src/index.js';
import * as configSync from '../../config-sync/src/index.js';
import * as discovery from '../../discovery/src/index.js';
import * as election from '../../election/src/index.js';
import * as lock from '../../lock/src/index.js';
import * as recipes from '../../recipes/src/index.js';
import * as testkit from '../../testkit/src/index.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));

/** Every .ts file under packages/<pkg>/src. */
function sources(): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.ts')) out.push(p);
    }
  };
  for (const pkg of readdirSync(join(root, 'packages'))) {
    const src = join(root, 'packages', pkg, 'src');
    try {
      walk(src);
    } catch {
      // a package without src/
    }
  }
  return out;
}

/**
 * Constructions of a built-in error class (thrown or handed on as a reason or cause) and classes
 * extending Error directly. etcdkit throws EtcdErrors only; testkit, which core's tests depend on
 * (so it cannot depend on core), throws its own TestkitError hierarchy.
 */
const FORBIDDEN =
  /new (Error|TypeError|RangeError|SyntaxError|ReferenceError|URIError|EvalError)\(|class \w+ extends (Error|TypeError|RangeError)\b/g;

interface Exception {
  file: string;
  /** The offending text, as found. */
  text: string;
  reason: string;
}

/** Each entry must still match (a stale entry fails), so the list only shrinks. */
const EXCEPTIONS: Exception[] = [
  {
    file: 'packages/core/src/errors.ts',
    text: 'class EtcdError extends Error',
    reason: 'the root of the hierarchy',
  },
  {
    file: 'packages/core/src/internal/status.ts',
    text: 'class StatusError extends Error',
    reason:
      "the transports' own failures in gRPC's terms (the gateway's, a gRPC call cancelled at its deadline), as grpc-js raises its own: every one is mapped by toEtcdError before it leaves core",
  },
  {
    file: 'packages/testkit/src/errors.ts',
    text: 'class TestkitError extends Error',
    reason: "testkit's own root: core depends on testkit for its tests, so testkit cannot extend EtcdError",
  },
];

describe('error contract', () => {
  it('no package source throws (or hands on) a plain Error, TypeError or RangeError', () => {
    const found: { file: string; line: number; text: string }[] = [];
    for (const path of sources()) {
      const file = relative(root, path);
      const lines = readFileSync(path, 'utf8').split('\n');
      lines.forEach((line, i) => {
        for (const m of line.matchAll(FORBIDDEN))
          found.push({ file, line: i + 1, text: line.trim() || m[0] });
      });
    }
    const used = new Set<Exception>();
    const offenders = found.filter((f) => {
      // The most specific exception that matches this line.
      const ex = EXCEPTIONS.filter((e) => e.file === f.file && f.text.includes(e.text)).sort(
        (a, b) => b.text.length - a.text.length,
      )[0];
      if (ex) used.add(ex);
      return !ex;
    });
    expect(offenders.map((o) => `${o.file}:${o.line}: ${o.text}`)).toEqual([]);
    const stale = EXCEPTIONS.filter((e) => !used.has(e));
    expect(stale.map((e) => `${e.file}: ${e.text} (${e.reason})`)).toEqual([]);
  });

  // One instance of every exported error class, to read its code (constructor arguments differ).
  const samples: Record<string, () => EtcdError> = {
    UnavailableError: () => new core.UnavailableError('x'),
    DialTimeoutError: () => new core.DialTimeoutError('x', [{ endpoint: 'a:1', reason: 'refused' }]),
    ClientClosedError: () => new core.ClientClosedError(),
    DeadlineExceededError: () => new core.DeadlineExceededError('x'),
    AbortError: () => new core.AbortError(),
    CompactedError: () => new core.CompactedError(5n),
    FutureRevisionError: () => new core.FutureRevisionError(),
    LeaseNotFoundError: () => new core.LeaseNotFoundError(1n),
    LeaseExpiredError: () => new core.LeaseExpiredError(1n),
    SessionExpiredError: () => new core.SessionExpiredError(1n),
    AuthFailedError: () => new core.AuthFailedError(),
    InvalidTokenError: () => new core.InvalidTokenError(),
    PermissionDeniedError: () => new core.PermissionDeniedError('x'),
    RequestTooLargeError: () => new core.RequestTooLargeError(),
    ResourceExhaustedError: () => new core.ResourceExhaustedError('x'),
    InvalidTxnError: () => new core.InvalidTxnError('x', { reason: 'duplicate-key' }),
    InvalidArgumentError: () => new core.InvalidArgumentError('x'),
    WatchCanceledError: () => new core.WatchCanceledError('x'),
    UnknownEtcdError: () => new core.UnknownEtcdError('x'),
    LockReleasedError: () => new lock.LockReleasedError('k'),
    LockHeldError: () => new lock.LockHeldError('k', 'x'),
    LockNotHeldError: () => new lock.LockNotHeldError('x'),
    NotLeaderError: () => new election.NotLeaderError(),
    CampaignInProgressError: () => new election.CampaignInProgressError(),
    LastKnownGoodError: () => new configSync.LastKnownGoodError('/p', 'x'),
    ChangesOverflowError: () => new configSync.ChangesOverflowError(1),
    SubscriberError: () => new configSync.SubscriberError(new core.UnknownEtcdError('x')),
    StmConflictError: () => new core.StmConflictError([], 1),
    InvalidValueError: () => new recipes.InvalidValueError('k', 'x'),
    BarrierFullError: () => new recipes.BarrierFullError('k', 2),
    BarrierStateError: () => new recipes.BarrierStateError('x'),
    ClaimLostError: () => new recipes.ClaimLostError('k'),
    RegistrationClosedError: () => new discovery.RegistrationClosedError('k'),
    UsageError: () => new cli.UsageError('x'),
    CliError: () => new cli.CliError('x'),
  };

  it('every exported error class has its own code, and EtcdErrorCode lists exactly those codes', () => {
    const classes = new Map<Function, string>();
    for (const mod of [core, lock, election, configSync, recipes, discovery, cli])
      for (const [name, value] of Object.entries(mod))
        if (typeof value === 'function' && value.prototype instanceof EtcdError && !classes.has(value))
          classes.set(value, name);
    // Every exported class has a sample (a new class must be added here, and to EtcdErrorCode).
    expect([...classes.values()].sort()).toEqual(Object.keys(samples).sort());
    const codes = new Map<EtcdErrorCode, string>();
    for (const [cls, name] of classes) {
      const err = samples[name]!();
      expect(err).toBeInstanceOf(cls);
      expect(err.constructor).toBe(cls);
      expect(err.name).toBe(name);
      expect(ETCD_ERROR_CODES, `${name}'s code ${err.code}`).toContain(err.code);
      expect(codes.get(err.code), `${err.code} used by two classes`).toBeUndefined();
      codes.set(err.code, name);
    }
    expect([...codes.keys()].sort()).toEqual([...ETCD_ERROR_CODES].sort());
  });

  it('keeps the instanceof relationships callers rely on', () => {
    const dial = new core.DialTimeoutError('x', [{ endpoint: 'a:1', reason: 'refused' }], {
      cause: new core.UnknownEtcdError('y'),
    });
    expect(dial).toBeInstanceOf(core.UnavailableError);
    expect(dial.code).toBe('DIAL_TIMEOUT');
    expect(dial.endpoints).toEqual(['a:1']);
    expect(dial.cause).toBeInstanceOf(core.UnknownEtcdError);
    // The lock's timeout is the one timeout error.
    expect(lock.LockTimeoutError).toBe(core.DeadlineExceededError);
    const t = new lock.LockTimeoutError('x', { reason: 'lock-wait', timeoutMs: 5, operation: 'mutex "a"' });
    expect(t.code).toBe('DEADLINE_EXCEEDED');
    expect(t.timeoutMs).toBe(5);
  });

  it("testkit's errors share one root of their own", () => {
    for (const [name, value] of Object.entries(testkit))
      if (typeof value === 'function' && value.prototype instanceof Error)
        expect(value === testkit.TestkitError || value.prototype instanceof testkit.TestkitError, name).toBe(
          true,
        );
  });
});
