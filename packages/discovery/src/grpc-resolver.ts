import { type Etcd, InvalidArgumentError } from '@etcdkit/core';
import { type ChannelOptions, experimental, Metadata, type ServiceConfig, status } from '@grpc/grpc-js';
import { type Discovery, discover } from './discovery.js';
import type { Instance } from './format.js';
import { checkClient } from './names.js';

/** Options of {@link registerEtcdResolver}. */
export interface EtcdResolverOptions {
  /** The URI scheme to answer to. Default 'etcd' (targets `etcd:///<service>`). */
  scheme?: string;
  /**
   * The load balancing policy the resolver hands to the channel, unless the channel was given
   * its own `grpc.service_config`. Default 'round_robin'.
   */
  loadBalancing?: 'round_robin' | 'pick_first';
}

type Endpoint = experimental.Endpoint;

function endpointOf(address: string): Endpoint | undefined {
  const hp = experimental.splitHostPort(address);
  if (!hp || hp.port === undefined || hp.host === '') return undefined;
  return { addresses: [{ host: hp.host, port: hp.port }] };
}

/**
 * Register a grpc-js resolver for targets `etcd:///<service>`: a channel made with such a
 * target follows the live instances of the service (those not draining) and balances over
 * them (round_robin, unless the channel has a service config of its own). Registering again
 * (for the same scheme) replaces the earlier client.
 */
export function registerEtcdResolver(etcd: Etcd, options: EtcdResolverOptions = {}): void {
  checkClient(etcd, 'registerEtcdResolver()');
  if (typeof options !== 'object' || options === null)
    throw new InvalidArgumentError(
      'registerEtcdResolver() options must be an object { scheme?, loadBalancing? }',
    );
  const scheme = options.scheme ?? 'etcd';
  if (typeof scheme !== 'string' || !/^[a-z][a-z0-9+.-]*$/.test(scheme))
    throw new InvalidArgumentError(
      `scheme must be a lowercase URI scheme such as 'etcd', got ${JSON.stringify(scheme)}`,
    );
  const policy = options.loadBalancing ?? 'round_robin';
  if (policy !== 'round_robin' && policy !== 'pick_first')
    throw new InvalidArgumentError(
      `loadBalancing must be 'round_robin' or 'pick_first', got ${JSON.stringify(options.loadBalancing)}`,
    );
  const serviceConfig: ServiceConfig = { loadBalancingConfig: [{ [policy]: {} }], methodConfig: [] };

  class EtcdResolver implements experimental.Resolver {
    private readonly service: string;
    private readonly ownConfig: boolean;
    private discovery: Discovery | undefined;
    private pending = false;
    private destroyed = false;
    private generation = 0;

    constructor(
      target: experimental.GrpcUri,
      private readonly listener: experimental.ResolverListener,
      channelOptions: ChannelOptions,
    ) {
      this.service = target.path.replace(/^\/+/, '');
      this.ownConfig = channelOptions['grpc.service_config'] !== undefined;
      this.start();
    }

    /**
     * The :authority of calls (and the TLS server name): the last segment of the service name
     * ('prod/billing' → 'billing'), as a path is not a valid authority. Channels override it
     * with the option 'grpc.default_authority'.
     */
    static getDefaultAuthority(target: experimental.GrpcUri): string {
      const last = target.path.split('/').filter(Boolean).pop() ?? 'localhost';
      return encodeURIComponent(last);
    }

    private start(): void {
      if (this.pending || this.discovery) return;
      this.pending = true;
      const generation = this.generation;
      discover(etcd, this.service).then(
        (d) => {
          if (generation !== this.generation) {
            void d.close();
            return;
          }
          this.pending = false;
          this.discovery = d;
          // Called at once with the current list (never synchronously with the constructor:
          // discover() resolved in a later tick), then after every change.
          d.subscribe((list) => this.report(list));
        },
        (err: unknown) => {
          if (generation !== this.generation) return;
          this.pending = false;
          this.fail(
            `cannot read the instances of ${JSON.stringify(this.service)} from etcd: ${(err as Error).message}`,
          );
        },
      );
    }

    private report(list: readonly Instance[]): void {
      if (this.destroyed) return;
      const endpoints: Endpoint[] = [];
      for (const i of list) {
        if (i.draining) continue;
        const e = endpointOf(i.address);
        if (e) endpoints.push(e);
      }
      if (endpoints.length === 0) {
        this.fail(`no live instance of service ${JSON.stringify(this.service)} is registered in etcd`);
        return;
      }
      this.listener(
        experimental.statusOrFromValue(endpoints),
        {},
        this.ownConfig ? null : experimental.statusOrFromValue(serviceConfig),
        '',
      );
    }

    private fail(details: string): void {
      this.listener(
        experimental.statusOrFromError({ code: status.UNAVAILABLE, details, metadata: new Metadata() }),
        {},
        null,
        '',
      );
    }

    updateResolution(): void {
      this.destroyed = false;
      if (!this.discovery) {
        this.start();
        return;
      }
      const d = this.discovery;
      // Never call the listener synchronously with updateResolution().
      setImmediate(() => {
        if (this.discovery === d) this.report(d.instances());
      });
    }

    destroy(): void {
      this.destroyed = true;
      // A start still under way belongs to the old generation: it closes what it opens.
      this.generation++;
      this.pending = false;
      const d = this.discovery;
      this.discovery = undefined;
      void d?.close();
    }
  }

  experimental.registerResolver(scheme, EtcdResolver);
}
