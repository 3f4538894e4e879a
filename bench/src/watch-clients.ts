/**
 * Watch clients of the three implementations behind one small interface, for the watch
 * scenario and its many-watchers child process.
 */
import { Etcd, type Watcher } from '@etcdkit/core';
import type { ClientDuplexStream } from '@grpc/grpc-js';
import { Etcd3 } from 'etcd3';
import { ETCD3_GRPC_OPTIONS, etcd3Hosts } from './clients.js';
import { GrpcFloor, type RawWatchResponse } from './grpc-floor.js';
import { fetchMetrics } from './server-metrics.js';

export const WATCH_IMPLS = ['etcdkit', 'etcd3', 'grpc-js'] as const;
export type WatchImpl = (typeof WATCH_IMPLS)[number];

/** Counts events and lets one waiter at a time wait for the next. */
export class EventGate {
  private count = 0;
  private wanted = 0;
  private waiter: (() => void) | undefined;
  private failure: Error | undefined;
  private onFailure: ((e: Error) => void) | undefined;

  /** A promise for event number count+1 (create it before causing the event). */
  next(): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    this.wanted = this.count + 1;
    return new Promise<void>((resolve, reject) => {
      this.waiter = resolve;
      this.onFailure = reject;
    });
  }

  event(): void {
    this.count++;
    if (this.waiter && this.count >= this.wanted) {
      const w = this.waiter;
      this.waiter = undefined;
      w();
    }
  }

  fail(e: Error): void {
    this.failure = e;
    this.onFailure?.(e);
  }
}

export interface OneWatch {
  gate: EventGate;
  close(): Promise<void>;
}

export interface WatchClient {
  /** One watcher on `key`, resolved once the server confirmed it. */
  watchKey(key: string): Promise<OneWatch>;
  /** `keys.length` watchers, resolved once all are confirmed; returns how to close them. */
  watchMany(keys: string[]): Promise<() => Promise<void>>;
  close(): Promise<void>;
}

/** An etcdkit watcher whose every event opens the gate, once etcd has confirmed it. */
export async function gateWatcher(w: Watcher): Promise<OneWatch> {
  const gate = new EventGate();
  await w.ready;
  const consumed = (async () => {
    for await (const _ of w) gate.event();
  })().catch((e: unknown) => gate.fail(e as Error));
  return {
    gate,
    close: async () => {
      w.close();
      await consumed;
    },
  };
}

function etcdkitClient(endpoints: string[]): WatchClient {
  const etcd = new Etcd({ endpoints });
  return {
    watchKey: (key) => gateWatcher(etcd.watch({ key })),
    async watchMany(keys) {
      const ws = keys.map((key) => etcd.watch({ key }));
      await Promise.all(ws.map((w) => w.ready));
      return async () => {
        for (const w of ws) w.close();
      };
    },
    close: () => etcd.close(),
  };
}

function etcd3Client(endpoints: string[]): WatchClient {
  const client = new Etcd3({ hosts: etcd3Hosts(endpoints), grpcOptions: ETCD3_GRPC_OPTIONS });
  return {
    async watchKey(key) {
      const gate = new EventGate();
      const w = await client.watch().key(key).create();
      w.on('put', () => gate.event());
      w.on('error', (e) => gate.fail(e));
      return { gate, close: () => w.cancel() };
    },
    async watchMany(keys) {
      const ws = await Promise.all(keys.map((key) => client.watch().key(key).create()));
      return async () => {
        await Promise.all(ws.map((w) => w.cancel()));
      };
    },
    close: async () => client.close(),
  };
}

/**
 * The floor: one raw Watch stream per client, opened on first use, every watcher created on it
 * (etcd answers creations in order, which is how a confirmation is matched to its watcher).
 */
function grpcClient(endpoints: string[]): WatchClient {
  const floor = new GrpcFloor(endpoints[0]!);
  let stream: ClientDuplexStream<object, RawWatchResponse> | undefined;
  const creating: { resolve(id: string): void; reject(e: Error): void }[] = [];
  const handlers = new Map<string, (r: RawWatchResponse) => void>();
  const getStream = () => {
    if (stream) return stream;
    const s = floor.watch();
    s.on('data', (r: RawWatchResponse) => {
      if (r.created) creating.shift()?.resolve(r.watchId);
      else if (r.events.length > 0) handlers.get(r.watchId)?.(r);
    });
    s.on('error', (e) => {
      for (const c of creating.splice(0)) c.reject(e);
    });
    stream = s;
    return s;
  };
  const create = (key: string, onEvents?: (r: RawWatchResponse) => void) => {
    const s = getStream();
    const id = new Promise<string>((resolve, reject) => creating.push({ resolve, reject }));
    s.write({ createRequest: { key: Buffer.from(key) } });
    return id.then((watchId) => {
      if (onEvents) handlers.set(watchId, onEvents);
      return watchId;
    });
  };
  const cancel = (watchId: string) => {
    handlers.delete(watchId);
    stream?.write({ cancelRequest: { watchId } });
  };
  return {
    async watchKey(key) {
      const gate = new EventGate();
      const watchId = await create(key, (r) => {
        for (const _ of r.events) gate.event();
      });
      return { gate, close: async () => cancel(watchId) };
    },
    async watchMany(keys) {
      const ids = await Promise.all(keys.map((key) => create(key)));
      return async () => {
        for (const id of ids) cancel(id);
      };
    },
    close: async () => {
      if (stream) {
        stream.on('error', () => {}); // the CANCELLED status that cancel() provokes
        stream.cancel();
      }
      floor.close();
    },
  };
}

export const WATCH_CLIENTS: Record<WatchImpl, (endpoints: string[]) => WatchClient> = {
  etcdkit: etcdkitClient,
  etcd3: etcd3Client,
  'grpc-js': grpcClient,
};

/** A gauge from etcd's /metrics (plain-HTTP endpoints only), or NaN. */
export async function serverGauge(endpoint: string, name: string): Promise<number> {
  if (endpoint.startsWith('https://')) return Number.NaN;
  const text = await fetchMetrics(endpoint);
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line ? Number(line.slice(name.length + 1)) : Number.NaN;
}
