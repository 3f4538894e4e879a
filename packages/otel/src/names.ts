/** The names of the metrics instrument() records (stable: only added to). */
export const METRICS = {
  /** Histogram, ms: one unary RPC, retries included (OpenTelemetry's RPC conventions). */
  rpcDuration: 'rpc.client.duration',
  /** Counter: attempts retried with backoff (RPCs, the keepalive and watch streams). */
  retries: 'etcdkit.rpc.retries',
  /** Counter: moves to another endpoint. */
  failovers: 'etcdkit.connection.failovers',
  /** Counter: no endpoint ready within dialTimeoutMs. */
  dialTimeouts: 'etcdkit.connection.dial_timeouts',
  /** UpDownCounter: sessions alive. */
  sessionsLive: 'etcdkit.session.live',
  /** Counter: sessions that ended without close(). */
  sessionsLost: 'etcdkit.session.lost',
  /** Histogram, ms: from lock() to acquired (or failed). */
  lockWait: 'etcdkit.lock.wait.duration',
  /** Histogram, ms: from acquired to released (or lost). */
  lockHold: 'etcdkit.lock.hold.duration',
  /** Counter: locks lost (session lost, key deleted). */
  lockLost: 'etcdkit.lock.lost',
  /** UpDownCounter: locks held now. */
  locksHeld: 'etcdkit.lock.held',
  /** Histogram, ms: from campaign() to elected (or failed). */
  campaignWait: 'etcdkit.election.campaign.duration',
  /** Counter: leader changes seen by leader-runners. */
  leaderChanges: 'etcdkit.election.leader.changes',
  /** UpDownCounter: 1 while this process leads an election. */
  leader: 'etcdkit.election.leader',
  /** Gauge, ms: the longest wait of an event not yet taken by its consumer, across watches. */
  watchLag: 'etcdkit.watch.lag',
  /** Counter: watches re-created from their next revision. */
  watchResumes: 'etcdkit.watch.resumes',
  /** Counter: watches ended as compacted. */
  watchCompactions: 'etcdkit.watch.compactions',
  /** Counter: watches paused by back-pressure. */
  watchPauses: 'etcdkit.watch.pauses',
  /** Counter: config values rejected. */
  configInvalid: 'etcdkit.config.invalid',
  /** Counter: mirrors listed again. */
  configRelists: 'etcdkit.config.relists',
  /** Counter: revisions applied to mirrors. */
  configApplied: 'etcdkit.config.applied',
  /** Gauge: last applied revision per mirror. */
  configRevision: 'etcdkit.config.revision',
} as const;
