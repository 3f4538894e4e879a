// Runs etcdkit's TypeScript sources in a plain `node` process (Node >= 20.19), as vitest does in
// the tests: `node --import <this file> child.ts`.
//  - workspace packages resolve to their sources (the `etcdkit-source` export condition);
//  - an import of `./x.js` that does not exist falls back to `./x.ts` (sources name their
//    imports by the compiled file);
//  - `.ts` / `.mts` files are transpiled on load with TypeScript's transpileModule (types are
//    stripped, nothing is type-checked).
import { readFile } from 'node:fs/promises';
import { register } from 'node:module';
import { fileURLToPath } from 'node:url';
import { isMainThread } from 'node:worker_threads';

const SOURCE_CONDITION = 'etcdkit-source';
const TS_FILE = /\.m?ts$/;

export async function resolve(specifier, context, next) {
  const conditions = context.conditions.includes(SOURCE_CONDITION)
    ? context.conditions
    : [...context.conditions, SOURCE_CONDITION];
  const ctx = { ...context, conditions };
  try {
    return await next(specifier, ctx);
  } catch (err) {
    if (err?.code !== 'ERR_MODULE_NOT_FOUND' || !/\.m?js$/.test(specifier)) throw err;
    return next(specifier.replace(/js$/, 'ts'), ctx);
  }
}

let ts;
export async function load(url, context, next) {
  if (!url.startsWith('file:') || !TS_FILE.test(url)) return next(url, context);
  // Loaded on first use: a child that imports no TypeScript never pays for the compiler.
  ts ??= (await import('typescript')).default;
  const fileName = fileURLToPath(url);
  const { outputText } = ts.transpileModule(await readFile(fileName, 'utf8'), {
    fileName,
    compilerOptions: {
      module: ts.ModuleKind.ESNext,
      target: ts.ScriptTarget.ES2022,
      verbatimModuleSyntax: true,
      inlineSourceMap: true,
    },
  });
  return { format: 'module', source: outputText, shortCircuit: true };
}

// Given to --import, this file runs on the main thread and installs itself as the module hooks,
// which Node then loads a second time on its loader thread.
if (isMainThread) register(import.meta.url);
