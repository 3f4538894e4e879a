import { type Bytes, InvalidArgumentError } from '@etcdkit/core';

/**
 * Turns an item's bytes into a value: the shape of config-sync's decoders, so
 * `decoders.json`, `decoders.text` or `decoders.yaml(parse)` from `@etcdkit/config-sync` fit
 * as they are. A throw marks the item invalid (InvalidValueError).
 */
export type Decoder<T> = (value: Buffer, key: string) => T;

/** Turns a value into the bytes stored in the item. */
export type Encoder<T> = (value: T) => Bytes;

/** How a typed queue stores its values; JSON when not given. */
export interface Codec<T> {
  /** Value to bytes on enqueue; default `JSON.stringify` (refusing what JSON cannot carry). */
  encode?: Encoder<T>;
  /** Bytes to value on dequeue/claim; default UTF-8 JSON. A throw makes an InvalidValueError. */
  decode?: Decoder<T>;
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

function jsonEncode(value: unknown): string {
  const text = JSON.stringify(value);
  // JSON.stringify gives undefined for undefined, functions and symbols: nothing a consumer could read back.
  if (text === undefined)
    throw new InvalidArgumentError(
      `a queue item must be a JSON value (an object, array, string, number, boolean or null), got ${typeof value}`,
    );
  return text;
}

function jsonDecode(value: Buffer): unknown {
  return JSON.parse(utf8.decode(value));
}

/** The encoder and decoder of `codec`, JSON for what it leaves out. */
export function resolveCodec<T>(codec: Codec<T> | undefined, what: string): Required<Codec<T>> {
  if (codec !== undefined && (codec === null || typeof codec !== 'object'))
    throw new InvalidArgumentError(`${what} takes { encode?, decode? }, got ${typeof codec}`);
  const encode = codec?.encode ?? (jsonEncode as Encoder<T>);
  const decode = codec?.decode ?? (jsonDecode as Decoder<T>);
  if (typeof encode !== 'function' || typeof decode !== 'function')
    throw new InvalidArgumentError(`${what}: encode and decode must be functions`);
  return { encode, decode };
}
