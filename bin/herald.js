#!/usr/bin/env node
// Entry point of the `herald` command: runs the compiled CLI (built by `npm ci` via `prepare`).
import { main } from '../dist/src/cli/index.js';

const code = await main(process.argv.slice(2), {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
  env: process.env,
});
process.exitCode = code;
