#!/usr/bin/env node
import { quickAnswer } from './top-help.js';

const argv = process.argv.slice(2);
// Node's deprecation warnings are for developers of the code, not for users of a command: TLS to
// an IP address (https://10.0.0.1:2379) would otherwise print DEP0123 before every answer.
process.noDeprecation = true;

async function run(): Promise<void> {
  const { main } = await import('./main.js');
  const { describeErrorJson } = await import('./errors.js');
  const dashes = argv.indexOf('--');
  const json = (dashes < 0 ? argv : argv.slice(0, dashes)).includes('--json');

  // `etcdkit mirror ... | head -1`: the reader went away, which is no error of ours.
  for (const stream of [process.stdout, process.stderr])
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE') process.exit(0);
      throw err;
    });

  // A safety net: whatever escapes is still reported as one line.
  process.on('unhandledRejection', (reason) => {
    const message = reason instanceof Error ? reason.message : String(reason);
    if (json) process.stderr.write(`${describeErrorJson(reason, { endpoints: [] })}\n`);
    else process.stderr.write(`etcdkit: unexpected error: ${message.replace(/\s*\n\s*/g, ' ')}\n`);
    if (argv.includes('--debug') && reason instanceof Error && reason.stack)
      process.stderr.write(`${reason.stack}\n`);
    process.exit(1);
  });

  const code = await main(argv);
  process.exitCode = code;
  // Everything is closed by now; if some handle still lingers, do not hang on it.
  setTimeout(() => process.exit(code), 2000).unref();
}

// Help and version need no command: answered without loading the commands, the client or gRPC.
const quick = quickAnswer(argv);
if (quick !== undefined) process.stdout.write(`${quick}\n`);
else await run();
