#!/usr/bin/env node
/**
 * The `mxgate` command line. Each command lives in its own module that parses arguments and calls the same
 * services the HTTP API uses; no business logic here.
 */
import { Command } from 'commander';
import { isMxError } from '../errors.js';

const program = new Command('mxgate')
  .description('ISO 20022 payment messaging hub')
  .showHelpAfterError()
  .configureHelp({ sortSubcommands: true });

// Command modules register themselves here, one line each.
const modules: Array<Promise<{ register(program: Command): void }>> = [
  import('./serve.js'),
  import('./queues.js'),
  import('./clients.js'),
  import('./validate.js'),
  import('./inspect.js'),
  import('./migrate-store.js'),
  import('./replay.js'),
  import('./backup.js'),
  import('./recover.js'),
];

for (const mod of await Promise.all(modules)) mod.register(program);

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (isMxError(error)) {
    process.stderr.write(`mxgate: ${error.code}: ${error.message}\n`);
  } else {
    process.stderr.write(`mxgate: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  }
  process.exitCode = process.exitCode || 1;
}
