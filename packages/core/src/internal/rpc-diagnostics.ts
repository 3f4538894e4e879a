import { diagnostics, type RpcMessage } from '../diagnostics.js';
import { DialTimeoutError } from '../errors.js';
import { logOf } from './log.js';

const { rpc, connection } = diagnostics;

/** What a connection keeps for health(): when a call last succeeded (ms since the epoch, 0: never). */
export interface RpcHealth {
  lastSuccessAt: number;
}

/**
 * Run one unary call (retries included) inside the 'etcdkit:rpc' TracingChannel. Without
 * subscribers it only notes the success time: no message is built.
 */
export function traceUnary<T>(
  health: RpcHealth,
  service: string,
  method: string,
  key: Buffer | undefined,
  idempotent: boolean,
  endpoint: () => string,
  run: (message: RpcMessage | undefined) => Promise<T>,
): Promise<T> {
  const ok = (r: T): T => {
    health.lastSuccessAt = Date.now();
    return r;
  };
  if (!rpc.hasSubscribers && !connection.hasSubscribers) return run(undefined).then(ok);
  const m: RpcMessage = {
    service: `etcdserverpb.${service}`,
    method,
    endpoint: endpoint(),
    attempt: 1,
    idempotent,
  };
  if (key !== undefined) m.key = key;
  const traced = () =>
    run(m).then(
      (r) => {
        m.outcome = 'ok';
        m.endpoint = endpoint();
        return ok(r);
      },
      (err: unknown) => {
        m.outcome = 'error';
        if (err instanceof DialTimeoutError && connection.hasSubscribers)
          connection.publish({
            type: 'dial-timeout',
            operation: `${service}.${method}`,
            endpoints: err.endpoints,
            error: err,
          });
        throw err;
      },
    );
  return rpc.hasSubscribers ? rpc.tracePromise(traced, m) : traced();
}

/** A failed attempt of the call of `m` is retried after `delayMs`. */
export function rpcRetry(
  options: object,
  m: RpcMessage | undefined,
  service: string,
  method: string,
  err: unknown,
  attempt: number,
  delayMs: number,
): void {
  if (m) m.attempt = attempt + 1;
  if (connection.hasSubscribers)
    connection.publish({ type: 'retry', operation: `${service}.${method}`, attempt, delayMs, error: err });
  const log = logOf(options);
  if (log.enabled)
    log.warn(
      `retry:${service}.${method}`,
      { operation: `${service}.${method}`, attempt, delayMs, err },
      `etcdkit: ${service}.${method} failed (${(err as Error)?.message ?? String(err)}); retrying with backoff`,
    );
}
