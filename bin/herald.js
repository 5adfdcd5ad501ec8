#!/usr/bin/env node
// Entry point of the `herald` command: runs the compiled CLI (built by `prepare` in a clone, and
// shipped built in the package tarball).
import { main } from '../dist/src/cli/index.js';

const code = await main(process.argv.slice(2), {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
  env: process.env,
  tty: process.stdout.isTTY === true,
  columns: process.stdout.columns,
});
process.exitCode = code;
