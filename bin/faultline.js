#!/usr/bin/env node
// Entry point for the `faultline` command: the compiled CLI lives in dist/ (built by `npm ci`/`npm run build`).
import { main } from '../dist/src/cli/main.js';
process.exitCode = await main(process.argv.slice(2));
