// A small HTTP service on etcdkit, instrumented: a leader-elected background job, a lock per
// request, live config, Prometheus metrics on /metrics, health on /healthz, and a graceful stop
// on SIGTERM (stop the leader-runner, let requests release their locks, close the client).
//
//   ETCD_ENDPOINTS=127.0.0.1:2379 PORT=8080 node examples/dist/service/main.js
//
// Routes: GET /work (takes the lock `service/locks/work`, answers with the configured greeting
// and the fencing token), GET /metrics, GET /healthz. Config lives under `service/config/`
// (JSON values, e.g. `greeting`); the leader increments `service/ticks` every `tickMs`.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { decoders, mirror } from '@etcdkit/config-sync';
import { compare, Etcd, type Logger, op } from '@etcdkit/core';
import { runForLeader } from '@etcdkit/election';
import { withLock } from '@etcdkit/lock';
import { instrument } from '@etcdkit/otel';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { MeterProvider } from '@opentelemetry/sdk-metrics';

const PREFIX = process.env.SERVICE_PREFIX ?? 'service/';
const id = process.env.SERVICE_ID ?? `service-${process.pid}`;

/** JSON lines on stderr: the logger shape etcdkit takes (pino would do as well). */
const logger: Logger = Object.fromEntries(
  (['debug', 'info', 'warn', 'error'] as const).map((level) => [
    level,
    (obj: object, msg?: string) => {
      const { err, ...rest } = obj as { err?: unknown };
      const error = err instanceof Error ? { err: err.message } : {};
      process.stderr.write(`${JSON.stringify({ level, msg, ...rest, ...error }, bigints)}\n`);
    },
  ]),
) as unknown as Logger;

function bigints(_key: string, v: unknown): unknown {
  return typeof v === 'bigint' ? v.toString() : Buffer.isBuffer(v) ? v.toString() : v;
}

// Metrics: etcdkit's channels → OpenTelemetry → the Prometheus text format on /metrics.
const exporter = new PrometheusExporter({ preventServerStart: true });
const meterProvider = new MeterProvider({ readers: [exporter] });
const otel = instrument({ meterProvider });

const etcd = new Etcd({ logger, dialTimeoutMs: 2000, requestTimeoutMs: 5000 });
const config = await mirror(etcd, `${PREFIX}config/`, { decode: decoders.json });

const tickMs = () => {
  const v = config.get('tickMs');
  return typeof v === 'number' && v > 0 ? v : 200;
};

// The leader's job: count ticks, each write guarded by leadership.
const runner = runForLeader({
  etcd,
  name: `${PREFIX}leader`,
  value: id,
  ttl: 5,
  async onLeading(signal, { election }) {
    while (!signal.aborted) {
      const current = await etcd.get(`${PREFIX}ticks`);
      const n = Number(current?.value.toString() ?? '0') + 1;
      await etcd
        .txn()
        .if(election.isLeader(), compare.modRevision(`${PREFIX}ticks`, '==', current?.modRevision ?? 0n))
        .then(op.put(`${PREFIX}ticks`, String(n)))
        .commit({ signal })
        .catch(() => undefined); // a failed tick is retried at the next one
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, tickMs());
        signal.addEventListener('abort', () => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  },
  onError: (err) => logger.warn({ err }, 'leader-runner: recovering'),
});

async function work(res: ServerResponse): Promise<void> {
  const body = await withLock(
    etcd,
    `${PREFIX}locks/work`,
    async ({ fencingToken }) => ({
      greeting: config.get('greeting') ?? 'hello',
      fencingToken: fencingToken.toString(),
      by: id,
    }),
    { ttl: 5, timeoutMs: 5000 },
  );
  res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

async function healthz(res: ServerResponse): Promise<void> {
  const client = await etcd.health({ timeoutMs: 1000 });
  const leader = runner.health();
  const ok = client.ok && leader.ok;
  res
    .writeHead(ok ? 200 : 503, { 'content-type': 'application/json' })
    .end(JSON.stringify({ ok, etcd: client, leader, config: config.status }, bigints));
}

let stopping = false;
const server = createServer((req: IncomingMessage, res: ServerResponse) => {
  const url = req.url ?? '/';
  const route =
    url === '/metrics'
      ? async () => exporter.getMetricsRequestHandler(req, res)
      : url === '/healthz'
        ? () => healthz(res)
        : url.startsWith('/work') && !stopping
          ? () => work(res)
          : async () => void res.writeHead(stopping ? 503 : 404).end();
  route().catch((err: unknown) => {
    logger.error({ err, url }, 'request failed');
    if (!res.headersSent) res.writeHead(500);
    res.end(String((err as Error)?.message ?? err));
  });
});

server.listen(Number(process.env.PORT ?? 8080), '127.0.0.1', () => {
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  process.stdout.write(`listening on ${port}\n`);
});

process.once('SIGTERM', () => {
  stopping = true;
  void (async () => {
    // In-flight requests finish (and release their locks); no new ones are taken.
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await runner.stop();
    await config.close();
    otel.close();
    await meterProvider.shutdown();
    await etcd.close();
    process.stdout.write('stopped\n');
  })().catch((err: unknown) => {
    logger.error({ err }, 'shutdown failed');
    process.exitCode = 1;
  });
});
