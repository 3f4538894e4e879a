import { type Bytes, compare, type Etcd, InvalidArgumentError, type KeyValue, op } from '@etcdkit/core';
import { Backoff, checkWaitOptions, waitScope } from '@etcdkit/core/internal';
import { InvalidValueError } from './errors.js';
import { INT64_MAX, INT64_MIN, toInt64 } from './int64.js';
import { checkClient, checkKey } from './key.js';

/** Options of {@link Counter.get} and {@link Counter.add}. */
export interface CounterCallOptions {
  /** Aborts the call (and add()'s retries) with an AbortError. */
  signal?: AbortSignal;
}

const DECIMAL = /^-?\d{1,19}$/;

/**
 * A shared int64 counter in one key, stored as a decimal string (so `etcdctl get` shows it).
 * add() is a compare-and-swap loop on the key's mod revision: atomic however many processes
 * add at once. An absent key counts as 0.
 */
export class Counter {
  /** The client the counter's key is read and written on. */
  readonly etcd: Etcd;
  /** The counter's key. */
  readonly key: Buffer;
  private readonly label: string;

  /**
   * A counter in the key `key` of `etcd` (absent = 0). Nothing is written until {@link
   * Counter.add}.
   *
   * @throws {@link @etcdkit/core!InvalidArgumentError} for a missing client or an empty key.
   */
  constructor(etcd: Etcd, key: Bytes) {
    checkClient(etcd, 'Counter');
    this.etcd = etcd;
    this.key = checkKey(key, 'Counter');
    this.label = `counter ${JSON.stringify(this.key.toString())}`;
  }

  /** The current value (0n when the key does not exist). */
  async get(options: CounterCallOptions = {}): Promise<bigint> {
    checkWaitOptions(options, `${this.label} get()`);
    return this.parse(await this.etcd.get(this.key, options.signal ? { signal: options.signal } : {}));
  }

  /**
   * Add `n` (default 1; negative subtracts) and resolve with the new value. Each attempt is one
   * txn guarded by the mod revision read before; a lost race reads the winner's value from the
   * same txn and tries again after the shared backoff. InvalidArgumentError when the result
   * would leave int64.
   */
  async add(n: bigint | number = 1, options: CounterCallOptions = {}): Promise<bigint> {
    const delta = toInt64(n, `${this.label} add(n)`);
    checkWaitOptions(options, `${this.label} add()`);
    const scope = waitScope(`${this.label} add()`, options);
    try {
      const call = { signal: scope.signal };
      let current = await this.etcd.get(this.key, call);
      // A lost race means another add went through: retry soon, spread over about one commit time.
      const backoff = new Backoff({ baseMs: 2, capMs: 100 });
      for (;;) {
        const next = this.parse(current) + delta;
        if (next < INT64_MIN || next > INT64_MAX)
          throw new InvalidArgumentError(
            `${this.label}: adding ${delta} would leave int64 (the value stays as it is)`,
          );
        const r = await this.etcd
          .txn()
          .if(compare.modRevision(this.key, '==', current?.modRevision ?? 0n))
          .then(op.put(this.key, next.toString()))
          .else(op.get(this.key))
          .commit(call);
        if (r.succeeded) return next;
        const got = r.responses[0];
        current = got?.type === 'range' ? got.kvs[0] : undefined;
        if (!(await backoff.wait(scope.signal))) throw scope.reason;
      }
    } catch (err) {
      throw scope.aborted ? scope.reason : err;
    } finally {
      scope.dispose();
    }
  }

  /** The value now, then each new value as it changes (0n after a delete), until `signal` aborts. */
  async *watch(options: CounterCallOptions = {}): AsyncGenerator<bigint, void, undefined> {
    checkWaitOptions(options, `${this.label} watch()`);
    const signal = options.signal;
    const r = await this.etcd.range({ key: this.key, ...(signal ? { signal } : {}) });
    yield this.parse(r.kvs[0]);
    const w = this.etcd.watch({
      key: this.key,
      startRevision: r.revision + 1n,
      ...(signal ? { signal } : {}),
    });
    try {
      for await (const ev of w) yield ev.type === 'delete' ? 0n : this.parse(ev.kv);
    } finally {
      w.close();
    }
  }

  private parse(kv: KeyValue | undefined): bigint {
    if (!kv) return 0n;
    const s = kv.value.toString();
    if (!DECIMAL.test(s))
      throw new InvalidValueError(
        this.key.toString(),
        `${this.label} holds ${JSON.stringify(s.slice(0, 40))}, not a decimal integer; delete the key or put a number in it`,
      );
    const v = BigInt(s);
    if (v < INT64_MIN || v > INT64_MAX)
      throw new InvalidValueError(this.key.toString(), `${this.label} holds ${s}, outside int64`);
    return v;
  }
}
