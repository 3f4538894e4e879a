import { expect } from 'vitest';
import { DeadlineExceededError, type Etcd, op, type StmIsolation, UnavailableError } from '../src/index.js';

/** Accounts `<prefix>0..n-1`, each starting at `start`; resolves with the revision after setup. */
export async function openAccounts(etcd: Etcd, prefix: string, n: number, start: number): Promise<bigint> {
  const r = await etcd
    .txn()
    .then(...Array.from({ length: n }, (_, i) => op.put(`${prefix}${i}`, String(start))))
    .commit();
  return r.revision;
}

/**
 * `workers` clients each make `transfers` random transfers between the accounts with
 * `etcd.stm()`. A commit whose outcome is unknown (a member died under it) is simply followed
 * by the next transfer: applied or not, a transfer keeps the total.
 */
export async function runTransfers(
  clients: Etcd[],
  prefix: string,
  accounts: number,
  transfers: number,
  isolation: StmIsolation,
  onCommit?: (commits: number) => void,
): Promise<{ commits: number; attempts: number; unknown: number }> {
  let commits = 0;
  let attempts = 0;
  let unknown = 0;
  await Promise.all(
    clients.map(async (etcd) => {
      for (let i = 0; i < transfers; i++) {
        const from = Math.floor(Math.random() * accounts);
        const to = (from + 1 + Math.floor(Math.random() * (accounts - 1))) % accounts;
        const amount = 1 + Math.floor(Math.random() * 20);
        for (;;) {
          try {
            await etcd.stm(
              async (tx) => {
                attempts++;
                const a = Number((await tx.get(`${prefix}${from}`))!.toString());
                const b = Number((await tx.get(`${prefix}${to}`))!.toString());
                const moved = Math.min(a, amount);
                tx.put(`${prefix}${from}`, String(a - moved));
                tx.put(`${prefix}${to}`, String(b + moved));
              },
              { isolation },
            );
            commits++;
            onCommit?.(commits);
            break;
          } catch (err) {
            // Only a failed member may interrupt a transfer; then it is tried again.
            if (!(err instanceof UnavailableError || err instanceof DeadlineExceededError)) throw err;
            unknown++;
          }
        }
      }
    }),
  );
  return { commits, attempts, unknown };
}

/**
 * Replay etcd's history of the accounts from `fromRevision` (the state then is read at that
 * revision) up to their latest change, and check the total after every revision.
 */
export async function checkTotalAtEveryRevision(
  etcd: Etcd,
  prefix: string,
  fromRevision: bigint,
  total: number,
): Promise<number> {
  const balances = new Map<string, number>();
  const initial = await etcd.range({ prefix, revision: fromRevision });
  for (const kv of initial.kvs) balances.set(kv.key.toString(), Number(kv.value.toString()));
  const sum = (): number => [...balances.values()].reduce((a, b) => a + b, 0);
  expect(sum()).toBe(total);
  const now = await etcd.range({ prefix });
  let last = 0n;
  for (const kv of now.kvs) if (kv.modRevision > last) last = kv.modRevision;
  let revisions = 0;
  if (last <= fromRevision) return revisions;
  const w = etcd.watch({ prefix, startRevision: fromRevision + 1n });
  try {
    for await (const b of w.batches()) {
      for (const ev of b.events) {
        expect(ev.type).toBe('put');
        balances.set(ev.kv.key.toString(), Number(ev.kv.value.toString()));
      }
      revisions++;
      const s = sum();
      if (s !== total) throw new Error(`total ${s} instead of ${total} at revision ${b.revision}`);
      if (b.revision >= last) break;
    }
  } finally {
    w.close();
  }
  for (const kv of now.kvs) expect(balances.get(kv.key.toString())).toBe(Number(kv.value.toString()));
  return revisions;
}
