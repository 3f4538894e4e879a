import { uniqueName as uniq, useEtcd } from '@etcdkit/testkit/vitest';
import * as grpc from '@grpc/grpc-js';
import { afterAll, describe, expect, it } from 'vitest';
import { discover, type Registration, register, registerEtcdResolver } from '../src/index.js';
import { untilList } from './helpers.js';

const t = useEtcd();

// A one-method service defined by hand: the request is ignored, the reply is the server's name.
const echo: grpc.ServiceDefinition = {
  whoami: {
    path: '/etcdkit.test.Echo/WhoAmI',
    requestStream: false,
    responseStream: false,
    requestSerialize: (b: Buffer) => b,
    requestDeserialize: (b: Buffer) => b,
    responseSerialize: (b: Buffer) => b,
    responseDeserialize: (b: Buffer) => b,
  },
};
const EchoClient = grpc.makeGenericClientConstructor(echo, 'Echo');
type Echo = grpc.Client & {
  whoami(
    req: Buffer,
    opts: grpc.CallOptions,
    cb: (err: grpc.ServiceError | null, res?: Buffer) => void,
  ): void;
};

interface Server {
  name: string;
  address: string;
  server: grpc.Server;
}

const servers: Server[] = [];
afterAll(() => {
  for (const s of servers) s.server.forceShutdown();
});

async function startServer(name: string): Promise<Server> {
  const server = new grpc.Server();
  server.addService(echo, {
    whoami: (_call: unknown, cb: grpc.sendUnaryData<Buffer>) => cb(null, Buffer.from(name)),
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) =>
      err ? reject(err) : resolve(p),
    ),
  );
  const s = { name, address: `127.0.0.1:${port}`, server };
  servers.push(s);
  return s;
}

function call(client: Echo): Promise<string> {
  return new Promise((resolve, reject) =>
    client.whoami(Buffer.alloc(0), { deadline: Date.now() + 10_000 }, (err, res) =>
      err ? reject(err) : resolve(res!.toString()),
    ),
  );
}

async function spread(client: Echo, n: number): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  // Ten calls in flight at a time.
  for (let i = 0; i < n; i += 10) {
    const batch = await Promise.all(Array.from({ length: Math.min(10, n - i) }, () => call(client)));
    for (const who of batch) counts.set(who, (counts.get(who) ?? 0) + 1);
  }
  return counts;
}

/** Calls until `ok` holds for the set of servers answering the last `window` calls (a condition, not a sleep). */
async function until(client: Echo, window: number, ok: (names: Set<string>) => boolean, what: string) {
  const deadline = Date.now() + 30_000;
  let recent: string[] = [];
  while (Date.now() < deadline) {
    try {
      recent = [...recent, await call(client)].slice(-window);
    } catch {
      // Calls in flight to a server that just died fail; the channel moves on.
      recent = [];
      continue;
    }
    if (recent.length === window && ok(new Set(recent))) return;
  }
  throw new Error(`timed out waiting for ${what}; last answers: ${recent.join(',')}`);
}

describe('registerEtcdResolver', () => {
  it('a grpc-js client spreads 1000 calls over 3 live servers, and stops using a killed one', async () => {
    const service = uniq('grpc/echo');
    const etcd = t.client();
    registerEtcdResolver(etcd);
    const started = await Promise.all(['s1', 's2', 's3'].map(startServer));
    const regs: Registration[] = [];
    for (const s of started)
      regs.push(await register(etcd, { service, id: s.name, address: s.address, ttl: 5 }));
    const client = new EchoClient(`etcd:///${service}`, grpc.credentials.createInsecure()) as unknown as Echo;
    try {
      // Until all three subchannels are ready, round_robin uses those that are.
      await until(client, 3, (names) => names.size === 3, 'all three servers answering');
      const counts = await spread(client, 1000);
      expect([...counts.keys()].sort()).toEqual(['s1', 's2', 's3']);
      // round_robin over three ready servers: about a third each.
      for (const n of counts.values()) expect(n).toBeGreaterThan(250);

      // s2 crashes: its registration is still in etcd, but the channel stops sending to it.
      started[1]!.server.forceShutdown();
      await until(client, 50, (names) => !names.has('s2'), 'calls to go around the dead server');
      const after = await spread(client, 300);
      expect([...after.keys()].sort()).toEqual(['s1', 's3']);

      // Its registration ends (as its lease would expire): the resolver drops the address.
      await using svc = await discover(etcd, service);
      await regs[1]!.close();
      await untilList(svc, (l) => l.length === 2, 's2 deregistered');
      expect([...(await spread(client, 100)).keys()].sort()).toEqual(['s1', 's3']);
    } finally {
      client.close();
      await Promise.all(regs.map((r) => r.close()));
    }
  });

  it('a draining instance gets no new calls; a new one gets its share', async () => {
    const service = uniq('grpc/drain');
    const etcd = t.client();
    registerEtcdResolver(etcd);
    const [a, b, c] = await Promise.all(['a', 'b', 'c'].map(startServer));
    const ra = await register(etcd, { service, id: 'a', address: a!.address });
    const rb = await register(etcd, { service, id: 'b', address: b!.address });
    const client = new EchoClient(`etcd:///${service}`, grpc.credentials.createInsecure()) as unknown as Echo;
    try {
      await until(client, 2, (names) => names.size === 2, 'a and b answering');
      await rb.drain();
      await until(client, 50, (names) => !names.has('b'), 'b drained');
      expect([...(await spread(client, 50)).keys()]).toEqual(['a']);
      const rc = await register(etcd, { service, id: 'c', address: c!.address });
      await until(client, 2, (names) => names.has('a') && names.has('c'), 'c taking calls');
      await rc.close();
    } finally {
      client.close();
      await Promise.all([ra.close(), rb.close()]);
    }
  });

  it('calls fail with UNAVAILABLE, saying why, while no instance is registered', async () => {
    const service = uniq('grpc/none');
    registerEtcdResolver(t.client());
    const client = new EchoClient(`etcd:///${service}`, grpc.credentials.createInsecure()) as unknown as Echo;
    try {
      const err = (await call(client).catch((e: unknown) => e)) as grpc.ServiceError;
      expect(err.code).toBe(grpc.status.UNAVAILABLE);
      expect(err.details).toMatch(/no live instance of service/);
    } finally {
      client.close();
    }
  });

  it('validates its options', () => {
    const etcd = t.client();
    expect(() => registerEtcdResolver({} as never)).toThrow(/Etcd client/);
    expect(() => registerEtcdResolver(etcd, { scheme: 'Etcd!' })).toThrow(/scheme/);
    expect(() => registerEtcdResolver(etcd, { loadBalancing: 'weighted' as never })).toThrow(/loadBalancing/);
  });
});
