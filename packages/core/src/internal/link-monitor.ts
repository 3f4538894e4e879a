import { diagnostics } from '../diagnostics.js';
import type { EtcdError } from '../errors.js';
import type { Connection } from './connection.js';
import type { Log } from './log.js';

const { connection } = diagnostics;

/**
 * Follows a client's connection for the 'etcdkit:connection' channel, the logger and health():
 * which endpoint is connected, and why the last one was left.
 */
export class LinkMonitor {
  /** The endpoint with a ready connection, if any. */
  connected: string | undefined;
  private endpoint: string;
  private lastError: EtcdError | undefined;

  constructor(conn: Connection, log: Log) {
    this.endpoint = conn.endpoint;
    conn.on('connected', (endpoint) => {
      this.connected = endpoint;
      if (connection.hasSubscribers) connection.publish({ type: 'connected', endpoint });
      if (log.enabled) log.info(`connected:${endpoint}`, { endpoint }, 'etcdkit: connected to etcd');
    });
    conn.on('disconnected', (endpoint, error) => {
      if (this.connected === endpoint) this.connected = undefined;
      this.lastError = error;
      if (connection.hasSubscribers) connection.publish({ type: 'disconnected', endpoint, error });
      if (log.enabled)
        log.warn(
          `disconnected:${endpoint}`,
          { endpoint, err: error },
          `etcdkit: lost the connection to ${endpoint}: ${error.message}`,
        );
    });
    conn.on('endpoint', (to) => {
      const from = this.endpoint;
      this.endpoint = to;
      const reason = this.lastError;
      this.lastError = undefined;
      if (connection.hasSubscribers) connection.publish({ type: 'failover', from, to, reason });
      if (log.enabled)
        log.warn(
          'failover',
          { from, to, reason: reason?.message },
          `etcdkit: failing over from ${from} to ${to}`,
        );
    });
  }
}
