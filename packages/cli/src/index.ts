/**
 * The programmatic entry of the `etcdkit` command: {@link main} runs it with given arguments and
 * streams (as the binary does), {@link listChildren} is the path listing behind `etcdkit ls`.
 *
 * @module @etcdkit/cli
 */

export type { Command, Invocation } from './command.js';
export { CliError, EXIT_FAILURE, EXIT_OK, EXIT_USAGE, UsageError } from './errors.js';
export type { Child, ListChildrenOptions, Listing } from './list-children.js';
export { listChildren } from './list-children.js';
export type { MainOptions } from './main.js';
export { COMMANDS, main } from './main.js';
export type { Output } from './output.js';
