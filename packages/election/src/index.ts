export type { CampaignOptions } from './election.js';
export { Election } from './election.js';
export { CampaignInProgressError, NotLeaderError } from './errors.js';
export type { Leader } from './leader.js';
export type { LeaderRunnerHealth, LeaderRunnerOptions, LeadingContext } from './leader-runner.js';
export { LeaderRunner, runForLeader } from './leader-runner.js';
export type { LeaderObserver, ObserveOptions, Subscription } from './observe.js';
export { LeaderObservation, observeLeader } from './observe.js';
