import type { Scenario } from '../harness.js';
import { coreKv } from './core-kv.js';
import { watch } from './watch.js';

/** Every scenario, in the order they run. Add yours here: one import, one entry. */
export const scenarios: Scenario[] = [coreKv, watch];
