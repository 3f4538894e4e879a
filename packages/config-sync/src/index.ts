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
