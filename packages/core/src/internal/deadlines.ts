/** One deadline in a DeadlineQueue; `done` once the call ended or the deadline fired. */
export interface Deadline {
  readonly at: number;
  done: boolean;
}

interface Entry extends Deadline {
  expire: () => void;
}

/**
 * The deadlines of a transport's unary calls, on one timer. Handing each deadline to grpc-js
 * costs every call a `grpc-timeout` header and a timer of its own (and etcd a timer too): about
 * 3% of a serial put here. Calls share one timeout, so deadlines nearly always arrive in order:
 * an entry is appended, the timer runs for the earliest, and entries whose call ended are
 * dropped from the front.
 */
export class DeadlineQueue {
  private entries: Entry[] = [];
  private head = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private timerAt = Number.POSITIVE_INFINITY;

  /** Call `expire` at `at` (ms since the epoch) unless end() comes first. */
  add(at: number, expire: () => void): Deadline {
    const e: Entry = { at, expire, done: false };
    let i = this.entries.length;
    while (i > this.head && this.entries[i - 1]!.at > at) i--;
    if (i === this.entries.length) this.entries.push(e);
    else this.entries.splice(i, 0, e);
    if (at < this.timerAt) this.arm(at);
    return e;
  }

  /** The call ended: its deadline no longer matters. */
  end(d: Deadline): void {
    d.done = true;
    this.drop();
  }

  /** Forget every deadline (the transport closed). */
  clear(): void {
    for (let i = this.head; i < this.entries.length; i++) this.entries[i]!.done = true;
    this.entries = [];
    this.head = 0;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAt = Number.POSITIVE_INFINITY;
  }

  private drop(): void {
    const es = this.entries;
    while (this.head < es.length && es[this.head]!.done) this.head++;
    if (this.head === es.length) {
      this.entries = [];
      this.head = 0;
      clearTimeout(this.timer);
      this.timer = undefined;
      this.timerAt = Number.POSITIVE_INFINITY;
    } else if (this.head > 1024 && this.head * 2 > es.length) {
      this.entries = es.slice(this.head);
      this.head = 0;
    }
  }

  private arm(at: number): void {
    clearTimeout(this.timer);
    this.timerAt = at;
    // Not unref'd: until grpc-js has picked a connection for a call, this timer is what keeps
    // the process alive for it (as grpc-js's own deadline timer did). It is cleared once no call
    // is left.
    this.timer = setTimeout(() => this.fire(), Math.max(0, at - Date.now()));
  }

  private fire(): void {
    this.timer = undefined;
    this.timerAt = Number.POSITIVE_INFINITY;
    const now = Date.now();
    const es = this.entries;
    const expired: Entry[] = [];
    while (this.head < es.length && es[this.head]!.at <= now) {
      const e = es[this.head++]!;
      if (e.done) continue;
      e.done = true;
      expired.push(e);
    }
    this.drop();
    const next = this.entries[this.head];
    if (next) this.arm(next.at);
    // Last: an expiry may end other calls (and so come back here through end()).
    for (const e of expired) e.expire();
  }
}
