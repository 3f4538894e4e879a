/** What a worker tells the demo's conductor (over the IPC channel), and what it is told. */
export type WorkerMessage =
  | { type: 'ready'; worker: string; at: number }
  | { type: 'leading'; worker: string; at: number }
  | { type: 'not-leading'; worker: string; at: number; ticks: number }
  | { type: 'resigned'; worker: string; at: number }
  | { type: 'increment'; worker: string; at: number; value: number; fencingToken: string }
  | { type: 'config'; worker: string; at: number; value: string | undefined }
  /** The leader's view of the registry: the ids of the workers registered now. */
  | { type: 'discovered'; worker: string; at: number; instances: string[] }
  | { type: 'error'; worker: string; at: number; message: string }
  | { type: 'stopped'; worker: string; at: number; increments: number };

export type ConductorMessage = { type: 'resign' } | { type: 'stop' };

/** Keys of the demo, all under one prefix that the conductor clears first. */
export const keys = {
  prefix: 'demo/',
  election: 'demo/scheduler-election',
  tick: 'demo/scheduler/tick',
  tickLog: 'demo/scheduler/log/',
  lock: 'demo/job-lock',
  counter: 'demo/job/counter',
  counterLog: 'demo/job/log/',
  config: 'demo/config/',
  configMessage: 'demo/config/message',
  /** The workers' service in the registry: each registers `demo/services/worker/<name>`. */
  service: 'demo/services/worker',
} as const;
