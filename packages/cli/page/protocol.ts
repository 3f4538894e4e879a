// The messages of the inspector's event stream, as packages/cli/src/ui/server.ts sends them.

/** A key-value: revisions as decimal strings, the lease in lowercase hex ('' for none). */
export interface Kv {
  k: string;
  /** The value as text, or base64 when `b` is set; cut to 64 KiB (`s` is then the full size). */
  v: string;
  b?: 1;
  s?: number;
  c: string;
  m: string;
  n: string;
  l: string;
}

export interface Change {
  r: string;
  t: 'put' | 'delete';
  k: string;
  v?: string;
  p?: string;
  at: number;
}

export interface Hello {
  /** When the server started following (ms since the epoch). */
  since: number;
  prefix: string;
  namespace: string;
  writes: boolean;
  changes: number;
}

export interface Snapshot {
  revision: string;
  kvs: Kv[];
  changes: Change[];
}

export interface Batch {
  revision: string;
  at: number;
  events: ({ t: 'put'; kv: Kv } | { t: 'delete'; k: string })[];
}

export interface LeaseInfo {
  id: string;
  ttl: number;
  grantedTtl: number;
  readAt: number;
}

export interface ClusterEndpoint {
  endpoint: string;
  up: boolean;
  healthy: boolean;
  tookMs?: number;
  error?: string;
  memberId?: string;
  name?: string;
  version?: string;
  dbSize?: number;
  dbSizeInUse?: number;
  isLeader?: boolean;
  isLearner?: boolean;
  raftTerm?: string;
  raftIndex?: string;
  raftAppliedIndex?: string;
}

export interface ClusterView {
  readAt: number;
  endpoints: ClusterEndpoint[];
  members: { id: string; name: string; clientUrls: string[]; isLearner: boolean }[];
  leader?: string;
  alarms: { memberId: string; alarm: string }[];
  problems: string[];
}

export interface Status {
  state: 'live' | 'reconnecting';
  error?: string;
}
