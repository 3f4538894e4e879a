import type { Scenario } from '../harness.js';
import { configSync } from './config-sync.js';
import { coreKv } from './core-kv.js';
import { discovery } from './discovery.js';
import { election } from './election.js';
import { lock } from './lock.js';
import { observability } from './observability.js';
import { queue } from './queue.js';
import { stm } from './stm.js';
import { watch } from './watch.js';

/** Every scenario, in the order they run. Add yours here: one import, one entry. */
export const scenarios: Scenario[] = [
  coreKv,
  watch,
  lock,
  election,
  configSync,
  stm,
  queue,
  discovery,
  observability,
];
