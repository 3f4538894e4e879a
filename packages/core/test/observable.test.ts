import { firstValueFrom, from, take, toArray } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../src/index.js';
import {
  type Observer,
  SharedObservable,
  Subject,
  type Subscription,
  symbolObservable,
  toAsyncIterator,
} from '../src/internal.js';

/** A Subject whose subscriber errors are collected instead of thrown. */
function subject<T>(replay = false) {
  const thrown: unknown[] = [];
  const unhandled: unknown[] = [];
  const s = new Subject<T>({
    replay,
    onSubscriberError: (e) => thrown.push(e),
    onUnhandledError: (e) => unhandled.push(e),
  });
  return { s, thrown, unhandled };
}

/** An observer that records every notification. */
function recorder<T>() {
  const log: unknown[] = [];
  const observer: Observer<T> = {
    next: (v) => log.push(v),
    error: (e) => log.push({ error: e }),
    complete: () => log.push('complete'),
  };
  return { log, observer };
}

describe('Subject', () => {
  it('delivers to every subscriber in order; a function is a next callback; sub() and unsubscribe() end it', () => {
    const { s } = subject<number>();
    const a: number[] = [];
    const b = recorder<number>();
    const subA = s.subscribe((v) => a.push(v));
    const subB = s.subscribe(b.observer);
    expect(s.size).toBe(2);
    s.next(1);
    s.next(2);
    subA();
    expect(subA.closed).toBe(true);
    s.next(3);
    subB.unsubscribe();
    expect(subB.closed).toBe(true);
    expect(s.observed).toBe(false);
    s.next(4);
    expect(a).toEqual([1, 2]);
    expect(b.log).toEqual([1, 2, 3]);
  });

  it('rejects a subscribe argument that is neither a function nor an observer', () => {
    const { s } = subject<number>();
    expect(() => s.subscribe(42 as never)).toThrow(InvalidArgumentError);
    expect(() => s.subscribe(null as never)).toThrow(InvalidArgumentError);
  });

  it('replays the latest value to a new subscriber, and after the end that value then the end', () => {
    const { s } = subject<string>(true);
    const early = recorder<string>();
    s.subscribe(early.observer);
    expect(early.log).toEqual([]);
    s.next('a');
    s.next('b');
    const late = recorder<string>();
    s.subscribe(late.observer);
    expect(late.log).toEqual(['b']);
    s.next('c');
    s.complete();
    s.next('ignored');
    const after = recorder<string>();
    const sub = s.subscribe(after.observer);
    expect(early.log).toEqual(['a', 'b', 'c', 'complete']);
    expect(late.log).toEqual(['b', 'c', 'complete']);
    expect(after.log).toEqual(['c', 'complete']);
    expect(sub.closed).toBe(true);
    expect(s.closed).toBe(true);
  });

  it('without replay, a new subscriber gets only later values, and after the end only the end', () => {
    const { s } = subject<number>();
    s.next(1);
    const r = recorder<number>();
    s.subscribe(r.observer);
    s.next(2);
    const boom = new Error('boom');
    s.error(boom);
    s.complete();
    const after = recorder<number>();
    s.subscribe(after.observer);
    expect(r.log).toEqual([2, { error: boom }]);
    expect(after.log).toEqual([{ error: boom }]);
  });

  it('keeps delivering to everyone, the thrower included, when a subscriber throws; the error goes to the reporter', () => {
    const { s, thrown } = subject<number>(true);
    const boom = new Error('boom');
    const seen: number[] = [];
    const throwing = s.subscribe(() => {
      throw boom;
    });
    s.subscribe((v) => seen.push(v));
    s.next(1);
    s.next(2);
    expect(seen).toEqual([1, 2]);
    expect(thrown).toEqual([boom, boom]);
    expect(throwing.closed).toBe(false);
    // Throwing from error/complete is isolated the same way.
    const { s: s2, thrown: thrown2 } = subject<number>();
    const completed: string[] = [];
    s2.subscribe({
      complete: () => {
        throw boom;
      },
    });
    s2.subscribe({ complete: () => completed.push('second') });
    s2.complete();
    expect(completed).toEqual(['second']);
    expect(thrown2).toEqual([boom]);
  });

  it('reports an error nobody can take as an uncaught exception by default, after the others got the value', async () => {
    const boom = new Error('uncaught boom');
    const caught: unknown[] = [];
    // Stand in for the test runner's own handler for the length of this test.
    const previous = process.listeners('uncaughtException');
    process.removeAllListeners('uncaughtException');
    const onUncaught = (e: unknown): void => {
      caught.push(e);
    };
    process.on('uncaughtException', onUncaught);
    try {
      const s = new Subject<number>();
      const seen: number[] = [];
      s.subscribe(() => {
        throw boom;
      });
      s.subscribe((v) => seen.push(v));
      s.next(1);
      expect(seen).toEqual([1]);
      // A terminal error sent to a subscriber without an error callback is reported too.
      const fail = new Error('unhandled');
      s.error(fail);
      await new Promise((r) => setImmediate(r));
      expect(caught).toEqual([boom, fail, fail]);
    } finally {
      process.off('uncaughtException', onUncaught);
      for (const l of previous) process.on('uncaughtException', l);
    }
  });

  it('sends a terminal error to onUnhandledError when a subscriber has no error callback; null stays quiet', () => {
    const { s, unhandled, thrown } = subject<number>();
    s.subscribe(() => {});
    const fail = new Error('fail');
    s.error(fail);
    expect(unhandled).toEqual([fail]);
    expect(thrown).toEqual([]);
    const quiet = new Subject<number>({ onUnhandledError: null });
    const closed: Subscription = quiet.subscribe(() => {});
    quiet.error(fail);
    expect(closed.closed).toBe(true);
  });

  it('lets a subscriber unsubscribe itself or a later one during a delivery', () => {
    const { s } = subject<number>();
    const log: string[] = [];
    let subB: Subscription | undefined;
    const subA = s.subscribe((v) => {
      log.push(`a${v}`);
      if (v === 1) subB?.unsubscribe();
      if (v === 2) subA.unsubscribe();
    });
    subB = s.subscribe((v) => log.push(`b${v}`));
    s.subscribe((v) => log.push(`c${v}`));
    s.next(1);
    s.next(2);
    s.next(3);
    expect(log).toEqual(['a1', 'c1', 'a2', 'c2', 'c3']);
  });

  it('queues a push made during a delivery until the value being delivered reached everyone', () => {
    const { s } = subject<number>(true);
    const log: string[] = [];
    s.subscribe((v) => {
      log.push(`a${v}`);
      if (v === 1) s.next(2);
    });
    s.subscribe((v) => {
      log.push(`b${v}`);
      if (v === 2) s.complete();
    });
    s.subscribe({ next: (v) => log.push(`c${v}`), complete: () => log.push('c done') });
    s.next(1);
    expect(log).toEqual(['a1', 'b1', 'c1', 'a2', 'b2', 'c2', 'c done']);
  });

  it('gives a subscriber joining during a delivery the value being delivered once', () => {
    const { s } = subject<number>(true);
    const late: number[] = [];
    let joined = false;
    s.subscribe((v) => {
      if (!joined) {
        joined = true;
        s.subscribe((w) => late.push(w));
        s.next(v + 1);
      }
    });
    s.next(1);
    expect(late).toEqual([1, 2]);
  });

  it('calls start with the subscription first; unsubscribing there delivers nothing', () => {
    const { s } = subject<number>(true);
    s.next(7);
    const log: unknown[] = [];
    const sub = s.subscribe({
      start: (subscription) => {
        log.push(subscription.closed);
        subscription();
      },
      next: (v) => log.push(v),
    });
    expect(log).toEqual([false]);
    expect(sub.closed).toBe(true);
    expect(s.observed).toBe(false);
  });

  it('follows a signal: aborted before, nothing is delivered; aborted later, it unsubscribes', () => {
    const { s } = subject<number>(true);
    s.next(1);
    const closes: string[] = [];
    const early = s.subscribe(() => closes.push('early value'), {
      signal: AbortSignal.abort(),
      onClose: () => closes.push('early closed'),
    });
    expect(early.closed).toBe(true);
    const ac = new AbortController();
    const seen: number[] = [];
    const sub = s.subscribe((v) => seen.push(v), { signal: ac.signal, onClose: () => closes.push('closed') });
    s.next(2);
    ac.abort();
    s.next(3);
    expect(seen).toEqual([1, 2]);
    expect(sub.closed).toBe(true);
    expect(closes).toEqual(['early closed', 'closed']);
  });

  it('calls onClose once, after the last callback, however the subscription ends', () => {
    const { s } = subject<number>();
    const log: string[] = [];
    const sub = s.subscribe({ complete: () => log.push('complete') }, { onClose: () => log.push('closed') });
    sub();
    sub.unsubscribe();
    s.subscribe({ complete: () => log.push('complete') }, { onClose: () => log.push('closed') });
    s.complete();
    expect(log).toEqual(['closed', 'complete', 'closed']);
  });

  it('calls onIdle when the last subscriber leaves, not when the subject ends', () => {
    let idle = 0;
    const s = new Subject<number>({ onIdle: () => idle++ });
    const a = s.subscribe(() => {});
    const b = s.subscribe(() => {});
    a();
    expect(idle).toBe(0);
    b();
    expect(idle).toBe(1);
    s.subscribe(() => {});
    s.complete();
    expect(idle).toBe(1);
  });

  it('is an interop Observable: Symbol.observable returns itself and RxJS from() takes it', async () => {
    expect(typeof Symbol.observable).toBe('symbol');
    expect(symbolObservable).toBe(Symbol.observable);
    const { s } = subject<number>(true);
    const byKey = s as unknown as Record<symbol, () => unknown>;
    expect(byKey[Symbol.observable]!()).toBe(s);
    expect(s['@@observable']()).toBe(s);
    s.next(1);
    const values = firstValueFrom(from(s).pipe(take(3), toArray()));
    s.next(2);
    s.next(3);
    expect(await values).toEqual([1, 2, 3]);
    // take(3) unsubscribed from the subject.
    expect(s.observed).toBe(false);
  });
});

describe('SharedObservable', () => {
  const controllers: AbortController[] = [];
  afterEach(() => {
    for (const c of controllers.splice(0)) c.abort();
  });

  /** A producer driven by the test: it emits what the test pushes and ends when told. */
  function controlled<T>() {
    const runs: {
      emit: (v: T) => void;
      signal: AbortSignal;
      end: (err?: unknown) => void;
    }[] = [];
    const source = new SharedObservable<T>(
      (emit, signal) =>
        new Promise<void>((resolve, reject) => {
          runs.push({ emit, signal, end: (err) => (err === undefined ? resolve() : reject(err)) });
        }),
      { replay: true, onSubscriberError: () => {} },
    );
    return { source, runs };
  }

  it('runs one producer for overlapping subscribers, replaying its latest value to a joiner', () => {
    const { source, runs } = controlled<string>();
    const a: string[] = [];
    const b: string[] = [];
    const subA = source.subscribe((v) => a.push(v));
    expect(runs).toHaveLength(1);
    runs[0]!.emit('x');
    const subB = source.subscribe((v) => b.push(v));
    runs[0]!.emit('y');
    expect(runs).toHaveLength(1);
    expect(a).toEqual(['x', 'y']);
    expect(b).toEqual(['x', 'y']);
    subA();
    expect(runs[0]!.signal.aborted).toBe(false);
    subB();
    expect(runs[0]!.signal.aborted).toBe(true);
  });

  it('starts afresh after the last subscriber left, and after the end', async () => {
    const { source, runs } = controlled<number>();
    const first: number[] = [];
    source.subscribe((v) => first.push(v))();
    expect(runs[0]!.signal.aborted).toBe(true);
    // A failure of a stopped run reaches nobody.
    runs[0]!.end(new Error('after stop'));
    const second = recorder<number>();
    source.subscribe(second.observer);
    expect(runs).toHaveLength(2);
    runs[1]!.emit(1);
    runs[1]!.end();
    await new Promise((r) => setImmediate(r));
    expect(second.log).toEqual([1, 'complete']);
    const third = recorder<number>();
    source.subscribe(third.observer);
    expect(runs).toHaveLength(3);
    const boom = new Error('boom');
    runs[2]!.end(boom);
    await new Promise((r) => setImmediate(r));
    expect(third.log).toEqual([{ error: boom }]);
    expect(first).toEqual([]);
  });

  it('does not start a producer for a subscriber that left in start()', () => {
    const { source, runs } = controlled<number>();
    source.subscribe({ start: (s) => s() });
    expect(runs).toHaveLength(0);
    source.subscribe(() => {});
    expect(runs).toHaveLength(1);
  });

  it('turns a producer that throws synchronously into an error', () => {
    const boom = new Error('sync');
    const source = new SharedObservable<number>(() => {
      throw boom;
    });
    const r = recorder<number>();
    source.subscribe(r.observer);
    return new Promise<void>((resolve) => setImmediate(resolve)).then(() => {
      expect(r.log).toEqual([{ error: boom }]);
    });
  });

  it('works with RxJS from()', async () => {
    const { source, runs } = controlled<number>();
    const values = firstValueFrom(from(source).pipe(take(2), toArray()));
    runs[0]!.emit(1);
    runs[0]!.emit(2);
    expect(await values).toEqual([1, 2]);
    expect(runs[0]!.signal.aborted).toBe(true);
  });
});

describe('toAsyncIterator', () => {
  it('yields every value in order, from the moment it is created', async () => {
    const { s } = subject<number>();
    const it = toAsyncIterator(s);
    s.next(1);
    s.next(2);
    const pending = it.next();
    expect(await pending).toEqual({ value: 1, done: false });
    expect(await it.next()).toEqual({ value: 2, done: false });
    const waiting = it.next();
    s.next(3);
    expect(await waiting).toEqual({ value: 3, done: false });
    s.complete();
    expect(await it.next()).toEqual({ value: undefined, done: true });
    expect(await it.next()).toEqual({ value: undefined, done: true });
  });

  it('yields the initial values first, and a replayed value', async () => {
    const { s } = subject<string>(true);
    s.next('current');
    const it = toAsyncIterator(s, { initial: ['i1', 'i2'] });
    const got: string[] = [];
    s.next('later');
    s.complete();
    for await (const v of it) got.push(v);
    expect(got).toEqual(['i1', 'i2', 'current', 'later']);
  });

  it("keeps only the newest value with keep: 'latest'", async () => {
    const { s } = subject<number>(true);
    s.next(0);
    const it = toAsyncIterator(s, { keep: 'latest' });
    s.next(1);
    s.next(2);
    expect(await it.next()).toEqual({ value: 2, done: false });
    const waiting = it.next();
    s.next(3);
    s.next(4);
    expect(await waiting).toEqual({ value: 3, done: false });
    expect(await it.next()).toEqual({ value: 4, done: false });
  });

  it('throws the source error after what was buffered', async () => {
    const { s } = subject<number>();
    const it = toAsyncIterator(s);
    s.next(1);
    const boom = new Error('boom');
    s.error(boom);
    expect(await it.next()).toEqual({ value: 1, done: false });
    await expect(it.next()).rejects.toBe(boom);
    expect(await it.next()).toEqual({ value: undefined, done: true });
    // A waiting next() gets the error directly.
    const { s: s2 } = subject<number>();
    const it2 = toAsyncIterator(s2);
    const waiting = it2.next();
    s2.error(boom);
    await expect(waiting).rejects.toBe(boom);
  });

  it('ends a consumer that falls more than maxBuffered behind, after what it buffered', async () => {
    const { s } = subject<number>();
    const overflow = new Error('overflow');
    const it = toAsyncIterator(s, { overflow: { maxBuffered: 2, error: () => overflow } });
    for (let i = 1; i <= 4; i++) s.next(i);
    expect(s.observed).toBe(false);
    expect(await it.next()).toEqual({ value: 1, done: false });
    expect(await it.next()).toEqual({ value: 2, done: false });
    await expect(it.next()).rejects.toBe(overflow);
  });

  it('ends on abort after what was buffered: with abortError it throws it, without it finishes', async () => {
    const { s } = subject<number>();
    const ac = new AbortController();
    const aborted = new Error('aborted');
    const it = toAsyncIterator(s, { signal: ac.signal, abortError: () => aborted });
    s.next(1);
    ac.abort();
    s.next(2);
    expect(s.observed).toBe(false);
    expect(await it.next()).toEqual({ value: 1, done: false });
    await expect(it.next()).rejects.toBe(aborted);

    const quiet = toAsyncIterator(s, { signal: AbortSignal.abort(), initial: [9] });
    expect(await quiet.next()).toEqual({ value: 9, done: false });
    expect(await quiet.next()).toEqual({ value: undefined, done: true });
  });

  it('return(), throw() and asyncDispose unsubscribe at once, also while a next() waits', async () => {
    const { s } = subject<number>();
    const it = toAsyncIterator(s);
    const waiting = it.next();
    expect(s.observed).toBe(true);
    expect(await it.return()).toEqual({ value: undefined, done: true });
    expect(await waiting).toEqual({ value: undefined, done: true });
    expect(s.observed).toBe(false);

    const it2 = toAsyncIterator(s);
    const boom = new Error('thrown in');
    await expect(it2.throw(boom)).rejects.toBe(boom);
    expect(await it2.next()).toEqual({ value: undefined, done: true });

    const it3 = toAsyncIterator(s);
    await it3[Symbol.asyncDispose]();
    expect(s.observed).toBe(false);
  });

  it('unsubscribes when a for await loop breaks', async () => {
    const { s } = subject<number>(true);
    s.next(1);
    for await (const v of toAsyncIterator(s)) {
      expect(v).toBe(1);
      break;
    }
    expect(s.observed).toBe(false);
  });
});
