import { EtcdError } from '@etcdkit/core';

/** This candidate is not (or no longer) the leader: its key is gone or its session is over. */
export class NotLeaderError extends EtcdError {
  declare readonly code: 'NOT_LEADER';
  /** The default message says to campaign (again) first. */
  constructor(
    message = 'not the leader of this election: campaign() first, and campaign again after losing leadership',
    options?: { cause?: unknown },
  ) {
    super('NOT_LEADER', message, options);
  }
}

/** campaign() was called while another campaign() of the same Election is still pending. */
export class CampaignInProgressError extends EtcdError {
  declare readonly code: 'CAMPAIGN_IN_PROGRESS';
  /** The default message says to await or abort the pending campaign first. */
  constructor(
    message = 'this Election already has a campaign in progress: await it (or abort it) before campaigning again',
    options?: { cause?: unknown },
  ) {
    super('CAMPAIGN_IN_PROGRESS', message, options);
  }
}
