import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { TestkitError } from './errors.js';

/** Client TLS material for talking to etcd's client port over HTTPS. */
export interface HttpTls {
  ca: Buffer;
  cert?: Buffer;
  key?: Buffer;
}

export interface HttpResponse {
  status: number;
  body: string;
}

/**
 * One HTTP(S) request to etcd's client port, which serves /health, /version and the
 * gRPC-gateway (/v3/...) next to gRPC. No keep-alive: probes must not hold sockets open.
 */
export function httpCall(
  url: string,
  options: { method?: 'GET' | 'POST'; body?: string; tls?: HttpTls; timeoutMs?: number } = {},
): Promise<HttpResponse> {
  const { method = 'GET', body, tls, timeoutMs = 1000 } = options;
  return new Promise((resolve, reject) => {
    const target = new URL(url);
    const common = { method, agent: false as const, timeout: timeoutMs, headers: { connection: 'close' } };
    const req =
      target.protocol === 'https:'
        ? httpsRequest(target, { ...common, ca: tls?.ca, cert: tls?.cert, key: tls?.key })
        : httpRequest(target, common);
    req.on('timeout', () => req.destroy(new TestkitError(`${method} ${url} timed out after ${timeoutMs}ms`)));
    req.on('error', reject);
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
    });
    req.end(body);
  });
}

/** True when GET /health answers {"health":"true"}: the member has a leader and serves reads. */
export async function isHealthy(clientUrl: string, tls?: HttpTls): Promise<boolean> {
  try {
    const res = await httpCall(`${clientUrl}/health`, { tls });
    if (res.status !== 200) return false;
    const parsed: unknown = JSON.parse(res.body);
    return (
      typeof parsed === 'object' && parsed !== null && (parsed as { health?: unknown }).health === 'true'
    );
  } catch {
    return false;
  }
}

/** True when GET /version answers: the process listens, whether or not the cluster has quorum. */
export async function isListening(clientUrl: string, tls?: HttpTls): Promise<boolean> {
  try {
    return (await httpCall(`${clientUrl}/version`, { tls })).status === 200;
  } catch {
    return false;
  }
}

/** Member id and leader id of one member, via the gRPC gateway (ids are uint64: kept as strings). */
export async function memberStatus(
  clientUrl: string,
  tls?: HttpTls,
): Promise<{ memberId: string; leader: string } | undefined> {
  try {
    const res = await httpCall(`${clientUrl}/v3/maintenance/status`, { method: 'POST', body: '{}', tls });
    if (res.status !== 200) return undefined;
    const parsed = JSON.parse(res.body) as { header?: { member_id?: unknown }; leader?: unknown };
    const memberId = parsed.header?.member_id;
    const leader = parsed.leader;
    if (typeof memberId !== 'string' || typeof leader !== 'string') return undefined;
    return { memberId, leader };
  } catch {
    return undefined;
  }
}

/**
 * True when the member answering on `clientUrl` advertises `peerUrl`: a probe could otherwise
 * reach a foreign server that took our client port, while our etcd fails to bind it.
 */
export async function answersAs(clientUrl: string, peerUrl: string, tls?: HttpTls): Promise<boolean> {
  try {
    const res = await httpCall(`${clientUrl}/v3/cluster/member/list`, { method: 'POST', body: '{}', tls });
    if (res.status !== 200) return false;
    const parsed = JSON.parse(res.body) as {
      header?: { member_id?: unknown };
      members?: Array<{ ID?: unknown; peerURLs?: unknown }>;
    };
    const self = parsed.members?.find((m) => m.ID === parsed.header?.member_id);
    return Array.isArray(self?.peerURLs) && self.peerURLs.includes(peerUrl);
  } catch {
    return false;
  }
}
