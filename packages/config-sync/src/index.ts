/**
 * A key prefix mirrored into an immutable, observable, typed in-memory snapshot: {@link mirror}
 * resolves once the snapshot is complete and keeps it current from one watch.
 *
 * @example
 * ```ts
 * import { mirror } from '@etcdkit/config-sync';
 *
 * const cfg = await mirror(etcd, 'config/', { decode: (v) => JSON.parse(v.toString()) });
 * cfg.get('db/url'); // the current value under config/db/url
 * cfg.subscribe((snapshot) => reconfigure(snapshot)); // now, then on every change
 * ```
 *
 * @module @etcdkit/config-sync
 */

export type { Change, ChangesOptions } from './changes.js';
export type { Decoder } from './decoders.js';
export { decoders } from './decoders.js';
export { ChangesOverflowError, LastKnownGoodError, SubscriberError } from './errors.js';
export type { MirrorBaseOptions, MirrorOptions, MirrorSource } from './mirror.js';
export { Mirror, mirror } from './mirror.js';
export type { DebounceOptions, Observer, SubscribeOptions, Subscription } from './observable.js';
export type { ConfigSnapshot } from './snapshot.js';
export type {
  InferOutput,
  StandardSchemaIssue,
  StandardSchemaProps,
  StandardSchemaResult,
  StandardSchemaV1,
} from './standard-schema.js';
export type { InvalidEvent, MirrorEvents, MirrorStatus, ResyncEvent } from './view.js';
export { ConfigView, KeyView } from './view.js';
