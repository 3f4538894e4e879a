import { type Etcd, InvalidArgumentError } from '@etcdkit/core';

/** A service name is a key prefix: `<service>/` holds its instances. */
export function checkService(service: unknown, what: string): asserts service is string {
  if (typeof service !== 'string' || service === '')
    throw new InvalidArgumentError(
      `${what} needs a service name (a non-empty string), e.g. "billing" or "prod/billing"`,
    );
  if (service.endsWith('/'))
    throw new InvalidArgumentError(
      `service must not end with "/" (got ${JSON.stringify(service)}): instances live under "<service>/"`,
    );
}

export function checkClient(etcd: unknown, what: string): asserts etcd is Etcd {
  const c = etcd as Partial<Etcd> | null;
  if (typeof c?.put !== 'function' || typeof c.watch !== 'function' || typeof c.session !== 'function')
    throw new InvalidArgumentError(
      `${what} needs an Etcd client (or a namespace view) as its first argument`,
    );
}

/** The key prefix of a service's instances. */
export function servicePrefix(service: string): string {
  return `${service}/`;
}
