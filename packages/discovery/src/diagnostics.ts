import { channel } from 'node:diagnostics_channel';
import { DIAGNOSTICS_CHANNELS } from '@etcdkit/core';

/**
 * 'etcdkit:discovery' carries what happens to registrations, for metrics and logs from outside
 * (no cost without subscribers). Payloads:
 *   { type: 'registered', service, id, key, lease }
 *   { type: 'lost', service, id, key, lease, error }
 *   { type: 'reregistered', service, id, key, lease, attempts, downtimeMs }
 *   { type: 'retry', service, id, key, attempt, delayMs, error }
 *   { type: 'draining', service, id, key }
 *   { type: 'deregistered', service, id, key, error? }
 */
export const discoveryChannel = channel(DIAGNOSTICS_CHANNELS.discovery);

export type DiscoveryMessage =
  | { type: 'registered'; service: string; id: string; key: string; lease: bigint }
  | { type: 'lost'; service: string; id: string; key: string; lease: bigint; error: Error }
  | {
      type: 'reregistered';
      service: string;
      id: string;
      key: string;
      lease: bigint;
      attempts: number;
      downtimeMs: number;
    }
  | {
      type: 'retry';
      service: string;
      id: string;
      key: string;
      attempt: number;
      delayMs: number;
      error: Error;
    }
  | { type: 'draining'; service: string; id: string; key: string }
  | { type: 'deregistered'; service: string; id: string; key: string; error?: Error };

export function publish(message: DiscoveryMessage): void {
  if (discoveryChannel.hasSubscribers) discoveryChannel.publish(message);
}
