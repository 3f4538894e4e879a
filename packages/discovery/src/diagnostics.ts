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

/** A message on {@link discoveryChannel}, tagged by `type`. */
export type DiscoveryMessage =
  | {
      /** The instance was registered (its key written under a new session). */
      type: 'registered';
      /** The service name. */
      service: string;
      /** The instance ID. */
      id: string;
      /** The instance's key, `<service>/<id>`. */
      key: string;
      /** The lease the key is (or was) attached to. */
      lease: bigint;
    }
  | {
      /** Its session was lost: the key is gone or going until it registers again. */
      type: 'lost';
      /** The service name. */
      service: string;
      /** The instance ID. */
      id: string;
      /** The instance's key, `<service>/<id>`. */
      key: string;
      /** The lease the key is (or was) attached to. */
      lease: bigint;
      /** Why the session was lost. */
      error: Error;
    }
  | {
      /** It was registered again after a loss. */
      type: 'reregistered';
      /** The service name. */
      service: string;
      /** The instance ID. */
      id: string;
      /** The instance's key, `<service>/<id>`. */
      key: string;
      /** The lease the key is (or was) attached to. */
      lease: bigint;
      /** Attempts it took. */
      attempts: number;
      /** How long the instance was not registered, in milliseconds. */
      downtimeMs: number;
    }
  | {
      /** An attempt to register again failed; the next follows after `delayMs`. */
      type: 'retry';
      /** The service name. */
      service: string;
      /** The instance ID. */
      id: string;
      /** The instance's key, `<service>/<id>`. */
      key: string;
      /** The attempt that failed, from 1. */
      attempt: number;
      /** Milliseconds until the next attempt. */
      delayMs: number;
      /** Why it failed. */
      error: Error;
    }
  | {
      /** The instance was marked draining (still listed, no new traffic). */
      type: 'draining';
      /** The service name. */
      service: string;
      /** The instance ID. */
      id: string;
      /** The instance's key, `<service>/<id>`. */
      key: string;
    }
  | {
      /** The instance was removed: close() was called, or the client was closed under it. */
      type: 'deregistered';
      /** The service name. */
      service: string;
      /** The instance ID. */
      id: string;
      /** The instance's key, `<service>/<id>`. */
      key: string;
      /** Set when removing the key failed or the client closed (the key then goes with its lease). */
      error?: Error;
    };

export function publish(message: DiscoveryMessage): void {
  if (discoveryChannel.hasSubscribers) discoveryChannel.publish(message);
}
