/**
 * Leader election on etcd: {@link Election} (the algorithm and key layout of etcd's Go
 * `concurrency.Election`, shared with `etcdctl elect`), {@link LeaderRunner} / {@link runForLeader}
 * that run work only while leading, and {@link observeLeader} to follow who leads.
 *
 * @example
 * ```ts
 * import { Election } from '@etcdkit/election';
 *
 * const session = await etcd.session({ ttl: 10 });
 * const election = new Election(session, 'scheduler');
 * await election.campaign('worker-1'); // resolves once this process leads
 * // ... lead until session.signal aborts or you resign
 * await election.resign();
 * ```
 *
 * @module @etcdkit/election
 */

export type { CampaignOptions } from './election.js';
export { Election } from './election.js';
export { CampaignInProgressError, NotLeaderError } from './errors.js';
export type { Leader } from './leader.js';
export type { LeaderRunnerHealth, LeaderRunnerOptions, LeadingContext } from './leader-runner.js';
export { LeaderRunner, runForLeader } from './leader-runner.js';
export type { LeaderObserver, ObserveOptions, Subscription } from './observe.js';
export { LeaderObservation, observeLeader } from './observe.js';
