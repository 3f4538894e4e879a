/**
 * etcdkit hands out keys and values as Buffers. Runtimes without a global Buffer (browsers, some
 * edge runtimes) get one: the `buffer` package, which a bundler resolves for the bare name
 * 'buffer' (Node, Bun and Deno resolve it to their built-in, so nothing is added there). It must
 * run before any other module of etcdkit: the browser/edge entry imports it first.
 */
import { Buffer as BufferImpl } from 'buffer';

const g = globalThis as { Buffer?: unknown };
if (typeof g.Buffer === 'undefined') g.Buffer = BufferImpl;
