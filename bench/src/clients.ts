/** Endpoint spellings for the clients under comparison. */

/** etcd3 wants a scheme on every host: 'h:p' → 'http://h:p'. */
export function etcd3Hosts(endpoints: readonly string[]): string[] {
  return endpoints.map((e) => (/^https?:\/\//.test(e) ? e : `http://${e}`));
}

/**
 * Options for an etcd3 client comparable to the others: its own subchannel pool, so that it never
 * shares a TCP connection with another client of the same process (grpc-js shares by default).
 */
export const ETCD3_GRPC_OPTIONS = { 'grpc.use_local_subchannel_pool': 1 } as const;
