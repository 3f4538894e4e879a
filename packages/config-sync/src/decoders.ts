import { InvalidArgumentError } from '@etcdkit/core';

/** Turns the raw bytes of a value into what the mirror stores. A throw marks the value invalid. */
export type Decoder<T> = (value: Buffer, key: string) => T;

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

/** UTF-8 text (the default). Bytes that are not UTF-8 are replaced by U+FFFD, as Buffer#toString does. */
const text: Decoder<string> = (value) => value.toString('utf8');

/** JSON text. Bytes that are not UTF-8 or text that is not JSON make the value invalid. */
const json: Decoder<unknown> = (value) => JSON.parse(utf8.decode(value));

/** The bytes, copied (the original may share memory with a whole network message). */
const buffer: Decoder<Buffer> = (value) => Buffer.from(value);

/**
 * YAML through the parser your application already uses, so this package carries none:
 * `decoders.yaml(parse)` with `import { parse } from 'yaml'`, or `load` from 'js-yaml'.
 */
function yaml(parse: (source: string) => unknown): Decoder<unknown> {
  if (typeof parse !== 'function')
    throw new InvalidArgumentError(
      'decoders.yaml(parse) needs a YAML parse function, e.g. `parse` from the yaml package',
    );
  return (value) => parse(utf8.decode(value));
}

/** Ready-made decoders for `mirror(etcd, prefix, { decode })`. */
export const decoders = {
  text,
  json,
  buffer,
  /** `decoders.yaml(parse)`: YAML through the parser your application already uses (`parse` of 'yaml'). */
  yaml,
} as const;
