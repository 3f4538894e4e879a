/**
 * A Node built-in module where the runtime has one (Node, Bun, Deno), else undefined (browsers,
 * edge runtimes). Loaded through `process.getBuiltinModule`, not an import, so core's browser
 * build has no `node:` module in its graph and bundlers need no shims.
 */
export function nodeBuiltin<T>(name: string): T | undefined {
  const proc = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
  return proc?.getBuiltinModule?.(name) as T | undefined;
}
