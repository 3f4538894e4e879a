// Types of the module hooks this loader exports (see typescript-loader.mjs); it is meant for
// `node --import`, not for importing.
import type { LoadHook, ResolveHook } from 'node:module';

export declare const resolve: ResolveHook;
export declare const load: LoadHook;
