import { InvalidArgumentError } from '../errors.js';

export interface ParsedEndpoint {
  /** As written, trimmed, without a trailing slash: used in messages and events. */
  label: string;
  /** host:port for gRPC (port 2379 when none is given). */
  address: string;
  scheme: 'http' | 'https' | undefined;
}

const ACCEPTS = 'host:port, http://host:port or https://host:port (port 1-65535)';

/**
 * Check one endpoint as a user gave it (or as a member advertises it) and split it.
 * `what` names it in the error, e.g. `endpoints[2]`.
 */
export function checkEndpoint(raw: unknown, what: string): ParsedEndpoint {
  if (typeof raw !== 'string')
    throw new InvalidArgumentError(`${what} must be a string (${ACCEPTS}), got ${typeof raw}`);
  const label = raw.trim().replace(/\/+$/, '');
  const bad = (why: string) =>
    new InvalidArgumentError(
      `${what} ${JSON.stringify(raw)} is not a valid etcd endpoint (${why}); use ${ACCEPTS}`,
    );
  if (label === '') throw bad('empty');
  const m = /^(?:([A-Za-z][A-Za-z0-9+.-]*):\/\/)?([^/?#@\s]+)$/.exec(label);
  if (!m) throw bad('it has a path, a user or spaces');
  const scheme = m[1]?.toLowerCase();
  if (scheme !== undefined && scheme !== 'http' && scheme !== 'https')
    throw bad(`scheme ${JSON.stringify(m[1])} is not http or https`);
  const hostPort = m[2]!;
  // [v6]:port, [v6], host:port or host.
  const v6 = /^\[([0-9A-Fa-f:.]+)\](?::([^:]*))?$/.exec(hostPort);
  const plain = /^([^:[\]]+)(?::([^:]*))?$/.exec(hostPort);
  const parts = v6 ?? plain;
  if (!parts) throw bad('the host is not a name, an IPv4 address or a bracketed IPv6 address');
  const host = v6 ? `[${parts[1]}]` : parts[1]!;
  const portText = parts[2];
  if (portText !== undefined) {
    const port = Number(portText);
    if (!/^\d+$/.test(portText) || !Number.isInteger(port) || port < 1 || port > 65535)
      throw bad(`port ${JSON.stringify(portText)} is not a number from 1 to 65535`);
  }
  return {
    label,
    address: `${host}:${portText ?? '2379'}`,
    scheme: scheme as ParsedEndpoint['scheme'],
  };
}
