#!/usr/bin/env node
// Entry point for the `faultline` command: the compiled CLI lives in dist/ (built by `npm ci`/`npm run build`).
import { main } from '../dist/src/cli/main.js';

// `faultline run ... | head`: the reader went away, so there is no one left to print for. Stop
// quietly with the usual status of a writer whose pipe closed, instead of an unhandled 'error'.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (e) => {
    if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw e;
  });
}
process.exitCode = await main(process.argv.slice(2));
